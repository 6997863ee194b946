import { createCipheriv, createDecipheriv, createHmac, hkdfSync } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../fs/writeFileAtomic.ts";
import { z } from "zod/v4";
import { AuthCode, AuthError } from "../errors/SenError.ts";
import { constantTimeEqual, kucoinHmac } from "./kucoinSignature.ts";
import { parseIpAllowList } from "./ipAllowList.ts";
import type { ApiKeyCredentials, ApiKeyOwner, ApiKeyRecord, ApiKeyStore, CreateApiKeyInput, Permission } from "./types.ts";

export type CreateApiKeyStoreParameters = {
  /** JSON file holding the keys; created on first write. */
  file: string;
  /** 32 bytes from the secret store (config/), never from the key file. */
  masterKey: Buffer;
  now: () => number;
  randomBytes: (size: number) => Buffer;
};

/*
 * Storage choices.
 *
 * - The API secret must be recoverable (the server recomputes HMACs with it), so it is stored
 *   encrypted: AES-256-GCM, a fresh random 96-bit IV per key, the 128-bit tag stored beside it,
 *   and the apiKeyId as additional authenticated data so ciphertexts cannot be swapped between
 *   records.
 * - The passphrase is never stored, not even encrypted. A v2 client sends
 *   P = base64(HMAC-SHA256(secret, passphrase)), and HMAC cannot be inverted, so a scrypt hash of
 *   the passphrase itself would be useless for checking P. We store a keyed verifier
 *   V = HMAC-SHA256(Kv, P) and compare HMAC(Kv, header) with V in constant time. P is a 256-bit
 *   pseudorandom value, so a slow hash adds nothing; keying with Kv means the file alone gives no
 *   offline oracle for guessing passphrases, and a leaked secret alone does not reveal P.
 * - Kenc and Kv are derived from the master key with HKDF-SHA256 under distinct labels.
 * - The file is rewritten atomically (temp file, fsync, rename) with mode 0600. Writes are
 *   synchronous: key management is rare, and it keeps writes strictly ordered.
 * - Decrypted secrets are held in memory only (the process already holds the master key); the
 *   file is decrypted once at open so a wrong master key fails fast with AUTH_STORE_CORRUPT.
 */

const PERMISSIONS = ["General", "Trade", "Withdraw"] as const satisfies readonly Permission[];

const createInputSchema = z.object({
  label: z.string().trim().min(1).max(64),
  permissions: z.array(z.enum(PERMISSIONS)).min(1).max(3),
  ipWhitelist: z.array(z.string().min(2).max(64)).max(20).default([]),
  // KuCoin's passphrase rule: 7 to 32 characters.
  passphrase: z.string().min(7).max(32),
});

const encryptedSchema = z.object({ iv: z.base64(), tag: z.base64(), ct: z.base64() });
const recordSchema = z.object({
  apiKeyId: z.string().regex(/^[0-9a-f]{24}$/),
  accountId: z.string(),
  wallet: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  identityHash: z.string().regex(/^0x[0-9a-fA-F]*$/),
  role: z.enum(["trader", "compliance", "operator"]),
  label: z.string(),
  permissions: z.array(z.enum(PERMISSIONS)),
  ipWhitelist: z.array(z.string()),
  createdAt: z.string(),
  revokedAt: z.string().optional(),
  disabledReason: z.string().optional(),
});
const fileSchema = z.object({
  version: z.literal(1),
  keys: z.array(z.object({ record: recordSchema, secret: encryptedSchema, passphraseVerifier: z.base64() })),
  disabledAccounts: z.record(z.string(), z.string()),
});
type StoredFile = z.infer<typeof fileSchema>;
/** One key as stored (file or Redis): its record, the sealed secret and the passphrase verifier. */
export type StoredKey = StoredFile["keys"][number];
type Encrypted = z.infer<typeof encryptedSchema>;
/** Parses a stored key (the Redis store keeps each one as this JSON). */
export const storedKeySchema = fileSchema.shape.keys.element;

/**
 * The secret box and the passphrase verifier, from the master key. Every process holding the
 * same master key derives the same subkeys, so a key sealed by one opens on any other.
 */
export type ApiKeyCrypto = {
  seal(apiKeyId: string, apiSecret: string, iv: Buffer): Encrypted;
  /** Throws AUTH_STORE_CORRUPT when the box does not open (wrong master key, tampering, swapped records). */
  open(apiKeyId: string, box: Encrypted): string;
  verifierOf(passphraseHeader: string): string;
};

export function apiKeyCrypto(masterKey: Buffer): ApiKeyCrypto {
  if (masterKey.length !== 32) throw new AuthError(AuthCode.INVALID_INPUT, "masterKey must be 32 bytes");
  const encKey = Buffer.from(hkdfSync("sha256", masterKey, Buffer.alloc(0), "sen/api-key/secret/v1", 32));
  const verifierKey = Buffer.from(hkdfSync("sha256", masterKey, Buffer.alloc(0), "sen/api-key/passphrase/v1", 32));
  return {
    seal: (apiKeyId, apiSecret, iv) => encrypt(encKey, iv, apiSecret, apiKeyId),
    open: (apiKeyId, box) => decrypt(encKey, box, apiKeyId),
    verifierOf: (header) => createHmac("sha256", verifierKey).update(header, "utf8").digest("base64"),
  };
}

/**
 * The KC-API-PASSPHRASE header last found to match each stored key. A v2 header is
 * HMAC(secret, passphrase): the same on every request of a key, so once one has matched the
 * verifier, a later header matches exactly when it is that text (two headers with one verifier
 * would be an HMAC collision). Comparing against it in constant time spares an HMAC per signed
 * request. Held no longer than the entry, which is replaced whenever the key changes; it is
 * derived from the secret, which sits beside it in memory anyway, and never logged.
 */
const matchedPassphrase = new WeakMap<StoredKey, string>();

/** What request verification needs of a stored key whose secret is already open. */
export function credentialsOf(crypto: ApiKeyCrypto, record: ApiKeyRecord, stored: StoredKey, secret: string): ApiKeyCredentials {
  return {
    record,
    secret,
    passphraseMatches: (header) => {
      const matched = matchedPassphrase.get(stored);
      if (matched !== undefined) return constantTimeEqual(header, matched);
      if (!constantTimeEqual(crypto.verifierOf(header), stored.passphraseVerifier)) return false;
      matchedPassphrase.set(stored, header);
      return true;
    },
  };
}

/**
 * Checks a key request and builds the new key (the secret is returned once, to show the
 * caller). The store checks the account is not disabled and that `apiKeyId` is free.
 */
export function newApiKey(
  owner: ApiKeyOwner,
  input: CreateApiKeyInput,
  deps: { crypto: ApiKeyCrypto; apiKeyId: string; now: () => number; randomBytes: (size: number) => Buffer },
): { record: ApiKeyRecord; stored: StoredKey; apiSecret: string } {
  const parsed = createInputSchema.safeParse(input);
  if (!parsed.success) {
    throw new AuthError(AuthCode.INVALID_INPUT, "Invalid API key parameters", {
      details: { issues: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })) },
    });
  }
  const { label, permissions, ipWhitelist, passphrase } = parsed.data;
  parseIpAllowList(ipWhitelist);
  const { apiKeyId } = deps;
  const apiSecret = uuidV4(deps.randomBytes(16));
  const record = freezeKeyRecord<ApiKeyRecord>({
    apiKeyId,
    accountId: owner.accountId,
    wallet: owner.wallet,
    identityHash: owner.identityHash,
    role: owner.role,
    label,
    permissions: [...new Set(permissions)],
    ipWhitelist,
    createdAt: new Date(deps.now()).toISOString(),
  });
  const stored: StoredKey = {
    record,
    secret: deps.crypto.seal(apiKeyId, apiSecret, deps.randomBytes(12)),
    passphraseVerifier: deps.crypto.verifierOf(kucoinHmac(apiSecret, passphrase)),
  };
  return { record, stored, apiSecret };
}

/** Key creation from an API-key principal is refused: keys cannot mint keys. */
export function assertSessionOwner(owner: ApiKeyOwner): void {
  if (owner.apiKeyId !== undefined) {
    throw new AuthError(AuthCode.PERMISSION_DENIED, "API keys can only be created from a wallet session");
  }
}

export function accountDisabledError(reason: string): AuthError {
  return new AuthError(AuthCode.ACCOUNT_DISABLED, "Account disabled", { details: { reason } });
}

/** Someone else's key is reported as unknown: no oracle for which key ids exist. */
export function unknownKeyError(apiKeyId: string): AuthError {
  return new AuthError(AuthCode.UNKNOWN_KEY, "Unknown API key", { details: { apiKeyId } });
}

/**
 * Creates (or re-opens) the file-backed API-key store.
 *
 * Requirements: `masterKey` is 32 bytes. Throws AUTH_STORE_CORRUPT if the file cannot be parsed
 * or a secret does not decrypt under `masterKey`.
 */
export function createApiKeyStore(parameters: CreateApiKeyStoreParameters): ApiKeyStore {
  const { file, masterKey, now, randomBytes } = parameters;
  const crypto = apiKeyCrypto(masterKey);

  const stored = new Map<string, StoredKey>();
  const records = new Map<string, ApiKeyRecord>();
  const secrets = new Map<string, string>();
  const disabledAccounts = new Map<string, string>();

  const initial = load(file);
  for (const entry of initial.keys) {
    stored.set(entry.record.apiKeyId, entry);
    records.set(entry.record.apiKeyId, freezeKeyRecord(entry.record as ApiKeyRecord));
    secrets.set(entry.record.apiKeyId, crypto.open(entry.record.apiKeyId, entry.secret));
  }
  for (const [accountId, reason] of Object.entries(initial.disabledAccounts)) disabledAccounts.set(accountId, reason);

  function persist(): void {
    const data: StoredFile = {
      version: 1,
      keys: [...stored.values()],
      disabledAccounts: Object.fromEntries(disabledAccounts),
    };
    writeFileAtomic(file, JSON.stringify(data, null, 2) + "\n", randomBytes(6).toString("hex"));
  }

  function update(apiKeyId: string, change: Partial<ApiKeyRecord>): ApiKeyRecord {
    const entry = stored.get(apiKeyId)!;
    const record = freezeKeyRecord({ ...records.get(apiKeyId)!, ...change });
    stored.set(apiKeyId, { ...entry, record });
    records.set(apiKeyId, record);
    return record;
  }

  // Async to match the shared store; everything here is synchronous (writes stay strictly ordered).
  return {
    async create(owner: ApiKeyOwner, input: CreateApiKeyInput) {
      assertSessionOwner(owner);
      const reason = disabledAccounts.get(owner.accountId);
      if (reason !== undefined) throw accountDisabledError(reason);
      let apiKeyId: string;
      do apiKeyId = randomBytes(12).toString("hex");
      while (records.has(apiKeyId));
      const { record, stored: entry, apiSecret } = newApiKey(owner, input, { crypto, apiKeyId, now, randomBytes });
      stored.set(apiKeyId, entry);
      records.set(apiKeyId, record);
      secrets.set(apiKeyId, apiSecret);
      try {
        persist();
      } catch (cause) {
        stored.delete(apiKeyId);
        records.delete(apiKeyId);
        secrets.delete(apiKeyId);
        throw cause;
      }
      return { record, apiSecret };
    },

    async get(apiKeyId) {
      return records.get(apiKeyId);
    },

    async list(accountId) {
      return [...records.values()].filter((r) => r.accountId === accountId);
    },

    async accounts() {
      return [...new Set([...records.values()].map((r) => r.accountId))];
    },

    async revoke(accountId, apiKeyId) {
      const record = records.get(apiKeyId);
      if (record === undefined || record.accountId !== accountId) throw unknownKeyError(apiKeyId);
      if (record.revokedAt !== undefined) return record;
      const revoked = update(apiKeyId, { revokedAt: new Date(now()).toISOString() });
      persist();
      return revoked;
    },

    async disableAccount(accountId, reason) {
      disabledAccounts.set(accountId, reason);
      let count = 0;
      for (const record of records.values()) {
        if (record.accountId === accountId && record.disabledReason === undefined) {
          update(record.apiKeyId, { disabledReason: reason });
          count++;
        }
      }
      persist();
      return count;
    },

    async isAccountDisabled(accountId) {
      return disabledAccounts.get(accountId);
    },

    async credentials(apiKeyId) {
      const entry = stored.get(apiKeyId);
      if (entry === undefined) return undefined;
      return credentialsOf(crypto, records.get(apiKeyId)!, entry, secrets.get(apiKeyId)!);
    },
  };
}

export function freezeKeyRecord<T extends ApiKeyRecord>(record: T): T {
  Object.freeze(record.permissions);
  Object.freeze(record.ipWhitelist);
  return Object.freeze(record);
}

/** RFC 4122 version-4 UUID from 16 random bytes (KuCoin's secret format). */
function uuidV4(bytes: Buffer): string {
  const b = Buffer.from(bytes);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function encrypt(key: Buffer, iv: Buffer, plaintext: string, aad: string): Encrypted {
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(aad, "utf8"));
  const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return { iv: iv.toString("base64"), tag: cipher.getAuthTag().toString("base64"), ct: ct.toString("base64") };
}

function decrypt(key: Buffer, box: Encrypted, aad: string): string {
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(box.iv, "base64"));
    decipher.setAAD(Buffer.from(aad, "utf8"));
    decipher.setAuthTag(Buffer.from(box.tag, "base64"));
    return Buffer.concat([decipher.update(Buffer.from(box.ct, "base64")), decipher.final()]).toString("utf8");
  } catch (cause) {
    throw new AuthError(AuthCode.STORE_CORRUPT, "API key secret does not decrypt (wrong master key or tampered file)", {
      cause,
      details: { apiKeyId: aad },
    });
  }
}

const emptyFile = (): StoredFile => ({ version: 1, keys: [], disabledAccounts: {} });

function load(file: string): StoredFile {
  if (!existsSync(file)) return emptyFile();
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (cause) {
    throw new AuthError(AuthCode.STORE_CORRUPT, "API key file is not valid JSON", { cause, details: { file } });
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    throw new AuthError(AuthCode.STORE_CORRUPT, "API key file has an unexpected shape", {
      cause: parsed.error,
      details: { file },
    });
  }
  return parsed.data;
}

