import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { ClusterCode, SenError } from "../errors/SenError.ts";

/**
 * The sequencer's lease in Redis: whoever holds `sen:seq:lease` is the one active sequencer.
 * Taken with SET NX PX, kept by a compare-and-pexpire every ttl/4, given back on a clean stop
 * (compare-and-delete). The value names the holder (`token`, node, its HTTP URL for edges to
 * proxy to); the journal's batch script checks the token before every append (fencing), so a
 * holder that lost the lease without knowing it (paused, partitioned) cannot write.
 *
 * Loss is fail-stop: a renewal that finds another value, or no successful renewal for a whole
 * ttl (Redis unreachable, or this process was paused), calls onLost once. The local check uses
 * the time the last successful renewal was SENT, so this holder always gives up no later than
 * Redis expires its key.
 */
export const LEASE_KEY = "sen:seq:lease";
export const DEFAULT_LEASE_MS = 3_000;

export type LeaseInfo = { token: string; node: string; http: string; since: number };

export type Lease = {
  readonly key: string;
  readonly token: string;
  /** The value in Redis right now (changes with setHttp). */
  readonly value: string;
  readonly info: LeaseInfo;
  /** True until the lease is lost or released; checked locally (no Redis round trip). */
  isValid(): boolean;
  /** Publishes the holder's HTTP URL in the lease value (the token stays). */
  setHttp(url: string): Promise<void>;
  /** Stops renewing and deletes the key if it is still this holder's. */
  release(): Promise<void>;
};

export type LeaseOptions = {
  redis: Redis;
  nodeId: string;
  http?: string;
  key?: string;
  ttlMs?: number;
  /** How often a waiting contender tries SET NX (default ttl/6). */
  retryMs?: number;
  /** Called once when the lease is lost (not on release()). */
  onLost: (reason: string) => void;
  /** Called once while waiting, with the current holder's value (for a "standby" log line). */
  onWaiting?: (holder: LeaseInfo | null) => void;
  signal?: AbortSignal;
};

const RENEW = `
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not v then return -1 end
return 0`;
const REPLACE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL') return 1 end
return 0`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export function parseLease(value: string | null): LeaseInfo | null {
  if (value === null) return null;
  try {
    const v = JSON.parse(value) as LeaseInfo;
    return typeof v?.token === "string" ? v : null;
  } catch {
    return null;
  }
}

/** The current holder, or null. */
export async function readLease(redis: Redis, key = LEASE_KEY): Promise<LeaseInfo | null> {
  return parseLease(await redis.get(key));
}

/** Waits until this process holds the lease (or `signal` aborts), then keeps it. */
export async function acquireLease(options: LeaseOptions): Promise<Lease> {
  const { redis } = options;
  const key = options.key ?? LEASE_KEY;
  const ttlMs = options.ttlMs ?? DEFAULT_LEASE_MS;
  const retryMs = options.retryMs ?? Math.max(20, Math.floor(ttlMs / 6));
  const token = randomBytes(16).toString("hex");
  const info: LeaseInfo = { token, node: options.nodeId, http: options.http ?? "", since: 0 };
  let value = "";
  let told = false;
  for (;;) {
    if (options.signal?.aborted) throw options.signal.reason ?? new Error("aborted");
    info.since = Date.now();
    value = JSON.stringify(info);
    const sentAt = performance.now();
    const ok = await redis.set(key, value, "PX", ttlMs, "NX").catch(() => null);
    if (ok === "OK") return keep(sentAt);
    if (!told) {
      told = true;
      options.onWaiting?.(await readLease(redis, key).catch(() => null));
    }
    await new Promise((r) => setTimeout(r, retryMs));
  }

  function keep(acquiredAt: number): Lease {
    let validUntil = acquiredAt + ttlMs;
    let state: "held" | "lost" | "released" = "held";
    let renewing = false;
    const lose = (reason: string) => {
      if (state !== "held") return;
      state = "lost";
      clearInterval(timer);
      options.onLost(reason);
    };
    const timer = setInterval(() => {
      // First, before any round trip: after a pause (SIGSTOP, a long GC) this fires late and
      // the lease may have expired in Redis already.
      if (performance.now() >= validUntil) return lose(`no renewal for ${ttlMs} ms (Redis unreachable or this process paused)`);
      if (renewing) return;
      renewing = true;
      const sentAt = performance.now();
      const sent = value;
      (redis.eval(RENEW, 1, key, sent, ttlMs) as Promise<number>)
        .then((r) => {
          if (state !== "held") return;
          if (Number(r) === 1) validUntil = sentAt + ttlMs;
          // setHttp replaced the value while this renewal was on its way: not a loss.
          else if (sent !== value) return;
          else lose(Number(r) === -1 ? "the lease expired in Redis" : "the lease is held by another node");
        })
        .catch(() => {
          if (performance.now() >= validUntil) lose(`no renewal for ${ttlMs} ms (Redis unreachable)`);
        })
        .finally(() => (renewing = false));
    }, Math.max(10, Math.floor(ttlMs / 4)));
    timer.unref();
    return {
      key,
      token,
      get value() {
        return value;
      },
      info,
      isValid: () => state === "held" && performance.now() < validUntil,
      async setHttp(url: string) {
        const next = JSON.stringify({ ...info, http: url });
        const r = Number(await redis.eval(REPLACE, 1, key, value, next));
        if (r !== 1) {
          lose("the lease is held by another node");
          throw new SenError(ClusterCode.LEASE_LOST, "lease lost before its URL was published");
        }
        info.http = url;
        value = next;
      },
      async release() {
        if (state !== "held") return;
        state = "released";
        clearInterval(timer);
        await redis.eval(RELEASE, 1, key, value).catch(() => undefined);
      },
    };
  }
}
