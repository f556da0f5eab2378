import { z } from "zod";
import { DeviceId, DeviceStatus, DeviceType, DisplayName, utf8Bytes } from "./common";

// Device credentials and pairing: how an executor gets a secret worth exactly one device.

/** `POST /api/devices/credential` answer: a fresh device credential (rotated at every connect). */
export const DeviceCredential = z.object({
  credential: z.string().startsWith("wdc_"),
  deviceId: DeviceId,
  deviceType: DeviceType,
});
export type DeviceCredential = z.infer<typeof DeviceCredential>;

/** Alphabet of pairing codes: no 0/O/1/I to misread. */
export const PAIRING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
export const PAIRING_TTL_MS = 10 * 60_000;

/** `ABCD-EFGH` (also accepted lower-case, without the dash or with spaces around). */
export const PairingCode = z
  .string()
  .trim()
  .toUpperCase()
  .transform((code) => code.replace(/[\s-]/g, ""))
  .pipe(z.string().regex(/^[A-HJ-NP-Z2-9]{8}$/, "a pairing code is 8 letters and digits"));

/** A display name limited in UTF-8 bytes (at most `bytes`). */
const ShortText = (bytes: number) =>
  DisplayName(bytes).refine((text) => utf8Bytes(text) <= bytes, `at most ${bytes} bytes (UTF-8)`);

export const StartPairing = z.object({
  deviceId: DeviceId,
  name: ShortText(200),
  platform: ShortText(100),
  /** The executor's version (shown to the approver); optional for executors from before it. */
  version: ShortText(64).optional(),
  deviceType: z.literal("local").default("local"),
});
export type StartPairing = z.input<typeof StartPairing>;

export const PairingStarted = z.object({
  pairingId: z.string().uuid(),
  code: z.string(),
  pollSecret: z.string(),
  expiresAt: z.string(),
  approveUrl: z.string(),
});
export type PairingStarted = z.infer<typeof PairingStarted>;

export const ApprovePairing = z.object({
  code: PairingCode,
  /**
   * The approver confirms that this pairing replaces their existing device with the same id
   * (which must be offline): without it such a pairing is refused with 409 `device_exists`.
   */
  replaceDevice: z.boolean().optional(),
});
export type ApprovePairing = z.input<typeof ApprovePairing>;

export const PairingApproved = z.object({ deviceId: DeviceId, name: z.string() });

/**
 * `GET /api/pairings/code/:code` (signed in): what a code would pair, shown before the click.
 * `existing` is the approver's own device with the same id, if any (approving then replaces
 * it, and is only possible while it is offline, with `replaceDevice: true`).
 */
export const PairingDetails = z.object({
  code: z.string(),
  deviceId: DeviceId,
  name: z.string(),
  platform: z.string(),
  version: z.string().nullable(),
  /** Where the pairing was started from (the requesting address), when known. */
  address: z.string().nullable(),
  expiresAt: z.string(),
  existing: z
    .object({
      name: z.string(),
      status: DeviceStatus,
      lastSeenAt: z.string().nullable(),
    })
    .nullable(),
});
export type PairingApproved = z.infer<typeof PairingApproved>;
export type PairingDetails = z.infer<typeof PairingDetails>;

export const PairingPoll = z.discriminatedUnion("state", [
  z.object({ state: z.literal("pending"), expiresAt: z.string() }),
  z.object({ state: z.literal("approved"), credential: z.string(), deviceId: DeviceId }),
]);
export type PairingPoll = z.infer<typeof PairingPoll>;

/** Shows a stored code as `ABCD-EFGH`. */
export const formatPairingCode = (code: string) => `${code.slice(0, 4)}-${code.slice(4)}`;
