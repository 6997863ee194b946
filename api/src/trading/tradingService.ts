import type { Journal, SnapshotStore } from "../journal/types.ts";
import type { HolderRules } from "../risk/holderRules.ts";
import type { Listing } from "../listing/listing.ts";
import type { PilotRules } from "../listing/pilotRules.ts";
import { preTradeCheck } from "../risk/preTradeCheck.ts";
import { TokenBuckets } from "../risk/tokenBucket.ts";
import type { RiskConfig } from "../risk/types.ts";
import { SenError } from "../errors/SenError.ts";
import { TradingCode } from "./codes.ts";
import type { TradingEvent, TradingListener } from "./events.ts";
import { isWaitingStop, type Order, type SettlementTrade } from "./orders.ts";
import { recordMicros, recordTimeOf, type CancelReason, type PlaceRecord, type RecordTime, type TradingRecord } from "./records.ts";
import { TradingCore, type ApplyResult, type TradingCoreOptions, type TradingCoreSnapshot } from "./tradingCore.ts";

export { TradingCode } from "./codes.ts";

/** A refused command; `code` is a RISK_*, ENGINE_* or TRADING_* code. Nothing changed. */
export class TradingError extends SenError {
  override name = "TradingError" as const;
}

/** Extra state that lives beside the core and is snapshotted with it (market data). */
export interface SnapshotPart {
  readonly name: string;
  snapshot(): unknown;
  restore(state: unknown): void;
}

export type TradingServiceOptions = {
  core: TradingCoreOptions;
  journal: Journal;
  snapshots?: SnapshotStore;
  /** Take a snapshot after this many records (default 10,000). */
  snapshotEvery?: number;
  /**
   * A journal write not durable within this many ms fails the exchange (fail-stop) instead of
   * leaving requests hanging on a stalled disk or Redis (default 3,000).
   */
  journalDeadlineMs?: number;
  risk: RiskConfig;
  /** The pilot's rules, for naming them in refusals (listing/pilotRules.ts). */
  pilotRules?: PilotRules;
  now: () => number;
  /**
   * The business clock (clock/microClock.ts), epoch µs, strictly increasing: every record is
   * stamped from it as it is journaled (`ts` + `us`). Absent: records carry `now`'s milliseconds.
   */
  clock?: () => bigint;
  parts?: SnapshotPart[];
  /** Durable-event listeners: called after the journal made the events' records durable. */
  listeners?: TradingListener[];
  /**
   * State listeners: called synchronously as each record is applied (also during replay); they
   * keep derived state that is snapshotted with the core (SnapshotPart), e.g. market data.
   */
  stateListeners?: TradingListener[];
  onError?: (err: unknown, what: string) => void;
  /** Called with the rule code of every refused order (metrics). */
  onRejected?: (code: string) => void;
  observer?: TradingObserver;
};

export type PlaceInput = Omit<PlaceRecord, "t" | "ts" | "us" | "orderId">;

/** Where a command came from, for the audit trail (not journaled: it does not change state). */
export type CommandOrigin = { ip?: string; wallet?: string };

/**
 * Sees every command and every applied record, for the audit trail. Records are reported
 * live after the journal made them durable, and again during start-up replay (`replay`
 * true) so an observer that fell behind before a crash can catch up from the journal.
 */
export interface TradingObserver {
  orderReceived(input: PlaceInput, origin: CommandOrigin | undefined, at: RecordTime): void;
  orderRefused(input: PlaceInput, code: string, message: string, origin: CommandOrigin | undefined, at: RecordTime): void;
  /**
   * An amendment of live order `order` refused before it was journaled: recorded under the
   * order's id, so the order's lifecycle shows it (a refused placement has no id yet).
   */
  amendmentRefused?(order: Readonly<Order>, change: { price?: number; size?: number }, code: string, message: string, origin: CommandOrigin | undefined, at: RecordTime): void;
  /** A withdrawal refused before it was journaled (the chain would not pay it out). */
  withdrawalRefused?(accountId: string, currency: string, amount: bigint, code: string, message: string, at: RecordTime): void;
  recordApplied(seq: bigint, record: TradingRecord, events: readonly TradingEvent[], result: ApplyResult, replay: boolean): void;
  /** Resolves once everything observed so far is durable; snapshots wait for it (so replay can always fill the observer's gaps). */
  flush(): Promise<void>;
}

/** A replica's journal: it has nothing to write and nothing of its own to read. */
const REPLICA_JOURNAL: Journal = {
  open: () => Promise.resolve({ lastSeq: 0n }),
  append() {
    throw new SenError("CLUSTER_REPLICA_READ_ONLY", "a replica applies the sequencer's records; commands go to the sequencer");
  },
  flush: () => Promise.resolve(),
  read() {
    throw new SenError("CLUSTER_REPLICA_READ_ONLY", "a replica has no journal of its own to read; past books are the sequencer's");
  },
  close: () => Promise.resolve(),
};

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

/**
 * The sequencer: the single writer of the exchange's state. For each command it runs the
 * pre-trade checks, journals the accepted record, applies it to the TradingCore and
 * acknowledges only once the journal says the record is durable; events reach subscribers
 * (market data, websockets) only after that too, so nothing a client saw can be lost.
 * Concurrent requests share journal writes (group commit).
 */
export class TradingService {
  readonly core: TradingCore;
  readonly risk: RiskConfig;
  readonly pilotRules?: PilotRules;
  readonly #journal: Journal;
  readonly #snapshots?: SnapshotStore;
  readonly #snapshotEvery: number;
  readonly #coreOptions: TradingCoreOptions;
  readonly #now: () => number;
  readonly #clock?: () => bigint;
  readonly #parts: SnapshotPart[];
  readonly #buckets = new TokenBuckets();
  readonly #listeners: TradingListener[];
  #buffer: TradingEvent[] = [];
  #lastSeq = 0n;
  #sinceSnapshot = 0;
  #snapshotChain: Promise<void> = Promise.resolve();
  /** The last historical replay (bookAt), its position, and the queue replays wait in. */
  #history: HistoryCursor | null = null;
  #historyReplayed = 0;
  /** The stretch of records the last query found unchanged after its record (see BookSpan). */
  #span: BookSpan | null = null;
  #historyChain: Promise<unknown> = Promise.resolve();
  #historyTimer: NodeJS.Timeout | null = null;
  #historyQueued = 0;
  readonly #onError: (err: unknown, what: string) => void;
  readonly #onRejected: (code: string) => void;
  #observer?: TradingObserver;
  /** Set when the journal failed: the state may be ahead of what is durable, so stop. */
  #failed: unknown = null;
  readonly #journalDeadlineMs: number;
  /** Trades 1..n are in durable records: only those may be settled on chain. */
  #durableTrades = 0;
  /** Failed trades queued again by a retry whose record is not durable yet: not to be settled before it is. */
  readonly #retrying = new Set<string>();
  #holderRules: HolderRules | null = null;
  /** Built by follower(): applies the sequencer's records, journals none. */
  #replica = false;

  private constructor(core: TradingCore, options: TradingServiceOptions, lastSeq: bigint) {
    this.core = core;
    this.risk = options.risk;
    this.pilotRules = options.pilotRules;
    this.#journal = options.journal;
    this.#snapshots = options.snapshots;
    this.#snapshotEvery = options.snapshotEvery ?? 10_000;
    this.#coreOptions = options.core;
    this.#now = options.now;
    this.#clock = options.clock;
    this.#parts = options.parts ?? [];
    this.#listeners = [...(options.listeners ?? [])];
    this.#onError = options.onError ?? (() => undefined);
    this.#onRejected = options.onRejected ?? (() => undefined);
    this.#observer = options.observer;
    this.#lastSeq = lastSeq;
    this.#journalDeadlineMs = options.journalDeadlineMs ?? 3_000;
    this.#durableTrades = core.tradeCount;
    for (const l of options.stateListeners ?? []) core.subscribe(l);
    core.subscribe((e) => this.#buffer.push(e));
  }

  /**
   * Rebuilds the exchange from the latest snapshot plus the journal's tail. Listeners given
   * in options see the replayed events (market data rebuilds itself that way).
   */
  static async open(options: TradingServiceOptions): Promise<{ service: TradingService; replayed: number; lastRecordUs?: bigint }> {
    const { lastSeq } = await options.journal.open();
    const snap = options.snapshots ? await options.snapshots.load() : null;
    let core: TradingCore;
    let from = 1n;
    if (snap) {
      const state = snap.state as { core: TradingCoreSnapshot; risk: RiskConfig; parts: Record<string, unknown> };
      core = TradingCore.restore(state.core, options.core);
      options = { ...options, risk: state.risk };
      for (const p of options.parts ?? []) if (p.name in state.parts) p.restore(state.parts[p.name]);
      from = snap.seq + 1n;
    } else {
      core = new TradingCore(options.core);
    }
    const service = new TradingService(core, options, snap?.seq ?? 0n);
    let replayed = 0;
    // The last record's time: the business clock must not restart below it (context.ts, docs/clock.md).
    let lastRecordUs: bigint | undefined;
    for await (const entry of options.journal.read(from)) {
      const record = entry.record as unknown as TradingRecord;
      lastRecordUs = recordMicros(record);
      const result = service.#applyRecord(record);
      if (service.#observer) service.#observe(entry.seq, record, service.#buffer, result, true);
      service.#buffer = []; // history: state listeners saw it; nothing to deliver live
      service.#lastSeq = entry.seq;
      replayed++;
    }
    if (service.#lastSeq !== lastSeq) {
      throw new SenError("JOURNAL_CORRUPT", `journal ends at ${lastSeq} but replay stopped at ${service.#lastSeq}`);
    }
    service.#durableTrades = service.core.tradeCount; // everything replayed was durable
    return { service, replayed, lastRecordUs };
  }

  /**
   * A read replica (an edge, scale-out): it never writes a journal; the sequencer's durable
   * records are fed to applyDurable in journal order and give the same events, to the same
   * kinds of listeners, as on the sequencer. Its commands refuse (the stand-in journal throws
   * before anything is applied): commands go to the sequencer.
   */
  static follower(options: Omit<TradingServiceOptions, "journal" | "snapshots" | "observer" | "clock">): TradingService {
    const service = new TradingService(new TradingCore(options.core), { ...options, journal: REPLICA_JOURNAL }, 0n);
    service.#replica = true;
    return service;
  }

  /**
   * Applies journal record `seq`, durable on the sequencer, through the replay path and
   * delivers its events to the subscribers at once (it is durable already). Records must come
   * gap-free in order; a gap, or a record the core throws on, is refused with JOURNAL_CORRUPT
   * and nothing after it may be applied (the replica is then behind for good: fail-stop).
   */
  applyDurable(seq: bigint, record: TradingRecord): ApplyResult {
    if (!this.#replica) throw new SenError("JOURNAL_CORRUPT", "applyDurable is for replicas; the sequencer applies its own records");
    if (this.#failed) throw new SenError("JOURNAL_CORRUPT", "the replica stopped at a record it could not apply", { cause: this.#failed });
    if (seq !== this.#lastSeq + 1n) {
      this.#failed = new SenError("JOURNAL_CORRUPT", `replica at record ${this.#lastSeq} was fed record ${seq}`);
      throw this.#failed;
    }
    let result: ApplyResult;
    try {
      result = this.#applyRecord(record);
    } catch (err) {
      this.#failed = err;
      throw new SenError("JOURNAL_CORRUPT", `record ${seq} (${record.t}) cannot be applied: ${(err as Error)?.message ?? err}`, { cause: err });
    }
    this.#lastSeq = seq;
    this.#durableTrades = this.core.tradeCount;
    const events = this.#buffer;
    this.#buffer = [];
    this.#deliver(events);
    return result;
  }

  subscribe(listener: TradingListener): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /** Attaches the audit observer after start-up (it then only sees live records). */
  setObserver(observer: TradingObserver): void {
    this.#observer = observer;
  }

  /** Checks orders and withdrawals against the chain's holder rules from now on. */
  setHolderRules(rules: HolderRules): void {
    this.#holderRules = rules;
  }

  get holderRules(): HolderRules | null {
    return this.#holderRules;
  }

  get failed(): boolean {
    return this.#failed !== null;
  }

  /**
   * Unsettled trades whose records the journal has made durable, in queue order, stopping at
   * the first one that is not (a retried trade queued behind it waits one group commit). A
   * trade applied in memory but not yet durable could vanish in a crash and its id be given to
   * another trade, so the chain must not see it before then; after a journal failure nothing
   * is settled at all (its "settled" record could not be written).
   */
  *settleableTrades(): Generator<Readonly<SettlementTrade>> {
    if (this.#failed !== null) return;
    for (const t of this.core.unsettledTrades()) {
      if (Number.parseInt(t.tradeId, 16) > this.#durableTrades) return;
      if (this.#retrying.has(t.tradeId)) continue;
      yield t;
    }
  }

  get lastSeq(): bigint {
    return this.#lastSeq;
  }

  // ------------------------------------------------------------------ commands

  async placeOrder(input: PlaceInput, origin?: CommandOrigin): Promise<Readonly<Order>> {
    const received = this.#stamp();
    const now = received.ts;
    this.#observer?.orderReceived(input, origin, received);
    const refuse = (code: string, message: string) => {
      this.#onRejected(code);
      this.#observer?.orderRefused(input, code, message, origin, this.#stamp());
      return new TradingError(code, message);
    };
    if (!this.core.catalog.market(input.symbol)) throw refuse(TradingCode.UNKNOWN_SYMBOL, `unknown symbol ${input.symbol}`);
    if (this.#failed) throw new SenError("JOURNAL_IO", "the journal failed; the exchange stopped accepting commands", { cause: this.#failed });
    const rejection = preTradeCheck({ ...input, ts: now }, this.core, this.risk, this.#buckets, now, this.#holderRules, this.pilotRules);
    if (rejection) throw refuse(rejection.code, rejection.message);
    const record: PlaceRecord = { t: "place", ts: now, orderId: this.core.nextOrderId(), ...input };
    const result = await this.#commit(record);
    if (!result.ok) {
      this.#onRejected(result.code);
      throw new TradingError(result.code, `order refused by the engine: ${result.code}`, { details: { orderId: record.orderId } });
    }
    return result.order!;
  }

  async cancelOrder(accountId: string, orderId: string): Promise<Readonly<Order>> {
    const order = this.core.order(orderId);
    // Someone else's order is reported exactly like a missing one.
    if (!order || order.accountId !== accountId) throw new TradingError(TradingCode.ORDER_NOT_FOUND, "order not found");
    if (!order.isActive) throw new TradingError(TradingCode.ORDER_NOT_ACTIVE, "order is not active");
    const result = await this.#commit({ t: "cancel", ts: this.#now(), orderId, accountId });
    if (!result.ok) throw new TradingError(TradingCode.ORDER_NOT_ACTIVE, "order is not active");
    return this.core.order(orderId)!;
  }

  /**
   * Cancels every open order of the account (optionally one symbol); returns their ids.
   * `scope` "orders": only live orders; "stops": only stops waiting for their trigger; absent: both.
   */
  async cancelAll(accountId: string, reason: CancelReason, symbol?: string, scope?: "orders" | "stops"): Promise<string[]> {
    const ids = [...this.core.openOrderIds(accountId)].filter((id) => {
      const o = this.core.order(id);
      if (!o || (symbol !== undefined && o.symbol !== symbol)) return false;
      return scope === undefined || (scope === "stops") === isWaitingStop(o);
    });
    if (ids.length === 0) return [];
    await this.#commit({ t: "cancelAll", ts: this.#now(), accountId, symbol, reason, scope });
    return ids;
  }

  /**
   * New price and/or total size (`size`, filled part included) for an own live limit order,
   * after the pre-trade checks for the order it becomes (a rise must be covered by available
   * funds and the limits). Refused: nothing changed.
   */
  async amendOrder(accountId: string, orderId: string, change: { price?: number; size?: number }, origin?: CommandOrigin): Promise<Readonly<Order>> {
    const order = this.core.order(orderId);
    if (!order || order.accountId !== accountId || isWaitingStop(order)) throw new TradingError(TradingCode.ORDER_NOT_FOUND, "order not found");
    if (!order.isActive) throw new TradingError(TradingCode.ORDER_NOT_ACTIVE, "order is not active");
    if (order.type !== "limit") throw new TradingError("ENGINE_NOT_AMENDABLE", "only limit orders can be amended");
    if (this.#failed) throw new SenError("JOURNAL_IO", "the journal failed; the exchange stopped accepting commands", { cause: this.#failed });
    const price = change.price ?? order.price;
    const size = change.size ?? order.size;
    if (price === order.price && size === order.size) throw new TradingError("ENGINE_AMEND_NO_CHANGE", "the new price and size are the order's own");
    if (size <= order.dealSize) throw new TradingError("ENGINE_INVALID_QTY", "the new size must be above the size already filled");
    const now = this.#now();
    const input: PlaceInput = { ...pickPlaceInput(order), price, size: size - order.dealSize };
    const rejection = preTradeCheck({ ...input, ts: now }, this.core, this.risk, this.#buckets, now, this.#holderRules, this.pilotRules, order);
    if (rejection) {
      this.#onRejected(rejection.code);
      const at = this.#stamp();
      if (this.#observer?.amendmentRefused) this.#observer.amendmentRefused(order, change, rejection.code, rejection.message, origin, at);
      else this.#observer?.orderRefused(input, rejection.code, rejection.message, origin, at);
      throw new TradingError(rejection.code, rejection.message);
    }
    const result = await this.#commit({ t: "amend", ts: now, orderId, accountId, price: change.price, size: change.size });
    if (!result.ok) {
      this.#onRejected(result.code);
      throw new TradingError(result.code, `amendment refused: ${result.code}`, { details: { orderId } });
    }
    return this.core.order(orderId) ?? order;
  }

  /** Credits a deposit exactly once per `ref` (the chain's deposit id); false if already applied. */
  async deposit(accountId: string, currency: string, amount: bigint, ref: string): Promise<boolean> {
    if (!this.core.catalog.currency(currency)) throw new TradingError(TradingCode.UNKNOWN_CURRENCY, `unknown currency ${currency}`);
    if (amount <= 0n) throw new TradingError(TradingCode.BAD_AMOUNT, "amount must be positive");
    if (this.core.depositApplied(ref)) return false;
    const r = await this.#commit({ t: "deposit", ts: this.#now(), accountId, currency, amount: amount.toString(), ref });
    return r.ok;
  }

  async setMarketHalted(symbol: string, halted: boolean, reason: string, by?: string): Promise<void> {
    if (!this.core.catalog.market(symbol)) throw new TradingError(TradingCode.UNKNOWN_SYMBOL, `unknown symbol ${symbol}`);
    await this.#commit({ t: "marketStatus", ts: this.#now(), symbol, halted, reason, by });
  }

  /** Records that `tradeIds` are settled on chain by transaction `txHash`. */
  async confirmSettled(tradeIds: string[], txHash: string): Promise<void> {
    await this.#commit({ t: "settled", ts: this.#now(), tradeIds, txHash });
  }

  /** Takes a trade the vault refuses out of the settlement queue, with the decoded reason. */
  async settlementFailed(tradeId: string, reason: string): Promise<void> {
    const r = await this.#commit({ t: "settleFailed", ts: this.#now(), tradeId, reason: reason.slice(0, 500) });
    if (!r.ok) throw new TradingError(r.code, `trade ${tradeId} is not waiting for settlement`);
  }

  /** An operator's decision on a failed settlement: send it again, or undo it on the ledger. */
  async resolveSettlement(tradeId: string, action: "retry" | "reverse", by: string, note?: string): Promise<void> {
    if (!this.core.failedSettlement(tradeId)) throw new TradingError(TradingCode.SETTLEMENT_NOT_FAILED, `trade ${tradeId} has no failed settlement`);
    const short = action === "reverse" ? this.core.reversalShortOf(tradeId) : undefined;
    if (short !== undefined) {
      throw new TradingError(TradingCode.SETTLEMENT_REVERSE_INSUFFICIENT, `${short} no longer has available what the trade gave it: cancel its orders or wait for its withdrawals, then reverse`);
    }
    // Settled on chain before its retry is durable, a crash could leave the journal saying
    // "failed" — and a later reversal would undo a trade the vault had delivered.
    if (action === "retry") this.#retrying.add(tradeId);
    try {
      const r = await this.#commit({ t: "settleResolve", ts: this.#now(), tradeId, action, by, note });
      if (!r.ok) throw new TradingError(r.code, `cannot ${action} trade ${tradeId}`);
    } finally {
      this.#retrying.delete(tradeId);
    }
  }

  /**
   * Puts `amount` of `currency` on hold for a withdrawal to the account's own wallet and
   * returns its id (a decimal number: the vault's withdrawal id).
   */
  async requestWithdrawal(accountId: string, currency: string, amount: bigint): Promise<string> {
    if (!this.core.catalog.currency(currency)) throw new TradingError(TradingCode.UNKNOWN_CURRENCY, `unknown currency ${currency}`);
    if (amount <= 0n) throw new TradingError(TradingCode.BAD_AMOUNT, "amount must be positive");
    if (this.core.isFrozen(accountId) !== undefined) throw new TradingError("RISK_ACCOUNT_FROZEN", "account frozen");
    if (this.core.ledger.balance(accountId, currency).available < amount) throw new TradingError("RISK_INSUFFICIENT_FUNDS", "balance insufficient");
    const now = this.#now();
    const refusal = this.#holderRules?.checkWithdrawal(accountId, currency, amount, this.core, now);
    if (refusal) {
      this.#onRejected(refusal.code);
      this.#observer?.withdrawalRefused?.(accountId, currency, amount, refusal.code, refusal.message, this.#stamp());
      throw new TradingError(refusal.code, refusal.message);
    }
    const withdrawalId = String([...this.core.withdrawals()].length + 1);
    const r = await this.#commit({ t: "withdrawRequest", ts: this.#now(), withdrawalId, accountId, currency, amount: amount.toString() });
    if (!r.ok) throw new TradingError(r.code, "withdrawal refused");
    return withdrawalId;
  }

  async withdrawalDone(withdrawalId: string, txHash: string): Promise<void> {
    await this.#commit({ t: "withdrawDone", ts: this.#now(), withdrawalId, txHash });
  }

  async withdrawalFailed(withdrawalId: string, reason: string): Promise<void> {
    await this.#commit({ t: "withdrawFailed", ts: this.#now(), withdrawalId, reason });
  }

  /** Kill switch: freezing an account cancels all its orders and refuses new ones. */
  async setAccountFrozen(accountId: string, frozen: boolean, reason: string, by?: string): Promise<void> {
    await this.#commit({ t: "accountStatus", ts: this.#now(), accountId, frozen, reason, by });
  }

  /**
   * Lists an asset (its market exists from this record on, in every replay). The caller has
   * checked the pilot's rules and the chain; the core refuses a market that exists or that the
   * catalog cannot take.
   */
  async list(listing: Listing): Promise<void> {
    const r = await this.#commit({ t: "listing", ts: this.#now(), listing });
    if (!r.ok) throw new TradingError(r.code, `listing of ${listing.symbol} refused: the market exists or its sizes make fractional amounts`);
  }

  /**
   * Makes `rateBps` the tax rate for trades from now on (journaled, so replay taxes each trade at
   * the rate it was made at); nothing is written when it is already in force.
   */
  async setTaxRate(rateBps: number, source: string, by: string): Promise<void> {
    if (!Number.isInteger(rateBps) || rateBps < 0 || rateBps > 10_000) throw new TradingError(TradingCode.BAD_AMOUNT, `tax rate ${rateBps} bps is not between 0 and 10000`);
    if (this.core.taxRateBps === rateBps) return;
    await this.#commit({ t: "taxPolicy", ts: this.#now(), rateBps, source, by });
  }

  async setRiskLimits(scope: "defaults" | "symbol" | "account", key: string | undefined, limits: Record<string, unknown>, by: string, reason?: string): Promise<void> {
    await this.#commit({ t: "riskLimits", ts: this.#now(), scope, key, limits, by, reason });
  }

  /**
   * Writes a snapshot (also done every `snapshotEvery` records and at shutdown). The state is
   * captured synchronously, so it is exactly the state after record `seq`, and saved only once
   * the journal says record `seq` is durable: a snapshot never runs ahead of the journal.
   * Saves are serialised.
   */
  snapshot(): Promise<void> {
    const store = this.#snapshots;
    if (!store) return Promise.resolve();
    // After a journal failure memory may hold records that never became durable.
    if (this.#failed) return Promise.reject(new SenError("JOURNAL_IO", "the journal failed; no snapshot of a state that may not be durable", { cause: this.#failed }));
    const state = { core: this.core.snapshot(), risk: structuredClone(this.risk), parts: Object.fromEntries(this.#parts.map((p) => [p.name, p.snapshot()])) };
    const seq = this.#lastSeq;
    this.#sinceSnapshot = 0;
    const run = this.#snapshotChain.then(async () => {
      await this.#journal.flush();
      await this.#observer?.flush();
      await store.save(seq, state);
    });
    this.#snapshotChain = run.catch(() => undefined);
    return run;
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
    if (!this.core.catalog.market(symbol)) throw new TradingError(TradingCode.UNKNOWN_SYMBOL, `unknown symbol ${symbol}`);
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
        const capped = nextSeq === null && after.seq >= here.seq + searchLimit && this.#lastSeq > after.seq;
        const book = { bids: here.bids, asks: here.asks, changedAt: last, prevSeq, nextSeq, nextSearchedTo: capped ? after.seq : null, journalEnd: capped && this.#lastSeq > after.seq ? this.#lastSeq : after.seq };
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
    if (span.endInclusive && this.#lastSeq !== span.to) return undefined;
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
      const core = new TradingCore(this.#coreOptions);
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

  async close(): Promise<void> {
    if (!this.#failed) await this.snapshot();
    await this.#journal.close();
  }

  // ------------------------------------------------------------------ internals

  /** Now, as records carry it: from the business clock when there is one. */
  #stamp(): RecordTime {
    return this.#clock ? recordTimeOf(this.#clock()) : { ts: this.#now() };
  }

  async #commit(record: TradingRecord) {
    if (this.#failed) throw new SenError("JOURNAL_IO", "the journal failed; the exchange stopped accepting commands", { cause: this.#failed });
    // Every record's time is assigned here, as it is journaled, so journal order is time order
    // (the clock is strictly increasing); its µs are journaled, and replay never reads a clock.
    if (this.#clock) Object.assign(record, recordTimeOf(this.#clock()));
    // append + apply run synchronously together: the journal's order is the apply order.
    const seq = this.#journal.append(record as unknown as Record<string, unknown>);
    const result = this.#applyRecord(record);
    this.#lastSeq = seq;
    const tradesThrough = this.core.tradeCount;
    const events = this.#buffer;
    this.#buffer = [];
    try {
      await this.#durable();
    } catch (err) {
      // Fail-stop: nothing from here on is acknowledged; a restart replays what is durable.
      this.#failed ??= err;
      throw new SenError("JOURNAL_IO", "the journal failed; the command was not acknowledged", { cause: err });
    }
    if (tradesThrough > this.#durableTrades) this.#durableTrades = tradesThrough;
    if (this.#observer) this.#observe(seq, record, events, result, false);
    this.#deliver(events);
    // A failed periodic snapshot only means a longer replay next start: report, don't stop.
    if (++this.#sinceSnapshot >= this.#snapshotEvery) this.snapshot().catch((err: unknown) => this.#onError(err, "snapshot"));
    return result;
  }

  /** The journal's flush, bounded: a write stalled past the deadline counts as failed. */
  async #durable(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      // After a blocked event loop, expired timers run before the I/O that finished meanwhile:
      // let one round of I/O callbacks through first, so a stalled loop is not taken for a stalled disk.
      const expire = () => setImmediate(() => reject(new SenError("JOURNAL_IO", `journal write not durable within ${this.#journalDeadlineMs} ms`)));
      timer = setTimeout(expire, this.#journalDeadlineMs);
    });
    try {
      await Promise.race([this.#journal.flush(), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  #applyRecord(record: TradingRecord): ApplyResult {
    if (record.t === "riskLimits") {
      if (record.scope === "defaults") Object.assign(this.risk.defaults, record.limits);
      else {
        const table = record.scope === "symbol" ? this.risk.symbols : this.risk.accounts;
        table[record.key!] = { ...table[record.key!], ...record.limits };
      }
      return { ok: true };
    }
    return this.core.apply(record);
  }

  #observe(seq: bigint, record: TradingRecord, events: readonly TradingEvent[], result: ApplyResult, replay: boolean): void {
    try {
      this.#observer!.recordApplied(seq, record, events, result, replay);
    } catch (err) {
      this.#onError(err, "audit observer");
    }
  }

  #deliver(events: TradingEvent[]): void {
    for (const e of events) {
      for (const l of this.#listeners) {
        try {
          l(e);
        } catch {
          // A failing subscriber (e.g. a closed socket) must never stop the exchange.
        }
      }
    }
  }
}

/** The order's own terms as a placement (what the pre-trade checks read when it is amended). */
function pickPlaceInput(o: Readonly<Order>): PlaceInput {
  return {
    accountId: o.accountId,
    identityHash: o.identityHash,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    price: o.price,
    size: o.size,
    tif: o.tif,
    postOnly: o.postOnly,
    visibleSize: o.visibleSize || undefined,
    stp: o.stp,
    clientOid: o.clientOid,
    apiKeyId: o.apiKeyId,
  };
}
