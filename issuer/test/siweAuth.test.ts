import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createSiweAuth, SiweAuthError } from "../src/siweAuth.ts";

const officer = privateKeyToAccount(generatePrivateKey());
const applicant = privateKeyToAccount(generatePrivateKey());

function setup() {
  const clock = { t: Date.parse("2026-12-03T05:00:00Z") };
  const auth = createSiweAuth({ domain: "issuer.sen.example", uri: "https://issuer.sen.example", chainId: 31337, isOfficer: (w) => w === officer.address, now: () => clock.t, challengeTtlMs: 60_000, sessionTtlMs: 3_600_000 });
  return { auth, clock };
}
const refused = async (p: Promise<unknown>, reason: RegExp) => {
  const err = await p.then(() => null, (e: unknown) => e);
  assert.ok(err instanceof SiweAuthError, String(err));
  assert.match(err.message, reason);
};

describe("issuer SIWE sign-in", () => {
  it("opens a session for the signer, expiring after its time", async () => {
    const { auth, clock } = setup();
    const { message } = auth.challenge(officer.address);
    const s = await auth.login(message, await officer.signMessage({ message }));
    assert.deepEqual([s.wallet, s.role], [officer.address, "officer"]);
    assert.equal(auth.session(s.token)?.wallet, officer.address);
    clock.t += 3_600_000 - 1;
    assert.ok(auth.session(s.token));
    clock.t += 1;
    assert.equal(auth.session(s.token), null);
    assert.equal(auth.session("not-a-token"), null);
  });

  it("refuses an expired challenge, a message for another site or chain, and a tampered message", async () => {
    const { auth, clock } = setup();
    const late = auth.challenge(applicant.address);
    clock.t += 60_001;
    await refused(auth.login(late.message, await applicant.signMessage({ message: late.message })), /another site, expired/);

    const other = createSiweAuth({ domain: "evil.example", uri: "https://evil.example", chainId: 31337, isOfficer: () => false, now: () => clock.t });
    const phished = other.challenge(applicant.address).message;
    await refused(auth.login(phished, await applicant.signMessage({ message: phished })), /another site/);

    const { message } = auth.challenge(applicant.address);
    const otherChain = message.replace("Chain ID: 31337", "Chain ID: 1");
    await refused(auth.login(otherChain, await applicant.signMessage({ message: otherChain })), /another chain/);
    const tampered = message.replace("Sign in", "Log in");
    await refused(auth.login(tampered, await applicant.signMessage({ message })), /signature/);
    // The untouched challenge still works: failed attempts did not spend its nonce.
    const s = await auth.login(message, await applicant.signMessage({ message }));
    assert.equal(s.role, "applicant");
  });

  it("issues a challenge as fast with 20 000 live as with one: no request walks the whole table", () => {
    const clock = { t: Date.parse("2026-12-03T05:00:00Z") };
    const perCall = (auth: ReturnType<typeof createSiweAuth>, n: number, step: number) => {
      const started = performance.now();
      for (let i = 0; i < n; i++) {
        auth.challenge(applicant.address);
        clock.t += step;
      }
      return (performance.now() - started) / n;
    };
    // One live at a time: each challenge has expired before the next is asked for.
    const lone = createSiweAuth({ domain: "issuer.sen.example", uri: "https://issuer.sen.example", chainId: 31337, isOfficer: () => false, now: () => clock.t, challengeTtlMs: 1 });
    perCall(lone, 500, 2);
    const one = Math.min(perCall(lone, 1000, 2), perCall(lone, 1000, 2));
    const crowded = createSiweAuth({ domain: "issuer.sen.example", uri: "https://issuer.sen.example", chainId: 31337, isOfficer: () => false, now: () => clock.t, maxChallenges: 100_000 });
    perCall(crowded, 20_000, 0);
    const many = Math.min(perCall(crowded, 1000, 0), perCall(crowded, 1000, 0));
    assert.ok(many < 5 * one, `${(many * 1000).toFixed(1)} µs a challenge with 20 000 live, ${(one * 1000).toFixed(1)} µs with one`);
  });
});
