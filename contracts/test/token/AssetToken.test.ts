import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeFunctionData, getAddress, parseEventLogs, zeroAddress } from "viem";
import { deploySen, INSTITUTIONAL, PROFESSIONAL, SINGAPORE, VIET_NAM } from "../helpers/fixture.ts";

const PROFESSIONALS = (1 << PROFESSIONAL) | (1 << INSTITUTIONAL);
/** PermissionedToken.COUNTRY_RULE_*: how the token's country list binds receivers. */
const ANY_COUNTRY = 0;
const ALLOW_LIST = 1;
const BLOCK_LIST = 2;

describe("AssetToken", async () => {
  const sen = await deploySen();
  const { bond, fund, registry, viem, networkHelpers, issuer, agent, traders, as, attest } = sen;
  const [alice, bob, carol, mallory, dave] = traders;
  const A = alice.account.address;
  const B = bob.account.address;
  const C = carol.account.address;
  const M = mallory.account.address;

  // alice, bob: verified Vietnamese retail; carol: verified Singaporean professional;
  // mallory: never verified. alice holds 1,000 bond units.
  const aliceId = await attest(A, { label: "alice" });
  const bobId = await attest(B, { label: "bob", kyc: 1 });
  await attest(C, { label: "carol", country: SINGAPORE, investor: PROFESSIONAL });
  await bond.write.mint([A, 1000n], as(issuer));
  const base = await networkHelpers.takeSnapshot();

  it("implements ERC-20 metadata, ERC-165 and the ERC-7943 interface id 0x3edbb4c4", async () => {
    await base.restore();
    assert.equal(await bond.read.decimals(), 0);
    assert.equal(await bond.read.documentURI(), "ipfs://bond");
    assert.equal(await bond.read.supportsInterface(["0x3edbb4c4"]), true);
    assert.equal(await bond.read.supportsInterface(["0x36372b07"]), true); // ERC-20
    assert.equal(await bond.read.supportsInterface(["0xffffffff"]), false);
  });

  describe("verified-only transfers", () => {
    it("moves between verified wallets", async () => {
      await base.restore();
      await bond.write.transfer([B, 10n], as(alice));
      assert.equal(await bond.read.balanceOf([B]), 10n);
    });

    it("refuses an unverified receiver or sender", async () => {
      await base.restore();
      await viem.assertions.revertWithCustomErrorWithArgs(bond.write.transfer([M, 1n], as(alice)), bond, "ERC7943CannotReceive", [getAddress(M)]);
      // The rules bind holders, not spenders: an approved operator (e.g. a custodian's
      // hot wallet) may move tokens between two verified holders.
      await bond.write.approve([M, 5n], as(alice));
      await bond.write.transferFrom([A, B, 5n], as(mallory));
      await registry.write.removeWallet([B], as(issuer));
      await viem.assertions.revertWithCustomErrorWithArgs(bond.write.transfer([A, 1n], as(bob)), bond, "ERC7943CannotSend", [getAddress(B)]);
    });

    it("refuses a revoked or expired identity", async () => {
      await base.restore();
      await registry.write.revoke([bobId], as(issuer));
      await viem.assertions.revertWithCustomError(bond.write.transfer([B, 1n], as(alice)), bond, "ERC7943CannotReceive");
      await base.restore();
      await networkHelpers.time.increase(366 * 24 * 3600);
      await viem.assertions.revertWithCustomError(bond.write.transfer([B, 1n], as(alice)), bond, "ERC7943CannotSend");
    });

    it("canSend / canReceive / canTransfer agree with what a transfer does", async () => {
      await base.restore();
      assert.equal(await bond.read.canSend([A]), true);
      assert.equal(await bond.read.canReceive([M]), false);
      assert.equal(await bond.read.canTransfer([A, B, 1000n]), true);
      assert.equal(await bond.read.canTransfer([A, B, 1001n]), false);
      assert.equal(await bond.read.canTransfer([A, M, 1n]), false);
    });
  });

  describe("per-asset rules (receivers)", () => {
    it("country allow-list: only listed countries receive", async () => {
      await base.restore();
      assert.deepEqual([await bond.read.COUNTRY_RULE_ANY(), await bond.read.COUNTRY_RULE_ALLOW_LIST(), await bond.read.COUNTRY_RULE_BLOCK_LIST()], [ANY_COUNTRY, ALLOW_LIST, BLOCK_LIST]);
      await viem.assertions.emitWithArgs(bond.write.setCountriesListed([[VIET_NAM], true]), bond, "CountryListed", [VIET_NAM, true]);
      await viem.assertions.emitWithArgs(bond.write.setTransferRules([0, 0, ALLOW_LIST, 0n]), bond, "TransferRulesSet", [0, 0, ALLOW_LIST, 0n]);
      await viem.assertions.revertWithCustomErrorWithArgs(bond.write.transfer([C, 1n], as(alice)), bond, "ERC7943CannotReceive", [getAddress(C)]);
      await bond.write.transfer([B, 1n], as(alice));
      await bond.write.setCountriesListed([[SINGAPORE], true]);
      await bond.write.transfer([C, 1n], as(alice));
      assert.equal(await bond.read.isCountryListed([SINGAPORE]), true);
      assert.equal((await bond.read.transferRules()).countryRule, ALLOW_LIST);
    });

    it("country block-list: listed countries may not receive (RIVER: foreign investors only), but still sell", async () => {
      await base.restore();
      await bond.write.transfer([B, 10n], as(alice)); // bob (704) holds some before the rule
      await bond.write.setCountriesListed([[VIET_NAM], true]);
      await bond.write.setTransferRules([0, 0, BLOCK_LIST, 0n]);
      assert.equal(await bond.read.canReceive([B]), false);
      assert.equal(await bond.read.canReceive([C]), true);
      await viem.assertions.revertWithCustomErrorWithArgs(bond.write.transfer([B, 1n], as(alice)), bond, "ERC7943CannotReceive", [getAddress(B)]);
      await viem.assertions.revertWithCustomErrorWithArgs(bond.write.mint([A, 1n], as(issuer)), bond, "ERC7943CannotReceive", [getAddress(A)]);
      await bond.write.transfer([C, 1n], as(alice)); // carol (702) receives
      await bond.write.transfer([C, 10n], as(bob)); // a Vietnamese holder exits
      assert.equal(await bond.read.balanceOf([C]), 11n);
      // The same list read as "any country": the rule, not the list, decides.
      await bond.write.setTransferRules([0, 0, ANY_COUNTRY, 0n]);
      await bond.write.transfer([B, 1n], as(alice));
    });

    it("minimum KYC level", async () => {
      await base.restore();
      await bond.write.setTransferRules([2, 0, ANY_COUNTRY, 0n]);
      await viem.assertions.revertWithCustomError(bond.write.transfer([B, 1n], as(alice)), bond, "ERC7943CannotReceive");
      await bond.write.transfer([C, 1n], as(alice));
    });

    it("allowed investor types; a holder who no longer qualifies may still sell", async () => {
      await base.restore();
      await bond.write.setTransferRules([0, PROFESSIONALS, ANY_COUNTRY, 0n]);
      await viem.assertions.revertWithCustomError(bond.write.transfer([B, 1n], as(alice)), bond, "ERC7943CannotReceive");
      await bond.write.transfer([C, 1n], as(alice)); // alice (retail) exits to a professional
    });

    it("only governance sets rules; invalid rules are refused", async () => {
      await base.restore();
      await viem.assertions.revertWithCustomError(bond.write.setTransferRules([0, 0, ANY_COUNTRY, 0n], as(agent)), bond, "AccessControlUnauthorizedAccount");
      await viem.assertions.revertWithCustomError(bond.write.setCountriesListed([[VIET_NAM], true], as(agent)), bond, "AccessControlUnauthorizedAccount");
      await viem.assertions.revertWithCustomError(bond.write.setTransferRules([3, 0, ANY_COUNTRY, 0n]), bond, "TokenInvalidRules");
      await viem.assertions.revertWithCustomError(bond.write.setTransferRules([0, 0, BLOCK_LIST + 1, 0n]), bond, "TokenInvalidRules");
      // a per-identity cap needs identity tracking, which the bond was deployed without
      await viem.assertions.revertWithCustomError(bond.write.setTransferRules([0, 0, ANY_COUNTRY, 5n]), bond, "TokenInvalidRules");
    });

    it("max balance per identity counts every wallet of the identity", async () => {
      await base.restore();
      await fund.write.setTransferRules([0, 0, ANY_COUNTRY, 100n]);
      await fund.write.mint([A, 60n], as(issuer));
      await registry.write.addWallet([aliceId, dave.account.address], as(issuer));
      await viem.assertions.revertWithCustomError(fund.write.mint([dave.account.address, 41n], as(issuer)), fund, "TokenIdentityCapExceeded");
      await fund.write.mint([dave.account.address, 40n], as(issuer));
      assert.equal(await fund.read.identityBalance([aliceId]), 100n);
      // moving between two wallets of one identity changes nothing
      await fund.write.transfer([dave.account.address, 60n], as(alice));
      assert.equal(await fund.read.identityBalance([aliceId]), 100n);
      await fund.write.transfer([B, 30n], as(dave));
      assert.equal(await fund.read.identityBalance([aliceId]), 70n);
      assert.equal(await fund.read.identityBalance([bobId]), 30n);
      await viem.assertions.revertWithCustomError(fund.write.mint([B, 71n], as(issuer)), fund, "TokenIdentityCapExceeded");
      assert.equal(await fund.read.canTransfer([dave.account.address, B, 70n]), true);
      assert.equal(await fund.read.canTransfer([dave.account.address, B, 71n]), false);
    });
  });

  describe("freezing (ERC-7943)", () => {
    it("a frozen amount is never spendable, the rest is", async () => {
      await base.restore();
      await viem.assertions.emitWithArgs(bond.write.setFrozenTokens([A, 900n], as(agent)), bond, "Frozen", [getAddress(A), 900n]);
      assert.equal(await bond.read.getFrozenTokens([A]), 900n);
      await viem.assertions.revertWithCustomErrorWithArgs(bond.write.transfer([B, 101n], as(alice)), bond, "ERC7943InsufficientUnfrozenBalance", [
        getAddress(A),
        101n,
        100n,
      ]);
      await bond.write.transfer([B, 100n], as(alice));
      assert.equal(await bond.read.canTransfer([A, B, 1n]), false);
      // more than the balance may be frozen (withholds future receipts)
      await bond.write.setFrozenTokens([B, 1_000_000n], as(agent));
      await viem.assertions.revertWithCustomError(bond.write.transfer([A, 1n], as(bob)), bond, "ERC7943InsufficientUnfrozenBalance");
    });

    it("a frozen address can neither send nor receive", async () => {
      await base.restore();
      await viem.assertions.emit(bond.write.setAddressFrozen([B, true], as(agent)), bond, "AddressFrozen");
      await viem.assertions.revertWithCustomError(bond.write.transfer([B, 1n], as(alice)), bond, "ERC7943CannotReceive");
      assert.equal(await bond.read.canSend([B]), false);
      await bond.write.setAddressFrozen([B, false], as(agent));
      await bond.write.transfer([B, 1n], as(alice));
    });

    it("a frozen amount above the representable maximum is refused, not silently capped", async () => {
      await base.restore();
      const max = (1n << 255n) - 1n;
      await bond.write.setFrozenTokens([A, max], as(agent));
      await viem.assertions.revertWithCustomErrorWithArgs(bond.write.setFrozenTokens([A, max + 1n], as(agent)), bond, "TokenInvalidFrozenAmount", [
        getAddress(A),
        max + 1n,
        max,
      ]);
      assert.equal(await bond.read.getFrozenTokens([A]), max);
      assert.equal(await bond.read.isAddressFrozen([A]), false, "the amount never spills into the address-frozen bit");
    });

    it("only the agent freezes", async () => {
      await base.restore();
      await viem.assertions.revertWithCustomError(bond.write.setFrozenTokens([A, 1n], as(mallory)), bond, "AccessControlUnauthorizedAccount");
      await viem.assertions.revertWithCustomError(bond.write.setAddressFrozen([A, true], as(alice)), bond, "AccessControlUnauthorizedAccount");
    });
  });

  describe("agent enforcement", () => {
    it("forcedTransfer takes frozen tokens, unfreezing them first (Frozen before Transfer)", async () => {
      await base.restore();
      await bond.write.setFrozenTokens([A, 1000n], as(agent));
      const hash = await bond.write.forcedTransfer([A, B, 300n], as(agent));
      const receipt = await sen.publicClient.waitForTransactionReceipt({ hash });
      const names = parseEventLogs({ abi: bond.abi, logs: receipt.logs }).map((l) => l.eventName);
      assert.deepEqual(names, ["Frozen", "Transfer", "ForcedTransfer"]);
      assert.equal(await bond.read.getFrozenTokens([A]), 700n);
      assert.equal(await bond.read.balanceOf([B]), 300n);
    });

    it("forcedTransfer cannot mint or burn: the zero address is refused as sender and as receiver", async () => {
      await base.restore();
      const { cash } = sen;
      await viem.assertions.revertWithCustomErrorWithArgs(bond.write.forcedTransfer([zeroAddress, B, 5n], as(agent)), bond, "ERC20InvalidSender", [zeroAddress]);
      await viem.assertions.revertWithCustomErrorWithArgs(bond.write.forcedTransfer([A, zeroAddress, 0n], as(agent)), bond, "ERC20InvalidReceiver", [zeroAddress]);
      await viem.assertions.revertWithCustomErrorWithArgs(cash.write.forcedTransfer([zeroAddress, B, 5n], as(agent)), cash, "ERC20InvalidSender", [zeroAddress]);
      await viem.assertions.revertWithCustomErrorWithArgs(cash.write.forcedTransfer([A, zeroAddress, 0n], as(agent)), cash, "ERC20InvalidReceiver", [zeroAddress]);
      assert.equal(await bond.read.totalSupply(), 1000n, "no bond created or destroyed");
      assert.equal(await cash.read.totalSupply(), 0n, "no cash created");
      assert.equal(await bond.read.balanceOf([B]), 0n);
    });

    it("forcedTransfer still requires an eligible receiver and the agent role", async () => {
      await base.restore();
      await viem.assertions.revertWithCustomError(bond.write.forcedTransfer([A, M, 1n], as(agent)), bond, "ERC7943CannotReceive");
      await viem.assertions.revertWithCustomError(bond.write.forcedTransfer([A, B, 1n], as(bob)), bond, "AccessControlUnauthorizedAccount");
    });

    it("recovers a lost wallet's balance and freeze state to a new wallet of the same identity", async () => {
      await base.restore();
      await bond.write.setFrozenTokens([A, 250n], as(agent));
      await registry.write.addWallet([aliceId, dave.account.address], as(issuer));
      await viem.assertions.revertWithCustomError(bond.write.recoverBalance([A, B], as(agent)), bond, "TokenRecoveryIdentityMismatch");
      await viem.assertions.emitWithArgs(bond.write.recoverBalance([A, dave.account.address], as(agent)), bond, "BalanceRecovered", [
        getAddress(A),
        getAddress(dave.account.address),
        aliceId,
        1000n,
      ]);
      assert.equal(await bond.read.balanceOf([A]), 0n);
      assert.equal(await bond.read.balanceOf([dave.account.address]), 1000n);
      assert.equal(await bond.read.getFrozenTokens([dave.account.address]), 250n);
      assert.equal(await bond.read.getFrozenTokens([A]), 0n);
    });

    it("recovery clears the lost wallet's freeze with events", async () => {
      await base.restore();
      await bond.write.setFrozenTokens([A, 250n], as(agent));
      await bond.write.setAddressFrozen([A, true], as(agent));
      await registry.write.addWallet([aliceId, dave.account.address], as(issuer));
      const hash = await bond.write.recoverBalance([A, dave.account.address], as(agent));
      const receipt = await sen.publicClient.waitForTransactionReceipt({ hash });
      const logs = parseEventLogs({ abi: bond.abi, logs: receipt.logs });
      const frozenLost = logs.filter((l) => l.eventName === "Frozen" && l.args.account === getAddress(A));
      assert.deepEqual(frozenLost.map((l) => l.args), [{ account: getAddress(A), amount: 0n }]);
      const unfrozenLost = logs.filter((l) => l.eventName === "AddressFrozen" && l.args.account === getAddress(A));
      assert.deepEqual(unfrozenLost.map((l) => l.args), [{ account: getAddress(A), frozen: false, agent: getAddress(agent.account.address) }]);
      assert.equal(await bond.read.isAddressFrozen([A]), false);
      assert.equal(await bond.read.isAddressFrozen([dave.account.address]), true);
    });

    it("pause stops holders, not the agent", async () => {
      await base.restore();
      await viem.assertions.revertWithCustomError(bond.write.pause(as(alice)), bond, "AccessControlUnauthorizedAccount");
      await bond.write.pause(as(agent));
      await viem.assertions.revertWithCustomError(bond.write.transfer([B, 1n], as(alice)), bond, "TokenIsPaused");
      assert.equal(await bond.read.canTransfer([A, B, 1n]), false);
      await bond.write.forcedTransfer([A, B, 1n], as(agent));
      await bond.write.unpause(as(agent));
      await bond.write.transfer([B, 1n], as(alice));
    });

    it("batches agent operations atomically through multicall", async () => {
      await base.restore();
      const calls = [
        encodeFunctionData({ abi: bond.abi, functionName: "setFrozenTokens", args: [A, 10n] }),
        encodeFunctionData({ abi: bond.abi, functionName: "forcedTransfer", args: [A, B, 5n] }),
        encodeFunctionData({ abi: bond.abi, functionName: "setAddressFrozen", args: [C, true] }),
      ];
      await bond.write.multicall([calls], as(agent));
      assert.equal(await bond.read.balanceOf([B]), 5n);
      assert.equal(await bond.read.isAddressFrozen([C]), true);
      // one failing call reverts the whole batch
      const bad = [calls[0], encodeFunctionData({ abi: bond.abi, functionName: "forcedTransfer", args: [A, M, 1n] })];
      await viem.assertions.revertWithCustomError(bond.write.multicall([bad], as(agent)), bond, "ERC7943CannotReceive");
    });
  });

  describe("issuance", () => {
    it("only the issuer mints (to eligible wallets) and burns", async () => {
      await base.restore();
      await viem.assertions.revertWithCustomError(bond.write.mint([A, 1n], as(agent)), bond, "AccessControlUnauthorizedAccount");
      await viem.assertions.revertWithCustomError(bond.write.mint([M, 1n], as(issuer)), bond, "ERC7943CannotReceive");
      await bond.write.setFrozenTokens([A, 1000n], as(agent));
      await bond.write.burn([A, 600n], as(issuer));
      assert.equal(await bond.read.totalSupply(), 400n);
      assert.equal(await bond.read.getFrozenTokens([A]), 400n);
    });

    it("only governance updates the backing document", async () => {
      await base.restore();
      const h = `0x${"ab".repeat(32)}` as const;
      await viem.assertions.revertWithCustomError(bond.write.setDocument([h, "ipfs://x"], as(agent)), bond, "AccessControlUnauthorizedAccount");
      await viem.assertions.emitWithArgs(bond.write.setDocument([h, "ipfs://v2"]), bond, "DocumentUpdated", [h, "ipfs://v2"]);
      assert.equal(await bond.read.documentHash(), h);
    });
  });

  describe("custodians and attribution", () => {
    it("a plain transfer or an agent/issuer operation can never move a custodian's tokens", async () => {
      await base.restore();
      const vault = sen.vault.address;
      await viem.assertions.revertWithCustomErrorWithArgs(bond.write.transfer([vault, 1n], as(alice)), bond, "TokenCustodianNotAllowed", [getAddress(vault)]);
      await bond.write.approve([vault, 5n], as(alice));
      await sen.vault.write.deposit([bond.address, 5n], as(alice)); // the custodian's own pull is the way in
      await viem.assertions.revertWithCustomError(bond.write.forcedTransfer([vault, B, 1n], as(agent)), bond, "TokenCustodianNotAllowed");
      await viem.assertions.revertWithCustomError(bond.write.burn([vault, 1n], as(issuer)), bond, "TokenCustodianNotAllowed");
      await viem.assertions.revertWithCustomError(bond.write.mint([vault, 1n], as(issuer)), bond, "TokenCustodianNotAllowed");
      assert.equal(await sen.vault.read.balanceOf([bond.address, A]), 5n);
    });

    it("holdings stay attributed to the identity after its wallet is unbound", async () => {
      await base.restore();
      await fund.write.mint([A, 100n], as(issuer));
      await registry.write.addWallet([aliceId, dave.account.address], as(issuer));
      await registry.write.removeWallet([A], as(issuer)); // the lost key is unbound first...
      await fund.write.recoverBalance([A, dave.account.address], as(agent)); // ...and still recoverable
      assert.equal(await fund.read.balanceOf([dave.account.address]), 100n);
      assert.equal(await fund.read.identityBalance([aliceId]), 100n, "not counted twice");
      await fund.write.forcedTransfer([dave.account.address, B, 40n], as(agent));
      assert.equal(await fund.read.identityBalance([aliceId]), 60n);
      assert.equal(await fund.read.identityBalance([bobId]), 40n);
    });
  });

  it("canTransfer says false for a plain transfer to a custodian, which reverts (deposits are the custodian's pull)", async () => {
    await base.restore();
    const vault = sen.vault.address;
    assert.equal(await bond.read.canTransfer([A, vault, 1n]), false);
    await viem.assertions.revertWithCustomError(bond.write.transfer([vault, 1n], as(alice)), bond, "TokenCustodianNotAllowed");
  });

  it("custodyTransfer is for registered custodians only", async () => {
    await base.restore();
    await viem.assertions.revertWithCustomError(bond.write.custodyTransfer([A, B, 1n], as(mallory)), bond, "TokenNotCustodian");
  });
});
