import { describe, expect, it } from "vitest";
import { DEFER_MAX, DEFER_MS, OtlpBatch } from "../../edge/telemetry/otlp-batch";

// The hub's exports: items of one turn leave in one POST; deferred ones (a span per output
// batch of a streaming reply) wait for the next item that is not, or for DEFER_MAX of them, or
// for DEFER_MS — so a streaming reply does not POST once per frame.

function batch() {
  const posts: number[][] = [];
  const work: Promise<unknown>[] = [];
  const b = new OtlpBatch<number>(
    "http://127.0.0.1:1/v1/traces",
    {},
    (items) => items,
    (p) => work.push(p),
    async (_url, init) => {
      posts.push(JSON.parse(String(init?.body)) as number[]);
      return new Response(null, { status: 200 });
    },
  );
  const settled = async () => {
    await Promise.all(work.splice(0));
  };
  return { b, posts, settled };
}

describe("OtlpBatch", () => {
  it("sends the items of one turn in one POST", async () => {
    const { b, posts, settled } = batch();
    b.add(1);
    b.add(2);
    await settled();
    b.add(3);
    await settled();
    expect(posts).toEqual([[1, 2], [3]]);
  });

  it("holds deferred items until one that is not deferred, then sends them together", async () => {
    const { b, posts, settled } = batch();
    for (let i = 0; i < 10; i++) {
      b.add(i, true);
      await settled();
    }
    expect(posts).toEqual([]);
    b.add(99);
    await settled();
    expect(posts).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 99]]);
  });

  it("sends deferred items once DEFER_MAX gathered, or once the oldest waited DEFER_MS", async () => {
    const { b, posts, settled } = batch();
    for (let i = 0; i < DEFER_MAX; i++) b.add(i, true);
    await settled();
    expect(posts).toHaveLength(1);
    expect(posts[0]).toHaveLength(DEFER_MAX);
    const realNow = Date.now;
    try {
      const start = realNow();
      Date.now = () => start;
      b.add(1000, true);
      await settled();
      expect(posts).toHaveLength(1);
      Date.now = () => start + DEFER_MS;
      b.add(1001, true);
      await settled();
      expect(posts).toEqual([expect.any(Array), [1000, 1001]]);
    } finally {
      Date.now = realNow;
    }
  });
});
