// The permission path of the Claude runtime: Claude Code's `canUseTool` callback turned into a
// question for the user (a tool call needing permission, or AskUserQuestion's questions).
import type { CanUseTool, PermissionMode, PermissionResult } from "@anthropic-ai/claude-agent-sdk";
import { Question } from "@wegent/protocol";
import { z } from "zod";
import type { RunRequest } from "../types";

const Questions = z.array(Question).min(1).max(10);

/**
 * The mode a message runs in: the message's own, except that a device configured to ask
 * (anything but bypassPermissions) is never made to skip checks by a message.
 */
export function effectiveMode(
  requested: PermissionMode | undefined,
  device: PermissionMode,
): PermissionMode {
  if (requested === undefined) return device;
  return requested === "bypassPermissions" ? device : requested;
}

/**
 * The mode one run uses: the message's own (the Worker puts the user's default into every
 * message it sends), else the user's default from the applied capabilities, else the device's
 * flag — with the device's flag as a floor (see effectiveMode).
 */
export function runMode(
  request: Pick<RunRequest, "permissionMode" | "capabilities">,
  device: PermissionMode,
): PermissionMode {
  return effectiveMode(
    request.permissionMode ?? request.capabilities?.runtime.permissionMode ?? undefined,
    device,
  );
}

/**
 * Who answers what Claude Code asks during one run. With a way to ask (someone watches the
 * task), every mode routes asks to the owner: in `bypassPermissions` Claude Code asks nothing
 * about tool permissions, but AskUserQuestion (and anything else Claude Code puts to the user
 * whatever the mode) still reaches them, as in the terminal. Without a way to ask, anything
 * that would ask is refused at once.
 */
export function askOptions(
  request: RunRequest,
): { permissionPrompts: "host"; canUseTool: CanUseTool } | { permissionPrompts: "none" } {
  return request.ask
    ? { permissionPrompts: "host", canUseTool: permissionCallback(request) }
    : { permissionPrompts: "none" };
}

/** Builds `canUseTool` for one run: every ask goes to `request.ask` and waits for its answer. */
export function permissionCallback(request: RunRequest): CanUseTool {
  return async (toolName, input, options): Promise<PermissionResult> => {
    const toolUseID = options.toolUseID;
    if (!request.ask) {
      return {
        behavior: "deny",
        message: "Nobody can approve tool calls on this device.",
        toolUseID,
      };
    }
    const questions =
      toolName === "AskUserQuestion" ? Questions.safeParse(input.questions) : undefined;
    const decision = await request.ask(
      {
        kind: questions?.success ? "question" : "permission",
        tool: toolName,
        input,
        ...(questions?.success ? { questions: questions.data } : {}),
        ...(options.title ? { title: options.title.slice(0, 1000) } : {}),
      },
      options.signal,
    );
    if (questions?.success) {
      if (decision.answers) {
        return {
          behavior: "allow",
          updatedInput: { ...input, answers: decision.answers },
          toolUseID,
        };
      }
      return {
        behavior: "deny",
        message: decision.message ?? "The user did not answer the question.",
        toolUseID,
      };
    }
    if (decision.behavior === "allow") {
      return {
        behavior: "allow",
        updatedInput: input,
        // Kept for this run only ("session"): never written to the workspace's settings files.
        ...(decision.remember === "task" && options.suggestions
          ? {
              updatedPermissions: options.suggestions.map((s) => ({
                ...s,
                destination: "session" as const,
              })),
            }
          : {}),
        toolUseID,
      };
    }
    return {
      behavior: "deny",
      message: decision.message ?? "The user denied this tool call.",
      toolUseID,
    };
  };
}
