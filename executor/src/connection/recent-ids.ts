/**
 * A bounded, expiring set of ids: remembers cancels that arrive before their task, without
 * letting a flood of unknown ids grow memory forever.
 */
export class RecentIds {
  private readonly expiries = new Map<string, number>();

  constructor(
    private readonly capacity: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  add(id: string): void {
    this.expiries.delete(id);
    while (this.expiries.size >= this.capacity) {
      const oldest = this.expiries.keys().next();
      if (oldest.done) break;
      this.expiries.delete(oldest.value);
    }
    this.expiries.set(id, this.now() + this.ttlMs);
  }

  /** True (and forgets it) when the id was added within the time to live. */
  take(id: string): boolean {
    const expiry = this.expiries.get(id);
    if (expiry === undefined) return false;
    this.expiries.delete(id);
    return expiry > this.now();
  }

  get size(): number {
    return this.expiries.size;
  }
}
