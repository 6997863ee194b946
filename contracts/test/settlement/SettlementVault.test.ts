import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeFunctionData, getAddress, keccak256, parseEventLogs, toHex, type Address } from "viem";
import { deploySen, PROFESSIONAL, RETAIL } from "../helpers/fixture.ts";

describe("SettlementVault", async () => {
  const sen = await deploySen();
  const { vault, cash, bond, fund, registry, viem, networkHelpers, publicClient, issuer, bank, agent, settler, withdrawer, fees, traders, as, attest } =
    sen;
  const [seller, buyer, third, mallory] = traders;
  const S = seller.account.address;
  const Bu = buyer.account.address;
  const T = third.account.address;
  const ref = keccak256(toHex("ref"));

  const sellerId = await attest(S, { label: "seller", investor: PROFESSIONAL });
  const buyerId = await attest(Bu, { label: "buyer", investor: PROFESSIONAL });
  await attest(T, { label: "third", investor: RETAIL });
  await bond.write.mint([S, 1_000n], as(issuer));
  await fund.write.mint([S, 1_000n], as(issuer));
  await cash.write.mint([Bu, 10_000_000n, ref], as(bank));
  await bond.write.approve([vault.address, 1_000n], as(seller));
  await vault.write.deposit([bond.address, 1_000n], as(seller));
  await fund.write.approve([vault.address, 1_000n], as(seller));
  await vault.write.deposit([fund.address, 1_000n], as(seller));
  await cash.write.approve([vault.address, 10_000_000n], as(buyer));
  await vault.write.deposit([cash.address, 10_000_000n], as(buyer));
  const base = await networkHelpers.takeSnapshot();

  let nextTradeId = 1n;
  function trade(over: Partial<{ tradeId: bigint; asset: Address; seller: Address; buyer: Address; assetAmount: bigint; cashAmount: bigint; sellerFee: bigint; buyerFee: bigint }> = {}) {
    return {
      tradeId: nextTradeId++,
      asset: bond.address,
      seller: S,
      buyer: Bu,
      assetAmount: 10n,
      cashAmount: 100_000n,
      sellerFee: 100n,
      buyerFee: 150n,
      ...over,
    };
  }
  const book = (token: { address: Address }, w: Address) => vault.read.balanceOf([token.address, w]);

  describe("deposit", () => {
    it("credits the depositor's book with a sequential id", async () => {
      await base.restore();
      assert.equal(await book(bond, S), 1_000n);
      assert.equal(await book(cash, Bu), 10_000_000n);
      assert.equal(await vault.read.depositCount(), 3n);
      assert.equal(await bond.read.balanceOf([vault.address]), 1_000n);
    });

    it("only from verified wallets and only listed tokens", async () => {
      await base.restore();
      await viem.assertions.revertWithCustomError(vault.write.deposit([bond.address, 1n], as(mallory)), vault, "SettlementNotVerified");
      const plain = await viem.deployContract("PlainERC20");
      await viem.assertions.revertWithCustomError(vault.write.deposit([plain.address, 1n], as(seller)), vault, "SettlementTokenNotListed");
      await viem.assertions.revertWithCustomError(vault.write.deposit([bond.address, 0n], as(seller)), vault, "SettlementZeroAmount");
    });
  });

  describe("settleBatch (DvP)", () => {
    it("moves asset to the buyer, cash to the seller and fees to the fee account, atomically per trade", async () => {
      await base.restore();
      const t1 = trade();
      const t2 = trade({ asset: fund.address, assetAmount: 7n, cashAmount: 70_000n, sellerFee: 0n, buyerFee: 70n });
      const hash = await vault.write.settleBatch([[t1, t2]], as(settler));
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      const settled = parseEventLogs({ abi: vault.abi, logs: receipt.logs, eventName: "TradeSettled" });
      assert.deepEqual(settled.map((e) => e.args.tradeId), [t1.tradeId, t2.tradeId]);
      assert.equal(await book(bond, Bu), 10n);
      assert.equal(await book(bond, S), 990n);
      assert.equal(await book(fund, Bu), 7n);
      assert.equal(await book(cash, S), 100_000n - 100n + 70_000n);
      assert.equal(await book(cash, Bu), 10_000_000n - 100_000n - 150n - 70_000n - 70n);
      assert.equal(await book(cash, fees.account.address), 100n + 150n + 70n);
      // custody moves keep the fund's per-identity holdings right
      assert.equal(await fund.read.identityBalance([buyerId]), 7n);
      assert.equal(await fund.read.identityBalance([sellerId]), 993n);
      // nothing left the vault
      assert.equal(await cash.read.balanceOf([vault.address]), 10_000_000n);
    });

    it("a trade id settles once: resubmission is a no-op with an event, never a double transfer", async () => {
      await base.restore();
      const t = trade();
      await vault.write.settleBatch([[t]], as(settler));
      const before = [await book(bond, Bu), await book(cash, S)];
      await viem.assertions.emitWithArgs(vault.write.settleBatch([[t]], as(settler)), vault, "TradeAlreadySettled", [t.tradeId]);
      // and within one batch
      const u = trade();
      await vault.write.settleBatch([[u, u]], as(settler));
      assert.equal(await book(bond, Bu), before[0] + 10n);
      assert.equal(await vault.read.isSettled([t.tradeId]), true);
      assert.equal(await vault.read.isSettled([t.tradeId + 100n]), false);
    });

    it("one bad trade reverts the whole batch, naming it", async () => {
      await base.restore();
      const ok = trade();
      const tooBig = trade({ assetAmount: 5_000n });
      await viem.assertions.revertWithCustomErrorWithArgs(vault.write.settleBatch([[ok, tooBig]], as(settler)), vault, "SettlementInsufficientBalance", [
        getAddress(S),
        getAddress(bond.address),
        1_000n - 10n,
        5_000n,
      ]);
      assert.equal(await vault.read.isSettled([ok.tradeId]), false);
      assert.equal(await book(bond, Bu), 0n);
      await viem.assertions.revertWithCustomError(vault.write.settleBatch([[trade({ buyer: S })]], as(settler)), vault, "SettlementSelfTrade");
      await viem.assertions.revertWithCustomError(
        vault.write.settleBatch([[trade({ sellerFee: 200_000n })]], as(settler)),
        vault,
        "SettlementFeeExceedsProceeds",
      );
      await viem.assertions.revertWithCustomError(vault.write.settleBatch([[trade({ asset: cash.address })]], as(settler)), vault, "SettlementTokenNotListed");
    });

    it("both parties must still be verified and eligible at settlement", async () => {
      await base.restore();
      await registry.write.revoke([buyerId], as(issuer));
      await viem.assertions.revertWithCustomError(vault.write.settleBatch([[trade()]], as(settler)), bond, "ERC7943CannotReceive");
      await base.restore();
      await cash.write.setAddressFrozen([S, true], as(agent));
      await viem.assertions.revertWithCustomError(vault.write.settleBatch([[trade()]], as(settler)), cash, "ERC7943CannotReceive");
      await base.restore();
      await bond.write.setAddressFrozen([S, true], as(agent));
      await viem.assertions.revertWithCustomError(vault.write.settleBatch([[trade()]], as(settler)), bond, "ERC7943CannotSend");
      await base.restore();
      // the fund admits professionals only: a retail buyer is refused by the asset's rules
      await fund.write.setTransferRules([0, 1 << PROFESSIONAL, false, 0n]);
      await cash.write.mint([T, 1_000_000n, ref], as(bank));
      await cash.write.approve([vault.address, 1_000_000n], as(third));
      await vault.write.deposit([cash.address, 1_000_000n], as(third));
      await viem.assertions.revertWithCustomError(
        vault.write.settleBatch([[trade({ asset: fund.address, buyer: T, cashAmount: 1_000n, sellerFee: 0n, buyerFee: 0n })]], as(settler)),
        fund,
        "ERC7943CannotReceive",
      );
    });

    it("only the settler settles; pause stops it", async () => {
      await base.restore();
      await viem.assertions.revertWithCustomError(vault.write.settleBatch([[trade()]], as(seller)), vault, "AccessControlUnauthorizedAccount");
      await viem.assertions.revertWithCustomError(vault.write.pause(as(settler)), vault, "AccessControlUnauthorizedAccount");
      await vault.write.pause(as(agent));
      await viem.assertions.revertWithCustomError(vault.write.settleBatch([[trade()]], as(settler)), vault, "EnforcedPause");
      await viem.assertions.revertWithCustomError(vault.write.deposit([bond.address, 1n], as(seller)), vault, "EnforcedPause");
    });
  });

  describe("withdraw", () => {
    it("pays out to the balance owner's own verified wallet, once per withdrawal id", async () => {
      await base.restore();
      await viem.assertions.emitWithArgs(vault.write.withdraw([1n, Bu, cash.address, 1_000n], as(withdrawer)), vault, "Withdrawn", [
        1n,
        getAddress(Bu),
        getAddress(cash.address),
        1_000n,
      ]);
      assert.equal(await cash.read.balanceOf([Bu]), 1_000n);
      await viem.assertions.emitWithArgs(vault.write.withdraw([1n, Bu, cash.address, 1_000n], as(withdrawer)), vault, "WithdrawalAlreadyDone", [1n]);
      assert.equal(await cash.read.balanceOf([Bu]), 1_000n);
      assert.equal(await book(cash, Bu), 10_000_000n - 1_000n);
    });

    it("refuses other roles, unverified owners and overdrafts", async () => {
      await base.restore();
      await viem.assertions.revertWithCustomError(vault.write.withdraw([2n, Bu, cash.address, 1n], as(buyer)), vault, "AccessControlUnauthorizedAccount");
      await viem.assertions.revertWithCustomError(vault.write.withdraw([2n, S, cash.address, 1n], as(withdrawer)), vault, "SettlementInsufficientBalance");
      await registry.write.revoke([buyerId], as(issuer));
      await viem.assertions.revertWithCustomError(vault.write.withdraw([2n, Bu, cash.address, 1n], as(withdrawer)), vault, "SettlementNotVerified");
      assert.equal(await vault.read.isWithdrawn([2n]), false);
    });
  });

  it("a hostile token cannot re-enter deposit or withdraw", async () => {
    await base.restore();
    const hostile = await viem.deployContract("ReentrantToken");
    await vault.write.setAssetListed([hostile.address, true]);
    await vault.write.grantRole([await vault.read.WITHDRAWER_ROLE(), hostile.address]);
    await hostile.write.transfer([S, 1_000n]);
    await hostile.write.approve([vault.address, 1_000n], as(seller));
    // during deposit's transferFrom the token calls vault.withdraw(...) as a withdrawer
    await hostile.write.arm([
      vault.address,
      encodeFunctionData({ abi: vault.abi, functionName: "withdraw", args: [9n, S, cash.address, 1n] }),
    ]);
    await viem.assertions.revertWithCustomError(vault.write.deposit([hostile.address, 100n], as(seller)), vault, "ReentrancyGuardReentrantCall");
    assert.equal(await book(hostile, S), 0n);
    assert.equal(await vault.read.isWithdrawn([9n]), false);
  });
});
