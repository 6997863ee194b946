/**
 * Personal data at rest (Decree 13/2023): AES-256-GCM with a random 96-bit IV per record and
 * the record id as associated data, so a ciphertext copied onto another record fails to open.
 * Keys come from configuration as `kid:hex64` entries; the first encrypts, all decrypt, which
 * is what lets old records be re-encrypted (`reencrypt`) before an old key is dropped.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { IssuerError, ISSUER_ERROR } from "./errors.ts";

const IV_BYTES = 12;
const TAG_BYTES = 16;

export type Sealed = { kid: string; blob: Uint8Array };

export type PiiVault = {
  readonly currentKid: string;
  encrypt(recordId: string, json: unknown): Sealed;
  decrypt(recordId: string, kid: string, blob: Uint8Array): unknown;
  /** The same plaintext under the current key (unchanged kid and a fresh IV when already current). */
  reencrypt(recordId: string, kid: string, blob: Uint8Array): Sealed;
};

/** Parses `kid:hex64` entries (an array or one comma-separated string); the first is current. */
export function parsePiiKeys(config: string | readonly string[]): Map<string, Buffer> {
  const entries = (typeof config === "string" ? config.split(",") : [...config]).map((e) => e.trim()).filter((e) => e !== "");
  if (entries.length === 0) throw new IssuerError(ISSUER_ERROR.CONFIG, "piiKeys", "piiKeys: at least one kid:hex64 key is required");
  const keys = new Map<string, Buffer>();
  for (const entry of entries) {
    const m = /^([A-Za-z0-9_.-]{1,32}):(?:0x)?([0-9a-fA-F]{64})$/.exec(entry);
    // The message shows the position, not the entry: it holds a key.
    if (!m) throw new IssuerError(ISSUER_ERROR.CONFIG, "piiKeys", `piiKeys: entry ${keys.size + 1} is not kid:hex64 (kid of letters, digits, _ . -; 32-byte key)`);
    if (keys.has(m[1])) throw new IssuerError(ISSUER_ERROR.CONFIG, "piiKeys", `piiKeys: key id ${m[1]} appears twice`);
    keys.set(m[1], Buffer.from(m[2], "hex"));
  }
  return keys;
}

export function createPiiVault(config: string | readonly string[]): PiiVault {
  const keys = parsePiiKeys(config);
  const currentKid = keys.keys().next().value as string;

  function keyOf(kid: string): Buffer {
    const key = keys.get(kid);
    if (!key) throw new IssuerError(ISSUER_ERROR.PII_KEY_UNKNOWN, "piiKeys", `piiKeys: no key with id ${JSON.stringify(kid)} is configured; add it (after the current one) to read this record`);
    return key;
  }

  function encrypt(recordId: string, json: unknown): Sealed {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", keyOf(currentKid), iv);
    cipher.setAAD(Buffer.from(recordId, "utf8"));
    const body = Buffer.concat([cipher.update(JSON.stringify(json), "utf8"), cipher.final()]);
    return { kid: currentKid, blob: new Uint8Array(Buffer.concat([iv, cipher.getAuthTag(), body])) };
  }

  function decrypt(recordId: string, kid: string, blob: Uint8Array): unknown {
    const key = keyOf(kid);
    const buf = Buffer.from(blob);
    if (buf.length < IV_BYTES + TAG_BYTES) throw new IssuerError(ISSUER_ERROR.PII_CORRUPT, undefined, "personal data record is truncated");
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, buf.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(recordId, "utf8"));
      decipher.setAuthTag(buf.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      const plain = Buffer.concat([decipher.update(buf.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
      return JSON.parse(plain.toString("utf8"));
    } catch (cause) {
      throw new IssuerError(ISSUER_ERROR.PII_CORRUPT, undefined, "personal data record failed authentication (tampered, moved to another record, or the wrong key)", { cause });
    }
  }

  return {
    currentKid,
    encrypt,
    decrypt,
    reencrypt: (recordId, kid, blob) => encrypt(recordId, decrypt(recordId, kid, blob)),
  };
}
