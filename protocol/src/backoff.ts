export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  /** Uniform in [0, 1); injectable so tests can check the bounds. */
  random?: () => number;
}

/**
 * Reconnect delay with full jitter: random(0, min(cap, base * 2^attempt)). Full jitter spreads
 * a fleet of executors that lost the same server over the whole window instead of letting them
 * all come back at the same instant.
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const random = options.random ?? Math.random;
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}
