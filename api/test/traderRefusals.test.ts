import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EngineCode } from "../../matching-engine/src/codes.ts";
import { AuditCode } from "../src/compliance/audit/errors.ts";
import { AuthCode, JournalCode, SenError } from "../src/errors/SenError.ts";
import { MAPPED_CODES, toKucoinError } from "../src/http/errors.ts";
import { ListingCode } from "../src/listing/listingService.ts";
import { HolderCode, RiskCode } from "../src/risk/types.ts";
import { SurveillanceCode } from "../src/compliance/surveillance/errors.ts";
import { TradingCode } from "../src/trading/codes.ts";
import { REFUSALS, UNAVAILABLE, refusalWords } from "../trader/src/refusals.ts";

/**
 * The trader app's refusals in words (api/trader/src/refusals.ts) against the server's code
 * tables: every code the gateway can put in an envelope is trader-facing, so it needs a
 * Vietnamese and an English sentence, unless it is listed below with the reason a trader on
 * the page cannot meet it. A code added to any table therefore fails here until it gets words
 * or a reason.
 */
const ALL_CODES = new Set<string>([
  ...[AuthCode, JournalCode, AuditCode, RiskCode, HolderCode, TradingCode, EngineCode, SurveillanceCode, ListingCode].flatMap((t) => Object.values(t) as string[]),
  ...MAPPED_CODES,
]);

const engineCancelReasons = [
  EngineCode.USER_CANCELLED, EngineCode.CANCEL_ALL, EngineCode.IOC_REMAINDER, EngineCode.FOK_NOT_FILLED, EngineCode.MARKET_NO_LIQUIDITY,
  EngineCode.MARKET_PRICE_BAND, EngineCode.STP_CANCEL_NEWEST, EngineCode.STP_CANCEL_OLDEST, EngineCode.STP_CANCEL_BOTH, EngineCode.STP_DECREMENT,
];

/** Codes the page never shows as a refusal, each with why. */
const NOT_TRADER_FACING: Record<string, string> = {
  [EngineCode.OK]: "success, not a refusal",
  ...Object.fromEntries(engineCancelReasons.map((c) => [c, "why an accepted order ended (a done order's reason), never an error reply"])),
  // The page signs in with the wallet (a session token); these fail HMAC-signed API-key requests only.
  [AuthCode.MISSING_HEADERS]: "HMAC-signed requests only",
  [AuthCode.UNKNOWN_KEY]: "HMAC-signed requests only",
  [AuthCode.KEY_REVOKED]: "HMAC-signed requests only",
  [AuthCode.BAD_SIGNATURE]: "HMAC-signed requests only",
  [AuthCode.BAD_PASSPHRASE]: "HMAC-signed requests only",
  [AuthCode.BAD_KEY_VERSION]: "HMAC-signed requests only",
  [AuthCode.TIMESTAMP_EXPIRED]: "HMAC-signed requests only",
  [AuthCode.REPLAYED]: "HMAC-signed requests only",
  [AuthCode.SIGNED_BEFORE_RESTART]: "HMAC-signed requests only (and a 503: the page says the exchange is unavailable)",
  // The exchange's own failures are 5xx: the page says the exchange is unavailable (UNAVAILABLE) and shows the msg.
  [AuthCode.STORE_CORRUPT]: "server failure (5xx)",
  [AuthCode.SHARED_STATE_UNAVAILABLE]: "server failure (5xx)",
  [JournalCode.IO]: "server failure (5xx)",
  [JournalCode.CORRUPT]: "server failure (5xx)",
  [JournalCode.CLOSED]: "server failure (5xx)",
  [AuditCode.IO]: "server failure (5xx)",
  [AuditCode.CLOSED]: "server failure (5xx)",
  [AuditCode.TAMPERED]: "server failure (5xx)",
  [AuditCode.KEY_MISMATCH]: "server failure (5xx)",
  [SurveillanceCode.BAD_CONFIG]: "server failure (5xx)",
  [TradingCode.SNAPSHOT_UNSUPPORTED]: "server failure (5xx: recovery from a snapshot failed)",
  [TradingCode.HALTED]: "server failure (5xx: the sequencer stopped on a record it could not apply)",
  // The split (an edge in front of the sequencer): 503s, the page says the exchange is unavailable.
  CLUSTER_NO_SEQUENCER: "server failure (5xx)",
  CLUSTER_SEQUENCER_ONLY: "server failure (5xx)",
  CLUSTER_REPLICA_READ_ONLY: "server failure (5xx)",
  CLUSTER_COMMAND_TIMEOUT: "server failure (5xx)",
  CLUSTER_BUS_IO: "server failure (5xx)",
  CLUSTER_CLIENT_CLOSED: "server failure (5xx)",
  CLUSTER_BAD_COMMAND: "server failure (5xx)",
  CLUSTER_LEASE_LOST: "server failure (5xx)",
  CLUSTER_BAD_TARGET: "a request target that is not a path (`//`): a browser's fetch never sends one",
  // Operator, compliance and service routes the trader app does not call.
  [AuditCode.BAD_RANGE]: "audit routes (compliance)",
  [AuditCode.BAD_TIMESTAMP]: "audit routes (compliance: a malformed time in a query)",
  COMPLIANCE_NO_CHAIN: "compliance identity lookups (server failure, 5xx)",
  COMPLIANCE_CHAIN_UNAVAILABLE: "compliance identity lookups (server failure, 5xx)",
  [ListingCode.RULE]: "listing (operators)",
  [ListingCode.CHAIN]: "listing (operators)",
  [TradingCode.LISTING_REFUSED]: "listing (operators)",
  [TradingCode.DEPOSIT_DUPLICATE]: "the chain watcher's crediting, not a trader's request",
  [TradingCode.CUSTODY_DEBIT_DUPLICATE]: "the chain watcher's custody debits, not a trader's request",
  [TradingCode.WITHDRAWAL_NOT_PENDING]: "the payout service's bookkeeping, not a trader's request",
  [TradingCode.SETTLEMENT_NOT_PENDING]: "settlement (operators)",
  [TradingCode.SETTLEMENT_NOT_FAILED]: "settlement (operators)",
  [TradingCode.SETTLEMENT_REVERSE_INSUFFICIENT]: "settlement (operators)",
  COMPLIANCE_NOT_FOUND: "audit routes (compliance)",
  AUDIT_BUNDLE_BUSY: "audit routes (compliance)",
  DOWNLOAD_TOKEN_INVALID: "audit routes (compliance)",
};

describe("the trader app's refusals in words", () => {
  it("every trader-facing code of the server has a Vietnamese and an English sentence", () => {
    const missing = [...ALL_CODES].filter((c) => !(c in NOT_TRADER_FACING) && !REFUSALS[c]);
    assert.deepEqual(missing, [], "codes a trader can meet without words in api/trader/src/refusals.ts");
    for (const [code, s] of Object.entries(REFUSALS)) {
      assert.ok(ALL_CODES.has(code), `${code} is in the app's table but no server code table has it (renamed?)`);
      assert.ok(s.vi.trim() && s.en.trim(), `${code}: both languages`);
      assert.notEqual(s.vi, s.en, `${code}: the Vietnamese sentence is a translation, not the English one`);
    }
    for (const code of Object.keys(NOT_TRADER_FACING)) assert.ok(ALL_CODES.has(code), `${code} is excluded but no longer exists`);
    assert.ok(Object.keys(REFUSALS).length >= 60, `${Object.keys(REFUSALS).length} sentences`);
  });

  it("excluded codes are the server's failures or routes a trader does not call, never a pre-trade rule", () => {
    for (const code of Object.keys(NOT_TRADER_FACING)) assert.doesNotMatch(code, /^RISK_/, `${code}: a pre-trade rule is always trader-facing`);
    for (const code of Object.keys(NOT_TRADER_FACING).filter((c) => NOT_TRADER_FACING[c].startsWith("server failure"))) {
      assert.ok(toKucoinError(new SenError(code, "why")).status >= 500, `${code} is said as "unavailable" by its status, so it must be a 5xx`);
    }
  });

  it("keeps the gateway's detail (the rule id, the numbers) beside the sentence; an unknown code keeps its msg alone", () => {
    // As the gateway replies to an order the country rule refuses (risk/pilotWording.ts).
    const reply = toKucoinError(new SenError(RiskCode.HOLDER_COUNTRY, "NQ05-FOREIGN-ONLY: tokenised assets issued in Viet Nam are for foreign investors (country 704)"));
    const vi = refusalWords({ senCode: reply.senCode, msg: reply.msg, status: reply.status }, "vi");
    assert.equal(vi.sentence, "Tài sản này không dành cho nhà đầu tư ở quốc gia của bạn.");
    assert.match(vi.detail, /NQ05-FOREIGN-ONLY: .* \(country 704\)$/);
    assert.equal(refusalWords({ senCode: reply.senCode, msg: reply.msg }, "en").sentence, "This asset is not open to investors of your country.");
    assert.deepEqual(refusalWords({ senCode: "SOMETHING_NEW", msg: "Something new happened", status: 400 }, "vi"), { sentence: null, detail: "Something new happened" });
    assert.deepEqual(refusalWords({ senCode: "JOURNAL_IO", msg: "Service unavailable: journal failure", status: 503 }, "en"), { sentence: UNAVAILABLE.en, detail: "Service unavailable: journal failure" });
    assert.deepEqual(refusalWords({ msg: "HTTP 502: not a JSON reply", status: 502 }, "vi"), { sentence: UNAVAILABLE.vi, detail: "HTTP 502: not a JSON reply" });
  });
});
