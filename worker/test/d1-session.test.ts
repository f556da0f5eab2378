import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { countingD1, newD1Count } from "../../edge/d1-count";
import { createToken, signUp } from "./helpers";

describe("D1 sessions (read replication)", () => {
  it("answers with a bookmark and accepts it back, so reads follow the user's own writes", async () => {
    const user = await signUp();
    const { token } = await createToken(user);
    const first = await SELF.fetch("http://wegent.test/api/devices", {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(first.status).toBe(200);
    const bookmark = first.headers.get("X-D1-Bookmark");
    expect(bookmark).toMatch(/^[A-Za-z0-9-]+$/);
    const again = await SELF.fetch("http://wegent.test/api/devices", {
      headers: { Authorization: `Bearer ${token}`, "X-D1-Bookmark": bookmark! },
    });
    expect(again.status).toBe(200);
    // A malformed bookmark is ignored, not an error.
    const bad = await SELF.fetch("http://wegent.test/api/devices", {
      headers: { Authorization: `Bearer ${token}`, "X-D1-Bookmark": "not a bookmark; x" },
    });
    expect(bad.status).toBe(200);
  });
});

describe("counting D1 round trips", () => {
  it("counts each statement run and each batch once, and batches its own statements", async () => {
    const count = newD1Count();
    const db = countingD1(env.DB, count);
    const one = await db.prepare("SELECT ? AS x").bind(1).first<{ x: number }>();
    expect(one?.x).toBe(1);
    const results = await db.batch([
      db.prepare("SELECT ? AS x").bind(2),
      db.prepare("SELECT COUNT(*) AS n FROM users"),
    ]);
    expect(results).toHaveLength(2);
    expect(count.roundTrips).toBe(2);
    expect(count.rowsRead).toBeGreaterThanOrEqual(0);
  });
});
