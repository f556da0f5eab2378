export const nowIso = (): string => new Date().toISOString();
export const isoIn = (ms: number): string => new Date(Date.now() + ms).toISOString();
export const DAY_MS = 24 * 60 * 60 * 1000;

/** Reads a numeric setting from `wrangler.toml` [vars], falling back when unset or bad. */
export function seconds(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}
