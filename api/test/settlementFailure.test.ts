import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { getAddress, type Address } from "viem";
import type { ChainServices } from "../src/chain/chainServices.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type ApiCredentials, type GatewayFixture, startTestChainServices } from "./support/gatewayFixture.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { until } from "./support/until.ts";
import { ledgerHouseBooks, settledOnChain, vaultBooks, vaultHouseBooks } from "./support/vaultBooks.ts";

const SYMBOL = "GOLD-VND";
type Client = ReturnType<typeof kucoinClient>;
type FillRow = { tradeId: string; settlementStatus: string; settlementError: string | null; settlementTxHash: string | null };

/**
 * A trade the vault refuses (the buyer's e-ID revoked between match and settlement) must not
 * halt settlement: the other trades settle, the refused one waits in a journaled "failed"
 * state that the trader, operators and compliance see, and an operator resolves it — retry
 * once the identity is restored, or reverse it on the ledger — with ledger = vault books.
 */
describe("settlement failures are isolated, recorded and resolvable", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let services: ChainServices;
  let dataDir: string;
  let seller: ApiCredentials;
  let other: ApiCredentials;
  let operator: ApiCredentials;
  let ks: Client;
  let ko: Client;
  let kop: Client;
  let buyerIds: Record<"buyer" | "buyer2", `0x${string}`>;
  let oid = 0;
  // #12 is the vault's tax account.
  const accounts = { seller: hardhatAccount(11), buyer: hardhatAccount(16), other: hardhatAccount(13), operator: hardhatAccount(14), buyer2: hardhatAccount(15) };
  const wallets = (): Address[] => [accounts.seller.address, accounts.buyer.address, accounts.other.address, accounts.buyer2.address];

  async function startServices(): Promise<void> {
    // Batches wait for flushAll(), so a revocation can land between match and settlement.
    services = await startTestChainServices(chain, gw.ctx, { settlement: { maxDelayMs: 3_600_000 } });
  }

  async function startGateway(): Promise<void> {
    gw = await startTestGateway(chain, { dataDir, env: { SEN_OPERATORS: accounts.operator.address.toLowerCase(), SEN_AUDIT_CHECKPOINT_MS: "3600000" } });
    await startServices();
  }

  /** The gateway's ledger (available + held) per wallet and currency, keyed like vaultBooks. A revoked trader's API keys are disabled, so it is read from the core. */
  function ledger(): Record<string, bigint> {
    const books: Record<string, bigint> = {};
    for (const w of wallets()) {
      for (const c of ["VND", "GOLD", "RIVER"]) {
        const b = gw.ctx.trading.core.ledger.balance(w.toLowerCase(), c);
        books[`${getAddress(w)} ${c}`] = b.available + b.hold;
      }
    }
    return books;
  }

  async function order(k: Client, side: "buy" | "sell", size: number): Promise<string> {
    const r = await k("POST", "/api/v1/orders", { clientOid: `sf-${++oid}`, side, symbol: SYMBOL, type: "limit", price: "10000", size: String(size) });
    assert.equal(r.code, "200000", JSON.stringify(r));
    return (r.data as { orderId: string }).orderId;
  }

  async function fillOf(k: Client, orderId: string): Promise<FillRow> {
    const r = await k<{ items: FillRow[] }>("GET", `/api/v1/fills?orderId=${orderId}`);
    assert.equal(r.code, "200000", JSON.stringify(r));
    assert.equal(r.data.items.length, 1, `one fill for ${orderId}`);
    return r.data.items[0];
  }

  async function failedList(): Promise<Array<{ tradeId: string; reason: string; buyer: string; seller: string; size: string }>> {
    const r = await kop<{ items: Array<{ tradeId: string; reason: string; buyer: string; seller: string; size: string }> }>("GET", "/api/v1/sen/operator/settlements/failed");
    assert.equal(r.code, "200000", JSON.stringify(r));
    return r.data.items;
  }

  async function booksAgree(): Promise<void> {
    assert.deepEqual(ledger(), await vaultBooks(chain, wallets()), "ledger = vault books");
    assert.deepEqual(ledgerHouseBooks(gw.ctx.trading.core), await vaultHouseBooks(chain), "fees and tax: ledger = vault books");
  }

  /** A seller's trade with `who` and one with `other`, then `who`'s e-ID revoked on chain before they settle. */
  async function tradeThenRevoke(who: "buyer" | "buyer2"): Promise<{ toOther: string }> {
    const kb = kucoinClient(() => gw.url, await loginAndCreateKey(gw.url, accounts[who]));
    await order(ks, "sell", 5);
    await order(kb, "buy", 2);
    const toOther = await order(ko, "buy", 3);
    await chain.revoke(buyerIds[who]);
    return { toOther };
  }

  before(async () => {
    chain = await startChain();
    dataDir = mkdtempSync(path.join(tmpdir(), "sen-settle-fail-"));
    buyerIds = { buyer: await chain.attest(accounts.buyer.address, "sf-buyer"), buyer2: await chain.attest(accounts.buyer2.address, "sf-buyer2") };
    await chain.attest(accounts.seller.address, "sf-seller");
    await chain.attest(accounts.other.address, "sf-other");
    await chain.attest(accounts.operator.address, "sf-operator");
    await chain.fundAndDeposit(11, { gold: 100n });
    await chain.fundAndDeposit(16, { vnd: 10_000_000n });
    await chain.fundAndDeposit(15, { vnd: 10_000_000n });
    await chain.fundAndDeposit(13, { vnd: 10_000_000n });
    await startGateway();
    seller = await loginAndCreateKey(gw.url, accounts.seller, ["General", "Trade", "Withdraw"]);
    other = await loginAndCreateKey(gw.url, accounts.other, ["General", "Trade", "Withdraw"]);
    operator = await loginAndCreateKey(gw.url, accounts.operator);
    ks = kucoinClient(() => gw.url, seller);
    ko = kucoinClient(() => gw.url, other);
    kop = kucoinClient(() => gw.url, operator);
    await services.poll();
    await until("deposits credited", async () => ledger()[`${getAddress(accounts.buyer2.address)} VND`] === 10_000_000n);
  });
  after(async () => {
    await services?.stop();
    await gw?.close();
    await chain?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("a revocation after the match fails that trade alone; the rest settle; a retry after restoring the e-ID settles it", async () => {
    const { toOther } = await tradeThenRevoke("buyer");
    const before = await settledOnChain(chain);
    await services.batcher.flushAll();

    // The other buyer's trade settled; the revoked buyer's did not, and it is out of the queue.
    const otherFill = await fillOf(ko, toOther);
    assert.equal(otherFill.settlementStatus, "settled");
    const onChain = await settledOnChain(chain);
    assert.deepEqual(onChain.slice(before.length).map((t) => t.tradeId), [otherFill.tradeId]);
    assert.equal(gw.ctx.trading.core.unsettledCount(), 0, "nothing left blocking the queue");

    const failed = await failedList();
    assert.equal(failed.length, 1);
    const failedTradeId = failed[0].tradeId;
    assert.equal(failed[0].buyer, accounts.buyer.address.toLowerCase());
    assert.equal(failed[0].size, "2");
    assert.match(failed[0].reason, /^(SettlementNotVerified|ERC7943CannotReceive|ERC7943CannotTransfer|SettlementTradeFailed)\(/, failed[0].reason);
    // The seller sees it on its fill (the revoked buyer's keys were disabled by the identity sweep).
    const sellerFills = (await ks<{ items: FillRow[] }>("GET", `/api/v1/fills?symbol=${SYMBOL}`)).data.items;
    const sellerSide = sellerFills.find((f) => f.tradeId === failedTradeId)!;
    assert.equal(sellerSide.settlementStatus, "failed");
    assert.equal(sellerSide.settlementError, failed[0].reason);
    // Compliance: on the audit trail, and raised as an alert.
    await gw.ctx.audit.flush();
    const events = await gw.ctx.audit.index.query({ types: ["settlement.failed"], limit: 10, order: "asc" });
    assert.equal(events.items.length, 1);
    assert.equal(events.items[0].tradeId, failedTradeId);
    await until("alert raised", async () => (await gw.ctx.audit.index.alerts({ rule: "SETTLEMENT_FAILED", limit: 10 })).items.length === 1);
    // Operators: a metric.
    const metrics = await gw.ctx.metrics.registry.metrics();
    assert.match(metrics, /sen_settlement_failed_open_trades 1/);

    // A withdrawal of the other buyer's units does not wait for the failed trade.
    const w = await ko("POST", "/api/v3/withdrawals", { currency: "GOLD", toAddress: accounts.other.address, amount: "3" });
    assert.equal(w.code, "200000", JSON.stringify(w));
    await until("withdrawal paid", async () => (await ko<{ items: Array<{ status: string }> }>("GET", "/api/v1/withdrawals")).data.items.some((x) => x.status === "SUCCESS"));

    // A restart between failure and resolution keeps the failed state (journaled).
    await services.stop();
    await gw.close();
    await startGateway();
    assert.deepEqual((await failedList()).map((f) => f.tradeId), [failedTradeId]);

    // Retrying while the e-ID is still revoked fails it again, with the same reason: no stall.
    let r = await kop("POST", `/api/v1/sen/operator/settlements/${failedTradeId}/retry`, { note: "first try" });
    assert.equal(r.code, "200000", JSON.stringify(r));
    await services.batcher.flushAll();
    assert.deepEqual((await failedList()).map((f) => f.tradeId), [failedTradeId]);

    // The issuer restores the e-ID; the operator retries; the trade settles.
    await chain.attest(accounts.buyer.address, "sf-buyer");
    r = await kop("POST", `/api/v1/sen/operator/settlements/${failedTradeId}/retry`, { note: "identity restored by the issuer" });
    assert.equal(r.code, "200000", JSON.stringify(r));
    await services.batcher.flushAll();
    assert.deepEqual(await failedList(), []);
    assert.ok((await settledOnChain(chain)).some((t) => t.tradeId === failedTradeId), "settled on chain");
    const settledSide = (await ks<{ items: FillRow[] }>("GET", `/api/v1/fills?symbol=${SYMBOL}`)).data.items.find((f) => f.tradeId === failedTradeId)!;
    assert.equal(settledSide.settlementStatus, "settled");
    assert.equal(settledSide.settlementError, null);
    assert.match(await gw.ctx.metrics.registry.metrics(), /sen_settlement_failed_open_trades 0/);
    await booksAgree();
  });

  it("a paused asset token holds its market's trades back without failing them; they settle once it is unpaused", async () => {
    const gold = await chain.connection.viem.getContractAt("AssetToken", chain.deployment.contracts.GoldToken, { client: { wallet: chain.wallets.agent } });
    await chain.publicClient.waitForTransactionReceipt({ hash: await gold.write.pause() });
    // The view refuses new orders on a paused token: this trade was matched just before the pause.
    await chain.publicClient.waitForTransactionReceipt({ hash: await gold.write.unpause() });
    await order(ks, "sell", 1);
    const buy = await order(ko, "buy", 1);
    await chain.publicClient.waitForTransactionReceipt({ hash: await gold.write.pause() });
    const settle = services.batcher.flushAll();
    await new Promise((r) => setTimeout(r, 1_500)); // several rounds of the batcher meet the pause
    assert.deepEqual(await failedList(), [], "nothing failed: the market waits");
    assert.equal((await fillOf(ko, buy)).settlementStatus, "pending");
    await chain.publicClient.waitForTransactionReceipt({ hash: await gold.write.unpause() });
    await settle;
    assert.equal((await fillOf(ko, buy)).settlementStatus, "settled");
    await booksAgree();
  });

  it("a reversal gives each side back exactly what the trade gave it, and is audited; a second one is refused", async () => {
    const ledgerBefore = ledger();
    const feesBefore = gw.ctx.trading.core.ledger.balance(gw.ctx.feeAccount, "VND").available;
    const taxBefore = ledgerHouseBooks(gw.ctx.trading.core).tax;
    await tradeThenRevoke("buyer2");
    await services.batcher.flushAll();
    const [failed] = await failedList();
    assert.ok(failed, "the revoked buyer's trade failed");
    // The identity sweep freezes the revoked buyer (a journaled record of its own): let it land.
    await until("revoked buyer frozen", async () => gw.ctx.trading.core.isFrozen(accounts.buyer2.address.toLowerCase()) !== undefined);

    // The seller cannot give back proceeds it no longer has available: refused, nothing changes.
    const proceeds = gw.ctx.trading.core.ledger.balance(seller.accountId, "VND").available;
    const hold = await ks("POST", "/api/v1/orders", { clientOid: `sf-${++oid}`, side: "buy", symbol: SYMBOL, type: "limit", price: "9500", size: String(Number(proceeds / 9_600n)) });
    assert.equal(hold.code, "200000", JSON.stringify(hold));
    const seqBefore = gw.ctx.trading.lastSeq;
    let r = await kop("POST", `/api/v1/sen/operator/settlements/${failed.tradeId}/reverse`, { note: "buyer not eligible" });
    assert.equal(r.status, 409, JSON.stringify(r));
    assert.equal(r.senCode, "SETTLEMENT_REVERSE_INSUFFICIENT");
    assert.equal(gw.ctx.trading.lastSeq, seqBefore, "nothing journaled");
    assert.equal((await ks("DELETE", `/api/v1/orders/${(hold.data as { orderId: string }).orderId}`)).code, "200000");

    r = await kop("POST", `/api/v1/sen/operator/settlements/${failed.tradeId}/reverse`, { note: "buyer not eligible" });
    assert.equal(r.code, "200000", JSON.stringify(r));
    assert.deepEqual(await failedList(), []);
    // The other buyer's trade of this round stands; the reversed one left no trace in the balances.
    const after = ledger();
    const key = (w: Address, c: string) => `${getAddress(w)} ${c}`;
    assert.equal(after[key(accounts.buyer2.address, "VND")], ledgerBefore[key(accounts.buyer2.address, "VND")], "buyer's cash and fee back");
    assert.equal(after[key(accounts.buyer2.address, "GOLD")], ledgerBefore[key(accounts.buyer2.address, "GOLD")], "buyer's units gone again");
    assert.equal(after[key(accounts.seller.address, "GOLD")], ledgerBefore[key(accounts.seller.address, "GOLD")] - 3n, "seller keeps only the other trade's delivery");
    const feesAfter = gw.ctx.trading.core.ledger.balance(gw.ctx.feeAccount, "VND").available;
    const otherTrade = (await ko<{ items: Array<FillRow & { fee: string }> }>("GET", `/api/v1/fills?symbol=${SYMBOL}`)).data.items.sort((a, b) => (a.tradeId < b.tradeId ? 1 : -1))[0];
    const sellerOther = (await ks<{ items: Array<FillRow & { fee: string }> }>("GET", `/api/v1/fills?symbol=${SYMBOL}`)).data.items.find((f) => f.tradeId === otherTrade.tradeId)!;
    assert.equal(feesAfter - feesBefore, BigInt(otherTrade.fee) + BigInt(sellerOther.fee), "only the standing trade's fees remain collected");
    // 3 of the 5 sold at 10,000 stand: 0.1% of 30,000 đồng; the reversed sale's tax was given back.
    assert.equal(ledgerHouseBooks(gw.ctx.trading.core).tax - taxBefore, (3n * 10_000n * 10n) / 10_000n, "only the standing sale's tax remains withheld");
    const reversedSide = (await ks<{ items: FillRow[] }>("GET", `/api/v1/fills?symbol=${SYMBOL}`)).data.items.find((f) => f.tradeId === failed.tradeId)!;
    assert.equal(reversedSide.settlementStatus, "reversed");

    await gw.ctx.audit.flush();
    const resolved = await gw.ctx.audit.index.query({ types: ["settlement.resolved"], limit: 10, order: "asc" });
    const reversal = resolved.items.find((e) => e.tradeId === failed.tradeId)!;
    assert.equal((reversal.detail as { action: string }).action, "reverse");
    assert.equal(reversal.actor, operator.accountId);

    r = await kop("POST", `/api/v1/sen/operator/settlements/${failed.tradeId}/reverse`, { note: "again" });
    assert.equal(r.senCode, "SETTLEMENT_NOT_FAILED");

    // The vault never moved for the reversed trade, so its books still equal the ledger; and
    // replay rebuilds the reversal exactly.
    await booksAgree();
    const beforeRestart = ledger();
    await services.stop();
    await gw.close();
    await startGateway();
    assert.deepEqual(ledger(), beforeRestart, "replay rebuilds the reversal exactly");
  });
});
