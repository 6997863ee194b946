import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Hex } from "viem";
import { flooredVnd, vndMinorOf } from "../src/http/routes/complianceReports.ts";
import { DEFAULT_RISK } from "../src/risk/types.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { rawRequest, sessionClient, signedClient, type SessionClient } from "./support/httpProbe.ts";
import { until } from "./support/until.ts";

/**
 * The regulatory reports over HTTP on the real gateway and chain: large-value transactions per
 * customer and Vietnam day (UTC+7), and a suspicious-transaction report draft from a real
 * surveillance alert. The gateway's clock is moved across Vietnam's midnight (17:00 UTC), so
 * trades on either side of it land in different reporting days although they share a UTC date.
 */

const PRICE = 100_000_000; // đồng per GOLD: one lot is a quarter of the threshold
type Row = { identityHash: string; type: string; amountVnd: string; reference: string; time: string; timeVietnam: string; counterpartyIdentityHash: string };
type Report = { reportDate: string; thresholdVnd: string; period: { from: string; to: string }; customers: Array<{ identityHash: string; dayTotalVnd: string; transactions: number; wallets: string[]; kyc: { kycLevel: number; country: number; investorType: string } | null }>; rows: Row[] };

describe("compliance reports (large-value transactions, STR draft)", { timeout: 120_000 }, () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  const officer = hardhatAccount(60);
  const operator = hardhatAccount(61);
  const [wa, wb, wc, wd, we] = [62, 63, 64, 65, 66].map(hardhatAccount);
  const ids: Record<string, Hex> = {};
  let creds: Record<"a" | "b" | "c" | "d" | "e", ApiCredentials>;
  let officerApi: SessionClient;
  let opApi: SessionClient;
  // The day before today's Vietnam date, 23:50 in Vietnam (16:50 UTC); moved forward only.
  const realStart = Date.now();
  const dayD = new Date(realStart - 86_400_000).toISOString().slice(0, 10);
  const dayD1 = new Date(realStart).toISOString().slice(0, 10);
  let offset = Date.parse(`${dayD}T16:50:00Z`) - realStart;
  const now = () => Date.now() + offset;
  let alertId = "";
  let trade1 = "";
  const WITHDRAW_TX = `0x${"ab".repeat(32)}`;

  before(async () => {
    chain = await startChain();
    const risk = structuredClone(DEFAULT_RISK);
    risk.defaults.collarBps = 0;
    gw = await startTestGateway(chain, { risk, now, env: { SEN_COMPLIANCE: officer.address.toLowerCase(), SEN_OPERATORS: operator.address.toLowerCase(), SEN_JOURNAL_FSYNC: "none" } });
    await chain.attest(officer.address, "rep-officer");
    await chain.attest(operator.address, "rep-operator");
    for (const [k, w] of [["a", wa], ["b", wb], ["c", wc], ["d", wd], ["e", we]] as const) ids[k] = (await chain.attest(w.address, `rep-${k}`)).toLowerCase() as Hex;
    officerApi = sessionClient(gw.url, (await loginAndCreateKey(gw.url, officer)).token);
    opApi = sessionClient(gw.url, (await loginAndCreateKey(gw.url, operator)).token);
    creds = { a: await loginAndCreateKey(gw.url, wa), b: await loginAndCreateKey(gw.url, wb), c: await loginAndCreateKey(gw.url, wc), d: await loginAndCreateKey(gw.url, wd), e: await loginAndCreateKey(gw.url, we) };
    const t = gw.ctx.trading;
    let n = 0;
    const order = async (who: keyof typeof creds, side: "buy" | "sell", size: number, symbol = "GOLD-VND", price = PRICE) => {
      const r = await signedClient(gw.url, creds[who], now)("POST", "/api/v1/orders", { clientOid: `rep-${++n}`, side, symbol, type: "limit", price: String(price), size: String(size) });
      assert.equal(r.code, "200000", JSON.stringify(r));
      return r.data.orderId as string;
    };
    // Day D (Vietnam), 23:50: a deposits 600M (its reference made to look like a formula), c 399,999,999 (one đồng short), b GOLD (no VND value).
    await t.deposit(creds.a.accountId, "VND", 600_000_000n, '=HYPERLINK("http://evil.example","x")');
    await t.deposit(creds.c.accountId, "VND", 399_999_999n, "rep-c");
    await t.deposit(creds.b.accountId, "GOLD", 10n, "rep-b");
    await order("b", "sell", 1);
    await order("a", "buy", 1); // trade 1: a +100M (700M that day), b 100M
    trade1 = gw.ctx.trading.core.fills(creds.a.accountId)[0].tradeId;
    // 20 minutes later: 00:10 on day D+1 in Vietnam, still day D in UTC.
    offset += 20 * 60_000;
    await order("b", "sell", 2);
    await order("a", "buy", 2); // trade 2: a 200M, b 200M
    await order("b", "sell", 3);
    await order("c", "buy", 3); // trade 3: c 300M, b 500M (two trades, each under the threshold)
    const wid = await t.requestWithdrawal(creds.a.accountId, "VND", 200_000_000n);
    await t.withdrawalDone(wid, WITHDRAW_TX); // a: 200M + 200M = exactly the threshold
    // Two days later: d and e trade back and forth and end where they started (WASH_RING).
    offset += 2 * 86_400_000;
    // Sessions end by the gateway's clock: sign in again two days on.
    officerApi = sessionClient(gw.url, (await loginAndCreateKey(gw.url, officer)).token);
    opApi = sessionClient(gw.url, (await loginAndCreateKey(gw.url, operator)).token);
    await t.deposit(creds.d.accountId, "VND", 1_000_000_000n, "rep-d");
    await t.deposit(creds.e.accountId, "GOLD", 5n, "rep-e");
    await t.deposit(creds.e.accountId, "VND", 1_000_000n, "rep-e2");
    for (let i = 0; i < 3; i++) {
      await order("e", "sell", 1, "GOLD-VND", 50_000);
      await order("d", "buy", 1, "GOLD-VND", 50_000);
      await order("d", "sell", 1, "GOLD-VND", 50_000);
      await order("e", "buy", 1, "GOLD-VND", 50_000);
    }
    alertId = await until("the WASH_RING alert", async () => {
      const r = await officerApi("GET", "/api/v1/compliance/alerts?rule=WASH_RING");
      assert.equal(r.code, "200000", r.msg);
      return (r.data?.items as Array<{ alertId: string; identityHashes: string[] }> | undefined)?.find((x) => x.identityHashes.includes(ids.d))?.alertId;
    });
    await gw.ctx.audit.flush();
  });

  after(async () => {
    await gw?.close();
    await chain?.close();
  });

  const lv = (q: string) => officerApi<Report>("GET", `/api/v1/compliance/reports/large-value?${q}`);

  it("reports per e-ID and Vietnam day the customers whose VND trades, deposits and withdrawals add up to 400 million or more", async () => {
    const d = await lv(`date=${dayD}`);
    assert.equal(d.code, "200000", d.msg);
    assert.equal(d.data.thresholdVnd, "400000000");
    const dayBefore = new Date(Date.parse(`${dayD}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    assert.deepEqual(d.data.period, { from: `${dayBefore}T17:00:00.000Z`, to: `${dayD}T17:00:00.000Z` });
    // Only a (600M deposit + 100M trade); b (100M) and c (one đồng short) are not reported.
    assert.deepEqual(d.data.customers.map((c) => [c.identityHash, c.dayTotalVnd, c.transactions]), [[ids.a, "700000000", 2]]);
    assert.deepEqual(d.data.customers[0].kyc && { level: d.data.customers[0].kyc.kycLevel, country: d.data.customers[0].kyc.country, type: d.data.customers[0].kyc.investorType }, { level: 2, country: 704, type: "professional" });
    assert.deepEqual(d.data.customers[0].wallets, [wa.address.toLowerCase()]);
    assert.deepEqual(d.data.rows.map((r) => [r.type, r.amountVnd]), [["deposit", "600000000"], ["trade.buy", "100000000"]]);
    const buy = d.data.rows[1];
    assert.equal(buy.reference, trade1);
    assert.equal(buy.counterpartyIdentityHash, ids.b);
    assert.match(buy.timeVietnam, new RegExp(`^${dayD}T23:5\\d:\\d\\d(\\.\\d+)?\\+07:00$`));
    // trade 2 has day D's UTC date but is on D+1 in Vietnam: not here.
    assert.ok(d.data.rows.every((r) => r.time < `${dayD}T17:00:00`), "nothing after Vietnam's midnight");

    const d1 = await lv(`date=${dayD1}`);
    assert.equal(d1.code, "200000", d1.msg);
    const totals = Object.fromEntries(d1.data.customers.map((c) => [c.identityHash, c.dayTotalVnd]));
    // b: two sales of 200M and 300M, each under the threshold, 500M together; a: 200M bought + 200M withdrawn = exactly 400M; c: 300M.
    assert.deepEqual(totals, { [ids.a]: "400000000", [ids.b]: "500000000" });
    const aRows = d1.data.rows.filter((r) => r.identityHash === ids.a);
    assert.deepEqual(aRows.map((r) => [r.type, r.amountVnd, r.type === "withdrawal" ? r.reference : ""]), [["trade.buy", "200000000", ""], ["withdrawal", "200000000", WITHDRAW_TX]]);
    assert.deepEqual(d1.data.rows.filter((r) => r.identityHash === ids.b).map((r) => [r.type, r.amountVnd]), [["trade.sell", "200000000"], ["trade.sell", "300000000"]]);
    assert.ok(d1.data.rows.every((r) => r.timeVietnam.startsWith(dayD1)));

    // A lower threshold (the officer's own review) brings c in.
    const low = await lv(`date=${dayD1}&threshold=300000000`);
    assert.deepEqual(low.data.customers.map((c) => c.identityHash).sort(), [ids.a, ids.b, ids.c].sort());
    // A day without transactions: an empty report, not an error.
    const empty = await lv("date=2020-01-01");
    assert.equal(empty.code, "200000");
    assert.deepEqual([empty.data.customers, empty.data.rows], [[], []]);
  });

  it("CSV: one row per transaction, formula-looking cells neutralised, the file's SHA-256 recorded in the audit log", async () => {
    const r = await rawRequest(gw.url, { method: "GET", path: `/api/v1/compliance/reports/large-value?date=${dayD}&format=csv`, headers: { authorization: `Bearer ${(await loginAndCreateKey(gw.url, officer)).token}` } });
    assert.equal(r.status, 200);
    assert.match(r.contentType, /^text\/csv/);
    assert.match(r.headers.get("content-disposition") ?? "", new RegExp(`sen-large-value-${dayD}\\.csv`));
    const lines = r.text.trimEnd().split("\n");
    assert.match(lines[0], /^reportingEntity,reportDate,identityHash,kycLevel,country,investorType,/);
    assert.equal(lines.length, 3, r.text);
    assert.ok(lines[1].includes(`"'=HYPERLINK(""http://evil.example"",""x"")"`), lines[1]);
    assert.ok(!/(^|,)=/.test(r.text), "no cell starts with =");
    const sha = createHash("sha256").update(r.text).digest("hex");
    assert.equal(r.headers.get("x-sen-report-sha256"), sha);
    await gw.ctx.audit.flush();
    const ev = await officerApi("GET", "/api/v1/compliance/events?type=report.generated&limit=50");
    const rec = (ev.data.items as Array<{ actor: string; reason: string; detail: { sha256: string; rows: number; params: Record<string, string> } }>).find((e) => e.detail.sha256 === sha);
    assert.ok(rec, "the CSV's hash is on record");
    assert.equal(rec.actor, officer.address.toLowerCase());
    assert.equal(rec.reason, "large-value");
    const { asOfSeq, ...params } = rec.detail.params as Record<string, unknown>;
    assert.deepEqual([rec.detail.rows, params], [2, { date: dayD, threshold: "400000000", format: "csv" }]);
    assert.ok(Number.isInteger(asOfSeq) && (asOfSeq as number) > 0, "the CSV's asOfSeq is on record, to produce it again");
  });

  it("STR draft from an alert: DRAFT, the rule in words, the customers, the transactions and totals, the actions taken; audited", async () => {
    await officerApi("POST", `/api/v1/compliance/alerts/${alertId}/status`, { status: "acknowledged", note: "looking into it" });
    const r = await officerApi("POST", `/api/v1/compliance/alerts/${alertId}/str-draft`, { narrative: "Six trades between two customers that ended where they started." });
    assert.equal(r.code, "200000", r.msg);
    const s = r.data;
    assert.match(s.status, /^DRAFT/);
    assert.match(s.legalBasis, /14\/2022\/QH15, Art\. 26/);
    assert.match(s.reasonsForSuspicion.rule, /^Wash trading ring/);
    assert.deepEqual(s.customers.map((c: { identityHash: string }) => c.identityHash).sort(), [ids.d, ids.e].sort());
    assert.equal(s.transactionsSummary.trades, 6);
    assert.equal(s.transactionsSummary.totalTradedVnd, String(6 * 50_000));
    assert.ok(s.transactions.length >= 6 && s.transactions.every((x: { event: string }) => x.event === "order.filled"));
    assert.deepEqual([s.actionsTaken.alertStatus, s.actionsTaken.reviewNote], ["acknowledged", "looking into it"]);
    assert.equal(s.narrative, "Six trades between two customers that ended where they started.");

    const token = (await loginAndCreateKey(gw.url, officer)).token;
    const csv = await rawRequest(gw.url, { method: "POST", path: `/api/v1/compliance/alerts/${alertId}/str-draft?format=csv`, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ narrative: "=cmd|' /C calc'!A0" }) });
    assert.equal(csv.status, 200);
    assert.match(csv.text, /^field,value\nstatus,"DRAFT — not sent/);
    assert.match(csv.text, /\nnarrative,'=cmd\|' \/C calc'!A0\n/);
    assert.match(csv.text, /\n\ntime,timeVietnam,event,/);
    const sha = createHash("sha256").update(csv.text).digest("hex");
    assert.equal(csv.headers.get("x-sen-report-sha256"), sha);
    await gw.ctx.audit.flush();
    const ev = await officerApi("GET", "/api/v1/compliance/events?type=report.generated&limit=50");
    const rec = (ev.data.items as Array<{ reason: string; detail: { sha256: string; params: Record<string, string> } }>).find((e) => e.detail.sha256 === sha);
    assert.deepEqual(rec && [rec.reason, rec.detail.params.alertId], ["str-draft", alertId]);
    // the JSON draft is on record too: its hash is that of the envelope's data
    const again = await rawRequest(gw.url, { method: "POST", path: `/api/v1/compliance/alerts/${alertId}/str-draft`, headers: { authorization: `Bearer ${token}` } });
    const data = (again.json as { data: unknown }).data;
    assert.equal(again.headers.get("x-sen-report-sha256"), createHash("sha256").update(JSON.stringify(data)).digest("hex"));
  });

  it("refuses other roles, missing and bad parameters, and unknown alerts", async () => {
    const trader = signedClient(gw.url, creds.a, now);
    for (const api of [trader, opApi]) {
      assert.equal((await api("GET", `/api/v1/compliance/reports/large-value?date=${dayD}`)).status, 403);
      assert.equal((await api("POST", `/api/v1/compliance/alerts/${alertId}/str-draft`)).status, 403);
    }
    assert.equal((await rawRequest(gw.url, { method: "GET", path: `/api/v1/compliance/reports/large-value?date=${dayD}` })).status, 401);
    for (const q of ["", "date=2026-02-30", "date=26-11-23", `date=${dayD}&format=xml`, `date=${dayD}&threshold=abc`, `date=${dayD}&threshold=0`, `date=${dayD}&threshold=-5`, `date=${dayD}&extra=1`]) {
      const r = await lv(q);
      assert.deepEqual([r.status, r.code], [400, "400100"], `${q}: ${r.msg}`);
    }
    assert.equal((await officerApi("POST", `/api/v1/compliance/alerts/${alertId}/str-draft?format=pdf`)).status, 400);
    assert.equal((await officerApi("POST", `/api/v1/compliance/alerts/${alertId}/str-draft`, { narrative: 5 })).status, 400);
    assert.equal((await officerApi("POST", "/api/v1/compliance/alerts/NOPE-1-2/str-draft")).status, 404);
  });

  it("a report is cut at the log's end it names (asOfSeq): produced again from it, the same rows and hash; later events wait for the next", async () => {
    const today = new Date(now() + 7 * 3_600_000).toISOString().slice(0, 10);
    type Cut = Report & { asOfSeq: number; generatedAt: string };
    await gw.ctx.audit.flush();
    const logEnd = (await gw.ctx.audit.index.lastSeq()) + 1;
    const first = await officerApi<Cut>("GET", `/api/v1/compliance/reports/large-value?date=${today}`);
    assert.equal(first.code, "200000", first.msg);
    await gw.ctx.audit.flush();
    const [record] = (await gw.ctx.audit.index.query({ types: ["report.generated"], account: officer.address.toLowerCase(), limit: 1, order: "desc" })).items;
    assert.ok(first.data.asOfSeq >= logEnd && first.data.asOfSeq <= record.seq, `cut at the log's end when produced: ${logEnd} <= ${first.data.asOfSeq} <= ${record.seq}`);
    assert.ok(!first.data.customers.some((c) => c.identityHash === ids.e));
    // e deposits 450M the same day, after the cut.
    await gw.ctx.trading.deposit(creds.e.accountId, "VND", 450_000_000n, "rep-e3");
    const live = await officerApi<Cut>("GET", `/api/v1/compliance/reports/large-value?date=${today}`);
    assert.ok(live.data.asOfSeq > first.data.asOfSeq);
    assert.ok(live.data.customers.some((c) => c.identityHash === ids.e), "the next report has it");
    const again = await officerApi<Cut>("GET", `/api/v1/compliance/reports/large-value?date=${today}&asOfSeq=${first.data.asOfSeq}`);
    assert.equal(again.code, "200000", again.msg);
    // The same report but for when and by whom it was produced (and the customers' KYC, read from the chain now: unchanged here).
    assert.deepEqual({ ...again.data, generatedAt: "" }, { ...first.data, generatedAt: "" });
    const hashOf = (d: Cut) => createHash("sha256").update(JSON.stringify(d)).digest("hex");
    const withTime = (d: Cut, t: string) => ({ ...d, generatedAt: t }) as Cut;
    assert.equal(hashOf(withTime(again.data, first.data.generatedAt)), hashOf(first.data), "the JSON hash is over the data value: the same bytes but for generatedAt");
    // The audit record says where it was cut.
    await gw.ctx.audit.flush();
    const rec = await gw.ctx.audit.index.query({ types: ["report.generated"], account: officer.address.toLowerCase(), limit: 1, order: "desc" });
    assert.deepEqual((rec.items[0].detail as { params: unknown }).params, { date: today, threshold: "400000000", format: "json", asOfSeq: first.data.asOfSeq });
    // A cut beyond the log is refused.
    const beyond = await officerApi("GET", `/api/v1/compliance/reports/large-value?date=${today}&asOfSeq=999999999`);
    assert.equal(beyond.status, 400, JSON.stringify(beyond));
  });

  it("sums amounts exactly and floors the day's total once (not each amount)", () => {
    const total = ["0.6", "0.6", "399999999.9"].reduce((a, t) => a + vndMinorOf(t)!, 0n);
    assert.equal(flooredVnd(total), 400_000_001n);
    assert.equal(vndMinorOf("1e9"), undefined);
  });

  it("operator routes: markets with their halt state, frozen accounts, and a risk-limit change needs a reason that the audit log keeps", async () => {
    assert.equal((await opApi("POST", "/api/v1/sen/operator/markets/GOLD-VND/halt", { reason: "report test halt" })).code, "200000");
    const m = await opApi("GET", "/api/v1/sen/operator/markets");
    const gold = (m.data.items as Array<{ symbol: string; halted: boolean; haltReason: string; quote: string; limits: { collarBps: number } }>).find((x) => x.symbol === "GOLD-VND")!;
    assert.deepEqual([gold.halted, gold.haltReason, gold.quote, gold.limits.collarBps], [true, "report test halt", "VND", 0]);
    assert.equal((await opApi("POST", "/api/v1/sen/operator/markets/GOLD-VND/resume", { reason: "done" })).code, "200000");
    assert.equal((await opApi("POST", `/api/v1/sen/operator/accounts/${creds.c.accountId}/kill-switch`, { reason: "report test freeze" })).code, "200000");
    const frozen = await opApi("GET", "/api/v1/sen/operator/accounts/frozen");
    assert.deepEqual(frozen.data.items, [{ accountId: creds.c.accountId, reason: "report test freeze", openOrders: 0 }]);
    const noReason = await opApi("PUT", "/api/v1/sen/operator/risk-limits", { scope: "symbol", key: "GOLD-VND", limits: { collarBps: 300 } });
    assert.equal(noReason.status, 400);
    const blank = await opApi("PUT", "/api/v1/sen/operator/risk-limits", { scope: "symbol", key: "GOLD-VND", reason: "   ", limits: { collarBps: 300 } });
    assert.equal(blank.status, 400);
    const ok = await opApi("PUT", "/api/v1/sen/operator/risk-limits", { scope: "symbol", key: "GOLD-VND", reason: "tighter collar after the ring", limits: { collarBps: 300 } });
    assert.equal(ok.code, "200000", ok.msg);
    await gw.ctx.audit.flush();
    const ev = await officerApi("GET", "/api/v1/compliance/events?type=risk.limitsChanged,market.halted,market.resumed,killSwitch&limit=20");
    const seen = (ev.data.items as Array<{ type: string; reason: string; actor: string }>).map((e) => `${e.type}: ${e.reason}`);
    for (const s of ["risk.limitsChanged: tighter collar after the ring", "market.halted: report test halt", "market.resumed: done", "killSwitch: report test freeze"]) assert.ok(seen.some((x) => x.startsWith(s)), `${s} in ${JSON.stringify(seen)}`);
  });
});
