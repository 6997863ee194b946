import type { Redis } from "ioredis";
import { decodeJson, encodeJsonPieces } from "../journal/jsonCodec.ts";
import { JOURNAL_STREAM } from "../journal/redisJournal.ts";
import type { SnapshotStore } from "../journal/types.ts";
import { LEASE_KEY } from "./lease.ts";

/**
 * The sequencer's latest snapshot in Redis, for edges: an edge restores its replica from it and
 * tails `sen:journal` after the seq it covers, instead of replaying the journal from record 1
 * (its start time then grows with the snapshot interval, not with history).
 *
 * `sen:snapshot` is a hash holding `seq` (the last journal record the state includes), and
 * `sen:snapshot:d` the state as the snapshot files hold it (TradingService's snapshot, JSON with
 * tagged bigints). A state of tens of MB goes to Redis in chunks of SNAPSHOT_CHUNK_BYTES onto a
 * staging key of its own, then one script swaps it in: written in one command, Redis stalled on
 * it (and, with appendfsync always, on its AOF write) and every journal append waited behind it,
 * hundreds of ms at a busy book. The swap is done only by the lease holder: the script checks the
 * lease still carries the writer's token, as the journal's batches do (a paused former sequencer
 * cannot publish), and never replaces a snapshot by an older one. (Until 2026-12, the state was
 * the hash's field `d`: still read when present.)
 */
export const SNAPSHOT_KEY = "sen:snapshot";
export const SNAPSHOT_DATA_KEY = "sen:snapshot:d";
/** Bytes per command while staging a snapshot: small enough that a journal append waiting behind one waits about a millisecond. */
export const SNAPSHOT_CHUNK_BYTES = 512 * 1024;
/** A staging key a publisher died while writing is dropped by Redis after this. */
const STAGING_TTL_S = 600;

// KEYS: snapshot hash, lease key, staging key, data key. ARGV: lease token, seq, bytes staged.
const PUBLISH = `
local lease = redis.call('GET', KEYS[2])
if not lease or not string.find(lease, '"token":"' .. ARGV[1] .. '"', 1, true) then
  redis.call('DEL', KEYS[3])
  return redis.error_reply('SENSNAPSHOT_FENCED the lease ' .. KEYS[2] .. ' is not held by this writer; the snapshot was not published')
end
if redis.call('STRLEN', KEYS[3]) ~= tonumber(ARGV[3]) then
  redis.call('DEL', KEYS[3])
  return redis.error_reply('SENSNAPSHOT_INCOMPLETE the staged snapshot is not the ' .. ARGV[3] .. ' bytes written; the snapshot was not published')
end
local cur = redis.call('HGET', KEYS[1], 'seq')
if cur and (string.len(cur) > string.len(ARGV[2]) or (string.len(cur) == string.len(ARGV[2]) and cur >= ARGV[2])) then
  redis.call('DEL', KEYS[3])
  return 0
end
redis.call('RENAME', KEYS[3], KEYS[4])
redis.call('PERSIST', KEYS[4])
redis.call('HSET', KEYS[1], 'seq', ARGV[2])
redis.call('HDEL', KEYS[1], 'd')
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
    async save(seq, state, body) {
      const { redis, token } = publishing;
      const staging = `${SNAPSHOT_DATA_KEY}:staging:${token}:${seq}`;
      // The local store's own bytes, staged while it waits (it reuses them after): the state is
      // encoded once, not again here. A failed staging is reported below, never fails the save.
      let staged: Promise<number> | undefined;
      await local.save(seq, state, async (parts, length) => {
        staged = stageBody(redis, staging, parts);
        await staged.catch(() => undefined);
        await body?.(parts, length);
      });
      try {
        const bytes = await (staged ?? stageInChunks(redis, staging, state));
        const written = await swapStaged(redis, token, seq, staging, bytes);
        if (written) publishing.onPublished?.(seq, bytes);
      } catch (err) {
        publishing.onError?.(err);
      }
    },
    load: () => local.load(),
  };
}

/**
 * The staged state becomes the published one if this writer still holds the lease, its seq is
 * newer, and the staging key holds exactly the `bytes` written; otherwise the staging key is
 * dropped (fenced and incomplete ones with an error). True when swapped in.
 */
export async function swapStaged(redis: Redis, token: string, seq: bigint, staging: string, bytes: number): Promise<boolean> {
  return (await redis.eval(PUBLISH, 4, SNAPSHOT_KEY, LEASE_KEY, staging, SNAPSHOT_DATA_KEY, token, seq.toString(), String(bytes))) === 1;
}

/**
 * Sends an encoded state's bytes onto the staging key as stageInChunks does (SET, then SETRANGE
 * at each offset), in pieces of at most SNAPSHOT_CHUNK_BYTES cut from `parts` without copying.
 * Resolves with the bytes written once Redis has them all (the caller may reuse `parts` then).
 */
function stageBody(redis: Redis, staging: string, parts: readonly Uint8Array[]): Promise<number> {
  const stager = chunkStager(redis, staging);
  for (const p of parts) {
    for (let at = 0; at < p.length; at += SNAPSHOT_CHUNK_BYTES) stager.send(p.subarray(at, Math.min(p.length, at + SNAPSHOT_CHUNK_BYTES)));
  }
  return stager.done();
}

/**
 * Writes chunks in order onto `staging` on the one connection: the first with SET (and the
 * staging TTL), the rest with SETRANGE at their offset. Each write is idempotent: ioredis sends
 * the commands in flight again after a reconnect, and an APPEND that Redis ran before the
 * connection broke would then be appended twice (the swap's length check refuses what still
 * went wrong). `done` resolves with the bytes written once Redis has them all, and rejects
 * (with the first failure) only once every command has settled.
 */
function chunkStager(redis: Redis, staging: string): { send(chunk: Uint8Array): void; done(): Promise<number> } {
  const sent: Promise<unknown>[] = [];
  let total = 0;
  const send = (chunk: Uint8Array) => {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const reply = sent.length === 0 ? redis.set(staging, bytes, "EX", STAGING_TTL_S) : redis.setrange(staging, total, bytes);
    reply.catch(() => undefined); // awaited in done(); a failure before then must not go unhandled
    sent.push(reply);
    total += bytes.length;
  };
  return {
    send,
    async done() {
      if (sent.length === 0) send(Buffer.alloc(0));
      // Every command settled, not only up to the first failure: the chunks may be the file
      // store's buffers, reused once this returns, and ioredis may still hold a command to resend.
      const failed = (await Promise.allSettled(sent)).find((r) => r.status === "rejected");
      if (failed) throw failed.reason;
      return total;
    },
  };
}

/**
 * Encodes `state` (for a local store that keeps its bytes to itself) in pieces, yielding so the
 * sequencer's turns go on, and stages each chunk of bytes as it fills. Neither the whole text
 * nor its bytes are ever one string or buffer: joining and converting tens of MB stalled the
 * thread for tens of ms each.
 */
async function stageInChunks(redis: Redis, staging: string, state: unknown): Promise<number> {
  const stager = chunkStager(redis, staging);
  let chunk = Buffer.allocUnsafe(SNAPSHOT_CHUNK_BYTES);
  let used = 0;
  const flush = () => {
    if (used === 0) return;
    stager.send(chunk.subarray(0, used));
    chunk = Buffer.allocUnsafe(SNAPSHOT_CHUNK_BYTES);
    used = 0;
  };
  await encodeJsonPieces(state, (piece) => {
    // piece.length * 3 bounds its UTF-8 size: a piece that might not fit goes after a flush, or alone when larger than a chunk.
    if (piece.length * 3 > chunk.length - used) flush();
    if (piece.length * 3 > chunk.length) stager.send(Buffer.from(piece));
    else used += chunk.write(piece, used);
  });
  flush();
  return stager.done();
}

/** The latest published snapshot, or null (none yet: the edge replays from record 1). */
export async function loadPublishedSnapshot(redis: Redis): Promise<{ seq: bigint; state: unknown } | null> {
  // One transaction: the seq and the state it belongs to, not a newer state swapped in between.
  const replies = await redis.multi().hmget(SNAPSHOT_KEY, "seq", "d").get(SNAPSHOT_DATA_KEY).exec();
  if (replies === null) return null;
  for (const [err] of replies) if (err) throw err;
  const [seq, legacy] = replies[0][1] as [string | null, string | null];
  const body = legacy ?? (replies[1][1] as string | null);
  if (seq === null || body === null || !/^\d+$/.test(seq)) return null;
  return { seq: BigInt(seq), state: decodeJson(body) };
}
