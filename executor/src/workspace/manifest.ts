// What a project task's archive says of itself (`wegent-workspace.json`), and what a restore
// needs to know about this device.
import { z } from "zod";
import { type WorkspaceRoots } from "./places";

export class RestoreError extends Error {
  readonly code = "archive_corrupt";
}

export const Manifest = z.object({
  version: z.literal(1),
  kind: z.enum(["scratch", "worktree", "in_place"]),
  deviceId: z.string().max(200),
  dir: z.string().max(4096),
  branch: z.string().max(300).nullable(),
  base: z
    .string()
    .regex(/^[0-9a-f]{40,64}$/)
    .nullable(),
  projectDir: z.string().max(4096).nullable(),
});
export type RestoreManifest = z.infer<typeof Manifest>;

export interface RestoreContext {
  roots: WorkspaceRoots;
  taskId: string;
  /** This device: a worktree is recreated only on the device that packed it. */
  deviceId: string;
  /** The projects this device offers (a worktree goes back only into one of them). */
  projects: () => readonly { id: string; path: string; git: boolean }[];
}
