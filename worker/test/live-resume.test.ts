import { describe, expect, it } from "vitest";
import type { LiveFrame } from "@wegent/protocol";
import { call, createToken, signUp } from "./helpers";
import { eventually, newDeviceId, openLive, registerDevice, textFrame } from "./device-client";

type Stamped = LiveFrame & { liveSeq: number };
const stamped = (frames: LiveFrame[]) =>
  frames.filter((f): f is Stamped => f.type !== "live:hello" && "liveSeq" in f);

describe("the live channel's resume", () => {
  it("gives a tab that comes back exactly what it missed, and a tab from the future a reset", async () => {
    const user = await signUp();
    const { token } = await createToken(user);
    const first = await openLive(user.cookie);
    const hello = (await first.next("live:hello")) as Extract<LiveFrame, { type: "live:hello" }>;
    const deviceId = newDeviceId();
    const { socket } = await registerDevice(token, deviceId);
    const created = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "hi", target: { deviceId } },
    });
    expect(created.status).toBe(201);
    const e = (await socket.next("task:execute")) as Parameters<typeof textFrame>[0];
    socket.send({ type: "task:accepted", taskId: e.taskId, messageId: e.messageId });
    for (let seq = 1; seq <= 3; seq++) socket.send(textFrame(e, seq, seq - 1, `d${seq}`));
    await eventually(
      async () => stamped(first.frames).filter((f) => f.type === "message:delta").length === 3,
      5000,
      "three deltas on the first tab",
    );
    const seen = stamped(first.frames);
    const seqs = seen.map((f) => f.liveSeq);
    // Every event has the next liveSeq, in order, after the hello's.
    expect(seqs[0]).toBeGreaterThan(hello.liveSeq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);

    // A tab that saw up to the second event gets the rest, exactly, and nothing else.
    const back = await openLive(user.cookie, seqs[1]);
    const backHello = (await back.next("live:hello")) as Extract<LiveFrame, { type: "live:hello" }>;
    expect(backHello.reset).toBe(false);
    await eventually(
      async () => stamped(back.frames).length >= seqs.length - 2,
      5000,
      "the missed events",
    );
    expect(stamped(back.frames).map((f) => f.liveSeq)).toEqual(seqs.slice(2));

    // A tab that claims more than the channel ever stamped is told to start over.
    const future = await openLive(user.cookie, seqs[seqs.length - 1]! + 1000);
    const futureHello = (await future.next("live:hello")) as Extract<
      LiveFrame,
      { type: "live:hello" }
    >;
    expect(futureHello.reset).toBe(true);
  });
});
