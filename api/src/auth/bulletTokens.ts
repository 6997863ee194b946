import { randomBytes } from "node:crypto";
import { ipLimitKey } from "./ipLimitKey.ts";
import type { Principal } from "./types.ts";

export type BulletTokenOptions = {
  /** How long a token may be used to connect (an open connection is not cut when it expires). */
  ttlMs?: number;
  /** Live tokens per owner (client IP, an IPv6 client by its /64, for public tokens; account for private ones); the oldest goes first. */
  maxPerOwner?: number;
  /** Live private tokens (signed-in traders) in all; past it new ones are refused (the caller answers 429). */
  maxPrivate?: number;
  /**
   * Live public tokens in all, a room of their own: anyone can ask for public tokens from as
   * many addresses as they hold, so were the rooms shared, filling it would refuse every
   * trader's private socket too.
   */
  maxPublic?: number;
};

/** Whose room a token takes: the per-owner and total caps of public and private tokens are kept apart. */
export function bulletOwner(principal: Principal | null, ip: string): string {
  return principal ? `account:${principal.accountId}` : `ip:${ipLimitKey(ip)}`;
}

/**
 * What was revoked: every token and socket of an account, or those opened with one API key, or
 * those minted under the named sessions (signed out: `sessionIds` are sessionIdOf(token) of
 * sessionStore.ts). A revocation names one of apiKeyId and sessionIds at most.
 */
export type BulletRevocation = { accountId: string; apiKeyId?: string; sessionIds?: readonly string[] };

/**
 * The sessions' hook (SessionsEnded of sessionStore.ts) that voids the websocket tokens minted
 * under ended sessions and closes their sockets, on every process sharing `bullets`.
 */
export function endSessionBullets(bullets: Pick<BulletTokenStore, "revoke">): (accountId: string, sessionIds: string[]) => Promise<void> {
  return (accountId, sessionIds) => bullets.revoke({ accountId, sessionIds });
}

/** Whether a token or socket of `principal`, minted under session `sessionId` (if any), falls under `r`. */
export function revocationCovers(r: BulletRevocation, principal: Principal | null, sessionId: string | undefined): boolean {
  if (principal === null || principal.accountId !== r.accountId) return false;
  if (r.apiKeyId !== undefined) return principal.apiKeyId === r.apiKeyId;
  if (r.sessionIds !== undefined) return sessionId !== undefined && r.sessionIds.includes(sessionId);
  return true;
}

/**
 * Websocket tokens as the bullet routes and the websocket gateway see them: this in-memory
 * table (one process) or redisBulletTokens.ts (every edge; revocations reach every edge's sockets).
 */
export interface BulletTokenStore {
  /**
   * A new token, or null when the table is full (refuse the request, retry later). `sessionId`:
   * the session the request came with (none for an API key), so that its sign-out voids the token.
   */
  issue(principal: Principal | null, ip: string, sessionId?: string): Promise<string | null>;
  /** undefined: unknown or expired token; null principal: a public token. */
  resolve(token: string): Promise<ResolvedBullet | undefined>;
  /** Voids the account's tokens (or those of one API key) and tells every listener, on every process sharing the store. */
  revoke(r: BulletRevocation): Promise<void>;
  revokeAccount(accountId: string): Promise<void>;
  onRevoke(listener: (r: BulletRevocation) => void): () => void;
}

/** Who a token lets in, and the session it was minted under (whose sign-out closes the socket). */
export type ResolvedBullet = { principal: Principal | null; sessionId?: string };

type Entry = { principal: Principal | null; sessionId?: string; owner: string; expiresAt: number };

/**
 * Websocket tokens (KuCoin's "bullet"): a short-lived secret that authorises one websocket
 * connection. Upkeep is O(1) amortised: every token has the same life, so issue order is expiry
 * order and expired tokens are dropped from the front of one queue; each owner's tokens form a
 * queue too, so the per-owner cap drops that owner's oldest. A client that asks for a token per
 * connection, as ccxt does, never notices the caps; one that hoards tokens cannot grow the table.
 */
export class BulletTokens implements BulletTokenStore {
  readonly #tokens = new Map<string, Entry>();
  readonly #byExpiry: string[] = [];
  #head = 0;
  readonly #byOwner = new Map<string, string[]>();
  readonly #listeners = new Set<(r: BulletRevocation) => void>();
  readonly #now: () => number;
  readonly #ttlMs: number;
  readonly #maxPerOwner: number;
  readonly #maxPrivate: number;
  readonly #maxPublic: number;
  #publicCount = 0;

  constructor(now: () => number, options: BulletTokenOptions = {}) {
    this.#now = now;
    this.#ttlMs = options.ttlMs ?? 10 * 60_000;
    this.#maxPerOwner = options.maxPerOwner ?? 100;
    this.#maxPrivate = options.maxPrivate ?? 200_000;
    this.#maxPublic = options.maxPublic ?? 100_000;
  }

  get size(): number {
    return this.#tokens.size;
  }

  async issue(principal: Principal | null, ip: string, sessionId?: string): Promise<string | null> {
    const now = this.#now();
    this.#expire(now);
    const owner = bulletOwner(principal, ip);
    const mine = this.#ownerQueue(owner);
    while (mine.length >= this.#maxPerOwner) this.#forget(mine.shift()!);
    const live = principal ? this.#tokens.size - this.#publicCount : this.#publicCount;
    if (live >= (principal ? this.#maxPrivate : this.#maxPublic)) return null;
    const token = randomBytes(24).toString("base64url");
    this.#tokens.set(token, { principal, sessionId: principal ? sessionId : undefined, owner, expiresAt: now + this.#ttlMs });
    if (!principal) this.#publicCount++;
    this.#byExpiry.push(token);
    mine.push(token);
    return token;
  }

  async resolve(token: string): Promise<ResolvedBullet | undefined> {
    const t = this.#tokens.get(token);
    if (!t || t.expiresAt < this.#now()) return undefined;
    return t.sessionId === undefined ? { principal: t.principal } : { principal: t.principal, sessionId: t.sessionId };
  }

  async revoke(r: BulletRevocation): Promise<void> {
    const queue = this.#byOwner.get(`account:${r.accountId}`) ?? [];
    for (const token of queue) {
      const e = this.#tokens.get(token);
      if (e && revocationCovers(r, e.principal, e.sessionId)) this.#forget(token);
    }
    this.#compact(`account:${r.accountId}`);
    for (const l of this.#listeners) l(r);
  }

  async revokeAccount(accountId: string): Promise<void> {
    await this.revoke({ accountId });
  }

  onRevoke(listener: (r: BulletRevocation) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #forget(token: string): void {
    const e = this.#tokens.get(token);
    if (!e) return;
    this.#tokens.delete(token);
    if (!e.principal) this.#publicCount--;
  }

  #ownerQueue(owner: string): string[] {
    this.#compact(owner);
    let q = this.#byOwner.get(owner);
    if (!q) this.#byOwner.set(owner, (q = []));
    return q;
  }

  /** Drops tokens of `owner` that expired or were revoked (they sit at the front, or anywhere after a revocation). */
  #compact(owner: string): void {
    const q = this.#byOwner.get(owner);
    if (!q) return;
    const live = q.filter((t) => this.#tokens.has(t));
    if (live.length === 0) this.#byOwner.delete(owner);
    else if (live.length !== q.length) this.#byOwner.set(owner, live);
  }

  #expire(now: number): void {
    const q = this.#byExpiry;
    while (this.#head < q.length) {
      const token = q[this.#head];
      const e = this.#tokens.get(token);
      if (e && e.expiresAt >= now) break;
      if (e) {
        this.#forget(token);
        const mine = this.#byOwner.get(e.owner);
        if (mine?.[0] === token) {
          mine.shift();
          if (mine.length === 0) this.#byOwner.delete(e.owner);
        }
      }
      this.#head++;
    }
    if (this.#head > 4096 && this.#head * 2 > q.length) {
      q.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
