import { getAddress } from "viem";
import type { Address } from "viem";

/** Sign-in challenges: in memory (one process) or in Redis (redisSiweNonceStore.ts, every edge). */
export type SiweNonceStore = {
  /** Records a nonce issued to `address`, usable once until `expiresAt` (ms). */
  issue(nonce: string, address: Address, expiresAt: number): Promise<void>;
  /** Single use: true once for a live nonce issued to `address`, false afterwards or when expired. */
  consume(nonce: string, address: Address): Promise<boolean>;
};

export type CreateSiweNonceStoreParameters = {
  now: () => number;
  /** Outstanding challenges kept at most; the oldest are dropped first (they cannot log in). */
  maxEntries?: number;
};

/**
 * In-memory SIWE nonce store. Nonces are bound to the wallet they were issued to. Expired and
 * excess entries are pruned on issue (a Map iterates in insertion order, so the oldest come
 * first). Dropping an unused challenge only forces that user to request a new one.
 */
export function createSiweNonceStore(parameters: CreateSiweNonceStoreParameters): SiweNonceStore & { readonly size: number } {
  const { now, maxEntries = 100_000 } = parameters;
  const nonces = new Map<string, { address: Address; expiresAt: number }>();

  return {
    async issue(nonce, address, expiresAt) {
      const t = now();
      for (const [n, entry] of nonces) {
        if (entry.expiresAt > t && nonces.size < maxEntries) break;
        nonces.delete(n);
      }
      nonces.set(nonce, { address: getAddress(address), expiresAt });
    },
    async consume(nonce, address) {
      const entry = nonces.get(nonce);
      if (entry === undefined) return false;
      nonces.delete(nonce);
      return entry.expiresAt > now() && entry.address === getAddress(address);
    },
    get size() {
      return nonces.size;
    },
  };
}
