import type { AuditEvent } from "../audit/auditEvent.ts";
import type { Alert, AlertRule, AlertSeverity } from "./types.ts";

export type AlertParts = {
  rule: AlertRule;
  severity: AlertSeverity;
  trigger: AuditEvent;
  symbol?: string;
  identityHashes: Iterable<string>;
  accounts: Iterable<string | undefined>;
  eventSeqs: Iterable<number>;
  maxEvidenceSeqs: number;
  summary: string;
  detail: Record<string, unknown>;
};

/**
 * Builds an alert with sorted, de-duplicated identities, accounts and evidence, and the
 * deterministic id `${rule}-${firstEvidenceSeq}-${triggeringSeq}`. Evidence beyond the cap keeps
 * the earliest sequences plus the trigger, and says how many were left out.
 */
export function buildAlert(p: AlertParts): Alert {
  const seqs = [...new Set([...p.eventSeqs, p.trigger.seq])].sort((a, b) => a - b);
  let eventSeqs = seqs;
  const detail = { ...p.detail };
  if (seqs.length > p.maxEvidenceSeqs) {
    eventSeqs = [...seqs.slice(0, Math.max(0, p.maxEvidenceSeqs - 1)), p.trigger.seq];
    detail.evidenceSeqsOmitted = seqs.length - eventSeqs.length;
  }
  const accounts = [...new Set([...p.accounts].filter((a): a is string => a !== undefined))].sort();
  return {
    alertId: `${p.rule}-${eventSeqs[0]}-${p.trigger.seq}`,
    rule: p.rule,
    severity: p.severity,
    ts: p.trigger.ts,
    ...(p.symbol !== undefined ? { symbol: p.symbol } : {}),
    identityHashes: [...new Set(p.identityHashes)].sort(),
    accounts,
    eventSeqs,
    summary: p.summary,
    detail,
  };
}

/** Short form of an identity hash for summaries ("0x1234…abcd"). */
export function shortId(h: string): string {
  return h.length > 14 ? `${h.slice(0, 8)}…${h.slice(-4)}` : h;
}
