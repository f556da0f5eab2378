/**
 * WebSocket close codes the platform uses. A reconnecting client reads them to tell
 * "stop, the user must act" from "network blip, try again".
 */
export const CloseCode = {
  /** The executor said goodbye (graceful stop). */
  goodbye: 4000,
  /** The token is not valid (bad signature, unknown). Stop: re-authenticate. */
  unauthorized: 4001,
  /** The token was revoked. Stop: generate a new token. */
  tokenRevoked: 4002,
  /** The token expired. Stop: generate a new token. */
  tokenExpired: 4003,
  /** The user removed this device. Stop: do not re-register. */
  deviceRemoved: 4004,
  /** Another connection with the same device id took over. Stop. */
  replaced: 4009,
  /** Too many malformed frames. Reconnect after backoff. */
  protocolAbuse: 4008,
  /** No ping within the timeout: the hub declared the socket lost. Reconnect. */
  pingTimeout: 4010,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Close codes after which a client must not reconnect on its own. */
export const TERMINAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.unauthorized,
  CloseCode.tokenRevoked,
  CloseCode.tokenExpired,
  CloseCode.deviceRemoved,
  CloseCode.replaced,
]);
