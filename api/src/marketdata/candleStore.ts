import { fdatasync, fsync, openSync, closeSync, constants as fsConstants } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { TradingEvent } from "../trading/events.ts";
import type { SnapshotPart } from "../trading/tradingService.ts";

/**
 * [start ms, open, close, high, low, volume (base units), turnover (quote units)]. Volume is a
 * bigint like turnover: a day's or a month's volume of an 18-decimal token passes 2^53 (and 2^63,
 * so both are stored as decimal text).
 */
export type Candle = [number, number, number, number, number, bigint, bigint];

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/**
 * KuCoin's candle types. Fixed widths are aligned on the Unix epoch, as KuCoin aligns them:
 * its `1week` candles start on Thursday 00:00 UTC (1970-01-01 was a Thursday; see
 * Kucoin/kucoin-api-docs issues 350 and 373), not on Monday. A client ported from KuCoin
 * expects that, and ccxt only needs each candle's start time. `1month` is the calendar month, UTC.
 */
export const CANDLE_TYPES = ["1min", "3min", "5min", "15min", "30min", "1hour", "2hour", "4hour", "6hour", "8hour", "12hour", "1day", "1week", "1month"] as const;
export type CandleType = (typeof CANDLE_TYPES)[number];

const WIDTH: Record<Exclude<CandleType, "1month">, number> = {
  "1min": MINUTE,
  "3min": 3 * MINUTE,
  "5min": 5 * MINUTE,
  "15min": 15 * MINUTE,
  "30min": 30 * MINUTE,
  "1hour": HOUR,
  "2hour": 2 * HOUR,
  "4hour": 4 * HOUR,
  "6hour": 6 * HOUR,
  "8hour": 8 * HOUR,
  "12hour": 12 * HOUR,
  "1day": DAY,
  "1week": 7 * DAY,
};

/** Start (ms) of the candle of `type` that contains `ts`. */
export function bucketStart(type: CandleType, ts: number): number {
  if (type === "1month") {
    const d = new Date(ts);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  }
  const w = WIDTH[type];
  return Math.floor(ts / w) * w;
}

/** Start (ms) of the candle after the one starting at `start`. */
export function nextBucket(type: CandleType, start: number): number {
  if (type === "1month") {
    const d = new Date(start);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  }
  return start + WIDTH[type];
}

/**
 * Candles are kept at three resolutions and every type is read from the coarsest one that
 * divides it, so one reply of at most 1,500 candles reads at most ~46,000 rows (1,500 months
 * of days; 30min reads 30 minutes per candle) however long the market has traded.
 */
const RESOLUTIONS = [
  { res: "m", width: MINUTE },
  { res: "h", width: HOUR },
  { res: "d", width: DAY },
] as const;
type Res = (typeof RESOLUTIONS)[number]["res"];
function sourceOf(type: CandleType): Res {
  if (type === "1month" || type === "1day" || type === "1week") return "d";
  return WIDTH[type] >= HOUR ? "h" : "m";
}

/** KuCoin's cap on rows per candles reply. */
export const MAX_CANDLES = 1_500;

type Trade = { symbol: string; sequence: number; price: number; size: number; funds: bigint; ts: number };
/** Durable queued trades not yet written, each once; `count`: how many queued trades they come from. */
type Unwritten = { trades: Trade[]; count: number; progress: Map<string, number> };
type Row = { o: number; c: number; h: number; l: number; v: bigint; t: bigint };

export type CandleStoreOptions = {
  /** SQLite file; ":memory:" keeps nothing across restarts. */
  file: string;
  /** Trades waiting to be written are written at least this often (ms). */
  flushMs?: number;
  /** ... or as soon as this many durable trades are waiting. */
  flushTrades?: number;
  /**
   * A failed write, or a trade left out of the candles because it alone cannot be written.
   * A store that cannot write at all (full disk) keeps its trades queued and in the snapshot,
   * and tries again after a growing pause (up to `maxRetryMs`), so each failure is reported once
   * per attempt, not once per trade.
   */
  onError?: (err: unknown) => void;
  /** Longest pause between attempts after failed writes (default 30 s). */
  maxRetryMs?: number;
  /**
   * Consecutive failed attempts after which the store stops retrying on its own (default 10):
   * the queue stays in memory and in every snapshot and is written at the next start.
   */
  maxAttempts?: number;
  /** While stopped, at most this many trades are kept queued; older ones are dropped and reported as a gap (default 500,000). */
  maxQueued?: number;
  /**
   * The store holds only the trades from its start on, by design (an edge's replica started from
   * a snapshot: its candle route is forwarded to the sequencer): the trades before are not a gap
   * to report.
   */
  fromStartOnly?: boolean;
};

/**
 * The life-long candle history of every market, in SQLite beside the journal.
 *
 * Fed from journaled trades only: `record` is a state listener (it sees each trade as the
 * core applies it, also during start-up replay) and `durable` is a delivery listener (it
 * sees a trade once its journal record is durable; trade sequences are global and in journal
 * order, so everything up to that sequence is durable). Only durable trades are written.
 *
 * Writes are batched (every `flushMs` or `flushTrades`), one transaction each, off the
 * matching path: a trade costs an array push. A transaction commits without waiting for the
 * disk (WAL, synchronous=NORMAL: a commit on the event loop is a memory copy, not an fsync
 * that stalls every socket for milliseconds); the WAL file is then fdatasync'd on libuv's
 * thread pool, and until that sync returns the written trades stay in the snapshot beside the
 * unwritten ones, so power lost before the sync loses nothing the snapshot does not hold.
 * Idempotent by trade sequence, kept per symbol in the same transaction as the candles, so
 * the journal replay after a snapshot (which repeats trades the store may already hold) never
 * counts a trade twice. What is applied but not yet
 * written when the trading core snapshots goes into the snapshot (this is a SnapshotPart), so
 * a trade the snapshot covers (and replay will not repeat) is never lost to a crash.
 */
export class CandleStore implements SnapshotPart {
  readonly name = "candles";
  readonly #db: DatabaseSync;
  readonly #pending: Trade[] = [];
  /** Written (committed in the WAL) but not yet known to be on disk: still carried by snapshots. */
  #unsynced: Trade[] = [];
  /** The WAL file, opened at the first sync (its directory synced then: a new file's name must survive too). */
  readonly #walFile: string | null;
  #walFd: number | null = null;
  /** A WAL sync running on the thread pool, and whether more was written after it started. */
  #syncing: Promise<void> | null = null;
  #syncAgain = false;
  #durableThrough = 0;
  readonly #progress = new Map<string, number>();
  readonly #flushMs: number;
  readonly #flushTrades: number;
  readonly #onError: (err: unknown) => void;
  readonly #maxRetryMs: number;
  readonly #maxAttempts: number;
  readonly #maxQueued: number;
  /** The first markDurable checks that every earlier trade is written or queued (a lost or older database is reported). */
  #checked: boolean;
  /** #unwritten() of the current queue, reused by the reads of one ticker tick. */
  #unwrittenCache: Unwritten | null = null;
  /** Consecutive failed writes: while above 0, writes wait for the retry timer (growing pause). */
  #failures = 0;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  readonly #select;
  readonly #upsert;
  readonly #setProgress;
  readonly #asc;
  readonly #desc;

  constructor(options: CandleStoreOptions) {
    this.#flushMs = options.flushMs ?? 200;
    this.#flushTrades = options.flushTrades ?? 2_000;
    this.#onError = options.onError ?? (() => undefined);
    this.#checked = options.fromStartOnly === true;
    this.#maxRetryMs = options.maxRetryMs ?? 30_000;
    this.#maxAttempts = options.maxAttempts ?? 10;
    this.#maxQueued = options.maxQueued ?? 500_000;
    this.#db = new DatabaseSync(options.file);
    // WAL + NORMAL: commits do not fsync (see the class comment: #syncWal makes them durable off
    // the loop). Checkpoints still sync, on the loop, once per ~1,000 WAL pages.
    const mode = this.#db.prepare("PRAGMA journal_mode = WAL").get();
    this.#db.exec("PRAGMA synchronous = NORMAL;");
    this.#walFile = String(mode?.journal_mode).toLowerCase() === "wal" ? `${options.file}-wal` : null;
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS candle (
        symbol TEXT NOT NULL, res TEXT NOT NULL, t INTEGER NOT NULL,
        o INTEGER NOT NULL, c INTEGER NOT NULL, h INTEGER NOT NULL, l INTEGER NOT NULL,
        v TEXT NOT NULL, turnover TEXT NOT NULL,
        PRIMARY KEY (symbol, res, t)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS progress (symbol TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;`);
    migrateVolumeToText(this.#db);
    for (const r of this.#db.prepare("SELECT symbol, seq FROM progress").all()) this.#progress.set(String(r.symbol), Number(r.seq));
    this.#select = this.#db.prepare("SELECT o, c, h, l, v, turnover FROM candle WHERE symbol = ? AND res = ? AND t = ?");
    this.#upsert = this.#db.prepare("INSERT OR REPLACE INTO candle (symbol, res, t, o, c, h, l, v, turnover) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    this.#setProgress = this.#db.prepare("INSERT OR REPLACE INTO progress (symbol, seq) VALUES (?, ?)");
    const range = "SELECT t, o, c, h, l, v, turnover FROM candle WHERE symbol = ? AND res = ? AND t >= ? AND t < ? ORDER BY t";
    this.#asc = this.#db.prepare(range);
    this.#desc = this.#db.prepare(`${range} DESC`);
  }

  /** State listener: every applied trade, live or replayed (not yet known to be durable). */
  readonly record = (e: TradingEvent): void => {
    if (e.kind !== "trade") return;
    this.#unwrittenCache = null;
    this.#pending.push({ symbol: e.symbol, sequence: e.sequence, price: e.price, size: e.size, funds: e.funds, ts: e.ts });
  };

  /** Delivery listener: the trade's record is durable, and so is every earlier one. */
  readonly durable = (e: TradingEvent): void => {
    if (e.kind !== "trade") return;
    this.markDurable(e.sequence);
  };

  /** Everything applied up to trade `sequence` is durable (after replay: everything replayed). */
  markDurable(sequence: number): void {
    if (sequence > this.#durableThrough) {
      this.#durableThrough = sequence;
      this.#unwrittenCache = null;
    }
    if (this.#closed) return;
    if (!this.#checked) this.#checkContinuity();
    if (this.stalled) {
      this.#capQueue();
      return;
    }
    // After a failed write only the retry timer writes: a full disk is not hit again on every trade.
    if (this.#failures === 0 && this.#pending.length >= this.#flushTrades) this.#tryFlush();
    else this.#schedule();
  }

  /** Writes failed `maxAttempts` times in a row: no more retries until the next start. */
  get stalled(): boolean {
    return this.#failures >= this.#maxAttempts;
  }

  #schedule(): void {
    if (this.#timer || this.#closed || this.#pending.length === 0 || this.stalled) return;
    const delay = this.#failures === 0 ? this.#flushMs : Math.min(this.#maxRetryMs, this.#flushMs * 2 ** this.#failures);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#tryFlush();
    }, delay);
    this.#timer.unref();
  }

  /** A write that never throws: a failure is reported, the trades stay queued, a retry is scheduled. */
  #tryFlush(): void {
    try {
      this.flush();
    } catch (err) {
      this.#onError(err);
      if (this.stalled) this.#onError(new Error(`candle store: writes stopped after ${this.#failures} failed attempts; ${this.#pending.length} trades stay queued (and in snapshots) and are written at the next start`));
      this.#schedule();
    }
  }

  /** While stalled the queue is bounded: the oldest trades go, reported as a gap to rebuild from the journal. */
  #capQueue(): void {
    if (this.#pending.length <= this.#maxQueued) return;
    // Down to 90% of the bound: one report per tenth of it, not one per trade.
    const dropped = this.#pending.splice(0, this.#pending.length - Math.floor(this.#maxQueued * 0.9));
    this.#unwrittenCache = null;
    this.#onError(new Error(`candle store: trades ${dropped[0].sequence}..${dropped[dropped.length - 1].sequence} dropped from the candles (writes stopped, queue full); rebuild from the journal`));
  }

  /**
   * Trades are numbered 1, 2, ... across symbols and written in that order, so each trade up to
   * the highest written one is in the database; every later durable one must be queued. A
   * database lost, restored from a backup, or older than the snapshot leaves a range that is
   * neither: reported (it would otherwise be a silent hole in the history).
   */
  #checkContinuity(): void {
    this.#checked = true;
    let written = 0;
    for (const seq of this.#progress.values()) if (seq > written) written = seq;
    let next = this.#durableThrough + 1;
    for (const t of this.#pending) if (t.sequence < next) next = t.sequence;
    if (next - 1 > written) this.#onError(new Error(`candle store: trades ${written + 1}..${next - 1} are missing from the candle history (its database is older than the snapshot); rebuild from the journal`));
  }

  /**
   * Durable waiting trades not yet in the database, in order, each once (a replay after an
   * older snapshot repeats trades the database or the queue already holds); `count`: how many
   * queued trades they come from.
   */
  #unwritten(): Unwritten {
    this.#unwrittenCache ??= this.#unwrittenNow();
    return this.#unwrittenCache;
  }

  #unwrittenNow(): Unwritten {
    let count = 0;
    while (count < this.#pending.length && this.#pending[count].sequence <= this.#durableThrough) count++;
    const trades: Trade[] = [];
    const progress = new Map<string, number>();
    for (let i = 0; i < count; i++) {
      const tr = this.#pending[i];
      const done = progress.get(tr.symbol) ?? this.#progress.get(tr.symbol) ?? 0;
      if (tr.sequence <= done) continue;
      progress.set(tr.symbol, tr.sequence);
      trades.push(tr);
    }
    return { trades, count, progress };
  }

  /**
   * Writes every durable waiting trade in one transaction. When the batch fails, each trade is
   * tried alone: one that fails while the database still takes writes is left out of the
   * candles and reported (it would otherwise block every later trade forever); if the database
   * takes no write at all, the error is thrown and everything stays queued.
   */
  flush(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#closed) return;
    const { trades, count, progress } = this.#unwritten();
    if (count === 0) return;
    try {
      this.#write(trades, progress);
    } catch (err) {
      if (trades.length <= 1 && !this.#writable()) throw this.#failed(err);
      for (const tr of trades) {
        try {
          this.#write([tr], new Map([[tr.symbol, tr.sequence]]));
        } catch (one) {
          if (!this.#writable()) throw this.#failed(one);
          // The database takes writes but not this trade: record it and move past it.
          try {
            this.#write([], new Map([[tr.symbol, tr.sequence]]));
          } catch (skip) {
            throw this.#failed(skip);
          }
          this.#onError(new Error(`candle store: trade ${tr.sequence} of ${tr.symbol} left out of the candles (${(one as Error).message})`, { cause: one }));
        }
        this.#unsynced.push(...this.#pending.splice(this.#pending.indexOf(tr), 1));
        this.#unwrittenCache = null;
      }
    }
    this.#failures = 0;
    // What remains of the first `count` queued trades was already written (or repeated).
    let left = 0;
    while (left < this.#pending.length && this.#pending[left].sequence <= this.#durableThrough && (this.#progress.get(this.#pending[left].symbol) ?? 0) >= this.#pending[left].sequence) left++;
    for (const tr of this.#pending.splice(0, left)) this.#unsynced.push(tr);
    this.#unwrittenCache = null;
    this.#syncWal();
    if (this.#pending.length > 0 && this.#pending[0].sequence <= this.#durableThrough) this.#schedule();
  }

  /** Resolves once every trade written so far is on disk (or its sync failed and it stays in snapshots). */
  async synced(): Promise<void> {
    while (this.#syncing) await this.#syncing;
  }

  /**
   * fdatasync of the WAL on the thread pool; the trades written before it started leave the
   * snapshot when it returns. One sync at a time; writes meanwhile get one more after it.
   */
  #syncWal(): void {
    if (this.#unsynced.length === 0) return;
    if (this.#syncing) {
      this.#syncAgain = true;
      return;
    }
    if (this.#walFile === null) {
      // ":memory:" (or a journal mode without a WAL): nothing on disk to wait for.
      this.#unsynced = [];
      return;
    }
    const batch = this.#unsynced;
    const covered = batch.length;
    this.#syncing = this.#datasync().then(
      () => {
        batch.splice(0, covered);
      },
      (err: unknown) => {
        // The trades stay in the snapshot; the next write's sync covers them again.
        this.#onError(err);
      },
    ).finally(() => {
      this.#syncing = null;
      if (this.#syncAgain && !this.#closed) {
        this.#syncAgain = false;
        this.#syncWal();
      }
    });
  }

  async #datasync(): Promise<void> {
    if (this.#walFd === null) {
      const dir = openSync(path.dirname(this.#walFile!), fsConstants.O_RDONLY);
      try {
        await new Promise<void>((resolve, reject) => fsync(dir, (err) => (err ? reject(err) : resolve())));
      } finally {
        closeSync(dir);
      }
      // Closed meanwhile: SQLite's close checkpointed (and synced) everything.
      if (this.#closed) return;
      this.#walFd ??= openSync(this.#walFile!, fsConstants.O_RDONLY);
    }
    const fd = this.#walFd;
    await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  }

  #failed(err: unknown): unknown {
    this.#failures++;
    return err;
  }

  /** Whether the database takes a write at all (a full disk, a read-only file: it does not). */
  #writable(): boolean {
    try {
      this.#db.exec("BEGIN IMMEDIATE; INSERT OR REPLACE INTO progress (symbol, seq) VALUES ('', 0); DELETE FROM progress WHERE symbol = ''; COMMIT;");
      return true;
    } catch {
      this.#rollback();
      return false;
    }
  }

  #rollback(): void {
    try {
      this.#db.exec("ROLLBACK");
    } catch {
      // SQLite already rolled the transaction back (e.g. SQLITE_FULL).
    }
  }

  /** One transaction: the trades' candles at every resolution and each symbol's progress. */
  #write(trades: Trade[], progress: Map<string, number>): void {
    // Merged in memory first: one read and one write per touched candle, not per trade.
    const touched = new Map<string, { symbol: string; res: Res; t: number; row: Row }>();
    for (const tr of trades) {
      for (const { res, width } of RESOLUTIONS) {
        const t = Math.floor(tr.ts / width) * width;
        const key = `${tr.symbol}\u0000${res}\u0000${t}`;
        let entry = touched.get(key);
        if (!entry) {
          const saved = this.#select.get(tr.symbol, res, t);
          const row: Row | null = saved ? { o: Number(saved.o), c: Number(saved.c), h: Number(saved.h), l: Number(saved.l), v: BigInt(String(saved.v)), t: BigInt(String(saved.turnover)) } : null;
          entry = { symbol: tr.symbol, res, t, row: row ?? { o: tr.price, c: tr.price, h: tr.price, l: tr.price, v: 0n, t: 0n } };
          touched.set(key, entry);
        }
        mergeTrade(entry.row, tr);
      }
    }
    this.#db.exec("BEGIN");
    try {
      for (const e of touched.values()) this.#upsert.run(e.symbol, e.res, e.t, e.row.o, e.row.c, e.row.h, e.row.l, e.row.v.toString(), e.row.t.toString());
      for (const [symbol, seq] of progress) this.#setProgress.run(symbol, seq);
      this.#db.exec("COMMIT");
    } catch (err) {
      this.#rollback();
      throw err;
    }
    for (const [symbol, seq] of progress) this.#progress.set(symbol, seq);
    this.#unwrittenCache = null;
  }

  /**
   * Candles of `type` that overlap [fromMs, toMs], oldest first, at most `limit`:
   * the earliest ones when `keep` is "first" (paging forward from a start), else the latest.
   * Durable trades still queued are counted in from memory: a read never writes (no fsync on a
   * public request, no failure of a read because the disk is full).
   */
  candles(symbol: string, type: CandleType, fromMs: number, toMs: number, limit = MAX_CANDLES, keep: "first" | "last" = "last"): Candle[] {
    const from = bucketStart(type, Math.max(0, fromMs));
    if (toMs < from) return [];
    const to = nextBucket(type, bucketStart(type, toMs));
    // Read from the end that is kept, and stop there: a long history is never scanned whole.
    const rows = keep === "first" ? this.#asc.iterate(symbol, sourceOf(type), from, to) : this.#desc.iterate(symbol, sourceOf(type), from, to);
    const out: Candle[] = [];
    let cur: Candle | null = null;
    for (const r of rows) {
      const t = Number(r.t);
      const start = bucketStart(type, t);
      if (cur && cur[0] === start) {
        if (keep === "first") cur[2] = Number(r.c);
        else cur[1] = Number(r.o); // descending: each earlier row holds an earlier open
        cur[3] = Math.max(cur[3], Number(r.h));
        cur[4] = Math.min(cur[4], Number(r.l));
        cur[5] += BigInt(String(r.v));
        cur[6] += BigInt(String(r.turnover));
        continue;
      }
      if (out.length === limit) break;
      cur = [start, Number(r.o), Number(r.c), Number(r.h), Number(r.l), BigInt(String(r.v)), BigInt(String(r.turnover))];
      out.push(cur);
    }
    if (keep === "last") out.reverse();
    // Queued trades are later than every written one: they extend the newest candles.
    let merged = false;
    const byStart = new Map<number, Candle>();
    for (const tr of this.#unwritten().trades) {
      if (tr.symbol !== symbol || tr.ts < from || tr.ts >= to) continue;
      if (byStart.size === 0) for (const c of out) byStart.set(c[0], c);
      const start = bucketStart(type, tr.ts);
      const c = byStart.get(start);
      if (c) {
        c[2] = tr.price;
        c[3] = Math.max(c[3], tr.price);
        c[4] = Math.min(c[4], tr.price);
        c[5] += BigInt(tr.size);
        c[6] += tr.funds;
      } else {
        const fresh: Candle = [start, tr.price, tr.price, tr.price, tr.price, BigInt(tr.size), tr.funds];
        out.push(fresh);
        byStart.set(start, fresh);
        merged = true;
      }
    }
    if (merged) {
      out.sort((a, b) => a[0] - b[0]);
      if (out.length > limit) out.splice(keep === "first" ? limit : 0, out.length - limit);
    }
    return out;
  }

  /** The candle of `type` containing `ts`, if any trade fell in it. */
  candleAt(symbol: string, type: CandleType, ts: number): Candle | undefined {
    const start = bucketStart(type, ts);
    return this.candles(symbol, type, start, start, 1)[0];
  }

  /**
   * Applied trades not yet written: the snapshot carries them (it is saved once they are
   * durable). No write here: this runs on the trading core's commit path, which must not fail
   * or wait on the candle database.
   */
  snapshot(): unknown {
    return [...this.#unsynced, ...this.#pending].map((t) => ({ ...t, funds: t.funds.toString() }));
  }

  restore(state: unknown): void {
    const saved = state as Array<Omit<Trade, "funds"> & { funds: string }>;
    this.#pending.splice(0, this.#pending.length, ...saved.map((t) => ({ ...t, funds: BigInt(t.funds) })));
    this.#unsynced = [];
    this.#unwrittenCache = null;
    // A snapshot is only ever written once the journal holds everything in it.
    for (const t of saved) if (t.sequence > this.#durableThrough) this.#durableThrough = t.sequence;
  }

  /** After the trading core's final snapshot (which holds whatever this last write leaves queued). */
  close(): void {
    if (this.#closed) return;
    try {
      this.flush();
    } catch (err) {
      this.#onError(err);
    } finally {
      this.#closed = true;
      if (this.#timer) clearTimeout(this.#timer);
      // SQLite's last connection checkpoints on close, syncing the WAL and then the database.
      this.#db.close();
      this.#unsynced = [];
      const fd = this.#walFd;
      this.#walFd = null;
      if (fd !== null) {
        // Not under a sync still running on the thread pool.
        if (this.#syncing) void this.#syncing.finally(() => closeSync(fd));
        else closeSync(fd);
      }
    }
  }
}

function mergeTrade(row: Row, tr: Trade): void {
  row.c = tr.price;
  row.h = Math.max(row.h, tr.price);
  row.l = Math.min(row.l, tr.price);
  row.v += BigInt(tr.size);
  row.t += tr.funds;
}

/** A store written before volume became decimal text (INTEGER column): the same rows, v as text. */
function migrateVolumeToText(db: DatabaseSync): void {
  const v = db.prepare("SELECT type FROM pragma_table_info('candle') WHERE name = 'v'").get();
  if (String(v?.type).toUpperCase() !== "INTEGER") return;
  db.exec(`BEGIN;
    CREATE TABLE candle_text (
      symbol TEXT NOT NULL, res TEXT NOT NULL, t INTEGER NOT NULL,
      o INTEGER NOT NULL, c INTEGER NOT NULL, h INTEGER NOT NULL, l INTEGER NOT NULL,
      v TEXT NOT NULL, turnover TEXT NOT NULL,
      PRIMARY KEY (symbol, res, t)) WITHOUT ROWID;
    INSERT INTO candle_text SELECT symbol, res, t, o, c, h, l, CAST(v AS TEXT), turnover FROM candle;
    DROP TABLE candle;
    ALTER TABLE candle_text RENAME TO candle;
    COMMIT;`);
}
