import type { Redis } from "ioredis";
import type { RateBuckets } from "./rateBuckets.ts";
import { shared } from "./sharedStateError.ts";

// KEYS[1]: the bucket. ARGV: burst, perSecond, now (ms). Returns 1 when a token was taken.
// The same refill rule as tokenBucket.ts; time only moves forward, so an edge whose clock
// is a little behind another's neither refills nor drains a bucket by it.
const TAKE = `
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(b[1])
local at = tonumber(b[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
elseif now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
  at = now
end
local ok = 0
if tokens >= 1 then
  tokens = tokens - 1
  ok = 1
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', tostring(at))
-- An idle bucket is full again after burst / rate seconds: then it may as well not exist.
redis.call('PEXPIRE', KEYS[1], math.min(86400000, math.ceil(burst / math.max(rate, 0.001) * 1000) + 1000))
return ok
`;

/**
 * Per-IP buckets shared by every edge (a Lua token bucket, one atomic script per request), so a
 * caller spreading requests over the edges meets one limit. Idle buckets expire. No reply
 * from Redis refuses the request (503) rather than letting it through unmetered.
 */
export function createRedisRateBuckets(options: { redis: Redis; prefix?: string; name?: string }): RateBuckets {
  const { redis, prefix = "sen:", name = "public" } = options;
  return {
    async take(key, burst, perSecond, nowMs) {
      const reply = await shared("rate limit", () => redis.eval(TAKE, 1, `${prefix}rate:${name}:${key}`, burst, perSecond, Math.floor(nowMs)));
      return reply === 1;
    },
  };
}
