import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { createWalletClient, custom, getAddress, keccak256, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { LOCAL_ROLE_ACCOUNTS } from "../../contracts/ignition/roleHolders.ts";
import { hardhatAccount, startChain, type ChainFixture } from "../../api/test/support/chainFixture.ts";
import { freePort } from "../../api/test/support/freePort.ts";
import { createIssuancePort } from "../src/chain.ts";
import { createIssuerApp, listen } from "../src/http.ts";
import { auditToLog } from "../src/main.ts";
import { createPiiVault } from "../src/piiVault.ts";
import { DEVELOPMENT_PROVIDER_NAME, DevelopmentProvider } from "../src/provider.ts";
import { addWalletMessage, IssuerService } from "../src/service.ts";
import { createSiweAuth } from "../src/siweAuth.ts";
import { openIssuerStore, type IssuerStore } from "../src/store.ts";
import { PERSON } from "./support/person.ts";
import type { ApplicationInput } from "../src/types.ts";

const person = (n: number): ApplicationInput => ({ ...PERSON, idNumber: `0011901${String(n).padStart(5, "0")}`, fullName: `${PERSON.fullName} ${"ABCDEFGHIJ"[n % 10]}` });
/** What must never reach the log. */
const SECRETS = [PERSON.idNumber, "0011901", "Nguyễn", "Bích Ngọc", PERSON.dateOfBirth];

describe("issuer HTTP API: real HTTP, real SIWE signatures, the real service and chain", () => {
  let chain: ChainFixture;
  let server: Server;
  let store: IssuerStore;
  let base: string;
  let log = "";
  let seq = 0;
  const key = () => `key-${Date.now()}-${++seq}`;
  const officer = privateKeyToAccount(generatePrivateKey());
  const applicant = privateKeyToAccount(generatePrivateKey());
  const trader = privateKeyToAccount(generatePrivateKey());
  const formerOfficer = privateKeyToAccount(generatePrivateKey());
  /** The configured officer list, as the process reads it; a test takes one off. */
  const officers = new Set([officer.address, formerOfficer.address]);

  before(async () => {
    chain = await startChain();
    const walletClient = createWalletClient({ account: hardhatAccount(LOCAL_ROLE_ACCOUNTS.kycIssuer), chain: chain.publicClient.chain, transport: custom(chain.connection.provider) });
    const port = createIssuancePort({ publicClient: chain.publicClient as never, walletClient, registry: chain.deployment.contracts.IdentityRegistry, chainId: chain.deployment.chainId });
    const logger = pino({ level: "debug" }, { write: (line: string) => void (log += line) });
    store = openIssuerStore(":memory:");
    const service = new IssuerService({
      store,
      vault: createPiiVault(`k1:${randomBytes(32).toString("hex")}`),
      salt: randomBytes(32),
      provider: new DevelopmentProvider(),
      port,
      officers: [officer.address, formerOfficer.address],
      clock: Date.now,
      audit: auditToLog(logger),
    });
    const httpPort = await freePort();
    const auth = createSiweAuth({ domain: `127.0.0.1:${httpPort}`, uri: `http://127.0.0.1:${httpPort}`, chainId: chain.deployment.chainId, isOfficer: (w) => officers.has(w) });
    server = await listen(createIssuerApp({ service, auth, logger }), httpPort);
    base = `http://127.0.0.1:${httpPort}/issuer/v1`;
  });
  after(async () => {
    server?.close();
    store?.close();
    await chain?.close();
  });

  type Answer = { status: number; body: any };
  async function call(method: string, path: string, o: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    let body: string | undefined = o.raw;
    if (o.body !== undefined) body = JSON.stringify(o.body);
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${base}${path}`, { method, headers, body });
    return { status: res.status, body: await res.json() };
  }
  async function signIn(account: PrivateKeyAccount, signer: PrivateKeyAccount = account): Promise<Answer> {
    const challenge = await call("POST", "/siwe/nonce", { body: { address: account.address } });
    assert.equal(challenge.status, 200);
    const signature = await signer.signMessage({ message: challenge.body.message });
    return call("POST", "/siwe/login", { body: { message: challenge.body.message, signature } });
  }
  const tokenOf = async (account: PrivateKeyAccount) => {
    const r = await signIn(account);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.token as string;
  };
  const submit = (token: string, input: unknown, requestKey = key()) => call("POST", "/applications", { token, body: input, headers: { "idempotency-key": requestKey } });

  it("signs an applicant in with SIWE; a nonce is single use; the role follows the officer list", async () => {
    const challenge = await call("POST", "/siwe/nonce", { body: { address: applicant.address } });
    const signature = await applicant.signMessage({ message: challenge.body.message });
    const first = await call("POST", "/siwe/login", { body: { message: challenge.body.message, signature } });
    assert.equal(first.status, 200);
    assert.equal(first.body.wallet, applicant.address);
    assert.equal(first.body.role, "applicant");
    const replay = await call("POST", "/siwe/login", { body: { message: challenge.body.message, signature } });
    assert.deepEqual([replay.status, replay.body.code], [401, "ISSUER_AUTH_SIWE_INVALID"]);
    assert.equal((await signIn(officer)).body.role, "officer");
  });

  it("refuses a signature for another wallet, and a wallet swapped into someone else's challenge", async () => {
    const forged = await signIn(applicant, trader);
    assert.deepEqual([forged.status, forged.body.code], [401, "ISSUER_AUTH_SIWE_INVALID"]);
    // The trader rewrites the applicant's challenge to name itself: that nonce was issued to another wallet.
    const challenge = await call("POST", "/siwe/nonce", { body: { address: applicant.address } });
    const swapped = challenge.body.message.replace(applicant.address, trader.address);
    const own = await call("POST", "/siwe/login", { body: { message: swapped, signature: await trader.signMessage({ message: swapped }) } });
    assert.equal(own.status, 401);
    assert.match(own.body.message, /another wallet/);
    const bad = await call("POST", "/siwe/nonce", { body: { address: "0x1234" } });
    assert.deepEqual([bad.status, bad.body.code, bad.body.field], [400, "ISSUER_BAD_INPUT", "address"]);
  });

  it("takes an application from a signed-in applicant only, idempotently by Idempotency-Key; bad ID data names the field", async () => {
    const anonymous = await call("POST", "/applications", { body: PERSON, headers: { "idempotency-key": key() } });
    assert.deepEqual([anonymous.status, anonymous.body.code], [401, "ISSUER_AUTH_REQUIRED"]);
    const token = await tokenOf(applicant);
    const noKey = await call("POST", "/applications", { token, body: PERSON });
    assert.deepEqual(noKey.body, { code: "ISSUER_BAD_INPUT", field: "Idempotency-Key", message: "Idempotency-Key: must be 8-128 characters of A-Z a-z 0-9 _ . : -" });
    const notJson = await call("POST", "/applications", { token, headers: { "idempotency-key": key() } });
    assert.deepEqual([notJson.status, notJson.body.code], [400, "ISSUER_BAD_INPUT"]);
    assert.match(notJson.body.message, /^request body: /);
    // The ID number says a woman born in 1990; a man's application with it is refused, naming idNumber or sex.
    const inconsistent = await submit(token, { ...PERSON, sex: "male" });
    assert.equal(inconsistent.status, 400);
    assert.equal(inconsistent.body.code, "ISSUER_BAD_INPUT");
    assert.ok(["idNumber", "sex"].includes(inconsistent.body.field), JSON.stringify(inconsistent.body));
    const underAge = await submit(token, { ...PERSON, idNumber: "001320123456", dateOfBirth: "2020-01-01" });
    assert.deepEqual([underAge.status, underAge.body.code, underAge.body.field], [400, "ISSUER_BAD_INPUT", "dateOfBirth"]);
    assert.equal((await store.byWallet(applicant.address)).length, 0, "nothing stored half-way");

    const requestKey = key();
    const ok = await submit(token, PERSON, requestKey);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.status, "submitted");
    assert.equal(ok.body.wallet, applicant.address);
    assert.equal(ok.body.provider, DEVELOPMENT_PROVIDER_NAME);
    assert.equal(ok.body.idNumber, undefined, "the answer carries no personal data");
    const again = await submit(token, PERSON, requestKey);
    assert.deepEqual(again, ok, "a repeated submission answers the same application");
    const mine = await call("GET", "/applications/me", { token });
    assert.deepEqual(mine.body.map((a: { id: string; status: string }) => [a.id, a.status]), [[ok.body.id, "submitted"]]);
    const data = await call("GET", "/me/data", { token });
    assert.equal(data.body[0].data.idNumber, PERSON.idNumber, "the applicant sees their own data");
  });

  it("refuses an oversized body with 413 naming the limit, and malformed JSON with 400 without echoing it", async () => {
    const token = await tokenOf(trader);
    const big = await submit(token, { ...PERSON, padding: "x".repeat(33 * 1024) });
    assert.deepEqual(big, { status: 413, body: { code: "ISSUER_BODY_TOO_LARGE", message: "request body exceeds the 32 KB limit" } });
    const malformed = await call("POST", "/applications", { token, raw: `{"fullName": "${PERSON.fullName}", idNumber: ${PERSON.idNumber}}`, headers: { "idempotency-key": key() } });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.code, "ISSUER_MALFORMED_JSON");
    assert.match(malformed.body.message, /not valid JSON \(at position \d+/);
    for (const secret of SECRETS) assert.ok(!malformed.body.message.includes(secret));
    assert.equal((await store.byWallet(trader.address)).length, 0, "nothing reached the store");
  });

  it("keeps officer routes to officers: a trader's session gets 403 and nothing changes", async () => {
    const applicantToken = await tokenOf(applicant);
    const [app] = (await call("GET", "/applications/me", { token: applicantToken })).body;
    const token = await tokenOf(trader);
    for (const [method, path, body] of [
      ["GET", "/review/queue"],
      ["GET", `/review/applications/${app.id}?reason=checking`],
      ["POST", `/review/applications/${app.id}/approve`, { kycLevel: 2, investorType: "retail", expiresAt: 2_000_000_000 }],
      ["POST", `/review/applications/${app.id}/reject`, { reason: "blurry" }],
      ["POST", `/review/identities/${keccak256("0x01")}/revoke`, { reason: "court order" }],
      ["GET", "/review/expiring?withinDays=30"],
    ] as const) {
      const r = await call(method, path, { token, body });
      assert.deepEqual([r.status, r.body.code], [403, "ISSUER_NOT_OFFICER"], `${method} ${path}`);
    }
    assert.equal((await store.get(app.id))?.status, "submitted");
    assert.equal(await chain.registry.read.isVerified([applicant.address]), false);
    assert.equal((await call("GET", "/review/queue")).status, 401);
  });

  it("an officer taken off the list loses the officer routes at once, session or not", async () => {
    const token = await tokenOf(formerOfficer);
    assert.equal((await call("GET", "/review/queue", { token })).status, 200);
    officers.delete(formerOfficer.address);
    const after = await call("GET", "/review/queue", { token });
    assert.deepEqual([after.status, after.body.code], [403, "ISSUER_NOT_OFFICER"]);
  });

  it("an officer reads with a reason, approves, and the applicant's wallet is verified on chain; revocation unverifies it", async () => {
    const applicantToken = await tokenOf(applicant);
    const [app] = (await call("GET", "/applications/me", { token: applicantToken })).body;
    const officerToken = await tokenOf(officer);
    const queue = await call("GET", "/review/queue", { token: officerToken });
    const queued = queue.body.find((a: { id: string }) => a.id === app.id);
    assert.equal(queued.provider, DEVELOPMENT_PROVIDER_NAME, "the queue shows which provider verified it");
    const noReason = await call("GET", `/review/applications/${app.id}`, { token: officerToken });
    assert.deepEqual([noReason.status, noReason.body.field], [400, "reason"]);
    const read = await call("GET", `/review/applications/${app.id}?reason=${encodeURIComponent("identity review")}`, { token: officerToken });
    assert.equal(read.status, 200);
    assert.equal(read.body.data.fullName, PERSON.fullName);
    const missing = await call("GET", "/review/applications/nope?reason=identity%20review", { token: officerToken });
    assert.deepEqual([missing.status, missing.body.code], [404, "ISSUER_NOT_FOUND"]);

    const expiresAt = Number((await chain.publicClient.getBlock()).timestamp) + 365 * 86400;
    const badLevel = await call("POST", `/review/applications/${app.id}/approve`, { token: officerToken, body: { kycLevel: 3, investorType: "retail", expiresAt } });
    assert.deepEqual([badLevel.status, badLevel.body.field], [400, "kycLevel"]);
    assert.equal(await chain.registry.read.isVerified([applicant.address]), false);
    const approved = await call("POST", `/review/applications/${app.id}/approve`, { token: officerToken, body: { kycLevel: 2, investorType: "retail", expiresAt } });
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.equal(approved.body.status, "issued");
    assert.equal(await chain.registry.read.isVerified([applicant.address]), true);
    assert.deepEqual(await chain.registry.read.verifiedIdentityOf([applicant.address]), [app.identityHash, 2, 704, 1]);
    assert.equal((await call("GET", "/applications/me", { token: applicantToken })).body[0].status, "issued");
    const twice = await call("POST", `/review/applications/${app.id}/approve`, { token: officerToken, body: { kycLevel: 2, investorType: "retail", expiresAt } });
    assert.deepEqual([twice.status, twice.body.code], [409, "ISSUER_WRONG_STATUS"]);

    const expiring = await call("GET", "/review/expiring?withinDays=400", { token: officerToken });
    assert.ok(expiring.body.some((a: { id: string }) => a.id === app.id));
    assert.equal((await call("GET", "/review/expiring?withinDays=14", { token: officerToken })).body.length, 0);

    const revoked = await call("POST", `/review/identities/${app.identityHash}/revoke`, { token: officerToken, body: { reason: "court order" } });
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    assert.equal(await chain.registry.read.isVerified([applicant.address]), false);
    const seen = (await call("GET", "/applications/me", { token: applicantToken })).body[0];
    assert.deepEqual([seen.status, seen.reason], ["revoked", "court order"]);
  });

  it("one person, one identity: a second wallet joins the identity only with a bound wallet's signature", async () => {
    const first = privateKeyToAccount(generatePrivateKey());
    const second = privateKeyToAccount(generatePrivateKey());
    const officerToken = await tokenOf(officer);
    const expiresAt = Number((await chain.publicClient.getBlock()).timestamp) + 365 * 86400;
    const app = (await submit(await tokenOf(first), person(5))).body;
    assert.equal((await call("POST", `/review/applications/${app.id}/approve`, { token: officerToken, body: { kycLevel: 2, investorType: "retail", expiresAt } })).status, 200);

    const secondToken = await tokenOf(second);
    const noProof = await submit(secondToken, person(5));
    assert.deepEqual([noProof.status, noProof.body.code, noProof.body.field], [409, "ISSUER_PROOF_REQUIRED", "proof"]);
    // A signature by the new wallet itself is no proof.
    const selfSigned = await submit(secondToken, { ...person(5), proof: { signer: first.address, signature: await second.signMessage({ message: addWalletMessage(second.address) }) } });
    assert.deepEqual([selfSigned.status, selfSigned.body.code], [403, "ISSUER_BAD_PROOF"]);
    const joined = await submit(secondToken, { ...person(5), proof: { signer: first.address, signature: await first.signMessage({ message: addWalletMessage(second.address) }) } });
    assert.equal(joined.status, 200, JSON.stringify(joined.body));
    assert.deepEqual([joined.body.kind, joined.body.identityHash], ["add-wallet", app.identityHash]);
    assert.equal((await call("POST", `/review/applications/${joined.body.id}/approve`, { token: officerToken, body: { kycLevel: 2, investorType: "retail", expiresAt } })).status, 200);
    assert.equal(await boundIdentity(second.address), app.identityHash);
    assert.equal(await chain.registry.read.isVerified([second.address]), true);
  });

  it("a rejection reaches the applicant with its reason; nothing reaches the chain", async () => {
    const who = privateKeyToAccount(generatePrivateKey());
    const token = await tokenOf(who);
    const app = (await submit(token, person(2))).body;
    const officerToken = await tokenOf(officer);
    const rejected = await call("POST", `/review/applications/${app.id}/reject`, { token: officerToken, body: { reason: "the photo is blurred" } });
    assert.equal(rejected.status, 200);
    const seen = (await call("GET", "/applications/me", { token })).body[0];
    assert.deepEqual([seen.status, seen.reason], ["rejected", "the photo is blurred"]);
    assert.equal(await boundIdentity(who.address), null);
  });

  it("a chain refusal at approval names the registry's error, and the application stays in the queue", async () => {
    const who = privateKeyToAccount(generatePrivateKey());
    const token = await tokenOf(who);
    const app = (await submit(token, person(3))).body;
    // Meanwhile the wallet is bound on chain to another identity (by the same issuer, directly).
    await chain.attest(who.address, `elsewhere-${who.address}`);
    const officerToken = await tokenOf(officer);
    const expiresAt = Number((await chain.publicClient.getBlock()).timestamp) + 365 * 86400;
    const refused = await call("POST", `/review/applications/${app.id}/approve`, { token: officerToken, body: { kycLevel: 2, investorType: "retail", expiresAt } });
    assert.equal(refused.status, 502);
    assert.equal(refused.body.code, "ISSUER_CHAIN_FAILED");
    assert.match(refused.body.message, /the registry refused: IdentityWalletAlreadyBound/);
    assert.equal((await store.get(app.id))?.status, "submitted");
  });

  it("erasure at the applicant's request removes the personal data and revokes the attestation", async () => {
    const who = privateKeyToAccount(generatePrivateKey());
    const token = await tokenOf(who);
    const app = (await submit(token, person(4))).body;
    const officerToken = await tokenOf(officer);
    const expiresAt = Number((await chain.publicClient.getBlock()).timestamp) + 365 * 86400;
    assert.equal((await call("POST", `/review/applications/${app.id}/approve`, { token: officerToken, body: { kycLevel: 2, investorType: "retail", expiresAt } })).status, 200);
    assert.equal(await chain.registry.read.isVerified([who.address]), true);
    const erased = await call("POST", "/me/erase", { token });
    assert.equal(erased.status, 200, JSON.stringify(erased.body));
    assert.equal(await chain.registry.read.isVerified([who.address]), false);
    assert.deepEqual((await call("GET", "/me/data", { token })).body, []);
    const read = await call("GET", `/review/applications/${app.id}?reason=audit`, { token: officerToken });
    assert.deepEqual([read.status, read.body.code], [409, "ISSUER_WRONG_STATUS"]);
  });

  it("answers /health and unknown routes in the envelope", async () => {
    const health = await fetch(base.replace("/issuer/v1", "/health"));
    assert.deepEqual(await health.json(), { status: "ok" });
    const unknown = await call("GET", "/nope");
    assert.deepEqual(unknown, { status: 404, body: { code: "ISSUER_NO_ROUTE", message: "no such route" } });
  });

  it("logged every request and audit event, and no personal data, over the whole run", () => {
    const lines = log.trim().split("\n").map((l) => JSON.parse(l));
    const requests = lines.filter((l) => l.msg === "request");
    assert.ok(requests.length > 40, `the log captured the run (${requests.length} requests)`);
    assert.ok(requests.some((l) => l.route === "/issuer/v1/applications" && l.status === 200 && l.wallet === getAddress(applicant.address)));
    assert.ok(lines.some((l) => l.msg === "issuer audit" && l.audit.type === "application.issued"));
    for (const secret of SECRETS) assert.ok(!log.includes(secret), `the log holds ${secret}`);
  });

  const boundIdentity = async (wallet: Hex): Promise<Hex | null> => {
    const [identityHash] = await chain.registry.read.identityOf([wallet]);
    return /^0x0{64}$/.test(identityHash) ? null : identityHash;
  };
});
