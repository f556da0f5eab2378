// The run watchdog on a clock of its own: silence ends a run (agent_stalled), so does running
// too long (run_time_exceeded); time waiting for the owner counts for neither.
import { describe, expect, it } from "vitest";
import { type Stop, Watchdog } from "../src/runtime/claude/watch";

function clocked(limits: { stallMs: number; maxRunMs: number | null }) {
  let t = 1_000_000;
  const stops: Stop[] = [];
  const dog = new Watchdog(
    limits,
    (s) => stops.push(s),
    () => t,
    60_000,
  );
  return {
    dog,
    stops,
    advance(ms: number) {
      t += ms;
      dog.check();
    },
  };
}

describe("Watchdog", () => {
  it("stops a run silent for stallMs, saying how long; output keeps it going", () => {
    const w = clocked({ stallMs: 600_000, maxRunMs: null });
    w.advance(500_000);
    w.dog.output();
    w.advance(500_000);
    expect(w.stops).toEqual([]);
    w.advance(100_000);
    expect(w.stops).toEqual([
      expect.objectContaining({
        code: "agent_stalled",
        message: expect.stringContaining("10 min"),
      }),
    ]);
    w.advance(600_000);
    expect(w.stops).toHaveLength(1); // once
    w.dog.dispose();
  });

  it("never counts waiting for the owner, for silence or run time", () => {
    const w = clocked({ stallMs: 60_000, maxRunMs: 120_000 });
    w.advance(50_000);
    w.dog.waiting(true);
    w.advance(3_600_000); // an hour to answer
    expect(w.stops).toEqual([]);
    w.dog.waiting(false);
    w.advance(50_000); // silence restarts when the answer comes
    expect(w.stops).toEqual([]);
    w.dog.output();
    w.advance(20_001); // 50 + 50 + 20 s running: past 120 s
    expect(w.stops).toEqual([expect.objectContaining({ code: "run_time_exceeded" })]);
    w.dog.dispose();
  });

  it("nested waits (two questions at once) count as one", () => {
    const w = clocked({ stallMs: 60_000, maxRunMs: null });
    w.dog.waiting(true);
    w.dog.waiting(true);
    w.dog.waiting(false);
    w.advance(120_000);
    expect(w.stops).toEqual([]);
    w.dog.waiting(false);
    w.advance(60_000);
    expect(w.stops).toEqual([expect.objectContaining({ code: "agent_stalled" })]);
    w.dog.dispose();
  });
});
