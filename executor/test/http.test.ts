// The credential/pairing HTTP helper against a real loopback server: what it sends, and that
// every odd answer (redirect, silence, a huge body, a cut connection) is a value, not a throw.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { callApi } from "../src/security/http";

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

let server: Server | undefined;
const seen: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[] =
  [];

async function serve(handler: Handler): Promise<string> {
  seen.length = 0;
  server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  const running = server;
  server = undefined;
  if (!running) return;
  running.closeAllConnections();
  await new Promise((resolve) => running.close(resolve));
});

describe("callApi", () => {
  it("POSTs JSON with the caller's headers and reads a JSON answer", async () => {
    const origin = await serve((_req, _body, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ credential: "c1", deviceId: "d1", note: "ünïcode" }));
    });
    const result = await callApi(
      `${origin.replace("http:", "ws:")}/base/`,
      "POST",
      "/api/devices/credential",
      { Authorization: "Bearer t0k" },
      { deviceId: "d1" },
    );
    expect(result).toEqual({
      kind: "answer",
      status: 200,
      json: { credential: "c1", deviceId: "d1", note: "ünïcode" },
      code: null,
      message: null,
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.method).toBe("POST");
    expect(seen[0]!.url).toBe("/base/api/devices/credential");
    expect(seen[0]!.headers.authorization).toBe("Bearer t0k");
    expect(seen[0]!.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(seen[0]!.body)).toEqual({ deviceId: "d1" });
  });

  it("reads the platform's error shape, and a non-JSON page as json null", async () => {
    let answer: [number, string] = [
      401,
      JSON.stringify({ error: { code: "credential_reused", message: "reused" } }),
    ];
    const origin = await serve((_req, _body, res) => {
      res.writeHead(answer[0]);
      res.end(answer[1]);
    });
    const refused = await callApi(origin, "GET", "/api/pairings/p1", {});
    expect(refused).toMatchObject({ kind: "answer", status: 401, code: "credential_reused" });
    expect(refused).toMatchObject({ message: "reused" });
    expect(seen[0]!.headers["content-type"]).toBeUndefined();
    answer = [502, "<html>Bad gateway</html>"];
    const page = await callApi(origin, "GET", "/api/pairings/p1", {});
    expect(page).toEqual({ kind: "answer", status: 502, json: null, code: null, message: null });
  });

  it("does not follow a redirect", async () => {
    const origin = await serve((req, _body, res) => {
      res.writeHead(302, { Location: "/elsewhere" });
      res.end();
    });
    const result = await callApi(origin, "POST", "/api/devices/credential", {}, {});
    expect(result.kind).toBe("unreachable");
    expect(seen.map((s) => s.url)).toEqual(["/api/devices/credential"]);
  });

  it("gives up on a server that never answers, on time", async () => {
    const origin = await serve(() => {
      // Never answers.
    });
    const t0 = Date.now();
    const result = await callApi(origin, "GET", "/api/x", {}, undefined, 300);
    expect(result.kind).toBe("unreachable");
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it("reads only the start of a huge answer, and survives a cut connection", async () => {
    const origin = await serve((req, _body, res) => {
      if (req.url === "/api/huge") {
        res.writeHead(200);
        const chunk = "x".repeat(64 * 1024);
        // Far more than the 64K characters read: the helper stops and hangs up.
        for (let i = 0; i < 64; i++) res.write(chunk);
        res.end();
        return;
      }
      res.writeHead(200, { "Content-Length": "1000" });
      res.write("{");
      res.socket?.destroy();
    });
    const huge = await callApi(origin, "GET", "/api/huge", {});
    expect(huge).toEqual({ kind: "answer", status: 200, json: null, code: null, message: null });
    const cut = await callApi(origin, "GET", "/api/cut", {});
    expect(cut.kind).toBe("unreachable");
  });

  it("is unreachable, not a throw, for a closed port, credentials in the URL or a bad scheme", async () => {
    const origin = await serve((_req, _body, res) => res.end("{}"));
    await new Promise((resolve) => {
      server!.close(resolve);
      server!.closeAllConnections();
    });
    server = undefined;
    expect((await callApi(origin, "GET", "/api/x", {})).kind).toBe("unreachable");
    const withUser = origin.replace("http://", "http://user:pw@");
    expect((await callApi(withUser, "GET", "/api/x", {})).kind).toBe("unreachable");
    expect((await callApi("ftp://127.0.0.1/", "GET", "/api/x", {})).kind).toBe("unreachable");
  });
});
