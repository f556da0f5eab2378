import { Hono } from "hono";
import { and, eq, gt, isNull, lt } from "drizzle-orm";
import { z } from "zod";
import {
  ApprovePairing,
  formatPairingCode,
  PAIRING_ALPHABET,
  PAIRING_TTL_MS,
  PairingCode,
  type PairingApproved,
  type PairingDetails,
  type PairingPoll,
  type PairingStarted,
  StartPairing,
} from "@wegent/protocol";
import { base64url, sha256Hex } from "../auth/crypto";
import { startFamily } from "../auth/credentials";
import { type AppEnv, bearerToken, requireUser } from "../auth/identity";
import { clientAddress, rateLimit } from "../auth/throttle";
import { auditNote, personOnly } from "../auth/person";
import { ApiError } from "../lib/errors";
import { log } from "../../edge/log";
import { readBody, readParams } from "../lib/validate";
import { database, schema } from "../../edge/db";

const { devices, pairings } = schema;

// Pairing: an executor with no secret asks for a code (no auth), its owner approves the code
// while signed in, and the executor's next poll (with the poll secret only it holds) receives
// a device credential, once.

export const pairingRoutes = new Hono<AppEnv>();

const START_LIMIT = { limit: 10, windowMs: 10 * 60_000 };
const APPROVE_LIMIT = { limit: 20, windowMs: 10 * 60_000 };

/** 8 characters from a 32-letter alphabet, uniformly (32 divides 256). */
function newCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return [...bytes].map((b) => PAIRING_ALPHABET[b % PAIRING_ALPHABET.length]).join("");
}

const expired = () =>
  new ApiError(410, "pairing_expired", "This pairing code expired. Start the executor again.");
// Approving a used code is a conflict (409); polling a consumed pairing is gone (410).
const used = (status: 409 | 410 = 409) =>
  new ApiError(status, "pairing_used", "This pairing was already used. Start the executor again.");

/** The requesting address as shown to the approver: an IP literal, else null. */
function requestAddress(header: string | undefined): string | null {
  const value = header?.trim() ?? "";
  return /^[0-9A-Fa-f:.]{2,45}$/.test(value) ? value : null;
}

/** The approver's own device with this id (a pairing may replace only an offline one). */
async function existingDevice(env: AppEnv["Bindings"], ownerId: string, deviceId: string) {
  return database(env.DB)
    .select({
      name: devices.name,
      customName: devices.customName,
      status: devices.status,
      lastSeenAt: devices.lastSeenAt,
    })
    .from(devices)
    .where(and(eq(devices.ownerId, ownerId), eq(devices.deviceId, deviceId)))
    .get();
}

type Existing = NonNullable<Awaited<ReturnType<typeof existingDevice>>>;
const shownName = (d: Existing) => d.customName ?? d.name;

/** Refuses a pairing that would take over one of the approver's devices (see docs/security.md). */
function refuseTakeover(existing: Existing | undefined, replaceDevice: boolean): void {
  if (!existing) return;
  if (existing.status !== "offline") {
    throw new ApiError(
      409,
      "device_online",
      `This code names your device “${shownName(existing)}”, which is connected (or reconnecting) right now: a pairing never replaces a connected device. If this really is that computer, its executor is already paired; otherwise someone else started this code — do not approve it.`,
    );
  }
  if (!replaceDevice) {
    throw new ApiError(
      409,
      "device_exists",
      `This code names your existing device “${shownName(existing)}” (last seen ${existing.lastSeenAt ?? "never"}). Approving would replace it: confirm with "replaceDevice": true only if that computer is the one asking.`,
    );
  }
}

pairingRoutes.post("/start", async (c) => {
  await rateLimit(
    c.env.DB,
    { key: `pair:start:${clientAddress(c)}`, ...START_LIMIT },
    "pairing requests from your network",
  );
  const body = await readBody(c, StartPairing);
  const pairingId = crypto.randomUUID();
  const pollSecret = `wps_${base64url(crypto.getRandomValues(new Uint8Array(32)))}`;
  const expiresAt = Date.now() + PAIRING_TTL_MS;
  // Old rows go (their codes free up); a code collision is retried.
  const db = database(c.env.DB);
  await db
    .delete(pairings)
    .where(lt(pairings.expiresAt, Date.now() - 86_400_000))
    .run();
  let code = "";
  for (let attempt = 0; attempt < 5 && !code; attempt++) {
    const candidate = newCode();
    const inserted = await db
      .insert(pairings)
      .values({
        id: pairingId,
        code: candidate,
        pollSecretHash: await sha256Hex(pollSecret),
        deviceId: body.deviceId,
        name: body.name,
        platform: body.platform,
        version: body.version ?? null,
        requestAddress: requestAddress(c.req.header("CF-Connecting-IP")),
        deviceType: "local",
        expiresAt,
      })
      .onConflictDoNothing({ target: pairings.code })
      .run();
    if (inserted.meta.changes === 1) code = candidate;
  }
  if (!code) throw new Error("could not find a free pairing code");
  log({ event: "pairing.started", pairingId, deviceId: body.deviceId });
  const shown = formatPairingCode(code);
  const started: PairingStarted = {
    pairingId,
    code: shown,
    pollSecret,
    expiresAt: new Date(expiresAt).toISOString(),
    approveUrl: `${new URL(c.req.url).origin}/devices?pair=${shown}`,
  };
  return c.json(started, 201);
});

const PairingPath = z.object({ id: z.string().uuid("pairing id must be a UUID") });

pairingRoutes.get("/:id", async (c) => {
  const { id } = readParams(c, PairingPath);
  const secret = bearerToken(c.req.header("Authorization"));
  const db = database(c.env.DB);
  const row = await db.select().from(pairings).where(eq(pairings.id, id)).get();
  if (!row || !secret || (await sha256Hex(secret)) !== row.pollSecretHash) {
    throw new ApiError(404, "pairing_not_found", "No such pairing (or the wrong poll secret).");
  }
  if (row.consumedAt) throw used(410);
  if (row.approvedBy) {
    // The device may have connected (or appeared) since the approval: never take it over.
    const existing = await existingDevice(c.env, row.approvedBy, row.deviceId);
    try {
      refuseTakeover(existing, row.replaceDevice);
    } catch (refused) {
      await db
        .update(pairings)
        .set({ consumedAt: new Date().toISOString() })
        .where(and(eq(pairings.id, id), isNull(pairings.consumedAt)))
        .run();
      log({ event: "pairing.refused", pairingId: id, deviceId: row.deviceId }, "warn");
      throw refused;
    }
    // Exactly once: only the poll that flips consumed_at gets the credential.
    const claimed = await db
      .update(pairings)
      .set({ consumedAt: new Date().toISOString() })
      .where(and(eq(pairings.id, id), isNull(pairings.consumedAt)))
      .returning({ id: pairings.id })
      .get();
    if (!claimed) throw used(410);
    const credential = await startFamily(c.env, {
      ownerId: row.approvedBy,
      deviceId: row.deviceId,
      deviceType: "local",
      sourceTokenId: null,
    });
    log({ event: "pairing.consumed", pairingId: id, deviceId: row.deviceId });
    const approved: PairingPoll = { state: "approved", credential, deviceId: row.deviceId };
    return c.json(approved);
  }
  if (row.expiresAt <= Date.now()) throw expired();
  const pending: PairingPoll = {
    state: "pending",
    expiresAt: new Date(row.expiresAt).toISOString(),
  };
  return c.json(pending);
});

/** What a code would pair, for the approval form (before the click). */
pairingRoutes.get("/code/:code", requireUser(), async (c) => {
  const user = c.get("user");
  await rateLimit(
    c.env.DB,
    { key: `pair:look:${user.id}`, ...APPROVE_LIMIT },
    "pairing code look-ups",
  );
  const { code } = readParams(c, z.object({ code: PairingCode }));
  const row = await pendingPairing(c.env, code);
  const existing = await existingDevice(c.env, user.id, row.deviceId);
  const details: PairingDetails = {
    code: formatPairingCode(code),
    deviceId: row.deviceId,
    name: row.name,
    platform: row.platform,
    version: row.version,
    address: row.requestAddress,
    expiresAt: new Date(row.expiresAt).toISOString(),
    existing: existing
      ? { name: shownName(existing), status: existing.status, lastSeenAt: existing.lastSeenAt }
      : null,
  };
  return c.json(details);
});

/** The pending pairing with this code, or the right error (404, 409 used, 410 expired). */
async function pendingPairing(env: AppEnv["Bindings"], code: string) {
  const row = await database(env.DB).select().from(pairings).where(eq(pairings.code, code)).get();
  if (!row) {
    throw new ApiError(404, "pairing_not_found", `No pairing code ${formatPairingCode(code)}.`);
  }
  if (row.approvedBy) throw used();
  if (row.expiresAt <= Date.now()) throw expired();
  return row;
}

// Approving hands a device credential to whoever started the pairing: a person's act.
pairingRoutes.post("/", requireUser(), personOnly("pairing.approve"), async (c) => {
  const user = c.get("user");
  await rateLimit(
    c.env.DB,
    { key: `pair:approve:${user.id}`, ...APPROVE_LIMIT },
    "pairing approvals",
  );
  const { code, replaceDevice = false } = await readBody(c, ApprovePairing);
  auditNote(c, null, `code ${formatPairingCode(code)}`);
  const db = database(c.env.DB);
  const pending = await pendingPairing(c.env, code);
  refuseTakeover(await existingDevice(c.env, user.id, pending.deviceId), replaceDevice);
  const row = await db
    .update(pairings)
    .set({ approvedBy: user.id, approvedAt: new Date().toISOString(), replaceDevice })
    .where(
      and(
        eq(pairings.id, pending.id),
        isNull(pairings.approvedBy),
        gt(pairings.expiresAt, Date.now()),
      ),
    )
    .returning()
    .get();
  if (!row) throw used();
  log({ event: "pairing.approved", pairingId: row.id, userId: user.id, deviceId: row.deviceId });
  auditNote(c, row.deviceId, `${row.name} (${row.platform})`);
  const approved: PairingApproved = { deviceId: row.deviceId, name: row.name };
  return c.json(approved);
});
