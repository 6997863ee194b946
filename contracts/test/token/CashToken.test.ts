import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getAddress, keccak256, toHex } from "viem";
import { deploySen } from "../helpers/fixture.ts";

describe("CashToken (VND)", async () => {
  const sen = await deploySen();
  const { cash, viem, networkHelpers, bank, agent, traders, as, attest, registry, issuer } = sen;
  const [alice, bob, mallory, dave, erin] = traders;
  const A = alice.account.address;
  const B = bob.account.address;
  const ref = keccak256(toHex("bank-ref-1"));
  const aliceId = await attest(A, { label: "alice" });
  await attest(B, { label: "bob" });
  const base = await networkHelpers.takeSnapshot();

  it("is whole đồng: 0 decimals", async () => {
    assert.equal(await cash.read.decimals(), 0);
    assert.equal(await cash.read.symbol(), "VNDS");
  });

  it("the payment bank mints on fiat deposit, naming its reference", async () => {
    await base.restore();
    await viem.assertions.emitWithArgs(cash.write.mint([A, 5_000_000n, ref], as(bank)), cash, "FiatDeposited", [
      (a: string) => a.toLowerCase() === A.toLowerCase(),
      5_000_000n,
      ref,
    ]);
    assert.equal(await cash.read.balanceOf([A]), 5_000_000n);
    await viem.assertions.revertWithCustomError(cash.write.mint([A, 1n, ref], as(agent)), cash, "AccessControlUnauthorizedAccount");
    await viem.assertions.revertWithCustomError(cash.write.mint([mallory.account.address, 1n, ref], as(bank)), cash, "ERC7943CannotReceive");
  });

  it("moves only between verified wallets", async () => {
    await base.restore();
    await cash.write.mint([A, 1000n, ref], as(bank));
    await cash.write.transfer([B, 400n], as(alice));
    await viem.assertions.revertWithCustomError(cash.write.transfer([mallory.account.address, 1n], as(alice)), cash, "ERC7943CannotReceive");
    await registry.write.revoke([aliceId], as(issuer));
    await viem.assertions.revertWithCustomError(cash.write.transfer([B, 1n], as(alice)), cash, "ERC7943CannotSend");
  });

  it("the bank burns on fiat withdrawal, never frozen đồng", async () => {
    await base.restore();
    await cash.write.mint([A, 1000n, ref], as(bank));
    await cash.write.setFrozenTokens([A, 300n], as(agent));
    await viem.assertions.revertWithCustomError(cash.write.burn([A, 701n, ref], as(bank)), cash, "ERC7943InsufficientUnfrozenBalance");
    await viem.assertions.emit(cash.write.burn([A, 700n, ref], as(bank)), cash, "FiatWithdrawn");
    assert.equal(await cash.read.totalSupply(), 300n);
    await viem.assertions.revertWithCustomError(cash.write.burn([A, 1n, ref], as(alice)), cash, "AccessControlUnauthorizedAccount");
  });

  describe("a pay-out takes only what the holder could send itself", () => {
    const unchanged = async () => {
      assert.equal(await cash.read.balanceOf([A]), 1000n);
      assert.equal(await cash.read.totalSupply(), 1000n);
    };

    it("pays out unfrozen đồng of a verified wallet", async () => {
      await base.restore();
      await cash.write.mint([A, 1000n, ref], as(bank));
      await viem.assertions.emitWithArgs(cash.write.burn([A, 400n, ref], as(bank)), cash, "FiatWithdrawn", [getAddress(A), 400n, ref]);
      assert.equal(await cash.read.balanceOf([A]), 600n);
      assert.equal(await cash.read.totalSupply(), 600n);
    });

    it("nothing from an address-frozen wallet (an AML hold), until the agent lifts it", async () => {
      await base.restore();
      await cash.write.mint([A, 1000n, ref], as(bank));
      await cash.write.setAddressFrozen([A, true], as(agent));
      await viem.assertions.revertWithCustomErrorWithArgs(cash.write.burn([A, 1n, ref], as(bank)), cash, "ERC7943CannotSend", [getAddress(A)]);
      await unchanged();
      await cash.write.setAddressFrozen([A, false], as(agent));
      await cash.write.burn([A, 1000n, ref], as(bank));
      assert.equal(await cash.read.totalSupply(), 0n);
    });

    it("nothing from a wallet whose e-ID was revoked", async () => {
      await base.restore();
      await cash.write.mint([A, 1000n, ref], as(bank));
      await registry.write.revoke([aliceId], as(issuer));
      await viem.assertions.revertWithCustomErrorWithArgs(cash.write.burn([A, 1n, ref], as(bank)), cash, "ERC7943CannotSend", [getAddress(A)]);
      await unchanged();
    });

    it("nothing from a wallet whose e-ID expired", async () => {
      await base.restore();
      const E = erin.account.address;
      await attest(E, { label: "erin", ttl: 3600n });
      await cash.write.mint([E, 1000n, ref], as(bank));
      await networkHelpers.time.increase(3601);
      assert.equal(await registry.read.isVerified([E]), false);
      await viem.assertions.revertWithCustomErrorWithArgs(cash.write.burn([E, 1n, ref], as(bank)), cash, "ERC7943CannotSend", [getAddress(E)]);
      assert.equal(await cash.read.balanceOf([E]), 1000n);
    });

    it("nothing while the token is paused", async () => {
      await base.restore();
      await cash.write.mint([A, 1000n, ref], as(bank));
      await cash.write.pause(as(agent));
      await viem.assertions.revertWithCustomError(cash.write.burn([A, 1n, ref], as(bank)), cash, "TokenIsPaused");
      await unchanged();
      await cash.write.unpause(as(agent));
      await cash.write.burn([A, 1n, ref], as(bank));
    });
  });

  it("a lost wallet's đồng are recoverable after the wallet was unbound (the registry remembers whose it was)", async () => {
    await base.restore();
    const D = dave.account.address;
    await cash.write.mint([A, 1000n, ref], as(bank));
    await registry.write.addWallet([aliceId, D], as(issuer));
    await registry.write.removeWallet([A], as(issuer)); // the lost key is unbound first
    await viem.assertions.emitWithArgs(cash.write.recoverBalance([A, D], as(agent)), cash, "BalanceRecovered", [getAddress(A), getAddress(D), aliceId, 1000n]);
    assert.equal(await cash.read.balanceOf([D]), 1000n);
    assert.equal(await cash.read.balanceOf([A]), 0n);
    // never to another identity's wallet
    await cash.write.mint([D, 5n, ref], as(bank));
    await viem.assertions.revertWithCustomError(cash.write.recoverBalance([D, B], as(agent)), cash, "TokenRecoveryIdentityMismatch");
  });
});
