import type { Redis } from "ioredis";
import { getAddress } from "viem";
import { shared } from "./sharedStateError.ts";
import type { SiweNonceStore } from "./siweNonceStore.ts";

export type RedisSiweNonceStoreOptions = { redis: Redis; now: () => number; prefix?: string };

/**
 * Sign-in challenges shared by every edge: a challenge asked at one edge can be signed in at
 * another. `consume` is one GETDEL, so a nonce is used once even when two edges receive the
 * same signed message at the same moment. Redis expires unused challenges (PX), which bounds
 * memory; the stored expiry is checked as well, against this process's clock.
 */
export function createRedisSiweNonceStore(options: RedisSiweNonceStoreOptions): SiweNonceStore {
  const { redis, now, prefix = "sen:" } = options;
  const key = (nonce: string) => `${prefix}siwe:${nonce}`;
  return {
    async issue(nonce, address, expiresAt) {
      const ttl = Math.max(1, Math.ceil(expiresAt - now()));
      await shared("sign-in challenge", () => redis.set(key(nonce), JSON.stringify({ a: getAddress(address), e: expiresAt }), "PX", ttl));
    },
    async consume(nonce, address) {
      const raw = await shared("sign-in challenge", () => redis.getdel(key(nonce)));
      if (raw === null) return false;
      const entry = JSON.parse(raw) as { a: string; e: number };
      return entry.e > now() && entry.a === getAddress(address);
    },
  };
}
