import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createWalletClient, custom, keccak256, toHex, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { LOCAL_ROLE_ACCOUNTS } from "../../contracts/ignition/roleHolders.ts";
import { hardhatAccount, startChain, type ChainFixture } from "../../api/test/support/chainFixture.ts";
import { createIssuancePort, IssuerChainError, type ChainIssuancePort } from "../src/chain.ts";

const freshWallet = (): Address => privateKeyToAccount(generatePrivateKey()).address;
const identity = (label: string): Hex => keccak256(toHex(`issuer-chain-test:${label}:${Math.random()}`));

describe("issuer chain port on the real registry", () => {
  let chain: ChainFixture;
  let port: ChainIssuancePort;
  let expiresAt: number;

  before(async () => {
    chain = await startChain();
    // The issuer's key held locally and signing in process, as main.ts runs it.
    const walletClient = createWalletClient({ account: hardhatAccount(LOCAL_ROLE_ACCOUNTS.kycIssuer), chain: chain.publicClient.chain, transport: custom(chain.connection.provider) });
    port = createIssuancePort({ publicClient: chain.publicClient as never, walletClient, registry: chain.deployment.contracts.IdentityRegistry, chainId: chain.deployment.chainId });
    expiresAt = Number((await chain.publicClient.getBlock()).timestamp) + 365 * 86400;
  });
  after(() => chain?.close());

  const attestation = (identityHash: Hex, wallet: Address) => ({ identityHash, wallet, kycLevel: 2, country: 704, investorType: 2, expiresAt });

  it("attests a fresh wallet: verified on chain with the attributes signed", async () => {
    const wallet = freshWallet();
    const id = identity("fresh");
    assert.equal(await port.identityOf(wallet), null);
    const { txHash } = await port.attest({ ...attestation(id, wallet), investorType: 3, country: 702 });
    assert.equal((await chain.publicClient.getTransactionReceipt({ hash: txHash })).status, "success");
    assert.equal(await chain.registry.read.isVerified([wallet]), true);
    assert.deepEqual(await chain.registry.read.verifiedIdentityOf([wallet]), [id, 2, 702, 3]);
    assert.deepEqual(await port.identityOf(wallet), { identityHash: id, expiresAt, revoked: false });
  });

  it("refuses a replayed signature (same nonce), naming the contract error", async () => {
    const wallet = freshWallet();
    const signed = await port.sign(attestation(identity("replay"), wallet));
    await port.relay(signed);
    const replay = await port.relay(signed).then(() => null, (e: unknown) => e);
    assert.ok(replay instanceof IssuerChainError, String(replay));
    assert.equal(replay.revert, "IdentityNonceUsed");
    assert.match(replay.message, /IdentityNonceUsed/);
  });

  it("refuses a wallet already bound to another identity, naming the contract error; nothing changes", async () => {
    const wallet = freshWallet();
    const first = identity("first");
    await port.attest(attestation(first, wallet));
    const second = identity("second");
    const err = await port.attest(attestation(second, wallet)).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof IssuerChainError, String(err));
    assert.equal(err.revert, "IdentityWalletAlreadyBound");
    assert.equal((await port.identityOf(wallet))?.identityHash, first);
    // The refused attestation did not create the second identity either.
    assert.equal(await chain.registry.read.identityVersion([second]), 0n);
  });

  it("binds a second wallet to the identity; revocation unverifies both", async () => {
    const [one, two] = [freshWallet(), freshWallet()];
    const id = identity("two-wallets");
    await port.attest(attestation(id, one));
    assert.equal(await chain.registry.read.isVerified([two]), false);
    await port.addWallet(id, two);
    assert.equal(await chain.registry.read.isVerified([two]), true);
    assert.equal((await port.identityOf(two))?.identityHash, id);
    await port.revoke(id);
    assert.equal(await chain.registry.read.isVerified([one]), false);
    assert.equal(await chain.registry.read.isVerified([two]), false);
    assert.deepEqual(await port.identityOf(two), { identityHash: id, expiresAt, revoked: true });
    const again = await port.revoke(identity("never-attested")).then(() => null, (e: unknown) => e);
    assert.ok(again instanceof IssuerChainError);
    assert.equal(again.revert, "IdentityNotFound");
  });

  it("takes concurrent attestations through one key: every one lands", async () => {
    const wallets = Array.from({ length: 8 }, freshWallet);
    const results = await Promise.all(wallets.map((w, i) => port.attest(attestation(identity(`concurrent-${i}`), w))));
    assert.equal(new Set(results.map((r) => r.txHash)).size, wallets.length);
    for (const w of wallets) assert.equal(await chain.registry.read.isVerified([w]), true);
  });
});
