import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EngineCode } from "../../../matching-engine/src/codes.ts";
import { AuditCode } from "../compliance/audit/errors.ts";
import { AuthCode, JournalCode, SenError } from "../errors/SenError.ts";
import { HolderCode, RiskCode } from "../risk/types.ts";
import { SurveillanceCode } from "../compliance/surveillance/errors.ts";
import { TradingCode } from "../trading/codes.ts";
import { toKucoinError } from "./errors.ts";

/** Every code table of the gateway: a code added to one of them must get a KuCoin code too. */
const TABLES = { AuthCode, JournalCode, AuditCode, RiskCode, HolderCode, TradingCode, EngineCode, SurveillanceCode };

/** Failures of the exchange itself: the client can only retry, so 5xx is right. */
const SERVER_SIDE = new Set<string>([
  JournalCode.IO, JournalCode.CORRUPT, JournalCode.CLOSED, AuditCode.IO, AuditCode.CLOSED, AuditCode.TAMPERED, AuditCode.KEY_MISMATCH,
  AuthCode.STORE_CORRUPT, AuthCode.SIGNED_BEFORE_RESTART, AuthCode.SHARED_STATE_UNAVAILABLE, SurveillanceCode.BAD_CONFIG, TradingCode.SNAPSHOT_UNSUPPORTED,
  TradingCode.HALTED,
]);

describe("error codes at the edge", () => {
  it("every code of every code table maps to a KuCoin code and status, never to the internal-error fallback", () => {
    let walked = 0;
    for (const [table, codes] of Object.entries(TABLES)) {
      for (const code of Object.values(codes)) {
        if (code === EngineCode.OK) continue;
        const mapped = toKucoinError(new SenError(code, "why"));
        assert.equal(mapped.senCode, code, `${table}.${code}`);
        assert.notEqual(mapped.msg, "Internal Server Error", `${table}.${code} falls through to 500`);
        assert.match(mapped.code, /^\d{3,6}$/, `${table}.${code}`);
        if (SERVER_SIDE.has(code)) assert.ok(mapped.status >= 500, `${table}.${code} is the exchange's failure: ${mapped.status}`);
        else assert.ok(mapped.status >= 400 && mapped.status < 500, `${table}.${code} is the client's: ${mapped.status}`);
        walked++;
      }
    }
    assert.ok(walked > 80, `walked ${walked} codes`);
  });
});
