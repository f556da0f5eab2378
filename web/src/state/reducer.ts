import type {
  Device,
  LiveFrame,
  Message,
  PendingInput,
  ProgressEvent,
  Task,
} from "@wegent/protocol";
import type { CloudStatus } from "@wegent/protocol";
import { appendBlock, assertNever } from "@wegent/protocol";
import { applyDelta, isTerminal, mergeFetched, type MessageView } from "./messages";

export interface AppState {
  devices: Device[];
  cloud: CloudStatus | null;
  devicesLoaded: boolean;
  /** Newest first. */
  tasks: Task[];
  nextCursor: string | null;
  tasksLoaded: boolean;
  /** Conversations opened in this tab, by task id. */
  messages: Record<string, MessageView[]>;
  /**
   * Task frames that named a message we did not hold yet. The live channel often outruns the
   * answer to the POST that created the message; these are replayed when it arrives.
   */
  orphans: TaskFrame[];
  /** Requests of the agent waiting for the user, by task id (every tab shows the same). */
  pendingInput: Record<string, PendingInput[]>;
}

type TaskFrame = Extract<LiveFrame, { taskId: string }>;
const MAX_ORPHANS = 2_000;

export const initialState: AppState = {
  devices: [],
  cloud: null,
  devicesLoaded: false,
  tasks: [],
  nextCursor: null,
  tasksLoaded: false,
  messages: {},
  orphans: [],
  pendingInput: {},
};

export type Action =
  | { type: "devices:loaded"; devices: Device[]; cloud: CloudStatus }
  | { type: "device:upsert"; device: Device }
  | { type: "device:removed"; deviceId: string }
  | { type: "tasks:loaded"; tasks: Task[]; nextCursor: string | null; append: boolean }
  | { type: "task:upsert"; task: Task }
  | { type: "task:removed"; taskId: string }
  /** A whole conversation fetched, or the messages a send created. */
  | { type: "messages:loaded"; task: Task; messages: Message[]; pendingInput?: PendingInput[] }
  /** This tab answered a request (the live frame may come later, or never if it was lost). */
  | { type: "input:answered"; taskId: string; requestId: string }
  /** A message that waited in the running reply was removed by its owner. */
  | { type: "message:removed"; taskId: string; messageId: string }
  | { type: "live"; frame: LiveFrame }
  | { type: "reset" };

export function reducer(state: AppState, action: Action): AppState {
  switch (action.type) {
    case "devices:loaded":
      return { ...state, devices: action.devices, cloud: action.cloud, devicesLoaded: true };
    case "device:upsert":
      return { ...state, devices: upsertDevice(state.devices, action.device) };
    case "device:removed":
      return { ...state, devices: state.devices.filter((d) => d.id !== action.deviceId) };
    case "tasks:loaded": {
      const tasks = action.append ? [...state.tasks, ...action.tasks] : action.tasks;
      return {
        ...state,
        tasks: dedupeTasks(tasks),
        nextCursor: action.nextCursor,
        tasksLoaded: true,
      };
    }
    case "task:upsert":
      return { ...state, tasks: upsertTask(state.tasks, action.task) };
    case "task:removed": {
      const messages = { ...state.messages };
      delete messages[action.taskId];
      return { ...state, tasks: state.tasks.filter((t) => t.id !== action.taskId), messages };
    }
    case "messages:loaded": {
      const loaded: AppState = {
        ...state,
        tasks: upsertTask(state.tasks, action.task),
        messages: { ...state.messages, [action.task.id]: mergeMessages(state, action) },
        pendingInput: action.pendingInput
          ? { ...state.pendingInput, [action.task.id]: action.pendingInput }
          : state.pendingInput,
        orphans: state.orphans.filter((frame) => frame.taskId !== action.task.id),
      };
      // Replaying is safe: every frame is idempotent and a finished message stays finished.
      return state.orphans
        .filter((frame) => frame.taskId === action.task.id)
        .reduce(applyFrame, loaded);
    }
    case "live":
      return applyFrame(state, action.frame);
    case "input:answered":
      return withoutRequest(state, action.taskId, (r) => r.requestId === action.requestId);
    case "message:removed": {
      const list = state.messages[action.taskId];
      if (!list) return state;
      return {
        ...state,
        messages: {
          ...state.messages,
          [action.taskId]: list.filter((m) => m.id !== action.messageId),
        },
      };
    }
    case "reset":
      return initialState;
    default:
      return assertNever(action);
  }
}

/** What one live frame does to the state. Safe to apply twice. */
export function applyFrame(state: AppState, frame: LiveFrame): AppState {
  switch (frame.type) {
    case "live:hello":
      return state;
    case "device:status":
      // A pool executor the user operates is part of Cloud, never a personal device.
      if (frame.device.type === "cloud") return state;
      return { ...state, devices: upsertDevice(state.devices, frame.device) };
    case "device:removed":
      return { ...state, devices: state.devices.filter((d) => d.id !== frame.deviceId) };
    case "task:status": {
      const tasks = state.tasks.map((task) =>
        task.id === frame.taskId ? { ...task, status: frame.status } : task,
      );
      return updateMessage({ ...state, tasks }, frame, (view) =>
        // A late "running" must not revive a message we already know has ended.
        isTerminal(view) && !isTerminal(frame)
          ? view
          : {
              ...view,
              status: frame.status,
              queuePosition: frame.queuePosition,
              queueReason: frame.queueReason ?? null,
              errorCode: frame.errorCode,
              errorMessage: frame.errorMessage,
            },
      );
    }
    case "message:delta":
      return takeQueued(
        updateMessage(state, frame, (view) => applyDelta(view, frame.seq, frame.event)),
        frame.taskId,
        [frame.event],
        "completed",
      );
    case "message:deltas":
      // One state change for the whole batch, however many events it carries.
      return takeQueued(
        updateMessage(state, frame, (view) =>
          frame.events.reduce((acc, e) => applyDelta(acc, e.seq, e.event), view),
        ),
        frame.taskId,
        frame.events.map((e) => e.event),
        "completed",
      );
    case "input:request": {
      const held = state.pendingInput[frame.taskId] ?? [];
      if (held.some((r) => r.requestId === frame.request.requestId)) return state;
      return {
        ...state,
        pendingInput: { ...state.pendingInput, [frame.taskId]: [...held, frame.request] },
      };
    }
    case "input:resolved": {
      const closed = withoutRequest(state, frame.taskId, (r) => r.requestId === frame.requestId);
      const { answer } = frame;
      if (!answer) return closed;
      // The answer joins the reply's transcript where it is now (the hub records the same).
      return updateMessage(closed, frame, (view) => ({
        ...view,
        blocks: appendBlock(view.blocks, { kind: "answered", block: answer }, view.content.length),
      }));
    }
    case "message:done": {
      const tasks = state.tasks.map((task) =>
        task.id === frame.taskId ? { ...task, status: frame.status } : task,
      );
      // Whatever still waited in the reply ends with it (the hub records the same).
      const ended = takeQueued(
        withoutRequest(state, frame.taskId, (r) => r.messageId === frame.messageId),
        frame.taskId,
        "all",
        "cancelled",
      );
      return updateMessage({ ...ended, tasks }, frame, (view) => ({
        ...view,
        content: frame.content,
        status: frame.status,
        queuePosition: null,
        stale: false,
        ...(frame.stages ? { stages: frame.stages } : {}),
      }));
    }
    default:
      return assertNever(frame);
  }
}

/**
 * Messages that waited in the running reply: taken (the reply says where) or, when the reply
 * ends, cancelled if it never took them.
 */
function takeQueued(
  state: AppState,
  taskId: string,
  events: ProgressEvent[] | "all",
  status: "completed" | "cancelled",
): AppState {
  const list = state.messages[taskId];
  const ids =
    events === "all"
      ? null
      : new Set(events.flatMap((e) => (e.kind === "user_message" ? [e.userMessageId] : [])));
  if (!list || ids?.size === 0) return state;
  let changed = false;
  const next = list.map((m) => {
    if (m.role !== "user" || m.status !== "queued" || (ids && !ids.has(m.id))) return m;
    changed = true;
    return { ...m, status };
  });
  return changed ? { ...state, messages: { ...state.messages, [taskId]: next } } : state;
}

function withoutRequest(
  state: AppState,
  taskId: string,
  match: (request: PendingInput) => boolean,
): AppState {
  const held = state.pendingInput[taskId];
  if (!held?.some(match)) return state;
  return {
    ...state,
    pendingInput: { ...state.pendingInput, [taskId]: held.filter((r) => !match(r)) },
  };
}

function updateMessage(
  state: AppState,
  frame: TaskFrame,
  change: (view: MessageView) => MessageView,
): AppState {
  const list = state.messages[frame.taskId];
  if (!list?.some((view) => view.id === frame.messageId)) {
    return { ...state, orphans: [...state.orphans, frame].slice(-MAX_ORPHANS) };
  }
  let changed = false;
  const next = list.map((view) => {
    if (view.id !== frame.messageId) return view;
    const updated = change(view);
    changed ||= updated !== view;
    return updated;
  });
  return changed ? { ...state, messages: { ...state.messages, [frame.taskId]: next } } : state;
}

function mergeMessages(
  state: AppState,
  action: { task: Task; messages: Message[] },
): MessageView[] {
  const held = new Map((state.messages[action.task.id] ?? []).map((m) => [m.id, m]));
  for (const message of action.messages)
    held.set(message.id, mergeFetched(held.get(message.id), message));
  // A user message and its reply can share a timestamp; the question still comes first.
  return [...held.values()].sort(
    (a, b) =>
      a.createdAt.localeCompare(b.createdAt) ||
      (a.role === b.role ? 0 : a.role === "user" ? -1 : 1),
  );
}

function upsertDevice(devices: Device[], device: Device): Device[] {
  // Only one device can be the default: a newly starred one takes the star from the others.
  const others = device.isDefault
    ? devices.map((d) => (d.isDefault && d.id !== device.id ? { ...d, isDefault: false } : d))
    : devices;
  return others.some((d) => d.id === device.id)
    ? others.map((d) =>
        d.id === device.id
          ? // A live status frame does not carry the cost today: keep the listed one.
            { ...device, costTodayUsd: device.costTodayUsd ?? d.costTodayUsd }
          : d,
      )
    : [...others, device];
}

function upsertTask(tasks: Task[], task: Task): Task[] {
  return tasks.some((t) => t.id === task.id)
    ? tasks.map((t) => (t.id === task.id ? task : t))
    : [task, ...tasks];
}

function dedupeTasks(tasks: Task[]): Task[] {
  const seen = new Set<string>();
  return tasks.filter((task) => (seen.has(task.id) ? false : (seen.add(task.id), true)));
}
