import type { Journal } from "../journal/types.ts";
import { SenError } from "../errors/SenError.ts";
import { TradingCode } from "../trading/codes.ts";
import { recordMicros, type TradingRecord } from "../records/tradingRecords.ts";
import { TradingError } from "../trading/serviceTypes.ts";
import { TradingCore, type TradingCoreOptions } from "../trading/tradingCore.ts";

/** Past-book replays running or waiting at once; more are refused (each one holds the event loop in turns). */
const MAX_QUEUED_REPLAYS = 3;

/**
 * Records a past book replays at most, past the one asked for, looking for the next change.
 * The search runs on the trading event loop (in turns) and holds the history queue: a book
 * that stays quiet over a long journal would otherwise be replayed to the journal's end on
 * every query. Past this many it answers "no change in the next N records" and the caller
 * continues from there (a few hundred ms of replay at most).
 */
export const NEXT_CHANGE_SEARCH = 100_000n;

/**
 * What the last past-book query found between its record and the next change (or where its
 * search stopped): every record in [from, to] shows the same book at this depth, so a query
 * in that range is answered from here instead of replaying again (the replay cursor has moved
 * on to the change and cannot go back).
 */
type BookSpan = {
  symbol: string;
  depth: number;
  from: bigint;
  fromUs: bigint;
  to: bigint;
  /** Times at or after this are past the span (the time of the record after `to`, or of `to` at the journal's end). */
  endUs: bigint;
  endInclusive: boolean;
  book: Omit<PastBook, "seq" | "ts" | "us">;
};

/**
 * One symbol's book at one depth as a replay moves: the book it shows (`key`) and the last two
 * records that changed it, so a past book knows the record before it that changed it too.
 */
type BookTrack = { symbol: string; depth: number; key: string; touched: boolean; last: bigint | null; before: bigint | null };

/** A core replayed from the journal up to record `seq` (its time `ts` in ms, `us` in epoch µs; `maxUs`: latest time seen). */
type HistoryCursor = { core: TradingCore; seq: bigint; ts: number; us: bigint; maxUs: bigint; track: BookTrack };

/** A past book, and the records around it that changed what it shows (null: none, it is the first or last state). */
export type PastBook = {
  seq: bigint;
  ts: number;
  /** The record's time in epoch microseconds. */
  us: bigint;
  bids: Array<[number, number]>;
  asks: Array<[number, number]>;
  /** The record that made the book what it shows (null: it has not changed since the journal began). */
  changedAt: bigint | null;
  /** A record after which the book showed the state before this one. */
  prevSeq: bigint | null;
  /** The next record that changed it (null: none up to `journalEnd`, or up to `nextSearchedTo`). */
  nextSeq: bigint | null;
  /**
   * Set when the search for the next change stopped after NEXT_CHANGE_SEARCH records without
   * one: the last record searched (the book is the same up to it). Null when it found the
   * change or reached the journal's end.
   */
  nextSearchedTo: bigint | null;
  /** The journal's last record when the next change was looked for. */
  journalEnd: bigint;
};

const bookKey = (l2: { bids: Array<[number, number]>; asks: Array<[number, number]> } | null) => (l2 ? `${l2.bids.join(";")}|${l2.asks.join(";")}` : "|");

export type PastBooksOptions = {
  /** The journal the live exchange writes: past books are read back from it. */
  journal: Pick<Journal, "read">;
  /** The journal's last durable record now (a span that ran to the end holds only while nothing was appended). */
  journalEnd: () => bigint;
  /** What a scratch core is built with: the live one's catalog, fee account, volatility rule. */
  core: TradingCoreOptions;
};

/**
 * Past order books for compliance: the book of a symbol as it was after a journal record,
 * rebuilt by replaying the journal through a scratch TradingCore (the same deterministic apply
 * that built the live book), never touching the live state. Replays share the process's event
 * loop with trading, so they run one at a time and the last one is kept to continue from.
 */
export class PastBooks {
  readonly #journal: Pick<Journal, "read">;
  readonly #journalEnd: () => bigint;
  readonly #core: TradingCoreOptions;
  /** The last historical replay (bookAt), its position, and the queue replays wait in. */
  #history: HistoryCursor | null = null;
  #historyReplayed = 0;
  /** The stretch of records the last query found unchanged after its record (see BookSpan). */
  #span: BookSpan | null = null;
  #historyChain: Promise<unknown> = Promise.resolve();
  #historyTimer: NodeJS.Timeout | null = null;
  #historyQueued = 0;

  constructor(options: PastBooksOptions) {
    this.#journal = options.journal;
    this.#journalEnd = options.journalEnd;
    this.#core = options.core;
  }

  /**
   * The order book of `symbol` as it was right after journal record `seq` (or the last record
   * at or before time `ts`), rebuilt by replaying the journal through a separate core: the same
   * deterministic apply that built the live book. For compliance queries.
   *
   * It also names the records to step to: `prevSeq`, a record after which the book (at this
   * depth) showed its previous state, and `nextSeq`, the next record that changed it. Both come
   * from the same replay (the previous change is tracked on the way; the next one is found by
   * replaying on until the book changes, the journal ends, or `searchLimit` records pass:
   * then `nextSearchedTo` says where it stopped and a query there searches further), so a
   * step always shows a different book.
   *
   * Replays run one at a time (each one takes the event loop's time from trading), and the
   * last one is kept for a minute: a later point in history continues from it instead of from
   * the first record, so stepping forward through a day costs the records in between. The
   * records between the last query's and the change it found show the same book: a query
   * among them is answered from that (BookSpan), not by replaying from the start.
   */
  async bookAt(symbol: string, at: { seq?: bigint; ts?: number; us?: bigint }, depth = 50, signal?: AbortSignal, searchLimit = NEXT_CHANGE_SEARCH): Promise<PastBook> {
    if (!this.#core.catalog.market(symbol)) throw new TradingError(TradingCode.UNKNOWN_SYMBOL, `unknown symbol ${symbol}`);
    if (this.#historyQueued >= MAX_QUEUED_REPLAYS) throw new SenError("HISTORY_BUSY", "past order books are being rebuilt for other queries; retry shortly");
    this.#historyQueued++;
    const run = this.#historyChain
      .then(async () => {
        // A time in ms means every record stamped within that millisecond.
        const until = { seq: at.seq, us: at.us ?? (at.ts !== undefined ? BigInt(at.ts) * 1000n + 999n : undefined) };
        const inSpan = await this.#fromSpan(symbol, depth, until, signal);
        if (inSpan) return inSpan;
        const h = await this.#replayTo(symbol, depth, until, signal);
        const l2 = h.core.l2(symbol, depth);
        const { last, before } = h.track;
        // Before its first change the book was as the journal began (empty): the record before that change shows it.
        const prevSeq = last === null ? null : (before ?? (last > 1n ? last - 1n : null));
        const here = { seq: h.seq, ts: h.ts, us: h.us, bids: l2?.bids ?? [], asks: l2?.asks ?? [], changedAt: last, prevSeq };
        const after = await this.#replayTo(symbol, depth, { change: true, upTo: here.seq + searchLimit }, signal);
        const nextSeq = after.track.last !== null && after.track.last > here.seq ? after.track.last : null;
        const capped = nextSeq === null && after.seq >= here.seq + searchLimit && this.#journalEnd() > after.seq;
        const book = { bids: here.bids, asks: here.asks, changedAt: last, prevSeq, nextSeq, nextSearchedTo: capped ? after.seq : null, journalEnd: capped && this.#journalEnd() > after.seq ? this.#journalEnd() : after.seq };
        // The span ends before the change, or before the record a "search further" continues from (that one replays on).
        const spanEnd = nextSeq ?? (capped ? after.seq : null);
        this.#span = {
          symbol,
          depth,
          from: here.seq,
          fromUs: here.us,
          to: spanEnd === null ? after.seq : spanEnd - 1n,
          endUs: after.us,
          endInclusive: spanEnd === null,
          book,
        };
        return { ...here, ...book };
      })
      .finally(() => this.#historyQueued--);
    this.#historyChain = run.catch(() => undefined);
    return run;
  }

  /**
   * A query inside the last query's unchanged span: its book, with the record's own seq and
   * time read from the journal (one record, or for a time the span's records read without
   * applying them). Undefined when the query is outside it.
   */
  async #fromSpan(symbol: string, depth: number, at: { seq?: bigint; us?: bigint }, signal?: AbortSignal): Promise<PastBook | undefined> {
    const span = this.#span;
    if (!span || span.symbol !== symbol || span.depth !== depth) return undefined;
    // A span that ran to the journal's end says "no change since": true only while nothing was appended.
    if (span.endInclusive && this.#journalEnd() !== span.to) return undefined;
    const inside =
      at.seq !== undefined
        ? at.seq >= span.from && at.seq <= span.to
        : at.us !== undefined && at.us >= span.fromUs && (span.endInclusive ? at.us <= span.endUs : at.us < span.endUs);
    if (!inside) return undefined;
    let found: { seq: bigint; ts: number; us: bigint } | undefined;
    for await (const entry of this.#journal.read(at.seq ?? span.from)) {
      signal?.throwIfAborted();
      if (entry.seq > span.to) break;
      const record = entry.record as unknown as TradingRecord;
      const us = recordMicros(record);
      if (at.us !== undefined && us > at.us) break;
      found = { seq: entry.seq, ts: record.ts, us };
      if (at.seq !== undefined) break;
    }
    return found && { ...found, ...span.book };
  }

  /**
   * Replays to record `at.seq`, to the last record at or before `at.us` (epoch µs), or
   * (`at.change`) through the next record that changes the tracked book, stopping at record
   * `at.upTo` if none does.
   */
  async #replayTo(symbol: string, depth: number, at: { seq?: bigint; us?: bigint; change?: boolean; upTo?: bigint }, signal?: AbortSignal): Promise<HistoryCursor> {
    signal?.throwIfAborted();
    let h = this.#history;
    // Going back in time starts over: the journal is the only record of older states. So does
    // another book: its earlier changes were not tracked.
    if (!h || (at.seq !== undefined && at.seq < h.seq) || (at.us !== undefined && at.us < h.maxUs) || h.track.symbol !== symbol || h.track.depth !== depth) {
      const core = new TradingCore(this.#core);
      const track: BookTrack = { symbol, depth, key: bookKey(null), touched: false, last: null, before: null };
      core.subscribe((e) => {
        if (e.kind === "l2" && e.symbol === symbol) track.touched = true;
      });
      h = { core, seq: 0n, ts: 0, us: 0n, maxUs: 0n, track };
    }
    this.#history = null; // not reusable while it moves
    const track = h.track;
    for await (const entry of this.#journal.read(h.seq + 1n)) {
      if (signal?.aborted) {
        this.#keepHistory(h); // a consistent state after record h.seq: the next replay starts there
        signal.throwIfAborted();
      }
      const record = entry.record as unknown as TradingRecord;
      if (at.seq !== undefined && entry.seq > at.seq) break;
      if (at.upTo !== undefined && entry.seq > at.upTo) break;
      const us = recordMicros(record);
      if (at.us !== undefined && us > at.us) break;
      if (record.t !== "riskLimits") h.core.apply(record);
      this.#historyReplayed++;
      h.seq = entry.seq;
      h.ts = record.ts;
      h.us = us;
      if (us > h.maxUs) h.maxUs = us;
      if (!track.touched) continue;
      // A level changed somewhere in the book; it counts when the levels shown at this depth differ.
      track.touched = false;
      const key = bookKey(h.core.l2(symbol, depth));
      if (key === track.key) continue;
      track.key = key;
      track.before = track.last;
      track.last = entry.seq;
      if (at.change) break;
    }
    this.#keepHistory(h);
    return h;
  }

  /** Journal records past-book replays have applied since start (what they cost). */
  get historyReplayed(): number {
    return this.#historyReplayed;
  }

  #keepHistory(h: HistoryCursor): void {
    this.#history = h;
    if (this.#historyTimer) clearTimeout(this.#historyTimer);
    this.#historyTimer = setTimeout(() => {
      this.#history = null;
      this.#span = null;
    }, 60_000);
    this.#historyTimer.unref();
  }
}
