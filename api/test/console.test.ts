import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { Hex, LocalAccount } from "viem";
import { CONSOLE_MODULES } from "../src/http/consoleAssets.ts";
import { DEFAULT_RISK } from "../src/risk/types.ts";
import { injectSigningWallet } from "./support/browserWallet.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { sessionClient, type SessionClient } from "./support/httpProbe.ts";
import { kucoinClient } from "./support/kucoinClient.ts";

/**
 * The compliance console end to end: the real gateway on the real chain, a wash trade across
 * two wallets of one e-ID raising a surveillance alert, and the console driven in Chromium
 * with an EIP-1193 wallet that signs with the officer's key.
 */

const CHROMIUM = "/usr/bin/chromium";
const SYMBOL = "GOLD-VND";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe("compliance console (Chromium)", { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (CI installs the Debian chromium package)`, timeout: 120_000 }, () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let browser: Browser | undefined;
  let officerApi: SessionClient;
  const officer = hardhatAccount(50);
  const [washA, washB, other, third] = [hardhatAccount(51), hardhatAccount(52), hardhatAccount(53), hardhatAccount(54)];
  /** Six back-and-forth trades between `other` and `third` in RIVER-VND: a second WASH_RING, raised while the console is open. */
  let laterRing: () => Promise<void>;
  let washId: Hex;
  let alertId: string;
  const contexts: BrowserContext[] = [];

  before(async () => {
    chain = await startChain();
    const risk = structuredClone(DEFAULT_RISK);
    risk.defaults.collarBps = 0;
    gw = await startTestGateway(chain, { risk, env: { SEN_COMPLIANCE: officer.address.toLowerCase(), SEN_JOURNAL_FSYNC: "none" } });
    await chain.attest(officer.address, "console-officer");
    // One person, two wallets: attested once, then the second wallet bound to the same e-ID.
    washId = await chain.attest(washA.address, "console-washer");
    await chain.publicClient.waitForTransactionReceipt({ hash: await chain.registry.write.addWallet([washId, washB.address]) });
    // Foreign investors: their ring trades RIVER, which the pilot reserves for them (NQ05-FOREIGN-ONLY).
    await chain.attest(other.address, "console-other", 2, 702);
    await chain.attest(third.address, "console-third", 2, 702);

    officerApi = sessionClient(gw.url, (await loginAndCreateKey(gw.url, officer)).token);
    const creds: ApiCredentials[] = [];
    for (const w of [washA, washB, other, third]) creds.push(await loginAndCreateKey(gw.url, w));
    const [a, b, o, t] = creds;
    await gw.ctx.trading.deposit(a.accountId, "VND", 1_000_000_000n, "console-dep-a");
    await gw.ctx.trading.deposit(b.accountId, "VND", 1_000_000_000n, "console-dep-b");
    await gw.ctx.trading.deposit(b.accountId, "GOLD", 1_000n, "console-dep-b2");
    await gw.ctx.trading.deposit(o.accountId, "VND", 1_000_000_000n, "console-dep-o");
    await gw.ctx.trading.deposit(o.accountId, "GOLD", 1_000n, "console-dep-o2");
    await gw.ctx.trading.deposit(o.accountId, "RIVER", 1_000n, "console-dep-o3");
    await gw.ctx.trading.deposit(t.accountId, "VND", 1_000_000_000n, "console-dep-t");
    const [ka, kb, ko, kt] = creds.map((c) => kucoinClient(() => gw.url, c));
    let n = 0;
    const order = async (k: typeof ka, side: "buy" | "sell", price: number, size: number, symbol = SYMBOL) => {
      const r = await k("POST", "/api/v1/orders", { clientOid: `console-${++n}`, side, symbol, type: "limit", price: String(price), size: String(size) });
      assert.equal(r.code, "200000", JSON.stringify(r));
    };
    // The washer (two wallets, one e-ID) and another identity trade back and forth and end
    // where they started: six trades, net zero each (WASH_RING).
    await order(ko, "sell", 100_000, 2);
    await order(ka, "buy", 100_000, 2);
    await order(ka, "sell", 100_100, 2);
    await order(ko, "buy", 100_100, 2);
    await order(ko, "sell", 100_200, 2);
    await order(kb, "buy", 100_200, 2);
    await order(kb, "sell", 100_100, 2);
    await order(ko, "buy", 100_100, 2);
    await order(ko, "sell", 100_000, 1);
    await order(ka, "buy", 100_000, 1);
    await order(ka, "sell", 100_100, 1);
    await order(ko, "buy", 100_100, 1);
    // The same e-ID on both sides across its two wallets: the engine's identity-level
    // self-trade prevention cancels the newest order (order.stp), so it never trades.
    await order(kb, "sell", 100_300, 3);
    await order(ka, "buy", 100_300, 3);
    laterRing = async () => {
      for (let i = 0; i < 3; i++) {
        await order(ko, "sell", 50_000, 1, "RIVER-VND");
        await order(kt, "buy", 50_000, 1, "RIVER-VND");
        await order(kt, "sell", 50_000, 1, "RIVER-VND");
        await order(ko, "buy", 50_000, 1, "RIVER-VND");
      }
    };
    alertId = await until("the WASH_RING alert", async () => {
      const r = await officerApi("GET", "/api/v1/compliance/alerts?rule=WASH_RING");
      assert.equal(r.code, "200000", r.msg);
      return (r.data.items as Array<{ alertId: string; identityHashes: string[] }>).find((x) => x.identityHashes.includes(washId.toLowerCase()))?.alertId;
    });
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await gw?.close();
    await chain?.close();
  });

  /** A page whose `window.ethereum` is an EIP-1193 wallet signing with `account`; collects console errors. */
  async function openConsole(account: LocalAccount): Promise<{ page: Page; errors: string[] }> {
    if (!browser) {
      const { chromium } = await import("playwright-core");
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
    }
    const context = await browser.newContext({ acceptDownloads: true });
    contexts.push(context);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => errors.push(`page: ${e.message}`));
    await injectSigningWallet(page, account);
    await page.goto(`${gw.url}/compliance/`);
    return { page, errors };
  }

  it("serves only the allow-listed files, with a strict CSP and JavaScript for the TypeScript modules", async () => {
    const index = await fetch(`${gw.url}/compliance/`);
    assert.equal(index.status, 200);
    const csp = index.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self' 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    assert.match(csp, /connect-src 'self'/);
    assert.match(csp, /default-src 'none'/);
    const main = await fetch(`${gw.url}/compliance/src/eventsTable.ts`);
    assert.equal(main.headers.get("content-type"), "text/javascript; charset=utf-8");
    const js = await main.text();
    assert.doesNotMatch(js, /\{ events: AuditEvent\[\]/, "type annotations are stripped");
    // every module in api/console/src is listed (and so served), and nothing else is
    const onDisk = readdirSync(new URL("../console/src/", import.meta.url)).filter((f) => f.endsWith(".ts")).sort();
    assert.deepEqual([...CONSOLE_MODULES].sort(), onDisk);
    for (const f of onDisk) assert.equal((await fetch(`${gw.url}/compliance/src/${f}`)).status, 200, f);
    for (const p of ["vendor/preact.js", "vendor/preact-hooks.js", "vendor/htm.js", "vendor/lightweight-charts.js", "console.css"]) {
      assert.equal((await fetch(`${gw.url}/compliance/${p}`)).status, 200, p);
    }
    for (const p of ["src/nope.ts", "src/../../src/main.ts", "src/%2e%2e/%2e%2e/src/main.ts", "tsconfig.json", "index.html", "..%2f..%2fpackage.json"]) {
      const r = await fetch(`${gw.url}/compliance/${p}`);
      assert.equal(r.status, 404, p);
    }
    assert.equal(readFileSync(new URL("../console/index.html", import.meta.url), "utf8").includes('<script type="importmap">'), true);
  });

  it("an officer signs in, reviews the wash-trade alert, acknowledges it, searches and opens an order's lifecycle", async () => {
    const { page, errors } = await openConsole(officer);
    await page.getByTestId("connect").click();
    const badge = page.getByTestId("verify-badge");
    await badge.and(page.locator("[data-verified=true]")).waitFor({ timeout: 10_000 });
    assert.match(await badge.innerText(), /^Log verified · [\d,]+ events/);

    // the alerts list shows the alert
    const row = page.locator(`[data-testid=alert-row][data-alert-id="${alertId}"]`);
    await row.waitFor();
    // a new alert arrives over the websocket while the list is open (no reload)
    await page.locator("[data-testid=live-status]", { hasText: "live" }).waitFor();
    await laterRing();
    await page.locator("[data-testid=alert-row][data-rule=WASH_RING]", { hasText: "RIVER-VND" }).waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId("live-count").innerText(), "1 new");
    assert.equal(await row.getAttribute("data-rule"), "WASH_RING");
    assert.equal(await row.getAttribute("data-status"), "open");
    await row.click();

    // detail: summary, evidence fills, chart
    const detail = page.getByTestId("alert-detail");
    await detail.waitFor();
    assert.match(await page.getByTestId("alert-summary").innerText(), /GOLD-VND/);
    const evidence = page.locator("[data-testid=evidence-table] [data-testid=event-row]");
    await evidence.first().waitFor();
    const evidenceTypes = await evidence.evaluateAll((rows) => rows.map((r) => r.getAttribute("data-type")));
    assert.ok(evidenceTypes.length >= 1 && evidenceTypes.every((t) => t === "order.filled"), JSON.stringify(evidenceTypes));
    const evidenceWallets = new Set(await evidence.evaluateAll((rows) => rows.map((r) => r.getAttribute("data-wallet"))));
    for (const w of [washA, washB, other]) assert.ok(evidenceWallets.has(w.address.toLowerCase()), [...evidenceWallets].join());
    const chart = page.getByTestId("price-chart");
    await chart.locator("canvas").first().waitFor();
    assert.ok(Number(await chart.getAttribute("data-points")) >= 5, `points: ${await chart.getAttribute("data-points")}`);
    assert.equal(Number(await chart.getAttribute("data-trades")), 6);
    const sizes = await chart.locator("canvas").evaluateAll((cs) => cs.map((c) => [(c as unknown as { width: number }).width, (c as unknown as { height: number }).height]));
    assert.ok(sizes.some(([w, h]) => w > 100 && h > 100), JSON.stringify(sizes));

    // acknowledge with a note
    await page.getByTestId("alert-note").fill("Reviewed: ring with the washer's two wallets; escalating.");
    await page.getByTestId("ack").click();
    await page.locator("[data-testid=alert-status]", { hasText: "acknowledged" }).waitFor();
    assert.equal(await page.getByTestId("alert-status-note").innerText(), "Reviewed: ring with the washer's two wallets; escalating.");
    const stored = await officerApi("GET", `/api/v1/compliance/alerts/${alertId}`);
    assert.equal(stored.data.alert.status, "acknowledged");

    // search by the washing identity: events of both wallets
    await page.getByTestId("nav-search").click();
    await page.getByTestId("search-identityHash").fill(washId);
    await page.getByTestId("search-submit").click();
    const results = page.locator("[data-testid=search-results] [data-testid=event-row]");
    await results.first().waitFor();
    const wallets = new Set(await results.evaluateAll((rows) => rows.map((r) => r.getAttribute("data-wallet"))));
    assert.ok(wallets.has(washA.address.toLowerCase()) && wallets.has(washB.address.toLowerCase()), [...wallets].join());
    const resultTypes = await results.evaluateAll((rows) => rows.map((r) => r.getAttribute("data-type")));
    assert.ok(resultTypes.includes("order.stp"), "the prevented cross-wallet self-trade is on record");

    // export as CSV (fetched with the session, saved through a Blob URL)
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-csv").click()]);
    assert.match(download.suggestedFilename(), /\.csv$/);
    const csv = readFileSync(await download.path(), "utf8");
    assert.ok(csv.startsWith("seq,id,ts,type,"), csv.slice(0, 80));
    assert.ok(csv.includes(washB.address.toLowerCase()));

    // an order's lifecycle from a result
    const orderLink = page.locator("[data-testid=search-results] [data-testid=order-link]").first();
    const orderId = await orderLink.getAttribute("data-order-id");
    await orderLink.click();
    const lifecycle = page.locator(`[data-testid=order-lifecycle][data-order-id="${orderId}"]`);
    await lifecycle.waitFor();
    const types = await lifecycle.locator("[data-testid=event-row]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-type")));
    assert.ok(types.includes("order.accepted"), JSON.stringify(types));

    // identity activity from an identity link
    await page.locator("[data-testid=lifecycle-table] [data-testid=identity-link]").first().click();
    await page.getByTestId("identity-activity").waitFor();
    const seen = await page.locator("[data-testid=identity-wallets] [data-wallet]").evaluateAll((as) => as.map((a) => a.getAttribute("data-wallet")));
    assert.ok(seen.length >= 1, JSON.stringify(seen));

    assert.deepEqual(errors, []);
  });

  it("a trader's wallet is refused and sees no data", async () => {
    const { page, errors } = await openConsole(washA);
    const compliance: string[] = [];
    page.on("request", (r) => {
      if (r.url().includes("/api/v1/compliance/")) compliance.push(r.url());
    });
    await page.getByTestId("connect").click();
    const refusal = page.getByTestId("refusal");
    await refusal.waitFor();
    assert.match(await refusal.innerText(), /not a compliance officer/i);
    assert.equal(await page.getByTestId("alerts-table").count(), 0);
    assert.equal(await page.getByTestId("verify-badge").count(), 0);
    assert.deepEqual(compliance, [], "no compliance API call was made");
    assert.deepEqual(errors, []);
  });
});
