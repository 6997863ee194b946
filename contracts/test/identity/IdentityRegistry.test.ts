import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getAddress, zeroAddress, zeroHash, type Address, type Hex } from "viem";
import { ATTESTATION_TYPES } from "../../src/identity/attestationTypes.ts";
import { deploySen, identityHash, INSTITUTIONAL, ONE_YEAR, PROFESSIONAL, RETAIL, SINGAPORE, VIET_NAM, type Sen } from "../helpers/fixture.ts";

async function signAttestation(
  sen: Sen,
  signer: Sen["issuer"],
  fields: {
    identityHash: Hex;
    wallet: Address;
    nonce: bigint;
    deadline: bigint;
    expiresAt: number;
    issuer?: Address;
    kycLevel?: number;
    /** The identity's version the issuer saw when signing (default: the current one). */
    identityVersion?: bigint;
  },
) {
  const message = {
    identityHash: fields.identityHash,
    wallet: fields.wallet,
    kycLevel: fields.kycLevel ?? 2,
    country: VIET_NAM,
    investorType: PROFESSIONAL,
    expiresAt: fields.expiresAt,
    issuer: fields.issuer ?? signer.account.address,
    identityVersion: fields.identityVersion ?? (await sen.registry.read.identityVersion([fields.identityHash])),
    nonce: fields.nonce,
    deadline: fields.deadline,
  };
  const signature = await signer.signTypedData({
    account: signer.account,
    domain: {
      name: "Sen IdentityRegistry",
      version: "1",
      chainId: await sen.publicClient.getChainId(),
      verifyingContract: sen.registry.address,
    },
    types: ATTESTATION_TYPES,
    primaryType: "Attestation",
    message,
  });
  return { message, signature };
}

describe("IdentityRegistry", async () => {
  const sen = await deploySen();
  const { registry, viem, networkHelpers, issuer, gov, traders, as } = sen;
  const [alice, bob, carol, mallory] = traders;
  const base = await networkHelpers.takeSnapshot();

  describe("issuers", () => {
    it("only governance adds and removes trusted issuers", async () => {
      await base.restore();
      await viem.assertions.revertWithCustomError(
        registry.write.addIssuer([mallory.account.address], as(mallory)),
        registry,
        "AccessControlUnauthorizedAccount",
      );
      await viem.assertions.emitWithArgs(registry.write.addIssuer([carol.account.address]), registry, "TrustedIssuerAdded", [
        carol.account.address,
      ]);
      await viem.assertions.revertWithCustomError(
        registry.write.removeIssuer([carol.account.address], as(issuer)),
        registry,
        "AccessControlUnauthorizedAccount",
      );
      await viem.assertions.emit(registry.write.removeIssuer([carol.account.address]), registry, "TrustedIssuerRemoved");
    });

    it("an untrusted address cannot attest", async () => {
      await base.restore();
      await viem.assertions.revertWithCustomErrorWithArgs(
        registry.write.attest([identityHash("x"), 2, VIET_NAM, RETAIL, Number((await sen.now()) + ONE_YEAR), alice.account.address], as(mallory)),
        registry,
        "IdentityUntrustedIssuer",
        [mallory.account.address],
      );
    });

    it("removing an issuer voids every identity it attested", async () => {
      await base.restore();
      await sen.attest(alice.account.address);
      assert.equal(await registry.read.isVerified([alice.account.address]), true);
      await registry.write.removeIssuer([issuer.account.address]);
      assert.equal(await registry.read.isVerified([alice.account.address]), false);
      const [id] = await registry.read.verifiedIdentityOf([alice.account.address]);
      assert.equal(id, zeroHash);
    });
  });

  describe("attest", () => {
    it("stores only the hash and packed attributes, binds the wallet, emits events", async () => {
      await base.restore();
      const id = identityHash("alice");
      const expiresAt = Number((await sen.now()) + ONE_YEAR);
      const tx = registry.write.attest([id, 2, VIET_NAM, PROFESSIONAL, expiresAt, alice.account.address], as(issuer));
      await viem.assertions.emitWithArgs(tx, registry, "IdentityAttested", [id, issuer.account.address, 2, VIET_NAM, PROFESSIONAL, expiresAt]);
      const [bound, record] = await registry.read.identityOf([alice.account.address]);
      assert.equal(bound, id);
      assert.deepEqual(record, { kycLevel: 2, country: VIET_NAM, investorType: PROFESSIONAL, expiresAt, revoked: false, issuer: getAddress(issuer.account.address) });
      assert.deepEqual(await registry.read.verifiedIdentityOf([alice.account.address]), [id, 2, VIET_NAM, PROFESSIONAL]);
      assert.equal(await registry.read.isVerified([bob.account.address]), false);
    });

    it("rejects invalid attributes", async () => {
      await base.restore();
      const t = Number((await sen.now()) + ONE_YEAR);
      const bad: [number, number, number, number][] = [
        [0, VIET_NAM, RETAIL, t],
        [3, VIET_NAM, RETAIL, t],
        [1, 0, RETAIL, t],
        [1, 1000, RETAIL, t],
        [1, VIET_NAM, 0, t],
        [1, VIET_NAM, INSTITUTIONAL + 1, t],
        [1, VIET_NAM, RETAIL, Number(await sen.now())],
      ];
      for (const [kyc, country, inv, exp] of bad) {
        await viem.assertions.revertWithCustomError(
          registry.write.attest([identityHash("a"), kyc, country, inv, exp, alice.account.address], as(issuer)),
          registry,
          "IdentityInvalidAttributes",
        );
      }
      await viem.assertions.revertWithCustomError(
        registry.write.attest([zeroHash, 1, VIET_NAM, RETAIL, t, alice.account.address], as(issuer)),
        registry,
        "IdentityInvalidHash",
      );
    });

    it("an identity is maintained only by its own (trusted) issuer", async () => {
      await base.restore();
      await registry.write.addIssuer([carol.account.address]);
      const id = await sen.attest(alice.account.address, { label: "alice" });
      const t = Number((await sen.now()) + ONE_YEAR);
      await viem.assertions.revertWithCustomError(
        registry.write.attest([id, 1, SINGAPORE, RETAIL, t, zeroAddress], as(carol)),
        registry,
        "IdentityNotIssuer",
      );
      // Once the first issuer loses trust, another trusted issuer may take the identity over.
      await registry.write.removeIssuer([issuer.account.address]);
      await registry.write.attest([id, 1, SINGAPORE, RETAIL, t, zeroAddress], as(carol));
      assert.equal(await registry.read.isVerified([alice.account.address]), true);
    });

    it("expires at expiresAt", async () => {
      await base.restore();
      await sen.attest(alice.account.address, { ttl: 100n });
      assert.equal(await registry.read.isVerified([alice.account.address]), true);
      await networkHelpers.time.increase(100);
      assert.equal(await registry.read.isVerified([alice.account.address]), false);
    });
  });

  describe("wallets", () => {
    it("one identity holds several wallets; a wallet belongs to one identity", async () => {
      await base.restore();
      const id = await sen.attest(alice.account.address, { label: "alice" });
      await viem.assertions.emitWithArgs(registry.write.addWallet([id, bob.account.address], as(issuer)), registry, "WalletAdded", [
        id,
        bob.account.address,
      ]);
      assert.equal((await registry.read.identityOf([bob.account.address]))[0], id);
      const other = await sen.attest(carol.account.address, { label: "carol" });
      await viem.assertions.revertWithCustomErrorWithArgs(
        registry.write.addWallet([other, bob.account.address], as(issuer)),
        registry,
        "IdentityWalletAlreadyBound",
        [bob.account.address, id],
      );
      await viem.assertions.revertWithCustomError(registry.write.addWallet([id, mallory.account.address], as(mallory)), registry, "IdentityNotIssuer");
      await viem.assertions.revertWithCustomError(registry.write.removeWallet([bob.account.address], as(mallory)), registry, "IdentityNotIssuer");
      await viem.assertions.emit(registry.write.removeWallet([bob.account.address], as(issuer)), registry, "WalletRemoved");
      assert.equal(await registry.read.isVerified([bob.account.address]), false);
      await viem.assertions.revertWithCustomError(registry.write.removeWallet([bob.account.address], as(issuer)), registry, "IdentityWalletNotBound");
    });
  });

  describe("revoke", () => {
    it("by the issuer or governance, never by anyone else; revocation stops verification", async () => {
      await base.restore();
      const a = await sen.attest(alice.account.address, { label: "alice" });
      const b = await sen.attest(bob.account.address, { label: "bob" });
      await viem.assertions.revertWithCustomError(registry.write.revoke([a], as(mallory)), registry, "IdentityNotIssuer");
      await viem.assertions.emitWithArgs(registry.write.revoke([a], as(issuer)), registry, "IdentityRevoked", [a, issuer.account.address]);
      await viem.assertions.emitWithArgs(registry.write.revoke([b], as(gov)), registry, "IdentityRevoked", [b, gov.account.address]);
      assert.equal(await registry.read.isVerified([alice.account.address]), false);
      assert.equal(await registry.read.isVerified([bob.account.address]), false);
      await viem.assertions.revertWithCustomError(registry.write.revoke([identityHash("nobody")], as(issuer)), registry, "IdentityNotFound");
    });
  });

  it("a governance revocation cannot be undone by the issuer until governance lifts it", async () => {
    await base.restore();
    const id = await sen.attest(alice.account.address, { label: "alice" });
    await registry.write.revoke([id], as(gov));
    const t = Number((await sen.now()) + ONE_YEAR);
    await viem.assertions.revertWithCustomErrorWithArgs(registry.write.attest([id, 2, VIET_NAM, RETAIL, t, zeroAddress], as(issuer)), registry, "IdentityRevokedByGovernance", [id]);
    await viem.assertions.revertWithCustomError(registry.write.liftGovernanceRevocation([id], as(issuer)), registry, "AccessControlUnauthorizedAccount");
    await registry.write.liftGovernanceRevocation([id], as(gov));
    assert.equal(await registry.read.isVerified([alice.account.address]), false, "lifting is not reinstating");
    await registry.write.attest([id, 2, VIET_NAM, RETAIL, t, zeroAddress], as(issuer));
    assert.equal(await registry.read.isVerified([alice.account.address]), true);
    // the issuer's own revocation can be undone by the issuer's re-attestation
    await registry.write.revoke([id], as(issuer));
    await registry.write.attest([id, 2, VIET_NAM, RETAIL, t, zeroAddress], as(issuer));
    assert.equal(await registry.read.isVerified([alice.account.address]), true);
  });

  describe("attestBySig (EIP-712)", () => {
    it("anyone can relay an issuer's signed attestation, once", async () => {
      await base.restore();
      const id = identityHash("sig");
      const deadline = (await sen.now()) + 3600n;
      const expiresAt = Number((await sen.now()) + ONE_YEAR);
      const { message, signature } = await signAttestation(sen, issuer, { identityHash: id, wallet: alice.account.address, nonce: 0n, deadline, expiresAt });
      await viem.assertions.emit(registry.write.attestBySig([message, signature], as(mallory)), registry, "IdentityAttested");
      assert.equal(await registry.read.isVerified([alice.account.address]), true);
      assert.equal(await registry.read.isNonceUsed([issuer.account.address, 0n]), true);
      assert.equal(await registry.read.isNonceUsed([issuer.account.address, 1n]), false);
      // Replay of the very same signature: the nonce is spent (and the identity has moved on).
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.attestBySig([message, signature], as(mallory)), registry, "IdentityNonceUsed", [
        getAddress(issuer.account.address),
        0n,
      ]);
    });

    it("rejects an expired deadline", async () => {
      await base.restore();
      const deadline = (await sen.now()) + 10n;
      const { message, signature } = await signAttestation(sen, issuer, {
        identityHash: identityHash("late"),
        wallet: alice.account.address,
        nonce: 0n,
        deadline,
        expiresAt: Number((await sen.now()) + ONE_YEAR),
      });
      await networkHelpers.time.increase(60);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.attestBySig([message, signature]), registry, "IdentityExpiredSignature", [deadline]);
    });

    it("rejects a signature by anyone but the named issuer, and tampered fields", async () => {
      await base.restore();
      const deadline = (await sen.now()) + 3600n;
      const expiresAt = Number((await sen.now()) + ONE_YEAR);
      const forged = await signAttestation(sen, mallory, {
        identityHash: identityHash("forged"),
        wallet: mallory.account.address,
        nonce: 0n,
        deadline,
        expiresAt,
        issuer: issuer.account.address,
      });
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.attestBySig([forged.message, forged.signature]), registry, "IdentityInvalidSignature", [
        issuer.account.address,
      ]);
      const genuine = await signAttestation(sen, issuer, { identityHash: identityHash("g"), wallet: alice.account.address, nonce: 0n, deadline, expiresAt });
      const tampered = { ...genuine.message, wallet: mallory.account.address };
      await viem.assertions.revertWithCustomError(registry.write.attestBySig([tampered, genuine.signature]), registry, "IdentityInvalidSignature");
      const otherNonce = await signAttestation(sen, issuer, { identityHash: identityHash("n"), wallet: alice.account.address, nonce: 5n, deadline, expiresAt });
      await viem.assertions.revertWithCustomError(
        registry.write.attestBySig([{ ...otherNonce.message, nonce: 6n }, otherNonce.signature]),
        registry,
        "IdentityInvalidSignature",
      );
    });

    it("a signature from an issuer that lost trust is refused", async () => {
      await base.restore();
      const deadline = (await sen.now()) + 3600n;
      const s = await signAttestation(sen, issuer, {
        identityHash: identityHash("x"),
        wallet: alice.account.address,
        nonce: 0n,
        deadline,
        expiresAt: Number((await sen.now()) + ONE_YEAR),
      });
      await registry.write.removeIssuer([issuer.account.address]);
      await viem.assertions.revertWithCustomError(registry.write.attestBySig([s.message, s.signature]), registry, "IdentityUntrustedIssuer");
    });

    it("a signature made before a revocation, a downgrade or a wallet change cannot be relayed after it", async () => {
      await base.restore();
      const id = await sen.attest(alice.account.address, { label: "alice", investor: PROFESSIONAL });
      const deadline = (await sen.now()) + 3600n;
      const expiresAt = Number((await sen.now()) + ONE_YEAR);
      const v1 = await registry.read.identityVersion([id]);
      assert.ok(v1 > 0n, "an attested identity has a version");
      // The issuer signs a renewal, then revokes before anyone relays it: the old signature
      // must not restore the identity.
      const renewal = await signAttestation(sen, issuer, { identityHash: id, wallet: zeroAddress, nonce: 10n, deadline, expiresAt });
      assert.equal(renewal.message.identityVersion, v1);
      await registry.write.revoke([id], as(issuer));
      const v2 = await registry.read.identityVersion([id]);
      assert.ok(v2 > v1, "revocation changes the version");
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.attestBySig([renewal.message, renewal.signature], as(mallory)), registry, "IdentityStaleSignature", [
        id,
        v1,
        v2,
      ]);
      assert.equal(await registry.read.isVerified([alice.account.address]), false, "still revoked");
      // A fresh signature over the current version works.
      const fresh = await signAttestation(sen, issuer, { identityHash: id, wallet: zeroAddress, nonce: 10n, deadline, expiresAt });
      await registry.write.attestBySig([fresh.message, fresh.signature], as(mallory));
      assert.equal(await registry.read.isVerified([alice.account.address]), true);

      // A level-2 attestation signed before a downgrade to level 1 does not undo the downgrade.
      const level2 = await signAttestation(sen, issuer, { identityHash: id, wallet: zeroAddress, nonce: 11n, deadline, expiresAt, kycLevel: 2 });
      await registry.write.attest([id, 1, VIET_NAM, PROFESSIONAL, expiresAt, zeroAddress], as(issuer));
      await viem.assertions.revertWithCustomError(registry.write.attestBySig([level2.message, level2.signature], as(mallory)), registry, "IdentityStaleSignature");
      assert.equal((await registry.read.identity([id])).kycLevel, 1);

      // Unbinding a wallet is a change too: a signature from before it is stale.
      await registry.write.addWallet([id, bob.account.address], as(issuer));
      const beforeUnbind = await signAttestation(sen, issuer, { identityHash: id, wallet: zeroAddress, nonce: 12n, deadline, expiresAt });
      await registry.write.removeWallet([bob.account.address], as(issuer));
      await viem.assertions.revertWithCustomError(
        registry.write.attestBySig([beforeUnbind.message, beforeUnbind.signature], as(mallory)),
        registry,
        "IdentityStaleSignature",
      );
    });

    it("nonces are unordered: a withheld signature does not block later ones", async () => {
      await base.restore();
      const deadline = (await sen.now()) + 3600n;
      const expiresAt = Number((await sen.now()) + ONE_YEAR);
      const withheld = await signAttestation(sen, issuer, { identityHash: identityHash("w1"), wallet: alice.account.address, nonce: 3n, deadline, expiresAt });
      const later = await signAttestation(sen, issuer, { identityHash: identityHash("w2"), wallet: bob.account.address, nonce: 300n, deadline, expiresAt });
      await registry.write.attestBySig([later.message, later.signature], as(mallory));
      assert.equal(await registry.read.isVerified([bob.account.address]), true);
      await registry.write.attestBySig([withheld.message, withheld.signature], as(mallory));
      assert.equal(await registry.read.isVerified([alice.account.address]), true);
      assert.equal(await registry.read.nonceBitmap([issuer.account.address, 0n]), 1n << 3n);
      assert.equal(await registry.read.nonceBitmap([issuer.account.address, 1n]), 1n << 44n);
    });

    it("an issuer cancels signed nonces it no longer wants relayed", async () => {
      await base.restore();
      const deadline = (await sen.now()) + 3600n;
      const expiresAt = Number((await sen.now()) + ONE_YEAR);
      const s = await signAttestation(sen, issuer, { identityHash: identityHash("cancel"), wallet: alice.account.address, nonce: 258n, deadline, expiresAt });
      await viem.assertions.emitWithArgs(registry.write.invalidateNonces([1n, (1n << 2n) | (1n << 9n)], as(issuer)), registry, "NoncesInvalidated", [
        getAddress(issuer.account.address),
        1n,
        (1n << 2n) | (1n << 9n),
      ]);
      assert.equal(await registry.read.isNonceUsed([issuer.account.address, 258n]), true);
      assert.equal(await registry.read.isNonceUsed([issuer.account.address, 259n]), false);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.attestBySig([s.message, s.signature], as(mallory)), registry, "IdentityNonceUsed", [
        getAddress(issuer.account.address),
        258n,
      ]);
      assert.equal(await registry.read.isVerified([alice.account.address]), false);
    });
  });

  it("an issuer that lost trust can no longer revoke or unbind; governance still can", async () => {
    await base.restore();
    const id = await sen.attest(alice.account.address, { label: "alice" });
    await registry.write.addWallet([id, bob.account.address], as(issuer));
    await registry.write.removeIssuer([issuer.account.address]);
    await viem.assertions.revertWithCustomErrorWithArgs(registry.write.revoke([id], as(issuer)), registry, "IdentityUntrustedIssuer", [getAddress(issuer.account.address)]);
    await viem.assertions.revertWithCustomErrorWithArgs(registry.write.removeWallet([bob.account.address], as(issuer)), registry, "IdentityUntrustedIssuer", [
      getAddress(issuer.account.address),
    ]);
    assert.equal(await registry.read.identity([id]).then((r) => r.revoked), false);
    await registry.write.removeWallet([bob.account.address], as(gov));
    await registry.write.revoke([id], as(gov));
    assert.equal(await registry.read.identity([id]).then((r) => r.revoked), true);
  });

  it("a wallet, once bound, is never bound to another identity; the registry remembers whose it was", async () => {
    await base.restore();
    const a = await sen.attest(alice.account.address, { label: "alice" });
    const c = await sen.attest(carol.account.address, { label: "carol" });
    await registry.write.removeWallet([alice.account.address], as(issuer));
    assert.equal(await registry.read.lastIdentityOf([alice.account.address]), a);
    assert.equal((await registry.read.identityOf([alice.account.address]))[0], zeroHash);
    await viem.assertions.revertWithCustomErrorWithArgs(registry.write.addWallet([c, alice.account.address], as(issuer)), registry, "IdentityWalletFormerlyBound", [
      getAddress(alice.account.address),
      a,
    ]);
    const t = Number((await sen.now()) + ONE_YEAR);
    await viem.assertions.revertWithCustomError(
      registry.write.attest([identityHash("someone else"), 2, VIET_NAM, RETAIL, t, alice.account.address], as(issuer)),
      registry,
      "IdentityWalletFormerlyBound",
    );
    // Its own identity may take it back.
    await registry.write.addWallet([a, alice.account.address], as(issuer));
    assert.equal(await registry.read.isVerified([alice.account.address]), true);
    assert.equal(await registry.read.lastIdentityOf([carol.account.address]), c);
    assert.equal(await registry.read.lastIdentityOf([mallory.account.address]), zeroHash);
  });
});
