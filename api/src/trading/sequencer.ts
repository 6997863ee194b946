import type { Journal } from "../journal/types.ts";
import type { RiskConfig } from "../risk/types.ts";
import { EdgeCode, JournalCode, SenError } from "../errors/SenError.ts";
import { TradingCode } from "./codes.ts";
import type { TradingEvent, TradingListener } from "./events.ts";
import { recordTimeOf, type RecordTime, type TradingRecord } from "../records/tradingRecords.ts";
import type { TradingObserver } from "./serviceTypes.ts";
import type { ApplyResult, TradingCore } from "./tradingCore.ts";

export type SequencerParts = {
  core: TradingCore;
  /** Mutable: riskLimits records change it in place (the pre-trade checks read the same object). */
  risk: RiskConfig;
  journal: Journal;
  now: () => number;
  clock?: () => bigint;
  listeners: TradingListener[];
  stateListeners: TradingListener[];
  observer?: TradingObserver;
  onError: (err: unknown, what: string) => void;
  journalDeadlineMs: number;
  /** The journal record the core's state is at. */
  lastSeq: bigint;
  /** A read replica (TradingService.follower): applies the sequencer's durable records, journals none. */
  replica: boolean;
};

/** Told of every record committed live; the snapshot schedule counts them. */
export type CommitCounter = { recorded(): void };

/**
 * The one writer: stamps each record, appends it to the journal and applies it in the same
 * synchronous step (journal order is apply order), waits for the group commit to make it
 * durable (bounded by the journal deadline: fail-stop past it), then reports it to the audit
 * observer and delivers its events. Recovery and replicas feed it records already durable
 * (`replayed`, `applyDurable`) through the same apply.
 */
export class Sequencer {
  readonly core: TradingCore;
  readonly risk: RiskConfig;
  /** Replaced once, when a replica is promoted to the writer (becomeActive). */
  journal: Journal;
  observer: TradingObserver | undefined;
  /** Set by the snapshot schedule; told of every live commit. */
  counter: CommitCounter | null = null;
  #now: () => number;
  #clock?: () => bigint;
  #listeners: TradingListener[];
  #onError: (err: unknown, what: string) => void;
  #journalDeadlineMs: number;
  #replica: boolean;
  #buffer: TradingEvent[] = [];
  #lastSeq: bigint;
  /** Set when the journal failed: the state may be ahead of what is durable, so stop. */
  #failed: unknown = null;
  /** The stop was the sequencer's own (a record it could not apply or journal), not the journal's flush. */
  #halted = false;
  /** Which record stopped it and how, in words an operator can be shown (the error's message is logged only). */
  #haltReason: string | null = null;
  /** Trades 1..n are in durable records: only those may be settled on chain. */
  #durableTrades: number;
  /** The wait that commits appended in this turn of the event loop join (null once its flush was asked for). */
  #round: Promise<void> | null = null;

  constructor(parts: SequencerParts) {
    this.core = parts.core;
    this.risk = parts.risk;
    this.journal = parts.journal;
    this.observer = parts.observer;
    this.#now = parts.now;
    this.#clock = parts.clock;
    this.#listeners = parts.listeners;
    this.#onError = parts.onError;
    this.#journalDeadlineMs = parts.journalDeadlineMs;
    this.#replica = parts.replica;
    this.#lastSeq = parts.lastSeq;
    this.#durableTrades = parts.core.tradeCount;
    for (const l of parts.stateListeners) parts.core.subscribe(l);
    parts.core.subscribe((e) => this.#buffer.push(e));
  }

  get lastSeq(): bigint {
    return this.#lastSeq;
  }

  /** The journal's failure (null while it works): nothing is acknowledged after it. */
  get failure(): unknown {
    return this.#failed;
  }

  /**
   * Set once it stopped on a record it could not apply (TRADING_HALTED), not on the journal:
   * the record's type and the error's code or class. The message stays in the log: it may name
   * accounts.
   */
  get haltReason(): string | null {
    return this.#haltReason;
  }

  get durableTrades(): number {
    return this.#durableTrades;
  }

  get isReplica(): boolean {
    return this.#replica;
  }

  subscribe(listener: TradingListener): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /** Now, as records carry it: from the business clock when there is one. */
  stamp(): RecordTime {
    return this.#clock ? recordTimeOf(this.#clock()) : { ts: this.#now() };
  }

  /** Refuses a command once the journal failed. */
  checkRunning(): void {
    if (this.#failed) throw this.#stopped();
  }

  /** The refusal of every command once the sequencer stopped, naming why it stopped. */
  #stopped(): SenError {
    return this.#halted
      ? new SenError(TradingCode.HALTED, "the exchange stopped on a record it could not apply; it accepts no commands until restarted", { cause: this.#failed })
      : new SenError("JOURNAL_IO", "the journal failed; the exchange stopped accepting commands", { cause: this.#failed });
  }

  async commit(record: TradingRecord): Promise<ApplyResult> {
    if (this.#failed) throw this.#stopped();
    // Refused before anything changes: a replica's journal refuses every append, and applying
    // first (below) would then stop it.
    if (this.#replica) throw new SenError(EdgeCode.REPLICA_READ_ONLY, "a replica applies the sequencer's records; commands go to the sequencer");
    // Every record's time is assigned here, as it is journaled, so journal order is time order
    // (the clock is strictly increasing); its µs are journaled, and replay never reads a clock.
    if (this.#clock) Object.assign(record, recordTimeOf(this.#clock()));
    // apply + append run synchronously together: the journal's order is the apply order. Apply
    // first: a record the core throws on part-way (a broken invariant) must never be journaled,
    // or every restart would stop at it. Either throwing leaves memory ahead of or beside the
    // journal, so it stops the exchange as a journal failure does (fail-stop: nothing more is
    // acknowledged, no snapshot or settlement is taken from this state; a restart rebuilds it
    // from the journal, without the record).
    let result: ApplyResult;
    let seq: bigint;
    let applied = false;
    try {
      result = this.#applyRecord(record);
      applied = true;
      seq = this.journal.append(record as unknown as Record<string, unknown>);
    } catch (err) {
      this.#buffer = [];
      this.#onError(err, "sequencer");
      // A journal that already failed (a batch of command positions alone, which no commit
      // waited on) refuses the append with its own failure: the journal's stop, not a halt.
      if (applied && err instanceof SenError && err.code === JournalCode.IO) {
        this.#failed ??= err;
        throw new SenError(JournalCode.IO, "the journal failed; the command was not acknowledged", { cause: err });
      }
      if (this.#failed === null) {
        this.#failed = err;
        this.#halted = true;
        const how = err instanceof SenError ? err.code : ((err as Error)?.name ?? typeof err);
        this.#haltReason = `a ${record.t} record could not be ${applied ? "journaled" : "applied"} (${how})`;
      }
      throw new SenError(TradingCode.HALTED, `the exchange stopped: a ${record.t} record could not be applied and journaled (${(err as Error)?.message ?? err})`, { cause: err });
    }
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
    if (this.observer) this.#observe(seq, record, events, result, false);
    this.#deliver(events);
    this.counter?.recorded();
    return result;
  }

  /**
   * Record `seq` read back from the journal at start-up: applied, shown to the observer as
   * replay (it fills its gaps), not delivered (state listeners saw it; it is history).
   */
  replayed(seq: bigint, record: TradingRecord): void {
    const result = this.#applyRecord(record);
    if (this.observer) this.#observe(seq, record, this.#buffer, result, true);
    this.#buffer = [];
    this.#lastSeq = seq;
  }

  /**
   * A replica becomes the writer (a hot standby taking over): from now on it journals its own
   * records with `parts.journal` and delivers to `parts.listeners` only (the replica's own
   * listeners are dropped). It must hold every durable record (`lastSeq` the journal's end);
   * the state listeners are attached from here on, so they only see records after it.
   */
  becomeActive(parts: Pick<SequencerParts, "journal" | "now" | "clock" | "listeners" | "stateListeners" | "observer" | "onError" | "journalDeadlineMs">): void {
    if (!this.#replica) throw new SenError("JOURNAL_CORRUPT", "only a replica can be promoted to the writer");
    if (this.#failed) throw new SenError("JOURNAL_CORRUPT", "the replica stopped at a record it could not apply; it cannot be promoted", { cause: this.#failed });
    this.journal = parts.journal;
    this.#now = parts.now;
    this.#clock = parts.clock;
    this.#listeners = parts.listeners;
    this.observer = parts.observer;
    this.#onError = parts.onError;
    this.#journalDeadlineMs = parts.journalDeadlineMs;
    for (const l of parts.stateListeners) this.core.subscribe(l);
    this.#replica = false;
    this.#durableTrades = this.core.tradeCount;
  }

  /** After replay: every trade in the state came from durable records. */
  markAllDurable(): void {
    this.#durableTrades = this.core.tradeCount;
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

  /**
   * The journal's flush, bounded: a write stalled past the deadline counts as failed. Commits
   * made in one turn of the event loop (a burst of requests, or the orders that acknowledged
   * commits release) share one flush and one deadline timer, asked for once they have all
   * appended: a flush, a timer and a race per order cost the sequencer's thread several µs.
   */
  #durable(): Promise<void> {
    return (this.#round ??= this.#newRound());
  }

  async #newRound(): Promise<void> {
    // One microtask later: every commit already queued in this turn has appended and joined.
    await null;
    this.#round = null;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      // After a blocked event loop, expired timers run before the I/O that finished meanwhile:
      // let one round of I/O callbacks through first, so a stalled loop is not taken for a stalled disk.
      const expire = () => setImmediate(() => reject(new SenError("JOURNAL_IO", `journal write not durable within ${this.#journalDeadlineMs} ms`)));
      timer = setTimeout(expire, this.#journalDeadlineMs);
    });
    try {
      await Promise.race([this.journal.flush(), deadline]);
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
      this.observer!.recordApplied(seq, record, events, result, replay);
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
