import { log } from "../../edge/log";

/** Tries of a write nobody waits for (at once, one after the other: no timers in a hub). */
const TRIES = 3;

/**
 * The hub's D1 writes, one after another in the order they were asked for. A status change
 * (queued → running, the device's figures) is written behind: nobody waits for it, so a
 * dispatch or a POST never waits on D1's round trip, yet a later write (a message's final one)
 * can never be overtaken by an earlier status. What a reader must not miss meanwhile, the hub
 * answers itself (`partial()` carries the live status; see worker/routes/tasks.ts).
 */
export class WriteBehind {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly keepAlive: (work: Promise<unknown>) => void) {}

  /**
   * Queues a write nobody waits for. A failed one is tried again (still in its place, so
   * nothing overtakes it), then logged and given up: the message's final write, or the next
   * figures write, puts D1 right again.
   */
  behind(label: string, write: () => Promise<unknown>): void {
    const attempts = async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await write();
        } catch (error) {
          if (attempt >= TRIES) throw error;
        }
      }
    };
    const done = this.then(attempts).catch((error: unknown) => {
      log({ event: "hub.write_failed", label, message: String(error) }, "warn");
    });
    this.keepAlive(done);
  }

  /** Runs a write after every earlier one and answers with it (its failure is the caller's). */
  then<T>(write: () => Promise<T>): Promise<T> {
    const run = this.tail.then(write);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Resolves once every write asked for so far is done (tests, and an orderly close). */
  async settled(): Promise<void> {
    let seen: Promise<unknown>;
    do {
      seen = this.tail;
      await seen;
    } while (seen !== this.tail);
  }
}
