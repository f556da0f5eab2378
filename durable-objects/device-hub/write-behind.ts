import { log } from "../../edge/log";

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

  /** Queues a write nobody waits for; a failure is logged (the next write corrects it). */
  behind(label: string, write: () => Promise<unknown>): void {
    const done = this.then(write).catch((error: unknown) => {
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
