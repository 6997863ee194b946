import type { ErrorRequestHandler, RequestHandler } from "express";
import { AuditCode } from "../compliance/audit/errors.ts";
import { ClusterCode, EdgeCode, SenError } from "../errors/SenError.ts";
import { HolderCode } from "../risk/types.ts";
import { TradingCode } from "../trading/codes.ts";

/**
 * The edge mapper: the only place that knows KuCoin's numeric codes. ccxt decides its error
 * class from `code` (and a few exact messages), so both are chosen to land on the right one
 * (see api/docs/kucoin-compat.md §5). `senCode` names Sen's own rule for humans and tools.
 */
type KucoinError = { status: number; code: string; msg: string };

/**
 * The chain's holder rules (risk/holderRules.ts). Keyed by the code table, so a rule added
 * there without a KuCoin code here does not type-check; the reply's msg says why.
 */
const HOLDER: Record<HolderCode, KucoinError> = {
  [HolderCode.TOKEN_PAUSED]: { status: 400, code: "400200", msg: "Forbidden to place an order: the token is paused on chain" },
  [HolderCode.HOLDER_FROZEN]: { status: 403, code: "400200", msg: "Forbidden to place an order: the wallet is frozen on this token" },
  [HolderCode.HOLDER_FROZEN_AMOUNT]: { status: 400, code: "200004", msg: "Balance insufficient: frozen on chain by the token's transfer agent" },
  [HolderCode.IDENTITY_NOT_VERIFIED]: { status: 403, code: "400303", msg: "Wallet has no verified e-ID" },
  [HolderCode.IDENTITY_REVOKED]: { status: 403, code: "400303", msg: "The wallet's e-ID was revoked" },
  [HolderCode.IDENTITY_EXPIRES]: { status: 403, code: "400303", msg: "The wallet's e-ID expires before this could settle" },
  [HolderCode.HOLDER_KYC_LEVEL]: { status: 403, code: "400303", msg: "The asset needs a higher e-ID level" },
  [HolderCode.HOLDER_INVESTOR_TYPE]: { status: 403, code: "400303", msg: "The asset is not open to this investor type" },
  [HolderCode.HOLDER_COUNTRY]: { status: 403, code: "400500", msg: "Your located country/region is currently not supported for the trading of this token" },
  [HolderCode.HOLDER_CAP]: { status: 400, code: "400200", msg: "Forbidden to place an order: above the asset's holding limit per identity" },
};

const TABLE: Record<string, KucoinError> = {
  ...HOLDER,
  AUTH_MISSING_HEADERS: { status: 401, code: "400001", msg: "Any of KC-API-KEY, KC-API-SIGN, KC-API-TIMESTAMP, KC-API-PASSPHRASE is missing in your request header." },
  AUTH_TIMESTAMP_EXPIRED: { status: 401, code: "400002", msg: "KC-API-TIMESTAMP Invalid -- Time differs from server time by more than 5 seconds" },
  AUTH_UNKNOWN_KEY: { status: 401, code: "400003", msg: "KC-API-KEY not exists" },
  AUTH_KEY_REVOKED: { status: 401, code: "400003", msg: "KC-API-KEY not exists" },
  AUTH_BAD_PASSPHRASE: { status: 401, code: "400004", msg: "KC-API-PASSPHRASE error" },
  AUTH_BAD_SIGNATURE: { status: 401, code: "400005", msg: "Signature error" },
  AUTH_REPLAYED: { status: 401, code: "400005", msg: "Signature error: request replayed" },
  AUTH_SIGNED_BEFORE_RESTART: { status: 503, code: "500000", msg: "Service restarted: sign the request again with the current time and retry" },
  AUTH_BAD_KEY_VERSION: { status: 401, code: "400005", msg: "Signature error: KC-API-KEY-VERSION must be 2" },
  AUTH_ACCOUNT_DISABLED: { status: 403, code: "411100", msg: "User is frozen" },
  AUTH_REPLAY_GUARD_FULL: { status: 429, code: "429000", msg: "Exceeded the access frequency (server busy)" },
  AUTH_INVALID_INPUT: { status: 400, code: "400100", msg: "Parameter error" },
  AUTH_IP_NOT_ALLOWED: { status: 401, code: "400006", msg: "Invalid request ip" },
  AUTH_PERMISSION_DENIED: { status: 403, code: "400007", msg: "Access Denied -- Your API key does not have sufficient permissions" },
  AUTH_ROLE_FORBIDDEN: { status: 403, code: "400007", msg: "Access Denied -- this route needs another role" },
  AUTH_BAD_SESSION: { status: 401, code: "401", msg: "Session missing, invalid or expired" },
  AUTH_SIWE_INVALID: { status: 401, code: "401", msg: "Sign-in with Ethereum failed" },
  ID_NOT_VERIFIED: { status: 403, code: "400303", msg: "Wallet has no verified e-ID" },
  RISK_INSUFFICIENT_FUNDS: { status: 400, code: "200004", msg: "Balance insufficient!" },
  RISK_OFFERING_NOT_OPEN: { status: 400, code: "400100", msg: "The trading pair is not open yet: its offering has not opened" },
  RISK_ACCOUNT_FROZEN: { status: 403, code: "411100", msg: "User is frozen" },
  RISK_RATE_LIMIT_KEY: { status: 429, code: "429000", msg: "Exceeded the access frequency (API key)" },
  RISK_RATE_LIMIT_ACCOUNT: { status: 429, code: "429000", msg: "Exceeded the access frequency (account)" },
  RATE_LIMIT_IP: { status: 429, code: "429000", msg: "Exceeded the access frequency (IP)" },
  TRADING_ORDER_NOT_FOUND: { status: 400, code: "400100", msg: "order_not_exist_or_not_allow_to_cancel" },
  TRADING_ORDER_NOT_ACTIVE: { status: 400, code: "400100", msg: "order_not_exist_or_not_allow_to_cancel" },
  TRADING_UNKNOWN_SYMBOL: { status: 400, code: "400000", msg: "Unsupported trading pair." },
  TRADING_UNKNOWN_CURRENCY: { status: 400, code: "400100", msg: "Unsupported currency" },
  TRADING_ENGINE_REJECTED: { status: 400, code: "300000", msg: "Order refused by the matching engine" },
  TRADING_BAD_AMOUNT: { status: 400, code: "400100", msg: "Parameter error: the amount must be positive" },
  DEPOSIT_DUPLICATE: { status: 400, code: "400100", msg: "Deposit already credited" },
  WITHDRAWAL_NOT_PENDING: { status: 400, code: "400100", msg: "Withdrawal is not pending" },
  CUSTODY_DEBIT_DUPLICATE: { status: 400, code: "400100", msg: "Custody debit already applied" },
  TRADING_CUSTODY_DEBITED: { status: 409, code: "400100", msg: "Order cancelled: its funds left the settlement vault (the token agent's recovery or seizure)" },
  SETTLEMENT_NOT_PENDING: { status: 400, code: "400100", msg: "Trade is not waiting for settlement" },
  SETTLEMENT_NOT_FAILED: { status: 400, code: "400100", msg: "No failed settlement for this trade" },
  TRADING_OFFERING_NOT_OPEN: { status: 400, code: "400100", msg: "The trading pair is not open yet: its offering has not opened" },
  TRADING_LISTING_REFUSED: { status: 400, code: "400100", msg: "Listing refused" },
  LISTING_RULE: { status: 400, code: "400100", msg: "Listing refused by the pilot's rules" },
  LISTING_CHAIN: { status: 409, code: "400100", msg: "Listing refused: the token on chain does not match the application" },
  SETTLEMENT_REVERSE_INSUFFICIENT: { status: 409, code: "400100", msg: "Cannot reverse yet: a side no longer has available what the trade gave it (cancel its orders or wait for its withdrawals first)" },
  VALIDATION: { status: 400, code: "400100", msg: "Parameter error" },
  NOT_FOUND: { status: 404, code: "404000", msg: "Url Not Found" },
  // A compliance lookup of something the audit trail does not hold: the reply is the route's own sentence (never a trading message).
  COMPLIANCE_NOT_FOUND: { status: 404, code: "404000", msg: "Not found in the audit trail" },
  BODY_TOO_LARGE: { status: 413, code: "400100", msg: "Request body too large" },
  JOURNAL_IO: { status: 503, code: "500000", msg: "Service unavailable: journal failure" },
  JOURNAL_CORRUPT: { status: 503, code: "500000", msg: "Service unavailable: journal failure" },
  JOURNAL_CLOSED: { status: 503, code: "500000", msg: "Service unavailable: the exchange is stopping" },
  [TradingCode.HALTED]: { status: 503, code: "500000", msg: "Service unavailable: the exchange stopped on an internal error and must be restarted" },
  AUTH_STORE_CORRUPT: { status: 503, code: "500000", msg: "Service unavailable: key store failure" },
  AUTH_SHARED_STATE_UNAVAILABLE: { status: 503, code: "500000", msg: "Service unavailable: the shared session and key store did not answer; retry shortly" },
  SURVEILLANCE_BAD_CONFIG: { status: 503, code: "500000", msg: "Service unavailable: misconfigured" },
  RATE_LIMITED: { status: 429, code: "429000", msg: "Too many requests" },
  HISTORY_BUSY: { status: 429, code: "429000", msg: "Too many requests: past order books are being rebuilt, retry shortly" },
  // Each bundle reads the whole log twice: one at a time per officer, a couple at once in all.
  AUDIT_BUNDLE_BUSY: { status: 429, code: "429000", msg: "Too many requests: an audit bundle is already being written (one at a time per officer, two at once in all); retry when it has finished" },
  // A native-download link (routes/auditBundle.ts): never says which of the three, a guesser learns nothing.
  DOWNLOAD_TOKEN_INVALID: { status: 401, code: "401", msg: "Download link invalid, already used or expired: start the download again" },
  // The e-ID registry is read on chain for compliance lookups: without a chain there is no second source to fall back to.
  COMPLIANCE_NO_CHAIN: { status: 503, code: "500000", msg: "Service unavailable: this gateway runs without a chain, so the e-ID registry cannot be read" },
  COMPLIANCE_CHAIN_UNAVAILABLE: { status: 503, code: "500000", msg: "Service unavailable: the chain did not answer, so the e-ID registry could not be read; retry shortly" },
  // Nothing is accepted that the audit trail cannot record (Resolution 05: every order on record).
  AUDIT_IO: { status: 503, code: "500000", msg: "Service unavailable: audit trail failure" },
  AUDIT_CLOSED: { status: 503, code: "500000", msg: "Service unavailable: audit trail failure" },
  AUDIT_BAD_RANGE: { status: 400, code: "400100", msg: "Parameter error: outside the audit log" },
  [AuditCode.BAD_TIMESTAMP]: { status: 400, code: "400100", msg: "Parameter error: not a UTC ISO timestamp" },
  [TradingCode.SNAPSHOT_UNSUPPORTED]: { status: 503, code: "500000", msg: "Service unavailable: recovery failed" },
  AUDIT_TAMPERED: { status: 503, code: "500000", msg: "Service unavailable: audit trail failure" },
  AUDIT_KEY_MISMATCH: { status: 503, code: "500000", msg: "Service unavailable: audit trail failure" },
  // The split (cluster/): what an edge answers when the sequencer is not there to answer.
  [EdgeCode.NO_SEQUENCER]: { status: 503, code: "500000", msg: "Service unavailable: no sequencer is active; retry shortly" },
  [EdgeCode.BAD_TARGET]: { status: 400, code: "400100", msg: "Bad request target: send a path, e.g. /api/v1/timestamp" },
  [EdgeCode.SEQUENCER_ONLY]: { status: 503, code: "500000", msg: "Service unavailable: this edge cannot serve that; retry shortly" },
  [EdgeCode.REPLICA_READ_ONLY]: { status: 503, code: "500000", msg: "Service unavailable: this edge cannot serve that; retry shortly" },
  [ClusterCode.COMMAND_TIMEOUT]: { status: 503, code: "500000", msg: "Service unavailable: no answer from the matching engine in time; the order may still have been placed, look it up by clientOid" },
  [ClusterCode.BUS_IO]: { status: 503, code: "500000", msg: "Service unavailable: the matching engine cannot be reached; retry shortly" },
  [ClusterCode.CLIENT_CLOSED]: { status: 503, code: "500000", msg: "Service unavailable: the exchange is stopping" },
  [ClusterCode.BAD_COMMAND]: { status: 500, code: "500000", msg: "Internal error: the matching engine could not read the command" },
  [ClusterCode.LEASE_LOST]: { status: 503, code: "500000", msg: "Service unavailable: the matching engine is changing over; retry shortly" },
  [ClusterCode.REFUSED_BEFORE_FAILOVER]: { status: 400, code: "400100", msg: "The order was refused before a failover of the matching engine; its reason was lost: check it and send it again" },
};

/** Every code with its own KuCoin mapping, the edge's ad-hoc ones included (the trader app's words for them are checked against it). */
export const MAPPED_CODES: readonly string[] = Object.keys(TABLE);

/** Refusals by the pilot's rules: the reply names the rule and says it in words. */
const PILOT_RULE_CODES = new Set(["LISTING_RULE", "LISTING_CHAIN", "RISK_OFFERING_NOT_OPEN", "TRADING_OFFERING_NOT_OPEN", "TRADING_LISTING_REFUSED"]);

/** The edge's own failures that no other table holds. */
export const HttpCode = {
  /** The client went away in the middle of a streamed reply (an export): the stream stops. */
  CLIENT_GONE: "HTTP_CLIENT_GONE",
  /** The route table asks the lean order path for something it cannot serve (found at start, never per request). */
  ROUTE_TABLE: "HTTP_ROUTE_TABLE",
} as const;

const INVALID_ORDER: KucoinError = { status: 400, code: "300000", msg: "Order refused" };
const INTERNAL: KucoinError = { status: 500, code: "500000", msg: "Internal Server Error" };

export function toKucoinError(err: unknown): KucoinError & { senCode: string; detail?: string } {
  if (err instanceof SenError) {
    const entry = TABLE[err.code] ?? (err.code.startsWith("RISK_") || err.code.startsWith("ENGINE_") ? INVALID_ORDER : undefined);
    if (entry) {
      // Rule rejections say which rule fired and why; auth failures say no more than KuCoin does.
      const detail = err.code.startsWith("AUTH_") ? undefined : err.message;
      if (err.code === "COMPLIANCE_NOT_FOUND") return { ...entry, msg: err.message, senCode: err.code, detail };
      const explain = entry === INVALID_ORDER || err.code === "VALIDATION" || err.code in HOLDER || PILOT_RULE_CODES.has(err.code);
      return { ...entry, msg: explain ? `${entry.msg}: ${err.message}` : entry.msg, senCode: err.code, detail };
    }
  }
  const e = err as { type?: string; status?: number; message?: string };
  if (e?.type === "entity.too.large") return { ...TABLE.BODY_TOO_LARGE, senCode: "BODY_TOO_LARGE" };
  // Express and body-parser flag what is the client's fault (a bad %-escape, an unsupported
  // or corrupt Content-Encoding) with a 4xx status: a parameter error, not a server error.
  if (typeof e?.status === "number" && e.status >= 400 && e.status < 500) {
    return { status: e.status, code: "400100", msg: `Parameter error: ${e.message ?? "bad request"}`, senCode: "VALIDATION" };
  }
  return { ...INTERNAL, senCode: "INTERNAL" };
}

export class ValidationError extends SenError {
  override name = "ValidationError" as const;
  constructor(message: string, details?: Record<string, unknown>) {
    super("VALIDATION", message, { details });
  }
}

export const notFound: RequestHandler = (_req, res) => {
  const e = TABLE.NOT_FOUND;
  res.status(e.status).json({ code: e.code, msg: e.msg });
};

export function errorHandler(log: { error: (obj: object, msg: string) => void }): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const mapped = toKucoinError(err);
    if (mapped.status >= 500) log.error({ err, path: req.path }, "request failed");
    if (res.headersSent) return;
    res.status(mapped.status).json({ code: mapped.code, msg: mapped.msg, senCode: mapped.senCode });
  };
}
