import { AuditCode, AuditError } from "./errors.ts";
/**
 * One line of Sen's audit log. Field names follow FINRA CAT / MiFID II RTS 24 practice:
 * every event has a unique id, a global gap-free sequence (its leaf index in the log's
 * Merkle tree), a UTC timestamp with microseconds, and as many of the order-record fields
 * as apply. Prices and quantities are decimal strings in display units (as in KuCoin's API)
 * so the record reads the same to a compliance officer as to the trader who sent it.
 *
 * The stored line (canonical JSON, keys in the order of this type, absent fields omitted)
 * is the Merkle leaf: its bytes are what the tree commits to.
 */
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export type AuditEvent = {
  /** Global sequence: 0 for the first event; equals the event's Merkle leaf index. */
  seq: number;
  /** Unique event id (UUID). */
  id: string;
  /** UTC, ISO 8601 with microseconds: 2026-11-23T10:15:30.123456Z */
  ts: string;
  type: AuditEventType;
  /** Trading journal sequence of the record this event derives from (absent for events that are not journaled commands, e.g. logins). */
  jseq?: number;
  account?: string;
  identityHash?: string;
  wallet?: string;
  apiKeyId?: string;
  clientOid?: string;
  orderId?: string;
  symbol?: string;
  side?: "buy" | "sell";
  price?: string;
  qty?: string;
  orderType?: string; // limit | market | stop-limit | stop-market
  tif?: string; // GTC | IOC | FOK (+ postOnly in detail)
  /** Best bid/ask mid or last price of the symbol when the order was received. */
  refPrice?: string;
  ip?: string;
  reason?: string;
  ruleId?: string;
  tradeId?: string;
  liquidity?: "maker" | "taker";
  counterpartyAccount?: string;
  counterpartyIdentityHash?: string;
  counterpartyOrderId?: string;
  txHash?: string;
  currency?: string;
  amount?: string;
  /** Who acted, when it is not the account itself (an operator's wallet, a service). */
  actor?: string;
  detail?: Record<string, unknown>;
};

/** What a producer hands to the log; the log assigns seq, id and ts (unless ts is given). */
export type AuditEventInput = Omit<AuditEvent, "seq" | "id" | "ts"> & { ts?: string };

/** Every audit event type (the type is derived from this list, so filters and docs cannot drift). */
export const AUDIT_EVENT_TYPES = [
  // order lifecycle
  "order.received", // at the gateway, before any check; carries the reference price and source
  "order.accepted", // passed the pre-trade checks, journaled, resting or matched
  "order.rejected", // refused: `ruleId` is the RISK_* / ENGINE_* / TRADING_* code
  "order.amended",
  "order.cancelled", // `reason`: user | killSwitch | disconnect | identity | halt | custody | ioc | fok | postOnly
  "order.expired",
  "order.stp", // cancelled by self-trade prevention
  "order.triggered", // a stop order became active
  "order.filled", // one side of a trade (one event per side); `tradeId`, `liquidity`, counterparty
  // money and chain
  "settlement.batch", // trades settled on chain: `txHash`, `detail.tradeIds`
  "settlement.failed", // the vault refused a trade: `tradeId`, `reason` (the decoded revert); it waits for an operator
  "settlement.resolved", // an operator retried or reversed a failed settlement: `detail.action`, `actor`
  "deposit",
  "deposit.waiting", // a vault deposit of a token Sen has not listed yet: in custody, not credited; `detail` = ref, token, raw amount, block (once per start while it waits)
  "withdrawal.requested",
  "withdrawal.completed",
  "withdrawal.failed",
  "custody.debited", // custody the token's agent took from the vault (recovery, seizure) left the ledger: `detail.kind` returned | seized, `detail.ref`, `detail.to`, `detail.cancelledOrders`, `detail.owed`; `txHash`
  // access and controls
  "auth.login",
  "auth.loginFailed", // `account`/`wallet` only when the message's signature verified; else `detail.claimedWallet`
  "auth.logout", // a session ended by its holder: `detail.scope` session | account, `detail.sessions` ended
  "apiKey.created",
  "apiKey.revoked",
  "role.changed",
  "risk.limitsChanged",
  "killSwitch", // account frozen / unfrozen by an operator
  "market.halted",
  "market.resumed",
  "identity.revoked",
  // the pilot's rules
  "tax.rateChanged", // the rate withheld from sales from now on: `detail.rateBps`, `detail.previousBps`, `detail.source`
  "listing.created", // an asset listed through the operator flow: `symbol`, `detail` = the listing
  "listing.refused", // a listing the pilot rules refuse: `ruleId`, `reason`
  "rules.loaded", // the pilot rule set in force at start: `detail.version`, `detail.sha256`
  "clock.status", // RTS 25: the business clock's source, bound and measured divergence, at start and when out of bound (clock/clockMonitor.ts)
  // compliance itself
  "audit.query", // every compliance query is itself audited
  "report.generated", // a regulatory report produced for an officer: `reason` = which report, `detail` = parameters, rows, sha256 of the file
  "alert.raised", // a surveillance alert
] as const;

/** The stored line's key order. */
export const FIELD_ORDER: ReadonlyArray<keyof AuditEvent> = [
  "seq", "id", "ts", "type", "jseq", "account", "identityHash", "wallet", "apiKeyId", "clientOid", "orderId", "symbol", "side",
  "price", "qty", "orderType", "tif", "refPrice", "ip", "reason", "ruleId", "tradeId", "liquidity", "counterpartyAccount",
  "counterpartyIdentityHash", "counterpartyOrderId", "txHash", "currency", "amount", "actor", "detail",
];

/** The canonical line for an event (no trailing newline): fixed key order, undefined fields dropped. */
export function encodeAuditEvent(e: AuditEvent): string {
  return encodeAuditLine(e, e.seq, e.id, e.ts);
}

/** encodeAuditEvent of `{ ...e, seq, id, ts }`, without making that event first. */
export function encodeAuditLine(e: AuditEventInput, seq: number, id: string, ts: string): string {
  // One object literal in FIELD_ORDER (JSON.stringify drops its undefined fields): a single
  // hidden class, which V8 stringifies 2-3x faster than an object built key by key, on the
  // order path several times per order. auditEvent.test.ts holds it to FIELD_ORDER.
  return JSON.stringify({
    seq, id, ts, type: e.type, jseq: e.jseq, account: e.account, identityHash: e.identityHash, wallet: e.wallet, apiKeyId: e.apiKeyId,
    clientOid: e.clientOid, orderId: e.orderId, symbol: e.symbol, side: e.side, price: e.price, qty: e.qty, orderType: e.orderType, tif: e.tif, refPrice: e.refPrice,
    ip: e.ip, reason: e.reason, ruleId: e.ruleId, tradeId: e.tradeId, liquidity: e.liquidity, counterpartyAccount: e.counterpartyAccount,
    counterpartyIdentityHash: e.counterpartyIdentityHash, counterpartyOrderId: e.counterpartyOrderId, txHash: e.txHash, currency: e.currency, amount: e.amount,
    actor: e.actor, detail: e.detail,
  } satisfies Record<keyof AuditEvent, unknown>);
}

/** The millisecond part of the last isoMicros (records and events come in time order, several per ms). */
let lastMs = Number.NaN;
let lastMsText = "";

/** UTC ISO 8601 with microseconds from epoch microseconds. */
export function isoMicros(epochMicros: bigint): string {
  // Number arithmetic while exact (every time until the year 2255): no bigint divisions per event.
  const n = Number(epochMicros);
  const exact = n >= 0 && Number.isSafeInteger(n);
  const ms = exact ? Math.floor(n / 1000) : Number(epochMicros / 1000n);
  const micros = exact ? n - ms * 1000 : Number(epochMicros % 1000n);
  if (ms !== lastMs) {
    lastMsText = new Date(ms).toISOString().slice(0, -1); // ...SSS
    lastMs = ms;
  }
  return `${lastMsText}${micros < 10 ? "00" : micros < 100 ? "0" : ""}${micros}Z`;
}

/** Epoch microseconds from an ISO timestamp with up to microsecond precision. */
export function parseIsoMicros(iso: string): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?Z$/.exec(iso);
  if (!m) throw new AuditError(AuditCode.BAD_TIMESTAMP, `not a UTC ISO timestamp: ${iso}`);
  const frac = (m[2] ?? "").padEnd(6, "0");
  return BigInt(Date.parse(`${m[1]}Z`)) * 1000n + BigInt(frac);
}
