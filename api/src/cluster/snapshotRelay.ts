import type { Redis } from "ioredis";
import { decodeJson, encodeJsonYielding } from "../journal/jsonCodec.ts";
import type { SnapshotStore } from "../journal/types.ts";
import { LEASE_KEY } from "./lease.ts";

/**
 * The sequencer's latest snapshot in Redis, for edges: an edge restores its replica from it and
 * tails `sen:journal` after the seq it covers, instead of replaying the journal from record 1
 * (its start time then grows with the snapshot interval, not with history).
 *
 * `sen:snapshot` is a hash: `seq` (the last journal record the state includes) and `d` (the
 * state as the snapshot files hold it: TradingService's snapshot, JSON with tagged bigints).
 * Written only by the lease holder: the script checks the lease still carries the writer's
 * token, as the journal's batches do (a paused former sequencer cannot publish), and never
 * replaces a snapshot by an older one.
 */
export const SNAPSHOT_KEY = "sen:snapshot";
/** The journal stream the snapshot's seq counts in (redisJournal.ts, as the sequencer writes it). */
export const JOURNAL_STREAM = "sen:journal";

// KEYS: snapshot hash, lease key. ARGV: lease token, seq, state JSON.
const PUBLISH = `
local lease = redis.call('GET', KEYS[2])
if not lease or not string.find(lease, '"token":"' .. ARGV[1] .. '"', 1, true) then
  return redis.error_reply('SENSNAPSHOT_FENCED the lease ' .. KEYS[2] .. ' is not held by this writer; the snapshot was not published')
end
local cur = redis.call('HGET', KEYS[1], 'seq')
if cur and (string.len(cur) > string.len(ARGV[2]) or (string.len(cur) == string.len(ARGV[2]) and cur >= ARGV[2])) then return 0 end
redis.call('HSET', KEYS[1], 'seq', ARGV[2], 'd', ARGV[3])
return 1
`;

export type SnapshotPublishing = {
  redis: Redis;
  /** The writer's lease token (cluster/lease.ts): publishing is fenced by it. */
  token: string;
  /** A publish that failed: the local snapshot stands, edges only replay a longer tail. */
  onError?: (err: unknown) => void;
  /** Told of each published snapshot (tests, logs). */
  onPublished?: (seq: bigint, bytes: number) => void;
};

/**
 * The sequencer's snapshot store with publishing: each snapshot is saved where it was (the
 * data directory: recovery of the sequencer itself), then published to `sen:snapshot`. It is
 * published only after the local save, which the trading service runs only once the journal
 * holds record `seq` durably, so an edge never restores a state ahead of the journal.
 */
export function publishingSnapshotStore(local: SnapshotStore, publishing: SnapshotPublishing): SnapshotStore {
  return {
    async save(seq, state) {
      await local.save(seq, state);
      try {
        // Encoded again (the file store keeps its bytes to itself), yielding so the sequencer's turns go on.
        const body = await encodeJsonYielding(state);
        const written = await publishing.redis.eval(PUBLISH, 2, SNAPSHOT_KEY, LEASE_KEY, publishing.token, seq.toString(), body);
        if (written === 1) publishing.onPublished?.(seq, Buffer.byteLength(body));
      } catch (err) {
        publishing.onError?.(err);
      }
    },
    load: () => local.load(),
  };
}

/** The latest published snapshot, or null (none yet: the edge replays from record 1). */
export async function loadPublishedSnapshot(redis: Redis): Promise<{ seq: bigint; state: unknown } | null> {
  const [seq, body] = await redis.hmget(SNAPSHOT_KEY, "seq", "d");
  if (seq === null || body === null || !/^\d+$/.test(seq)) return null;
  return { seq: BigInt(seq), state: decodeJson(body) };
}
