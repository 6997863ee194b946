import type { SnapshotStore } from "../journal/types.ts";
import { SenError } from "../errors/SenError.ts";
import type { Sequencer } from "./sequencer.ts";
import type { SnapshotPart } from "./serviceTypes.ts";
import type { TradingCoreSnapshot } from "./tradingCore.ts";
import type { RiskConfig } from "../risk/types.ts";

/** What a snapshot holds: the core, the risk limits in force and the parts beside them. */
export type SnapshotState = { core: TradingCoreSnapshot; risk: RiskConfig; parts: Record<string, unknown> };

/**
 * Snapshot forms left to the capture, of each kind (TradingCore.formAhead): the synchronous
 * capture then makes about this many, a few ms, instead of one per record since the last one.
 */
export const FORM_AHEAD_KEEP = 1024;
/** Forms made ahead per record at most, of each kind: a few records at most, more only after a restore or a mass cancel, worked off over the next records. */
const FORM_AHEAD_BUDGET = 64;

/**
 * Snapshots of the sequencer's state: every `every` live records (with spacing "state", also at
 * least as many records apart as the last snapshot wrote orders and unsettled trades) and on demand. The state is
 * captured synchronously, so it is exactly the state after record `seq`, and saved only once
 * the journal says record `seq` is durable (and the audit observer has flushed, so replay can
 * always fill its gaps): a snapshot never runs ahead of the journal. Saves are serialised.
 */
export class SnapshotSchedule {
  readonly #sequencer: Sequencer;
  readonly #store?: SnapshotStore;
  readonly #parts: SnapshotPart[];
  readonly #every: number;
  readonly #spacing: "state" | "fixed";
  /** Retained orders and unsettled trades when the last snapshot was captured (or at start). */
  #written: number;
  readonly #onError: (err: unknown, what: string) => void;
  #since = 0;
  #chain: Promise<void> = Promise.resolve();

  constructor(sequencer: Sequencer, options: { store?: SnapshotStore; parts: SnapshotPart[]; every: number; spacing: "state" | "fixed"; onError: (err: unknown, what: string) => void }) {
    this.#sequencer = sequencer;
    this.#store = options.store;
    this.#parts = options.parts;
    this.#every = options.every;
    this.#spacing = options.spacing;
    this.#written = sequencer.core.retainedRecordCount;
    this.#onError = options.onError;
    sequencer.counter = this;
  }

  /** One more live record; at the N-th a snapshot is taken (a failure only means a longer replay next start). */
  recorded(): void {
    if (this.#store) this.#sequencer.core.formAhead(FORM_AHEAD_KEEP, FORM_AHEAD_BUDGET);
    if (++this.#since < this.#every) return;
    // A snapshot writes every retained order and unsettled trade (one unchanged since the last
    // snapshot still costs its bytes): at least as many records after the last one as it wrote,
    // each record pays for about two of them whatever the state's size (the state can at most
    // double meanwhile), and a restart replays no more records than the last snapshot held.
    if (this.#spacing === "state" && this.#since < this.#written) return;
    this.snapshot().catch((err: unknown) => this.#onError(err, "snapshot"));
  }

  snapshot(): Promise<void> {
    const store = this.#store;
    if (!store) return Promise.resolve();
    const seqr = this.#sequencer;
    // After a journal failure memory may hold records that never became durable.
    if (seqr.failure) return Promise.reject(new SenError("JOURNAL_IO", "the journal failed; no snapshot of a state that may not be durable", { cause: seqr.failure }));
    const state: SnapshotState = { core: seqr.core.snapshot(), risk: structuredClone(seqr.risk), parts: Object.fromEntries(this.#parts.map((p) => [p.name, p.snapshot()])) };
    const seq = seqr.lastSeq;
    this.#since = 0;
    this.#written = seqr.core.retainedRecordCount;
    const run = this.#chain.then(async () => {
      await seqr.journal.flush();
      await seqr.observer?.flush();
      await store.save(seq, state);
    });
    this.#chain = run.catch(() => undefined);
    return run;
  }
}
