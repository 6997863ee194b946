import { randomBytes as cryptoRandomBytes } from "node:crypto";
import { Redis } from "ioredis";
import type { ServerConfig } from "../config/config.ts";
import { AuthCode, AuthError } from "../errors/SenError.ts";
import { createRedisBulletTokens } from "./redisBulletTokens.ts";
import { endSessionBullets, type BulletTokenStore } from "./bulletTokens.ts";
import type { RateBuckets } from "./rateBuckets.ts";
import { createRedisApiKeyStore } from "./redisApiKeyStore.ts";
import { createRedisRateBuckets } from "./redisRateBuckets.ts";
import { createRedisReplayGuard } from "./redisReplayGuard.ts";
import { createRedisSessionStore } from "./redisSessionStore.ts";
import { createRedisSiweNonceStore } from "./redisSiweNonceStore.ts";
import type { ReplayBarrier } from "./replayBarrier.ts";
import type { SessionStore } from "./sessionStore.ts";
import type { SiweNonceStore } from "./siweNonceStore.ts";
import type { ApiKeyStore, ReplayGuard } from "./types.ts";

/** Everything an edge must share with the other edges (and the sequencer's own routes). */
export type SharedState = {
  keys: ApiKeyStore;
  sessions: SessionStore;
  siweNonces: SiweNonceStore;
  replay: ReplayGuard;
  bullets: BulletTokenStore;
  publicBuckets: RateBuckets;
  /**
   * Stands in for the single process's file barrier (replayBarrier.ts): the signatures are in
   * Redis, outside every process, so a restart forgets nothing and nothing is held back.
   * Its close() (called once nothing more is accepted) stops this process's use of the store.
   */
  barrier: ReplayBarrier;
  /** Stops following revocations; the Redis connection is the caller's to close. */
  close(): Promise<void>;
};

export type SharedStateOptions = {
  now?: () => number;
  randomBytes?: (size: number) => Buffer;
  /** The signature timestamp window (the verifier's, default 5 s). */
  replayWindowMs?: number;
  /** Key prefix (default "sen:"). */
  prefix?: string;
  /** The revocation feed could not be read for a moment (it catches up). */
  onError?: (err: unknown) => void;
};

/** Options for the shared store's connection: a command that gets no reply fails, and the request with it. */
export const SHARED_REDIS_OPTIONS = { commandTimeout: 2_000, maxRetriesPerRequest: 1 } as const;

/**
 * The Redis-backed stores of the split roles (SEN_ROLE=edge|sequencer). Every process of the
 * split must run with the same SEN_MASTER_KEY: API secrets are sealed under it in Redis.
 */
export async function createSharedState(config: Pick<ServerConfig, "role" | "nodeId" | "masterKeyHex">, redis: Redis, options: SharedStateOptions = {}): Promise<SharedState> {
  if (!config.masterKeyHex) {
    throw new AuthError(AuthCode.INVALID_INPUT, `SEN_ROLE=${config.role} needs SEN_MASTER_KEY, the same on every process: API secrets in Redis are sealed under it`);
  }
  const now = options.now ?? Date.now;
  const randomBytes = options.randomBytes ?? cryptoRandomBytes;
  const prefix = options.prefix ?? "sen:";
  const bullets = await createRedisBulletTokens({ redis, now, prefix, nodeId: config.nodeId, onError: options.onError });
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= bullets.close());
  return {
    keys: createRedisApiKeyStore({ redis, masterKey: Buffer.from(config.masterKeyHex, "hex"), now, randomBytes, prefix }),
    sessions: createRedisSessionStore({ redis, now, randomBytes, prefix, onEnded: endSessionBullets(bullets) }),
    siweNonces: createRedisSiweNonceStore({ redis, now, prefix }),
    replay: createRedisReplayGuard({ redis, now, windowMs: options.replayWindowMs ?? 5_000, prefix }),
    bullets,
    publicBuckets: createRedisRateBuckets({ redis, prefix }),
    barrier: {
      notBeforeMs: Number.NEGATIVE_INFINITY,
      accepted() {},
      close() {
        void close();
      },
    },
    close,
  };
}

/**
 * Connects to the split's Redis (REDIS_URL) and builds the shared stores on a connection of
 * their own; close() (or the barrier's close()) also ends that connection.
 */
export async function openSharedState(config: Pick<ServerConfig, "role" | "nodeId" | "masterKeyHex" | "journal">, options: SharedStateOptions = {}): Promise<SharedState> {
  if (config.journal.kind !== "redis") throw new AuthError(AuthCode.INVALID_INPUT, `SEN_ROLE=${config.role} needs REDIS_URL`);
  const redis = new Redis(config.journal.url, SHARED_REDIS_OPTIONS);
  redis.on("error", (err: Error) => options.onError?.(err));
  let state: SharedState;
  try {
    state = await createSharedState(config, redis, options);
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= state.close().finally(() => {
      redis.disconnect();
    }));
  return { ...state, barrier: { ...state.barrier, close: () => void close() }, close };
}
