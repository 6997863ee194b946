import type { Redis } from "ioredis";
import { AuthCode, AuthError } from "../errors/SenError.ts";
import { hashToken, type SessionStore, type SessionsEnded } from "./sessionStore.ts";
import { shared } from "./sharedStateError.ts";
import type { Principal } from "./types.ts";

export type RedisSessionStoreOptions = {
  redis: Redis;
  now: () => number;
  randomBytes: (size: number) => Buffer;
  /** Session lifetime; default 12 h (as the in-memory store). */
  ttlMs?: number;
  prefix?: string;
  /** As in the in-memory store: told the ended sessions before a revocation resolves. */
  onEnded?: SessionsEnded;
};

// KEYS[1]: the account's set of session hashes. ARGV[1]: the session key prefix. Returns the
// count of live sessions ended and every hash the set held (an expired session's grants, such
// as a websocket token taken just before it expired, end too).
const REVOKE_ALL = `
local n = 0
local hashes = redis.call('SMEMBERS', KEYS[1])
for _, h in ipairs(hashes) do
  n = n + redis.call('DEL', ARGV[1] .. h)
end
redis.call('DEL', KEYS[1])
return {n, hashes}
`;

// KEYS[1]: the session. ARGV[1]: the account set prefix, ARGV[2]: the session's hash. The
// session is read for its account, so that sign-out also takes it out of the account's set.
const REVOKE_ONE = `
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
redis.call('DEL', KEYS[1])
redis.call('SREM', ARGV[1] .. cjson.decode(raw).p.accountId, ARGV[2])
return raw
`;

/**
 * Sessions shared by every edge: a session opened at one edge is valid at all of them, and
 * "log out everywhere" (revokeSessions) ends them on all of them at once. As in the in-memory
 * store only SHA-256(token) is kept (a dump of Redis gives no usable token). Each session is
 * one key with the session's life as its PX; the account's set of hashes lets revokeSessions
 * delete them in one atomic script. The stored expiry is also checked against this process's
 * clock, so a session never outlives its stated expiresAt.
 */
export function createRedisSessionStore(options: RedisSessionStoreOptions): SessionStore {
  const { redis, now, randomBytes, ttlMs = 12 * 60 * 60 * 1000, prefix = "sen:", onEnded } = options;
  const sessionKey = (hash: string) => `${prefix}session:${hash}`;
  const accountKey = (accountId: string) => `${prefix}sessions:${accountId}`;

  return {
    async issue(principal) {
      const t = now();
      const token = randomBytes(32).toString("base64url");
      const hash = hashToken(token);
      const expiresAt = t + ttlMs;
      const frozen = Object.freeze({ ...principal, permissions: Object.freeze([...principal.permissions]) });
      await shared("session", () =>
        redis
          .multi()
          .set(sessionKey(hash), JSON.stringify({ p: frozen, e: expiresAt }), "PX", ttlMs)
          .sadd(accountKey(principal.accountId), hash)
          // Every session lives ttlMs, so the set may go when its newest session does.
          .pexpire(accountKey(principal.accountId), ttlMs)
          .exec()
          .then(failedStep),
      );
      return { token, principal: frozen, expiresAt: new Date(expiresAt).toISOString() };
    },

    async sessionFromToken(token) {
      const raw = await shared("session", () => redis.get(sessionKey(hashToken(token))));
      if (raw === null) throw new AuthError(AuthCode.BAD_SESSION, "Unknown or revoked session");
      const entry = JSON.parse(raw) as { p: Principal; e: number };
      if (entry.e <= now()) throw new AuthError(AuthCode.BAD_SESSION, "Session expired");
      return Object.freeze({ ...entry.p, permissions: Object.freeze([...entry.p.permissions]) });
    },

    // What a session authorised (websocket tokens, sockets) is voided before the session is
    // deleted: a failure between the two steps leaves the session live, so the caller's retry
    // voids and deletes again, instead of finding no session and leaving the tokens and sockets
    // open. And again after: a token minted meanwhile passed the bullet route's check that its
    // session is live (routes/bullet.ts), and is voided with the rest.
    async revokeSession(token) {
      const hash = hashToken(token);
      const before = await shared("session", () => redis.get(sessionKey(hash)));
      if (before === null) return false;
      const accountId = (JSON.parse(before) as { p: Principal }).p.accountId;
      await onEnded?.(accountId, [hash]);
      const raw = await shared("session", () => redis.eval(REVOKE_ONE, 1, sessionKey(hash), `${prefix}sessions:`, hash));
      if (typeof raw !== "string") return false;
      await onEnded?.(accountId, [hash]);
      return (JSON.parse(raw) as { e: number }).e > now();
    },

    async revokeSessions(accountId) {
      const before = await shared("session", () => redis.smembers(accountKey(accountId)));
      if (before.length > 0) await onEnded?.(accountId, before);
      const [n, hashes] = (await shared("session", () => redis.eval(REVOKE_ALL, 1, accountKey(accountId), `${prefix}session:`))) as [number, string[]];
      if (hashes.length > 0) await onEnded?.(accountId, hashes);
      return Number(n);
    },
  };
}

/** MULTI replies carry each command's own error; any of them fails the whole operation. */
export function failedStep(replies: [Error | null, unknown][] | null): void {
  if (replies === null) throw new AuthError(AuthCode.SHARED_STATE_UNAVAILABLE, "the shared store aborted a transaction (sessions)");
  for (const [err] of replies) if (err) throw err;
}
