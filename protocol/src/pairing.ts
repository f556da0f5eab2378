import { z } from "zod";
import { DeviceId, DeviceType, DisplayName } from "./common";

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

export const StartPairing = z.object({
  deviceId: DeviceId,
  name: DisplayName(200),
  platform: DisplayName(100),
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

export const ApprovePairing = z.object({ code: PairingCode });
export type ApprovePairing = z.input<typeof ApprovePairing>;

export const PairingApproved = z.object({ deviceId: DeviceId, name: z.string() });
export type PairingApproved = z.infer<typeof PairingApproved>;

export const PairingPoll = z.discriminatedUnion("state", [
  z.object({ state: z.literal("pending"), expiresAt: z.string() }),
  z.object({ state: z.literal("approved"), credential: z.string(), deviceId: DeviceId }),
]);
export type PairingPoll = z.infer<typeof PairingPoll>;

/** Shows a stored code as `ABCD-EFGH`. */
export const formatPairingCode = (code: string) => `${code.slice(0, 4)}-${code.slice(4)}`;
