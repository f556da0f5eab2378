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

/**
 * Close codes that say the server went away rather than that this one socket failed: `1001`
 * (going away), `1012` (service restart), `1013` (try again later) and `1006` (the connection
 * ended without a close frame: the process was killed, or the path to it cut). A deploy or a
 * restart closes every device's socket with one of these at the same instant.
 */
export const GOING_AWAY_CLOSE_CODES: ReadonlySet<number> = new Set([1001, 1006, 1012, 1013]);

export interface ReconnectOptions extends BackoffOptions {
  /**
   * The first redial after an established link went away waits uniformly in [0, spreadMs): a
   * fleet dropped at once by a deploy comes back at about N / spreadMs connects per second
   * instead of all within `baseMs`.
   */
  spreadMs: number;
  /**
   * The same window for `1006` (no close frame): a whole platform restarting, but also one
   * laptop's network blip, whose user is waiting — so a shorter spread (default: `spreadMs`).
   */
  blipSpreadMs?: number;
  /** While the outage is younger than `outageFastMs`, retries wait at most this long. */
  outageCapMs: number;
  /** How long after losing a link its retries stay under `outageCapMs` (then `capMs`). */
  outageFastMs: number;
}

export interface ReconnectState {
  /** Redials since the last registration (0 = the first one). */
  attempt: number;
  /**
   * How long ago the established link went down, or null when there was none yet (the
   * executor is starting, or never got through since its last registration was lost long ago).
   */
  downForMs: number | null;
  /** The close code of the link that went down (for the first redial). */
  closeCode: number;
}

/**
 * The executor's reconnect policy (the bench's devices use it too, so a storm measures it):
 * - the first redial after a going-away close is spread over `spreadMs` (a deploy), or over
 *   `blipSpreadMs` after a `1006`;
 * - other first redials, and every retry, use full-jitter exponential backoff from `baseMs`;
 * - the retries of a fresh outage cap at `outageCapMs`, so a platform that was down for a few
 *   seconds (a restart) has its fleet back within that long of answering again; after
 *   `outageFastMs` they cap at `capMs`, kind to a backend that stays down.
 */
export function reconnectDelay(state: ReconnectState, options: ReconnectOptions): number {
  const random = options.random ?? Math.random;
  if (
    state.attempt === 0 &&
    state.downForMs !== null &&
    GOING_AWAY_CLOSE_CODES.has(state.closeCode)
  ) {
    const window =
      state.closeCode === 1006
        ? Math.min(options.spreadMs, options.blipSpreadMs ?? options.spreadMs)
        : options.spreadMs;
    return Math.floor(random() * window);
  }
  const fresh = state.downForMs !== null && state.downForMs < options.outageFastMs;
  return backoffDelay(state.attempt, {
    baseMs: options.baseMs,
    capMs: fresh ? Math.min(options.capMs, options.outageCapMs) : options.capMs,
    random,
  });
}
