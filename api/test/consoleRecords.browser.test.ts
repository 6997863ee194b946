import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { Hex, LocalAccount } from "viem";
import type { ChainServices } from "../src/chain/chainServices.ts";
import { injectSigningWallet } from "./support/browserWallet.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestChainServices, startTestGateway, type GatewayFixture } from "./support/gatewayFixture.ts";
import { sessionClient, siweLogin, type SessionClient } from "./support/httpProbe.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { until } from "./support/until.ts";

/**
 * The console's past order book, e-ID attributes and settlement failure queue in Chromium, on
 * the real gateway and chain: an officer steps a book back and forward from an order's
 * lifecycle and reloads it; reads an e-ID's attributes from the registry, then sees its
 * revocation; sees a trade the vault refused (the buyer's e-ID revoked between match and
 * settlement) wait in the queue, then its reversal by an operator through the API.
 * Screenshots go to a temporary directory, or to docs/screenshots/ with SEN_UPDATE_SCREENSHOTS=1.
 */

const CHROMIUM = "/usr/bin/chromium";
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SHOTS = process.env.SEN_UPDATE_SCREENSHOTS === "1" ? path.join(ROOT, "docs/screenshots") : mkdtempSync(path.join(tmpdir(), "sen-records-shots-"));
const SYMBOL = "GOLD-VND";

describe("console: past books, e-ID attributes, settlement queue (Chromium)", { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing`, timeout: 120_000 }, () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let services: ChainServices;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  const acct = { officer: hardhatAccount(40), operator: hardhatAccount(41), seller: hardhatAccount(11), buyer: hardhatAccount(16) };
  let operator: SessionClient;
  let buyerId: Hex;
  let buyOrderId = "";
  /** s1 ask 5 @ 10000, s2 ask 3 @ 10100, s3 a buy of 2 (trade), s4 a buy of 1 (trade), s5 the seller's bid 1 @ 9900 (from its proceeds). */
  const s = { s1: 0n, s2: 0n, s3: 0n, s4: 0n, s5: 0n };

  before(async () => {
    chain = await startChain();
    gw = await startTestGateway(chain, {
      env: { SEN_COMPLIANCE: acct.officer.address.toLowerCase(), SEN_OPERATORS: acct.operator.address.toLowerCase(), SEN_JOURNAL_FSYNC: "none", SEN_AUDIT_CHECKPOINT_MS: "3600000" },
    });
    // Batches wait for flushAll(), so a revocation can land between match and settlement.
    services = await startTestChainServices(chain, gw.ctx, { settlement: { maxDelayMs: 3_600_000 } });
    await chain.attest(acct.officer.address, "rec-officer");
    await chain.attest(acct.operator.address, "rec-operator");
    await chain.attest(acct.seller.address, "rec-seller");
    buyerId = (await chain.attest(acct.buyer.address, "rec-buyer")).toLowerCase() as Hex;
    await chain.fundAndDeposit(11, { gold: 100n });
    await chain.fundAndDeposit(16, { vnd: 10_000_000n });
    await services.poll();
    await until("deposits credited", () => gw.ctx.trading.core.ledger.balance(acct.buyer.address.toLowerCase(), "VND").available === 10_000_000n);
    operator = sessionClient(gw.url, (await siweLogin(gw.url, acct.operator)).data.token);
    const ks = kucoinClient(() => gw.url, await loginAndCreateKey(gw.url, acct.seller));
    const kb = kucoinClient(() => gw.url, await loginAndCreateKey(gw.url, acct.buyer));
    let n = 0;
    const place = async (k: typeof ks, side: "buy" | "sell", price: string, size: string) => {
      const r = await k<{ orderId: string }>("POST", "/api/v1/orders", { clientOid: `rec-${++n}`, side, symbol: SYMBOL, type: "limit", price, size });
      assert.equal(r.code, "200000", JSON.stringify(r));
      await gw.ctx.audit.flush();
      const accepted = await gw.ctx.audit.index.query({ orderId: r.data.orderId, types: ["order.accepted"], limit: 1, order: "asc" });
      return { orderId: r.data.orderId, jseq: BigInt(accepted.items[0].jseq!) };
    };
    s.s1 = (await place(ks, "sell", "10000", "5")).jseq;
    s.s2 = (await place(ks, "sell", "10100", "3")).jseq;
    const buy = await place(kb, "buy", "10000", "2");
    s.s3 = buy.jseq;
    buyOrderId = buy.orderId;
    s.s4 = (await place(kb, "buy", "10000", "1")).jseq;
    s.s5 = (await place(ks, "buy", "9900", "1")).jseq;
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await services?.stop();
    await gw?.close();
    await chain?.close();
  });

  /** A signed-in console for `account` (an EIP-1193 wallet signing with its key); collects page errors. */
  async function openConsole(account: LocalAccount, width = 1280): Promise<{ page: Page; errors: string[] }> {
    if (!browser) {
      const { chromium } = await import("playwright-core");
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
    }
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" && !/the server responded with a status of 4\d\d/.test(m.text())) errors.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => errors.push(`page: ${e.message}`));
    await injectSigningWallet(page, account);
    await page.goto(`${gw.url}/compliance/`);
    await signInIfAsked(page);
    return { page, errors };
  }

  /** After a reload the console may keep the session or ask again: either way the officer ends up signed in. */
  async function signInIfAsked(page: Page): Promise<void> {
    const connect = page.getByTestId("connect");
    const shell = page.getByTestId("sign-out");
    await connect.or(shell).first().waitFor();
    if (await connect.isVisible()) await connect.click();
    await shell.waitFor();
  }

  /** Moves the signed-in page to a console route (no reload). */
  const goTo = (page: Page, hash: string) => page.evaluate(`location.hash = ${JSON.stringify(hash)}`);

  /** The ladder as [side, price, size] rows, top (highest ask) to bottom (lowest bid). */
  const ladder = (page: Page) =>
    page.locator("[data-testid=book-level]").evaluateAll((rows) => rows.map((r) => [r.getAttribute("data-side"), r.getAttribute("data-price"), r.getAttribute("data-size")]));
  const shownSeq = async (page: Page, seq: bigint) => {
    await page.locator(`[data-testid=book-state][data-seq="${seq}"]`).waitFor();
  };

  it("steps a past book back and forward from an order's lifecycle; the URL keeps it across a reload", async () => {
    const { page, errors } = await openConsole(acct.officer);
    await goTo(page, `#/orders/${buyOrderId}`);
    const link = page.locator(`[data-testid=book-at-event][data-jseq="${s.s3}"]`).first();
    await link.waitFor();
    await link.click();
    await shownSeq(page, s.s3);
    assert.deepEqual(await ladder(page), [["ask", "10100", "3"], ["ask", "10000", "3"]]);
    assert.match(page.url(), new RegExp(`#/books/${SYMBOL}\\?seq=${s.s3}$`));

    // Back: the state before the trade (both asks whole).
    await page.getByTestId("book-back").click();
    await shownSeq(page, s.s2);
    assert.deepEqual(await ladder(page), [["ask", "10100", "3"], ["ask", "10000", "5"]]);
    await page.getByTestId("book-back").click();
    await shownSeq(page, s.s1);
    assert.deepEqual(await ladder(page), [["ask", "10000", "5"]]);
    // Before the first ask: the empty book, the first state.
    await page.getByTestId("book-back").click();
    await shownSeq(page, s.s1 - 1n);
    assert.deepEqual(await ladder(page), []);
    assert.equal(await page.getByTestId("book-back").isDisabled(), true);
    assert.match(await page.getByTestId("book-edge").innerText(), /first state/);

    // Forward through both trades to the seller's bid: the latest state.
    for (const seq of [s.s1, s.s2, s.s3, s.s4, s.s5]) {
      await page.getByTestId("book-forward").click();
      await shownSeq(page, seq);
    }
    const latest = [["ask", "10100", "3"], ["ask", "10000", "2"], ["bid", "9900", "1"]];
    assert.deepEqual(await ladder(page), latest);
    assert.equal(await page.getByTestId("book-forward").isDisabled(), true);
    assert.match(await page.getByTestId("book-edge").innerText(), /latest state/);
    await page.screenshot({ path: path.join(SHOTS, "console-book-1280.png"), fullPage: true });

    // The browser's back button walks the same steps (each step is a URL).
    await page.goBack();
    await shownSeq(page, s.s4);

    // A reload shows the same book.
    await page.reload();
    await signInIfAsked(page);
    await shownSeq(page, s.s4);
    assert.deepEqual(await ladder(page), [["ask", "10100", "3"], ["ask", "10000", "2"]]);

    // The form: depth 1 hides the ask behind the best, and steps follow what is shown.
    await goTo(page, `#/books/${SYMBOL}?seq=${s.s3}&depth=20`);
    await shownSeq(page, s.s3);
    await page.getByTestId("book-depth").fill("1");
    await page.getByTestId("book-show").click();
    await page.locator(`[data-testid=book-state][data-seq="${s.s3}"][data-prev="${s.s1}"]`).waitFor();
    assert.deepEqual(await ladder(page), [["ask", "10000", "3"]]);
    // By time: "Now" is the latest book.
    await page.getByTestId("book-depth").fill("20");
    await page.getByTestId("book-now").click();
    await page.getByTestId("book-show").click();
    await page.locator("[data-testid=book-state][data-next='']").waitFor();
    assert.match(decodeURIComponent(page.url()), /time=\d{4}-\d\d-\d\dT[\d:.]+Z/);
    assert.deepEqual(await ladder(page), latest);

    await goTo(page, `#/books/${SYMBOL}?seq=${s.s5}&depth=20`);
    await shownSeq(page, s.s5);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(SHOTS, "console-book-390.png"), fullPage: true });
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
    assert.ok(overflow <= 0, `no sideways scrolling at 390 px (${overflow} px)`);
    assert.deepEqual(errors, []);
  });

  it("shows an e-ID's attributes as the registry holds them, in words, and its revocation", async () => {
    const { page, errors } = await openConsole(acct.officer);
    await goTo(page, `#/identities/${buyerId}`);
    const attrs = page.getByTestId("idattr");
    await attrs.and(page.locator("[data-verified=true]")).waitFor();
    const onChain = await chain.registry.read.identity([buyerId]);
    assert.equal(await page.getByTestId("idattr-status").innerText(), "Verified");
    assert.equal(await page.getByTestId("idattr-kyc").getAttribute("data-level"), String(onChain.kycLevel));
    assert.equal(await page.getByTestId("idattr-kyc").innerText(), "Level 2 (full e-ID)");
    assert.equal(await page.getByTestId("idattr-country").innerText(), "Vietnam (VN · ISO 704)");
    assert.equal(await page.getByTestId("idattr-investor").innerText(), "Professional investor");
    assert.equal(await page.getByTestId("idattr-expired").count(), 0);
    assert.match(await page.getByTestId("idattr-expiry").innerText(), new RegExp(new Date(Number(onChain.expiresAt) * 1000).toISOString().slice(0, 10)));
    assert.equal((await page.getByTestId("idattr-issuer").innerText()).toLowerCase(), onChain.issuer.toLowerCase());
    const wallets = await page.locator("[data-testid=idattr-wallets] [data-wallet]").evaluateAll((as) => as.map((a) => a.getAttribute("data-wallet")));
    assert.deepEqual(wallets, [acct.buyer.address.toLowerCase()]);
    assert.equal(await page.getByTestId("idattr-revoked").innerText(), "No");
    // The activity below it is still there.
    await page.getByTestId("identity-table").waitFor();

    // The issuer revokes the e-ID on chain: read again, it shows.
    await chain.revoke(buyerId);
    await page.getByTestId("idattr-reload").click();
    await attrs.and(page.locator("[data-revoked=true]")).waitFor();
    assert.equal(await page.getByTestId("idattr-status").innerText(), "Not verified: revoked");
    assert.match(await page.getByTestId("idattr-revoked").innerText(), /^revoked/);

    await page.screenshot({ path: path.join(SHOTS, "console-identity-1280.png"), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(SHOTS, "console-identity-390.png"), fullPage: true });
    assert.deepEqual(errors, []);
  });

  it("shows the trades the vault refused waiting, then an operator's reversal with who, when and the note", async () => {
    // The buyer's e-ID was revoked after both its trades: the vault refuses them.
    await services.batcher.flushAll();
    const failed = await until("two failed settlements", () => {
      const f = [...gw.ctx.trading.core.failedSettlements()];
      return f.length === 2 && f;
    });
    const { page, errors } = await openConsole(acct.officer);
    await page.getByTestId("nav-settlements").click();
    const rows = page.locator("[data-testid=squeue-open-row]");
    await rows.nth(1).waitFor();
    assert.deepEqual((await rows.evaluateAll((rs) => rs.map((r) => r.getAttribute("data-trade-id")))).sort(), failed.map((f) => f.tradeId).sort());
    const first = rows.first();
    assert.match(await first.getByTestId("squeue-reason").innerText(), /e-ID no longer verifies|token refuses/);
    assert.ok((await first.locator("[data-testid=identity-link]").evaluateAll((as) => as.map((a) => a.getAttribute("title")))).includes(buyerId));
    assert.match(await first.getByTestId("squeue-age").innerText(), /^\d+ (s|min)/);
    assert.equal(await page.getByTestId("squeue-resolved-empty").count(), 1);
    // Compliance sees; acting is the operators' (no action buttons here).
    assert.equal(await page.locator("[data-testid=settlement-queue] button", { hasText: /retry|reverse/i }).count(), 0);

    // An operator reverses one of them through the API.
    await until("the revoked buyer frozen", () => gw.ctx.trading.core.isFrozen(acct.buyer.address.toLowerCase()) !== undefined);
    const reversed = failed[0].tradeId;
    const r = await operator("POST", `/api/v1/sen/operator/settlements/${reversed}/reverse`, { note: "Buyer's e-ID revoked after the match; undone on the ledger." });
    assert.equal(r.code, "200000", JSON.stringify(r));
    await page.getByTestId("squeue-refresh").click();
    const done = page.locator(`[data-testid=squeue-resolved-row][data-trade-id="${reversed}"]`);
    await done.waitFor();
    assert.equal(await done.getAttribute("data-action"), "reverse");
    assert.equal(await done.getByTestId("squeue-note").innerText(), "Buyer's e-ID revoked after the match; undone on the ledger.");
    assert.equal((await done.getByTestId("squeue-by").getAttribute("title"))?.toLowerCase(), acct.operator.address.toLowerCase());
    await until("one left waiting", async () => (await rows.count()) === 1);
    assert.equal(await rows.first().getAttribute("data-trade-id"), failed[1].tradeId);

    await page.screenshot({ path: path.join(SHOTS, "console-settlements-1280.png"), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(SHOTS, "console-settlements-390.png"), fullPage: true });
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
    assert.ok(overflow <= 0, `no sideways scrolling at 390 px (${overflow} px)`);
    assert.deepEqual(errors, []);
  });
});
