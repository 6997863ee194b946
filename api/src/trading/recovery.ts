import type { Journal } from "../journal/types.ts";
import { SenError } from "../errors/SenError.ts";
import { recordMicros, type TradingRecord } from "../records/tradingRecords.ts";
import { Sequencer } from "./sequencer.ts";
import type { RecordHistory, RecordTarget } from "./recordHistory.ts";
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
  return replayTail(options, lastSeq, snap);
}

async function replayTail(options: TradingServiceOptions, lastSeq: bigint, snap: { seq: bigint; state: unknown } | null): Promise<Recovered> {
  let core: TradingCore;
  let from = 1n;
  if (snap) {
    const state = snap.state as SnapshotState;
    core = TradingCore.restore(state.core, options.core);
    options = { ...options, risk: state.risk };
    restoreParts(options, state);
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

function restoreParts(options: TradingServiceOptions, state: SnapshotState): void {
  for (const p of options.parts ?? []) if (p.name in state.parts) p.restore(state.parts[p.name]);
}

/**
 * Takes over with a hot standby's replica instead of replaying (sequencerRole.ts): the replica
 * reads the journal's last records (the writer's journal, already fenced by this process's
 * lease), and its core becomes the writer's. The parts beside the core and the audit observer
 * restart from the data directory's snapshot and are shown the records after it from the
 * replica's history, as a replay shows them. When that cannot be done exactly (the replica
 * stopped, was built with other options, or its history does not reach back to the snapshot)
 * it opens from the snapshot and journal tail instead, and says why (`fallback`).
 */
export async function promote(replica: Sequencer, history: RecordHistory, target: RecordTarget, options: TradingServiceOptions): Promise<Recovered & { fallback?: string }> {
  const { lastSeq } = await options.journal.open();
  const snap = options.snapshots ? await options.snapshots.load() : null;
  const snapSeq = snap?.seq ?? 0n;
  const unusable = await catchUp(replica, history, target, options, lastSeq, snapSeq);
  if (unusable) return { ...(await replayTail(options, lastSeq, snap)), fallback: unusable };

  if (snap) restoreParts(options, snap.state as SnapshotState);
  const stateListeners = options.stateListeners ?? [];
  const entries = history.after(snapSeq);
  for (const { seq, record, events, result } of entries) {
    for (const e of events) for (const l of stateListeners) l(e);
    if (options.observer) {
      try {
        options.observer.recordApplied(seq, record, events, result, true);
      } catch (err) {
        (options.onError ?? (() => undefined))(err, "audit observer");
      }
    }
  }
  replica.becomeActive({
    journal: options.journal,
    now: options.now,
    clock: options.clock,
    listeners: [...(options.listeners ?? [])],
    stateListeners,
    observer: options.observer,
    onError: options.onError ?? (() => undefined),
    journalDeadlineMs: options.journalDeadlineMs ?? 3_000,
  });
  const last = entries.at(-1);
  return { sequencer: replica, options: { ...options, risk: replica.risk }, replayed: entries.length, lastRecordUs: last && recordMicros(last.record) };
}

/** Brings the replica to the journal's end; returns why it cannot be promoted, or undefined. */
async function catchUp(replica: Sequencer, history: RecordHistory, target: RecordTarget, options: TradingServiceOptions, lastSeq: bigint, snapSeq: bigint): Promise<string | undefined> {
  if (!replica.isReplica || replica.failure) return "the replica stopped at a record it could not apply";
  const mine = replica.core;
  const want = options.core;
  if (mine.catalog !== want.catalog) return "the replica was built with another market catalog";
  if (mine.feeAccount !== want.feeAccount) return "the replica credits fees to another account";
  if (replica.lastSeq > lastSeq) return `the replica is at record ${replica.lastSeq}, past the journal's end ${lastSeq}`;
  try {
    for await (const entry of options.journal.read(replica.lastSeq + 1n)) target.applyDurable(entry.seq, entry.record as unknown as TradingRecord);
  } catch (err) {
    return `the replica could not read or apply the journal's last records: ${(err as Error)?.message ?? err}`;
  }
  if (replica.lastSeq !== lastSeq) return `the replica reached record ${replica.lastSeq}, the journal ends at ${lastSeq}`;
  if (snapSeq > lastSeq) return `the snapshot (record ${snapSeq}) is past the journal's end`;
  const first = history.firstSeq;
  if (lastSeq > snapSeq && (first === null || first > snapSeq + 1n)) return `the replica's history starts at record ${first ?? "none"}, after the snapshot's ${snapSeq}`;
  return undefined;
}

/** Where a replica starts: a snapshot's state (as snapshotSchedule.ts writes it) and the journal record it covers. */
export type ReplicaStart = { seq: bigint; state: unknown };

/**
 * A read replica's sequencer: fed the sequencer's durable records from record 1, or from the
 * record after snapshot `from` (its core, risk limits and parts restored from it).
 */
export function replicaSequencer(options: Omit<TradingServiceOptions, "journal" | "snapshots" | "observer" | "clock">, from?: ReplicaStart): Sequencer {
  let core: TradingCore;
  let opts: TradingServiceOptions = { ...options, journal: REPLICA_JOURNAL };
  if (from) {
    const state = from.state as SnapshotState;
    core = TradingCore.restore(state.core, options.core);
    opts = { ...opts, risk: state.risk };
    for (const p of options.parts ?? []) if (p.name in state.parts) p.restore(state.parts[p.name]);
  } else {
    core = new TradingCore(options.core);
  }
  return sequencerOf(core, opts, from?.seq ?? 0n, true);
}
