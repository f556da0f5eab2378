// JSON-RPC 2.0 over the stdio of `codex app-server` (one JSON object per line). Every line
// from the child is checked with zod before it is used; a line that is not a message is
// ignored (and logged by the caller), never thrown.
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { z } from "zod";

const Id = z.union([z.number(), z.string()]);
const Incoming = z.union([
  z.looseObject({ id: Id, method: z.string(), params: z.unknown().optional() }),
  z.looseObject({ method: z.string(), params: z.unknown().optional() }),
  z.looseObject({
    id: Id,
    result: z.unknown().optional(),
    error: z.looseObject({ message: z.string(), code: z.number().optional() }).optional(),
  }),
]);

export class RpcError extends Error {}

type Waiter = { resolve: (value: unknown) => void; reject: (error: Error) => void };

export interface RpcHandlers {
  /** A notification (no answer). */
  notification(method: string, params: unknown): void;
  /** A request of the server's (an approval); resolves with the result to send back. */
  request(method: string, params: unknown): Promise<unknown>;
}

export class AppServerRpc {
  private nextId = 0;
  private readonly waiting = new Map<number | string, Waiter>();
  private closed: Error | null = null;

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly handlers: RpcHandlers,
    onBadLine: (line: string) => void,
  ) {
    createInterface({ input: child.stdout }).on("line", (line) => {
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        onBadLine(line);
        return;
      }
      const parsed = Incoming.safeParse(json);
      if (!parsed.success) {
        onBadLine(line);
        return;
      }
      this.receive(parsed.data);
    });
    child.once("exit", (code, signal) => {
      this.fail(new RpcError(`codex app-server exited (${signal ?? code ?? "?"})`));
    });
    child.stdin.on("error", () => undefined);
  }

  private receive(message: z.infer<typeof Incoming>): void {
    if ("method" in message && "id" in message) {
      const { id, params } = message;
      this.handlers.request(String(message.method), params).then(
        (result) => this.write({ jsonrpc: "2.0", id, result }),
        (error: unknown) =>
          this.write({ jsonrpc: "2.0", id, error: { code: -32000, message: String(error) } }),
      );
      return;
    }
    if ("method" in message) {
      this.handlers.notification(String(message.method), message.params);
      return;
    }
    const waiter = this.waiting.get(message.id);
    if (!waiter) return;
    this.waiting.delete(message.id);
    if (message.error) waiter.reject(new RpcError(message.error.message));
    else waiter.resolve(message.result);
  }

  request<T>(method: string, params: unknown): Promise<T> {
    if (this.closed) return Promise.reject(this.closed);
    this.nextId += 1;
    const id = this.nextId;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: (value) => resolve(value as T), reject });
      this.write({ jsonrpc: "2.0", id, method, params });
    });
  }

  notify(method: string, params?: unknown): void {
    this.write({ jsonrpc: "2.0", method, ...(params === undefined ? {} : { params }) });
  }

  private write(message: unknown): void {
    if (this.closed || this.child.stdin.destroyed) return;
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.closed = error;
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }
}
