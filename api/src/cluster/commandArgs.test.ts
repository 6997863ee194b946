import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeJson } from "../journal/jsonCodec.ts";
import { argsPassFast, COMMAND_ARGS, parseCommandArgs } from "./commandBus.ts";

/** A placeOrder the edges send, every optional field set. */
const full = {
  accountId: "acc-1",
  identityHash: "h".repeat(64),
  symbol: "GOLD-VND",
  side: "buy",
  type: "limit",
  price: 10_000,
  size: 2,
  funds: "123",
  tif: "GTC",
  postOnly: false,
  visibleSize: 0,
  stp: "CN",
  stop: { stopPrice: 9_000, kind: "loss" },
  clientOid: "oid-1",
  apiKeyId: "key-1",
};

/** Values around each field's bounds and types, to try in every field. */
const probes: unknown[] = [
  undefined, null, 0, -0, 1, -1, 1.5, 2 ** 53, 2 ** 53 - 1, Number.NaN, Infinity, "", "1", "12a", "x".repeat(50), "x".repeat(51), "x".repeat(80), "9".repeat(80), "9".repeat(81),
  "x".repeat(100), "x".repeat(101), "x".repeat(200), "x".repeat(201), true, false, [], {}, ["a"],
  "buy", "sell", "limit", "market", "GTC", "IOC", "FOK", "CN", "CO", "CB", "DC", "loss", "entry",
  { stopPrice: 1, kind: "entry" }, { stopPrice: 0, kind: "loss" }, { stopPrice: 1 }, { stopPrice: 1, kind: "loss", x: 1 }, { kind: "loss", x: 1 }, { ip: "1.2.3.4" }, { ip: "1.2.3.4", wallet: "0xab" }, { ip: 1 }, { port: 1 },
];

function cases(): Array<[string, unknown[]]> {
  const out: Array<[string, unknown[]]> = [];
  const { stop: _s, funds: _f, visibleSize: _v, apiKeyId: _a, ...minimal } = full;
  for (const base of [full, minimal]) {
    out.push(["placeOrder", [base]], ["placeOrder", [base, { ip: "127.0.0.1" }]]);
    for (const key of [...Object.keys(full), "extra", "__proto__"]) {
      for (const v of probes) {
        const input: Record<string, unknown> = { ...base };
        if (key === "__proto__") Object.defineProperty(input, key, { value: v, enumerable: true });
        else input[key] = v;
        out.push(["placeOrder", [input]]);
      }
    }
    for (const v of probes) out.push(["placeOrder", [base, v]], ["placeOrder", [base, { ip: "a" }, v]], ["placeOrder", [v]]);
  }
  out.push(["placeOrder", []], ["placeOrder", [JSON.parse(`{"__proto__":{"x":1},${JSON.stringify(full).slice(1)}`)]]);
  for (const a of probes) for (const b of probes) out.push(["cancelOrder", [a, b]]);
  out.push(["cancelOrder", ["a"]], ["cancelOrder", ["a", "b", "c"]], ["cancelOrder", []]);
  return out;
}

describe("command arguments: the fast checks", () => {
  it("accept nothing zod refuses, and the commands edges send", () => {
    let fast = 0;
    for (const [op, args] of cases()) {
      const byZod = (COMMAND_ARGS as Record<string, { safeParse(v: unknown): { success: boolean } }>)[op].safeParse(args).success;
      if (argsPassFast(op, args)) {
        fast++;
        assert.ok(byZod, `${op} ${JSON.stringify(args)}: the fast check accepts what zod refuses`);
      }
      assert.equal(parseCommandArgs(op, args).success, byZod, `${op} ${JSON.stringify(args)}`);
    }
    assert.ok(argsPassFast("placeOrder", [full, { ip: "127.0.0.1" }]));
    assert.ok(argsPassFast("placeOrder", [{ ...full, stop: undefined, funds: undefined }]));
    assert.ok(argsPassFast("cancelOrder", ["acc-1", "order-1"]));
    assert.ok(fast > 100, `only ${fast} cases took the fast path`);
  });

  it("words a refusal as before and refuses unknown commands", () => {
    const r = parseCommandArgs("placeOrder", [{ ...full, price: -1 }]);
    assert.equal(r.success, false);
    if (!r.success) assert.match(r.message, /^bad arguments for placeOrder: /);
    const u = parseCommandArgs("toString", []);
    assert.equal(u.success, false);
    if (!u.success) assert.equal(u.message, "unknown command toString");
  });
});

describe("command arguments: audit", () => {
  // The events the edges record (routes/senAuth.ts, ws/wsGateway.ts), as they send them.
  const sent = [
    { type: "auth.loginFailed", wallet: "0xab", account: "0xab", ip: "::1", reason: "AUTH_SIWE_BAD_SIGNATURE" },
    { type: "auth.loginFailed", ip: "::1", reason: "LOGIN_FAILED" },
    { type: "auth.loginFailed", ip: "::1", reason: "AUTH_SIWE_INVALID", detail: { claimedWallet: "0xab" } },
    { type: "auth.logout", account: "0xab", identityHash: "h", wallet: "0xab", ip: "::1", reason: "user", detail: { scope: "session", sessions: 1 } },
    { type: "auth.login", account: "0xab", identityHash: "h".repeat(64), wallet: "0xab", ip: "::1", detail: { role: "trader" } },
    { type: "apiKey.created", account: "0xab", identityHash: "h", wallet: "0xab", apiKeyId: "k1", ip: "::1", detail: { label: "bot", permissions: ["general", "trade"], ipWhitelist: ["1.2.3.4"] } },
    { type: "apiKey.revoked", account: "0xab", identityHash: "h", wallet: "0xab", apiKeyId: "k1", ip: "::1", reason: "user" },
    { type: "audit.query", actor: "0xab", account: "0xab", wallet: "0xab", identityHash: "h", reason: "alertsStream", detail: { topic: "/compliance/alerts" } },
    { type: "audit.query", actor: "0xab", account: "0xab", wallet: "0xab", identityHash: "h", ip: "::1", reason: "refused", detail: { method: "GET", path: "/x", role: "trader" } },
  ];

  it("accepts what the edges send", () => {
    for (const e of sent) assert.ok(parseCommandArgs("audit", [e]).success, JSON.stringify(e));
  });

  it("refuses what the log or the journal assigns, unknown keys and the sequencer's own event types", () => {
    const base = sent[2];
    const refused: Array<[string, unknown[]]> = [
      ["ts", [{ ...base, ts: "yesterday" }]],
      ["ts", [{ ...base, ts: "2026-01-01T00:00:00.000000Z" }]],
      ["jseq", [{ ...base, jseq: 1 }]],
      ["seq", [{ ...base, seq: 1 }]],
      ["id", [{ ...base, id: "x" }]],
      ["price", [{ ...base, price: "1" }]],
      ["type", [{ ...base, type: "rules.loaded" }]],
      ["type", [{ ...base, type: "nope" }]],
      ["ip", [{ ...base, ip: "x".repeat(101) }]],
      ["detail", [{ ...base, detail: [1] }]],
      ["args", [base, base]],
      ["args", [null]],
    ];
    for (const [why, args] of refused) {
      const r = parseCommandArgs("audit", args);
      assert.equal(r.success, false, `${why}: ${JSON.stringify(args)}`);
      if (!r.success) assert.match(r.message, /^bad arguments for audit: /);
    }
  });
});
