import type { AuditEvent, AuditEventType } from "../../src/audit/auditEvent.ts";
import type { Alert, AlertRule, AlertSeverity } from "../../src/surveillance/types.ts";

/** Shapes of the gateway's compliance API (type-only imports: erased when served). */
export type { AuditEvent, AuditEventType, Alert, AlertRule, AlertSeverity };

export type AlertStatus = "open" | "acknowledged" | "closed";
export type StoredAlert = Alert & { seq: number; status: AlertStatus; statusBy?: string; statusNote?: string };

export type Page<T> = { items: T[]; nextCursor?: string };

export type ChartTrade = { ts: string; price?: string; qty?: string; side?: "buy" | "sell"; identityHash?: string; seq: number };
export type AlertDetail = { alert: StoredAlert; evidence: AuditEvent[]; trades: ChartTrade[] };

export type Anchor = { ok: boolean; anchoredTreeSize?: number; onChainRoot?: string; note?: string; error?: string };
export type AuditStatus = {
  events: number;
  durableEvents: number;
  indexedThrough: number;
  index: string;
  retentionYears: number;
  checkpoints: number;
  latestCheckpoint: { treeSize: number; root: string; time: string; signatureOk: boolean; rootOk: boolean; anchor: Anchor | null } | null;
  verified: boolean;
};

/** The KuCoin-format order the gateway returns as an order's current state. */
export type KucoinOrder = { id: string; symbol: string; side: string; type: string; price: string; size: string; dealSize: string; isActive: boolean; cancelExist: boolean; clientOid?: string; createdAt?: number };
export type OrderLifecycle = { orderId: string; events: AuditEvent[]; current?: KucoinOrder };
export type IdentityActivity = Page<AuditEvent> & { identityHash: string; wallets: string[] };

export type Session = { token: string; expiresAt: number | string; accountId: string; role: string };

export const ALERT_RULES: readonly AlertRule[] = ["WASH_SAME_IDENTITY", "WASH_RING", "SPOOFING", "QUOTE_STUFFING", "MARKING_THE_CLOSE", "SETTLEMENT_FAILED"];
export const ALERT_STATUSES: readonly AlertStatus[] = ["open", "acknowledged", "closed"];

/** The filterable event types (the server's AUDIT_EVENT_TYPES; the server rejects unknown ones). */
export const EVENT_TYPES: readonly AuditEventType[] = [
  "order.received", "order.accepted", "order.rejected", "order.amended", "order.cancelled", "order.expired", "order.stp", "order.triggered", "order.filled",
  "settlement.batch", "settlement.failed", "settlement.resolved", "deposit", "withdrawal.requested", "withdrawal.completed", "withdrawal.failed",
  "auth.login", "auth.loginFailed", "apiKey.created", "apiKey.revoked", "role.changed", "risk.limitsChanged", "killSwitch",
  "market.halted", "market.resumed", "identity.revoked", "audit.query", "alert.raised", "clock.status",
  "report.generated",
];
