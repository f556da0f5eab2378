// Usage where people look (issue 22): tokens and cost under a reply, the task's totals and
// context in the header, the rate-limit banner, and a device's runtime, sign-in, problem and
// cost today on its card.
import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { AssistantMessage } from "../src/components/MessageView";
import { RuntimeFacts, RuntimeProblem } from "../src/components/DeviceRuntime";
import { RateLimitBanner, TaskUsage } from "../src/components/Usage";
import { toView } from "../src/state/messages";
import { applyFrame, initialState, reducer } from "../src/state/reducer";
import type { LiveFrame } from "@wegent/protocol";
import { device, message } from "./helpers";

afterEach(cleanup);

const usage = (input: number, output: number, extra: object = {}) => ({
  inputTokens: input,
  outputTokens: output,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  ...extra,
});

describe("per message", () => {
  it("shows tokens in/out/cache and cost under a finished reply, nothing while it runs", () => {
    const done = message({
      id: "m1",
      status: "completed",
      content: "Done.",
      usage: usage(12_345, 678, { cacheReadTokens: 40_000, cacheWriteTokens: 1200 }),
      costUsd: 0.0123,
    });
    render(<AssistantMessage message={toView(done)} deviceName={null} onRetry={null} />);
    expect(screen.getByTestId("message-usage").textContent).toBe(
      "12k in · 678 out · cache 40k read · 1.2k written · $0.01",
    );
    cleanup();
    render(
      <AssistantMessage
        message={toView({ ...done, status: "running" })}
        deviceName={null}
        onRetry={null}
      />,
    );
    expect(screen.queryByTestId("message-usage")).toBeNull();
  });
});

describe("per task", () => {
  it("sums the replies and says how full the context is", () => {
    const messages = [
      message({ id: "u1", role: "user", status: "completed" }),
      message({ id: "a1", status: "completed", usage: usage(1000, 200), costUsd: 0.5 }),
      message({
        id: "a2",
        status: "completed",
        usage: usage(3000, 300, { contextTokens: 50_000, contextWindow: 200_000 }),
        costUsd: 0.25,
      }),
    ];
    render(<TaskUsage messages={messages} />);
    expect(screen.getByTestId("task-usage").textContent).toBe(
      "4.0k in · 500 out · $0.75 · 25% of context used",
    );
  });

  it("marks a total with an unknown cost as a lower bound, and shows nothing without usage", () => {
    render(
      <TaskUsage
        messages={[
          message({ id: "a1", status: "completed", usage: usage(10, 20), costUsd: 0.1 }),
          message({ id: "a2", status: "completed", usage: usage(10, 20), costUsd: null }),
        ]}
      />,
    );
    expect(screen.getByTestId("task-usage").textContent).toContain("≥ $0.10");
    cleanup();
    render(<TaskUsage messages={[message({ id: "a3", status: "running" })]} />);
    expect(screen.queryByTestId("task-usage")).toBeNull();
  });
});

describe("rate limits", () => {
  const limited = (status: "allowed" | "allowed_warning" | "rejected") =>
    message({
      id: "a1",
      status: "running",
      blocks: [
        {
          type: "rate_limit",
          limit: {
            status,
            limitType: "five_hour",
            resetsAt: "2030-01-01T15:00:00.000Z",
            utilization: 0.9,
          },
        },
      ],
    });

  it("shows a banner with the reset time when the limit is close or reached", () => {
    render(<RateLimitBanner messages={[limited("rejected")]} />);
    const banner = screen.getByTestId("rate-limit-banner");
    expect(banner.textContent).toContain("Claude's 5-hour limit is reached — resets");
    expect(banner.dataset.status).toBe("rejected");
    cleanup();
    render(<RateLimitBanner messages={[limited("allowed_warning")]} />);
    expect(screen.getByTestId("rate-limit-banner").textContent).toContain(
      "5-hour limit is close (90% used)",
    );
  });

  it("shows nothing while within the limit", () => {
    render(<RateLimitBanner messages={[limited("allowed")]} />);
    expect(screen.queryByTestId("rate-limit-banner")).toBeNull();
  });
});

describe("the device card", () => {
  const runtime = {
    id: "claude-code" as const,
    version: "2.1.330",
    auth: { kind: "login" as const, label: "Claude Code login (Max)" },
    models: [],
    commands: [],
    problem: null,
  };

  it("shows Claude Code's version, how it signs in, and the cost today", () => {
    render(
      <dl>
        <RuntimeFacts device={device({ id: "d1", runtimes: [runtime], costTodayUsd: 1.5 })} />
      </dl>,
    );
    expect(screen.getByTestId("device-runtime").textContent).toBe(
      "2.1.330 · Claude Code login (Max)",
    );
    expect(screen.getByTestId("device-cost-today").textContent).toBe("$1.50");
    render(<RuntimeProblem device={device({ id: "d1", runtimes: [runtime] })} />);
    expect(screen.queryByTestId("device-runtime-problem")).toBeNull();
  });

  it("says the device needs attention, with the fix, until it can run", () => {
    const problem = {
      code: "agent_error",
      message: "Claude Code accepts only IS_SANDBOX=1.",
    };
    render(<RuntimeProblem device={device({ id: "d1", runtimes: [{ ...runtime, problem }] })} />);
    expect(screen.getByTestId("device-runtime-problem").textContent).toBe(
      "⚠ Needs attention: Claude Code accepts only IS_SANDBOX=1.",
    );
  });
});

describe("the cost today across live updates", () => {
  it("a live status frame (which does not carry it) keeps the listed cost", () => {
    const listed = reducer(initialState, {
      type: "device:upsert",
      device: device({ id: "d1", costTodayUsd: 2.5 }),
    });
    const live = applyFrame(listed, {
      type: "device:status",
      device: device({ id: "d1", status: "busy", costTodayUsd: null }),
    } as LiveFrame);
    expect(live.devices[0]).toMatchObject({ status: "busy", costTodayUsd: 2.5 });
  });
});
