import type { AuditEvent } from "../audit/auditEvent.ts";

/** Every alert rule (the type is derived from this list, so route filters cannot drift). */
export const ALERT_RULES = ["WASH_SAME_IDENTITY", "WASH_RING", "SPOOFING", "QUOTE_STUFFING", "MARKING_THE_CLOSE", "SETTLEMENT_FAILED"] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

export type AlertSeverity = "low" | "medium" | "high";

/** One surveillance finding, with the audit events that evidence it. */
export type Alert = {
  /** Deterministic: `${rule}-${firstEvidenceSeq}-${triggeringSeq}`. */
  alertId: string;
  rule: AlertRule;
  severity: AlertSeverity;
  /** `ts` of the triggering event (never the wall clock). */
  ts: string;
  symbol?: string;
  /** Sorted e-ID hashes involved. */
  identityHashes: string[];
  /** Sorted accounts (wallets) involved. */
  accounts: string[];
  /** Sorted audit-log sequences that evidence the alert (capped at `maxEvidenceSeqs`). */
  eventSeqs: number[];
  /** One human sentence with the numbers. */
  summary: string;
  /** Thresholds and measured values (amounts as decimal strings). */
  detail: Record<string, unknown>;
};

/**
 * A streaming detector: pure and deterministic (driven only by event timestamps, never the
 * wall clock), O(1) amortised per event, bounded memory (sliding windows, pruned state).
 */
export type Detector = {
  readonly rule: AlertRule;
  onEvent(e: AuditEvent): Alert[];
};
