import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { AuditEvent } from "../src/compliance/audit/auditEvent.ts";
import { parseIsoMicros } from "../src/compliance/audit/auditEvent.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { getJson, loginAndCreateKey, postJson, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { until } from "./support/until.ts";

const SYMBOL = "GOLD-VND";
const SOURCE = "chrony, NTP from two stratum-1 servers (test)";

type Page = { items: AuditEvent[]; nextCursor?: string };

/**
 * The business clock through the real gateway: orders' audit events carry the microseconds
 * their journal records were stamped with (not …000Z), and the RTS 25 record — clock source,
 * committed maximum divergence, measured divergence — is in the audit trail from the start, in
 * the audit status and on /metrics.
 */
describe("microsecond business clock through the gateway (RTS 25)", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let officer: ApiCredentials;
  let seller: ApiCredentials;
  let buyer: ApiCredentials;
  const accounts = { officer: hardhatAccount(80), seller: hardhatAccount(81), buyer: hardhatAccount(82), operator: hardhatAccount(83) };

  before(async () => {
    chain = await startChain();
    for (const [name, a] of Object.entries(accounts)) await chain.attest(a.address, `clock-${name}`);
    gw = await startTestGateway(chain, {
      env: {
        SEN_COMPLIANCE: accounts.officer.address.toLowerCase(),
        SEN_OPERATORS: accounts.operator.address.toLowerCase(),
        SEN_CLOCK_SOURCE: SOURCE,
        SEN_CLOCK_MAX_DIVERGENCE_US: "1000",
      },
    });
    officer = await loginAndCreateKey(gw.url, accounts.officer, ["General"]);
    seller = await loginAndCreateKey(gw.url, accounts.seller);
    buyer = await loginAndCreateKey(gw.url, accounts.buyer);
    const op = await loginAndCreateKey(gw.url, accounts.operator, ["General"]);
    await postJson(`${gw.url}/api/v1/sen/operator/deposits`, { accountId: seller.accountId, currency: "GOLD", amount: "1000", ref: "c-s" }, op.token);
    await postJson(`${gw.url}/api/v1/sen/operator/deposits`, { accountId: buyer.accountId, currency: "VND", amount: "100000000", ref: "c-b" }, op.token);
  });
  after(async () => {
    await gw?.close();
    await chain?.close();
  });

  const events = async (query: string) => {
    const out: AuditEvent[] = [];
    let cursor = "";
    for (;;) {
      const page = (await getJson(`${gw.url}/api/v1/compliance/events?${query}&order=asc&limit=500${cursor ? `&cursor=${cursor}` : ""}`, officer.token)) as Page;
      out.push(...page.items);
      if (!page.nextCursor) return out;
      cursor = page.nextCursor;
    }
  };

  it("records clock.status at start with the configured source and bound and the measured divergence", async () => {
    const [first] = await until("clock.status indexed", async () => {
      const found = await events("type=clock.status");
      return found.length ? found : undefined;
    });
    assert.equal(first.actor, "gateway start");
    const d = first.detail as Record<string, unknown>;
    assert.equal(d.source, SOURCE);
    assert.equal(d.maxDivergenceUs, 1000);
    assert.equal(d.granularityUs, 1);
    assert.equal(typeof d.divergenceFromSystemClockUs, "number");
    assert.equal(typeof d.uncertaintyUs, "number");
    assert.equal(d.withinBoundOfSystemClock, true, `divergence from the system clock at start ${d.divergenceFromSystemClockUs} µs ± ${d.uncertaintyUs}`);
    // What Sen can read of UTC traceability, never invented: this host runs neither timesyncd nor chrony, or one of them answered.
    assert.match(String(d.utcTraceability), /^(synchronized per systemd-timesyncd|chrony: .*|not measured by Sen)$/);
    assert.equal(d.divergenceUs, undefined, "no field that reads as a divergence from UTC");
    assert.match(first.reason ?? "", /1000 µs/);
    assert.match(first.reason ?? "", /from the system clock, not UTC/);

    const status = (await getJson(`${gw.url}/api/v1/compliance/audit/status`, officer.token)) as { clock: Record<string, unknown> };
    assert.equal(status.clock.source, SOURCE);
    assert.equal(status.clock.maxDivergenceUs, 1000);
    assert.equal(status.clock.withinBoundOfSystemClock, true);
    assert.equal(typeof status.clock.utcTraceability, "string");
    assert.match((status.clock.lastCheck as { at: string }).at, /\.\d{6}Z$/);

    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /^sen_clock_max_divergence_microseconds 1000$/m);
    assert.match(metrics, /^sen_clock_divergence_from_system_clock_microseconds -?\d+(\.\d+)?$/m);
    assert.match(metrics, /^sen_clock_within_bound_of_system_clock 1$/m);
    assert.match(metrics, /^sen_clock_utc_synchronized [01]$/m);
  });

  it("an order's audit events carry microsecond timestamps, strictly later record by record", async () => {
    const s = kucoinClient(() => gw.url, seller);
    const b = kucoinClient(() => gw.url, buyer);
    const ids: string[] = [];
    for (let i = 0; i < 15; i++) {
      const sell = await s("POST", "/api/v1/orders", { clientOid: `ck-s${i}`, side: "sell", symbol: SYMBOL, type: "limit", price: "10000", size: "2" });
      assert.equal(sell.code, "200000", JSON.stringify(sell));
      const buy = await b("POST", "/api/v1/orders", { clientOid: `ck-b${i}`, side: "buy", symbol: SYMBOL, type: "limit", price: "10000", size: "1" });
      assert.equal(buy.code, "200000", JSON.stringify(buy));
      ids.push((sell.data as { orderId: string }).orderId, (buy.data as { orderId: string }).orderId);
    }
    const last = ids.at(-1)!;
    await until("the last order's events indexed", async () => (await events(`orderId=${last}&type=order.filled`)).length > 0);

    const all = (await events(`account=${seller.accountId}`)).concat(await events(`account=${buyer.accountId}`)).filter((e) => e.type.startsWith("order."));
    assert.ok(all.length >= 60, `${all.length} order events`);
    for (const e of all) assert.match(e.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, `${e.type} ${e.ts}`);
    const subMs = all.filter((e) => !e.ts.endsWith("000Z"));
    assert.ok(subMs.length > 0, "some timestamps have microseconds of their own");
    assert.ok(subMs.length > all.length / 2, `${subMs.length} of ${all.length} off the whole millisecond: the clock has µs, not ms padded with zeros`);

    // Each order is received, then accepted, later: stamped from the same clock.
    for (const id of ids) {
      const accepted = all.find((e) => e.type === "order.accepted" && e.orderId === id)!;
      const received = all.find((e) => e.type === "order.received" && e.clientOid === accepted.clientOid)!;
      assert.ok(parseIsoMicros(accepted.ts) > parseIsoMicros(received.ts), `order ${id}: received ${received.ts}, accepted ${accepted.ts}`);
    }
    // Journaled records are stamped in journal order: a later record's events are strictly later.
    const journaled = all.filter((e) => e.jseq !== undefined).sort((x, y) => x.jseq! - y.jseq! || x.seq - y.seq);
    for (let i = 1; i < journaled.length; i++) {
      const [a, c] = [journaled[i - 1], journaled[i]];
      if (c.jseq! > a.jseq!) assert.ok(parseIsoMicros(c.ts) > parseIsoMicros(a.ts), `record ${c.jseq} (${c.ts}) after record ${a.jseq} (${a.ts})`);
      else assert.equal(c.ts, a.ts, "the events of one record share its time");
    }
  });
});
