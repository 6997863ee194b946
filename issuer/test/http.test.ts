import assert from "node:assert/strict";
import type { Server } from "node:http";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { createWalletClient, custom, getAddress, keccak256, toHex, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { LOCAL_ROLE_ACCOUNTS } from "../../contracts/ignition/roleHolders.ts";
import { hardhatAccount, startChain, type ChainFixture } from "../../api/test/support/chainFixture.ts";
import { freePort } from "../../api/test/support/freePort.ts";
import { createIssuancePort, type ChainIssuancePort } from "../src/chain.ts";
import { createIssuerApp, listen, type AddWalletProof, type IssuerServiceApi } from "../src/http.ts";
import { ISSUER_ERROR, IssuerError } from "../src/errors.ts";
import { createSiweAuth } from "../src/siweAuth.ts";
import { INVESTOR_TYPE_CODE, type InvestorType } from "../src/types.ts";

const ID_NUMBER = "001099012345";
const FULL_NAME = "Nguyễn Thị Bích Ngọc";

/**
 * Stands in for service.ts until it lands: it records what the HTTP layer hands it and, on
 * approval, issues through the real chain port, so the path HTTP → port → chain is real.
 */
class RecordingService implements IssuerServiceApi {
  calls: { op: string; args: unknown[] }[] = [];
  apps = new Map<string, { wallet: Address; idNumber: string }>();
  private readonly port: ChainIssuancePort;
  constructor(port: ChainIssuancePort) {
    this.port = port;
  }
  private record(op: string, ...args: unknown[]) {
    this.calls.push({ op, args });
  }
  async submit(wallet: Address, input: unknown, requestKey: string, proof?: AddWalletProof) {
    this.record("submit", wallet, input, requestKey, proof);
    const idNumber = (input as { idNumber?: unknown }).idNumber;
    if (typeof idNumber !== "string" || !/^\d{12}$/.test(idNumber)) {
      throw new IssuerError(ISSUER_ERROR.BAD_INPUT, "idNumber", "idNumber: 12 digits");
    }
    const id = `app-${this.apps.size + 1}`;
    this.apps.set(id, { wallet, idNumber });
    return { id, status: "submitted" };
  }
  async status(wallet: Address) {
    this.record("status", wallet);
    return { wallet, status: "submitted" };
  }
  async myData(wallet: Address) {
    this.record("myData", wallet);
    return { fullName: FULL_NAME };
  }
  async erase(wallet: Address) {
    this.record("erase", wallet);
    return { erased: true };
  }
  async queue() {
    this.record("queue");
    return [...this.apps.keys()].map((id) => ({ id }));
  }
  async read(officer: Address, id: string, why: string) {
    this.record("read", officer, id, why);
    const app = this.apps.get(id);
    if (!app) throw new IssuerError(ISSUER_ERROR.NOT_FOUND, undefined, `no application ${id}`);
    return { id, fullName: FULL_NAME, idNumber: app.idNumber };
  }
  async approve(officer: Address, id: string, d: { kycLevel: number; investorType: InvestorType; expiresAt: number }) {
    this.record("approve", officer, id, d);
    const app = this.apps.get(id)!;
    const identityHash = keccak256(toHex(`test-salt:${app.idNumber}`));
    const { txHash } = await this.port.attest({ identityHash, wallet: app.wallet, kycLevel: d.kycLevel, country: 704, investorType: INVESTOR_TYPE_CODE[d.investorType], expiresAt: d.expiresAt });
    return { id, status: "issued", txHash, identityHash };
  }
  async reject(officer: Address, id: string, reason: string) {
    this.record("reject", officer, id, reason);
    return { id, status: "rejected" };
  }
  async revoke(officer: Address, identityHash: Hex, reason: string) {
    this.record("revoke", officer, identityHash, reason);
    await this.port.revoke(identityHash);
    return { identityHash, status: "revoked" };
  }
  async expiring(withinSeconds: number) {
    this.record("expiring", withinSeconds);
    return [];
  }
}

describe("issuer HTTP API: real HTTP, real SIWE signatures, real chain", () => {
  let chain: ChainFixture;
  let server: Server;
  let base: string;
  let service: RecordingService;
  let log = "";
  const officer = privateKeyToAccount(generatePrivateKey());
  const applicant = privateKeyToAccount(generatePrivateKey());
  const trader = privateKeyToAccount(generatePrivateKey());

  before(async () => {
    chain = await startChain();
    const walletClient = createWalletClient({ account: hardhatAccount(LOCAL_ROLE_ACCOUNTS.kycIssuer), chain: chain.publicClient.chain, transport: custom(chain.connection.provider) });
    const port = createIssuancePort({ publicClient: chain.publicClient as never, walletClient, registry: chain.deployment.contracts.IdentityRegistry, chainId: chain.deployment.chainId });
    service = new RecordingService(port);
    const httpPort = await freePort();
    const officers = new Set([officer.address]);
    const auth = createSiweAuth({ domain: `127.0.0.1:${httpPort}`, uri: `http://127.0.0.1:${httpPort}`, chainId: chain.deployment.chainId, isOfficer: (w) => officers.has(w) });
    const logger = pino({ level: "debug" }, { write: (line: string) => void (log += line) });
    server = await listen(createIssuerApp({ service, auth, logger }), httpPort);
    base = `http://127.0.0.1:${httpPort}/issuer/v1`;
  });
  after(async () => {
    server?.close();
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
  const application = { idNumber: ID_NUMBER, fullName: FULL_NAME, dateOfBirth: "1999-03-04", sex: "female", nationality: 704 };

  it("signs an applicant in with SIWE; a nonce is single use; the role follows the officer list", async () => {
    const challenge = await call("POST", "/siwe/nonce", { body: { address: applicant.address } });
    const signature = await applicant.signMessage({ message: challenge.body.message });
    const first = await call("POST", "/siwe/login", { body: { message: challenge.body.message, signature } });
    assert.equal(first.status, 200);
    assert.equal(first.body.wallet, applicant.address);
    assert.equal(first.body.role, "applicant");
    const replay = await call("POST", "/siwe/login", { body: { message: challenge.body.message, signature } });
    assert.equal(replay.status, 401);
    assert.equal(replay.body.code, "ISSUER_AUTH_SIWE_INVALID");
    assert.equal((await signIn(officer)).body.role, "officer");
  });

  it("refuses a signature for another wallet, and a wallet swapped into someone else's challenge", async () => {
    const forged = await signIn(applicant, trader);
    assert.equal(forged.status, 401);
    assert.equal(forged.body.code, "ISSUER_AUTH_SIWE_INVALID");
    // The trader rewrites the applicant's challenge to name itself: the nonce was issued to another wallet.
    const challenge = await call("POST", "/siwe/nonce", { body: { address: applicant.address } });
    const swapped = challenge.body.message.replace(applicant.address, trader.address);
    const own = await call("POST", "/siwe/login", { body: { message: swapped, signature: await trader.signMessage({ message: swapped }) } });
    assert.equal(own.status, 401);
    assert.match(own.body.message, /another wallet/);
    const bad = await call("POST", "/siwe/nonce", { body: { address: "0x1234" } });
    assert.deepEqual([bad.status, bad.body.code, bad.body.field], [400, "ISSUER_BAD_INPUT", "address"]);
  });

  it("takes an application from a signed-in applicant only, with an Idempotency-Key, passing the session's wallet", async () => {
    const anonymous = await call("POST", "/applications", { body: application, headers: { "idempotency-key": "key-00000001" } });
    assert.deepEqual([anonymous.status, anonymous.body.code], [401, "ISSUER_AUTH_REQUIRED"]);
    const token = await tokenOf(applicant);
    const noKey = await call("POST", "/applications", { token, body: application });
    assert.deepEqual([noKey.status, noKey.body.code, noKey.body.field], [400, "ISSUER_BAD_INPUT", "Idempotency-Key"]);
    const before = service.calls.filter((c) => c.op === "submit").length;
    const ok = await call("POST", "/applications", { token, body: application, headers: { "idempotency-key": "key-00000001" } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const submit = service.calls.filter((c) => c.op === "submit");
    assert.equal(submit.length, before + 1);
    assert.deepEqual(submit.at(-1)!.args.slice(0, 3), [applicant.address, application, "key-00000001"]);
    // A refusal from the service keeps its code and names the field.
    const invalid = await call("POST", "/applications", { token, body: { ...application, idNumber: "12" }, headers: { "idempotency-key": "key-00000002" } });
    assert.deepEqual(invalid.body, { code: "ISSUER_BAD_INPUT", field: "idNumber", message: "idNumber: 12 digits" });
    assert.equal(invalid.status, 400);
    const mine = await call("GET", "/applications/me", { token });
    assert.deepEqual(mine.body, { wallet: applicant.address, status: "submitted" });
  });

  it("refuses an oversized body with 413 naming the limit, and malformed JSON with 400 without echoing it", async () => {
    const token = await tokenOf(applicant);
    const before = service.calls.length;
    const big = await call("POST", "/applications", { token, body: { ...application, padding: "x".repeat(33 * 1024) }, headers: { "idempotency-key": "key-00000003" } });
    assert.deepEqual(big, { status: 413, body: { code: "ISSUER_BODY_TOO_LARGE", message: "request body exceeds the 32 KB limit" } });
    const malformed = await call("POST", "/applications", { token, raw: `{"fullName": "${FULL_NAME}", idNumber: ${ID_NUMBER}}`, headers: { "idempotency-key": "key-00000004" } });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.code, "ISSUER_MALFORMED_JSON");
    assert.match(malformed.body.message, /not valid JSON \(at position \d+/);
    assert.doesNotMatch(malformed.body.message, new RegExp(`${ID_NUMBER}|${FULL_NAME}`));
    assert.equal(service.calls.length, before, "nothing reached the service");
  });

  it("keeps officer routes to officers: a trader's session gets 403 and the service is never called", async () => {
    const token = await tokenOf(trader);
    const before = service.calls.length;
    for (const [method, path, body] of [
      ["GET", "/review/queue"],
      ["GET", "/review/applications/app-1?reason=checking"],
      ["POST", "/review/applications/app-1/approve", { kycLevel: 2, investorType: "retail", expiresAt: 2_000_000_000 }],
      ["POST", "/review/applications/app-1/reject", { reason: "blurry" }],
      ["POST", `/review/identities/${keccak256("0x01")}/revoke`, { reason: "court order" }],
      ["GET", "/review/expiring?withinDays=30"],
    ] as const) {
      const r = await call(method, path, { token, body });
      assert.deepEqual([r.status, r.body.code], [403, "ISSUER_NOT_OFFICER"], `${method} ${path}`);
    }
    assert.equal(service.calls.length, before);
    const anonymous = await call("GET", "/review/queue");
    assert.equal(anonymous.status, 401);
  });

  it("an officer reads with a reason (required), approves with validated terms, and the wallet is verified on chain", async () => {
    const newcomer = privateKeyToAccount(generatePrivateKey());
    const token = await tokenOf(newcomer);
    const submitted = await call("POST", "/applications", { token, body: { ...application, idNumber: "001099054321" }, headers: { "idempotency-key": "key-00000005" } });
    const id = submitted.body.id as string;
    const officerToken = await tokenOf(officer);
    const queue = await call("GET", "/review/queue", { token: officerToken });
    assert.ok(queue.body.some((a: { id: string }) => a.id === id));
    const noReason = await call("GET", `/review/applications/${id}`, { token: officerToken });
    assert.deepEqual([noReason.status, noReason.body.field], [400, "reason"]);
    const read = await call("GET", `/review/applications/${id}?reason=${encodeURIComponent("identity review")}`, { token: officerToken });
    assert.equal(read.status, 200);
    assert.deepEqual(service.calls.at(-1), { op: "read", args: [officer.address, id, "identity review"] });
    const missing = await call("GET", `/review/applications/nope?reason=identity%20review`, { token: officerToken });
    assert.deepEqual([missing.status, missing.body.code], [404, "ISSUER_NOT_FOUND"]);

    const expiresAt = Number((await chain.publicClient.getBlock()).timestamp) + 365 * 86400;
    const badLevel = await call("POST", `/review/applications/${id}/approve`, { token: officerToken, body: { kycLevel: 3, investorType: "retail", expiresAt } });
    assert.deepEqual([badLevel.status, badLevel.body.field], [400, "kycLevel"]);
    assert.equal(await chain.registry.read.isVerified([newcomer.address]), false);
    const approved = await call("POST", `/review/applications/${id}/approve`, { token: officerToken, body: { kycLevel: 2, investorType: "professional", expiresAt } });
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.equal(await chain.registry.read.isVerified([newcomer.address]), true);
    assert.deepEqual(await chain.registry.read.verifiedIdentityOf([newcomer.address]), [approved.body.identityHash, 2, 704, 2]);

    // Approving the same wallet into a second identity: the registry refuses, and its error is named.
    const again = await call("POST", "/applications", { token, body: { ...application, idNumber: "001099054322" }, headers: { "idempotency-key": "key-00000006" } });
    const refused = await call("POST", `/review/applications/${again.body.id}/approve`, { token: officerToken, body: { kycLevel: 2, investorType: "retail", expiresAt } });
    assert.deepEqual(refused.body, { code: "ISSUER_CHAIN_FAILED", message: "the identity registry refused: IdentityWalletAlreadyBound" });

    const revoked = await call("POST", `/review/identities/${approved.body.identityHash}/revoke`, { token: officerToken, body: { reason: "applicant asked" } });
    assert.equal(revoked.status, 200);
    assert.equal(await chain.registry.read.isVerified([newcomer.address]), false);
    const expiring = await call("GET", "/review/expiring?withinDays=14", { token: officerToken });
    assert.equal(expiring.status, 200);
    assert.deepEqual(service.calls.at(-1), { op: "expiring", args: [14 * 86400] });
  });

  it("answers /health and unknown routes in the envelope", async () => {
    const health = await fetch(base.replace("/issuer/v1", "/health"));
    assert.deepEqual(await health.json(), { status: "ok" });
    const unknown = await call("GET", "/nope");
    assert.deepEqual(unknown, { status: 404, body: { code: "ISSUER_NO_ROUTE", message: "no such route" } });
  });

  it("logged every request and no personal data from the whole run", () => {
    const lines = log.trim().split("\n").map((l) => JSON.parse(l));
    const requests = lines.filter((l) => l.msg === "request");
    assert.ok(requests.length > 20, `the log captured the run (${requests.length} requests)`);
    assert.ok(requests.some((l) => l.route === "/issuer/v1/applications" && l.status === 200 && l.wallet === getAddress(applicant.address)));
    for (const secret of [ID_NUMBER, "001099054321", FULL_NAME, "Nguy"]) assert.ok(!log.includes(secret), `the log holds ${secret}`);
  });
});
