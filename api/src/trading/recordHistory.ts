import type { TradingEvent } from "./events.ts";
import type { TradingRecord } from "../records/tradingRecords.ts";
import type { ApplyResult } from "./tradingCore.ts";

/** One durable record as a replica applied it: what a promotion shows the parts and the audit observer. */
export type HistoryEntry = { seq: bigint; record: TradingRecord; events: TradingEvent[]; result: ApplyResult };

/** What a journal follower feeds (cluster/journalFollower.ts ReplicaTarget). */
export type RecordTarget = { readonly lastSeq: bigint; applyDurable(seq: bigint, record: TradingRecord): unknown };

/** A replica that applies durable records and delivers their events (TradingService.follower). */
export type Replica = { readonly lastSeq: bigint; applyDurable(seq: bigint, record: TradingRecord): ApplyResult; subscribe(listener: (e: TradingEvent) => void): () => void };

/**
 * The last records a hot standby's replica applied, with their events and results. On takeover
 * the replica's core becomes the writer's without a replay; the parts beside the core (market
 * data, unwritten candles) and the audit trail restart from the data directory's snapshot and
 * are shown the records after it from here, as a replay would have shown them. Entries are
 * copies (a later record must not change what an earlier one showed). Bounded: past
 * `capacity` the oldest go, and a snapshot older than what is kept means a warm open.
 */
export class RecordHistory {
  /** A number, or read as records come when the state decides it (the active's snapshot spacing). */
  readonly #capacity: number | (() => number);
  #entries: HistoryEntry[] = [];
  #collecting: TradingEvent[] | null = null;

  constructor(capacity: number | (() => number)) {
    this.#capacity = capacity;
  }

  /** The replica, as the journal follower feeds it: every record applied is kept here too. */
  follow(replica: Replica): RecordTarget {
    replica.subscribe((e) => this.#collecting?.push(e));
    return {
      get lastSeq() {
        return replica.lastSeq;
      },
      applyDurable: (seq, record) => this.apply(replica, seq, record),
    };
  }

  apply(replica: Replica, seq: bigint, record: TradingRecord): ApplyResult {
    const events: TradingEvent[] = [];
    this.#collecting = events;
    let result: ApplyResult;
    try {
      result = replica.applyDurable(seq, record);
    } finally {
      this.#collecting = null;
    }
    this.#entries.push(structuredClone({ seq, record, events, result }));
    // Trimmed in steps, not per record: one splice per half capacity.
    const capacity = typeof this.#capacity === "number" ? this.#capacity : this.#capacity();
    if (this.#entries.length > capacity * 1.5) this.#entries.splice(0, this.#entries.length - capacity);
    return result;
  }

  /** The oldest record kept (null: none yet). */
  get firstSeq(): bigint | null {
    return this.#entries[0]?.seq ?? null;
  }

  /** The records after `seq`, in order. */
  after(seq: bigint): HistoryEntry[] {
    const i = this.#entries.findIndex((e) => e.seq > seq);
    return i < 0 ? [] : this.#entries.slice(i);
  }
}
