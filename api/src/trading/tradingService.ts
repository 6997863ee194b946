import type { HolderRules } from "../risk/holderRules.ts";
import type { Listing } from "../listing/listing.ts";
import type { PilotRules } from "../listing/pilotRules.ts";
import { preTradeCheck } from "../risk/preTradeCheck.ts";
import { TokenBuckets } from "../auth/tokenBucket.ts";
import type { RiskConfig } from "../risk/types.ts";
import { TradingCode } from "./codes.ts";
import type { TradingListener } from "./events.ts";
import { isWaitingStop, type Order, type SettlementTrade } from "../records/orders.ts";
import type { CancelReason, PlaceRecord, TradingRecord } from "../records/tradingRecords.ts";
import { promote, recover, replicaSequencer, type ReplicaStart } from "./recovery.ts";
import type { RecordHistory, RecordTarget } from "./recordHistory.ts";
import type { Sequencer } from "./sequencer.ts";
import { TradingError, type CommandOrigin, type PlaceInput, type TradingObserver, type TradingServiceOptions } from "./serviceTypes.ts";
import { SnapshotSchedule } from "./snapshotSchedule.ts";
import type { ApplyResult, TradingCore } from "./tradingCore.ts";

export { TradingCode } from "./codes.ts";
export { TradingError } from "./serviceTypes.ts";
export type { CommandOrigin, PlaceInput, SnapshotPart, TradingObserver, TradingServiceOptions } from "./serviceTypes.ts";

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
  readonly #seq: Sequencer;
  readonly #snapshots: SnapshotSchedule;
  readonly #now: () => number;
  readonly #buckets = new TokenBuckets();
  readonly #onRejected: (code: string) => void;
  /** Failed trades queued again by a retry whose record is not durable yet: not to be settled before it is. */
  readonly #retrying = new Set<string>();
  #holderRules: HolderRules | null = null;

  private constructor(sequencer: Sequencer, options: TradingServiceOptions) {
    this.#seq = sequencer;
    this.core = sequencer.core;
    this.risk = sequencer.risk;
    this.pilotRules = options.pilotRules;
    this.#now = options.now;
    this.#onRejected = options.onRejected ?? (() => undefined);
    const onError = options.onError ?? (() => undefined);
    this.#snapshots = new SnapshotSchedule(sequencer, { store: options.snapshots, parts: options.parts ?? [], every: options.snapshotEvery ?? 10_000, spacing: options.snapshotSpacing ?? "state", onError });
  }

  /**
   * Rebuilds the exchange from the latest snapshot plus the journal's tail (recovery.ts).
   * Listeners given in options see the replayed events (market data rebuilds itself that way).
   */
  static async open(options: TradingServiceOptions): Promise<{ service: TradingService; replayed: number; lastRecordUs?: bigint }> {
    const r = await recover(options);
    return { service: new TradingService(r.sequencer, r.options), replayed: r.replayed, lastRecordUs: r.lastRecordUs };
  }

  /**
   * A read replica (an edge, scale-out): it never writes a journal; the sequencer's durable
   * records are fed to applyDurable in journal order and give the same events, to the same
   * kinds of listeners, as on the sequencer. Its commands refuse (the stand-in journal throws
   * before anything is applied): commands go to the sequencer. `from`: a snapshot to start
   * at (its records are not fed again: the first record fed is `from.seq + 1`).
   */
  static follower(options: Omit<TradingServiceOptions, "journal" | "snapshots" | "observer" | "clock">, from?: ReplicaStart): TradingService {
    const sequencer = replicaSequencer(options, from);
    return new TradingService(sequencer, { ...options, journal: sequencer.journal });
  }

  /**
   * Takes over with a hot standby's replica (a `follower()` whose records went through
   * `history`): it reads the journal's last records and becomes the writer, without replaying
   * the journal through a new core (recovery.ts promote). When that cannot be done exactly it
   * opens like `open` and `fallback` says why. The replica must not be used after this.
   */
  static async promote(replica: TradingService, history: RecordHistory, target: RecordTarget, options: TradingServiceOptions): Promise<{ service: TradingService; replayed: number; lastRecordUs?: bigint; fallback?: string }> {
    const r = await promote(replica.#seq, history, target, options);
    return { service: new TradingService(r.sequencer, r.options), replayed: r.replayed, lastRecordUs: r.lastRecordUs, fallback: r.fallback };
  }

  /**
   * Applies journal record `seq`, durable on the sequencer, and delivers its events at once
   * (a replica's feed: gap-free, in order; a gap or an unappliable record is a fail-stop).
   */
  applyDurable(seq: bigint, record: TradingRecord): ApplyResult {
    return this.#seq.applyDurable(seq, record);
  }

  subscribe(listener: TradingListener): () => void {
    return this.#seq.subscribe(listener);
  }

  /** Attaches the audit observer after start-up (it then only sees live records). */
  setObserver(observer: TradingObserver): void {
    this.#seq.observer = observer;
  }

  /** Checks orders and withdrawals against the chain's holder rules from now on. */
  setHolderRules(rules: HolderRules): void {
    this.#holderRules = rules;
  }

  get holderRules(): HolderRules | null {
    return this.#holderRules;
  }

  get failed(): boolean {
    return this.#seq.failure !== null;
  }

  /** Why it stopped, when that was a record it could not apply (TRADING_HALTED) rather than the journal: see Sequencer.haltReason. */
  get haltReason(): string | null {
    return this.#seq.haltReason;
  }

  /**
   * Unsettled trades whose records the journal has made durable, in queue order, stopping at
   * the first one that is not (a retried trade queued behind it waits one group commit). A
   * trade applied in memory but not yet durable could vanish in a crash and its id be given to
   * another trade, so the chain must not see it before then; after a journal failure nothing
   * is settled at all (its "settled" record could not be written).
   */
  *settleableTrades(): Generator<Readonly<SettlementTrade>> {
    if (this.#seq.failure !== null) return;
    const durable = this.#seq.durableTrades;
    for (const t of this.core.unsettledTrades()) {
      if (Number.parseInt(t.tradeId, 16) > durable) return;
      if (this.#retrying.has(t.tradeId)) continue;
      yield t;
    }
  }

  get lastSeq(): bigint {
    return this.#seq.lastSeq;
  }

  /** Retained orders and unsettled trades: what a snapshot of this state writes (the "state" snapshot spacing waits that many records). */
  get retainedRecords(): number {
    return this.core.retainedRecordCount;
  }

  // ------------------------------------------------------------------ commands

  async placeOrder(input: PlaceInput, origin?: CommandOrigin): Promise<Readonly<Order>> {
    const received = this.#seq.stamp();
    const now = received.ts;
    this.#seq.observer?.orderReceived(input, origin, received);
    if (!this.core.catalog.market(input.symbol)) throw this.#refused(input, origin, TradingCode.UNKNOWN_SYMBOL, `unknown symbol ${input.symbol}`);
    this.#seq.checkRunning();
    const rejection = preTradeCheck(input, this.core, this.risk, this.#buckets, now, this.#holderRules, this.pilotRules);
    if (rejection) throw this.#refused(input, origin, rejection.code, rejection.message);
    const record: PlaceRecord = { t: "place", ts: now, orderId: this.core.nextOrderId(), ...input };
    const result = await this.#seq.commit(record);
    if (!result.ok) {
      this.#onRejected(result.code);
      throw new TradingError(result.code, `order refused by the engine: ${result.code}`, { details: { orderId: record.orderId } });
    }
    return result.order!;
  }

  /** An order refused before the journal: counted and audited, and the error to throw. */
  #refused(input: PlaceInput, origin: CommandOrigin | undefined, code: string, message: string): TradingError {
    this.#onRejected(code);
    this.#seq.observer?.orderRefused(input, code, message, origin, this.#seq.stamp());
    return new TradingError(code, message);
  }

  /** `command`: the edge's command (its entry in the command bus) this cancel answers, journaled with it. */
  async cancelOrder(accountId: string, orderId: string, command?: string): Promise<Readonly<Order>> {
    const order = this.core.order(orderId);
    // Someone else's order is reported exactly like a missing one.
    if (!order || order.accountId !== accountId) throw new TradingError(TradingCode.ORDER_NOT_FOUND, "order not found");
    if (!order.isActive) throw new TradingError(TradingCode.ORDER_NOT_ACTIVE, "order is not active");
    const result = await this.#seq.commit({ t: "cancel", ts: this.#now(), orderId, accountId, ...(command === undefined ? {} : { cmd: command }) });
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
    await this.#seq.commit({ t: "cancelAll", ts: this.#now(), accountId, symbol, reason, scope });
    return ids;
  }

  /**
   * New price and/or total size (`size`, filled part included) for an own live limit order,
   * after the pre-trade checks for the order it becomes (a rise must be covered by available
   * funds and the limits). Refused: nothing changed. `command`: as cancelOrder's, journaled with it.
   */
  async amendOrder(accountId: string, orderId: string, change: { price?: number; size?: number }, origin?: CommandOrigin, command?: string): Promise<Readonly<Order>> {
    const order = this.core.order(orderId);
    if (!order || order.accountId !== accountId || isWaitingStop(order)) throw new TradingError(TradingCode.ORDER_NOT_FOUND, "order not found");
    if (!order.isActive) throw new TradingError(TradingCode.ORDER_NOT_ACTIVE, "order is not active");
    if (order.type !== "limit") throw new TradingError("ENGINE_NOT_AMENDABLE", "only limit orders can be amended");
    this.#seq.checkRunning();
    const price = change.price ?? order.price;
    const size = change.size ?? order.size;
    if (price === order.price && size === order.size) throw new TradingError("ENGINE_AMEND_NO_CHANGE", "the new price and size are the order's own");
    if (size <= order.dealSize) throw new TradingError("ENGINE_INVALID_QTY", "the new size must be above the size already filled");
    const now = this.#now();
    const input: PlaceInput = { ...pickPlaceInput(order), price, size: size - order.dealSize };
    const rejection = preTradeCheck(input, this.core, this.risk, this.#buckets, now, this.#holderRules, this.pilotRules, order);
    if (rejection) {
      this.#onRejected(rejection.code);
      const at = this.#seq.stamp();
      if (this.#seq.observer?.amendmentRefused) this.#seq.observer.amendmentRefused(order, change, rejection.code, rejection.message, origin, at);
      else this.#seq.observer?.orderRefused(input, rejection.code, rejection.message, origin, at);
      throw new TradingError(rejection.code, rejection.message);
    }
    const result = await this.#seq.commit({ t: "amend", ts: now, orderId, accountId, price: change.price, size: change.size, ...(command === undefined ? {} : { cmd: command }) });
    if (!result.ok) {
      this.#onRejected(result.code);
      throw new TradingError(result.code, `amendment refused: ${result.code}`, { details: { orderId } });
    }
    return this.core.order(orderId) ?? order;
  }

  /** Credits a deposit exactly once per `ref` (the chain's deposit id); false if already applied. */
  async deposit(accountId: string, currency: string, amount: bigint, ref: string, by?: string): Promise<boolean> {
    if (!this.core.catalog.currency(currency)) throw new TradingError(TradingCode.UNKNOWN_CURRENCY, `unknown currency ${currency}`);
    if (amount <= 0n) throw new TradingError(TradingCode.BAD_AMOUNT, "amount must be positive");
    if (this.core.depositApplied(ref)) return false;
    const r = await this.#seq.commit({ t: "deposit", ts: this.#now(), accountId, currency, amount: amount.toString(), ref, ...(by ? { by } : {}) });
    return r.ok;
  }

  /**
   * Takes custody that left the settlement vault by the token agent's powers (recovery,
   * seizure) off the account, exactly once per `ref` (the vault event's); false if already
   * applied. Never refused for lack of funds: the chain has moved it (see TradingCore).
   */
  async debitCustody(d: { accountId: string; currency: string; amount: bigint; ref: string; kind: "returned" | "seized"; to: string; txHash: string }): Promise<boolean> {
    if (!this.core.catalog.currency(d.currency)) throw new TradingError(TradingCode.UNKNOWN_CURRENCY, `unknown currency ${d.currency}`);
    if (d.amount <= 0n) throw new TradingError(TradingCode.BAD_AMOUNT, "amount must be positive");
    if (this.core.custodyDebitApplied(d.ref)) return false;
    const r = await this.#seq.commit({ t: "custodyDebit", ts: this.#now(), accountId: d.accountId, currency: d.currency, amount: d.amount.toString(), ref: d.ref, kind: d.kind, to: d.to, txHash: d.txHash });
    return r.ok;
  }

  async setMarketHalted(symbol: string, halted: boolean, reason: string, by?: string): Promise<void> {
    if (!this.core.catalog.market(symbol)) throw new TradingError(TradingCode.UNKNOWN_SYMBOL, `unknown symbol ${symbol}`);
    await this.#seq.commit({ t: "marketStatus", ts: this.#now(), symbol, halted, reason, by });
  }

  /** Records that `tradeIds` are settled on chain by transaction `txHash`. */
  async confirmSettled(tradeIds: string[], txHash: string): Promise<void> {
    await this.#seq.commit({ t: "settled", ts: this.#now(), tradeIds, txHash });
  }

  /** Takes a trade the vault refuses out of the settlement queue, with the decoded reason. */
  async settlementFailed(tradeId: string, reason: string): Promise<void> {
    const r = await this.#seq.commit({ t: "settleFailed", ts: this.#now(), tradeId, reason: reason.slice(0, 500) });
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
      const r = await this.#seq.commit({ t: "settleResolve", ts: this.#now(), tradeId, action, by, note });
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
      this.#seq.observer?.withdrawalRefused?.(accountId, currency, amount, refusal.code, refusal.message, this.#seq.stamp());
      throw new TradingError(refusal.code, refusal.message);
    }
    const withdrawalId = String([...this.core.withdrawals()].length + 1);
    const r = await this.#seq.commit({ t: "withdrawRequest", ts: this.#now(), withdrawalId, accountId, currency, amount: amount.toString() });
    if (!r.ok) throw new TradingError(r.code, "withdrawal refused");
    return withdrawalId;
  }

  async withdrawalDone(withdrawalId: string, txHash: string): Promise<void> {
    await this.#seq.commit({ t: "withdrawDone", ts: this.#now(), withdrawalId, txHash });
  }

  async withdrawalFailed(withdrawalId: string, reason: string): Promise<void> {
    await this.#seq.commit({ t: "withdrawFailed", ts: this.#now(), withdrawalId, reason });
  }

  /** Kill switch: freezing an account cancels all its orders and refuses new ones. */
  async setAccountFrozen(accountId: string, frozen: boolean, reason: string, by?: string): Promise<void> {
    await this.#seq.commit({ t: "accountStatus", ts: this.#now(), accountId, frozen, reason, by });
  }

  /**
   * Lists an asset (its market exists from this record on, in every replay). The caller has
   * checked the pilot's rules and the chain; the core refuses a market that exists or that the
   * catalog cannot take.
   */
  async list(listing: Listing): Promise<void> {
    const r = await this.#seq.commit({ t: "listing", ts: this.#now(), listing });
    if (!r.ok) throw new TradingError(r.code, `listing of ${listing.symbol} refused: the market exists or its sizes make fractional amounts`);
  }

  /**
   * Makes `rateBps` the tax rate for trades from now on (journaled, so replay taxes each trade at
   * the rate it was made at); nothing is written when it is already in force.
   */
  async setTaxRate(rateBps: number, source: string, by: string): Promise<void> {
    if (!Number.isInteger(rateBps) || rateBps < 0 || rateBps > 10_000) throw new TradingError(TradingCode.BAD_AMOUNT, `tax rate ${rateBps} bps is not between 0 and 10000`);
    if (this.core.taxRateBps === rateBps) return;
    await this.#seq.commit({ t: "taxPolicy", ts: this.#now(), rateBps, source, by });
  }

  async setRiskLimits(scope: "defaults" | "symbol" | "account", key: string | undefined, limits: Record<string, unknown>, by: string, reason?: string): Promise<void> {
    await this.#seq.commit({ t: "riskLimits", ts: this.#now(), scope, key, limits, by, reason });
  }

  /**
   * Writes a snapshot (also done every `snapshotEvery` records and at shutdown): exactly the
   * state after the last record, saved once that record is durable (snapshotSchedule.ts).
   */
  snapshot(): Promise<void> {
    return this.#snapshots.snapshot();
  }

  async close(): Promise<void> {
    if (!this.#seq.failure) await this.snapshot();
    await this.#seq.journal.close();
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
