import type { TaskStatus } from "@wegent/protocol";

const LABEL: Record<TaskStatus, string> = {
  pending: "Pending",
  queued: "Queued",
  running: "Running",
  waiting_input: "Needs you",
  cancelling: "Stopping",
  completed: "Done",
  failed: "Failed",
  cancelled: "Stopped",
};

export function StatusBadge(props: { status: TaskStatus }) {
  return (
    <span className={`badge status-${props.status}`} data-status={props.status}>
      {LABEL[props.status]}
    </span>
  );
}
