// The multipart upload a task's archive run has open, remembered in R2 next to its archives
// (`archives/<owner>/<task>/upload-in-progress.json`). An executor that dies mid-upload (a
// restart, a kill) never aborts its upload; the next archive of the task does, so no parts are
// left behind in R2 whatever happened to the previous run.

const markerKey = (ownerId: string, taskId: string) =>
  `archives/${ownerId}/${taskId}/upload-in-progress.json`;

interface Marker {
  key: string;
  uploadId: string;
}

async function readMarker(env: Env, ownerId: string, taskId: string): Promise<Marker | null> {
  const object = await env.ARCHIVES.get(markerKey(ownerId, taskId));
  if (!object || object.size > 4096) return null;
  try {
    const value = (await object.json()) as Partial<Marker>;
    // Only an upload of this very task (the marker is ours, but never trust a key blindly).
    if (typeof value.key !== "string" || typeof value.uploadId !== "string") return null;
    if (!value.key.startsWith(`archives/${ownerId}/${taskId}/`)) return null;
    return { key: value.key, uploadId: value.uploadId };
  } catch {
    return null;
  }
}

/** Aborts the task's upload left open by an earlier run, if any. */
export async function abortDangling(env: Env, ownerId: string, taskId: string): Promise<boolean> {
  const marker = await readMarker(env, ownerId, taskId);
  if (!marker) return false;
  await env.ARCHIVES.resumeMultipartUpload(marker.key, marker.uploadId)
    .abort()
    .catch(() => undefined);
  await env.ARCHIVES.delete(markerKey(ownerId, taskId));
  return true;
}

export async function rememberUpload(
  env: Env,
  ownerId: string,
  taskId: string,
  upload: Marker,
): Promise<void> {
  await env.ARCHIVES.put(markerKey(ownerId, taskId), JSON.stringify(upload));
}

/** The upload ended (completed or aborted): forget it, unless a newer one replaced it. */
export async function forgetUpload(
  env: Env,
  ownerId: string,
  taskId: string,
  uploadId: string,
): Promise<void> {
  const marker = await readMarker(env, ownerId, taskId);
  if (marker?.uploadId === uploadId) await env.ARCHIVES.delete(markerKey(ownerId, taskId));
}
