import { describe, expect, it } from "vitest";
import { hashPassword, hashPasswordPbkdf2, needsRehash, verifyPassword } from "../auth/crypto";

describe("password hashing", () => {
  it("hashes with argon2id at OWASP parameters and verifies, multi-byte included", async () => {
    const started = performance.now();
    const hash = await hashPassword("pässwörd ✓ 🔐");
    const ms = performance.now() - started;
    console.log(`argon2id hash: ${ms.toFixed(0)} ms`);
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(needsRehash(hash)).toBe(false);
    expect(await verifyPassword("pässwörd ✓ 🔐", hash)).toBe(true);
    expect(await verifyPassword("pässwörd ✓ 🔑", hash)).toBe(false);
    // The library's own length bug would make these two collide without our encoding.
    const accented = await hashPassword("ééééé");
    expect(await verifyPassword("éééé", accented)).toBe(false);
  });

  it("still verifies old PBKDF2 hashes and marks them for upgrade", async () => {
    const old = await hashPasswordPbkdf2("correct horse battery");
    expect(needsRehash(old)).toBe(true);
    expect(await verifyPassword("correct horse battery", old)).toBe(true);
    expect(await verifyPassword("wrong horse battery", old)).toBe(false);
  });
});
