import { createHash } from "node:crypto";
import { AuthCode, AuthError } from "../errors/SenError.ts";
import type { Principal, Session } from "./types.ts";

/** Sessions as the routes see them: in memory (one process) or in Redis (redisSessionStore.ts, every edge). */
export type SessionStore = {
  issue(principal: Principal): Promise<Session>;
  /** The Principal of a live session; rejects with AuthError AUTH_BAD_SESSION. */
  sessionFromToken(token: string): Promise<Principal>;
  /**
   * Ends every session of the account (logout everywhere, identity revoked). Resolves to the
   * count, once `onEnded` (if any) is done with them.
   */
  revokeSessions(accountId: string): Promise<number>;
  /** Ends the one session of `token` (sign-out). Resolves to whether it was live, once `onEnded` (if any) is done with it. */
  revokeSession(token: string): Promise<boolean>;
};

/**
 * Told which sessions a revocation ended, by account and sessionIdOf(token), before the revocation
 * resolves: what the sessions authorised (websocket tokens and sockets) ends with them, whoever
 * ended them. A rejection rejects the revocation (the sessions are already gone then).
 */
export type SessionsEnded = (accountId: string, sessionIds: string[]) => Promise<void>;

export type CreateSessionStoreParameters = {
  now: () => number;
  randomBytes: (size: number) => Buffer;
  /** Session lifetime; default 12 h. */
  ttlMs?: number;
  onEnded?: SessionsEnded;
};

export const hashToken = (token: string) => createHash("sha256").update(token, "utf8").digest("base64url");

/**
 * A session's id, for what was granted under it (a websocket token): the SHA-256 the stores key
 * it by, so a revocation can name its sessions without holding their tokens.
 */
export const sessionIdOf = hashToken;

/**
 * In-memory session store. Only SHA-256(token) is kept, so a memory or log dump of the store
 * cannot be replayed as a bearer token. A 256-bit random token needs no slow hash or salt.
 * Expiry is issue time + a constant TTL, so insertion order is expiry order and pruning on
 * issue is amortised O(1). Sessions do not survive a restart (users sign in again).
 */
export function createSessionStore(parameters: CreateSessionStoreParameters): SessionStore & { readonly size: number } {
  const { now, randomBytes, ttlMs = 12 * 60 * 60 * 1000, onEnded } = parameters;
  const byHash = new Map<string, { principal: Principal; expiresAt: number }>();
  const byAccount = new Map<string, Set<string>>();
  const order: { hash: string; expiresAt: number }[] = [];
  let head = 0;

  function drop(hash: string): void {
    const entry = byHash.get(hash);
    if (entry === undefined) return;
    byHash.delete(hash);
    const set = byAccount.get(entry.principal.accountId);
    set?.delete(hash);
    if (set?.size === 0) byAccount.delete(entry.principal.accountId);
  }

  function prune(t: number): void {
    while (head < order.length && order[head].expiresAt <= t) drop(order[head++].hash);
    if (head > 1024 && head * 2 > order.length) {
      order.splice(0, head);
      head = 0;
    }
  }

  return {
    async issue(principal) {
      const t = now();
      prune(t);
      const token = randomBytes(32).toString("base64url");
      const hash = hashToken(token);
      const expiresAt = t + ttlMs;
      const frozen = Object.freeze({ ...principal, permissions: Object.freeze([...principal.permissions]) });
      byHash.set(hash, { principal: frozen, expiresAt });
      let set = byAccount.get(principal.accountId);
      if (set === undefined) byAccount.set(principal.accountId, (set = new Set()));
      set.add(hash);
      order.push({ hash, expiresAt });
      return { token, principal: frozen, expiresAt: new Date(expiresAt).toISOString() };
    },

    async sessionFromToken(token) {
      const hash = hashToken(token);
      const entry = byHash.get(hash);
      if (entry === undefined) throw new AuthError(AuthCode.BAD_SESSION, "Unknown or revoked session");
      if (entry.expiresAt <= now()) {
        drop(hash);
        throw new AuthError(AuthCode.BAD_SESSION, "Session expired");
      }
      return entry.principal;
    },

    async revokeSession(token) {
      const hash = hashToken(token);
      const entry = byHash.get(hash);
      if (entry === undefined) return false;
      drop(hash);
      await onEnded?.(entry.principal.accountId, [hash]);
      return entry.expiresAt > now();
    },

    async revokeSessions(accountId) {
      const set = byAccount.get(accountId);
      if (set === undefined) return 0;
      const hashes = [...set];
      for (const hash of hashes) drop(hash);
      await onEnded?.(accountId, hashes);
      return hashes.length;
    },

    get size() {
      return byHash.size;
    },
  };
}
