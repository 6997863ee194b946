import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { keccak256, toHex, type Address, type Hex } from "viem";
import type { ChainServices } from "../src/chain/chainServices.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestChainServices, startTestGateway, type GatewayFixture } from "./support/gatewayFixture.ts";
import { signedClient } from "./support/httpProbe.ts";
import { until } from "./support/until.ts";
import { vaultHouseBooks } from "./support/vaultBooks.ts";

type OrderView = { id: string; isActive: boolean; cancelExist: boolean; remark: string | null };
type LedgerEntry = { currency: string; amount: string; bizType: string; direction: string; context: string };

/**
 * Custody that leaves the settlement vault by the token agent's powers (a forced custody
 * transfer, a lost wallet's recovery) leaves the ledger too: the account can no longer sell or
 * withdraw what the vault no longer books, and the orders that held it are cancelled. Real chain
 * (Hardhat), real gateway, journal and chain services; the agent acts with its own key.
 */
describe("custody the token's agent takes out of the vault leaves the ledger", { timeout: 180_000 }, () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let services: ChainServices | undefined;
  let dataDir: string;

  before(async () => {
    chain = await startChain();
    dataDir = mkdtempSync(path.join(tmpdir(), "sen-custody-debits-"));
    gw = await startTestGateway(chain, { dataDir });
    // Only the test's polls tick.
    services = await startTestChainServices(chain, gw.ctx, { pollMs: 3_600_000 });
  });
  after(async () => {
    await services?.stop();
    await gw?.close();
    await chain?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const agentGold = () => chain.connection.viem.getContractAt("AssetToken", chain.deployment.contracts.GoldToken, { client: { wallet: chain.wallets.agent } });
  const mined = async (hash: Hex) => {
    const r = await chain.publicClient.waitForTransactionReceipt({ hash });
    assert.equal(r.status, "success");
    return r;
  };

  /** A funded wallet that holds no role, attested, with `gold` deposited in the vault and credited, and an API key. */
  async function holder(index: number, label: string, gold: bigint) {
    const wallet = hardhatAccount(index);
    const identity = await chain.attest(wallet.address, label);
    await chain.fundAndDeposit(index, { gold, vnd: 1_000_000n });
    await services!.poll();
    const accountId = wallet.address.toLowerCase();
    assert.equal(gw.ctx.queries.balance(accountId, "GOLD").available, gold, "the deposit is credited");
    const creds = await loginAndCreateKey(gw.url, wallet, ["General", "Trade", "Withdraw"]);
    return { wallet: wallet.address, identity, accountId, api: signedClient(gw.url, creds) };
  }

  async function sell(api: ReturnType<typeof signedClient>, size: number, clientOid: string, side: "sell" | "buy" = "sell"): Promise<string> {
    const r = await api<{ orderId: string }>("POST", "/api/v1/orders", { clientOid, side, symbol: "GOLD-VND", type: "limit", price: "11000", size: String(size) });
    assert.equal(r.code, "200000", `${r.senCode} ${r.msg}`);
    return r.data.orderId;
  }

  async function auditedDebits(account: string) {
    await gw.ctx.audit.flush();
    return (await gw.ctx.audit.index.query({ account, types: ["custody.debited"], limit: 10, order: "asc" })).items;
  }

  it("a forced custody transfer of what an open sell holds: the sell is cancelled, available is the vault's book, once, also after a restart", async () => {
    const h = await holder(15, "custody-seized", 30n);
    const court = hardhatAccount(118).address;
    await chain.attest(court, "court-escrow");
    const orderId = await sell(h.api, 20, "seized-sell");
    assert.deepEqual(gw.ctx.queries.balance(h.accountId, "GOLD"), { available: 10n, hold: 20n });

    const receipt = await mined(await (await agentGold()).write.forcedCustodyTransfer([chain.deployment.contracts.SettlementVault, h.wallet, court, 25n]));
    const book = await chain.vaultBalance("GoldToken", h.wallet);
    assert.equal(book, 5n);
    await services!.poll();

    assert.deepEqual(gw.ctx.queries.balance(h.accountId, "GOLD"), { available: book, hold: 0n }, "the ledger follows the vault's book");
    const o = await h.api<OrderView>("GET", `/api/v1/orders/${orderId}`);
    assert.deepEqual([o.data.isActive, o.data.cancelExist, o.data.remark], [false, true, "TRADING_CUSTODY_DEBITED"]);
    // What the vault would refuse to deliver can no longer be sold or withdrawn.
    const refused = await h.api("POST", "/api/v1/orders", { clientOid: "too-much", side: "sell", symbol: "GOLD-VND", type: "limit", price: "11000", size: "6" });
    assert.equal(refused.senCode, "RISK_INSUFFICIENT_FUNDS");
    const w = await h.api("POST", "/api/v3/withdrawals", { currency: "GOLD", toAddress: h.wallet, amount: "6" });
    assert.equal(w.senCode, "RISK_INSUFFICIENT_FUNDS");
    assert.equal(gw.ctx.queries.balance(h.accountId, "VND").available, 1_000_000n, "only the token the agent acted on");

    const [debit, ...more] = await auditedDebits(h.accountId);
    assert.deepEqual(more, []);
    assert.deepEqual([debit.currency, debit.amount, debit.txHash, debit.detail?.kind, debit.detail?.to, debit.detail?.cancelledOrders, debit.detail?.owed], ["GOLD", "25", receipt.transactionHash, "seized", court.toLowerCase(), [orderId], "0"]);
    const cancelled = (await gw.ctx.audit.index.query({ account: h.accountId, types: ["order.cancelled"], limit: 10, order: "asc" })).items;
    assert.deepEqual(cancelled.map((e) => [e.orderId, e.reason, e.ruleId]), [[orderId, "custody", "TRADING_CUSTODY_DEBITED"]]);
    const ledger = await h.api<{ items: LedgerEntry[] }>("GET", "/api/v1/accounts/ledgers?currency=GOLD&bizType=CUSTODY_DEBIT");
    assert.deepEqual(
      ledger.data.items.map((e) => [e.bizType, e.direction, e.amount, (JSON.parse(e.context) as { txId: string }).txId]),
      [["Custody debit", "out", "25", receipt.transactionHash]],
    );

    await services!.poll();
    assert.deepEqual(gw.ctx.queries.balance(h.accountId, "GOLD"), { available: 5n, hold: 0n }, "a second poll debits nothing");

    // A restart reads every block from the start block again: each debit stays applied once.
    await services!.stop();
    services = undefined;
    await gw.close();
    gw = await startTestGateway(chain, { dataDir });
    services = await startTestChainServices(chain, gw.ctx, { pollMs: 3_600_000 });
    await services.poll();
    assert.deepEqual(gw.ctx.queries.balance(h.accountId, "GOLD"), { available: 5n, hold: 0n });
    assert.equal((await auditedDebits(h.accountId)).length, 1);
  });

  it("custody taken from the vault's fee account leaves the ledger's fee account, which mirrors it, not an account of the fee wallet", async () => {
    const seller = await holder(17, "fee-seller", 10n);
    const buyer = await holder(18, "fee-buyer", 1n);
    await sell(seller.api, 2, "fee-sell");
    await sell(buyer.api, 2, "fee-buy", "buy");
    const { fee } = gw.ctx.queries.houseAccounts;
    const ledgerFees = () => gw.ctx.queries.balance(fee, "VND").available;
    // The trade settles: the vault books its fees into the fee account's custody.
    const fees = await until("the trade's fees are in the vault's fee book", async () => {
      const book = (await vaultHouseBooks(chain)).fees;
      return book > 0n && book === ledgerFees() ? book : undefined;
    });
    const feeWallet = chain.deployment.roles.feeAccount;
    const court = hardhatAccount(120).address;
    await chain.attest(court, "court-fees");
    const cashAgent = await chain.connection.viem.getContractAt("CashToken", chain.deployment.contracts.CashToken, { client: { wallet: chain.wallets.agent } });
    await mined(await cashAgent.write.forcedCustodyTransfer([chain.deployment.contracts.SettlementVault, feeWallet, court, 10n]));
    await services!.poll();

    assert.equal((await vaultHouseBooks(chain)).fees, fees - 10n);
    assert.equal(ledgerFees(), fees - 10n, "the ledger's fee account follows the vault's fee book");
    assert.deepEqual(gw.ctx.queries.balance(feeWallet.toLowerCase(), "VND"), { available: 0n, hold: 0n }, "no account of the fee wallet, and nothing owed by one");
    assert.deepEqual(gw.ctx.queries.owing(), []);
    const [debit, ...more] = await auditedDebits(fee);
    assert.deepEqual(more, []);
    assert.deepEqual([debit.currency, debit.amount, debit.detail?.kind, debit.detail?.owed], ["VND", "10", "seized", "0"]);

    // The fee wallet tops its custody up by a deposit of its own: the house account is credited.
    await chain.attest(feeWallet, "fee-house");
    const asFee = { client: { wallet: chain.wallets.feeAccount } };
    const bank = await chain.connection.viem.getContractAt("CashToken", chain.deployment.contracts.CashToken, { client: { wallet: chain.wallets.paymentBank } });
    await mined(await bank.write.mint([feeWallet, 7n, keccak256(toHex("fiat-fee-house"))]));
    await mined(await (await chain.connection.viem.getContractAt("CashToken", chain.deployment.contracts.CashToken, asFee)).write.approve([chain.deployment.contracts.SettlementVault, 7n]));
    await mined(await (await chain.connection.viem.getContractAt("SettlementVault", chain.deployment.contracts.SettlementVault, asFee)).write.deposit([chain.deployment.contracts.CashToken, 7n]));
    await services!.poll();
    assert.equal((await vaultHouseBooks(chain)).fees, fees - 3n);
    assert.equal(ledgerFees(), fees - 3n, "credited to the ledger's fee account");
    assert.deepEqual(gw.ctx.queries.balance(feeWallet.toLowerCase(), "VND"), { available: 0n, hold: 0n });
  });

  it("a lost wallet's recovery: its custody goes to the new wallet's own balance, so it is debited from the lost wallet's account only", async () => {
    const lost = await holder(16, "custody-recovered", 12n);
    const fresh = hardhatAccount(119).address as Address;
    await mined(await chain.registry.write.addWallet([lost.identity, fresh]));
    const orderId = await sell(lost.api, 5, "lost-sell");

    const receipt = await mined(await (await agentGold()).write.recoverBalance([lost.wallet, fresh]));
    assert.equal(await chain.vaultBalance("GoldToken", lost.wallet), 0n);
    const gold = await chain.connection.viem.getContractAt("AssetToken", chain.deployment.contracts.GoldToken);
    assert.equal(await gold.read.balanceOf([fresh]), 12n, "paid out to the new wallet, not into its custody");
    await services!.poll();

    assert.deepEqual(gw.ctx.queries.balance(lost.accountId, "GOLD"), { available: 0n, hold: 0n });
    assert.equal((await lost.api<OrderView>("GET", `/api/v1/orders/${orderId}`)).data.isActive, false);
    assert.deepEqual(gw.ctx.queries.balance(fresh.toLowerCase(), "GOLD"), { available: 0n, hold: 0n }, "nothing in the new wallet's custody to credit");
    assert.equal(gw.ctx.queries.balance(lost.accountId, "VND").available, 1_000_000n, "the GOLD token's recovery leaves VND custody alone");
    const [debit] = await auditedDebits(lost.accountId);
    assert.deepEqual([debit.amount, debit.txHash, debit.detail?.kind, debit.detail?.to], ["12", receipt.transactionHash, "returned", fresh.toLowerCase()]);
  });
});
