import type { FailureCode, MessageStages, TaskStatus } from "@wegent/protocol";
import type { HubMetrics } from "../../edge/telemetry/metrics";

// What a DeviceHub reports as metrics (docs/observability.md), off when no endpoint is set.

export interface DeviceFiguresNow {
  deviceId: string;
  status: string;
  slotsUsed: number;
  queueLength: number;
}

/** A device's gauges, whenever its slots or queue may have changed. */
export function reportFigures(metrics: HubMetrics | undefined, f: DeviceFiguresNow): void {
  if (!metrics?.enabled) return;
  const attrs = { "wegent.device_id": f.deviceId };
  const online = f.status === "online" || f.status === "busy" ? 1 : 0;
  metrics.gauge("wegent.device.online", "{device}", online, attrs);
  metrics.gauge("wegent.device.slots_in_use", "{slot}", f.slotsUsed, attrs);
  metrics.gauge("wegent.device.queue_length", "{message}", f.queueLength, attrs);
}

/** One message ended: its duration, time to first token, and a failure by code. */
export function reportEnded(
  metrics: HubMetrics | undefined,
  status: Extract<TaskStatus, "completed" | "failed" | "cancelled">,
  code: FailureCode | null,
  stages: MessageStages | null | undefined,
): void {
  if (!metrics?.enabled) return;
  if (stages) {
    metrics.histogram("wegent.task.duration", "ms", stages.doneMs, { "wegent.status": status });
    if (stages.firstTokenMs !== null) {
      metrics.histogram("wegent.task.time_to_first_token", "ms", stages.firstTokenMs, {});
    }
  }
  if (status === "failed") {
    metrics.count("wegent.task.failures", "{message}", {
      "wegent.failure_code": code ?? "unknown",
    });
  }
}
