import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { parseEventLogs, toHex } from "viem";
import WebSocket from "ws";
import type { ChainServices } from "../src/chain/chainServices.ts";
import { settlementVaultAbi } from "../src/chain/settlementBatcher.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { spawnExchange } from "./support/exchangeProcess.ts";
import { loginAndCreateKey, startTestGateway, type GatewayFixture, startTestChainServices } from "./support/gatewayFixture.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { until } from "./support/until.ts";
import { ledgerBooks, ledgerHouseBooks, pendingVaultCalls, settledOnChain, tradeSettledEvents, vaultBooks, vaultHouseBooks } from "./support/vaultBooks.ts";

const SYMBOL = "GOLD-VND";
/** Income tax withheld from a sale: 0.1% of its value, rounded down to whole đồng (the gateway's and the vault's default). */
const taxOf = (cashAmount: bigint) => (cashAmount * 10n) / 10_000n;

describe("end to end: e-ID, on-chain deposits, trading, DvP settlement, withdrawal, revocation", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let services: ChainServices;

  before(async () => {
    chain = await startChain();
    gw = await startTestGateway(chain);
    services = await startTestChainServices(chain, gw.ctx);
  });
  after(async () => {
    await services?.stop();
    await gw?.close();
    await chain?.close();
  });

  it("runs the whole path and keeps the ledger equal to the vault's books", async () => {
    // 1. two attested identities, each funded on chain and depositing into the vault
    const [sellerIdx, buyerIdx] = [15, 16];
    const seller = hardhatAccount(sellerIdx);
    const buyer = hardhatAccount(buyerIdx);
    await chain.attest(seller.address, "e2e-seller");
    const buyerId = await chain.attest(buyer.address, "e2e-buyer");
    await chain.fundAndDeposit(sellerIdx, { gold: 500n });
    await chain.fundAndDeposit(buyerIdx, { vnd: 50_000_000n });
    const s = await loginAndCreateKey(gw.url, seller);
    const b = await loginAndCreateKey(gw.url, buyer, ["General", "Trade", "Withdraw"]);
    const ks = kucoinClient(() => gw.url, s);
    const kb = kucoinClient(() => gw.url, b);
    const total = async (k: typeof ks, ccy: string) => {
      const rows = (await k<Array<{ currency: string; balance: string; available: string }>>("GET", "/api/v1/accounts")).data;
      return BigInt(rows.find((r) => r.currency === ccy)!.balance);
    };
    // 2. the chain watcher credits the deposits (exactly once)
    await until("deposits credited", async () => (await total(kb, "VND")) === 50_000_000n && (await total(ks, "GOLD")) === 500n);
    await services.poll();
    assert.equal(await total(kb, "VND"), 50_000_000n, "a second poll credits nothing twice");

    // 3. crossing orders through the signed REST API; fills arrive on the private websocket
    const bullet = (await kb<{ token: string }>("POST", "/api/v1/bullet-private")).data;
    const ws = new WebSocket(`${gw.ctx.config.wsEndpoint}?token=${bullet.token}`);
    const fills: Array<Record<string, string>> = [];
    ws.on("message", (raw) => {
      const m = JSON.parse(raw.toString());
      if (m.subject === "orderChange" && m.data.type === "match") fills.push(m.data);
    });
    await new Promise((r) => ws.once("message", r));
    const subscribed = new Promise<void>((resolve) =>
      ws.on("message", (raw) => {
        const m = JSON.parse(raw.toString());
        if (m.type === "ack" && m.id === "1") resolve();
      }),
    );
    ws.send(JSON.stringify({ id: "1", type: "subscribe", topic: "/spotMarket/tradeOrders", privateChannel: true, response: true }));
    await subscribed;
    for (const [price, size] of [
      ["10000", "30"],
      ["10100", "30"],
    ]) {
      const r = await ks("POST", "/api/v1/orders", { clientOid: `e2e-s-${price}`, side: "sell", symbol: SYMBOL, type: "limit", price, size });
      assert.equal(r.code, "200000", JSON.stringify(r));
    }
    const buy = await kb<{ orderId: string }>("POST", "/api/v1/orders", { clientOid: "e2e-b-1", side: "buy", symbol: SYMBOL, type: "limit", price: "10100", size: "45" });
    assert.equal(buy.code, "200000");
    await until("two fills on the websocket", async () => fills.length >= 2);
    ws.close();

    // 4. the settlement batch is confirmed on chain
    const settled = await until("settlement", async () => {
      const items = (await kb<{ items: Array<{ tradeId: string; settlementTxHash: string | null }> }>("GET", `/api/v1/fills?orderId=${buy.data.orderId}`)).data.items;
      return items.length === 2 && items.every((f) => f.settlementTxHash) ? items : undefined;
    });
    const receipt = await chain.publicClient.getTransactionReceipt({ hash: settled[0].settlementTxHash as `0x${string}` });
    const events = parseEventLogs({ abi: settlementVaultAbi, logs: receipt.logs, eventName: "TradeSettled" });
    assert.deepEqual(events.map((e) => toHex(e.args.tradeId, { size: 12 }).slice(2)).sort(), settled.map((f) => f.tradeId).sort());

    // 5. balances on chain equal the ledger, for both traders and both tokens
    for (const [k, wallet] of [
      [ks, seller.address],
      [kb, buyer.address],
    ] as const) {
      assert.equal(await chain.vaultBalance("CashToken", wallet), await total(k, "VND"), `VND of ${wallet}`);
      assert.equal(await chain.vaultBalance("GoldToken", wallet), await total(k, "GOLD"), `GOLD of ${wallet}`);
    }
    // ... and for the exchange's own accounts: the fees, and the seller's income tax withheld per sale.
    assert.deepEqual(
      events.map((e) => e.args.sellerTax),
      events.map((e) => taxOf(e.args.cashAmount)),
    );
    const tax = events.reduce((sum, e) => sum + taxOf(e.args.cashAmount), 0n);
    assert.equal(tax, taxOf(30n * 10_000n) + taxOf(15n * 10_100n), "300 + 151 đồng");
    assert.deepEqual(ledgerHouseBooks(gw.ctx.trading.core), await vaultHouseBooks(chain));
    assert.equal((await vaultHouseBooks(chain)).tax, tax);

    // 6. withdraw to the buyer's own wallet: paid out by the vault, ledger finalised
    const refused = await kb("POST", "/api/v3/withdrawals", { currency: "GOLD", toAddress: seller.address, amount: 5, withdrawType: "ADDRESS" });
    assert.equal(refused.code, "400100", "only to one's own wallet");
    const w = await kb<{ withdrawalId: string }>("POST", "/api/v3/withdrawals", { currency: "GOLD", toAddress: buyer.address, amount: 5, withdrawType: "ADDRESS" });
    assert.equal(w.code, "200000", JSON.stringify(w));
    await until("withdrawal done", async () => {
      const items = (await kb<{ items: Array<{ id: string; status: string }> }>("GET", "/api/v1/withdrawals")).data.items;
      return items.find((i) => i.id === w.data.withdrawalId)?.status === "SUCCESS";
    });
    const gold = await chain.connection.viem.getContractAt("AssetToken", chain.deployment.contracts.GoldToken);
    assert.equal(await gold.read.balanceOf([buyer.address]), 5n, "tokens in the buyer's wallet");
    assert.equal(await total(kb, "GOLD"), 45n - 5n);
    assert.equal(await chain.vaultBalance("GoldToken", buyer.address), 40n);

    // 7. revoking the buyer's e-ID: within a block its orders are cancelled, new ones and its keys refused
    const resting = await kb<{ orderId: string }>("POST", "/api/v1/orders", { clientOid: "e2e-b-2", side: "buy", symbol: SYMBOL, type: "limit", price: "9900", size: "1" });
    assert.equal(resting.code, "200000");
    await chain.revoke(buyerId);
    await until("account frozen", async () => gw.ctx.trading.core.isFrozen(b.accountId) !== undefined);
    assert.equal(gw.ctx.trading.core.order(resting.data.orderId)?.isActive, false, "open order cancelled");
    const after = await kb("POST", "/api/v1/orders", { clientOid: "e2e-b-3", side: "buy", symbol: SYMBOL, type: "limit", price: "9900", size: "1" });
    assert.notEqual(after.code, "200000");
    assert.equal(after.code, "411100", "the revoked account's key is disabled (frozen)");
  });

  it("a tax rate changed by governance on chain applies to the trades matched after it, is audited, and settles", async () => {
    const vault = await chain.connection.viem.getContractAt("SettlementVault", chain.deployment.contracts.SettlementVault, { client: { wallet: chain.wallets.governance } });
    const [taxAccount] = [(await vault.read.taxPolicy()).account];
    await chain.publicClient.waitForTransactionReceipt({ hash: await vault.write.setTaxPolicy([taxAccount, 25]) });
    await until("the gateway follows the new rate", async () => gw.ctx.trading.core.taxRateBps === 25);
    try {
      const [sellerIdx, buyerIdx] = [13, 14];
      await chain.attest(hardhatAccount(sellerIdx).address, "rate-seller");
      await chain.attest(hardhatAccount(buyerIdx).address, "rate-buyer");
      await chain.fundAndDeposit(sellerIdx, { gold: 10n });
      await chain.fundAndDeposit(buyerIdx, { vnd: 1_000_000n });
      const ks = kucoinClient(() => gw.url, await loginAndCreateKey(gw.url, hardhatAccount(sellerIdx)));
      const kb = kucoinClient(() => gw.url, await loginAndCreateKey(gw.url, hardhatAccount(buyerIdx)));
      await until("deposits credited", async () => gw.ctx.trading.core.ledger.balance(hardhatAccount(buyerIdx).address.toLowerCase(), "VND").available === 1_000_000n);
      await until("gold credited", async () => gw.ctx.trading.core.ledger.balance(hardhatAccount(sellerIdx).address.toLowerCase(), "GOLD").available === 10n);
      assert.equal((await ks("POST", "/api/v1/orders", { clientOid: "rate-s", side: "sell", symbol: SYMBOL, type: "limit", price: "10000", size: "7" })).code, "200000");
      const buy = await kb<{ orderId: string }>("POST", "/api/v1/orders", { clientOid: "rate-b", side: "buy", symbol: SYMBOL, type: "limit", price: "10000", size: "7" });
      assert.equal(buy.code, "200000");
      const sold = (await ks<{ items: Array<{ tax: string; funds: string; settlementTxHash: string | null }> }>("GET", "/api/v1/fills?symbol=GOLD-VND")).data.items;
      assert.deepEqual(sold.map((f) => [f.funds, f.tax]), [["70000", "175"]], "25 bps of 70,000");
      const fill = await until("settled", async () => {
        const items = (await kb<{ items: Array<{ settlementTxHash: string | null }> }>("GET", `/api/v1/fills?orderId=${buy.data.orderId}`)).data.items;
        return items[0]?.settlementTxHash ? items[0] : undefined;
      });
      const receipt = await chain.publicClient.getTransactionReceipt({ hash: fill.settlementTxHash as `0x${string}` });
      const [settledEvent] = parseEventLogs({ abi: settlementVaultAbi, logs: receipt.logs, eventName: "TradeSettled" });
      assert.equal(settledEvent.args.sellerTax, 175n, "the vault checked and booked the same tax");
      assert.deepEqual(ledgerHouseBooks(gw.ctx.trading.core), await vaultHouseBooks(chain));
      await gw.ctx.audit.flush();
      const changes = await gw.ctx.audit.index.query({ types: ["tax.rateChanged"], limit: 10, order: "desc" });
      assert.deepEqual([changes.items[0].detail?.rateBps, changes.items[0].detail?.previousBps], [25, 10]);
    } finally {
      await chain.publicClient.waitForTransactionReceipt({ hash: await vault.write.setTaxPolicy([taxAccount, 10]) });
      await until("the gateway follows the rate back", async () => gw.ctx.trading.core.taxRateBps === 10);
    }
  });
});

describe("settlement survives a crash between broadcast and receipt", () => {
  let chain: ChainFixture;
  before(async () => {
    chain = await startChain({ serve: true });
  });
  after(async () => {
    await chain?.close();
  });

  it("no trade settles twice and none is lost; the restarted ledger equals the vault's books", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "sen-settle-crash-"));
    const env = {
      SEN_CHAIN_RPC: chain.rpcUrl!,
      SEN_DEPLOYMENT: chain.deploymentFile!,
      SEN_DATA_DIR: dataDir,
      SEN_CHAIN_KEY: chain.operatorKey,
      SEN_CONFIRMATIONS: "0",
      SEN_CHAIN_POLL_MS: "100",
    };
    const provider = chain.connection.provider;
    const seller = hardhatAccount(17);
    const buyer = hardhatAccount(18);
    let ex = await spawnExchange(env);
    try {
      await chain.attest(seller.address, "crash-seller");
      await chain.attest(buyer.address, "crash-buyer");
      await chain.fundAndDeposit(17, { gold: 100n });
      await chain.fundAndDeposit(18, { vnd: 10_000_000n });
      const s = await loginAndCreateKey(ex.url, seller);
      const b = await loginAndCreateKey(ex.url, buyer);
      const ks = kucoinClient(() => ex.url, s);
      const kb = kucoinClient(() => ex.url, b);
      const traders = [
        { wallet: seller.address, client: ks },
        { wallet: buyer.address, client: kb },
      ];
      const fillsOf = async (k: typeof ks) => (await k<{ items: Array<{ tradeId: string; fee: string; settlementTxHash: string | null }> }>("GET", "/api/v1/fills")).data.items;
      await until("deposits credited", async () => {
        const rows = (await kb<Array<{ currency: string; available: string }>>("GET", "/api/v1/accounts")).data;
        return rows.find((r) => r.currency === "VND")?.available === "10000000";
      });

      // A first trade settles normally, so the restart finds one trade settled and one in flight.
      const place = async (k: typeof ks, clientOid: string, side: "buy" | "sell", size: string) => {
        const r = await k("POST", "/api/v1/orders", { clientOid, side, symbol: SYMBOL, type: "limit", price: "10000", size });
        assert.equal(r.code, "200000", JSON.stringify(r));
      };
      await place(ks, "c-s-1", "sell", "3");
      await place(kb, "c-b-1", "buy", "3");
      await until("first trade settled", async () => {
        const items = await fillsOf(kb);
        return items.length === 1 && items[0].settlementTxHash !== null;
      });

      // Stop mining: the second trade's settlement transaction will sit broadcast but unconfirmed.
      await provider.request({ method: "evm_setAutomine", params: [false] });
      await place(ks, "c-s-2", "sell", "7");
      await place(kb, "c-b-2", "buy", "7");
      await until("settleBatch broadcast", async () => (await pendingVaultCalls(chain)).some((c) => c.functionName === "settleBatch"));
      await ex.kill9(); // dies before it sees the receipt
      await provider.request({ method: "evm_mine", params: [] });
      await provider.request({ method: "evm_setAutomine", params: [true] });

      ex = await spawnExchange(env); // finds the trade unsettled in its journal and sends it again
      const fills = await until(
        "settled after restart",
        async () => {
          const items = await fillsOf(kb);
          return items.length === 2 && items.every((f) => f.settlementTxHash) ? items : undefined;
        },
        30_000,
      );

      // Every trade settled exactly once, and each fill names the transaction that moved it.
      const onChain = await settledOnChain(chain);
      assert.deepEqual(onChain.map((e) => e.tradeId).sort(), fills.map((f) => f.tradeId).sort(), "one TradeSettled event per trade");
      for (const k of [ks, kb]) {
        for (const f of await fillsOf(k)) {
          assert.equal(f.settlementTxHash, onChain.find((e) => e.tradeId === f.tradeId)!.txHash, `settlement tx of trade ${f.tradeId}`);
        }
      }
      // The restarted gateway's ledger is the vault's books, trader by trader and token by token.
      assert.deepEqual(await ledgerBooks(traders), await vaultBooks(chain, [seller.address, buyer.address]));
      assert.equal(await chain.vaultBalance("GoldToken", buyer.address), 10n);
      assert.equal(await chain.vaultBalance("GoldToken", seller.address), 90n);
      // Fees went to the vault's fee account once per trade.
      const fees = [...(await fillsOf(ks)), ...(await fillsOf(kb))].reduce((sum, f) => sum + BigInt(f.fee), 0n);
      assert.ok(fees > 0n);
      assert.equal(await chain.vaultBalance("CashToken", chain.deployment.roles.feeAccount), fees);
      // And the income tax withheld from each sale to the tax account, once per trade too.
      const sales = await tradeSettledEvents(chain);
      assert.deepEqual(sales.map((t) => t.sellerTax), sales.map((t) => taxOf(t.cashAmount)));
      assert.equal(await chain.vaultBalance("CashToken", chain.deployment.roles.taxAccount), taxOf(3n * 10_000n) + taxOf(7n * 10_000n));
    } finally {
      await ex.stop().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("deposits: credited after N confirmations, exactly once across reorgs and restarts", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  before(async () => {
    chain = await startChain();
    gw = await startTestGateway(chain);
  });
  after(async () => {
    await gw?.close();
    await chain?.close();
  });

  it("ignores a deposit reorged out before it was confirmed, credits the replacement once", async () => {
    const provider = chain.connection.provider;
    const start = (confirmations: number) =>
      startTestChainServices(chain, gw.ctx, { confirmations, pollMs: 60_000 }); // driven by poll() below
    const wallet = hardhatAccount(19).address;
    const account = wallet.toLowerCase();
    await chain.attest(wallet, "reorg");
    let services = await start(3);
    await services.poll();
    const vnd = () => gw.ctx.trading.core.ledger.balance(account, "VND").available;

    // A deposit lands in a block, then the chain reorganises (depth 2 < N = 3) without it.
    const snapshot = (await provider.request({ method: "evm_snapshot", params: [] })) as string;
    await chain.fundAndDeposit(19, { vnd: 1_000n });
    await services.poll();
    assert.equal(vnd(), 0n, "not credited before 3 confirmations");
    await provider.request({ method: "evm_revert", params: [snapshot] });
    await provider.request({ method: "hardhat_mine", params: ["0x5"] });
    await services.poll();
    assert.equal(vnd(), 0n, "a reorged-out deposit is never credited");

    // The replacement deposit (same vault deposit id, new transaction) is credited once.
    await chain.fundAndDeposit(19, { vnd: 2_500n });
    await services.poll();
    assert.equal(vnd(), 0n);
    await provider.request({ method: "hardhat_mine", params: ["0x3"] });
    await services.poll();
    assert.equal(vnd(), 2_500n);
    await services.poll();
    assert.equal(vnd(), 2_500n);

    // A restarted watcher rescans from the deployment block and credits nothing twice.
    await services.stop();
    services = await start(3);
    await services.poll();
    assert.equal(vnd(), 2_500n);
    await services.stop();
  });
});
