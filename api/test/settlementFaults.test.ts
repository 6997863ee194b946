import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Address } from "viem";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { spawnExchange, type ExchangeProcess } from "./support/exchangeProcess.ts";
import { startFaultyRpc } from "./support/faultyRpc.ts";
import { loginAndCreateKey, startTestGateway, startTestChainServices } from "./support/gatewayFixture.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { until } from "./support/until.ts";
import { ledgerBooks, pendingVaultCalls, settledOnChain, vaultBooks, withdrawnOnChain, type Trader } from "./support/vaultBooks.ts";

const SYMBOL = "GOLD-VND";
const FINAL = new Set(["SUCCESS", "FAILURE"]);

type Client = ReturnType<typeof kucoinClient>;
type WithdrawalRow = { id: string; status: string; amount: string; walletTxId: string | null; remark: string };

async function withdrawals(k: Client): Promise<WithdrawalRow[]> {
  const r = await k<{ items: WithdrawalRow[] }>("GET", "/api/v1/withdrawals");
  assert.equal(r.code, "200000", JSON.stringify(r));
  return r.data.items;
}

async function balance(k: Client, currency: string): Promise<{ balance: bigint; available: bigint; holds: bigint }> {
  const rows = (await k<Array<{ currency: string; balance: string; available: string; holds: string }>>("GET", "/api/v1/accounts")).data;
  const row = rows.find((r) => r.currency === currency)!;
  return { balance: BigInt(row.balance), available: BigInt(row.available), holds: BigInt(row.holds) };
}

async function withdraw(k: Client, wallet: Address, currency: string, amount: number): Promise<string> {
  const r = await k<{ withdrawalId: string }>("POST", "/api/v3/withdrawals", { currency, toAddress: wallet, amount, withdrawType: "ADDRESS" });
  assert.equal(r.code, "200000", JSON.stringify(r));
  return r.data.withdrawalId;
}

async function tokenBalance(chain: ChainFixture, token: "CashToken" | "GoldToken", wallet: Address): Promise<bigint> {
  const t = await chain.connection.viem.getContractAt("AssetToken", chain.deployment.contracts[token]);
  return t.read.balanceOf([wallet]);
}

/** The gateway process on `chain` (through `rpcUrl`) with its own data directory, restartable with kill -9. */
function exchangeOn(chain: ChainFixture, confirmations: number, rpcUrl = chain.rpcUrl!) {
  const dataDir = mkdtempSync(path.join(tmpdir(), "sen-settle-faults-"));
  const env = {
    SEN_CHAIN_RPC: rpcUrl,
    SEN_DEPLOYMENT: chain.deploymentFile!,
    SEN_DATA_DIR: dataDir,
    SEN_CHAIN_KEY: chain.operatorKey,
    SEN_CONFIRMATIONS: String(confirmations),
    SEN_CHAIN_POLL_MS: "100",
    // The audit anchorer sends with the same key: no checkpoint, so no anchor transaction
    // joins the mempool these tests inspect or moves the block height they count.
    SEN_AUDIT_CHECKPOINT_MS: "3600000",
  };
  let current: ExchangeProcess | undefined;
  return {
    get url() {
      return current!.url;
    },
    async start() {
      current = await spawnExchange(env);
    },
    async kill9() {
      await current!.kill9();
    },
    async close() {
      await current?.stop().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

describe("gateway kill -9 with deposits and a payout in flight", () => {
  let chain: ChainFixture;
  before(async () => {
    chain = await startChain({ serve: true });
  });
  after(async () => {
    await chain?.close();
  });

  it("credits each deposit once and pays the withdrawal once; the ledger ends equal to the vault's books", async () => {
    const provider = chain.connection.provider;
    const mine = (blocks: number) => provider.request({ method: "hardhat_mine", params: [`0x${blocks.toString(16)}`] });
    const ex = exchangeOn(chain, 2);
    const [sellerIdx, buyerIdx] = [10, 11];
    const seller = hardhatAccount(sellerIdx).address;
    const buyer = hardhatAccount(buyerIdx).address;
    try {
      await ex.start();
      await chain.attest(seller, "faults-seller");
      await chain.attest(buyer, "faults-buyer");
      await chain.fundAndDeposit(sellerIdx, { gold: 100n });
      await chain.fundAndDeposit(buyerIdx, { vnd: 10_000_000n });
      await mine(2);
      const ks = kucoinClient(() => ex.url, await loginAndCreateKey(ex.url, hardhatAccount(sellerIdx)));
      const kb = kucoinClient(() => ex.url, await loginAndCreateKey(ex.url, hardhatAccount(buyerIdx), ["General", "Trade", "Withdraw"]));
      const traders: Trader[] = [
        { wallet: seller, client: ks },
        { wallet: buyer, client: kb },
      ];
      await until("initial deposits credited", async () => (await balance(kb, "VND")).balance === 10_000_000n && (await balance(ks, "GOLD")).balance === 100n);

      // A trade, settled on chain before anything goes wrong.
      for (const [k, side] of [
        [ks, "sell"],
        [kb, "buy"],
      ] as const) {
        const r = await k("POST", "/api/v1/orders", { clientOid: `f-${side}`, side, symbol: SYMBOL, type: "limit", price: "10000", size: "10" });
        assert.equal(r.code, "200000", JSON.stringify(r));
      }
      await until("trade settled", async () => (await settledOnChain(chain)).length === 1);
      const vndBefore = (await balance(kb, "VND")).balance;

      // D1: on chain, but no block is mined after it before the gateway dies, so it is never
      // 2 deep while that gateway runs.
      await chain.fundAndDeposit(buyerIdx, { vnd: 500_000n });

      // The payout is broadcast (mining stopped) and the gateway dies before its receipt.
      await provider.request({ method: "evm_setAutomine", params: [false] });
      const w = await withdraw(kb, buyer, "GOLD", 4);
      await until("withdraw broadcast", async () => (await pendingVaultCalls(chain)).some((c) => c.functionName === "withdraw"));
      await ex.kill9();

      // While it is down: the payout is mined, and D2 arrives.
      await provider.request({ method: "evm_setAutomine", params: [true] });
      await mine(1);
      await chain.fundAndDeposit(buyerIdx, { vnd: 250_000n });
      await mine(2);

      await ex.start();
      const done = await until(
        "withdrawal final after restart",
        async () => {
          const row = (await withdrawals(kb)).find((x) => x.id === w);
          return row && FINAL.has(row.status) ? row : undefined;
        },
        30_000,
      );
      await until("D1 and D2 credited", async () => (await balance(kb, "VND")).balance >= vndBefore + 750_000n, 30_000);

      // Paid exactly once, and the gateway says so, naming the transaction that paid.
      const payouts = (await withdrawnOnChain(chain)).filter((p) => p.withdrawalId === w);
      assert.equal(payouts.length, 1, "one Withdrawn event");
      assert.equal(await tokenBalance(chain, "GoldToken", buyer), 4n, "the wallet received the tokens once");
      assert.equal(done.status, "SUCCESS");
      assert.equal(done.walletTxId, payouts[0].txHash);
      // Each deposit credited once (restarted watchers rescan from the deployment block).
      assert.equal((await balance(kb, "VND")).balance, vndBefore + 750_000n);
      assert.deepEqual(await ledgerBooks(traders), await vaultBooks(chain, [seller, buyer]));
    } finally {
      await provider.request({ method: "evm_setAutomine", params: [true] });
      await ex.close();
    }
  });
});

describe("gateway kill -9 with payouts still unmined when it comes back", () => {
  let chain: ChainFixture;
  before(async () => {
    chain = await startChain({ serve: true });
  });
  after(async () => {
    await chain?.close();
  });

  it("pays each withdrawal once and never releases a hold the chain may still pay out", async () => {
    const provider = chain.connection.provider;
    const ex = exchangeOn(chain, 0);
    const idx = 16; // #12 is the vault's tax account
    const wallet = hardhatAccount(idx).address;
    try {
      await ex.start();
      await chain.attest(wallet, "faults-mempool");
      await chain.fundAndDeposit(idx, { vnd: 1_000_000n, gold: 50n });
      const k = kucoinClient(() => ex.url, await loginAndCreateKey(ex.url, hardhatAccount(idx), ["General", "Trade", "Withdraw"]));
      await until("deposits credited", async () => (await balance(k, "VND")).balance === 1_000_000n && (await balance(k, "GOLD")).balance === 50n);

      // Two payouts sit in the mempool when the gateway dies; they are still there when it is back.
      await provider.request({ method: "evm_setAutomine", params: [false] });
      const sent = async (id: string) => (await pendingVaultCalls(chain)).filter((c) => c.functionName === "withdraw" && c.args[0] === BigInt(id)).length;
      const ids: string[] = [];
      for (const [currency, amount] of [
        ["GOLD", 20],
        ["VND", 300_000],
      ] as const) {
        const id = await withdraw(k, wallet, currency, amount);
        await until(`payout ${id} broadcast`, async () => (await sent(id)) === 1);
        ids.push(id);
      }
      await ex.kill9();
      await ex.start();
      // The restarted gateway drives both again: wait until it has acted on each.
      await until(
        "the restarted gateway acted on both withdrawals",
        async () => {
          const rows = await withdrawals(k);
          for (const id of ids) if ((await sent(id)) < 2 && !FINAL.has(rows.find((r) => r.id === id)!.status)) return false;
          return true;
        },
        30_000,
      );
      await provider.request({ method: "evm_setAutomine", params: [true] });
      await provider.request({ method: "evm_mine", params: [] });

      const rows = await until(
        "both withdrawals final",
        async () => {
          const all = await withdrawals(k);
          return ids.every((id) => FINAL.has(all.find((r) => r.id === id)!.status)) ? all : undefined;
        },
        30_000,
      );
      const payouts = await withdrawnOnChain(chain);
      for (const id of ids) {
        const row = rows.find((r) => r.id === id)!;
        assert.equal(payouts.filter((p) => p.withdrawalId === id).length, 1, `withdrawal ${id} paid exactly once`);
        assert.equal(row.status, "SUCCESS", `withdrawal ${id} was paid on chain, so it must not be reported ${row.status} (${row.remark})`);
      }
      for (const id of ids) assert.equal(rows.find((r) => r.id === id)!.walletTxId, payouts.find((p) => p.withdrawalId === id)!.txHash, `the payout of ${id}`);
      assert.equal(await tokenBalance(chain, "GoldToken", wallet), 20n);
      assert.equal(await tokenBalance(chain, "CashToken", wallet), 300_000n);
      assert.deepEqual(await ledgerBooks([{ wallet, client: k }]), await vaultBooks(chain, [wallet]));
      const gold = await balance(k, "GOLD");
      assert.deepEqual([gold.available, gold.holds], [30n, 0n]);
    } finally {
      await provider.request({ method: "evm_setAutomine", params: [true] });
      await ex.close();
    }
  });
});

describe("a payout whose receipt the RPC provider will not return (rate limited)", () => {
  let chain: ChainFixture;
  let rpc: Awaited<ReturnType<typeof startFaultyRpc>>;
  before(async () => {
    chain = await startChain({ serve: true });
    rpc = await startFaultyRpc(chain.rpcUrl!);
  });
  after(async () => {
    await rpc?.close();
    await chain?.close();
  });

  it("keeps the hold while the outcome is unknown and records the payout the vault made", async () => {
    const ex = exchangeOn(chain, 0, rpc.url);
    const idx = 15;
    const wallet = hardhatAccount(idx).address;
    try {
      await ex.start();
      await chain.attest(wallet, "faults-rate-limited");
      await chain.fundAndDeposit(idx, { gold: 40n });
      const k = kucoinClient(() => ex.url, await loginAndCreateKey(ex.url, hardhatAccount(idx), ["General", "Trade", "Withdraw"]));
      await until("deposit credited", async () => (await balance(k, "GOLD")).balance === 40n);

      rpc.rateLimit("eth_getTransactionReceipt");
      const id = await withdraw(k, wallet, "GOLD", 15);
      await until("paid on chain", async () => (await withdrawnOnChain(chain)).some((p) => p.withdrawalId === id));
      const row = await until(
        "withdrawal final",
        async () => {
          const r = (await withdrawals(k)).find((x) => x.id === id);
          return r && FINAL.has(r.status) ? r : undefined;
        },
        30_000,
      );
      assert.ok(rpc.refusedCount("eth_getTransactionReceipt") > 0, "the gateway met the rate limit");
      const payouts = (await withdrawnOnChain(chain)).filter((p) => p.withdrawalId === id);
      assert.equal(payouts.length, 1);
      assert.equal(row.status, "SUCCESS", `the vault paid it, so it must not be reported ${row.status} (${row.remark})`);
      assert.equal(row.walletTxId, payouts[0].txHash);
      assert.equal(await tokenBalance(chain, "GoldToken", wallet), 15n);
      const gold = await balance(k, "GOLD");
      assert.deepEqual([gold.balance, gold.available, gold.holds], [25n, 25n, 0n]);
      assert.deepEqual(await ledgerBooks([{ wallet, client: k }]), await vaultBooks(chain, [wallet]));
    } finally {
      rpc.rateLimit(undefined);
      await ex.close();
    }
  });
});

describe("a payout the vault refuses", () => {
  it("is reported failed and returns exactly the held amount to available", async () => {
    const chain = await startChain();
    // The gateway's holder rules would refuse this payout up front (holderRules.test.ts): here the
    // freeze is taken to land after that check, so it is the vault that refuses.
    const gw = await startTestGateway(chain, { holderRules: false });
    const services = await startTestChainServices(chain, gw.ctx);
    try {
      const idx = 14;
      const wallet = hardhatAccount(idx).address;
      await chain.attest(wallet, "faults-frozen");
      await chain.fundAndDeposit(idx, { gold: 30n });
      const creds = await loginAndCreateKey(gw.url, hardhatAccount(idx), ["General", "Trade", "Withdraw"]);
      const k = kucoinClient(() => gw.url, creds);
      await until("deposit credited", async () => (await balance(k, "GOLD")).available === 30n);
      // Part of it rests in an order, so available differs from the total and both must come back right.
      const order = await k("POST", "/api/v1/orders", { clientOid: "frozen-1", side: "sell", symbol: SYMBOL, type: "limit", price: "10000", size: "5" });
      assert.equal(order.code, "200000", JSON.stringify(order));
      const before = await balance(k, "GOLD");
      assert.deepEqual([before.balance, before.available, before.holds], [30n, 25n, 5n]);

      // The gold's transfer agent freezes the wallet on chain (ERC-7943): its e-ID is still valid,
      // so the gateway keeps the account open, but the vault cannot deliver tokens to it.
      const gold = await chain.connection.viem.getContractAt("AssetToken", chain.deployment.contracts.GoldToken, { client: { wallet: chain.wallets.agent } });
      await chain.publicClient.waitForTransactionReceipt({ hash: await gold.write.setAddressFrozen([wallet, true]) });

      const id = await withdraw(k, wallet, "GOLD", 12);
      const failed = await until("withdrawal failed", async () => {
        const row = (await withdrawals(k)).find((r) => r.id === id);
        return row && FINAL.has(row.status) ? row : undefined;
      });
      assert.equal(failed.status, "FAILURE");
      assert.match(failed.remark, /^reverted: ERC7943CannotReceive\(0x[0-9a-fA-F]{40}\)$/, "the reason is the decoded custom error");
      assert.equal(failed.walletTxId, null);
      assert.equal(gw.ctx.trading.core.isFrozen(creds.accountId), undefined, "the account itself stays open");
      const after = await balance(k, "GOLD");
      assert.deepEqual([after.balance, after.available, after.holds], [30n, 25n, 5n], "the hold is released exactly");
      assert.equal(await chain.vaultBalance("GoldToken", wallet), 30n, "the vault paid nothing");
      assert.equal(await tokenBalance(chain, "GoldToken", wallet), 0n);
      const vault = await chain.connection.viem.getContractAt("SettlementVault", chain.deployment.contracts.SettlementVault);
      assert.equal(await vault.read.isWithdrawn([BigInt(id)]), false);

      // Once unfrozen, the released amount can be withdrawn in full: it was really available again.
      await chain.publicClient.waitForTransactionReceipt({ hash: await gold.write.setAddressFrozen([wallet, false]) });
      const again = await withdraw(k, wallet, "GOLD", 25);
      const paid = await until("second withdrawal final", async () => {
        const row = (await withdrawals(k)).find((r) => r.id === again);
        return row && FINAL.has(row.status) ? row : undefined;
      });
      assert.equal(paid.status, "SUCCESS", paid.remark);
      assert.equal(await tokenBalance(chain, "GoldToken", wallet), 25n);
      assert.deepEqual(await ledgerBooks([{ wallet, client: k }]), await vaultBooks(chain, [wallet]));
    } finally {
      await services.stop();
      await gw.close();
      await chain.close();
    }
  });
});
