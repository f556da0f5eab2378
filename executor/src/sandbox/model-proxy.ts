// The operator's model key never enters a cloud agent's environment. The sandbox has no network
// (its own network namespace): each run gets its own Unix socket, bind-mounted into that run's
// sandbox only, and an in-sandbox relay (relay.ts) serves it on the sandbox's own loopback.
// Claude Code gets `ANTHROPIC_BASE_URL=http://127.0.0.1:<relay port>/t/<secret>` with a dummy
// key (the secret in the path); Codex gets a provider whose `env_key` variable holds the secret
// (sent as `Authorization: Bearer <secret>`). The socket accepts only its run's secret, forwards
// only the API's inference paths, reads each body and refuses what would make the provider reach
// the network for the agent (request-policy.ts), drops whatever credential the agent sent, adds
// the operator's real one, and streams the answer back. Nothing listens on the host's network.
import { randomBytes, timingSafeEqual } from "node:crypto";
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
import type { Logger } from "../log";
import { refusal, type RequestPolicy } from "./request-policy";

/**
 * The largest request body the proxy reads (the providers' own cap: Anthropic's Messages API
 * takes at most 32 MB). The body is read whole to check it (request-policy.ts) before any byte
 * goes upstream; the answer still streams.
 */
export const MAX_MODEL_REQUEST_BYTES = 32 * 1024 * 1024;

/** Which credential the operator configured, and the dummy the agent gets in its place. */
export interface UpstreamCredential {
  header: "x-api-key" | "authorization";
  value: string;
  /** The variable the agent gets, with a dummy value, so Claude Code sends the right kind. */
  agentVariable: "ANTHROPIC_API_KEY" | "ANTHROPIC_AUTH_TOKEN" | "CLAUDE_CODE_OAUTH_TOKEN";
  /** Headers the operator sets (e.g. OpenAI-Organization); the agent's own are dropped. */
  extraHeaders?: Record<string, string>;
}

/**
 * The operator's OpenAI key (OPENAI_API_KEY, else CODEX_API_KEY) for the Codex runtime, sent
 * upstream as `Authorization: Bearer`; OPENAI_ORGANIZATION / OPENAI_PROJECT when set.
 */
export function openaiCredential(env: BaseEnv): UpstreamCredential | null {
  const key = (env.OPENAI_API_KEY ?? "").trim() || (env.CODEX_API_KEY ?? "").trim();
  if (!key) return null;
  const extraHeaders: Record<string, string> = {};
  const organization = env.OPENAI_ORGANIZATION?.trim();
  const project = env.OPENAI_PROJECT?.trim();
  if (organization) extraHeaders["openai-organization"] = organization;
  if (project) extraHeaders["openai-project"] = project;
  return {
    header: "authorization",
    value: `Bearer ${key}`,
    // Unused for Codex (its agent gets the run's secret, runtime/codex/cloud.ts).
    agentVariable: "ANTHROPIC_API_KEY",
    extraHeaders,
  };
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
  // The agent may not pick which of the operator's organisations or projects pays.
  "openai-organization",
  "openai-project",
  "anthropic-organization",
]);

/** One model API as the proxy serves it. */
export interface ModelApi {
  /**
   * What the agent needs of the API, matched exactly (method, raw path, query aside). The
   * operator's key opens more — files, batches (other tenants' too), admin APIs — which no
   * agent may reach through the proxy.
   */
  allowed: readonly string[];
  /**
   * How a run shows its secret: in the path (`/t/<secret>/…`, Claude Code's base URL) or as
   * `Authorization: Bearer <secret>` (Codex's provider `env_key`).
   */
  secretIn: "path" | "bearer";
  /**
   * The agent's path prefix that stands for the upstream base URL: "" for Anthropic (its base
   * URL has no /v1), "/v1" for OpenAI (base URLs end in /v1: `/v1/responses` → `<base>/responses`).
   */
  basePath: string;
  /** What a request body may ask of the provider (request-policy.ts). */
  policy: RequestPolicy;
}

/** Claude Code: POST /v1/messages and count_tokens; nothing else. */
export const ANTHROPIC_MESSAGES_API: ModelApi = {
  allowed: ["POST /v1/messages", "POST /v1/messages/count_tokens"],
  secretIn: "path",
  basePath: "",
  policy: "anthropic-messages",
};

/**
 * Codex (`wire_api = "responses"`): POST /v1/responses only — measured with codex 0.171 in the
 * sandbox, nothing else is asked for a turn (executor/test/codex-cloud.test.ts).
 */
export const OPENAI_RESPONSES_API: ModelApi = {
  allowed: ["POST /v1/responses"],
  secretIn: "bearer",
  basePath: "/v1",
  policy: "openai-responses",
};

const SECRET = /^[a-f0-9]{64}$/;

function sameSecret(given: string, secret: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The run's path (after the secret, for a path secret) when the request shows `secret`. */
function authorised(
  api: ModelApi,
  url: string,
  authorization: string | undefined,
  secret: string,
): string | null {
  if (api.secretIn === "path") {
    const match = /^\/t\/([a-f0-9]{64})(\/.*)?$/.exec(url);
    if (!match?.[1] || !sameSecret(match[1], secret)) return null;
    return match[2] ?? "/";
  }
  const bearer = /^Bearer (\S+)$/.exec(authorization ?? "")?.[1] ?? "";
  if (!SECRET.test(bearer) || !sameSecret(bearer, secret) || !url.startsWith("/")) return null;
  return url;
}

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

/** The whole body, or null as soon as it passes `cap` bytes (nothing more is kept). */
function readCapped(req: IncomingMessage, cap: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= cap) {
        chunks.push(chunk);
        return;
      }
      req.off("data", onData);
      req.resume();
      resolve(null);
    };
    req.on("data", onData);
    req.on("end", () => resolve(size > cap ? null : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Why a body is refused (request-policy.ts), or null. A compressed body cannot be read. */
function bodyRefusal(
  policy: RequestPolicy,
  encoding: string | undefined,
  body: Buffer,
): string | null {
  if (encoding && encoding !== "identity") return `a ${encoding.slice(0, 20)}-encoded body`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return "a body that is not JSON";
  }
  return refusal(policy, parsed);
}

export function startModelProxy(options: {
  upstream: string;
  credential: UpstreamCredential;
  /** Default: Claude Code's Messages API. */
  api?: ModelApi;
  /** Each refused request (what was asked, never a secret), at debug level. */
  log?: Logger;
}): Promise<ModelProxy> {
  const upstream = new URL(options.upstream);
  const api = options.api ?? ANTHROPIC_MESSAGES_API;
  const allowed = new Set(api.allowed);
  const servers = new Map<string, { server: Server; path: string }>();

  const handler =
    (secret: string): RequestListener =>
    (req, res) => {
      const rest = authorised(api, req.url ?? "", req.headers.authorization, secret);
      if (rest === null || !servers.has(secret)) {
        options.log?.debug("model proxy: refused an unknown run", { method: req.method });
        forbidden(res, 403, "forbidden", "unknown run");
        req.resume();
        return;
      }
      const target = new URL(upstream.toString());
      const [path = "/", query] = rest.split("?", 2);
      if (!allowed.has(`${req.method} ${path}`) || !path.startsWith(api.basePath)) {
        options.log?.debug("model proxy: refused a path", {
          method: req.method,
          path: path.slice(0, 200),
        });
        forbidden(res, 404, "not_found", "not a model endpoint");
        req.resume();
        return;
      }
      target.pathname = upstream.pathname.replace(/\/+$/, "") + path.slice(api.basePath.length);
      target.search = query ? `?${query}` : "";
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined && !DROPPED.has(name)) headers[name] = value;
      }
      Object.assign(headers, options.credential.extraHeaders);
      headers[options.credential.header] = options.credential.value;
      const forward = (body: Buffer) => {
        headers["content-length"] = String(body.length);
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
        out.end(body);
      };
      readCapped(req, MAX_MODEL_REQUEST_BYTES).then(
        (body) => {
          if (body === null) {
            options.log?.debug("model proxy: refused a body over the cap", { path });
            res.setHeader("connection", "close");
            forbidden(
              res,
              413,
              "request_too_large",
              `The model proxy takes a request of at most ${MAX_MODEL_REQUEST_BYTES} bytes; start a new conversation or compact this one.`,
            );
            res.on("finish", () => req.destroy());
            return;
          }
          const why = bodyRefusal(api.policy, req.headers["content-encoding"], body);
          if (why) {
            options.log?.debug("model proxy: refused a body", { path, why });
            forbidden(
              res,
              400,
              "request_refused",
              `The cloud sandbox has no network: the model proxy refuses a request with ${why}.`,
            );
            return;
          }
          forward(body);
        },
        () => res.destroy(),
      );
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
