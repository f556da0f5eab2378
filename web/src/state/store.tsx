import { watchFocus } from "./focus";
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useReducer,
  useRef,
  useState,
  type ReactNode,
} from "react";
import type { LiveFrame, PermissionMode, RuntimeId, Task } from "@wegent/protocol";
import { api } from "../api";
import { LiveConnection } from "../live/connection";
import { noticeFrame, setWaitingCount } from "../lib/attention";
import { DevicesBody, Ok as TaskOk, TaskBody, TaskPage, TaskWithMessages } from "@wegent/protocol";
import { initialState, reducer, type Action, type AppState } from "./reducer";
import { choiceToTarget, deviceChoice, initialChoice, taskChoice, type Choice } from "./target";

const PAGE_SIZE = 30;

/** A follow-up's extras: the model picked, or interrupt the running turn (steer). */
export interface SendExtra {
  model?: string;
  interrupt?: boolean;
  /** A new task's agent runtime (a task keeps its own). */
  runtime?: RuntimeId;
}

export interface Store {
  state: AppState;
  dispatch: (action: Action) => void;
  /** Whether the live channel is connected right now. */
  liveOpen: boolean;
  refreshDevices: () => Promise<void>;
  loadMoreTasks: () => Promise<void>;
  openTask: (taskId: string) => Promise<void>;
  /** Sends a message: a new task when `task` is null, else a follow-up. Returns the task id. */
  send: (
    task: Task | null,
    message: string,
    choice: Choice,
    permissionMode?: PermissionMode,
    extra?: SendExtra,
  ) => Promise<string>;
  cancel: (taskId: string) => Promise<void>;
  /** Removes a message still waiting in the running reply. */
  removeQueued: (taskId: string, messageId: string) => Promise<void>;
  deleteTask: (taskId: string) => Promise<void>;
  /** The selector's value for a new chat (null until the device list first arrives). */
  newChatChoice: Choice | null;
  choiceFor: (task: Task) => Choice;
  choose: (task: Task | null, choice: Choice) => void;
  /** The project of the device chosen for a new chat (null: a scratch workspace). */
  newChatProject: string | null;
  chooseProject: (projectId: string | null) => void;
  /** A Claude Code session of a device the next new chat continues, or null. */
  continuing: ContinueChoice | null;
  continueSession: (choice: ContinueChoice | null) => void;
}

/** "Continue" on a local session: the new chat goes to that device, project and session. */
export interface ContinueChoice {
  deviceId: string;
  projectId: string;
  sessionId: string;
  title: string;
  /** The agent that made the session (it goes on with it); absent: Claude Code. */
  runtime?: RuntimeId;
}

const StoreContext = createContext<Store | null>(null);

export function useStore(): Store {
  const store = useContext(StoreContext);
  if (!store) throw new Error("useStore outside StoreProvider");
  return store;
}

/** Lets tests (and any embedding) supply a ready-made store. */
export const StoreContextProvider = StoreContext.Provider;

export function StoreProvider(props: { children: ReactNode; onSignedOut: () => void }) {
  const [state, dispatch] = useReducer(reducer, initialState);
  const [liveOpen, setLiveOpen] = useState(false);
  const [newChatChoice, setNewChatChoice] = useState<Choice | null>(null);
  const [taskChoices, setTaskChoices] = useState<Record<string, Choice>>({});
  const [newChatProject, setNewChatProject] = useState<string | null>(null);
  const [continuing, setContinuing] = useState<ContinueChoice | null>(null);
  const stateRef = useRef(state);
  stateRef.current = state;
  const fetching = useRef(new Set<string>());
  const { onSignedOut } = props;

  const refreshDevices = useCallback(async () => {
    const body = await api("GET", "/api/devices", DevicesBody);
    dispatch({ type: "devices:loaded", devices: body.devices, cloud: body.cloud });
  }, []);

  const refreshTasks = useCallback(async () => {
    const page = await api("GET", `/api/tasks?limit=${PAGE_SIZE}`, TaskPage);
    dispatch({
      type: "tasks:loaded",
      tasks: page.tasks,
      nextCursor: page.nextCursor,
      append: false,
    });
  }, []);

  const loadMoreTasks = useCallback(async () => {
    const cursor = stateRef.current.nextCursor;
    if (!cursor) return;
    const query = `limit=${PAGE_SIZE}&cursor=${encodeURIComponent(cursor)}`;
    const page = await api("GET", `/api/tasks?${query}`, TaskPage);
    dispatch({
      type: "tasks:loaded",
      tasks: page.tasks,
      nextCursor: page.nextCursor,
      append: true,
    });
  }, []);

  const openTask = useCallback(async (taskId: string) => {
    const body = await api("GET", `/api/tasks/${encodeURIComponent(taskId)}`, TaskWithMessages);
    dispatch({
      type: "messages:loaded",
      task: body.task,
      messages: body.messages,
      pendingInput: body.pendingInput,
    });
  }, []);

  /** Fetches something the live channel mentioned that we do not hold, once at a time. */
  const fetchOnce = useCallback((key: string, work: () => Promise<void>) => {
    if (fetching.current.has(key)) return;
    fetching.current.add(key);
    work()
      .catch((error: unknown) => console.warn("live: refetch failed", key, error))
      .finally(() => fetching.current.delete(key));
  }, []);

  const resync = useCallback(() => {
    fetchOnce("devices", refreshDevices);
    fetchOnce("tasks", refreshTasks);
    for (const taskId of Object.keys(stateRef.current.messages)) {
      fetchOnce(`task:${taskId}`, () => openTask(taskId));
    }
  }, [fetchOnce, refreshDevices, refreshTasks, openTask]);

  const onFrame = useCallback(
    (frame: LiveFrame) => {
      dispatch({ type: "live", frame });
      noticeFrame(
        frame,
        (taskId) => stateRef.current.tasks.find((t) => t.id === taskId)?.title ?? "Wegent Edge",
      );
      if (frame.type !== "task:status" && frame.type !== "message:done") return;
      const held = stateRef.current;
      const open = held.messages[frame.taskId];
      if (open && !open.some((m) => m.id === frame.messageId)) {
        // A message sent from another tab: load the conversation to show it.
        fetchOnce(`task:${frame.taskId}`, () => openTask(frame.taskId));
      } else if (!held.tasks.some((t) => t.id === frame.taskId) && held.tasksLoaded) {
        fetchOnce(`task:${frame.taskId}`, async () => {
          const body = await api("GET", `/api/tasks/${frame.taskId}`, TaskBody);
          dispatch({ type: "task:upsert", task: body.task });
        });
      }
    },
    [fetchOnce, openTask],
  );

  useEffect(() => {
    setWaitingCount(Object.values(state.pendingInput).reduce((n, list) => n + list.length, 0));
  }, [state.pendingInput]);

  // A text delta past the end of what we hold means frames were missed: fetch the message.
  useEffect(() => {
    for (const [taskId, messages] of Object.entries(state.messages)) {
      if (messages.some((m) => m.stale)) fetchOnce(`task:${taskId}`, () => openTask(taskId));
    }
  }, [state.messages, fetchOnce, openTask]);

  useEffect(() => {
    resync();
    const connection = new LiveConnection(window.location.origin, {
      onFrame,
      onResync: resync,
      onOpenChange: setLiveOpen,
      onUnauthorized: onSignedOut,
    });
    connection.start();
    const stopFocus = watchFocus((focus) => connection.reportFocus(focus));
    return () => {
      stopFocus();
      connection.stop();
    };
  }, [onFrame, resync, onSignedOut]);

  // The first choice is made once, when the device list first arrives; later updates never
  // move it (the original product once sent work to the wrong machine that way).
  useEffect(() => {
    if (state.devicesLoaded && newChatChoice === null) {
      setNewChatChoice(initialChoice(state.devices));
    }
  }, [state.devicesLoaded, state.devices, newChatChoice]);

  const choiceFor = useCallback(
    (task: Task) => taskChoices[task.id] ?? taskChoice(task),
    [taskChoices],
  );

  const choose = useCallback((task: Task | null, choice: Choice) => {
    if (task) setTaskChoices((held) => ({ ...held, [task.id]: choice }));
    else {
      setNewChatChoice(choice);
      setNewChatProject(null);
      setContinuing(null);
    }
  }, []);

  const chooseProject = useCallback((projectId: string | null) => {
    setNewChatProject(projectId);
    setContinuing(null);
  }, []);

  const continueSession = useCallback((choice: ContinueChoice | null) => {
    setContinuing(choice);
    if (choice) {
      setNewChatChoice(deviceChoice(choice.deviceId));
      setNewChatProject(choice.projectId);
    }
  }, []);

  const projectRef = useRef({ newChatProject, continuing });
  projectRef.current = { newChatProject, continuing };

  const send = useCallback(
    async (
      task: Task | null,
      message: string,
      choice: Choice,
      permissionMode?: PermissionMode,
      extra: SendExtra = {},
    ) => {
      const mode = {
        ...(permissionMode ? { permissionMode } : {}),
        ...(extra.model ? { model: extra.model } : {}),
        ...(extra.interrupt ? { interrupt: true } : {}),
      };
      if (!task) {
        const { newChatProject: projectId, continuing: session } = projectRef.current;
        const target = choiceToTarget(choice);
        const body = await api("POST", "/api/tasks", TaskWithMessages, {
          message,
          target: target !== "cloud" && projectId ? { ...target, projectId } : target,
          ...(session ? { continueSessionId: session.sessionId } : {}),
          ...(extra.runtime ? { runtime: extra.runtime } : {}),
          ...mode,
        });
        setContinuing(null);
        dispatch({ type: "messages:loaded", task: body.task, messages: body.messages });
        return body.task.id;
      }
      // Follow-ups stay where the task runs; a target is sent only when the user picked another.
      const moved = choice !== taskChoice(task);
      const body = await api(
        "POST",
        `/api/tasks/${task.id}/messages`,
        TaskWithMessages,
        moved ? { message, target: choiceToTarget(choice), ...mode } : { message, ...mode },
      );
      dispatch({ type: "messages:loaded", task: body.task, messages: body.messages });
      return body.task.id;
    },
    [],
  );

  const cancel = useCallback(async (taskId: string) => {
    const body = await api("POST", `/api/tasks/${taskId}/cancel`, TaskBody);
    dispatch({ type: "task:upsert", task: body.task });
  }, []);

  const removeQueued = useCallback(async (taskId: string, messageId: string) => {
    await api("DELETE", `/api/tasks/${taskId}/messages/${messageId}`, TaskOk);
    dispatch({ type: "message:removed", taskId, messageId });
  }, []);

  const deleteTask = useCallback(async (taskId: string) => {
    await api("DELETE", `/api/tasks/${taskId}`, TaskOk);
    dispatch({ type: "task:removed", taskId });
  }, []);

  const store = useMemo<Store>(
    () => ({
      state,
      dispatch,
      liveOpen,
      refreshDevices,
      loadMoreTasks,
      openTask,
      send,
      cancel,
      removeQueued,
      deleteTask,
      newChatChoice,
      choiceFor,
      choose,
      newChatProject,
      chooseProject,
      continuing,
      continueSession,
    }),
    [
      newChatProject,
      chooseProject,
      continuing,
      continueSession,
      state,
      liveOpen,
      refreshDevices,
      loadMoreTasks,
      openTask,
      send,
      cancel,
      removeQueued,
      deleteTask,
      newChatChoice,
      choiceFor,
      choose,
    ],
  );
  return <StoreContext.Provider value={store}>{props.children}</StoreContext.Provider>;
}
