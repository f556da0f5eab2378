// The operator's model key never enters a cloud agent's environment. The executor runs this
// loopback proxy; each run gets `ANTHROPIC_BASE_URL=http://127.0.0.1:<port>/t/<secret>` and a
// dummy key. The proxy accepts only live per-run secrets, drops whatever credential the agent
// sent, adds the operator's real one, and streams the answer back.
import { randomBytes } from "node:crypto";
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import type { BaseEnv } from "../runtime/claude-env";

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
  /** Base URL for one run; valid until `revoke`. */
  issue(): { baseUrl: string; secret: string };
  revoke(secret: string): void;
  readonly port: number;
  close(): Promise<void>;
}

export async function startModelProxy(options: {
  upstream: string;
  credential: UpstreamCredential;
}): Promise<ModelProxy> {
  const upstream = new URL(options.upstream);
  const live = new Set<string>();

  const server: Server = createServer((req, res) => {
    const match = /^\/t\/([a-f0-9]{64})(\/.*)?$/.exec(req.url ?? "");
    if (!match || !live.has(match[1] ?? "")) {
      res.writeHead(403, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "forbidden", message: "unknown run" } }));
      req.resume();
      return;
    }
    const rest = match[2] ?? "/";
    const target = new URL(upstream.toString());
    const [path = "/", query] = rest.split("?", 2);
    if (!ALLOWED.has(`${req.method} ${path}`)) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "not_found", message: "not a model endpoint" } }));
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
      if (!res.headersSent) {
        res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "bad_gateway", message: error.message } }));
      } else res.destroy();
    });
    res.on("close", () => out.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    issue() {
      const secret = randomBytes(32).toString("hex");
      live.add(secret);
      return { baseUrl: `http://127.0.0.1:${port}/t/${secret}`, secret };
    },
    revoke: (secret) => void live.delete(secret),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
