import { randomBytes } from "node:crypto";
import type { Principal } from "../auth/types.ts";

/**
 * Short-lived websocket tokens handed out by bullet-public / bullet-private (KuCoin's
 * handshake). A private token carries the principal that asked for it.
 */
export class BulletTokens {
  readonly #tokens = new Map<string, { principal: Principal | null; expiresAt: number }>();
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(now: () => number, ttlMs = 24 * 3600_000) {
    this.#now = now;
    this.#ttlMs = ttlMs;
  }

  issue(principal: Principal | null): string {
    const now = this.#now();
    if (this.#tokens.size > 50_000) for (const [t, v] of this.#tokens) if (v.expiresAt < now) this.#tokens.delete(t);
    const token = randomBytes(24).toString("base64url");
    this.#tokens.set(token, { principal, expiresAt: now + this.#ttlMs });
    return token;
  }

  /** undefined: unknown or expired token; null principal: a public token. */
  resolve(token: string): { principal: Principal | null } | undefined {
    const t = this.#tokens.get(token);
    if (!t || t.expiresAt < this.#now()) return undefined;
    return { principal: t.principal };
  }

  revokeAccount(accountId: string): void {
    for (const [t, v] of this.#tokens) if (v.principal?.accountId === accountId) this.#tokens.delete(t);
  }
}
