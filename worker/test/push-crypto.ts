import { expect } from "vitest";

// The browser's half of Web Push, for tests: a P-256 key pair and auth secret, RFC 8291
// aes128gcm decryption, and the RFC 8292 VAPID check a push service does.

const encoder = new TextEncoder();
const enc = {
  encode: (text: string): Uint8Array<ArrayBuffer> => new Uint8Array(encoder.encode(text)),
};

export function b64url(bytes: ArrayBuffer | Uint8Array): string {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function unb64url(text: string): Uint8Array<ArrayBuffer> {
  const s = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export interface BrowserKeys {
  p256dh: string;
  auth: string;
  privateKey: CryptoKey;
  publicBytes: Uint8Array<ArrayBuffer>;
  authBytes: Uint8Array<ArrayBuffer>;
}

export async function browserKeys(): Promise<BrowserKeys> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
    "deriveBits",
  ])) as CryptoKeyPair;
  const publicBytes = new Uint8Array(
    (await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer,
  );
  const authBytes = crypto.getRandomValues(new Uint8Array(16));
  return {
    p256dh: b64url(publicBytes),
    auth: b64url(authBytes),
    privateKey: pair.privateKey,
    publicBytes,
    authBytes,
  };
}

async function hkdf(
  salt: Uint8Array<ArrayBuffer>,
  ikm: Uint8Array<ArrayBuffer>,
  info: Uint8Array<ArrayBuffer>,
  length: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(
    await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, key, length * 8),
  );
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** RFC 8291 §3.4 / RFC 8188: decrypts one aes128gcm push body with the browser's keys. */
export async function decryptPush(
  keys: BrowserKeys,
  body: Uint8Array<ArrayBuffer>,
): Promise<string> {
  const salt = body.slice(0, 16);
  const idlen = body[20]!;
  const serverPublic = body.slice(21, 21 + idlen);
  const ciphertext = body.slice(21 + idlen);
  const serverKey = await crypto.subtle.importKey(
    "raw",
    serverPublic,
    { name: "ECDH", namedCurve: "P-256" },
    false,
    [],
  );
  const shared = new Uint8Array(
    await crypto.subtle.deriveBits(
      // workerd reads the standard `public` member (workers-types spell it `$public`).
      { name: "ECDH", public: serverKey } as unknown as SubtleCryptoDeriveKeyAlgorithm,
      keys.privateKey,
      256,
    ),
  );
  const keyInfo = concat(enc.encode("WebPush: info\0"), keys.publicBytes, serverPublic);
  const ikm = await hkdf(keys.authBytes, shared, keyInfo, 32);
  const cek = await hkdf(salt, ikm, enc.encode("Content-Encoding: aes128gcm\0"), 16);
  const nonce = await hkdf(salt, ikm, enc.encode("Content-Encoding: nonce\0"), 12);
  const aes = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["decrypt"]);
  const plain = new Uint8Array(
    await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce }, aes, ciphertext),
  );
  // The last record ends with 0x02 then zero padding.
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0) end--;
  expect(plain[end]).toBe(2);
  return new TextDecoder().decode(plain.slice(0, end));
}

/** What a push service checks: `vapid t=<ES256 JWT>, k=<public key>`, for its own origin. */
export async function checkVapid(authorization: string, origin: string, publicKey: string) {
  const m = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+), k=([\w-]+)$/.exec(authorization);
  expect(m, authorization).not.toBeNull();
  const [, jwt, k] = m!;
  expect(k).toBe(publicKey);
  const [h, p, s] = jwt!.split(".") as [string, string, string];
  const key = await crypto.subtle.importKey(
    "raw",
    unb64url(k!),
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["verify"],
  );
  const ok = await crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    key,
    unb64url(s),
    enc.encode(`${h}.${p}`),
  );
  expect(ok, "VAPID JWT signature").toBe(true);
  expect(JSON.parse(new TextDecoder().decode(unb64url(h)))).toMatchObject({ alg: "ES256" });
  const claims = JSON.parse(new TextDecoder().decode(unb64url(p))) as Record<string, unknown>;
  expect(claims.aud).toBe(origin);
  expect(typeof claims.sub).toBe("string");
  const exp = Number(claims.exp);
  expect(exp * 1000).toBeGreaterThan(Date.now());
  expect(exp * 1000).toBeLessThanOrEqual(Date.now() + 24 * 3600 * 1000);
}
