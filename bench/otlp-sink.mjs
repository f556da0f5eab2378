// A loopback OTLP/HTTP sink for measuring tracing's overhead: answers every export with 200 and
// counts what it got. `node bench/otlp-sink.mjs [port]`; prints the totals on SIGINT/SIGTERM.
import { createServer } from "node:http";

const port = Number(process.argv[2] ?? 4318);
let exports = 0;
let bytes = 0;
const server = createServer((req, res) => {
  req.on("data", (c) => (bytes += c.length));
  req.on("end", () => {
    exports += 1;
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
});
server.listen(port, "127.0.0.1", () => process.stdout.write(`otlp sink on 127.0.0.1:${port}\n`));
const stop = () => {
  process.stdout.write(`otlp sink: ${exports} exports, ${bytes} bytes\n`);
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
