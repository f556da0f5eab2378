import Argon2, { Argon2Type, Argon2Version } from "@phi-ag/argon2";
// Workers may not compile WebAssembly from bytes at run time: the module is imported, so the
// bundler (wrangler, and the vitest pool) hands it over already compiled.
import argon2Wasm from "@phi-ag/argon2/argon2.wasm";

// OWASP password storage cheat sheet: argon2id, m = 19 MiB, t = 2, p = 1.
export const ARGON2_PARAMS = { memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 } as const;

let instance: Argon2 | null = null;

function argon2(): Argon2 {
  instance ??= new Argon2(new WebAssembly.Instance(argon2Wasm as WebAssembly.Module, {}));
  return instance;
}

/**
 * The library passes `password.length` (UTF-16 units) as the byte length of the UTF-8 it
 * copies, which would cut multi-byte passwords short. We hand it base64url of the UTF-8 bytes
 * instead: ASCII only, so length and bytes agree, and nothing of the password is lost.
 */
function asciiOf(password: string): string {
  const bytes = new TextEncoder().encode(password);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function argon2idHash(password: string): string {
  return argon2().hash(asciiOf(password), {
    ...ARGON2_PARAMS,
    hashLength: 32,
    type: Argon2Type.Argon2id,
    version: Argon2Version.Version13,
  }).encoded;
}

export function argon2idVerify(password: string, encoded: string): boolean {
  return argon2().tryVerify(encoded, asciiOf(password), Argon2Type.Argon2id).success;
}
