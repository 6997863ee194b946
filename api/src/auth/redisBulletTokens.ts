import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { shared } from "./sharedStateError.ts";
import type { Principal } from "./types.ts";
import { bulletOwner, type BulletRevocation, type BulletTokenOptions, type BulletTokenStore } from "./bulletTokens.ts";

export type RedisBulletTokensOptions = BulletTokenOptions & {
  redis: Redis;
  now: () => number;
  prefix?: string;
  /** Names this process in its broadcasts (its own revocations are not delivered to it twice). */
  nodeId: string;
  /** The revocation feed could not be read (it is retried from where it stopped). */
  onError?: (err: unknown) => void;
};

export type RedisBulletTokens = BulletTokenStore & {
  /** Stops following revocations and closes the feed's connection. */
  close(): Promise<void>;
};

// KEYS: token key, owner's zset, the zset of its class (public or private tokens). ARGV: value,
// now, expiresAt, maxPerOwner, the class's cap, ttlMs, token, token key prefix. Returns 1 when
// issued, 0 when the class is full.
const ISSUE = `
local now = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. now)
while redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) do
  local oldest = redis.call('ZPOPMIN', KEYS[2])
  redis.call('DEL', ARGV[8] .. oldest[1])
  redis.call('ZREM', KEYS[3], oldest[1])
end
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[5]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[7])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[7])
redis.call('PEXPIRE', KEYS[3], ARGV[6])
return 1
`;

// KEYS: the account's zset, the private tokens' zset, revocation stream. ARGV: what goes ('all',
// 'key' or 'sessions'), token key prefix, the broadcast message, the apiKeyId, then the session
// ids. Deletes and announces in one step, so a revocation that voided tokens is always announced
// to the other processes.
const REVOKE = `
local sessions = {}
for i = 5, #ARGV do sessions[ARGV[i]] = true end
for _, t in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local raw = redis.call('GET', ARGV[2] .. t)
  local drop = ARGV[1] == 'all' or not raw
  if not drop then
    local v = cjson.decode(raw)
    if ARGV[1] == 'key' then
      drop = type(v.p) == 'table' and v.p.apiKeyId == ARGV[4]
    else
      drop = type(v.s) == 'string' and sessions[v.s] == true
    end
  end
  if drop then
    redis.call('DEL', ARGV[2] .. t)
    redis.call('ZREM', KEYS[1], t)
    redis.call('ZREM', KEYS[2], t)
  end
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', 10000, '*', 'm', ARGV[3])
return 1
`;

const BLOCK_MS = 1_000;

/**
 * Websocket tokens shared by every edge: a token taken at one edge opens a socket at any of
 * them, and revoking an account (or one API key) closes its sockets on every edge. Tokens are
 * keys with the token's life as PX; each owner's tokens are a sorted set (score = expiry) so
 * the per-owner cap drops the oldest, and one sorted set per class (public, private) enforces
 * that class's cap: public tokens, which anyone can ask for, never take the traders' room.
 *
 * Revocations are broadcast on a Redis stream rather than pub/sub: every process reads it
 * with XREAD BLOCK from the last entry it saw, so a process whose connection dropped for a
 * while catches up on the revocations it missed instead of leaving those sockets open
 * (pub/sub forgets messages sent while a subscriber is away). The revoking process calls its
 * own listeners at once and skips its own entries in the feed.
 */
/** Resolves once revocations from other processes are followed (from the feed's end at that moment). */
export async function createRedisBulletTokens(options: RedisBulletTokensOptions): Promise<RedisBulletTokens> {
  const { redis, now, prefix = "sen:", nodeId, onError } = options;
  const ttlMs = options.ttlMs ?? 10 * 60_000;
  const maxPerOwner = options.maxPerOwner ?? 100;
  const maxPrivate = options.maxPrivate ?? 200_000;
  const maxPublic = options.maxPublic ?? 100_000;
  const tokenPrefix = `${prefix}bullet:`;
  const ownerKey = (owner: string) => `${prefix}bullets:${owner}`;
  const privateKey = `${prefix}bullets-private`;
  const publicKey = `${prefix}bullets-public`;
  const feed = `${prefix}bullets-revoked`;
  const listeners = new Set<(r: BulletRevocation) => void>();
  const notify = (r: BulletRevocation) => {
    for (const l of listeners) l(r);
  };

  // The feed blocks its connection: a connection of its own, with room for the BLOCK.
  const reader = redis.duplicate({ commandTimeout: BLOCK_MS + 4_000 });
  reader.on("error", () => {}); // reported by the loop below when a read fails
  let closed = false;
  let lastId: string;
  try {
    // From the feed's current end: revocations before this process existed concern no socket of it.
    const top = await shared("websocket tokens", () => reader.xrevrange(feed, "+", "-", "COUNT", 1));
    lastId = top[0]?.[0] ?? "0-0";
  } catch (err) {
    reader.disconnect();
    throw err;
  }
  const loop = (async () => {
    while (!closed) {
      try {
        const reply = await reader.xread("BLOCK", BLOCK_MS, "STREAMS", feed, lastId);
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) {
            lastId = id;
            const message = JSON.parse(fields[fields.indexOf("m") + 1]) as { from: string; r: BulletRevocation };
            if (message.from !== nodeId) notify(message.r);
          }
        }
      } catch (err) {
        if (closed) break;
        onError?.(err);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  })();

  const revoke = async (r: BulletRevocation) => {
    const message = JSON.stringify({ from: nodeId, r });
    const what = r.apiKeyId !== undefined ? "key" : r.sessionIds !== undefined ? "sessions" : "all";
    await shared("websocket tokens", () => redis.eval(REVOKE, 3, ownerKey(`account:${r.accountId}`), privateKey, feed, what, tokenPrefix, message, r.apiKeyId ?? "", ...(r.sessionIds ?? [])));
    notify(r);
  };

  return {
    async issue(principal: Principal | null, ip: string, sessionId?: string) {
      const t = now();
      const owner = bulletOwner(principal, ip);
      const token = randomBytes(24).toString("base64url");
      const expiresAt = t + ttlMs;
      const value = JSON.stringify({ p: principal, e: expiresAt, s: principal ? sessionId : undefined });
      const ok = await shared("websocket tokens", () =>
        redis.eval(ISSUE, 3, tokenPrefix + token, ownerKey(owner), principal ? privateKey : publicKey, value, t, expiresAt, maxPerOwner, principal ? maxPrivate : maxPublic, ttlMs, token, tokenPrefix),
      );
      return ok === 1 ? token : null;
    },
    async resolve(token) {
      const raw = await shared("websocket tokens", () => redis.get(tokenPrefix + token));
      if (raw === null) return undefined;
      const v = JSON.parse(raw) as { p: Principal | null; e: number; s?: string };
      if (v.e < now()) return undefined;
      return v.s === undefined ? { principal: v.p } : { principal: v.p, sessionId: v.s };
    },
    revoke,
    revokeAccount: (accountId) => revoke({ accountId }),
    onRevoke(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      reader.disconnect();
      await loop;
    },
  };
}
