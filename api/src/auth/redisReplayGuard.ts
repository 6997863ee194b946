import type { Redis } from "ioredis";
import { shared } from "./sharedStateError.ts";
import type { ReplayGuard } from "./types.ts";

export type RedisReplayGuardOptions = {
  redis: Redis;
  now: () => number;
  /** The verifier's timestamp window: a pair is kept until `max(timestamp, now) + windowMs`. */
  windowMs: number;
  /** Key prefix (default "sen:"). */
  prefix?: string;
};

/**
 * The replay guard shared by every edge: one `SET <pair> NX PX <ttl>` per accepted request.
 * NX makes check-and-record one atomic step across processes, so of two edges receiving the
 * same signed request at the same moment exactly one gets OK. PX keeps the pair as long as its
 * timestamp can still pass the window check (same rule as the in-memory guard); Redis expires
 * it, so memory stays bounded by the request rate times the window.
 *
 * Across restarts: the pairs live in Redis, not in any edge, so an edge that crashes and
 * restarts (or a request re-sent to another edge) still finds them, and the file barrier of
 * the single process (replayBarrier.ts) is not needed. A Redis restart keeps them too when Redis
 * runs as the journal requires (appendonly yes, appendfsync always: the OK is sent after the
 * SET is in the fsynced AOF). With appendfsync everysec a Redis crash could forget the last
 * second of pairs, i.e. re-admit requests signed in the five seconds before it.
 * No reply (Redis down or stalled) rejects with AUTH_SHARED_STATE_UNAVAILABLE: fail closed.
 */
export function createRedisReplayGuard(options: RedisReplayGuardOptions): ReplayGuard {
  const { redis, now, windowMs, prefix = "sen:" } = options;
  return {
    async remember(apiKeyId, signature, timestampMs) {
      const t = now();
      const ttl = Math.max(1, Math.ceil(Math.max(timestampMs, t) + windowMs - t));
      const reply = await shared("replay guard", () => redis.set(`${prefix}replay:${apiKeyId}:${signature}`, "1", "PX", ttl, "NX"));
      return reply === "OK";
    },
  };
}
