import { parseIsoMicros } from "../compliance/audit/auditEvent.ts";
import type { AuditLog } from "../compliance/audit/auditLog.ts";
import type { Journal } from "../journal/types.ts";
import { recordMicros, type RecordTime } from "../records/tradingRecords.ts";

/**
 * The latest time the exchange has already recorded, found at start after the journal replay
 * and the audit log's open: the last journal record, the last audit event and the latest
 * signed checkpoint. The business clock is floored above it (MicroClock.notBefore): a host whose
 * clock stepped back across a restart would otherwise stamp new records before ones already
 * journaled (a cancel earlier than its placement; past-book replays stop at the first record
 * later than the time asked). undefined when nothing is recorded yet.
 */
export async function latestRecordedTime(o: {
  auditLog: AuditLog;
  /** After replay: the journal, its last sequence and the last replayed record's time (TradingService.open), read from the journal when a snapshot covered it. */
  journal?: { journal: Journal; lastSeq: bigint; lastRecordUs?: bigint };
}): Promise<{ us: bigint; from: string } | undefined> {
  const candidates: Array<{ us: bigint; from: string }> = [];
  const j = o.journal;
  let journalUs = j?.lastRecordUs;
  if (j && journalUs === undefined && j.lastSeq > 0n) {
    for await (const e of j.journal.read(j.lastSeq)) journalUs = recordMicros(e.record as unknown as RecordTime);
  }
  if (j && journalUs !== undefined) candidates.push({ us: journalUs, from: `journal record ${j.lastSeq}` });
  if (o.auditLog.size > 0) {
    const last = await o.auditLog.event(o.auditLog.size - 1);
    if (last) candidates.push({ us: parseIsoMicros(last.ts), from: `audit event ${last.seq}` });
  }
  const cp = o.auditLog.latestCheckpoint();
  if (cp) candidates.push({ us: parseIsoMicros(cp.time), from: `audit checkpoint of size ${cp.treeSize}` });
  return candidates.reduce<{ us: bigint; from: string } | undefined>((max, c) => (!max || c.us > max.us ? c : max), undefined);
}
