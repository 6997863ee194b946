import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeAbiParameters, encodeErrorResult, encodeFunctionData, getAddress, keccak256, parseEventLogs, toHex, zeroAddress, type Abi, type Address, type Hex } from "viem";
import { deploySen, PROFESSIONAL, RETAIL, SINGAPORE, VIET_NAM } from "../helpers/fixture.ts";

/** The vault's default income-tax rate: 0.1% of each sale, in basis points. */
const TAX_RATE_BPS = 10n;
/** floor(cashAmount * rate / 10,000): whole đồng, rounded down. */
const taxOf = (cashAmount: bigint, rateBps = TAX_RATE_BPS) => (cashAmount * rateBps) / 10_000n;

describe("SettlementVault", async () => {
  const sen = await deploySen();
  const { vault, cash, bond, fund, registry, viem, networkHelpers, publicClient, gov, issuer, bank, agent, settler, withdrawer, fees, taxes, traders, as, attest } =
    sen;
  const [seller, buyer, third, mallory, spare] = traders;
  const S = seller.account.address;
  const Bu = buyer.account.address;
  const T = third.account.address;
  const N = spare.account.address; // an unattested wallet, bound to an identity when a test needs it
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
  /** A trade; its seller's tax is the default rate's unless given. */
  function trade(over: Partial<{ tradeId: bigint; asset: Address; seller: Address; buyer: Address; assetAmount: bigint; cashAmount: bigint; sellerFee: bigint; buyerFee: bigint; sellerTax: bigint }> = {}) {
    const t = {
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
    return { ...t, sellerTax: over.sellerTax ?? taxOf(t.cashAmount) };
  }
  const TAX = taxes.account.address;
  const book = (token: { address: Address }, w: Address) => vault.read.balanceOf([token.address, w]);
  /** A hostile token (it calls back into the vault while it transfers), listed, 1,000 of it in S's custody. */
  const hostileInCustody = async () => {
    const hostile = await viem.deployContract("ReentrantToken");
    await vault.write.setAssetListed([hostile.address, true]);
    await hostile.write.transfer([S, 1_000n]);
    await hostile.write.approve([vault.address, 1_000n], as(seller));
    await vault.write.deposit([hostile.address, 1_000n], as(seller));
    return hostile;
  };

  type Trade = ReturnType<typeof trade>;
  /** The revert data of `errorName(args)` as a contract encodes it. */
  const errorData = (abi: Abi, errorName: string, args: readonly unknown[] = []): Hex => encodeErrorResult({ abi, errorName, args } as never);
  /** settleBatch must revert with SettlementTradeFailed naming `t` and carrying `reason`. */
  async function expectTradeFailed(batch: Trade[], t: Trade, reason: Hex) {
    await viem.assertions.revertWithCustomErrorWithArgs(vault.write.settleBatch([batch], as(settler)), vault, "SettlementTradeFailed", [t.tradeId, reason]);
  }
  /** The vault's record of an id's content: the top 128 bits of the keccak, lowest bit set. */
  const fingerprint = (encoded: Hex): Hex => toHex((BigInt(keccak256(encoded)) >> 128n) | 1n, { size: 16 });
  const tradeFingerprint = (t: Trade) =>
    fingerprint(
      encodeAbiParameters(
        [{ type: "uint256" }, { type: "address" }, { type: "address" }, { type: "address" }, { type: "uint256" }, { type: "uint256" }, { type: "uint256" }, { type: "uint256" }, { type: "uint256" }],
        [t.tradeId, t.asset, t.seller, t.buyer, t.assetAmount, t.cashAmount, t.sellerFee, t.buyerFee, t.sellerTax],
      ),
    );
  const withdrawalFingerprint = (wallet: Address, token: Address, amount: bigint) =>
    fingerprint(encodeAbiParameters([{ type: "address" }, { type: "address" }, { type: "uint256" }], [wallet, token, amount]));

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
    it("moves asset to the buyer, cash to the seller, fees to the fee account and tax to the tax account, atomically per trade", async () => {
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
      assert.equal(await book(cash, S), 100_000n - 100n - taxOf(100_000n) + 70_000n - taxOf(70_000n));
      assert.equal(await book(cash, Bu), 10_000_000n - 100_000n - 150n - 70_000n - 70n);
      assert.equal(await book(cash, fees.account.address), 100n + 150n + 70n);
      assert.equal(await book(cash, TAX), taxOf(100_000n) + taxOf(70_000n));
      assert.deepEqual(settled.map((e) => e.args.sellerTax), [100n, 70n]);
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

    it("every trade that cannot settle reverts the batch with SettlementTradeFailed naming it and the reason", async () => {
      await base.restore();
      const ok = trade();
      const tooBig = trade({ assetAmount: 5_000n });
      // the seller's book is debited (and checked) before any token is asked
      await expectTradeFailed([ok, tooBig], tooBig, errorData(vault.abi, "SettlementInsufficientBalance", [getAddress(S), getAddress(bond.address), 1_000n - 10n, 5_000n]));
      assert.equal(await vault.read.isSettled([ok.tradeId]), false);
      assert.equal(await book(bond, Bu), 0n);
      // the identity-tracked fund once tripped its own checked arithmetic first (Panic 0x11)
      const fundTooBig = trade({ asset: fund.address, assetAmount: 5_000n });
      await expectTradeFailed([fundTooBig], fundTooBig, errorData(vault.abi, "SettlementInsufficientBalance", [getAddress(S), getAddress(fund.address), 1_000n, 5_000n]));
      const broke = trade({ cashAmount: 20_000_000n, sellerFee: 0n, buyerFee: 0n });
      await expectTradeFailed([broke], broke, errorData(vault.abi, "SettlementInsufficientBalance", [getAddress(Bu), getAddress(cash.address), 10_000_000n, 20_000_000n]));
      const feeBroke = trade({ cashAmount: 9_999_990n, sellerFee: 0n, buyerFee: 11n });
      await expectTradeFailed([feeBroke], feeBroke, errorData(vault.abi, "SettlementInsufficientBalance", [getAddress(Bu), getAddress(cash.address), 10_000_000n, 10_000_001n]));
      const self = trade({ buyer: S });
      await expectTradeFailed([self], self, errorData(vault.abi, "SettlementSelfTrade", [getAddress(S)]));
      const cashAsAsset = trade({ asset: cash.address });
      await expectTradeFailed([cashAsAsset], cashAsAsset, errorData(vault.abi, "SettlementTokenNotListed", [getAddress(cash.address)]));
      await vault.write.setAssetListed([fund.address, false]);
      const delisted = trade({ asset: fund.address });
      await expectTradeFailed([ok, delisted], delisted, errorData(vault.abi, "SettlementTokenNotListed", [getAddress(fund.address)]));
    });

    it("two wallets of one identity cannot trade with each other (wash trade across one's own wallets)", async () => {
      await base.restore();
      await registry.write.addWallet([buyerId, N], as(issuer)); // the buyer's second wallet
      await bond.write.mint([N, 10n], as(issuer));
      await bond.write.approve([vault.address, 10n], as(spare));
      await vault.write.deposit([bond.address, 10n], as(spare));
      const wash = trade({ seller: N, buyer: Bu });
      await expectTradeFailed([trade(), wash], wash, errorData(vault.abi, "SettlementSelfTradeIdentity", [getAddress(N), getAddress(Bu), buyerId]));
      // once unbound, the wallet is still that person's: the rule holds on its last identity
      await registry.write.removeWallet([N], as(issuer));
      const later = trade({ seller: Bu, buyer: N });
      await expectTradeFailed([later], later, errorData(vault.abi, "SettlementSelfTradeIdentity", [getAddress(Bu), getAddress(N), buyerId]));
      // two identities still trade
      await vault.write.settleBatch([[trade()]], as(settler));
    });

    it("the tokens' holder rules, freezes and pauses fail a trade by its id too", async () => {
      await base.restore();
      await registry.write.revoke([buyerId], as(issuer));
      let t = trade();
      await expectTradeFailed([t], t, errorData(bond.abi, "ERC7943CannotReceive", [getAddress(Bu)]));
      await base.restore();
      await cash.write.setAddressFrozen([S, true], as(agent));
      t = trade();
      await expectTradeFailed([t], t, errorData(cash.abi, "ERC7943CannotReceive", [getAddress(S)]));
      await base.restore();
      await bond.write.setAddressFrozen([S, true], as(agent));
      t = trade();
      await expectTradeFailed([t], t, errorData(bond.abi, "ERC7943CannotSend", [getAddress(S)]));
      await base.restore();
      await bond.write.pause(as(agent));
      t = trade();
      await expectTradeFailed([t], t, errorData(bond.abi, "TokenIsPaused"));
      await base.restore();
      await cash.write.pause(as(agent));
      t = trade();
      await expectTradeFailed([t], t, errorData(cash.abi, "TokenIsPaused"));
      await base.restore();
      // the fund admits professionals only: a retail buyer is refused by the asset's rules
      await fund.write.setTransferRules([0, 1 << PROFESSIONAL, 0, 0n]);
      await cash.write.mint([T, 1_000_000n, ref], as(bank));
      await cash.write.approve([vault.address, 1_000_000n], as(third));
      await vault.write.deposit([cash.address, 1_000_000n], as(third));
      t = trade({ asset: fund.address, buyer: T, cashAmount: 1_000n, sellerFee: 0n, buyerFee: 0n });
      await expectTradeFailed([trade(), t], t, errorData(fund.abi, "ERC7943CannotReceive", [getAddress(T)]));
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

  describe("fees and prices", () => {
    it("fees are capped in basis points of the cash amount, rounded up, as governance sets", async () => {
      await base.restore();
      assert.deepEqual(await vault.read.feeCaps(), [100, 100], "1% on either side by default");
      // The exchange's own fees (maker 0.10%, taker 0.20%, rounded up) always pass: 0.20% of
      // 1 đồng rounds up to 1, as does the cap's 1%.
      await vault.write.settleBatch([[trade({ assetAmount: 1n, cashAmount: 1n, sellerFee: 1n, buyerFee: 1n })]], as(settler));
      // 1% of 150 is 1.5: the cap is 2
      await vault.write.settleBatch([[trade({ cashAmount: 150n, sellerFee: 2n, buyerFee: 2n })]], as(settler));
      let t = trade({ cashAmount: 150n, sellerFee: 0n, buyerFee: 3n });
      await expectTradeFailed([t], t, errorData(vault.abi, "SettlementFeeExceedsCap", [3n, 150n, 100n]));
      t = trade({ cashAmount: 150n, sellerFee: 3n, buyerFee: 0n });
      await expectTradeFailed([t], t, errorData(vault.abi, "SettlementFeeExceedsCap", [3n, 150n, 100n]));
      // an uncapped buyer fee once drained the buyer's whole book
      t = trade({ buyerFee: 5_000_000n });
      await expectTradeFailed([t], t, errorData(vault.abi, "SettlementFeeExceedsCap", [5_000_000n, 100_000n, 100n]));

      await viem.assertions.revertWithCustomError(vault.write.setFeeCaps([10, 20], as(settler)), vault, "AccessControlUnauthorizedAccount");
      await viem.assertions.revertWithCustomErrorWithArgs(vault.write.setFeeCaps([10_001, 20]), vault, "SettlementInvalidFeeCap", [10_001]);
      await viem.assertions.emitWithArgs(vault.write.setFeeCaps([10, 20]), vault, "FeeCapsSet", [10, 20]);
      assert.deepEqual(await vault.read.feeCaps(), [10, 20]);
      // 0.20% of 100,001 is 200.002: the buyer's cap is 201, the seller's (0.10%) 101
      await vault.write.settleBatch([[trade({ cashAmount: 100_001n, sellerFee: 101n, buyerFee: 201n })]], as(settler));
      t = trade({ cashAmount: 100_001n, sellerFee: 102n, buyerFee: 0n });
      await expectTradeFailed([t], t, errorData(vault.abi, "SettlementFeeExceedsCap", [102n, 100_001n, 10n]));
      assert.equal(await vault.read.feeAccount(), getAddress(fees.account.address), "the fee account is kept beside the caps");
    });

    it("a trade with no asset or no cash (a zero price) is refused", async () => {
      await base.restore();
      for (const [assetAmount, cashAmount] of [
        [0n, 100_000n],
        [10n, 0n],
        [0n, 0n],
      ]) {
        const t = trade({ assetAmount, cashAmount, sellerFee: 0n, buyerFee: 0n });
        await expectTradeFailed([t], t, errorData(vault.abi, "SettlementInvalidPrice", [assetAmount, cashAmount]));
      }
    });
  });

  describe("income tax withheld from the seller", () => {
    it("takes exactly floor(cashAmount × 0.1%) per sale, so small sales pay none, and books the batch's tax to the tax account", async () => {
      await base.restore();
      const cashAmounts = [999n, 1_000n, 1_999n, 2_000n, 9_876_543n];
      assert.deepEqual(cashAmounts.map((c) => taxOf(c)), [0n, 1n, 1n, 2n, 9_876n]);
      const batch = cashAmounts.map((cashAmount) => trade({ assetAmount: 1n, cashAmount, sellerFee: 0n, buyerFee: 0n }));
      const sellerBefore = await book(cash, S);
      const receipt = await publicClient.waitForTransactionReceipt({ hash: await vault.write.settleBatch([batch], as(settler)) });
      const settled = parseEventLogs({ abi: vault.abi, logs: receipt.logs, eventName: "TradeSettled" });
      assert.deepEqual(settled.map((e) => e.args.sellerTax), [0n, 1n, 1n, 2n, 9_876n]);
      const proceeds = cashAmounts.reduce((a, b) => a + b, 0n);
      assert.equal(await book(cash, TAX), 9_880n);
      assert.equal(await book(cash, S) - sellerBefore, proceeds - 9_880n);
    });

    it("a tax one đồng off either way, or rounded up, is refused naming the trade and both amounts", async () => {
      await base.restore();
      for (const [cashAmount, submitted] of [
        [100_000n, 101n],
        [100_000n, 99n],
        [999n, 1n], // 0.999 đồng rounded up
        [1_999n, 2n],
        [100_000n, 0n],
      ] as const) {
        const t = trade({ cashAmount, sellerFee: 0n, buyerFee: 0n, sellerTax: submitted });
        await expectTradeFailed([trade(), t], t, errorData(vault.abi, "SettlementTaxMismatch", [taxOf(cashAmount), submitted]));
      }
      assert.equal(await book(cash, TAX), 0n);
    });

    it("fee and tax together may not exceed the seller's proceeds", async () => {
      await base.restore();
      await vault.write.setFeeCaps([10_000, 100]); // a fee of up to 100%: only the proceeds bound it
      const t = trade({ cashAmount: 100_000n, sellerFee: 99_901n, buyerFee: 0n });
      await expectTradeFailed([t], t, errorData(vault.abi, "SettlementDeductionsExceedProceeds", [99_901n, 100n, 100_000n]));
      await vault.write.settleBatch([[trade({ cashAmount: 100_000n, sellerFee: 99_900n, buyerFee: 0n })]], as(settler));
      assert.equal(await book(cash, S), 0n, "nothing left for the seller");
      assert.equal(await book(cash, TAX), 100n);
    });

    it("governance alone sets the rate and the account; the vault checks the rate in force, zero included", async () => {
      await base.restore();
      assert.deepEqual(await vault.read.taxPolicy(), { account: getAddress(TAX), rateBps: 10 });
      assert.equal(await vault.read.DEFAULT_TAX_RATE_BPS(), 10);
      await viem.assertions.revertWithCustomErrorWithArgs(vault.write.setTaxPolicy([TAX, 0], as(settler)), vault, "AccessControlUnauthorizedAccount", [
        getAddress(settler.account.address),
        `0x${"00".repeat(32)}`,
      ]);
      await viem.assertions.revertWithCustomErrorWithArgs(vault.write.setTaxPolicy([TAX, 1_001], as(gov)), vault, "SettlementInvalidTaxRate", [1_001]);
      await viem.assertions.revertWithCustomErrorWithArgs(vault.write.setTaxPolicy([zeroAddress, 10], as(gov)), vault, "SettlementInvalidAccount", [zeroAddress]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        viem.deployContract("SettlementVault", [registry.address, cash.address, gov.account.address, fees.account.address, zeroAddress]),
        vault,
        "SettlementInvalidAccount",
        [zeroAddress],
      );

      // A zero rate: a trade matched at the old rate is refused, one with no tax settles.
      await viem.assertions.emitWithArgs(vault.write.setTaxPolicy([TAX, 0], as(gov)), vault, "TaxPolicySet", [getAddress(TAX), 0]);
      const stale = trade();
      await expectTradeFailed([stale], stale, errorData(vault.abi, "SettlementTaxMismatch", [0n, 100n]));
      await vault.write.settleBatch([[trade({ sellerTax: 0n })]], as(settler));
      assert.equal(await book(cash, S), 100_000n - 100n, "the seller keeps everything but its fee");
      assert.equal(await book(cash, TAX), 0n);

      // The maximum, 10%, to another account.
      await vault.write.setTaxPolicy([fees.account.address, 1_000], as(gov));
      await vault.write.settleBatch([[trade({ sellerTax: taxOf(100_000n, 1_000n) })]], as(settler));
      assert.equal(await book(cash, fees.account.address), 100n + 150n + 100n + 150n + 10_000n);
    });
  });

  describe("country rules through custody", () => {
    it("a block-list of Viet Nam refuses a 704 buyer at settlement and admits a 702 one", async () => {
      await base.restore();
      await fund.write.setCountriesListed([[VIET_NAM], true]);
      await fund.write.setTransferRules([0, 0, 2, 0n]);
      await attest(N, { label: "foreign buyer", country: SINGAPORE, investor: PROFESSIONAL });
      await cash.write.mint([N, 1_000_000n, ref], as(bank));
      await cash.write.approve([vault.address, 1_000_000n], as(spare));
      await vault.write.deposit([cash.address, 1_000_000n], as(spare));
      // The Vietnamese seller may still sell what it holds; a Vietnamese buyer may not receive.
      const domestic = trade({ asset: fund.address, assetAmount: 1n });
      await expectTradeFailed([domestic], domestic, errorData(fund.abi, "ERC7943CannotReceive", [getAddress(Bu)]));
      await vault.write.settleBatch([[trade({ asset: fund.address, assetAmount: 1n, buyer: N, cashAmount: 10_000n, sellerFee: 0n, buyerFee: 0n })]], as(settler));
      assert.equal(await book(fund, N), 1n);
      assert.equal(await book(fund, Bu), 0n);
    });
  });

  describe("ids carry their content", () => {
    it("a trade id reused with other content reverts naming it; the identical resend is still skipped", async () => {
      await base.restore();
      const t = trade();
      await vault.write.settleBatch([[t]], as(settler));
      await viem.assertions.emitWithArgs(vault.write.settleBatch([[t]], as(settler)), vault, "TradeAlreadySettled", [t.tradeId]);
      // the ninth word, the seller's tax, is part of the content too
      for (const changed of [{ ...t, cashAmount: t.cashAmount - 1n }, { ...t, buyer: T }, { ...t, buyerFee: 0n }, { ...t, sellerTax: t.sellerTax + 1n }]) {
        await expectTradeFailed([trade(), changed], changed, errorData(vault.abi, "SettlementIdReused", [t.tradeId, tradeFingerprint(t), tradeFingerprint(changed)]));
      }
      // inside one batch as well: the first occurrence settles, a different second one reverts it all
      const u = trade();
      const other = { ...u, assetAmount: 11n };
      await expectTradeFailed([u, other], other, errorData(vault.abi, "SettlementIdReused", [u.tradeId, tradeFingerprint(u), tradeFingerprint(other)]));
      assert.equal(await vault.read.isSettled([u.tradeId]), false);
      await vault.write.settleBatch([[u, u]], as(settler));
      assert.equal(await book(bond, Bu), 20n);
    });

    it("a withdrawal id reused with other content reverts; the identical resend is skipped", async () => {
      await base.restore();
      await vault.write.withdraw([7n, Bu, cash.address, 1_000n], as(withdrawer));
      await viem.assertions.emitWithArgs(vault.write.withdraw([7n, Bu, cash.address, 1_000n], as(withdrawer)), vault, "WithdrawalAlreadyDone", [7n]);
      await viem.assertions.revertWithCustomErrorWithArgs(vault.write.withdraw([7n, Bu, cash.address, 999n], as(withdrawer)), vault, "SettlementIdReused", [
        7n,
        withdrawalFingerprint(Bu, cash.address, 1_000n),
        withdrawalFingerprint(Bu, cash.address, 999n),
      ]);
      await viem.assertions.revertWithCustomError(vault.write.withdraw([7n, S, bond.address, 1_000n], as(withdrawer)), vault, "SettlementIdReused");
      assert.equal(await cash.read.balanceOf([Bu]), 1_000n);
      assert.equal(await book(cash, Bu), 10_000_000n - 1_000n);
    });
  });

  describe("frozen amounts cover custody", () => {
    it("frozen units in custody cannot be sold through settlement", async () => {
      await base.restore();
      // S holds its 1,000 bond units in custody, none in its wallet; 995 are frozen.
      await bond.write.setFrozenTokens([S, 995n], as(agent));
      assert.equal(await bond.read.canSend([S]), true);
      let t = trade({ assetAmount: 10n });
      await expectTradeFailed([t], t, errorData(bond.abi, "ERC7943InsufficientUnfrozenBalance", [getAddress(S), 10n, 5n]));
      await vault.write.settleBatch([[trade({ assetAmount: 5n })]], as(settler));
      assert.equal(await book(bond, S), 995n);
      assert.equal(await bond.read.canSend([S]), false, "everything S still holds is frozen");
      t = trade({ assetAmount: 1n });
      await expectTradeFailed([t], t, errorData(bond.abi, "ERC7943InsufficientUnfrozenBalance", [getAddress(S), 1n, 0n]));

      // The buyer's cash: the fee it pays on top counts against its unfrozen amount too.
      const buyerCash = await book(cash, Bu);
      await cash.write.setFrozenTokens([Bu, buyerCash - 100_000n], as(agent)); // 100,000 unfrozen
      await bond.write.mint([T, 2n], as(issuer));
      await bond.write.approve([vault.address, 2n], as(third));
      await vault.write.deposit([bond.address, 2n], as(third));
      t = trade({ assetAmount: 1n, seller: T, cashAmount: 100_000n, sellerFee: 0n, buyerFee: 150n });
      // of the 100,000 moved, 99,850 were still unfrozen once the fee was taken
      await expectTradeFailed([t], t, errorData(cash.abi, "ERC7943InsufficientUnfrozenBalance", [getAddress(Bu), 100_000n, 99_850n]));
      await vault.write.settleBatch([[trade({ assetAmount: 1n, seller: T, cashAmount: 99_500n, sellerFee: 0n, buyerFee: 500n })]], as(settler));
      assert.equal(await book(cash, Bu), buyerCash - 100_000n, "exactly the unfrozen amount was spent");
      assert.equal(await cash.read.canSend([Bu]), false);
    });

    it("wallet and custody share one frozen amount: canTransfer, canSend and transfers agree", async () => {
      await base.restore();
      await vault.write.withdraw([1n, S, bond.address, 100n], as(withdrawer)); // wallet 100, custody 900
      await bond.write.setFrozenTokens([S, 950n], as(agent)); // 50 unfrozen in all
      assert.equal(await bond.read.canTransfer([S, T, 50n]), true);
      assert.equal(await bond.read.canTransfer([S, T, 51n]), false);
      await viem.assertions.revertWithCustomErrorWithArgs(bond.write.transfer([T, 51n], as(seller)), bond, "ERC7943InsufficientUnfrozenBalance", [getAddress(S), 51n, 50n]);
      await bond.write.transfer([T, 50n], as(seller));
      assert.equal(await bond.read.canSend([S]), false);
      assert.equal(await bond.read.canTransfer([S, T, 1n]), false);
      await viem.assertions.revertWithCustomErrorWithArgs(bond.write.transfer([T, 1n], as(seller)), bond, "ERC7943InsufficientUnfrozenBalance", [getAddress(S), 1n, 0n]);
      // Withdrawing custody keeps the holdings whole, so it stays allowed.
      await vault.write.withdraw([2n, S, bond.address, 900n], as(withdrawer));
      assert.equal(await bond.read.balanceOf([S]), 950n);
      // The payment bank never pays out frozen đồng held in custody either.
      await cash.write.setFrozenTokens([Bu, 9_999_000n], as(agent));
      await vault.write.withdraw([3n, Bu, cash.address, 5_000n], as(withdrawer)); // wallet 5,000, custody 9,995,000
      await viem.assertions.revertWithCustomErrorWithArgs(cash.write.burn([Bu, 1_001n, ref], as(bank)), cash, "ERC7943InsufficientUnfrozenBalance", [
        getAddress(Bu),
        1_001n,
        1_000n,
      ]);
      await cash.write.burn([Bu, 1_000n, ref], as(bank));
    });
  });

  describe("custody of a lost wallet", () => {
    it("the agent's recovery returns a lost wallet's custody to another wallet of its identity, with its freeze", async () => {
      await base.restore();
      await bond.write.setFrozenTokens([S, 100n], as(agent));
      await registry.write.addWallet([sellerId, N], as(issuer));
      await registry.write.removeWallet([S], as(issuer));
      // unbound, S can neither withdraw nor trade its custody
      await viem.assertions.revertWithCustomError(vault.write.withdraw([1n, S, bond.address, 1n], as(withdrawer)), vault, "SettlementNotVerified");
      await viem.assertions.revertWithCustomError(bond.write.recoverBalance([S, N], as(mallory)), bond, "AccessControlUnauthorizedAccount");

      const hash = await bond.write.recoverBalance([S, N], as(agent));
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      const returned = parseEventLogs({ abi: vault.abi, logs: receipt.logs, eventName: "CustodyReturned" });
      assert.deepEqual(
        returned.map((e) => e.args),
        [{ token: getAddress(bond.address), fromWallet: getAddress(S), toWallet: getAddress(N), amount: 1_000n }],
      );
      const recovered = parseEventLogs({ abi: bond.abi, logs: receipt.logs, eventName: "BalanceRecovered" });
      assert.deepEqual(recovered.map((e) => e.args), [{ lostWallet: getAddress(S), newWallet: getAddress(N), identityHash: sellerId, amount: 1_000n }]);
      assert.equal(await book(bond, S), 0n);
      assert.equal(await bond.read.balanceOf([N]), 1_000n);
      assert.equal(await bond.read.balanceOf([vault.address]), 0n, "the vault holds exactly its books");
      assert.equal(await bond.read.getFrozenTokens([N]), 100n);
      assert.equal(await bond.read.getFrozenTokens([S]), 0n);
      await viem.assertions.revertWithCustomErrorWithArgs(bond.write.transfer([T, 901n], as(spare)), bond, "ERC7943InsufficientUnfrozenBalance", [getAddress(N), 901n, 900n]);

      // The identity-tracked fund: per-identity holdings do not move (same identity).
      await fund.write.recoverBalance([S, N], as(agent));
      assert.equal(await fund.read.balanceOf([N]), 1_000n);
      assert.equal(await fund.read.identityBalance([sellerId]), 1_000n);
      // Nobody else can move a token's books: the vault only lets a token move its own.
      await vault.write.returnCustody([Bu, T], as(mallory));
      assert.equal(await book(cash, Bu), 10_000_000n);
    });

    it("a balance that came out of the vault is recoverable after its wallet was unbound", async () => {
      await base.restore();
      const t = trade({ asset: fund.address, assetAmount: 7n });
      await vault.write.settleBatch([[t]], as(settler));
      await vault.write.withdraw([1n, Bu, fund.address, 7n], as(withdrawer));
      await registry.write.addWallet([buyerId, N], as(issuer));
      await registry.write.removeWallet([Bu], as(issuer));
      await fund.write.recoverBalance([Bu, N], as(agent));
      assert.equal(await fund.read.balanceOf([N]), 7n);
      assert.equal(await fund.read.identityBalance([buyerId]), 7n);
      // and the buyer's remaining cash custody comes back to its wallet too
      await cash.write.recoverBalance([Bu, N], as(agent));
      assert.equal(await cash.read.balanceOf([N]), 10_000_000n - t.cashAmount - t.buyerFee);
      assert.equal(await book(cash, Bu), 0n);
    });
  });

  describe("the agent's forced transfer out of custody", () => {
    /** Every event of a receipt, by name, in order (token and vault logs together). */
    async function eventNames(hash: Hex) {
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      return parseEventLogs({ abi: [...bond.abi, ...vault.abi], logs: receipt.logs }).map((l) => l.eventName);
    }

    it("takes custody of a revoked, address-frozen holder to an eligible wallet: books, balances and events", async () => {
      await base.restore();
      await registry.write.revoke([sellerId], as(issuer));
      await bond.write.setAddressFrozen([S, true], as(agent));
      // the wallet path cannot reach it: the holder's wallet is empty, its tokens are in custody
      await viem.assertions.revertWithCustomError(bond.write.forcedTransfer([S, T, 400n], as(agent)), bond, "ERC20InsufficientBalance");
      const hash = await bond.write.forcedCustodyTransfer([vault.address, S, T, 400n], as(agent));
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      assert.deepEqual(
        parseEventLogs({ abi: vault.abi, logs: receipt.logs, eventName: "CustodySeized" }).map((e) => e.args),
        [{ token: getAddress(bond.address), fromWallet: getAddress(S), toWallet: getAddress(T), amount: 400n }],
      );
      assert.deepEqual(
        parseEventLogs({ abi: bond.abi, logs: receipt.logs, eventName: "ForcedCustodyTransfer" }).map((e) => e.args),
        [{ custodian: getAddress(vault.address), from: getAddress(S), to: getAddress(T), amount: 400n }],
      );
      assert.deepEqual(
        parseEventLogs({ abi: bond.abi, logs: receipt.logs, eventName: "Transfer" }).map((e) => e.args),
        [{ from: getAddress(vault.address), to: getAddress(T), value: 400n }],
      );
      assert.equal(await book(bond, S), 600n);
      assert.equal(await bond.read.balanceOf([T]), 400n);
      assert.equal(await bond.read.balanceOf([vault.address]), 600n, "the vault holds exactly its books");
      assert.equal(await bond.read.totalSupply(), 1_000n, "nothing minted or burnt");
      // the cash token has the same power
      await registry.write.revoke([buyerId], as(issuer));
      await cash.write.forcedCustodyTransfer([vault.address, Bu, T, 1_000n], as(agent));
      assert.equal(await book(cash, Bu), 10_000_000n - 1_000n);
      assert.equal(await cash.read.balanceOf([T]), 1_000n);
    });

    it("only the agent, only from a registered custodian, only to an eligible wallet that is neither the holder nor a custodian", async () => {
      await base.restore();
      await viem.assertions.revertWithCustomErrorWithArgs(bond.write.forcedCustodyTransfer([vault.address, S, T, 1n], as(mallory)), bond, "AccessControlUnauthorizedAccount", [
        getAddress(mallory.account.address),
        await bond.read.AGENT_ROLE(),
      ]);
      // the vault's own roles give no power over a token's custody
      await viem.assertions.revertWithCustomError(bond.write.forcedCustodyTransfer([vault.address, S, T, 1n], as(withdrawer)), bond, "AccessControlUnauthorizedAccount");
      await viem.assertions.revertWithCustomErrorWithArgs(bond.write.forcedCustodyTransfer([T, S, Bu, 1n], as(agent)), bond, "TokenNotCustodian", [getAddress(T)]);
      await viem.assertions.revertWithCustomErrorWithArgs(bond.write.forcedCustodyTransfer([vault.address, zeroAddress, T, 1n], as(agent)), bond, "ERC20InvalidSender", [zeroAddress]);
      await viem.assertions.revertWithCustomErrorWithArgs(bond.write.forcedCustodyTransfer([vault.address, S, zeroAddress, 1n], as(agent)), bond, "ERC20InvalidReceiver", [zeroAddress]);
      await viem.assertions.revertWithCustomErrorWithArgs(bond.write.forcedCustodyTransfer([vault.address, S, S, 1n], as(agent)), bond, "TokenInvalidAccount", [getAddress(S)]);
      await viem.assertions.revertWithCustomErrorWithArgs(bond.write.forcedCustodyTransfer([vault.address, S, vault.address, 1n], as(agent)), bond, "TokenInvalidAccount", [getAddress(vault.address)]);
      await viem.assertions.revertWithCustomErrorWithArgs(bond.write.forcedCustodyTransfer([vault.address, S, mallory.account.address, 1n], as(agent)), bond, "ERC7943CannotReceive", [
        getAddress(mallory.account.address),
      ]);
      await bond.write.setAddressFrozen([T, true], as(agent));
      await viem.assertions.revertWithCustomErrorWithArgs(bond.write.forcedCustodyTransfer([vault.address, S, T, 1n], as(agent)), bond, "ERC7943CannotReceive", [getAddress(T)]);
      // more than the book holds, or nothing at all, is the vault's to refuse
      await viem.assertions.revertWithCustomErrorWithArgs(bond.write.forcedCustodyTransfer([vault.address, S, Bu, 1_001n], as(agent)), vault, "SettlementInsufficientBalance", [
        getAddress(S),
        getAddress(bond.address),
        1_000n,
        1_001n,
      ]);
      await viem.assertions.revertWithCustomError(bond.write.forcedCustodyTransfer([vault.address, S, Bu, 0n], as(agent)), vault, "SettlementZeroAmount");
      assert.equal(await book(bond, S), 1_000n);
      // a token moves only its own books: anyone else calling the vault debits nothing of the bond's
      await viem.assertions.revertWithCustomErrorWithArgs(vault.write.seizeCustody([S, T, 1n], as(mallory)), vault, "SettlementInsufficientBalance", [
        getAddress(S),
        getAddress(mallory.account.address),
        0n,
        1n,
      ]);
      assert.equal(await book(bond, S), 1_000n);
    });

    it("takes frozen units as forcedTransfer does: the freeze shrinks by the frozen part taken (Frozen before Transfer)", async () => {
      await base.restore();
      await bond.write.setFrozenTokens([S, 900n], as(agent)); // custody 1,000: 100 unfrozen
      const names = await eventNames(await bond.write.forcedCustodyTransfer([vault.address, S, T, 300n], as(agent)));
      assert.deepEqual(names, ["Frozen", "CustodySeized", "Transfer", "ForcedCustodyTransfer"]);
      assert.equal(await bond.read.getFrozenTokens([S]), 700n, "200 of the 300 were frozen");
      // the same rule as forcedTransfer from the wallet: a wallet of 100 + custody 600 above a freeze of 700
      await vault.write.withdraw([1n, S, bond.address, 100n], as(withdrawer));
      await bond.write.forcedTransfer([S, T, 50n], as(agent));
      assert.equal(await bond.read.getFrozenTokens([S]), 650n);
      await bond.write.forcedCustodyTransfer([vault.address, S, T, 600n], as(agent));
      assert.equal(await bond.read.getFrozenTokens([S]), 50n, "everything left (50 in the wallet) is frozen");
      assert.equal(await book(bond, S), 0n);
      assert.equal(await bond.read.balanceOf([T]), 950n);
    });

    it("a paused vault refuses it, as it refuses recovery; a paused token does not, as for forcedTransfer", async () => {
      await base.restore();
      await vault.write.pause(as(agent));
      await viem.assertions.revertWithCustomError(bond.write.forcedCustodyTransfer([vault.address, S, T, 1n], as(agent)), vault, "EnforcedPause");
      await vault.write.unpause(as(agent));
      await bond.write.pause(as(agent));
      await bond.write.forcedCustodyTransfer([vault.address, S, T, 1n], as(agent));
      assert.equal(await bond.read.balanceOf([T]), 1n);
      assert.equal(await book(bond, S), 999n);
    });

    it("moves per-identity holdings of an identity-tracked asset, within the receiver's cap", async () => {
      await base.restore();
      const thirdId = (await registry.read.identityOf([T]))[0];
      assert.equal(await fund.read.identityBalance([sellerId]), 1_000n);
      await fund.write.setTransferRules([0, 0, 0, 500n], as(gov));
      await viem.assertions.revertWithCustomErrorWithArgs(fund.write.forcedCustodyTransfer([vault.address, S, T, 501n], as(agent)), fund, "TokenIdentityCapExceeded", [
        thirdId,
        501n,
        500n,
      ]);
      await fund.write.forcedCustodyTransfer([vault.address, S, T, 500n], as(agent));
      assert.equal(await fund.read.identityBalance([sellerId]), 500n);
      assert.equal(await fund.read.identityBalance([thirdId]), 500n);
      // to another wallet of the holder's own identity the holdings stay where they are
      await registry.write.addWallet([sellerId, N], as(issuer));
      await fund.write.forcedCustodyTransfer([vault.address, S, N, 100n], as(agent));
      assert.equal(await fund.read.identityBalance([sellerId]), 500n);
      assert.equal(await fund.read.balanceOf([N]), 100n);
    });

    it("a hostile token cannot seize custody by re-entering the vault during a withdrawal", async () => {
      await base.restore();
      const hostile = await hostileInCustody();
      // while the vault pays S out, the token tries to take what is left of S's book for T
      await hostile.write.arm([vault.address, encodeFunctionData({ abi: vault.abi, functionName: "seizeCustody", args: [S, T, 900n] })]);
      await viem.assertions.revertWithCustomError(vault.write.withdraw([1n, S, hostile.address, 100n], as(withdrawer)), vault, "ReentrancyGuardReentrantCall");
      assert.equal(await book(hostile, S), 1_000n);
      assert.equal(await vault.read.isWithdrawn([1n]), false);
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

  describe("a hostile listed token cannot re-enter the vault while a batch settles", () => {
    // Governance may list any contract as an asset, so settleBatch's call to the asset's
    // custodyTransfer runs code the vault does not control, in the middle of a batch whose
    // books are already debited. Each payload below is valid on its own (sent again by the
    // token outside a batch, it succeeds): only the reentrancy guard refuses it.
    const reentries = {
      settleBatch: (inner: Trade) => encodeFunctionData({ abi: vault.abi, functionName: "settleBatch", args: [[inner]] }),
      withdraw: () => encodeFunctionData({ abi: vault.abi, functionName: "withdraw", args: [9n, Bu, cash.address, 1n] }),
      returnCustody: () => encodeFunctionData({ abi: vault.abi, functionName: "returnCustody", args: [S, T] }),
      seizeCustody: () => encodeFunctionData({ abi: vault.abi, functionName: "seizeCustody", args: [S, T, 1n] }),
    } as const;

    it("the token's transfer during a withdrawal cannot settle a batch either", async () => {
      await base.restore();
      const hostile = await hostileInCustody();
      await vault.write.grantRole([await vault.read.SETTLER_ROLE(), hostile.address]);
      const inner = trade();
      await hostile.write.arm([vault.address, reentries.settleBatch(inner)]);
      await viem.assertions.revertWithCustomError(vault.write.withdraw([1n, S, hostile.address, 10n], as(withdrawer)), vault, "ReentrancyGuardReentrantCall");
      assert.equal(await vault.read.isWithdrawn([1n]), false);
      assert.equal(await vault.read.isSettled([inner.tradeId]), false);
      assert.equal(await book(hostile, S), 1_000n);
    });

    for (const name of Object.keys(reentries) as (keyof typeof reentries)[]) {
      it(`custodyTransfer calling ${name} fails the trade with the guard's error; nothing moves`, async () => {
        await base.restore();
        const hostile = await hostileInCustody();
        await vault.write.grantRole([await vault.read.SETTLER_ROLE(), hostile.address]);
        await vault.write.grantRole([await vault.read.WITHDRAWER_ROLE(), hostile.address]);
        const inner = trade();
        const payload = reentries[name](inner);
        await hostile.write.arm([vault.address, payload]);

        const outer = trade({ asset: hostile.address, assetAmount: 10n });
        await expectTradeFailed([outer], outer, errorData(vault.abi, "ReentrancyGuardReentrantCall"));
        assert.equal(await vault.read.isSettled([outer.tradeId]), false);
        assert.equal(await vault.read.isSettled([inner.tradeId]), false);
        assert.equal(await vault.read.isWithdrawn([9n]), false);
        assert.equal(await book(hostile, S), 1_000n);
        assert.equal(await book(hostile, T), 0n);
        assert.equal(await book(cash, Bu), 10_000_000n);
        assert.equal(await book(bond, S), 1_000n);

        // Disarmed, the same trade settles and the token's own call goes through.
        await hostile.write.arm([zeroAddress, "0x"]);
        await vault.write.settleBatch([[outer]], as(settler));
        await networkHelpers.impersonateAccount(hostile.address);
        await networkHelpers.setBalance(hostile.address, 10n ** 18n);
        const asHostile = await viem.getWalletClient(hostile.address);
        const hash = await asHostile.sendTransaction({ to: vault.address, data: payload, account: hostile.address, chain: asHostile.chain });
        assert.equal((await publicClient.waitForTransactionReceipt({ hash })).status, "success");
        await networkHelpers.stopImpersonatingAccount(hostile.address);
      });
    }
  });
});
