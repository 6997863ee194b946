import { createHash, randomBytes } from "node:crypto";
import type { Principal } from "../auth/types.ts";
import { SenError } from "../errors/SenError.ts";

/**
 * Single-use links for native browser downloads. A browser saving a link to disk sends no
 * Authorization header, so the console asks (with its session) for a short-lived token and
 * navigates to a URL carrying it; the file then streams to disk instead of into the tab.
 *
 * A token is 32 random bytes (base64url), bound to the principal that asked and to what it
 * downloads. Only its SHA-256 is kept, in memory: a heap dump or a restart leaks or keeps
 * nothing usable. It expires, and it is consumed by its first use, valid or not for the caller.
 */
export type DownloadGrant<T> = Pick<Principal, "accountId" | "wallet" | "identityHash"> & { what: T; expiresAt: number };

/** Live tokens in all: enough for every officer, small enough that a flood costs nothing. */
const MAX_LIVE = 1_000;
/** Live tokens per account: a console asks for one per click. */
const MAX_PER_ACCOUNT = 8;

export class DownloadTokens<T> {
  readonly #grants = new Map<string, DownloadGrant<T>>();
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(opts: { ttlMs: number; now?: () => number }) {
    this.#ttlMs = opts.ttlMs;
    this.#now = opts.now ?? Date.now;
  }

  /** A new token for `grant`'s principal; the raw token is returned once and never stored. */
  issue(grant: Omit<DownloadGrant<T>, "expiresAt">): { token: string; expiresAt: number } {
    this.#prune();
    let mine = 0;
    for (const g of this.#grants.values()) if (g.accountId === grant.accountId) mine++;
    if (mine >= MAX_PER_ACCOUNT || this.#grants.size >= MAX_LIVE) {
      throw new SenError("RATE_LIMITED", "too many download links outstanding; use or let expire the ones already asked for");
    }
    const token = randomBytes(32).toString("base64url");
    const expiresAt = this.#now() + this.#ttlMs;
    this.#grants.set(hash(token), { ...grant, expiresAt });
    return { token, expiresAt };
  }

  /** The grant of `token`, removed (single use), or a DOWNLOAD_TOKEN_INVALID error: unknown, used or expired look the same. */
  consume(token: string): DownloadGrant<T> {
    const key = hash(token);
    const grant = this.#grants.get(key);
    this.#grants.delete(key);
    if (!grant || grant.expiresAt <= this.#now()) throw new SenError("DOWNLOAD_TOKEN_INVALID", "download link invalid, already used or expired");
    return grant;
  }

  get size(): number {
    this.#prune();
    return this.#grants.size;
  }

  #prune(): void {
    const now = this.#now();
    for (const [k, g] of this.#grants) if (g.expiresAt <= now) this.#grants.delete(k);
  }
}

function hash(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}
