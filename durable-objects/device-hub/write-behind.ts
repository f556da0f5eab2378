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
/** What happens to a written-behind write after it ran. */
export interface Kept {
  done(): void;
  gaveUp(): void | Promise<void>;
}

export class WriteBehind {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly keepAlive: (work: Promise<unknown>) => void) {}

  /**
   * Queues a write nobody waits for. A failed one is tried again (still in its place, so
   * nothing overtakes it), then logged and handed to `kept.gaveUp` (the hub keeps it in its
   * SQLite and retries it on its alarm: pending-writes.ts); `kept.done` runs when it succeeds.
   */
  behind(label: string, write: () => Promise<unknown>, kept?: Kept): void {
    const attempts = async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await write();
        } catch (error) {
          if (attempt >= TRIES) throw error;
        }
      }
    };
    const done = this.then(attempts)
      .then(
        () => kept?.done(),
        async (error: unknown) => {
          log({ event: "hub.write_failed", label, message: String(error) }, "warn");
          await kept?.gaveUp();
        },
      )
      .catch(() => undefined);
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
