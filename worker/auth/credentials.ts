import type { DeviceType } from "@wegent/protocol";
import { ApiError } from "../lib/errors";
import { log } from "../../edge/log";
import { deviceHub } from "../../durable-objects/contract";
import { base64url, sha256Hex } from "./crypto";
import { CREDENTIAL_PREFIX } from "./identity";

// Device credentials: `wdc_<row id>.<32 random bytes>`, worth one device of one owner, rotated
// at every connect. Within a family (one token exchange or pairing) at most one `current` and
// one `pending`; presenting `current` issues a new `pending`, presenting `pending` promotes it
// and retires the old `current`. A `retired` one presented again means two holders: the whole
// device's credentials are revoked, its socket closed, and the owner sees a security event.

export interface CredentialRow {
  id: string;
  owner_id: string;
  device_id: string;
  device_type: DeviceType;
  family_id: string;
  generation: number;
  secret_hash: string;
  state: "current" | "pending" | "retired" | "revoked";
}

/** What the hub tags a socket opened with a credential of this family with. */
export const familyTag = (familyId: string) => `cred:${familyId}`;

const invalid = () =>
  new ApiError(
    401,
    "invalid_credential",
    "This device credential is not valid. Pair the device again (wegent-executor --mode local).",
  );

async function newSecret(id: string): Promise<{ text: string; hash: string }> {
  const text = `${CREDENTIAL_PREFIX}${id}.${base64url(crypto.getRandomValues(new Uint8Array(32)))}`;
  return { text, hash: await sha256Hex(text) };
}

/** Finds the row a presented credential names, checking its secret; throws 401 otherwise. */
async function lookup(env: Env, presented: string): Promise<CredentialRow> {
  const match = /^wdc_([0-9a-f-]{36})\.[A-Za-z0-9_-]{43}$/.exec(presented);
  if (!match) throw invalid();
  const row = await env.DB.prepare("SELECT * FROM device_credentials WHERE id = ?")
    .bind(match[1])
    .first<CredentialRow>();
  if (!row || row.secret_hash !== (await sha256Hex(presented))) throw invalid();
  return row;
}

/** Starts a fresh family for the device (any older credentials of it are revoked). */
export async function startFamily(
  env: Env,
  args: { ownerId: string; deviceId: string; deviceType: DeviceType; sourceTokenId: string | null },
): Promise<string> {
  const id = crypto.randomUUID();
  const secret = await newSecret(id);
  await env.DB.batch([
    env.DB.prepare(
      "UPDATE device_credentials SET state = 'revoked' WHERE owner_id = ? AND device_id = ? AND state != 'revoked'",
    ).bind(args.ownerId, args.deviceId),
    env.DB.prepare(
      `INSERT INTO device_credentials (id, owner_id, device_id, device_type, family_id, generation,
         secret_hash, state, source_token_id) VALUES (?, ?, ?, ?, ?, 1, ?, 'current', ?)`,
    ).bind(id, args.ownerId, args.deviceId, args.deviceType, id, secret.hash, args.sourceTokenId),
  ]);
  log({ event: "credential.family_started", ownerId: args.ownerId, deviceId: args.deviceId });
  return secret.text;
}

/** Statements that make `row` (pending) the family's current and retire everything older. */
function promote(env: Env, row: CredentialRow): D1PreparedStatement[] {
  return [
    env.DB.prepare(
      `UPDATE device_credentials SET state = 'retired'
       WHERE family_id = ?1 AND id != ?2 AND state IN ('current', 'pending')
         AND EXISTS (SELECT 1 FROM device_credentials WHERE id = ?2 AND state = 'pending')`,
    ).bind(row.family_id, row.id),
    env.DB.prepare(
      "UPDATE device_credentials SET state = 'current' WHERE id = ? AND state = 'pending'",
    ).bind(row.id),
  ];
}

/** Refuses anything but a live credential of `deviceId`; handles reuse. */
async function checkLive(env: Env, row: CredentialRow, deviceId: string): Promise<void> {
  if (row.device_id !== deviceId) {
    log({ event: "credential.refused", ownerId: row.owner_id, code: "token_bound" }, "warn");
    throw new ApiError(
      403,
      "token_bound",
      "This device credential belongs to another device id; it cannot connect this one.",
    );
  }
  if (row.state === "revoked") {
    throw new ApiError(
      401,
      "credential_revoked",
      "This device credential was revoked. Pair the device again (wegent-executor --mode local).",
    );
  }
  if (row.state === "retired") {
    await reuseDetected(env, row);
    throw new ApiError(
      401,
      "credential_reused",
      "This device credential was already rotated out and was used again: all credentials of this device are revoked. Pair it again.",
    );
  }
}

/** Two holders of one device's credentials: revoke them all, close the socket, tell the owner. */
async function reuseDetected(env: Env, row: CredentialRow): Promise<void> {
  const event = JSON.stringify({ kind: "credential_reuse", at: new Date().toISOString() });
  await env.DB.batch([
    env.DB.prepare(
      "UPDATE device_credentials SET state = 'revoked' WHERE owner_id = ? AND device_id = ?",
    ).bind(row.owner_id, row.device_id),
    env.DB.prepare(
      "UPDATE devices SET security_event = ? WHERE owner_id = ? AND device_id = ?",
    ).bind(event, row.owner_id, row.device_id),
  ]);
  const device = await env.DB.prepare(
    "SELECT token_id FROM devices WHERE owner_id = ? AND device_id = ?",
  )
    .bind(row.owner_id, row.device_id)
    .first<{ token_id: string | null }>();
  const hub = deviceHub(env, row.owner_id, row.device_id);
  await hub.revokeToken(device?.token_id ?? familyTag(row.family_id));
  log(
    { event: "credential.reuse_detected", ownerId: row.owner_id, deviceId: row.device_id },
    "warn",
  );
}

/**
 * The exchange with a credential: `current` or `pending` gets a NEW pending (a pending one is
 * promoted first); any older pending is retired.
 */
export async function rotate(env: Env, presented: string, deviceId: string) {
  const row = await lookup(env, presented);
  await checkLive(env, row, deviceId);
  const id = crypto.randomUUID();
  const secret = await newSecret(id);
  const statements = row.state === "pending" ? promote(env, row) : [];
  statements.push(
    env.DB.prepare(
      "UPDATE device_credentials SET state = 'retired' WHERE family_id = ? AND state = 'pending'",
    ).bind(row.family_id),
    env.DB.prepare(
      `INSERT INTO device_credentials (id, owner_id, device_id, device_type, family_id, generation,
         secret_hash, state, source_token_id)
       SELECT ?1, owner_id, device_id, device_type, family_id,
         (SELECT MAX(generation) + 1 FROM device_credentials WHERE family_id = ?2), ?3, 'pending',
         source_token_id
       FROM device_credentials WHERE id = ?4 AND state = 'current'`,
    ).bind(id, row.family_id, secret.hash, row.id),
  );
  const results = await env.DB.batch(statements);
  if ((results.at(-1)?.meta.changes ?? 0) !== 1) {
    // Someone rotated this family between our read and our write: look again.
    const again = await lookup(env, presented);
    await checkLive(env, again, deviceId);
    throw invalid();
  }
  return {
    credential: secret.text,
    deviceId: row.device_id,
    deviceType: row.device_type,
    ownerId: row.owner_id,
  };
}

/** The connect with a credential: a pending one becomes current. */
export async function acceptForConnect(
  env: Env,
  presented: string,
  deviceId: string,
): Promise<CredentialRow> {
  const row = await lookup(env, presented);
  await checkLive(env, row, deviceId);
  if (row.state === "pending") await env.DB.batch(promote(env, row));
  const now = await lookup(env, presented);
  await checkLive(env, now, deviceId);
  return now;
}

/** Revokes the device's credentials (device removed). */
export async function revokeDeviceCredentials(env: Env, ownerId: string, deviceId: string) {
  await env.DB.prepare(
    "UPDATE device_credentials SET state = 'revoked' WHERE owner_id = ? AND device_id = ?",
  )
    .bind(ownerId, deviceId)
    .run();
}

/** Revokes the families a (now revoked) token started and closes their sockets. */
export async function revokeFamiliesOfToken(env: Env, tokenId: string): Promise<number> {
  const rows = await env.DB.prepare(
    `UPDATE device_credentials SET state = 'revoked'
     WHERE source_token_id = ? AND state != 'revoked'
     RETURNING owner_id, device_id, family_id`,
  )
    .bind(tokenId)
    .all<{ owner_id: string; device_id: string; family_id: string }>();
  const families = new Map(rows.results.map((r) => [r.family_id, r]));
  const closed = await Promise.all(
    [...families.values()].map((r) =>
      deviceHub(env, r.owner_id, r.device_id).revokeToken(familyTag(r.family_id)),
    ),
  );
  return closed.filter(Boolean).length;
}
