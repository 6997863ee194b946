import { AuthCode, AuthError } from "../errors/SenError.ts";
import type { ReplayGuard } from "./types.ts";

export type CreateReplayGuardParameters = {
  now: () => number;
  /** The verifier's timestamp window: a pair is kept until `timestamp + windowMs` has passed. */
  windowMs: number;
  /**
   * Hard cap on remembered pairs. When reached (after pruning), new requests are refused with
   * AUTH_REPLAY_GUARD_FULL: forgetting a live pair would let it be replayed, so we fail closed.
   */
  maxEntries?: number;
};

/**
 * In-memory replay guard. A Map gives O(1) lookup; a FIFO of (key, expiry) in insertion order
 * gives amortised O(1) pruning on insert. Insertion order is not strictly expiry order (client
 * timestamps vary by up to ±window), so pruning stops at the first live head: an entry may
 * outlive its expiry by at most one window, but is never dropped early.
 * One process only: several gateways share redisReplayGuard.ts instead.
 */
export function createReplayGuard(parameters: CreateReplayGuardParameters): ReplayGuard & { readonly size: number } {
  const { now, windowMs, maxEntries = 1_000_000 } = parameters;
  const expiryOf = new Map<string, number>();
  let queueKeys: string[] = [];
  let queueExpiry: number[] = [];
  let head = 0;

  function prune(t: number): void {
    while (head < queueKeys.length && queueExpiry[head] < t) {
      const key = queueKeys[head];
      // The same key may have been re-inserted after expiring; only delete the matching entry.
      if (expiryOf.get(key) === queueExpiry[head]) expiryOf.delete(key);
      head++;
    }
    if (head > 1024 && head * 2 > queueKeys.length) {
      queueKeys = queueKeys.slice(head);
      queueExpiry = queueExpiry.slice(head);
      head = 0;
    }
  }

  return {
    // Async to match the shared guard; the check and the insert stay in one synchronous step.
    async remember(apiKeyId, signature, timestampMs) {
      const t = now();
      prune(t);
      const key = apiKeyId + "\n" + signature;
      const seen = expiryOf.get(key);
      if (seen !== undefined && seen >= t) return false;
      if (expiryOf.size >= maxEntries) {
        throw new AuthError(AuthCode.REPLAY_GUARD_FULL, "Replay guard is full, retry later", {
          details: { maxEntries },
        });
      }
      // Kept while the timestamp can still pass the verifier's window check (|now - ts| <= window).
      const expiry = Math.max(timestampMs, t) + windowMs;
      expiryOf.set(key, expiry);
      queueKeys.push(key);
      queueExpiry.push(expiry);
      return true;
    },
    get size() {
      return expiryOf.size;
    },
  };
}
