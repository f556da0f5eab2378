// The operator's model key never enters a cloud agent's environment. The sandbox has no network
// (its own network namespace): each run gets its own Unix socket, bind-mounted into that run's
// sandbox only, and an in-sandbox relay (relay.ts) serves it as
// `ANTHROPIC_BASE_URL=http://127.0.0.1:<relay port>/t/<secret>` with a dummy key. The socket
// accepts only its run's secret, drops whatever credential the agent sent, adds the operator's
// real one, and streams the answer back. Nothing listens on the host's network.
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, rmSync } from "node:fs";
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type RequestListener,
  type Server,
} from "node:http";
import { request as httpsRequest } from "node:https";
import type { BaseEnv } from "../runtime/agent-env";

/** Which credential the operator configured, and the dummy the agent gets in its place. */
export interface UpstreamCredential {
  header: "x-api-key" | "authorization";
  value: string;
  /** The variable the agent gets, with a dummy value, so Claude Code sends the right kind. */
  agentVariable: "ANTHROPIC_API_KEY" | "ANTHROPIC_AUTH_TOKEN" | "CLAUDE_CODE_OAUTH_TOKEN";
}

export function upstreamCredential(env: BaseEnv): UpstreamCredential | null {
  const key = env.ANTHROPIC_API_KEY?.trim();
  if (key) return { header: "x-api-key", value: key, agentVariable: "ANTHROPIC_API_KEY" };
  const token = env.ANTHROPIC_AUTH_TOKEN?.trim();
  if (token)
    return {
      header: "authorization",
      value: `Bearer ${token}`,
      agentVariable: "ANTHROPIC_AUTH_TOKEN",
    };
  const oauth = env.CLAUDE_CODE_OAUTH_TOKEN?.trim();
  if (oauth)
    return {
      header: "authorization",
      value: `Bearer ${oauth}`,
      agentVariable: "CLAUDE_CODE_OAUTH_TOKEN",
    };
  return null;
}

const DROPPED = new Set([
  "host",
  "authorization",
  "x-api-key",
  "connection",
  "keep-alive",
  "proxy-authorization",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

/**
 * What Claude Code needs of the model API, matched exactly (method, raw path). The operator's
 * key opens more — the organisation's files and message batches (other tenants' too), its
 * admin API — which no agent may reach through the proxy.
 */
const ALLOWED = new Set(["POST /v1/messages", "POST /v1/messages/count_tokens"]);

export interface ModelProxy {
  /**
   * Opens a Unix socket at `socketPath` for one run, connectable only by `owner` (the run's
   * uid), answering only the returned secret; valid until `revoke`.
   */
  issue(socketPath: string, owner?: { uid: number; gid: number }): Promise<{ secret: string }>;
  revoke(secret: string): void;
  close(): Promise<void>;
}

function forbidden(
  res: Parameters<RequestListener>[1],
  status: number,
  code: string,
  message: string,
) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ error: { code, message } }));
}

export function startModelProxy(options: {
  upstream: string;
  credential: UpstreamCredential;
}): Promise<ModelProxy> {
  const upstream = new URL(options.upstream);
  const servers = new Map<string, { server: Server; path: string }>();

  const handler =
    (secret: string): RequestListener =>
    (req, res) => {
      const match = /^\/t\/([a-f0-9]{64})(\/.*)?$/.exec(req.url ?? "");
      if (!match || match[1] !== secret || !servers.has(secret)) {
        forbidden(res, 403, "forbidden", "unknown run");
        req.resume();
        return;
      }
      const rest = match[2] ?? "/";
      const target = new URL(upstream.toString());
      const [path = "/", query] = rest.split("?", 2);
      if (!ALLOWED.has(`${req.method} ${path}`)) {
        forbidden(res, 404, "not_found", "not a model endpoint");
        req.resume();
        return;
      }
      target.pathname = upstream.pathname.replace(/\/+$/, "") + path;
      target.search = query ? `?${query}` : "";
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined && !DROPPED.has(name)) headers[name] = value;
      }
      headers[options.credential.header] = options.credential.value;
      const send = target.protocol === "https:" ? httpsRequest : httpRequest;
      const out = send(target, { method: req.method, headers }, (answer: IncomingMessage) => {
        const back: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(answer.headers)) {
          if (value !== undefined && name !== "connection" && name !== "keep-alive")
            back[name] = value;
        }
        res.writeHead(answer.statusCode ?? 502, back);
        answer.pipe(res);
      });
      out.on("error", (error) => {
        if (!res.headersSent) forbidden(res, 502, "bad_gateway", error.message);
        else res.destroy();
      });
      res.on("close", () => out.destroy());
      req.pipe(out);
    };

  const stop = (secret: string): Promise<void> => {
    const entry = servers.get(secret);
    servers.delete(secret);
    if (!entry) return Promise.resolve();
    return new Promise<void>((resolve) => {
      entry.server.closeAllConnections();
      entry.server.close(() => {
        rmSync(entry.path, { force: true });
        resolve();
      });
    });
  };

  return Promise.resolve({
    async issue(socketPath, owner) {
      const secret = randomBytes(32).toString("hex");
      rmSync(socketPath, { force: true });
      const server = createServer(handler(secret));
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(socketPath, () => resolve());
      });
      // Only the run's own uid may connect (the folder holding it is mounted in its sandbox only).
      chmodSync(socketPath, 0o600);
      if (owner) chownSync(socketPath, owner.uid, owner.gid);
      servers.set(secret, { server, path: socketPath });
      return { secret };
    },
    revoke: (secret) => void stop(secret),
    close: async () => {
      await Promise.all([...servers.keys()].map(stop));
    },
  });
}
