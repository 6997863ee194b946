import { Redis } from "ioredis";
import { JournalCode, JournalError } from "../errors/SenError.ts";
import { decodeJson } from "../journal/jsonCodec.ts";
import { JOURNAL_STREAM } from "../journal/redisJournal.ts";
import type { TradingRecord } from "../records/tradingRecords.ts";

/** What the follower feeds: a replica TradingService (TradingService.follower). */
export type ReplicaTarget = {
  readonly lastSeq: bigint;
  applyDurable(seq: bigint, record: TradingRecord): unknown;
};

export type JournalFollowerOptions = {
  /** Redis URL; the follower opens its own connection (XREAD BLOCK holds it). */
  url: string;
  /** The journal stream (default `sen:journal`, as the sequencer writes it: redisJournal.ts). */
  stream?: string;
  replica: ReplicaTarget;
  /** Records per XREAD (default 1000). */
  count?: number;
  /** How long one XREAD blocks waiting for new records (default 1,000 ms). */
  blockMs?: number;
  /**
   * A gap in the stream, an entry that is not a journal record, or a record the replica cannot
   * apply: the replica can never be right again, so the edge must stop (the caller exits).
   */
  onFatal: (err: JournalError) => void;
  /** Lost connections and retries (ioredis reconnects by itself; the follower reads on from its last seq). */
  onConnectionError?: (err: Error) => void;
};

export type JournalFollower = {
  /** The last journal record applied to the replica. */
  readonly lastSeq: bigint;
  /** Resolves once the stream's records at start are all applied (the replica has caught up). */
  readonly caughtUp: Promise<void>;
  /** Resolves once record `seq` is applied; rejects on a fatal error, on close, or after `timeoutMs`. */
  waitFor(seq: bigint, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
};

const FIELD = "d";
const ID = /^(\d+)-0$/;

type Waiter = { seq: bigint; resolve: () => void; reject: (err: unknown) => void; timer?: NodeJS.Timeout };

/**
 * Tails the sequencer's journal stream and applies every record to a replica, in order, from
 * the record after the replica's own (record 1, or the one after the published snapshot the
 * edge restored it from: snapshotRelay.ts). Entries are `<seq>-0` with the record as JSON in field `d`
 * (redisJournal.ts), so the stream id is the seq and a gap is visible: it is a fail-stop,
 * never skipped. A lost connection only delays: the next XREAD starts after the last record
 * applied, so nothing is read twice or missed.
 */
export function startJournalFollower(options: JournalFollowerOptions): JournalFollower {
  const stream = options.stream ?? JOURNAL_STREAM;
  const count = options.count ?? 1000;
  const blockMs = options.blockMs ?? 1_000;
  const { replica } = options;
  // No command timeout: a blocking XREAD is meant to wait.
  const redis = new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: null });
  redis.on("error", (err: Error) => options.onConnectionError?.(err));

  let closed = false;
  let fatal: JournalError | null = null;
  let waiters: Waiter[] = [];
  let startTop: bigint | null = null;
  let topRead = false;
  let markCaughtUp!: () => void;
  let failCaughtUp!: (err: unknown) => void;
  const caughtUp = new Promise<void>((resolve, reject) => {
    markCaughtUp = resolve;
    failCaughtUp = reject;
  });
  caughtUp.catch(() => undefined); // the caller may not be listening (it learns through onFatal)

  function settle(): void {
    const at = replica.lastSeq;
    if (startTop !== null && at >= startTop) {
      startTop = null;
      markCaughtUp();
    }
    if (waiters.length === 0) return;
    const ready = waiters.filter((w) => w.seq <= at);
    if (ready.length === 0) return;
    waiters = waiters.filter((w) => w.seq > at);
    for (const w of ready) {
      clearTimeout(w.timer);
      w.resolve();
    }
  }

  function stop(err: unknown): void {
    const all = waiters;
    waiters = [];
    for (const w of all) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    failCaughtUp(err);
  }

  function fail(err: JournalError): void {
    if (fatal) return;
    fatal = err;
    stop(err);
    options.onFatal(err);
  }

  function apply(id: string, fields: string[]): void {
    const m = ID.exec(id);
    if (m === null) throw new JournalError(JournalCode.CORRUPT, `stream ${stream} holds entry ${id}, which is not a journal id <seq>-0`, { details: { stream, id } });
    const seq = BigInt(m[1]);
    if (seq !== replica.lastSeq + 1n) throw new JournalError(JournalCode.CORRUPT, `stream ${stream}: record ${seq} follows record ${replica.lastSeq} (gap)`, { details: { stream, seq: seq.toString() } });
    const at = fields.indexOf(FIELD);
    if (at < 0 || at % 2 !== 0) throw new JournalError(JournalCode.CORRUPT, `stream ${stream} entry ${id} has no '${FIELD}' field`, { details: { stream, seq: seq.toString() } });
    let record: TradingRecord;
    try {
      record = decodeJson(fields[at + 1]) as TradingRecord;
    } catch (cause) {
      throw new JournalError(JournalCode.CORRUPT, `stream ${stream} entry ${id} is not valid JSON`, { cause, details: { stream, seq: seq.toString() } });
    }
    try {
      replica.applyDurable(seq, record);
    } catch (cause) {
      throw new JournalError(JournalCode.CORRUPT, `record ${seq} of ${stream} cannot be applied by the replica: ${(cause as Error)?.message ?? cause}`, { cause, details: { stream, seq: seq.toString() } });
    }
  }

  async function run(): Promise<void> {
    let retryMs = 50;
    while (!closed && !fatal) {
      try {
        if (redis.status === "wait") await redis.connect();
        if (!topRead) {
          // Caught up = at the stream's top as it was when the follower started.
          const top = await redis.xrevrange(stream, "+", "-", "COUNT", 1);
          startTop = top.length === 0 ? 0n : BigInt(ID.exec(top[0][0])?.[1] ?? "0");
          topRead = true;
          settle();
        }
        const reply = await redis.xread("COUNT", count, "BLOCK", blockMs, "STREAMS", stream, `${replica.lastSeq}-0`);
        retryMs = 50;
        if (!reply) continue;
        for (const [, entries] of reply) for (const [id, fields] of entries) apply(id, fields);
        settle();
      } catch (err) {
        if (err instanceof JournalError) {
          fail(err);
          return;
        }
        if (closed) return;
        // Redis unreachable or restarting: read on from the last applied record once it is back.
        options.onConnectionError?.(err as Error);
        await new Promise((r) => setTimeout(r, retryMs));
        retryMs = Math.min(retryMs * 2, 1_000);
      }
    }
  }
  const running = run();

  return {
    get lastSeq() {
      return replica.lastSeq;
    },
    caughtUp,
    waitFor(seq: bigint, timeoutMs = 10_000): Promise<void> {
      if (replica.lastSeq >= seq) return Promise.resolve();
      if (fatal) return Promise.reject(fatal);
      if (closed) return Promise.reject(new JournalError(JournalCode.CLOSED, "the journal follower is closed"));
      return new Promise<void>((resolve, reject) => {
        const w: Waiter = { seq, resolve, reject };
        w.timer = setTimeout(() => {
          waiters = waiters.filter((x) => x !== w);
          reject(new JournalError(JournalCode.IO, `the replica did not reach journal record ${seq} within ${timeoutMs} ms (it is at ${replica.lastSeq})`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      stop(new JournalError(JournalCode.CLOSED, "the journal follower is closed"));
      redis.disconnect(); // ends a blocking XREAD at once
      await running;
    },
  };
}
