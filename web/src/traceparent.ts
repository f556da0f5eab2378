// The browser is the root of each request's trace (docs/observability.md, "The browser's
// traceparent"): every API request carries a fresh W3C `traceparent` with a random trace id and
// span id, so a message's trace starts at the user's click. The browser records no span itself.

function randomHex(bytes: number): string {
  const buf = new Uint8Array(bytes);
  // An all-zero id is invalid in W3C trace context; 2^-64 at worst, but never send one.
  do crypto.getRandomValues(buf);
  while (buf.every((b) => b === 0));
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A new `traceparent`: version 00, a random 16-byte trace id, a random 8-byte parent id, flags
 * `01` (sampled). The flag asks for the trace; it does not force it: the Worker is the public
 * edge and applies its own sampler to the trace id (a parent-based sampler behind a `00` would
 * drop every browser request, even with the default "trace everything").
 */
export function newTraceparent(): string {
  return `00-${randomHex(16)}-${randomHex(8)}-01`;
}
