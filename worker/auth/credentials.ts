import { and, eq, isNull, ne } from "drizzle-orm";
import type { DeviceType } from "@wegent/protocol";
import { database, schema } from "../../edge/db";
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

export type CredentialRow = typeof deviceCredentials.$inferSelect;

const { apiTokens, deviceCredentials, devices } = schema;

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
  const row = await database(env.DB)
    .select()
    .from(deviceCredentials)
    .where(eq(deviceCredentials.id, match[1]!))
    .get();
  if (!row || row.secretHash !== (await sha256Hex(presented))) throw invalid();
  return row;
}

/** Starts a fresh family for the device (any older credentials of it are revoked). */
export async function startFamily(
  env: Env,
  args: { ownerId: string; deviceId: string; deviceType: DeviceType; sourceTokenId: string | null },
): Promise<string> {
  const id = crypto.randomUUID();
  const secret = await newSecret(id);
  const db = database(env.DB);
  await db.batch([
    db
      .update(deviceCredentials)
      .set({ state: "revoked" })
      .where(
        and(
          eq(deviceCredentials.ownerId, args.ownerId),
          eq(deviceCredentials.deviceId, args.deviceId),
          ne(deviceCredentials.state, "revoked"),
        ),
      ),
    db.insert(deviceCredentials).values({
      id,
      ownerId: args.ownerId,
      deviceId: args.deviceId,
      deviceType: args.deviceType,
      familyId: id,
      generation: 1,
      secretHash: secret.hash,
      state: "current",
      sourceTokenId: args.sourceTokenId,
    }),
  ]);

  log({ event: "credential.family_started", ownerId: args.ownerId, deviceId: args.deviceId });
  return secret.text;
}

/** Statements that make `row` (pending) the family's current and retire everything older. */
function promote(env: Env, row: CredentialRow): D1PreparedStatement[] {
  // Raw on purpose: they ride in rotate()'s D1 batch with its INSERT … SELECT (raw, see there).
  return [
    env.DB.prepare(
      `UPDATE device_credentials SET state = 'retired'
       WHERE family_id = ?1 AND id != ?2 AND state IN ('current', 'pending')
         AND EXISTS (SELECT 1 FROM device_credentials WHERE id = ?2 AND state = 'pending')`,
    ).bind(row.familyId, row.id),
    env.DB.prepare(
      "UPDATE device_credentials SET state = 'current' WHERE id = ? AND state = 'pending'",
    ).bind(row.id),
  ];
}

/** Refuses anything but a live credential of `deviceId`; handles reuse. */
async function checkLive(env: Env, row: CredentialRow, deviceId: string): Promise<void> {
  if (row.deviceId !== deviceId) {
    log({ event: "credential.refused", ownerId: row.ownerId, code: "token_bound" }, "warn");
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
  const db = database(env.DB);
  const ofDevice = (t: typeof deviceCredentials | typeof devices) =>
    and(eq(t.ownerId, row.ownerId), eq(t.deviceId, row.deviceId));
  await db.batch([
    db.update(deviceCredentials).set({ state: "revoked" }).where(ofDevice(deviceCredentials)),
    db.update(devices).set({ securityEvent: event }).where(ofDevice(devices)),
  ]);
  const device = await db
    .select({ tokenId: devices.tokenId })
    .from(devices)
    .where(ofDevice(devices))
    .get();
  const hub = deviceHub(env, row.ownerId, row.deviceId);
  await hub.revokeToken(device?.tokenId ?? familyTag(row.familyId));
  log({ event: "credential.reuse_detected", ownerId: row.ownerId, deviceId: row.deviceId }, "warn");
}

const tokenUsed = () =>
  new ApiError(
    401,
    "token_used",
    "This device token was already exchanged for a device credential: it works once. Presented again, it revoked the credentials it started (someone else may hold it). Pair the device again, or make a new device token.",
  );

/**
 * A `device` token is worth one exchange: the first one marks it used (one statement, so of two
 * racing exchanges exactly one wins). Presented again — to exchange or to connect — it means
 * two holders, like a rotated-out credential, and either may be the thief (the one who
 * exchanged first, or the one presenting it now): the credentials this token started for the
 * device are revoked, their socket closed, the owner sees `token_reuse`; the answer is 401
 * `token_used`. Credentials the device got otherwise since (a pairing that replaced it) stay.
 */
export async function useDeviceToken(
  env: Env,
  token: { tokenId: string; ownerId: string; exchangedAt: string | null },
  deviceId: string,
  purpose: "exchange" | "connect",
): Promise<void> {
  const db = database(env.DB);
  if (token.exchangedAt === null) {
    if (purpose === "connect") return;
    const claimed = await db
      .update(apiTokens)
      .set({ exchangedAt: new Date().toISOString() })
      .where(and(eq(apiTokens.id, token.tokenId), isNull(apiTokens.exchangedAt)))
      .returning({ id: apiTokens.id })
      .get();
    if (claimed) return;
  }
  const families = await db
    .update(deviceCredentials)
    .set({ state: "revoked" })
    .where(
      and(
        eq(deviceCredentials.ownerId, token.ownerId),
        eq(deviceCredentials.deviceId, deviceId),
        eq(deviceCredentials.sourceTokenId, token.tokenId),
        ne(deviceCredentials.state, "revoked"),
      ),
    )
    .returning({ familyId: deviceCredentials.familyId })
    .all();
  if (families.length > 0) {
    const event = JSON.stringify({ kind: "token_reuse", at: new Date().toISOString() });
    await db
      .update(devices)
      .set({ securityEvent: event })
      .where(and(eq(devices.ownerId, token.ownerId), eq(devices.deviceId, deviceId)))
      .run();
    const hub = deviceHub(env, token.ownerId, deviceId);
    for (const familyId of new Set(families.map((f) => f.familyId))) {
      await hub.revokeToken(familyTag(familyId));
    }
  }
  log(
    { event: "token.reuse_detected", ownerId: token.ownerId, deviceId, tokenId: token.tokenId },
    "warn",
  );
  throw tokenUsed();
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
  // Raw on purpose: the next generation is computed and inserted in one INSERT … SELECT, only
  // from a row still `current`, in one batch with the retirements (drizzle's batch takes no raw).
  statements.push(
    env.DB.prepare(
      "UPDATE device_credentials SET state = 'retired' WHERE family_id = ? AND state = 'pending'",
    ).bind(row.familyId),
    env.DB.prepare(
      `INSERT INTO device_credentials (id, owner_id, device_id, device_type, family_id, generation,
         secret_hash, state, source_token_id)
       SELECT ?1, owner_id, device_id, device_type, family_id,
         (SELECT MAX(generation) + 1 FROM device_credentials WHERE family_id = ?2), ?3, 'pending',
         source_token_id
       FROM device_credentials WHERE id = ?4 AND state = 'current'`,
    ).bind(id, row.familyId, secret.hash, row.id),
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
    deviceId: row.deviceId,
    deviceType: row.deviceType,
    ownerId: row.ownerId,
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
  await database(env.DB)
    .update(deviceCredentials)
    .set({ state: "revoked" })
    .where(and(eq(deviceCredentials.ownerId, ownerId), eq(deviceCredentials.deviceId, deviceId)))
    .run();
}

/** Revokes the families a (now revoked) token started and closes their sockets. */
export async function revokeFamiliesOfToken(env: Env, tokenId: string): Promise<number> {
  const rows = await database(env.DB)
    .update(deviceCredentials)
    .set({ state: "revoked" })
    .where(
      and(eq(deviceCredentials.sourceTokenId, tokenId), ne(deviceCredentials.state, "revoked")),
    )
    .returning({
      ownerId: deviceCredentials.ownerId,
      deviceId: deviceCredentials.deviceId,
      familyId: deviceCredentials.familyId,
    })
    .all();
  const families = new Map(rows.map((r) => [r.familyId, r]));
  const closed = await Promise.all(
    [...families.values()].map((r) =>
      deviceHub(env, r.ownerId, r.deviceId).revokeToken(familyTag(r.familyId)),
    ),
  );
  return closed.filter(Boolean).length;
}
