import type { Journal } from "../journal/types.ts";
import { SenError } from "../errors/SenError.ts";
import { recordMicros, type TradingRecord } from "./records.ts";
import { Sequencer } from "./sequencer.ts";
import type { SnapshotState } from "./snapshotSchedule.ts";
import type { TradingServiceOptions } from "./serviceTypes.ts";
import { TradingCore } from "./tradingCore.ts";

/** A replica's journal: it has nothing to write and nothing of its own to read. */
export const REPLICA_JOURNAL: Journal = {
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

function sequencerOf(core: TradingCore, options: TradingServiceOptions, lastSeq: bigint, replica: boolean): Sequencer {
  return new Sequencer({
    core,
    risk: options.risk,
    journal: options.journal,
    now: options.now,
    clock: options.clock,
    listeners: [...(options.listeners ?? [])],
    stateListeners: options.stateListeners ?? [],
    observer: options.observer,
    onError: options.onError ?? (() => undefined),
    journalDeadlineMs: options.journalDeadlineMs ?? 3_000,
    lastSeq,
    replica,
  });
}

export type Recovered = {
  sequencer: Sequencer;
  /** The options in force: the risk limits are the snapshot's when there is one. */
  options: TradingServiceOptions;
  replayed: number;
  /** The last replayed record's time (µs): the business clock must not restart below it. */
  lastRecordUs?: bigint;
};

/**
 * Rebuilds the exchange from the latest snapshot plus the journal's tail. Listeners given in
 * options see the replayed events (market data rebuilds itself that way); the observer sees
 * the replayed records as replay (it fills its gaps).
 */
export async function recover(options: TradingServiceOptions): Promise<Recovered> {
  const { lastSeq } = await options.journal.open();
  const snap = options.snapshots ? await options.snapshots.load() : null;
  let core: TradingCore;
  let from = 1n;
  if (snap) {
    const state = snap.state as SnapshotState;
    core = TradingCore.restore(state.core, options.core);
    options = { ...options, risk: state.risk };
    for (const p of options.parts ?? []) if (p.name in state.parts) p.restore(state.parts[p.name]);
    from = snap.seq + 1n;
  } else {
    core = new TradingCore(options.core);
  }
  const sequencer = sequencerOf(core, options, snap?.seq ?? 0n, false);
  let replayed = 0;
  // The last record's time: the business clock must not restart below it (context.ts, docs/clock.md).
  let lastRecordUs: bigint | undefined;
  for await (const entry of options.journal.read(from)) {
    const record = entry.record as unknown as TradingRecord;
    lastRecordUs = recordMicros(record);
    sequencer.replayed(entry.seq, record);
    replayed++;
  }
  if (sequencer.lastSeq !== lastSeq) {
    throw new SenError("JOURNAL_CORRUPT", `journal ends at ${lastSeq} but replay stopped at ${sequencer.lastSeq}`);
  }
  sequencer.markAllDurable(); // everything replayed was durable
  return { sequencer, options, replayed, lastRecordUs };
}

/** A read replica's sequencer: an empty core fed the sequencer's durable records from record 1. */
export function replicaSequencer(options: Omit<TradingServiceOptions, "journal" | "snapshots" | "observer" | "clock">): Sequencer {
  return sequencerOf(new TradingCore(options.core), { ...options, journal: REPLICA_JOURNAL }, 0n, true);
}
