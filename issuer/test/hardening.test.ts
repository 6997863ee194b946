import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { request, type Server } from "node:http";
import { after, describe, it } from "node:test";
import pino from "pino";
import type { Address, Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { freePort } from "../../api/test/support/freePort.ts";
import { createIssuerApp, listen, type IssuerAppDeps } from "../src/http.ts";
import { createPiiVault } from "../src/piiVault.ts";
import { DevelopmentProvider } from "../src/provider.ts";
import { addWalletMessage, IssuerService, type IssuerAuditEvent } from "../src/service.ts";
import { createSiweAuth, type SiweAuthOptions } from "../src/siweAuth.ts";
import { openIssuerStore, type IssuerStore } from "../src/store.ts";
import { PERSON } from "./support/person.ts";
import type { ApplicationInput, IssuancePort } from "../src/types.ts";

/**
 * A review's findings, each over real HTTP against the real service, SIWE and SQLite store;
 * the chain is a recording port (what would have been sent is what matters here).
 */

const person = (n: number, sessionId = "session-1"): ApplicationInput => ({ ...PERSON, idNumber: `0011901${String(n).padStart(5, "0")}`, verification: { ...PERSON.verification, sessionId } });
const account = () => privateKeyToAccount(generatePrivateKey());
const year = 365 * 86400;
const decision = () => ({ kycLevel: 2, investorType: "retail", expiresAt: Math.floor(Date.now() / 1000) + year });

type Answer = { status: number; body: any; headers: Headers };
const running: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const r of running) await r.close();
});

async function startIssuer(o: { officers: Address[]; auth?: Partial<SiweAuthOptions>; app?: Partial<IssuerAppDeps> }) {
  const writes: string[] = [];
  const port: IssuancePort = {
    async attest(a) {
      writes.push(`attest ${a.wallet} ${a.identityHash}`);
      return { txHash: `0x${"11".repeat(32)}` as Hex };
    },
    async addWallet(identityHash, wallet) {
      writes.push(`addWallet ${wallet} ${identityHash}`);
      return { txHash: `0x${"22".repeat(32)}` as Hex };
    },
    async revoke(identityHash) {
      writes.push(`revoke ${identityHash}`);
      return { txHash: `0x${"33".repeat(32)}` as Hex };
    },
    async identityOf() {
      return null;
    },
  };
  const audits: IssuerAuditEvent[] = [];
  let verifications = 0;
  const provider = new DevelopmentProvider();
  const counted = Object.assign(Object.create(provider) as DevelopmentProvider, { verify: (input: Parameters<DevelopmentProvider["verify"]>[0]) => (verifications++, provider.verify(input)) });
  const store: IssuerStore = openIssuerStore(":memory:");
  const service = new IssuerService({
    store, vault: createPiiVault(`k1:${randomBytes(32).toString("hex")}`), salt: randomBytes(32), provider: counted, port,
    officers: o.officers, clock: Date.now, audit: (e) => void audits.push(e),
  });
  const httpPort = await freePort();
  const origin = `http://127.0.0.1:${httpPort}`;
  const auth = createSiweAuth({ domain: `127.0.0.1:${httpPort}`, uri: origin, chainId: 31337, isOfficer: (w) => o.officers.includes(w), ...o.auth });
  const server: Server = await listen(createIssuerApp({ service, auth, logger: pino({ level: "silent" }), ...o.app }), httpPort);
  const base = `${origin}/issuer/v1`;
  const call = async (method: string, path: string, c: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> => {
    const headers: Record<string, string> = { ...c.headers };
    if (c.token) headers.authorization = `Bearer ${c.token}`;
    if (c.body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${base}${path}`, { method, headers, body: c.body === undefined ? undefined : JSON.stringify(c.body) });
    return { status: res.status, body: await res.json(), headers: res.headers };
  };
  const challenge = async (who: PrivateKeyAccount): Promise<string> => {
    const r = await call("POST", "/siwe/nonce", { body: { address: who.address } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.message as string;
  };
  const login = async (who: PrivateKeyAccount, message: string) => call("POST", "/siwe/login", { body: { message, signature: await who.signMessage({ message }) } });
  const tokenOf = async (who: PrivateKeyAccount): Promise<string> => {
    const r = await login(who, await challenge(who));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.token as string;
  };
  let seq = 0;
  const submit = (token: string, input: unknown) => call("POST", "/applications", { token, body: input, headers: { "idempotency-key": `hardening-${Date.now()}-${++seq}` } });
  const issuer = {
    origin, base, store, audits, writes, call, challenge, login, tokenOf, submit,
    verifications: () => verifications,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())).then(() => store.close()),
  };
  running.push(issuer);
  return issuer;
}

describe("an officer never decides their own case", () => {
  it("refuses an officer's approval and rejection of their own wallet's application, audited, nothing sent to the chain; another officer decides it", async () => {
    const officer = account();
    const colleague = account();
    const i = await startIssuer({ officers: [officer.address, colleague.address] });
    const officerToken = await i.tokenOf(officer);
    const own = await i.submit(officerToken, person(1));
    assert.equal(own.status, 200, JSON.stringify(own.body));

    const approve = await i.call("POST", `/review/applications/${own.body.id}/approve`, { token: officerToken, body: decision() });
    assert.deepEqual([approve.status, approve.body.code, approve.body.field], [403, "ISSUER_SELF_REVIEW", "id"], JSON.stringify(approve.body));
    const reject = await i.call("POST", `/review/applications/${own.body.id}/reject`, { token: officerToken, body: { reason: "withdrawing my own" } });
    assert.deepEqual([reject.status, reject.body.code, reject.body.field], [403, "ISSUER_SELF_REVIEW", "id"], JSON.stringify(reject.body));
    assert.deepEqual(i.writes, [], "nothing reached the chain");
    const stored = await i.store.get(own.body.id);
    assert.deepEqual([stored?.status, stored?.decidedBy], ["submitted", undefined]);
    const refusals = i.audits.filter((e) => e.type === "review.refused");
    assert.deepEqual(refusals.map((e) => [e.actor, e.applicationId, e.wallet, e.code]), [
      [officer.address, own.body.id, officer.address, "ISSUER_SELF_REVIEW"],
      [officer.address, own.body.id, officer.address, "ISSUER_SELF_REVIEW"],
    ]);

    const decided = await i.call("POST", `/review/applications/${own.body.id}/approve`, { token: await i.tokenOf(colleague), body: decision() });
    assert.equal(decided.status, 200, JSON.stringify(decided.body));
    assert.deepEqual([decided.body.status, decided.body.decidedBy], ["issued", colleague.address]);
  });

  it("refuses an officer's decision on another wallet of their own identity: an added wallet, and a new one after a revocation", async () => {
    const officer = account();
    const colleague = account();
    const i = await startIssuer({ officers: [officer.address, colleague.address] });
    const officerToken = await i.tokenOf(officer);
    const colleagueToken = await i.tokenOf(colleague);
    const own = (await i.submit(officerToken, person(2))).body;
    assert.equal((await i.call("POST", `/review/applications/${own.id}/approve`, { token: colleagueToken, body: decision() })).body.status, "issued");

    // The officer's second wallet (no officer itself) joins the officer's identity.
    const second = account();
    const joined = await i.submit(await i.tokenOf(second), { ...person(2, "session-2"), proof: { signer: officer.address, signature: await officer.signMessage({ message: addWalletMessage(second.address) }) } });
    assert.equal(joined.status, 200, JSON.stringify(joined.body));
    assert.equal(joined.body.kind, "add-wallet");
    for (const [action, body] of [["approve", decision()], ["reject", { reason: "not mine to decide" }]] as const) {
      const r = await i.call("POST", `/review/applications/${joined.body.id}/${action}`, { token: officerToken, body });
      assert.deepEqual([r.status, r.body.code], [403, "ISSUER_SELF_REVIEW"], `${action}: ${JSON.stringify(r.body)}`);
    }
    assert.deepEqual(i.writes.filter((w) => w.startsWith("addWallet")), [], "the officer's refusal sent nothing");
    assert.equal((await i.call("POST", `/review/applications/${joined.body.id}/approve`, { token: colleagueToken, body: decision() })).body.status, "issued");

    // Revoked, the identity is still the officer's: a third wallet applying anew is theirs to keep away from.
    assert.equal((await i.call("POST", `/review/identities/${own.identityHash}/revoke`, { token: colleagueToken, body: { reason: "court order" } })).status, 200);
    const third = account();
    const renewed = await i.submit(await i.tokenOf(third), person(2, "session-3"));
    assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
    const r = await i.call("POST", `/review/applications/${renewed.body.id}/approve`, { token: officerToken, body: decision() });
    assert.deepEqual([r.status, r.body.code], [403, "ISSUER_SELF_REVIEW"], JSON.stringify(r.body));

    // Someone else's application is the officer's to decide as before.
    const stranger = await i.submit(await i.tokenOf(account()), person(3));
    assert.equal((await i.call("POST", `/review/applications/${stranger.body.id}/approve`, { token: officerToken, body: decision() })).body.status, "issued");
  });
});

describe("whether an ID number has a pending application is said only to its verified person", () => {
  it("answers a stranger who fails verification the same for a pending ID number as for any other", async () => {
    const i = await startIssuer({ officers: [account().address] });
    const victim = await i.tokenOf(account());
    assert.equal((await i.submit(victim, person(10))).status, 200);

    const strangerWallet = account();
    const stranger = await i.tokenOf(strangerWallet);
    for (const hook of ["fail-chip-probe", "fail-face-probe", "fail-liveness-probe", "fail-unavailable-probe"]) {
      const pending = await i.submit(stranger, person(10, hook));
      const unknown = await i.submit(stranger, person(11, hook));
      assert.notEqual(pending.body.code, "ISSUER_IDENTITY_PENDING", `${hook}: ${JSON.stringify(pending.body)}`);
      assert.deepEqual([pending.status, pending.body], [unknown.status, unknown.body], hook);
    }
    // Verified, the person is told why their application cannot be taken yet.
    const verified = await i.submit(stranger, person(10, "session-verified"));
    assert.deepEqual([verified.status, verified.body.code, verified.body.field], [409, "ISSUER_IDENTITY_PENDING", "idNumber"]);
    assert.equal((await i.store.byWallet(strangerWallet.address)).length, 0, "no probe was stored");
  });

  it("still refuses a wallet's own duplicate before asking the provider", async () => {
    const i = await startIssuer({ officers: [account().address] });
    const token = await i.tokenOf(account());
    assert.equal((await i.submit(token, person(12))).status, 200);
    const asked = i.verifications();
    const again = await i.submit(token, person(13, "fail-unavailable-1"));
    assert.deepEqual([again.status, again.body.code], [409, "ISSUER_DUPLICATE"]);
    assert.equal(i.verifications(), asked, "the provider was not asked");
  });
});

/** A POST from another loopback source address (127.0.0.2): another client for the rate limit. */
function postFrom(localAddress: string, url: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", localAddress, headers: { "content-type": "application/json" } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

describe("sign-in holds what anyone can make it keep", () => {
  it("limits /siwe/nonce and /siwe/login per client address with 429 in the error envelope; another address is unaffected", async () => {
    const i = await startIssuer({ officers: [account().address] });
    const who = account();
    const nonces: Answer[] = [];
    for (let n = 0; n < 40; n++) nonces.push(await i.call("POST", "/siwe/nonce", { body: { address: who.address } }));
    assert.ok(nonces.slice(0, 30).every((r) => r.status === 200), "a burst of 30 is served");
    const limited = nonces.filter((r) => r.status === 429);
    assert.ok(limited.length >= 5, `${limited.length} of 40 limited`);
    assert.equal(limited[0]!.body.code, "ISSUER_RATE_LIMITED");
    assert.match(limited[0]!.body.message, /too many sign-in requests/);
    assert.ok(Number(limited[0]!.headers.get("retry-after")) >= 1);
    assert.equal(await postFrom("127.0.0.2", `${i.base}/siwe/nonce`, { address: who.address }), 200, "another address has its own bucket");

    const message = nonces[0]!.body.message as string;
    const logins: number[] = [];
    for (let n = 0; n < 40; n++) logins.push((await i.call("POST", "/siwe/login", { body: { message, signature: `0x${"00".repeat(65)}` } })).status);
    assert.ok(logins.slice(0, 30).every((s) => s === 401));
    assert.ok(logins.filter((s) => s === 429).length >= 5, `login limited: ${logins.join(",")}`);
  });

  it("counts the client a trusted reverse proxy names, and believes X-Forwarded-For from no one else", async () => {
    const who = account();
    const nonceAs = (i: { call: (m: string, p: string, c?: { body?: unknown; headers?: Record<string, string> }) => Promise<Answer> }, client: string) =>
      i.call("POST", "/siwe/nonce", { body: { address: who.address }, headers: { "x-forwarded-for": client } }).then((r) => r.status);
    const rate = { burst: 2, perSecond: 0.001 };
    // Behind the proxy (the test connects from loopback): each client it names has its own bucket.
    const proxied = await startIssuer({ officers: [account().address], app: { signInRate: rate, trustProxy: ["loopback"] } });
    assert.deepEqual([await nonceAs(proxied, "203.0.113.1"), await nonceAs(proxied, "203.0.113.1"), await nonceAs(proxied, "203.0.113.1")], [200, 200, 429]);
    assert.equal(await nonceAs(proxied, "203.0.113.2"), 200, "another client behind the same proxy is not limited by the first");
    assert.deepEqual([await nonceAs(proxied, "2001:db8:7:7::1"), await nonceAs(proxied, "2001:db8:7:7::2"), await nonceAs(proxied, "2001:db8:7:7::3")], [200, 200, 429], "an IPv6 client by its /64");
    // No proxy trusted (the default): a client naming other addresses still meets its own limit.
    const direct = await startIssuer({ officers: [account().address], app: { signInRate: rate } });
    assert.deepEqual([await nonceAs(direct, "203.0.113.1"), await nonceAs(direct, "203.0.113.2"), await nonceAs(direct, "203.0.113.3")], [200, 200, 429]);
  });

  it("keeps at most the configured number of live challenges, dropping the oldest first", async () => {
    const i = await startIssuer({ officers: [account().address], auth: { maxChallenges: 3 } });
    const wallets = [account(), account(), account(), account()];
    const messages = [];
    for (const w of wallets) messages.push(await i.challenge(w));
    const oldest = await i.login(wallets[0]!, messages[0]!);
    assert.deepEqual([oldest.status, oldest.body.code], [401, "ISSUER_AUTH_SIWE_INVALID"], "the oldest challenge was dropped");
    for (let n = 1; n < 4; n++) assert.equal((await i.login(wallets[n]!, messages[n]!)).status, 200, `challenge ${n} kept`);
  });

  it("keeps at most 10 sessions per wallet and the configured number overall, signing the oldest out", async () => {
    const i = await startIssuer({ officers: [account().address], auth: { maxSessions: 12 } });
    const who = account();
    const tokens: string[] = [];
    for (let n = 0; n < 11; n++) tokens.push(await i.tokenOf(who));
    assert.equal((await i.call("GET", "/applications/me", { token: tokens[0] })).status, 401, "the wallet's oldest session was signed out");
    for (const t of tokens.slice(1)) assert.equal((await i.call("GET", "/applications/me", { token: t })).status, 200);

    const others = [account(), account(), account()];
    const their: string[] = [];
    for (const w of others) their.push(await i.tokenOf(w));
    // 10 + 3 > 12: the oldest live session overall (the wallet's second) is signed out, the newest kept.
    assert.equal((await i.call("GET", "/applications/me", { token: tokens[1] })).status, 401);
    for (const t of [...tokens.slice(2), ...their]) assert.equal((await i.call("GET", "/applications/me", { token: t })).status, 200);
  });
});

describe("a sign-in message is the issuer's own challenge", () => {
  it("refuses a URI of another origin, an Issued At in the future and another version; a path on our origin is accepted", async () => {
    const i = await startIssuer({ officers: [account().address] });
    const who = account();
    const tampered = async (edit: (m: string) => string) => i.login(who, edit(await i.challenge(who)));

    const otherOrigin = await tampered((m) => m.replace(`URI: ${i.origin}`, "URI: https://evil.example"));
    assert.deepEqual([otherOrigin.status, otherOrigin.body.code], [401, "ISSUER_AUTH_SIWE_INVALID"], JSON.stringify(otherOrigin.body));
    assert.match(otherOrigin.body.message, /URI/);
    const otherScheme = await tampered((m) => m.replace(`URI: ${i.origin}`, `URI: ${i.origin.replace("http:", "https:")}`));
    assert.equal(otherScheme.status, 401);
    const notAUrl = await tampered((m) => m.replace(`URI: ${i.origin}`, "URI: not a url"));
    assert.equal(notAUrl.status, 401);

    const future = new Date(Date.now() + 3_600_000).toISOString();
    const ahead = await tampered((m) => m.replace(/Issued At: .*/, `Issued At: ${future}`));
    assert.deepEqual([ahead.status, ahead.body.code], [401, "ISSUER_AUTH_SIWE_INVALID"], JSON.stringify(ahead.body));
    assert.match(ahead.body.message, /future/);
    const slightlyAhead = await tampered((m) => m.replace(/Issued At: .*/, `Issued At: ${new Date(Date.now() + 5_000).toISOString()}`));
    assert.equal(slightlyAhead.status, 200, `a wallet clock a few seconds ahead is fine: ${JSON.stringify(slightlyAhead.body)}`);

    const version2 = await tampered((m) => m.replace("Version: 1", "Version: 2"));
    assert.equal(version2.status, 401);

    const page = await tampered((m) => m.replace(`URI: ${i.origin}`, `URI: ${i.origin}/onboarding/`));
    assert.equal(page.status, 200, JSON.stringify(page.body));
  });
});
