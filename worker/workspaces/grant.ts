import { signJwt, verifyJwtSignature } from "../auth/crypto";
import { ApiError } from "../lib/errors";

// The executor's permission to move archives of the tasks its device holds: a short-lived HS256
// token the Worker mints when it relays a workspace request through the device's hub. It names
// the device only; every archive route still checks in D1 that the device holds the task.
// `upload: false` (a restore, or a cleanup of a local device without cloud backup) lets the
// executor download its task's archive but never upload one: R2 refuses what was not asked for.

const GRANT_SECONDS = 60 * 60;

export interface ArchiveGrant {
  deviceOwnerId: string;
  deviceId: string;
  /** May upload (an archive the owner asked for, or cloud backup); default true. */
  upload?: boolean;
}

export async function mintGrant(env: Env, grant: ArchiveGrant): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signJwt(
    {
      typ: "archive_grant",
      own: grant.deviceOwnerId,
      dev: grant.deviceId,
      up: grant.upload !== false,
      iat: now,
      exp: now + GRANT_SECONDS,
    },
    env.JWT_SECRET,
  );
}

export async function verifyGrant(
  env: Env,
  bearer: string | null,
): Promise<Required<ArchiveGrant>> {
  const claims = bearer ? await verifyJwtSignature(bearer, env.JWT_SECRET) : null;
  if (
    !claims ||
    claims.typ !== "archive_grant" ||
    typeof claims.own !== "string" ||
    typeof claims.dev !== "string" ||
    claims.exp * 1000 <= Date.now()
  ) {
    throw new ApiError(401, "unauthorized", "Send a valid archive grant as Authorization: Bearer.");
  }
  return { deviceOwnerId: claims.own, deviceId: claims.dev, upload: claims.up !== false };
}
