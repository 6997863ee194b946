import type { Redis } from "ioredis";
import { AuthCode, AuthError } from "../errors/SenError.ts";
import {
  accountDisabledError,
  apiKeyCrypto,
  assertSessionOwner,
  credentialsOf,
  freezeKeyRecord,
  newApiKey,
  storedKeySchema,
  unknownKeyError,
  type StoredKey,
} from "./apiKeyStore.ts";
import { shared } from "./sharedStateError.ts";
import type { ApiKeyCredentials, ApiKeyRecord, ApiKeyStore } from "./types.ts";

export type RedisApiKeyStoreOptions = {
  redis: Redis;
  /** The same 32 bytes on every process (SEN_MASTER_KEY): a key sealed at one edge opens at the others. */
  masterKey: Buffer;
  now: () => number;
  randomBytes: (size: number) => Buffer;
  prefix?: string;
  /** Opened secrets kept in memory (default 10,000 keys). */
  cacheSize?: number;
};

/*
 * Layout (prefix "sen:"):
 *   apikey:<id>          hash: doc (the StoredKey JSON as created: record, sealed secret,
 *                        passphrase verifier; never changes), account, and, once set,
 *                        revokedAt and disabledReason (the only fields that change)
 *   apikeys:<accountId>  set of the account's key ids
 *   apikey-accounts      set of every account that holds or held a key
 *   apikey-disabled      hash accountId -> reason
 * Secrets are sealed exactly as in the file store (apiKeyStore.ts: AES-256-GCM under an HKDF
 * subkey of the master key, apiKeyId as AAD); the passphrase is never stored, only its keyed
 * verifier. Creation, revocation and disabling are Lua scripts, so a key created at one edge
 * while its account is disabled at another cannot slip between the check and the write.
 * Scripts touch keys they derive from the prefix: one Redis (or one hash slot), not a cluster.
 */

// KEYS: key hash, account set, accounts set, disabled hash. ARGV: accountId, doc, apiKeyId.
const CREATE = `
local reason = redis.call('HGET', KEYS[4], ARGV[1])
if reason then return {'disabled', reason} end
if redis.call('EXISTS', KEYS[1]) == 1 then return {'taken'} end
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'account', ARGV[1])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[1])
return {'ok'}
`;

// KEYS: key hash. ARGV: accountId, revokedAt. Nil for an unknown key or someone else's.
const REVOKE = `
if redis.call('HGET', KEYS[1], 'account') ~= ARGV[1] then return nil end
redis.call('HSETNX', KEYS[1], 'revokedAt', ARGV[2])
return redis.call('HGETALL', KEYS[1])
`;

// KEYS: disabled hash, account set. ARGV: accountId, reason, key prefix.
const DISABLE = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local n = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  n = n + redis.call('HSETNX', ARGV[3] .. id, 'disabledReason', ARGV[2])
end
return n
`;

type Opened = { doc: string; stored: StoredKey; secret: string };

export function createRedisApiKeyStore(options: RedisApiKeyStoreOptions): ApiKeyStore {
  const { redis, now, randomBytes, prefix = "sen:", cacheSize = 10_000 } = options;
  const crypto = apiKeyCrypto(options.masterKey);
  const keyOf = (apiKeyId: string) => `${prefix}apikey:${apiKeyId}`;
  const accountSet = (accountId: string) => `${prefix}apikeys:${accountId}`;
  const accountsSet = `${prefix}apikey-accounts`;
  const disabledHash = `${prefix}apikey-disabled`;
  // The doc of a key never changes, so its parsed form and opened secret can be kept: a signed
  // request then costs one HGETALL and no decryption.
  const opened = new Map<string, Opened>();

  function open(apiKeyId: string, doc: string): Opened {
    const hit = opened.get(apiKeyId);
    if (hit !== undefined && hit.doc === doc) return hit;
    let json: unknown;
    try {
      json = JSON.parse(doc);
    } catch (cause) {
      throw new AuthError(AuthCode.STORE_CORRUPT, "API key record in Redis is not valid JSON", { cause, details: { apiKeyId } });
    }
    const parsed = storedKeySchema.safeParse(json);
    if (!parsed.success || parsed.data.record.apiKeyId !== apiKeyId) {
      throw new AuthError(AuthCode.STORE_CORRUPT, "API key record in Redis has an unexpected shape", { details: { apiKeyId } });
    }
    const entry: Opened = { doc, stored: parsed.data, secret: crypto.open(apiKeyId, parsed.data.secret) };
    if (opened.size >= cacheSize) opened.delete(opened.keys().next().value!);
    opened.set(apiKeyId, entry);
    return entry;
  }

  /** The record as stored plus the fields that change, or undefined for a missing key. */
  function recordOf(apiKeyId: string, hash: Record<string, string>): { record: ApiKeyRecord; entry: Opened } | undefined {
    if (hash.doc === undefined) return undefined;
    const entry = open(apiKeyId, hash.doc);
    const record: ApiKeyRecord = { ...(entry.stored.record as ApiKeyRecord), permissions: [...entry.stored.record.permissions], ipWhitelist: [...entry.stored.record.ipWhitelist] };
    if (hash.revokedAt !== undefined) record.revokedAt = hash.revokedAt;
    if (hash.disabledReason !== undefined) record.disabledReason = hash.disabledReason;
    return { record: freezeKeyRecord(record), entry };
  }

  const hashOf = (flat: string[]): Record<string, string> => {
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]] = flat[i + 1];
    return out;
  };

  return {
    async create(owner, input) {
      assertSessionOwner(owner);
      const early = await shared("API keys", () => redis.hget(disabledHash, owner.accountId));
      if (early !== null) throw accountDisabledError(early);
      for (;;) {
        const apiKeyId = randomBytes(12).toString("hex");
        const { record, stored, apiSecret } = newApiKey(owner, input, { crypto, apiKeyId, now, randomBytes });
        const doc = JSON.stringify(stored);
        const reply = (await shared("API keys", () => redis.eval(CREATE, 4, keyOf(apiKeyId), accountSet(owner.accountId), accountsSet, disabledHash, owner.accountId, doc, apiKeyId))) as string[];
        if (reply[0] === "disabled") throw accountDisabledError(reply[1]);
        if (reply[0] === "taken") continue; // 96 random bits: practically never
        return { record, apiSecret };
      }
    },

    async get(apiKeyId) {
      const hash = await shared("API keys", () => redis.hgetall(keyOf(apiKeyId)));
      return recordOf(apiKeyId, hash)?.record;
    },

    async list(accountId) {
      const ids = await shared("API keys", () => redis.smembers(accountSet(accountId)));
      if (ids.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hgetall(keyOf(id));
      const replies = await shared("API keys", async () => (await pipeline.exec()) ?? []);
      const records: ApiKeyRecord[] = [];
      replies.forEach(([err, hash], i) => {
        if (err) throw new AuthError(AuthCode.SHARED_STATE_UNAVAILABLE, "the shared store did not answer (API keys)", { cause: err });
        const r = recordOf(ids[i], hash as Record<string, string>);
        if (r) records.push(r.record);
      });
      // Creation order, as the file store lists them.
      return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.apiKeyId.localeCompare(b.apiKeyId));
    },

    async accounts() {
      return shared("API keys", () => redis.smembers(accountsSet));
    },

    async revoke(accountId, apiKeyId) {
      const reply = (await shared("API keys", () => redis.eval(REVOKE, 1, keyOf(apiKeyId), accountId, new Date(now()).toISOString()))) as string[] | null;
      const r = reply === null ? undefined : recordOf(apiKeyId, hashOf(reply));
      if (r === undefined) throw unknownKeyError(apiKeyId);
      return r.record;
    },

    async disableAccount(accountId, reason) {
      return Number(await shared("API keys", () => redis.eval(DISABLE, 2, disabledHash, accountSet(accountId), accountId, reason, `${prefix}apikey:`)));
    },

    async isAccountDisabled(accountId) {
      return (await shared("API keys", () => redis.hget(disabledHash, accountId))) ?? undefined;
    },

    async credentials(apiKeyId): Promise<ApiKeyCredentials | undefined> {
      const hash = await shared("API keys", () => redis.hgetall(keyOf(apiKeyId)));
      const r = recordOf(apiKeyId, hash);
      return r && credentialsOf(crypto, r.record, r.entry.stored, r.entry.secret);
    },
  };
}
