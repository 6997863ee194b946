import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { Hex, LocalAccount } from "viem";
import { DEFAULT_RISK } from "../src/risk/types.ts";
import { injectSigningWallet } from "./support/browserWallet.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { sessionClient, signedClient, type SessionClient } from "./support/httpProbe.ts";
import { until } from "./support/until.ts";

/**
 * The console's operator controls and regulatory reports in Chromium, on the real gateway and
 * chain: an operator halts a market with a reason (a trader's order is refused), resumes it,
 * freezes an account after a confirmation, changes a limit shown in words; every action is in
 * the audit log. A compliance officer downloads a large-value report and an STR draft whose
 * hashes match the audit log's `report.generated`. Neither role sees the other's controls.
 * Screenshots go to a temporary directory, or to docs/screenshots/ with SEN_UPDATE_SCREENSHOTS=1.
 */

const CHROMIUM = "/usr/bin/chromium";
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SHOTS = process.env.SEN_UPDATE_SCREENSHOTS === "1" ? path.join(ROOT, "docs/screenshots") : mkdtempSync(path.join(tmpdir(), "sen-operator-shots-"));
const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
/** Moves the page to another console route in place (the session stays in the page). */
const goHash = (page: Page, hash: string) =>
  page.evaluate((h) => {
    (globalThis as unknown as { location: { hash: string } }).location.hash = h;
  }, hash);

describe("console: operator controls and regulatory reports (Chromium)", { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing`, timeout: 150_000 }, () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  const officer = hardhatAccount(70);
  const operator = hardhatAccount(71);
  const [seller, buyer, ringA, ringB] = [72, 73, 74, 75].map(hardhatAccount);
  let creds: Record<"seller" | "buyer" | "ringA" | "ringB", ApiCredentials>;
  let officerApi: SessionClient;
  let buyerId: Hex;
  let alertId = "";
  let n = 0;
  // The gateway's clock runs ahead to the next noon in Vietnam, so the day's report never
  // straddles Vietnam's midnight (17:00 UTC) whenever the test runs; ahead, not behind, so the
  // sessions it issues have not expired by the browser's clock.
  const realStart = Date.now();
  const VN = 7 * 3_600_000;
  const offset = (((12 * 3_600_000 - ((realStart + VN) % 86_400_000)) % 86_400_000) + 86_400_000) % 86_400_000;
  const now = () => Date.now() + offset;
  const order = async (who: keyof typeof creds, side: "buy" | "sell", size: number, price: number, symbol = "GOLD-VND") =>
    signedClient(gw.url, creds[who], now)("POST", "/api/v1/orders", { clientOid: `op-${++n}`, side, symbol, type: "limit", price: String(price), size: String(size) });
  const todayInVietnam = () => new Date(now() + VN).toISOString().slice(0, 10);

  before(async () => {
    chain = await startChain();
    const risk = structuredClone(DEFAULT_RISK);
    risk.defaults.collarBps = 0;
    gw = await startTestGateway(chain, { risk, now, env: { SEN_COMPLIANCE: officer.address.toLowerCase(), SEN_OPERATORS: operator.address.toLowerCase(), SEN_JOURNAL_FSYNC: "none" } });
    await chain.attest(officer.address, "op-officer");
    await chain.attest(operator.address, "op-operator");
    await chain.attest(seller.address, "op-seller");
    buyerId = (await chain.attest(buyer.address, "op-buyer")).toLowerCase() as Hex;
    // Foreign investors: their ring trades RIVER (reserved for them by the pilot), away from GOLD's price.
    await chain.attest(ringA.address, "op-ring-a", 2, 702);
    await chain.attest(ringB.address, "op-ring-b", 2, 702);
    officerApi = sessionClient(gw.url, (await loginAndCreateKey(gw.url, officer)).token);
    creds = { seller: await loginAndCreateKey(gw.url, seller), buyer: await loginAndCreateKey(gw.url, buyer), ringA: await loginAndCreateKey(gw.url, ringA), ringB: await loginAndCreateKey(gw.url, ringB) };
    const t = gw.ctx.trading;
    await t.deposit(creds.seller.accountId, "GOLD", 100n, "op-dep-s");
    await t.deposit(creds.buyer.accountId, "VND", 900_000_000n, "op-dep-b");
    await t.deposit(creds.ringA.accountId, "VND", 10_000_000n, "op-dep-ra");
    await t.deposit(creds.ringB.accountId, "VND", 10_000_000n, "op-dep-rb");
    await t.deposit(creds.ringB.accountId, "RIVER", 5n, "op-dep-rb2");
    // The buyer: 900M deposited and 2 GOLD bought for 200M today (a large-value customer).
    assert.equal((await order("seller", "sell", 2, 100_000_000)).code, "200000");
    assert.equal((await order("buyer", "buy", 2, 100_000_000)).code, "200000");
    // A wash-trading ring for the STR draft.
    for (let i = 0; i < 3; i++) {
      for (const [who, side] of [["ringB", "sell"], ["ringA", "buy"], ["ringA", "sell"], ["ringB", "buy"]] as const) assert.equal((await order(who, side, 1, 100_000, "RIVER-VND")).code, "200000");
    }
    alertId = await until("the WASH_RING alert", async () => {
      const r = await officerApi("GET", "/api/v1/compliance/alerts?rule=WASH_RING");
      return (r.data?.items as Array<{ alertId: string }> | undefined)?.[0]?.alertId;
    });
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await gw?.close();
    await chain?.close();
  });

  /** A signed-in console for `account` (an EIP-1193 wallet signing with its key); collects page errors. */
  async function openConsole(account: LocalAccount, width = 1280): Promise<{ page: Page; errors: string[] }> {
    if (!browser) {
      const { chromium } = await import("playwright-core");
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
    }
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("console", (m) => {
      // A refused API call shows in the page; the browser also logs the HTTP status.
      if (m.type() === "error" && !/the server responded with a status of 4\d\d/.test(m.text())) errors.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => errors.push(`page: ${e.message}`));
    await injectSigningWallet(page, account);
    await page.goto(`${gw.url}/compliance/`);
    await page.getByTestId("connect").click();
    return { page, errors };
  }

  async function auditEvents(types: string): Promise<Array<{ type: string; reason?: string; actor?: string; account?: string; detail?: Record<string, unknown> }>> {
    await gw.ctx.audit.flush();
    const r = await officerApi("GET", `/api/v1/compliance/events?type=${types}&limit=100`);
    assert.equal(r.code, "200000", r.msg);
    return r.data.items;
  }

  it("an operator halts a market with a reason (a trader's order is refused), resumes it, freezes an account after a confirmation and changes a limit in words; each action is in the audit log", async () => {
    // Custody the token's agent took from an account that had nothing left here: owed, listed for the operator.
    const owing = "0x00000000000000000000000000000000000000e5";
    assert.ok(await gw.ctx.trading.debitCustody({ accountId: owing, currency: "GOLD", amount: 4n, ref: `vault:0xVault:0x${"cd".repeat(32)}:0`, kind: "seized", to: "0x00000000000000000000000000000000000000e6", txHash: `0x${"cd".repeat(32)}` }));
    const { page, errors } = await openConsole(operator);
    const view = page.getByTestId("operator-view");
    await view.locator("[data-testid=op-market]").first().waitFor();
    assert.equal(await page.locator(`[data-testid=op-owed][data-account="${owing}"][data-currency=GOLD]`).getByTestId("op-owed-amount").innerText(), "4 GOLD");
    assert.equal(await page.getByTestId("nav-reports").count(), 0, "no reports for an operator");
    assert.equal(await page.getByTestId("nav-search").count(), 0);

    // halt: a reason is required
    const gold = page.locator("[data-testid=op-market][data-symbol=GOLD-VND]");
    await gold.getByTestId("op-market-action").click();
    await gold.getByTestId("op-market-confirm").click();
    assert.match(await page.getByTestId("op-market-result").innerText(), /Give a reason to halt GOLD-VND/);
    await page.locator("#op-reason-GOLD-VND").fill("Issuer announcement pending");
    await gold.getByTestId("op-market-confirm").click();
    await page.locator("[data-testid=op-market][data-symbol=GOLD-VND][data-halted=true]").waitFor();
    assert.match(await page.getByTestId("op-market-result").innerText(), /GOLD-VND halted: new orders are refused/);
    assert.equal(await gold.getByTestId("op-halt-reason").innerText(), "Issuer announcement pending");
    const refused = await order("buyer", "buy", 1, 100_000_000);
    assert.equal(refused.senCode, "RISK_SYMBOL_HALTED", JSON.stringify(refused));
    assert.match(refused.msg ?? "", /Issuer announcement pending/);

    // resume
    await gold.getByTestId("op-market-action").click();
    await page.locator("#op-reason-GOLD-VND").fill("Announcement published");
    await gold.getByTestId("op-market-confirm").click();
    await page.locator("[data-testid=op-market][data-symbol=GOLD-VND][data-halted=false]").waitFor();
    assert.match(await page.getByTestId("op-market-result").innerText(), /GOLD-VND resumed/);
    const resting = await order("seller", "sell", 1, 150_000_000);
    assert.equal(resting.code, "200000", "accepted again after the resume");

    // the vault refuses the day's trade (journaled as the chain services would); the view shows it after the next action
    const tradeId = gw.ctx.trading.core.fills(creds.buyer.accountId)[0].tradeId;
    await gw.ctx.trading.settlementFailed(tradeId, "IdentityExpired(buyer)");

    // kill switch: review, the confirmation says what it does, then freeze
    await page.getByTestId("op-kill-account").fill(seller.address);
    await page.getByTestId("op-kill-reason").fill("Compromised API key reported");
    await page.getByTestId("op-kill-review").click();
    const confirm = page.getByTestId("op-kill-confirm");
    await confirm.waitFor();
    assert.match(await confirm.innerText(), /Cancels every open order and waiting stop order of this account/);
    assert.match(await confirm.innerText(), /Compromised API key reported/);
    await page.getByTestId("op-kill-confirm-button").click();
    await page.getByTestId("op-kill-result").waitFor();
    assert.match(await page.getByTestId("op-kill-result").innerText(), new RegExp(`${creds.seller.accountId} is frozen: 1 open order cancelled`));
    await page.locator(`[data-testid=op-frozen][data-account="${creds.seller.accountId}"]`).waitFor();
    assert.equal((await order("seller", "sell", 1, 150_000_000)).senCode, "RISK_ACCOUNT_FROZEN");

    // a risk limit in words: the collar of GOLD-VND from off to 2.5 %
    assert.match(await page.getByTestId("op-limits-defaults").innerText(), /Price collar\s+off/);
    assert.match(await page.getByTestId("op-limits-defaults").innerText(), /Largest order value\s+100\.000\.000\.000 ₫/);
    await page.getByTestId("op-lim-scope").selectOption("symbol");
    await page.getByTestId("op-lim-symbol").selectOption("GOLD-VND");
    await page.getByTestId("op-lim-collar").fill("2.5");
    await page.getByTestId("op-lim-save").click();
    assert.match(await page.getByTestId("op-lim-result").innerText(), /Give a reason/);
    await page.getByTestId("op-lim-reason").fill("Tighter band after the halt");
    await page.getByTestId("op-lim-save").click();
    await page.getByTestId("op-limits-symbol").waitFor();
    assert.match(await page.getByTestId("op-lim-result").innerText(), /Limits changed for GOLD-VND\. Price collar: off → 2\.5 % from the reference price/);
    assert.match(await page.getByTestId("op-limits-symbol").innerText(), /GOLD-VND \(market override\)\s+Price collar\s+2\.5 % from the reference price/);
    assert.equal(gw.ctx.trading.risk.symbols["GOLD-VND"]?.collarBps, 250);
    const text = await view.innerText();
    for (const code of ["collarBps", "maxOrderValue", "maxOrderQty", "keyRate", "accountRate"]) assert.ok(!text.includes(code), `${code} shown`);
    // a bad value is explained, not sent
    await page.getByTestId("op-lim-collar").fill("12.345");
    await page.getByTestId("op-lim-reason").fill("typo");
    await page.getByTestId("op-lim-save").click();
    assert.match(await page.getByTestId("op-lim-result").innerText(), /Price collar: a percentage between 0 and 100 with at most two decimals/);
    await page.getByTestId("op-lim-collar").fill("2.5");

    await page.setViewportSize({ width: 1280, height: 900 });
    await page.screenshot({ path: path.join(SHOTS, "console-operator-1280.png"), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(SHOTS, "console-operator-390.png"), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });

    // the failed settlement: a note is required, then reverse
    const failed = page.locator(`[data-testid=op-settlement][data-trade-id="${tradeId}"]`);
    assert.match(await failed.innerText(), /IdentityExpired\(buyer\)/);
    await failed.getByTestId("op-settle-reverse").click();
    assert.match(await page.getByTestId("op-settle-result").innerText(), /Write a note before you reverse/);
    await failed.getByTestId("op-settle-note").fill("Buyer's e-ID expired; both sides agreed to unwind");
    await failed.getByTestId("op-settle-reverse").click();
    await page.getByTestId("op-settle-empty").waitFor();
    assert.match(await page.getByTestId("op-settle-result").innerText(), new RegExp(`Trade ${tradeId} is reversed on the ledger`));

    // unfreeze, with a reason
    const row = page.locator(`[data-testid=op-frozen][data-account="${creds.seller.accountId}"]`);
    await row.getByTestId("op-unfreeze-reason").fill("Key rotated by the customer");
    await row.getByTestId("op-unfreeze").click();
    await page.getByTestId("op-frozen-empty").waitFor();
    assert.match(await page.getByTestId("op-kill-result").innerText(), /is unfrozen/);

    // the operator cannot open the reports: the app keeps showing the operator's controls
    await goHash(page, "#/reports");
    await view.waitFor();
    assert.equal(await page.getByTestId("reports-view").count(), 0);

    // every action is on record with its reason and the operator as actor
    const events = await auditEvents("market.halted,market.resumed,killSwitch,risk.limitsChanged,settlement.resolved");
    const seen = events.map((e) => `${e.type}|${e.reason}|${e.actor}`);
    const op = operator.address.toLowerCase();
    for (const s of [
      `market.halted|Issuer announcement pending|${op}`,
      `market.resumed|Announcement published|${op}`,
      `killSwitch|Compromised API key reported|${op}`,
      `killSwitch|Key rotated by the customer|${op}`,
      `risk.limitsChanged|Tighter band after the halt|${op}`,
    ]) assert.ok(seen.includes(s), `${s} in ${JSON.stringify(seen)}`);
    const resolved = events.find((e) => e.type === "settlement.resolved")!;
    assert.deepEqual([resolved.actor, resolved.detail?.action, resolved.detail?.note], [op, "reverse", "Buyer's e-ID expired; both sides agreed to unwind"]);
    const limits = events.find((e) => e.type === "risk.limitsChanged")!;
    assert.deepEqual(limits.detail, { scope: "symbol", key: "GOLD-VND", limits: { collarBps: 250 } });
    assert.deepEqual(errors, []);
  });

  it("a compliance officer previews and downloads the large-value report and an STR draft; the files' hashes are the audit log's; no operator controls", async () => {
    const { page, errors } = await openConsole(officer);
    await page.getByTestId("nav-reports").click();
    await page.getByTestId("reports-view").waitFor();
    assert.equal(await page.getByTestId("nav-operator").count(), 0);

    const day = todayInVietnam();
    await page.getByTestId("rep-date").fill(day);
    await page.getByTestId("rep-preview").click();
    const result = page.getByTestId("rep-lv-result");
    await result.waitFor();
    const customer = page.locator(`[data-testid=rep-customer][data-identity="${buyerId}"]`);
    await customer.waitFor();
    assert.equal(await customer.getByTestId("rep-total").innerText(), "1.100.000.000 ₫");
    assert.match(await customer.innerText(), /KYC level 2 · country 704 · professional/);
    assert.match(await page.getByTestId("rep-rows").innerText(), /Deposit\s+900\.000\.000 ₫/);
    const previewHash = await page.getByTestId("rep-hash").innerText();

    const [csvDl] = await Promise.all([page.waitForEvent("download"), page.getByTestId("rep-csv").click()]);
    assert.equal(csvDl.suggestedFilename(), `sen-large-value-${day}.csv`);
    const csv = readFileSync(await csvDl.path());
    assert.match(csv.toString("utf8"), /^reportingEntity,reportDate,identityHash,/);
    assert.match(await page.getByTestId("rep-saved").innerText(), new RegExp(`SHA-256 ${sha256(csv)}`));
    const [jsonDl] = await Promise.all([page.waitForEvent("download"), page.getByTestId("rep-json").click()]);
    const json = readFileSync(await jsonDl.path());
    assert.equal(sha256(json), previewHash, "the JSON file is the previewed report");
    assert.equal(JSON.parse(json.toString("utf8")).reportDate, day);

    await page.setViewportSize({ width: 1280, height: 900 });
    await page.screenshot({ path: path.join(SHOTS, "console-reports-1280.png"), fullPage: true });

    // STR draft: from the alert's page
    await goHash(page, `#/alerts/${encodeURIComponent(alertId)}`);
    await page.getByTestId("draft-str").click();
    assert.equal(await page.getByTestId("rep-alert").inputValue(), alertId);
    await page.getByTestId("rep-narrative").fill("Two customers traded RIVER back and forth and ended where they started.");
    await page.getByTestId("rep-str-make").click();
    const draft = page.getByTestId("rep-str-draft");
    await draft.waitFor();
    assert.match(await page.getByTestId("rep-str-status").innerText(), /^DRAFT — not sent/);
    assert.match(await page.getByTestId("rep-str-rule").innerText(), /^Wash trading ring/);
    assert.match(await page.getByTestId("rep-str-summary").innerText(), /^6 trades worth 600\.000 ₫/);
    const [strDl] = await Promise.all([page.waitForEvent("download"), page.getByTestId("rep-str-csv").click()]);
    const strCsv = readFileSync(await strDl.path());
    assert.match(strCsv.toString("utf8"), /^field,value\nstatus,"DRAFT/);
    assert.match(strCsv.toString("utf8"), /\nnarrative,Two customers traded RIVER back and forth/);

    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByTestId("rep-date").fill(day);
    await page.getByTestId("rep-preview").click();
    await page.locator("[data-testid=rep-lv-result][data-customers='1']").waitFor();
    await result.waitFor();
    await page.screenshot({ path: path.join(SHOTS, "console-reports-390.png"), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });

    // the three files are on record, by the officer, with their hashes
    const reports = await auditEvents("report.generated");
    const hashes = reports.filter((e) => e.actor === officer.address.toLowerCase()).map((e) => (e.detail as { sha256: string }).sha256);
    for (const h of [sha256(csv), previewHash, sha256(strCsv)]) assert.ok(hashes.includes(h), `${h} on record`);

    // no operator controls for an officer
    await goHash(page, "#/operator");
    await page.getByTestId("operator-only").waitFor();
    assert.equal(await page.getByTestId("operator-view").count(), 0);
    assert.deepEqual(errors, []);
  });
});
