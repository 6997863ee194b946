import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { AuthCode, AuthError } from "../errors/SenError.ts";
import { createRoleResolver } from "./roles.ts";
import { createSessionStore } from "./sessionStore.ts";
import { createSiweChallenge, verifySiweLogin } from "./siwe.ts";
import { createSiweNonceStore } from "./siweNonceStore.ts";
import type { IdentityOracle } from "./types.ts";

// Well-known Hardhat/Anvil test keys (never funded outside local chains).
const alice = privateKeyToAccount("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcaec8ff2ae0aa2f8a");
const mallory = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a1a6e5e41c4ebb8b3f0");
const operator = privateKeyToAccount("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9e37d4e5e2b69");

const DOMAIN = "sen.example";
const URI = "https://sen.example/login";
const CHAIN = 31337;
const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);
const ID_HASH: Hex = "0x3333333333333333333333333333333333333333333333333333333333333333";

function setup(verified: Address[] = [alice.address, operator.address]) {
  const clock = { t: T0 };
  const now = () => clock.t;
  const nonces = createSiweNonceStore({ now });
  const sessions = createSessionStore({ now, randomBytes, ttlMs: 60 * 60 * 1000 });
  const identity: IdentityOracle = {
    async verifiedIdentityOf(wallet) {
      return verified.includes(wallet) ? { identityHash: ID_HASH } : null;
    },
  };
  const roles = createRoleResolver({ operatorWallets: [operator.address], complianceWallets: [] });
  const deps = { identity, domain: DOMAIN, uri: URI, chainId: CHAIN, now, roles, nonces, sessions };
  const challenge = (address: Address = alice.address, over: { domain?: string } = {}) =>
    createSiweChallenge({ address, chainId: CHAIN, domain: over.domain ?? DOMAIN, uri: URI, now: clock.t }, { nonces });
  return { clock, nonces, sessions, deps, challenge };
}

const rejectsWith = (code: string) => (e: unknown) => e instanceof AuthError && e.code === code;

describe("SIWE login", () => {
  it("happy path: challenge → signature → session → principal", async () => {
    const s = setup();
    const { message, nonce } = await s.challenge();
    assert.match(message, new RegExp(`^${DOMAIN} wants you to sign in with your Ethereum account:\\n${alice.address}`));
    assert.ok(message.includes(`Nonce: ${nonce}`));
    const signature = await alice.signMessage({ message });
    const session = await verifySiweLogin({ message, signature }, s.deps);
    assert.match(session.token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(session.expiresAt, new Date(T0 + 3600_000).toISOString());
    assert.deepEqual(session.principal, {
      accountId: alice.address.toLowerCase(),
      wallet: alice.address,
      identityHash: ID_HASH,
      role: "trader",
      permissions: ["General", "Trade", "Withdraw"],
    });
    assert.deepEqual(await s.sessions.sessionFromToken(session.token), session.principal);
  });

  it("gives configured wallets their role", async () => {
    const s = setup();
    const { message } = await s.challenge(operator.address);
    const session = await verifySiweLogin({ message, signature: await operator.signMessage({ message }) }, s.deps);
    assert.equal(session.principal.role, "operator");
  });

  it("refuses a message for another domain", async () => {
    const s = setup();
    const { message } = await s.challenge(alice.address, { domain: "evil.example" });
    const signature = await alice.signMessage({ message });
    await assert.rejects(verifySiweLogin({ message, signature }, s.deps), rejectsWith(AuthCode.SIWE_INVALID));
  });

  it("refuses an expired message", async () => {
    const s = setup();
    const { message } = await s.challenge();
    const signature = await alice.signMessage({ message });
    s.clock.t += 5 * 60 * 1000;
    await assert.rejects(verifySiweLogin({ message, signature }, s.deps), rejectsWith(AuthCode.SIWE_INVALID));
  });

  it("refuses a reused nonce", async () => {
    const s = setup();
    const { message } = await s.challenge();
    const signature = await alice.signMessage({ message });
    await verifySiweLogin({ message, signature }, s.deps);
    await assert.rejects(verifySiweLogin({ message, signature }, s.deps), rejectsWith(AuthCode.SIWE_INVALID));
  });

  it("refuses concurrent double use of one nonce", async () => {
    const s = setup();
    const { message } = await s.challenge();
    const signature = await alice.signMessage({ message });
    const results = await Promise.allSettled([
      verifySiweLogin({ message, signature }, s.deps),
      verifySiweLogin({ message, signature }, s.deps),
    ]);
    assert.deepEqual(results.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
  });

  it("refuses a nonce we never issued", async () => {
    const s = setup();
    const { message, nonce } = await s.challenge();
    const forged = message.replace(`Nonce: ${nonce}`, "Nonce: abcdefgh12345678");
    const signature = await alice.signMessage({ message: forged });
    await assert.rejects(verifySiweLogin({ message: forged, signature }, s.deps), rejectsWith(AuthCode.SIWE_INVALID));
  });

  it("refuses a wrong signer, and the real owner can still use the challenge", async () => {
    const s = setup();
    const { message } = await s.challenge();
    const signature = await mallory.signMessage({ message });
    await assert.rejects(verifySiweLogin({ message, signature }, s.deps), rejectsWith(AuthCode.SIWE_INVALID));
    await assert.rejects(verifySiweLogin({ message, signature: "0x1234" }, s.deps), rejectsWith(AuthCode.SIWE_INVALID));
    await verifySiweLogin({ message, signature: await alice.signMessage({ message }) }, s.deps);
  });

  it("refuses a nonce issued to another wallet", async () => {
    const s = setup([mallory.address]);
    const { message: forAlice, nonce } = await s.challenge(alice.address);
    const { message: own } = await s.challenge(mallory.address);
    const ownNonce = /Nonce: (\w+)/.exec(own)![1];
    const swapped = own.replace(`Nonce: ${ownNonce}`, `Nonce: ${nonce}`);
    assert.ok(forAlice.includes(nonce));
    const signature = await mallory.signMessage({ message: swapped });
    await assert.rejects(verifySiweLogin({ message: swapped, signature }, s.deps), rejectsWith(AuthCode.SIWE_INVALID));
  });

  it("refuses a wallet without a verified e-ID", async () => {
    const s = setup([]);
    const { message } = await s.challenge();
    const signature = await alice.signMessage({ message });
    await assert.rejects(verifySiweLogin({ message, signature }, s.deps), rejectsWith(AuthCode.NOT_VERIFIED));
  });

  it("refuses a message for another chain, and garbage", async () => {
    const s = setup();
    const { message } = await s.challenge();
    const other = message.replace(`Chain ID: ${CHAIN}`, "Chain ID: 1");
    await assert.rejects(
      verifySiweLogin({ message: other, signature: await alice.signMessage({ message: other }) }, s.deps),
      rejectsWith(AuthCode.SIWE_INVALID),
    );
    await assert.rejects(verifySiweLogin({ message: "hello", signature: "0x" }, s.deps), rejectsWith(AuthCode.SIWE_INVALID));
  });

  it("refuses a message whose URI is of another origin, or of another version, before it spends the nonce", async () => {
    const s = setup();
    const { message } = await s.challenge();
    assert.ok(message.includes(`\nURI: ${URI}\n`) && message.includes("\nVersion: 1\n"));
    const signed = async (m: string) => ({ message: m, signature: await alice.signMessage({ message: m }) });
    for (const uri of ["https://evil.example/login", "http://sen.example/login", "https://sen.example:8443/login", "https://sen.example.evil.example/", "data:text/plain,sen.example"]) {
      const other = message.replace(`URI: ${URI}`, `URI: ${uri}`);
      await assert.rejects(verifySiweLogin(await signed(other), s.deps), (e) => rejectsWith(AuthCode.SIWE_INVALID)(e) && (e as AuthError).details?.reason === "uri", uri);
    }
    const v2 = message.replace("Version: 1", "Version: 2");
    await assert.rejects(verifySiweLogin(await signed(v2), s.deps), (e) => rejectsWith(AuthCode.SIWE_INVALID)(e) && (e as AuthError).details?.reason === "version");
    // The origin is what is compared: another page of this site is the same site.
    const samePlace = message.replace(`URI: ${URI}`, "URI: https://sen.example/");
    const session = await verifySiweLogin(await signed(samePlace), s.deps);
    assert.equal(session.principal.wallet, alice.address);
  });

  it("names the signer only once its signature is verified", async () => {
    const s = setup([]);
    const seen: string[] = [];
    const deps = { ...s.deps, onSigned: (w: string) => seen.push(w) };
    const { message } = await s.challenge();
    await assert.rejects(verifySiweLogin({ message, signature: await mallory.signMessage({ message }) }, deps), rejectsWith(AuthCode.SIWE_INVALID));
    await assert.rejects(verifySiweLogin({ message: message.replace(`URI: ${URI}`, "URI: https://evil.example"), signature: await alice.signMessage({ message }) }, deps), rejectsWith(AuthCode.SIWE_INVALID));
    assert.deepEqual(seen, [], "a wrong signer or a refused message names no one");
    await assert.rejects(verifySiweLogin({ message, signature: await alice.signMessage({ message }) }, deps), rejectsWith(AuthCode.NOT_VERIFIED));
    assert.deepEqual(seen, [alice.address], "signed by alice, refused for her e-ID: her own attempt");
  });
});

describe("sessions", () => {
  it("refuses unknown tokens, expires, and revokes every session of an account", async () => {
    const s = setup();
    const { message } = await s.challenge();
    const session = await verifySiweLogin({ message, signature: await alice.signMessage({ message }) }, s.deps);
    const second = await s.sessions.issue(session.principal);
    assert.notEqual(second.token, session.token);

    await rejects(() => s.sessions.sessionFromToken(session.token + "x"), AuthCode.BAD_SESSION);
    assert.equal(await s.sessions.revokeSessions(alice.address.toLowerCase()), 2);
    await rejects(() => s.sessions.sessionFromToken(session.token), AuthCode.BAD_SESSION);
    await rejects(() => s.sessions.sessionFromToken(second.token), AuthCode.BAD_SESSION);

    const third = await s.sessions.issue(session.principal);
    s.clock.t += 3600_000;
    await rejects(() => s.sessions.sessionFromToken(third.token), AuthCode.BAD_SESSION);
    assert.equal(s.sessions.size, 0);
  });

  it("sign-out ends the one session whose token it is", async () => {
    const s = setup();
    const { message } = await s.challenge();
    const session = await verifySiweLogin({ message, signature: await alice.signMessage({ message }) }, s.deps);
    const other = await s.sessions.issue(session.principal);
    assert.equal(await s.sessions.revokeSession(session.token), true);
    await rejects(() => s.sessions.sessionFromToken(session.token), AuthCode.BAD_SESSION);
    assert.deepEqual(await s.sessions.sessionFromToken(other.token), session.principal, "another session of the account stays");
    assert.equal(await s.sessions.revokeSession(session.token), false, "twice: nothing left to end");
    assert.equal(await s.sessions.revokeSession("not-a-token"), false);
    assert.equal(await s.sessions.revokeSessions(alice.address.toLowerCase()), 1, "the ended one is out of the account's set");
  });
});

async function rejects(fn: () => unknown, code: string) {
  await assert.rejects(async () => fn(), rejectsWith(code));
}
