import type { AuditEvent, AuditEventType } from "../../src/compliance/audit/auditEvent.ts";
import type { Alert, AlertRule, AlertSeverity } from "../../src/compliance/surveillance/types.ts";

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
  "custody.debited", "auth.login", "auth.loginFailed", "auth.logout", "apiKey.created", "apiKey.revoked", "role.changed", "risk.limitsChanged", "killSwitch",
  "market.halted", "market.resumed", "identity.revoked", "audit.query", "alert.raised", "clock.status",
  "report.generated",
];

/** A past order book (GET /api/v1/compliance/books/:symbol): levels are [price, size] decimal strings. */
export type PastBook = {
  symbol: string;
  journalSeq: string;
  time: string | null;
  bids: Array<[string, string]>;
  asks: Array<[string, string]>;
  depth: number;
  /** The record that made the book what it shows (null: unchanged since the journal began). */
  changedAt: string | null;
  /** Where "step back" goes: a record after which the book showed its previous state (null: this is the first). */
  prevSeq: string | null;
  /** The next record that changed the book (null: none up to journalEnd, or up to nextSearchedTo). */
  nextSeq: string | null;
  /** Set when the search for the next change stopped without one: the last record searched. */
  nextSearchedTo: string | null;
  journalEnd: string;
};
export type MarketSymbol = { symbol: string; name?: string; baseCurrency?: string; quoteCurrency?: string; enableTrading?: boolean };

/** An e-ID's attributes as the IdentityRegistry holds them on chain (GET /api/v1/compliance/identities/:hash). */
export type IdentityAttributes = {
  identityHash: string;
  registry: string;
  chainId: number;
  block: string;
  blockTime: string;
  verified: boolean;
  notVerifiedBecause: string[];
  kycLevel: { level: number; name: string };
  country: { code: number; alpha2: string | null; name: string };
  investorType: { code: number; name: string };
  expiresAt: string;
  expired: boolean;
  issuer: { address: string; trusted: boolean };
  attestedAt: string | null;
  revoked: boolean;
  revokedBy: string | null;
  revokedByGovernance: boolean | null;
  revokedAt: string | null;
  wallets: Array<{ wallet: string; bound: boolean; boundAt: string | null; unboundAt: string | null }>;
};

/** Settlement failures (GET /api/v1/compliance/settlements?status=open|resolved). */
export type SettlementSide = { account: string; identityHash: string | null };
type SettlementBase = { tradeId: string; symbol: string; size: string; amount: string; currency: string; buyer: SettlementSide; seller: SettlementSide; reason: string; reasonText: string; auditSeq: number | null; jseq: number | null };
export type OpenSettlement = SettlementBase & { tradedAt: string; failedAt: string };
export type ResolvedSettlement = SettlementBase & { action: "retry" | "reverse"; by: string; note: string | null; resolvedAt: string };
export type SettlementList<T> = { status: "open" | "resolved"; asOf: string; items: T[]; nextCursor?: string };
