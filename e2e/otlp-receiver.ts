// A loopback OTLP/HTTP receiver (JSON encoding) for the e2e: it records every export it gets
// (path, headers, body) and answers 200, like a collector would.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type SeenSpan, spansOf } from "../edge/telemetry/otlp-walk";

export interface OtlpExport {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface OtlpReceiver {
  /** The endpoint to put in OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string;
  exports: OtlpExport[];
  /** Every span received so far. */
  spans(): SeenSpan[];
  close(): Promise<void>;
}

/**
 * Listens on `host:port` (default: a free port on 127.0.0.1). Port 4318 is the OTLP/HTTP
 * default: a receiver there catches anything that would export without being configured.
 */
export async function startOtlpReceiver(port = 0, host = "127.0.0.1"): Promise<OtlpReceiver> {
  const exports: OtlpExport[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON (protobuf): kept as text, no spans read from it
      }
      exports.push({ path: req.url ?? "", headers: req.headers, body });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://${host.includes(":") ? `[${host}]` : host}:${bound}`,
    exports,
    spans: () => exports.filter((e) => e.path === "/v1/traces").flatMap((e) => spansOf(e.body)),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
