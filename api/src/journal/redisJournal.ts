import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import { JournalCode, JournalError } from "../errors/SenError.ts";
import { decodeJson, encodeJson } from "./jsonCodec.ts";
import type { Journal, JournalEntry, JournalRecord, JournalStats } from "./types.ts";

/**
 * The journal on a Redis Stream. Entry ids are `<seq>-0`, so the stream id IS the seq and
 * Redis itself refuses an id that is not above the stream's top (no duplicates, no reordering).
 * Each entry has one field, `d`, holding the record as JSON (bigints tagged, see jsonCodec.ts).
 *
 * Batches (group commit): flush() sends everything buffered as ONE Lua script that first
 * checks that the stream's top id is the one this writer expects and then XADDs the batch.
 * Why a script rather than MULTI/EXEC: EXEC does not roll back, so if one XADD of a
 * transaction were refused (another writer got there first) the others would still land and
 * interleave two writers' records. The script refuses the whole batch instead (a fencing
 * check), and, because Lua scripts run atomically, nobody can slip in between check and XADDs.
 * A batch re-sent after a lost reply (ioredis resends on reconnect) is recognised and accepted
 * once. Big backlogs go as several scripts of at most MAX_BATCH records so Redis is not blocked.
 *
 * Durability is Redis's: run it with `appendonly yes` and `appendfsync always`. Then a reply to
 * the script means the batch is in the fsynced AOF, a crash of the Sen process loses nothing
 * acknowledged, and a crash (kill -9, power loss) of Redis loses nothing acknowledged either.
 * With `appendfsync everysec` a Redis crash may lose about one second. Don't XDEL or XTRIM the
 * stream while a writer is running.
 *
 * After a failed batch (connection lost mid-flight, conflict) the outcome is unknown to this
 * instance: it refuses further work with JOURNAL_IO; create a new one and open() it (open
 * reads the real top of the stream).
 */
export type RedisJournalOptions = ({ url: string; redis?: undefined } | { redis: Redis; url?: undefined }) & {
  stream: string;
  /** XRANGE page size for read() (default 1000). */
  pageSize?: number;
  /**
   * A command (a batch, a read) without a reply within this many ms fails (default 5,000):
   * a stalled Redis must fail the journal, not hold every writer and close() for ever.
   */
  commandTimeoutMs?: number;
  /** Connection errors (ioredis reports each reconnect attempt); the journal's own failures are thrown. */
  onConnectionError?: (err: Error) => void;
  /**
   * Fencing by a lease (cluster/lease.ts): every batch first checks that the value of `key`
   * still carries this writer's token `value` (the whole value, or a JSON value whose
   * "token" is it), in the same script as the XADDs. A writer that lost its lease cannot
   * append: its batch is refused whole with SENJOURNAL_FENCED and the journal fails.
   */
  fence?: { key: string; value: string };
};

export type RedisJournal = Journal & {
  stats(): JournalStats;
  /**
   * Sets Redis key `key` to `value` in the same script as a batch of records (atomically: both
   * land or neither), never in a batch that lacks a record appended before the call, and in
   * the same batch as the records appended right after it in the same synchronous run; in a
   * batch of its own at the next flush() when there is nothing else to write. Call it just
   * BEFORE appending the records it stands for: a caller's append may start the write at
   * once (its flush), so a cursor set after it could miss that batch. The last call per key
   * wins. The command bus keeps its position in the command stream this way.
   */
  setCursor(key: string, value: string): void;
  /**
   * True once a batch failed (fenced, Redis gone past the deadline): every later call throws.
   * A batch holding only cursors fails no caller's append, so its owner watches this.
   */
  readonly failed: boolean;
};

/** The stream the split's sequencer journals to, and every reader of it follows. */
export const JOURNAL_STREAM = "sen:journal";
const MAX_BATCH = 5000;
const FIELD = "d";
const ID = /^(\d+)-0$/;

// KEYS: stream, fence key, cursor key (the last two may be '' = none).
// ARGV: expected top id, fence token, cursor value, then (id, payload) pairs (maybe none).
const APPEND_BATCH = `
if KEYS[2] ~= '' then
  local lease = redis.call('GET', KEYS[2])
  if not lease or (lease ~= ARGV[2] and not string.find(lease, '"token":"' .. ARGV[2] .. '"', 1, true)) then
    return redis.error_reply('SENJOURNAL_FENCED the lease ' .. KEYS[2] .. ' is not held by this writer; nothing was written')
  end
end
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local lastId = '0-0'
if #top > 0 then lastId = top[1][1] end
local n = #ARGV
if lastId ~= ARGV[1] then
  if n > 3 and lastId == ARGV[n - 1] and top[1][2][2] == ARGV[n] then return 0 end
  return redis.error_reply('SENJOURNAL_CONFLICT stream top is ' .. lastId .. ', this writer expected ' .. ARGV[1])
end
for i = 4, n, 2 do
  redis.call('XADD', KEYS[1], ARGV[i], '${FIELD}', ARGV[i + 1])
end
if KEYS[3] ~= '' then redis.call('SET', KEYS[3], ARGV[3]) end
return (n - 3) / 2
`;

/** The records of journal `stream` from its top down (a reader that wants only the newest stops early). */
export async function* newestRecords(redis: Redis, stream: string, pageSize = 500): AsyncGenerator<Record<string, unknown>> {
  for (let end = "+"; ; ) {
    const page = await redis.xrevrange(stream, end, "-", "COUNT", pageSize);
    for (const [, fields] of page) yield decodeJson(fields[fields.indexOf(FIELD) + 1] ?? "") as Record<string, unknown>;
    if (page.length < pageSize) return;
    end = `(${page[page.length - 1][0]}`;
  }
}

/**
 * Batches go as EVALSHA: the script's text (about 1 KB) is sent only when Redis does not know it
 * (first batch after a Redis restart or SCRIPT FLUSH: NOSCRIPT, then EVAL, which loads it).
 */
const APPEND_BATCH_SHA = createHash("sha1").update(APPEND_BATCH).digest("hex");

/** Runs APPEND_BATCH by its SHA, or by its text if Redis does not have it (NOSCRIPT: the script did not run). */
async function appendBatch(redis: Redis, keysAndArgs: string[]): Promise<unknown> {
  try {
    return await redis.evalsha(APPEND_BATCH_SHA, 3, ...keysAndArgs);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
    return await redis.eval(APPEND_BATCH, 3, ...keysAndArgs);
  }
}

type Waiter = { seq: bigint; resolve: () => void; reject: (error: unknown) => void };
/** A cursor write and the last seq appended when it was set: it goes with the batch reaching that seq. */
type Cursor = { key: string; value: string; seq: bigint; no: bigint };

export function createRedisJournal(options: RedisJournalOptions): RedisJournal {
  const { stream } = options;
  const pageSize = options.pageSize ?? 1000;
  const owned = options.redis === undefined;
  const redis: Redis = options.redis ?? new Redis(options.url!, { lazyConnect: true, commandTimeout: options.commandTimeoutMs ?? 5_000 });
  if (owned) redis.on("error", (err: Error) => options.onConnectionError?.(err));

  let state: "new" | "open" | "closed" = "new";
  let failure: JournalError | null = null;
  let lastSeq = 0n;
  let ackedSeq = 0n;
  let pending: string[] = []; // JSON payloads of seqs ackedSeq+1 .. lastSeq, in order
  let waiters: Waiter[] = [];
  let cursors: Cursor[] = []; // in call order, not yet written
  let cursorsSet = 0n; // setCursor calls so far; a cursor waiter's seq is this count at its flush()
  let cursorWaiters: Waiter[] = [];
  let running = false;
  let draining: Promise<void> = Promise.resolve();
  const stats: JournalStats = { writes: 0, fsyncs: 0, records: 0, bytes: 0, commitMs: 0 };

  function parseId(id: string): bigint {
    const m = ID.exec(id);
    if (m === null) throw new JournalError(JournalCode.CORRUPT, `stream ${stream} holds entry ${id}, which is not a journal id <seq>-0`, { details: { stream, id } });
    return BigInt(m[1]);
  }

  function decodeEntry(id: string, fields: string[]): JournalEntry {
    const seq = parseId(id);
    const at = fields.indexOf(FIELD);
    if (at < 0 || at % 2 !== 0) throw new JournalError(JournalCode.CORRUPT, `stream ${stream} entry ${id} has no '${FIELD}' field`, { details: { stream, seq: seq.toString() } });
    try {
      return { seq, record: decodeJson(fields[at + 1]) as JournalRecord };
    } catch (cause) {
      throw new JournalError(JournalCode.CORRUPT, `stream ${stream} entry ${id} is not valid JSON`, { cause, details: { stream, seq: seq.toString() } });
    }
  }

  function assertWritable(): void {
    if (failure) throw failure;
    if (state !== "open") throw new JournalError(JournalCode.CLOSED, `journal ${stream} is ${state === "new" ? "not open" : "closed"}`);
  }

  function kick(): void {
    if (running || failure !== null || state === "new") return;
    running = true;
    draining = drain();
  }

  async function drain(): Promise<void> {
    try {
      while (pending.length > 0 || cursors.length > 0) {
        const count = Math.min(pending.length, MAX_BATCH);
        const payloads = pending.slice(0, count);
        const first = ackedSeq + 1n;
        const last = ackedSeq + BigInt(count);
        // The newest cursor this batch may carry rides with it (one key per batch: the command
        // bus uses one; other keys wait for the next batch). A cursor set when the journal stood
        // at seq s may go with a batch reaching past s, or reaching s when the batch takes all
        // that is pending: the records appended right after the cursor (the command it names)
        // are then in it too.
        let riding: Cursor | undefined;
        for (const c of cursors) {
          if ((c.seq < last || (c.seq === last && count === pending.length)) && (riding === undefined || c.key === riding.key)) riding = c;
        }
        const args: string[] = [ackedSeq === 0n ? "0-0" : `${ackedSeq}-0`, options.fence?.value ?? "", riding?.value ?? ""];
        let bytes = 0;
        for (let i = 0; i < count; i++) {
          args.push(`${first + BigInt(i)}-0`, payloads[i]);
          bytes += payloads[i].length;
        }
        if (count === 0 && riding === undefined) break; // cannot happen: a cursor's seq is never past lastSeq
        const started = performance.now();
        await appendBatch(redis, [stream, options.fence?.key ?? "", riding?.key ?? "", ...args]);
        stats.commitMs += performance.now() - started;
        if (riding !== undefined) {
          const written = riding;
          // Same key, set up to the one written (call order): superseded by it. Later ones wait.
          cursors = cursors.filter((c) => c.key !== written.key || c.no > written.no);
        }
        pending = pending.slice(count);
        stats.writes += 1;
        stats.records += count;
        stats.bytes += bytes;
        ackedSeq = first + BigInt(count) - 1n;
        const ready = waiters.filter((w) => w.seq <= ackedSeq);
        waiters = waiters.filter((w) => w.seq > ackedSeq);
        for (const w of ready) w.resolve();
        // Every cursor set before this number is written (or superseded by a written one).
        const done = cursors.length === 0 ? cursorsSet : cursors.reduce((m, c) => (c.no < m ? c.no : m), cursorsSet + 1n) - 1n;
        const written = cursorWaiters.filter((w) => w.seq <= done);
        cursorWaiters = cursorWaiters.filter((w) => w.seq > done);
        for (const w of written) w.resolve();
      }
    } catch (cause) {
      failure = new JournalError(JournalCode.IO, `journal batch to stream ${stream} failed: ${(cause as Error)?.message ?? cause}`, {
        cause,
        details: { stream, ackedSeq: ackedSeq.toString() },
      });
      const all = [...waiters, ...cursorWaiters];
      waiters = [];
      cursorWaiters = [];
      for (const w of all) w.reject(failure);
    } finally {
      running = false;
    }
  }

  return {
    async open() {
      if (state !== "new") throw new JournalError(JournalCode.CLOSED, `journal ${stream} was already opened`);
      try {
        if (owned && redis.status === "wait") await redis.connect();
        const top = await redis.xrevrange(stream, "+", "-", "COUNT", 1);
        lastSeq = ackedSeq = top.length === 0 ? 0n : parseId(top[0][0]);
      } catch (cause) {
        if (cause instanceof JournalError) throw cause;
        throw new JournalError(JournalCode.IO, `cannot open journal stream ${stream}: ${(cause as Error)?.message ?? cause}`, { cause, details: { stream } });
      }
      state = "open";
      return { lastSeq };
    },

    append(record: JournalRecord): bigint {
      assertWritable();
      const json = encodeJson(record);
      pending.push(json);
      lastSeq += 1n;
      return lastSeq;
    },

    flush(): Promise<void> {
      if (failure) return Promise.reject(failure);
      if (state === "new") return Promise.reject(new JournalError(JournalCode.CLOSED, `journal ${stream} is not open`));
      const target = lastSeq;
      const waits: Promise<void>[] = [];
      if (ackedSeq < target) waits.push(new Promise<void>((resolve, reject) => waiters.push({ seq: target, resolve, reject })));
      // Cursors set so far are written too, even when they came with no record (a cursor-only batch).
      if (cursors.length > 0) waits.push(new Promise<void>((resolve, reject) => cursorWaiters.push({ seq: cursorsSet, resolve, reject })));
      if (waits.length === 0) return Promise.resolve();
      kick();
      return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => undefined);
    },

    read(fromSeq = 1n): AsyncIterable<JournalEntry> {
      if (state !== "open") throw new JournalError(JournalCode.CLOSED, `journal ${stream} is not open`);
      const upTo = ackedSeq;
      return {
        async *[Symbol.asyncIterator]() {
          if (fromSeq > upTo) return;
          let start = `${fromSeq < 1n ? 1n : fromSeq}-0`;
          for (;;) {
            let page: [string, string[]][];
            try {
              page = await redis.xrange(stream, start, `${upTo}-0`, "COUNT", pageSize);
            } catch (cause) {
              throw new JournalError(JournalCode.IO, `XRANGE on ${stream} failed: ${(cause as Error)?.message ?? cause}`, { cause, details: { stream } });
            }
            for (const [id, fields] of page) yield decodeEntry(id, fields);
            if (page.length < pageSize) return;
            start = `(${page[page.length - 1][0]}`;
          }
        },
      };
    },

    async close() {
      const wasOpen = state === "open";
      state = "closed";
      if (wasOpen && failure === null && (pending.length > 0 || cursors.length > 0) && !running) {
        running = true;
        draining = drain();
      }
      while (running) await draining;
      if (owned) {
        if (redis.status === "ready") await redis.quit();
        else redis.disconnect();
      }
      if (failure) throw failure;
    },

    setCursor(key: string, value: string): void {
      assertWritable();
      cursors.push({ key, value, seq: lastSeq, no: ++cursorsSet });
    },

    stats: () => ({ ...stats }),

    get failed() {
      return failure !== null;
    },
  };
}
