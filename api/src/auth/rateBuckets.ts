import { TokenBuckets } from "./tokenBucket.ts";

/**
 * Per-caller token buckets for unauthenticated routes: in memory (TokenBuckets, one process)
 * or in Redis (redisRateBuckets.ts), so that a caller spreading requests over several edges
 * still meets one limit. Callers always await `take`; the in-memory table answers at once.
 */
export type RateBuckets = {
  /** Takes one token from `key`'s bucket; false when it is empty. */
  take(key: string, burst: number, perSecond: number, nowMs: number): boolean | Promise<boolean>;
};

export function createLocalRateBuckets(): RateBuckets {
  return new TokenBuckets();
}
