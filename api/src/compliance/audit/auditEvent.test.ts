import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeAuditEvent, FIELD_ORDER, isoMicros, parseIsoMicros, type AuditEvent } from "./auditEvent.ts";

/** The line as defined: FIELD_ORDER's keys in order, undefined fields dropped. */
function byFieldOrder(e: AuditEvent): string {
  const o: Record<string, unknown> = {};
  for (const k of FIELD_ORDER) if (e[k] !== undefined) o[k] = e[k];
  return JSON.stringify(o);
}

describe("encodeAuditEvent", () => {
  it("writes every field in FIELD_ORDER, whatever order the event's own keys are in", () => {
    const full = Object.fromEntries([...FIELD_ORDER].reverse().map((k, i) => [k, k === "seq" || k === "jseq" ? i : k === "detail" ? { b: 1, a: ["x"] } : `${k}-"quoted"\\-\u0001-\ud800`])) as unknown as AuditEvent;
    const line = encodeAuditEvent(full);
    assert.equal(line, byFieldOrder(full));
    assert.deepEqual(Object.keys(JSON.parse(line)), [...FIELD_ORDER]);
  });

  it("drops undefined fields as the key-by-key encoding does (the Merkle leaves stay byte for byte the same)", () => {
    const events: AuditEvent[] = [
      { seq: 0, id: "i", ts: "2026-12-03T10:00:00.000001Z", type: "order.received" },
      { seq: 7, id: "j", ts: "2026-12-03T10:00:00.000002Z", type: "order.filled", jseq: 3, account: "0xab", price: "10000", qty: "1", liquidity: "maker", detail: undefined, reason: undefined },
      { seq: 8, id: "k", ts: "2026-12-03T10:00:00.000003Z", type: "alert.raised", detail: { nested: { deep: [1, "two", null] }, gone: undefined } },
    ];
    for (const e of events) assert.equal(encodeAuditEvent(e), byFieldOrder(e));
  });
});

describe("isoMicros", () => {
  it("writes the same text as the bigint arithmetic, and parseIsoMicros reads it back", () => {
    const byBigint = (us: bigint) => `${new Date(Number(us / 1000n)).toISOString().slice(0, -1)}${String(Number(us % 1000n)).padStart(3, "0")}Z`;
    const samples = [0n, 1n, 999n, 1000n, 1_764_790_000_000_000n, 1_764_790_000_123_456n, 1_764_790_000_999_009n, 9_007_199_254_740_991n, 9_007_199_254_740_993n];
    for (let i = 0; i < 2000; i++) samples.push(BigInt(Math.floor(Math.random() * 4e15)));
    for (const us of samples) {
      assert.equal(isoMicros(us), byBigint(us), String(us));
      if (us < 8_640_000_000_000_000n) assert.equal(parseIsoMicros(isoMicros(us)), us);
    }
  });
});
