import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { AuditEvent } from "../src/compliance/audit/auditEvent.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { rawRequest, signedClient, signedHeaders, type RawReply, type SignedClient } from "./support/httpProbe.ts";

type Row = { from: string; to: string; identityHash: string; account: string; sales: number; reversals: number; saleValue: string; taxWithheld: string; currency: string; taxRuleId: string };
type Total = { currency: string; sellers: number; sales: number; reversals: number; saleValue: string; taxWithheld: string };
type Report = { from: string; to: string; identityHash?: string; taxRuleId: string; auditSeq: number; rows: Row[]; totals: Total[] };
type Fill = { tradeId: string; symbol: string; side: "buy" | "sell"; funds: string; tax: string; createdAt: number };
type Trader = { creds: ApiCredentials; api: SignedClient; identityHash: string };

const PATH = "/api/v1/sen/compliance/reports/tax";

/**
 * The personal-income-tax report through the real gateway (no chain services: the tax rate is
 * SEN_TAX_RATE_BPS, 10 bps): two sellers' fills of varied sizes, the report's sums against each
 * seller's own fills and the ledger's tax account, period boundaries, roles, bad input, and the
 * report's own audit record.
 */
describe("tax report: per seller and period, from the audit trail", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let officer: ApiCredentials;
  const t: Record<"goldSeller" | "goldBuyer" | "riverSeller" | "riverBuyer", Trader> = {} as never;
  let start = "";
  let mid = "";
  let end = "";

  const report = (creds: ApiCredentials, query: string): Promise<RawReply> => {
    const path = `${PATH}?${query}`;
    return rawRequest(gw.url, { method: "GET", path, headers: signedHeaders(creds, "GET", path, "", Date.now) });
  };
  const jsonReport = async (query: string): Promise<Report> => {
    const r = await report(officer, query);
    assert.equal(r.status, 200, r.text);
    return (r.json as { data: Report }).data;
  };
  const period = (from: string, to: string) => `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
  /** The next millisecond has begun, so what happens from now on has a later timestamp. */
  const nextMs = async () => {
    const now = Date.now();
    while (Date.now() <= now) await new Promise((r) => setImmediate(r));
  };

  async function place(trader: Trader, order: Record<string, unknown>): Promise<void> {
    const r = await trader.api("POST", "/api/v1/orders", { clientOid: `tx${Math.random().toString(36).slice(2, 12)}`, type: "limit", ...order });
    assert.equal(r.code, "200000", `${JSON.stringify(order)}: ${r.code} ${r.msg}`);
  }
  async function fills(trader: Trader): Promise<Fill[]> {
    const r = await trader.api<{ items: Fill[] }>("GET", "/api/v1/fills?pageSize=500");
    assert.equal(r.code, "200000", r.msg);
    return r.data.items;
  }

  before(async () => {
    chain = await startChain();
    const accounts = { officer: hardhatAccount(60), operator: hardhatAccount(61), goldSeller: hardhatAccount(62), goldBuyer: hardhatAccount(63), riverSeller: hardhatAccount(64), riverBuyer: hardhatAccount(65) };
    const ids: Record<string, string> = {};
    for (const [name, a] of Object.entries(accounts)) ids[name] = (await chain.attest(a.address, `tax-${name}`)).toLowerCase();
    gw = await startTestGateway(chain, {
      holderRules: false,
      env: { SEN_COMPLIANCE: accounts.officer.address.toLowerCase(), SEN_OPERATORS: accounts.operator.address.toLowerCase() },
    });
    assert.equal(gw.ctx.trading.core.taxRateBps, 10);
    officer = await loginAndCreateKey(gw.url, accounts.officer, ["General"]);
    const op = signedClient(gw.url, await loginAndCreateKey(gw.url, accounts.operator, ["General"]));
    const deposits = { goldSeller: ["GOLD", "100"], goldBuyer: ["VND", "10000000"], riverSeller: ["RIVER", "100"], riverBuyer: ["VND", "10000000"] } as const;
    for (const name of ["goldSeller", "goldBuyer", "riverSeller", "riverBuyer"] as const) {
      const creds = await loginAndCreateKey(gw.url, accounts[name]);
      t[name] = { creds, api: signedClient(gw.url, creds), identityHash: ids[name] };
      const [currency, amount] = deposits[name];
      const r = await op("POST", "/api/v1/sen/operator/deposits", { accountId: creds.accountId, currency, amount, ref: `tax-${name}` });
      assert.equal(r.code, "200000", r.msg);
    }

    start = new Date().toISOString();
    await nextMs();
    // GOLD: the seller as maker (15,900 -> tax 15.9, rounded down to 15; 31,800 -> 31), then as taker (112,000 -> 112).
    await place(t.goldSeller, { side: "sell", symbol: "GOLD-VND", price: "15900", size: "3" });
    await place(t.goldBuyer, { side: "buy", symbol: "GOLD-VND", price: "15900", size: "1" });
    await place(t.goldBuyer, { side: "buy", symbol: "GOLD-VND", price: "15900", size: "2" });
    await place(t.goldBuyer, { side: "buy", symbol: "GOLD-VND", price: "16000", size: "7" });
    await place(t.goldSeller, { side: "sell", symbol: "GOLD-VND", price: "16000", size: "7" });
    await nextMs();
    mid = new Date().toISOString();
    await nextMs();
    // RIVER: 900 -> tax 0.9, rounded down to 0; 11,700 -> 11; 2,700 -> 2.
    await place(t.riverSeller, { side: "sell", symbol: "RIVER-VND", price: "900", size: "17" });
    await place(t.riverBuyer, { side: "buy", symbol: "RIVER-VND", price: "900", size: "1" });
    await place(t.riverBuyer, { side: "buy", symbol: "RIVER-VND", price: "900", size: "13" });
    await place(t.riverBuyer, { side: "buy", symbol: "RIVER-VND", price: "900", size: "3" });
    await nextMs();
    end = new Date().toISOString();
  });

  after(async () => {
    await gw?.close();
    await chain?.close();
  });

  /** What a seller's own fills say: the report must agree with these. */
  async function expected(trader: Trader) {
    const sells = (await fills(trader)).filter((f) => f.side === "sell");
    return {
      sales: sells.length,
      saleValue: sells.reduce((s, f) => s + BigInt(f.funds), 0n).toString(),
      taxWithheld: sells.reduce((s, f) => s + BigInt(f.tax), 0n).toString(),
      taxes: sells.map((f) => f.tax).sort(),
    };
  }

  it("sums each seller's sale value and tax as their fills do, and totals to the ledger's tax account", async () => {
    const gold = await expected(t.goldSeller);
    const river = await expected(t.riverSeller);
    // The sizes chosen reach the rounding: a fraction dropped (15.9 -> 15) and a tax of 0 (0.9).
    assert.deepEqual(gold.taxes, ["112", "15", "31"]);
    assert.deepEqual(river.taxes, ["0", "11", "2"]);
    for (const buyer of [t.goldBuyer, t.riverBuyer]) assert.ok((await fills(buyer)).every((f) => f.side === "buy" && f.tax === "0"));

    const r = await jsonReport(period(start, end));
    const row = (trader: Trader) => r.rows.find((x) => x.account === trader.creds.accountId);
    const base = { from: start, to: end, currency: "VND", taxRuleId: "PIT-SALE-0.1" };
    assert.deepEqual(row(t.goldSeller), { ...base, identityHash: t.goldSeller.identityHash, account: t.goldSeller.creds.accountId, sales: 3, reversals: 0, saleValue: gold.saleValue, taxWithheld: gold.taxWithheld });
    assert.deepEqual(row(t.riverSeller), { ...base, identityHash: t.riverSeller.identityHash, account: t.riverSeller.creds.accountId, sales: 3, reversals: 0, saleValue: river.saleValue, taxWithheld: river.taxWithheld });
    assert.equal(gold.saleValue, "159700");
    assert.equal(river.saleValue, "15300");
    assert.equal(r.rows.length, 2, "buyers have no row");
    assert.equal(r.taxRuleId, "PIT-SALE-0.1");

    const ledger = gw.ctx.trading.core.ledger.balance(gw.ctx.trading.core.taxAccount, "VND");
    assert.equal(ledger.available + ledger.hold, BigInt(gold.taxWithheld) + BigInt(river.taxWithheld));
    assert.deepEqual(r.totals, [{ currency: "VND", sellers: 2, sales: 6, reversals: 0, saleValue: "175000", taxWithheld: (ledger.available + ledger.hold).toString() }]);
  });

  it("serves the same report as CSV, with a totals row", async () => {
    const json = await jsonReport(period(start, end));
    const r = await report(officer, `${period(start, end)}&format=csv`);
    assert.equal(r.status, 200, r.text);
    assert.match(r.contentType, /^text\/csv/);
    const [header, ...lines] = r.text.trimEnd().split("\n").map((l) => l.split(","));
    assert.deepEqual(header, ["row", "from", "to", "identityHash", "account", "currency", "sales", "reversals", "saleValue", "taxWithheld", "taxRuleId"]);
    assert.deepEqual(
      lines.filter((l) => l[0] === "investor"),
      json.rows.map((x) => ["investor", x.from, x.to, x.identityHash, x.account, x.currency, String(x.sales), String(x.reversals), x.saleValue, x.taxWithheld, x.taxRuleId]),
    );
    const totals = lines.filter((l) => l[0] === "total");
    assert.deepEqual(totals, [["total", start, end, "", "", "VND", "6", "0", "175000", json.totals[0].taxWithheld, "PIT-SALE-0.1"]]);
    assert.equal(lines.length, json.rows.length + 1);
  });

  it("counts only the fills inside the period, and one identity when asked", async () => {
    const before = await jsonReport(period(new Date(Date.parse(start) - 86_400_000).toISOString(), start));
    assert.deepEqual([before.rows, before.totals], [[], []]);
    const first = await jsonReport(period(start, mid));
    assert.deepEqual(first.rows.map((x) => [x.account, x.sales]), [[t.goldSeller.creds.accountId, 3]]);
    const second = await jsonReport(period(mid, end));
    assert.deepEqual(second.rows.map((x) => [x.account, x.sales]), [[t.riverSeller.creds.accountId, 3]]);
    const one = await jsonReport(`${period(start, end)}&identityHash=${t.riverSeller.identityHash}`);
    assert.deepEqual(one.rows.map((x) => [x.identityHash, x.taxWithheld]), [[t.riverSeller.identityHash, "13"]]);
    assert.deepEqual(one.totals.map((x) => x.taxWithheld), ["13"]);
  });

  it("is for compliance officers only", async () => {
    const r = await report(t.goldSeller.creds, period(start, end));
    assert.equal(r.status, 403);
    assert.equal((r.json as { code: string }).code, "400007");
    const anon = await rawRequest(gw.url, { method: "GET", path: `${PATH}?${period(start, end)}` });
    assert.equal(anon.status, 401);
  });

  it("refuses bad input with the error envelope", async () => {
    const day = (d: string) => `${d}T00:00:00Z`;
    for (const query of [
      period(day("2026-02-30"), day("2026-03-05")), // not a calendar date
      period("yesterday", day("2026-03-05")),
      period(day("2026-03-05"), day("2026-03-05")), // empty period
      period(day("2026-03-06"), day("2026-03-05")), // backwards
      period(day("2026-01-01"), day("2027-01-03")), // 367 days
      `to=${encodeURIComponent(day("2026-03-05"))}`, // no from
      `${period(day("2026-03-01"), day("2026-03-05"))}&format=xml`,
      `${period(day("2026-03-01"), day("2026-03-05"))}&identityHash=0x12`,
      `${period(day("2026-03-01"), day("2026-03-05"))}&account=${t.goldSeller.creds.accountId}`, // unknown parameter
    ]) {
      const r = await report(officer, query);
      assert.equal(r.status, 400, `${query}: ${r.status} ${r.text}`);
      assert.deepEqual([(r.json as { code: string }).code, (r.json as { senCode: string }).senCode], ["400100", "VALIDATION"], query);
    }
    // A leap year's 366 days are one report.
    assert.deepEqual((await jsonReport(period(day("2028-01-01"), day("2029-01-01")))).rows, []);
  });

  it("puts each report on the audit trail with its parameters", async () => {
    const from = new Date(Date.parse(start) - 1000).toISOString();
    const r = await jsonReport(`${period(from, end)}&identityHash=${t.goldSeller.identityHash}`);
    const q = await signedClient(gw.url, officer)<{ items: AuditEvent[] }>("GET", `/api/v1/compliance/events?type=audit.query&account=${officer.accountId}&limit=200`);
    assert.equal(q.code, "200000", q.msg);
    const recorded = q.data.items.find((e) => e.seq === r.auditSeq);
    assert.ok(recorded, "the report's audit record is indexed before the report is served");
    assert.equal(recorded.reason, "taxReport");
    assert.equal(recorded.actor, officer.accountId);
    assert.deepEqual(recorded.detail, { from, to: end, format: "json", identityHash: t.goldSeller.identityHash, taxRuleId: "PIT-SALE-0.1" });
  });

  it("counts a sale reversed after a failed settlement in the period of its reversal, giving its tax back, so totals follow the tax account", async () => {
    // The GOLD seller's 112,000 sale (tax 112) fails settlement and is reversed by an operator.
    const sale = (await fills(t.goldSeller)).find((f) => f.side === "sell" && f.tax === "112")!;
    await nextMs();
    const from = new Date().toISOString();
    await nextMs();
    await gw.ctx.trading.settlementFailed(sale.tradeId, "test: the vault refused it");
    await gw.ctx.trading.resolveSettlement(sale.tradeId, "reverse", "test-operator", "undone in a test");
    await nextMs();
    const to = new Date().toISOString();
    const r = await jsonReport(period(from, to));
    assert.deepEqual(
      r.rows.map((x) => [x.account, x.sales, x.reversals, x.saleValue, x.taxWithheld]),
      [[t.goldSeller.creds.accountId, 0, 1, "-112000", "-112"]],
      "the reversal's period shows the value and tax given back",
    );
    // Over the whole life of these trades the report equals the tax account.
    const all = await jsonReport(period(start, to));
    const ledger = gw.ctx.trading.core.ledger.balance(gw.ctx.trading.core.taxAccount, "VND");
    assert.equal(all.totals[0].taxWithheld, (ledger.available + ledger.hold).toString());
    assert.equal(all.totals[0].reversals, 1);
    // One identity asked for: its reversal is found although the event is the buyer's.
    const one = await jsonReport(`${period(from, to)}&identityHash=${t.goldSeller.identityHash}`);
    assert.deepEqual(one.rows.map((x) => x.reversals), [1]);
  });

  it("is described in the OpenAPI document", async () => {
    const doc = (await rawRequest(gw.url, { method: "GET", path: "/openapi.json" })).json as { paths: Record<string, { get?: { parameters: Array<{ name: string; required: boolean }>; "x-sen-roles"?: string[] } }> };
    const op = doc.paths[PATH]?.get;
    assert.ok(op, "path documented");
    assert.deepEqual(op["x-sen-roles"], ["compliance"]);
    assert.deepEqual(op.parameters.filter((p) => p.required).map((p) => p.name).sort(), ["from", "to"]);
  });
});
