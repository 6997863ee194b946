import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import express from "express";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { envToConfig, devSignInRefusal } from "../src/config/config.ts";
import { SenError } from "../src/errors/SenError.ts";
import { MAPPED_CODES, toKucoinError } from "../src/http/errors.ts";
import { mountConsole } from "../src/http/consoleAssets.ts";
import { allRoutes } from "../src/http/routes/index.ts";
import { DEFAULT_RISK, HolderCode } from "../src/risk/types.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { sessionClient, type SessionClient } from "./support/httpProbe.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { until } from "./support/until.ts";

/**
 * The compliance console after a first-use walkthrough (#17): alert rules and thresholds in
 * words, audit events summarised in words with the raw record on demand (no sideways scroll at
 * 1280 px, cards at 390 px), a confirmation after an export, a session that survives a reload
 * (sessionStorage) until sign-out, 401 or expiry, compliance wording for lookups of what the trail
 * does not hold, and development sign-in with a pasted key on a local chain only. The real
 * gateway on the real chain; the page is driven in Chromium.
 *
 * Screenshots go to a temporary directory, or to docs/screenshots/ with SEN_UPDATE_SCREENSHOTS=1.
 */
const CHROMIUM = "/usr/bin/chromium";
const ROOT = path.join(import.meta.dirname, "../..");
const SHOTS = process.env.SEN_UPDATE_SCREENSHOTS === "1" ? path.join(ROOT, "docs/screenshots") : mkdtempSync(path.join(tmpdir(), "sen-console-shots-"));
const SYMBOL = "GOLD-VND";
const SESSION_KEY = "sen.compliance.session";

/** Messages of the trading API (KuCoin's words for orders, funds, symbols and URLs): never the answer to a compliance lookup. */
const TRADING_MESSAGES = [
  ...new Set(
    MAPPED_CODES.filter((c) => /^(TRADING|RISK|SETTLEMENT|WITHDRAWAL|DEPOSIT)_/.test(c) || (Object.values(HolderCode) as string[]).includes(c) || c === "NOT_FOUND").map((c) =>
      toKucoinError(new SenError(c, "")).msg.replace(/: $/, ""),
    ),
  ),
];

let chain: ChainFixture;
let gw: GatewayFixture;
let officerApi: SessionClient;
const officer = hardhatAccount(40);
const [traderA, traderB] = [hardhatAccount(41), hardhatAccount(42)];
let ringAlertId: string;
let cancelledOrderId: string;

before(async () => {
  chain = await startChain();
  const risk = structuredClone(DEFAULT_RISK);
  risk.defaults.collarBps = 0;
  gw = await startTestGateway(chain, { risk, env: { SEN_COMPLIANCE: officer.address.toLowerCase(), SEN_JOURNAL_FSYNC: "none", SEN_DEV_SIGNIN: "1" } });
  await chain.attest(officer.address, "polish-officer");
  await chain.attest(traderA.address, "polish-a");
  await chain.attest(traderB.address, "polish-b");
  officerApi = sessionClient(gw.url, (await loginAndCreateKey(gw.url, officer)).token);
  const [a, b]: ApiCredentials[] = [await loginAndCreateKey(gw.url, traderA), await loginAndCreateKey(gw.url, traderB)];
  for (const [c, n] of [[a, "a"], [b, "b"]] as const) {
    await gw.ctx.trading.deposit(c.accountId, "VND", 1_000_000_000n, `polish-vnd-${n}`);
    await gw.ctx.trading.deposit(c.accountId, "GOLD", 1_000n, `polish-gold-${n}`);
  }
  const [ka, kb] = [kucoinClient(() => gw.url, a), kucoinClient(() => gw.url, b)];
  let n = 0;
  const order = async (k: typeof ka, side: "buy" | "sell", price: number, size: number) => {
    const r = await k("POST", "/api/v1/orders", { clientOid: `polish-${++n}`, side, symbol: SYMBOL, type: "limit", price: String(price), size: String(size) });
    assert.equal(r.code, "200000", JSON.stringify(r));
    return (r.data as { orderId: string }).orderId;
  };
  // Two identities trade back and forth and end where they started: six trades (WASH_RING).
  for (const [seller, buyer, price, size] of [[kb, ka, 100_000, 2], [ka, kb, 100_100, 2], [kb, ka, 100_200, 2], [ka, kb, 100_100, 2], [kb, ka, 100_000, 1], [ka, kb, 100_100, 1]] as const) {
    await order(seller, "sell", price, size);
    await order(buyer, "buy", price, size);
  }
  // A resting order cancelled by its trader, and one refused for want of funds.
  cancelledOrderId = await order(ka, "buy", 90_000, 1);
  assert.equal((await ka("DELETE", `/api/v1/orders/${cancelledOrderId}`)).code, "200000");
  const refused = await ka("POST", "/api/v1/orders", { clientOid: "polish-too-big", side: "buy", symbol: SYMBOL, type: "limit", price: "100000", size: "900000" });
  assert.notEqual(refused.code, "200000");
  ringAlertId = await until("the WASH_RING alert", async () => {
    const r = await officerApi("GET", "/api/v1/compliance/alerts?rule=WASH_RING");
    assert.equal(r.code, "200000", r.msg);
    return (r.data.items as Array<{ alertId: string }>)[0]?.alertId;
  });
  await until("the cancellation indexed", async () => {
    const r = await officerApi("GET", `/api/v1/compliance/orders/${cancelledOrderId}/lifecycle`);
    return r.code === "200000" && (r.data.events as Array<{ type: string }>).some((e) => e.type === "order.cancelled") ? true : undefined;
  });
});

after(async () => {
  await gw?.close();
  await chain?.close();
});

describe("compliance lookups answer in compliance words (HTTP)", () => {
  it("no compliance route's error carries a trading-API message", async () => {
    assert.ok(TRADING_MESSAGES.includes("order_not_exist_or_not_allow_to_cancel") && TRADING_MESSAGES.includes("Url Not Found"), JSON.stringify(TRADING_MESSAGES));
    const unknownId = "0x" + "ab".repeat(32);
    const probes: Array<[string, string, unknown?]> = [
      ["GET", "/api/v1/compliance/orders/no-such-order-1/lifecycle"],
      ["GET", "/api/v1/compliance/alerts/WASH_RING-1-2"],
      ["POST", "/api/v1/compliance/alerts/WASH_RING-1-2/status", { status: "closed" }],
      ["GET", "/api/v1/compliance/books/NOPE-VND?seq=1"],
      ["GET", "/api/v1/compliance/orders/bad%20id/lifecycle"],
      ["GET", "/api/v1/compliance/events?symbol=GOLD-VND&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z"],
      ["GET", `/api/v1/compliance/identities/${unknownId}/activity?limit=0`],
    ];
    const replies: string[] = [];
    for (const [method, p, body] of probes) {
      const r = await officerApi(method as "GET", p, body);
      assert.notEqual(r.code, "200000", `${method} ${p} should fail`);
      replies.push(`${p}: ${r.msg}`);
      for (const m of TRADING_MESSAGES) assert.ok(!String(r.msg).includes(m), `${method} ${p} answered with the trading message ${JSON.stringify(m)}: ${r.msg}`);
    }
    // Every compliance route, each path parameter an id the trail does not hold.
    const unknownParam: Record<string, string> = { identityHash: unknownId, symbol: "NOPE-VND", alertId: "WASH_RING-1-2", orderId: "no-such-order-2" };
    for (const route of allRoutes(gw.ctx).filter((r) => r.path.startsWith("/api/v1/compliance/"))) {
      const p = route.path.replace(/:(\w+)/g, (_m, name: string) => encodeURIComponent(unknownParam[name] ?? `no-such-${name}`));
      const r = await officerApi(route.method.toUpperCase() as "GET", route.path.includes("/books/") ? `${p}?seq=1` : p, route.method === "post" ? {} : undefined).catch((err: Error) => ({ code: "stream", msg: err.message }) as { code: string; msg?: string });
      if (r.code === "200000") continue;
      replies.push(`${route.method} ${p}: ${r.msg}`);
      for (const m of TRADING_MESSAGES) assert.ok(!String(r.msg).includes(m), `${route.method} ${p} answered with the trading message ${JSON.stringify(m)}: ${r.msg}`);
    }
    assert.ok(replies.length >= probes.length + 5, replies.join("\n"));
    const lifecycle = await officerApi("GET", "/api/v1/compliance/orders/no-such-order-1/lifecycle");
    assert.deepEqual([lifecycle.status, lifecycle.msg, lifecycle.senCode], [404, "No order with id no-such-order-1 in the audit trail", "COMPLIANCE_NOT_FOUND"]);
    const alert = await officerApi("GET", "/api/v1/compliance/alerts/WASH_RING-1-2");
    assert.deepEqual([alert.status, alert.msg], [404, "No alert with id WASH_RING-1-2"]);
    // An identity with no events is an empty page, not an error.
    const quiet = await officerApi("GET", `/api/v1/compliance/identities/${unknownId}/activity`);
    assert.deepEqual([quiet.code, quiet.data.items], ["200000", []]);
  });

  it("development sign-in: refused on a chain that is not local, off unless asked, the signer served only then", async () => {
    const on = envToConfig({ SEN_DEV_SIGNIN: "1" });
    assert.equal(devSignInRefusal({ ...on, chainId: 31337 }), undefined);
    assert.match(devSignInRefusal({ ...on, chainId: 11155111 }) ?? "", /SEN_DEV_SIGNIN=1 is for a local development chain .* not chain 11155111/);
    assert.equal(envToConfig({}).devSignIn, false);
    assert.throws(() => envToConfig({ SEN_DEV_SIGNIN: "yes" }), /SEN_DEV_SIGNIN/);
    // The gateway itself will not start with it on another chain.
    assert.throws(() => mountConsole(express(), { ...on, chainId: 11155111 }), /SEN_DEV_SIGNIN=1 is for a local development chain/);
    const info = (await (await fetch(`${gw.url}/compliance/dev-signin.json`)).json()) as { enabled: boolean; accounts: Array<{ address: string; role: string; hardhatIndex: number }> };
    assert.equal(info.enabled, true);
    assert.deepEqual(info.accounts.map((a) => [a.address, a.role, a.hardhatIndex]), [[officer.address, "compliance", 40]]);
    assert.equal((await fetch(`${gw.url}/compliance/vendor/ethers.js`)).status, 200);
  });
});

describe("compliance console polish (Chromium)", { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (CI installs the Debian chromium package)`, timeout: 150_000 }, () => {
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];

  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
  });

  /** A page with no wallet extension at all (development sign-in is the only way in). */
  async function openPage(url: string): Promise<{ page: Page; errors: string[]; context: BrowserContext }> {
    if (!browser) {
      const { chromium } = await import("playwright-core");
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
    }
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("console", (m) => {
      // A refused lookup is an HTTP 4xx the browser logs by itself; the page's own errors are what count.
      if (m.type() === "error" && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) errors.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => errors.push(`page: ${e.message}`));
    await page.goto(url);
    return { page, errors, context };
  }

  async function devSignIn(page: Page): Promise<void> {
    await page.getByTestId("dev-signin").waitFor();
    await page.locator(`[data-testid=dev-account][data-address="${officer.address}"]`).click();
    await page.getByTestId("signed-in-as").waitFor();
  }

  /** No sideways scrolling of the page nor of any table at this width; the widest offenders named when there is. */
  async function assertNoOverflow(page: Page, what: string): Promise<void> {
    const r = (await page.evaluate(`(() => {
      const doc = document.documentElement;
      const wraps = [...document.querySelectorAll(".table-wrap")].filter((w) => w.scrollWidth > w.clientWidth + 1).map((w) => w.querySelector("table")?.getAttribute("data-testid") + " " + w.scrollWidth + ">" + w.clientWidth);
      const wide = [...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > doc.clientWidth + 1).slice(0, 5).map((e) => e.tagName + "." + e.className);
      return { page: doc.scrollWidth - doc.clientWidth, wraps, wide };
    })()`)) as { page: number; wraps: string[]; wide: string[] };
    assert.ok(r.page <= 0 && r.wraps.length === 0, `${what} scrolls sideways: page by ${r.page} px, tables ${JSON.stringify(r.wraps)}, ${JSON.stringify(r.wide)}`);
  }

  async function shoot(page: Page, name: string, narrowCheck?: () => Promise<void>): Promise<void> {
    await assertNoOverflow(page, `${name} at 1280 px`);
    await page.screenshot({ path: path.join(SHOTS, `console-${name}-1280.png`), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await assertNoOverflow(page, `${name} at 390 px`);
    await narrowCheck?.();
    await page.screenshot({ path: path.join(SHOTS, `console-${name}-390.png`), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
  }

  it("development sign-in with a listed key (no wallet extension), an alert in words", async () => {
    const { page, errors } = await openPage(`${gw.url}/compliance/#/alerts/${encodeURIComponent(ringAlertId)}`);
    assert.equal(await page.evaluate("typeof window.ethereum"), "undefined");
    await page.getByTestId("dev-signin").waitFor();
    await page.screenshot({ path: path.join(SHOTS, "console-login-dev-1280.png"), fullPage: true });
    await devSignIn(page);

    const detail = page.getByTestId("alert-detail");
    await detail.waitFor();
    assert.equal(await page.getByTestId("alert-rule-words").innerText(), "Wash trading ring");
    const values = page.getByTestId("alert-detail-values");
    const terms = await values.locator("dt").allInnerTexts();
    assert.ok(terms.includes("Minimum trades") && terms.includes("Window") && terms.includes("Net change tolerance"), JSON.stringify(terms));
    for (const t of terms) assert.doesNotMatch(t, /^[a-z]+[A-Z]|_/, `a code name shown as a label: ${t}`);
    assert.equal(await values.locator("dt[data-key=minTrades] + dd").innerText(), "6");
    assert.equal(await values.locator("dt[data-key=windowSeconds] + dd").innerText(), "600 s (10 min)");
    assert.equal(await values.locator("dt[data-key=netToleranceBps] + dd").innerText(), "5 % (500 bps)");
    // the ring's members: a nested table headed in words
    const memberHeads = await values.locator("table.nested th").allInnerTexts();
    assert.ok(memberHeads.includes("e-ID") && memberHeads.includes("Bought") && memberHeads.includes("Net change of gross"), JSON.stringify(memberHeads));
    // the evidence in words
    const evidence = page.locator("[data-testid=evidence-table] [data-testid=event-summary]");
    await evidence.first().waitFor();
    const summaries = await evidence.allInnerTexts();
    assert.ok(summaries.some((s) => /^(buy|sell) 2 GOLD @ 100\.[012]00 ₫, (maker|taker), trade /.test(s)), JSON.stringify(summaries.slice(0, 4)));
    await shoot(page, "alert");

    // the alert list names rules in words, the code kept as a hint
    await page.goto(`${gw.url}/compliance/#/alerts`);
    const row = page.locator(`[data-testid=alert-row][data-alert-id="${ringAlertId}"]`);
    await row.waitFor();
    assert.match(await row.innerText(), /Wash trading ring\s+WASH_RING/);
    assert.deepEqual(errors, []);
  });

  it("events readable at 1280 px (words, raw record on demand), cards at 390 px; an export is confirmed", async () => {
    const { page, errors } = await openPage(`${gw.url}/compliance/#/search?symbol=${SYMBOL}&order=asc&limit=200`);
    await devSignIn(page);
    const rows = page.locator("[data-testid=search-results] [data-testid=event-row]");
    await rows.first().waitFor();
    const byType = async (type: string) => page.locator(`[data-testid=search-results] [data-testid=event-row][data-type="${type}"] [data-testid=event-summary]`).allInnerTexts();
    assert.ok((await byType("order.filled")).every((s) => /^(buy|sell) [12] GOLD @ 100\.[012]00 ₫, (maker|taker), trade \S+, vs 0x/.test(s)), JSON.stringify(await byType("order.filled")));
    assert.ok((await byType("order.cancelled")).some((s) => s.startsWith("cancelled: by the trader")), JSON.stringify(await byType("order.cancelled")));
    const rejected = await byType("order.rejected");
    assert.ok(rejected.length > 0 && rejected.every((s) => s.startsWith("rejected: ") && !/^rejected: [A-Z_]+$/.test(s)), JSON.stringify(rejected));
    // the raw record, one click away
    const first = rows.first();
    const raw = first.locator(".pc-raw pre");
    assert.equal(await raw.isVisible(), false);
    await first.locator(".pc-raw summary").click();
    assert.match(await raw.innerText(), /"symbol": "GOLD-VND"/);
    // export: the file, then the confirmation with its count
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-jsonl").click()]);
    const lines = readFileSync(await download.path(), "utf8").split("\n").filter(Boolean).length;
    const result = page.getByTestId("export-result");
    await result.waitFor();
    assert.equal(await result.getAttribute("data-ok"), "true");
    const bytes = readFileSync(await download.path()).length;
    assert.equal(await result.innerText(), `Exported ${lines.toLocaleString("en-US")} events (file ${download.suggestedFilename()}, ${bytes.toLocaleString("en-US")} bytes).`);
    await shoot(page, "search", async () => {
      assert.equal(await page.evaluate(`getComputedStyle(document.querySelector("[data-testid=search-results] [data-testid=event-row]")).display`), "block", "rows are stacked cards at 390 px");
      assert.equal(await page.locator("[data-testid=search-results] thead").evaluate((h) => h.getBoundingClientRect().height <= 1), true);
    });
    const [csv] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-csv").click()]);
    await page.locator("[data-testid=export-result]", { hasText: csv.suggestedFilename() }).waitFor();
    assert.match(await result.innerText(), new RegExp(`^Exported ${lines.toLocaleString("en-US")} events \\(file sen-audit-.*\\.csv`));
    // a refused export says so
    await page.goto(`${gw.url}/compliance/#/search?symbol=${SYMBOL}&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`);
    await page.getByTestId("search-error").waitFor();
    await page.getByTestId("export-csv").click();
    await page.locator("[data-testid=export-result][data-ok=false]").waitFor();
    assert.match(await result.innerText(), /^Export failed: .*from must be before to/);
    assert.deepEqual(errors, []);
  });

  it("a reload keeps the session (sessionStorage, checked with the gateway); sign-out, a refused token and expiry drop it", async () => {
    const { page, errors, context } = await openPage(`${gw.url}/compliance/#/alerts`);
    await devSignIn(page);
    const stored = JSON.parse((await page.evaluate(`sessionStorage.getItem(${JSON.stringify(SESSION_KEY)})`)) as string) as { token: string; role: string };
    assert.equal(stored.role, "compliance");
    assert.equal(await page.evaluate("localStorage.length"), 0, "nothing in localStorage");
    await page.reload();
    await page.getByTestId("signed-in-as").waitFor();
    assert.equal(await page.getByTestId("connect").count(), 0);
    await page.getByTestId("alerts-table").waitFor();

    // a new tab does not inherit it (sessionStorage is per tab)
    const other = await context.newPage();
    await other.goto(`${gw.url}/compliance/`);
    await other.getByTestId("connect").waitFor();
    await other.close();

    await page.getByTestId("sign-out").click();
    await page.getByTestId("connect").waitFor();
    assert.equal(await page.evaluate(`sessionStorage.getItem(${JSON.stringify(SESSION_KEY)})`), null);
    // Ended at the gateway too, not only forgotten by the page: a copy of the token is worthless.
    await until("the signed-out token refused", async () => (await fetch(`${gw.url}/api/v1/sen/api-keys`, { headers: { authorization: `Bearer ${stored.token}` } })).status === 401);
    await page.reload();
    await page.getByTestId("connect").waitFor();

    // a token the gateway does not know: 401 on the check, dropped, said
    await page.evaluate(`sessionStorage.setItem(${JSON.stringify(SESSION_KEY)}, ${JSON.stringify(JSON.stringify({ ...stored, token: "forged-token", address: officer.address }))})`);
    await page.reload();
    await page.locator("[data-testid=login-notice]", { hasText: "Your session ended" }).waitFor();
    assert.equal(await page.evaluate(`sessionStorage.getItem(${JSON.stringify(SESSION_KEY)})`), null);
    // an expired one is not even tried
    await page.evaluate(`sessionStorage.setItem(${JSON.stringify(SESSION_KEY)}, ${JSON.stringify(JSON.stringify({ ...stored, expiresAt: Date.now() - 1000, address: officer.address }))})`);
    await page.reload();
    await page.getByTestId("connect").waitFor();
    assert.equal(await page.evaluate(`sessionStorage.getItem(${JSON.stringify(SESSION_KEY)})`), null);
    assert.deepEqual(errors, []);
  });

  it("an unknown order or alert is said in compliance words, never a trading message", async () => {
    const { page, errors } = await openPage(`${gw.url}/compliance/#/orders/no-such-order-7`);
    await devSignIn(page);
    const error = page.getByTestId("order-error");
    await error.waitFor();
    assert.equal(await error.innerText(), "No order with id no-such-order-7 in the audit trail");
    await page.goto(`${gw.url}/compliance/#/alerts/WASH_RING-0-0`);
    await page.locator("[role=alert]", { hasText: "No alert with id WASH_RING-0-0" }).waitFor();
    const text = await page.locator("main").innerText();
    for (const m of TRADING_MESSAGES) assert.ok(!text.includes(m), m);
    assert.deepEqual(errors, []);
  });

  it("a pasted development key signs in; without SEN_DEV_SIGNIN there is no development sign-in and no signer", async () => {
    const { page } = await openPage(`${gw.url}/compliance/`);
    await page.getByTestId("dev-key").fill(`0x${Buffer.from(officer.getHdKey().privateKey!).toString("hex")}`);
    await page.getByTestId("dev-key-submit").click();
    await page.getByTestId("signed-in-as").waitFor();
    assert.equal(await page.getByTestId("signed-in-as").getAttribute("title"), officer.address);
    // a trader's key is refused like a trader's wallet
    const trader = await openPage(`${gw.url}/compliance/`);
    await trader.page.getByTestId("dev-key").fill(`0x${Buffer.from(traderA.getHdKey().privateKey!).toString("hex")}`);
    await trader.page.getByTestId("dev-key-submit").click();
    await trader.page.getByTestId("refusal").waitFor();

    const plain = await startTestGateway(chain, { env: { SEN_COMPLIANCE: officer.address.toLowerCase(), SEN_JOURNAL_FSYNC: "none" } });
    try {
      const off = await openPage(`${plain.url}/compliance/`);
      await off.page.getByTestId("connect").waitFor();
      await off.page.waitForLoadState("networkidle");
      assert.equal(await off.page.getByTestId("dev-signin").count(), 0);
      assert.deepEqual(await (await fetch(`${plain.url}/compliance/dev-signin.json`)).json(), { enabled: false });
      assert.equal((await fetch(`${plain.url}/compliance/vendor/ethers.js`)).status, 404);
      assert.deepEqual(off.errors, []);
    } finally {
      await plain.close();
    }
  });
});
