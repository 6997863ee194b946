import type { Journal, SnapshotStore } from "../journal/types.ts";
import type { PilotRules } from "../listing/pilotRules.ts";
import type { RiskConfig } from "../risk/types.ts";
import { SenError } from "../errors/SenError.ts";
import type { TradingEvent, TradingListener } from "./events.ts";
import type { Order } from "../records/orders.ts";
import type { PlaceRecord, RecordTime, TradingRecord } from "../records/tradingRecords.ts";
import type { ApplyResult, TradingCoreOptions } from "./tradingCore.ts";

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
   * "state" (default): a snapshot also waits at least as many records as the last one wrote
   * orders and unsettled trades. A snapshot writes each of them, so a fixed spacing would make
   * each record pay for a growing share of one; "fixed": every `snapshotEvery`.
   */
  snapshotSpacing?: "state" | "fixed";
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
