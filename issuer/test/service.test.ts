import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import type { Address, Hex } from "viem";
import { IssuerError } from "../src/errors.ts";
import { identityHash } from "../src/identityHash.ts";
import { createPiiVault } from "../src/piiVault.ts";
import { DevelopmentProvider, DEVELOPMENT_PROVIDER_NAME } from "../src/provider.ts";
import { addWalletMessage, IssuerService, type IssuerAuditEvent } from "../src/service.ts";
import type { IssuerStore } from "../src/store.ts";
import { storeBackends, type StoreBackend } from "./support/storeBackends.ts";
import type { ApplicationInput, IssuancePort } from "../src/types.ts";

// The chain is the other side of IssuancePort (tested against a real chain in chain.test.ts);
// here it is a boundary, so a recording fake says exactly what would have reached it.
class RecordingPort implements IssuancePort {
  calls: Array<{ fn: string; args: unknown[] }> = [];
  bound = new Map<Address, Hex>();
  failNext = false;
  #n = 0;
  #tx(): Hex {
    return `0x${(++this.#n).toString(16).padStart(64, "0")}`;
  }
  #maybeFail() {
    if (this.failNext) {
      this.failNext = false;
      throw new Error("execution reverted: IdentityIssuerNotTrusted");
    }
  }
  async attest(a: Parameters<IssuancePort["attest"]>[0]) {
    this.calls.push({ fn: "attest", args: [a] });
    this.#maybeFail();
    this.bound.set(a.wallet, a.identityHash);
    return { txHash: this.#tx() };
  }
  async addWallet(identityHash: Hex, wallet: Address) {
    this.calls.push({ fn: "addWallet", args: [identityHash, wallet] });
    this.#maybeFail();
    this.bound.set(wallet, identityHash);
    return { txHash: this.#tx() };
  }
  async revoke(identityHash: Hex) {
    this.calls.push({ fn: "revoke", args: [identityHash] });
    this.#maybeFail();
    return { txHash: this.#tx() };
  }
  async identityOf(wallet: Address) {
    const h = this.bound.get(wallet);
    return h ? { identityHash: h, expiresAt: 0, revoked: false } : null;
  }
  writes() {
    return this.calls.filter((c) => c.fn !== "identityOf");
  }
}

const T0 = Date.parse("2026-12-03T05:00:00Z");
const H = (b: string) => `0x${b.repeat(32)}` as Hex;
const PERSON: ApplicationInput = {
  idNumber: "001190123456",
  fullName: "Nguyễn Thị Minh Khai",
  dateOfBirth: "1990-05-17",
  sex: "female",
  nationality: 704,
  chipDataHash: H("ab"),
  verification: { provider: DEVELOPMENT_PROVIDER_NAME, sessionId: "session-1" },
  investorType: "retail",
};
const OTHER: ApplicationInput = { ...PERSON, idNumber: "079084654321", fullName: "Trần Văn Bình", dateOfBirth: "1984-01-31", sex: "male" };
const SECRETS = [PERSON.idNumber, PERSON.fullName, PERSON.dateOfBirth, OTHER.idNumber, OTHER.fullName, OTHER.dateOfBirth, "Nguyễn", "Trần"];
/** Every refusal thrown across the file, checked at the end for personal data. */
const messages: string[] = [];
const audits: IssuerAuditEvent[] = [];
const dbFiles: string[] = [];

const officer = privateKeyToAccount(generatePrivateKey());
const outsider = privateKeyToAccount(generatePrivateKey());
const wallet = () => privateKeyToAccount(generatePrivateKey());

async function refused(p: Promise<unknown> | (() => unknown), code: string, field: string | undefined): Promise<IssuerError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    assert.ok(err instanceof IssuerError, `not an IssuerError: ${String(err)}`);
    messages.push(err.message);
    assert.equal(err.code, code, err.message);
    assert.equal(err.field, field, err.message);
    if (field) assert.ok(err.message.startsWith(`${field.split(".")[0]}`), err.message);
    return err;
  }
  assert.fail(`expected ${code} on ${field}`);
}

const year = 365 * 86_400;
const decision = (t: number) => ({ kycLevel: 2, investorType: "retail" as const, expiresAt: Math.floor(t / 1000) + year });

function serviceSuite(b: StoreBackend) {
  describe(`issuer service on ${b.name}`, { skip: b.skip }, () => {
    after(() => b.cleanup());

    async function setup(o: { retentionDays?: number } = {}) {
      const file = await b.fresh();
      if (b.name === "sqlite") dbFiles.push(file);
      const store: IssuerStore = await b.open(file);
      const port = new RecordingPort();
      const salt = randomBytes(32);
      const clock = { now: T0 };
      const events: IssuerAuditEvent[] = [];
      const service = new IssuerService({
        store, vault: createPiiVault([`k1:${randomBytes(32).toString("hex")}`]), salt, provider: new DevelopmentProvider(() => clock.now), port,
        officers: [officer.address], clock: () => clock.now, audit: (e) => (events.push(e), audits.push(e)), retentionDays: o.retentionDays,
      });
      const rows = async () => {
        let n = 0;
        for (const status of ["submitted", "approved", "issued", "rejected", "revoked", "erased"] as const) n += (await store.byStatus(status)).length;
        return n;
      };
      return { store, port, salt, clock, service, events, rows, file, idHash: (n: string) => identityHash(n, salt) };
    }


    test("a submission is stored with its personal data encrypted, labelled with the provider, queued without personal data", async () => {
      const s = await setup();
      const w = wallet();
      const app = await s.service.submit(w.address, PERSON, "req-00000001");
      assert.equal(app.status, "submitted");
      assert.equal(app.kind, "new-identity");
      assert.equal(app.provider, "development (NOT FOR PRODUCTION)");
      assert.equal(app.providerProduction, false);
      assert.equal(app.verification.faceMatchBps, 9_700);
      assert.equal(app.identityHash, s.idHash(PERSON.idNumber));
      assert.deepEqual((await s.service.queue()).map((a) => a.id), [app.id]);
      const shown = JSON.stringify([await s.service.queue(), await s.service.status(w.address)]);
      for (const secret of SECRETS) assert.ok(!shown.includes(secret), `queue/status shows ${secret}`);
      assert.ok(!("piiBlob" in (await s.service.queue())[0]));
      assert.equal((await s.store.get(app.id))!.piiBlob!.length > 0, true);
      assert.deepEqual(s.port.writes(), []);
      assert.deepEqual(s.events.map((e) => e.type), ["application.submitted"]);
    });

    test("bad input: each refusal names the field, stores nothing and reaches no chain", async () => {
      const s = await setup();
      const w = wallet();
      const cases: Array<[unknown, unknown, string, string]> = [
        [w.address, { ...PERSON, idNumber: "0011901234" }, "ISSUER_BAD_INPUT", "idNumber"],
        [w.address, { ...PERSON, idNumber: "003190123456" }, "ISSUER_BAD_INPUT", "idNumber"], // no province 003
        [w.address, { ...PERSON, sex: "male" }, "ISSUER_BAD_INPUT", "idNumber"], // century/sex digit says female
        [w.address, { ...PERSON, idNumber: "001191123456" }, "ISSUER_BAD_INPUT", "idNumber"], // year digits
        [w.address, { ...PERSON, idNumber: "001308123456", dateOfBirth: "2008-12-04" }, "ISSUER_BAD_INPUT", "dateOfBirth"], // 18 tomorrow
        [w.address, { ...PERSON, dateOfBirth: "1990-02-30" }, "ISSUER_BAD_INPUT", "dateOfBirth"],
        [w.address, { ...PERSON, fullName: "X" }, "ISSUER_BAD_INPUT", "fullName"],
        [w.address, { ...PERSON, nationality: 0 }, "ISSUER_BAD_INPUT", "nationality"],
        [w.address, { ...PERSON, chipDataHash: "0xabc" }, "ISSUER_BAD_INPUT", "chipDataHash"],
        [w.address, { ...PERSON, investorType: "professional" }, "ISSUER_BAD_INPUT", "investorEvidence"],
        [w.address, { ...PERSON, role: "officer" }, "ISSUER_BAD_INPUT", "role"],
        [w.address, { ...PERSON, verification: { provider: "NationalEID", sessionId: "s" } }, "ISSUER_BAD_INPUT", "verification.provider"],
        ["0x1234", PERSON, "ISSUER_BAD_INPUT", "wallet"],
        [w.address, { ...PERSON, verification: { ...PERSON.verification, sessionId: "fail-chip-1" } }, "ISSUER_VERIFICATION_FAILED", "chipDataHash"],
        [w.address, { ...PERSON, verification: { ...PERSON.verification, sessionId: "fail-face-1" } }, "ISSUER_VERIFICATION_FAILED", "verification"],
        [w.address, { ...PERSON, verification: { ...PERSON.verification, sessionId: "fail-liveness-1" } }, "ISSUER_VERIFICATION_FAILED", "verification"],
        [w.address, { ...PERSON, verification: { ...PERSON.verification, sessionId: "fail-unavailable" } }, "ISSUER_PROVIDER_UNAVAILABLE", "verification"],
      ];
      let i = 0;
      for (const [who, input, code, field] of cases) await refused(s.service.submit(who, input, `req-bad-${i++}`), code, field);
      await refused(s.service.submit(w.address, PERSON, "short"), "ISSUER_BAD_INPUT", "requestKey");
      assert.equal(await s.rows(), 0, "nothing stored");
      assert.deepEqual(s.port.writes(), [], "nothing reached the chain");
      assert.equal(i, 17);
      // The age boundary: on the 18th birthday (Viet Nam time) the same person passes.
      s.clock.now = Date.parse("2026-12-03T17:00:00Z");
      const born = await s.service.submit(w.address, { ...PERSON, idNumber: "001308123456", dateOfBirth: "2008-12-04" }, "req-birthday");
      assert.equal(born.status, "submitted");
    });

    test("a wallet bound on chain to another identity is refused before anything is stored", async () => {
      const s = await setup();
      const w = wallet();
      s.port.bound.set(w.address, H("99"));
      await refused(s.service.submit(w.address, PERSON, "req-bound-01"), "ISSUER_WALLET_BOUND", "wallet");
      assert.equal(await s.rows(), 0);
      assert.deepEqual(s.port.writes(), []);
    });

    test("repeated submissions: the same one is idempotent, the key reused for another is refused, a second open one is a duplicate", async () => {
      const s = await setup();
      const w = wallet();
      const first = await s.service.submit(w.address, PERSON, "req-idem-001");
      const again = await s.service.submit(w.address, structuredClone(PERSON), "req-idem-001");
      assert.deepEqual(again, first);
      const [x, y] = await Promise.all([s.service.submit(w.address, PERSON, "req-idem-001"), s.service.submit(w.address, PERSON, "req-idem-001")]);
      assert.equal(x.id, first.id);
      assert.equal(y.id, first.id);
      await refused(s.service.submit(w.address, { ...PERSON, fullName: "Nguyễn Thị Minh Khải" }, "req-idem-001"), "ISSUER_REQUEST_KEY_REUSED", "requestKey");
      await refused(s.service.submit(wallet().address, PERSON, "req-idem-001"), "ISSUER_REQUEST_KEY_REUSED", "requestKey");
      await refused(s.service.submit(w.address, PERSON, "req-idem-002"), "ISSUER_DUPLICATE", "wallet");
      // Another wallet for the same person while the first is under review: never a second identity.
      await refused(s.service.submit(wallet().address, PERSON, "req-idem-003"), "ISSUER_IDENTITY_PENDING", "idNumber");
      // Two different keys racing for the same wallet: exactly one is stored.
      const v = wallet();
      const race = await Promise.allSettled([s.service.submit(v.address, OTHER, "req-race-001"), s.service.submit(v.address, OTHER, "req-race-002")]);
      assert.equal(race.filter((r) => r.status === "fulfilled").length, 1);
      const lost = race.find((r) => r.status === "rejected") as PromiseRejectedResult;
      assert.equal((lost.reason as IssuerError).code, "ISSUER_DUPLICATE");
      messages.push((lost.reason as IssuerError).message);
      assert.equal(await s.rows(), 2);
    });

    test("approve attests through the port and marks issued with the tx hash; a failed chain call leaves it submitted", async () => {
      const s = await setup();
      const w = wallet();
      const app = await s.service.submit(w.address, PERSON, "req-appr-001");
      await refused(s.service.approve(outsider.address, app.id, decision(T0)), "ISSUER_NOT_OFFICER", "officer");
      await refused(s.service.approve(officer.address, app.id, { ...decision(T0), kycLevel: 3 }), "ISSUER_BAD_INPUT", "kycLevel");
      await refused(s.service.approve(officer.address, app.id, { ...decision(T0), expiresAt: Math.floor(T0 / 1000) }), "ISSUER_BAD_INPUT", "expiresAt");
      await refused(s.service.approve(officer.address, app.id, { ...decision(T0), investorType: "professional" }), "ISSUER_BAD_INPUT", "investorType");
      await refused(s.service.approve(officer.address, "no-such-id", decision(T0)), "ISSUER_NOT_FOUND", "id");
      assert.deepEqual(s.port.writes(), []);

      s.port.failNext = true;
      await refused(s.service.approve(officer.address, app.id, decision(T0)), "ISSUER_CHAIN_FAILED", undefined);
      const after1 = (await s.service.status(w.address))[0];
      assert.equal(after1.status, "submitted");
      assert.equal(after1.txHash, undefined);
      assert.equal(after1.decidedBy, undefined);
      assert.deepEqual((await s.service.queue()).map((a) => a.id), [app.id]);

      const issued = await s.service.approve(officer.address, app.id, decision(T0));
      assert.equal(issued.status, "issued");
      assert.match(issued.txHash!, /^0x[0-9a-f]{64}$/);
      assert.equal(issued.decidedBy, officer.address);
      assert.deepEqual(s.port.writes().map((c) => c.fn), ["attest", "attest"]);
      assert.deepEqual(s.port.writes()[1].args[0], { identityHash: s.idHash(PERSON.idNumber), wallet: w.address, kycLevel: 2, country: 704, investorType: 1, expiresAt: decision(T0).expiresAt });
      await refused(s.service.approve(officer.address, app.id, decision(T0)), "ISSUER_WRONG_STATUS", "id");
      assert.equal(s.port.writes().length, 2, "a second approval never reaches the chain");
      assert.deepEqual(await s.service.queue(), []);
      assert.deepEqual(s.events.map((e) => e.type), ["application.submitted", "application.approved", "application.approved", "application.issued"]);
    });

    test("concurrent approvals by two officers issue once", async () => {
      const s = await setup();
      const app = await s.service.submit(wallet().address, PERSON, "req-conc-001");
      const r = await Promise.allSettled([s.service.approve(officer.address, app.id, decision(T0)), s.service.approve(officer.address, app.id, decision(T0))]);
      assert.equal(r.filter((x) => x.status === "fulfilled").length, 1);
      assert.equal(s.port.writes().length, 1);
      messages.push(((r.find((x) => x.status === "rejected") as PromiseRejectedResult).reason as Error).message);
    });

    test("a professional investor's evidence lets the officer grant professional", async () => {
      const s = await setup();
      const w = wallet();
      const app = await s.service.submit(w.address, { ...PERSON, investorType: "professional", investorEvidence: { kind: "portfolio", documentHash: H("cd"), description: "listed securities over VND 2bn" } }, "req-prof-001");
      const issued = await s.service.approve(officer.address, app.id, { ...decision(T0), investorType: "professional" });
      assert.equal(issued.investorType, "professional");
      assert.equal((s.port.writes()[0].args[0] as { investorType: number }).investorType, 2);
    });

    test("one person, one identity: a second wallet is an add-wallet application needing a bound wallet's signature", async () => {
      const s = await setup();
      const a = wallet();
      const first = await s.service.submit(a.address, PERSON, "req-add-0001");
      await s.service.approve(officer.address, first.id, decision(T0));
      const b = wallet();
      const c = wallet();
      await refused(s.service.submit(b.address, PERSON, "req-add-0002"), "ISSUER_PROOF_REQUIRED", "proof");
      // A wallet not bound to the identity, signing for itself.
      await refused(s.service.submit(b.address, PERSON, "req-add-0003", { signer: c.address, signature: await c.signMessage({ message: addWalletMessage(b.address) }) }), "ISSUER_BAD_PROOF", "proof.signer");
      // Claiming the bound wallet, signed by another.
      await refused(s.service.submit(b.address, PERSON, "req-add-0004", { signer: a.address, signature: await c.signMessage({ message: addWalletMessage(b.address) }) }), "ISSUER_BAD_PROOF", "proof.signature");
      // The bound wallet's signature, but for another new wallet.
      await refused(s.service.submit(b.address, PERSON, "req-add-0005", { signer: a.address, signature: await a.signMessage({ message: addWalletMessage(c.address) }) }), "ISSUER_BAD_PROOF", "proof.signature");
      await refused(s.service.submit(b.address, PERSON, "req-add-0006", { signer: a.address, signature: "0x1234" }), "ISSUER_BAD_PROOF", "proof.signature");
      await refused(s.service.submit(b.address, PERSON, "req-add-0007", { signer: a.address, signature: "nope" }), "ISSUER_BAD_INPUT", "proof.signature");
      assert.equal((await s.store.byWallet(b.address)).length, 0);
      assert.deepEqual(s.port.writes().map((x) => x.fn), ["attest"]);

      const added = await s.service.submit(b.address, PERSON, "req-add-0008", { signer: a.address, signature: await a.signMessage({ message: addWalletMessage(b.address) }) });
      assert.equal(added.kind, "add-wallet");
      assert.equal(added.identityHash, first.identityHash);
      const issued = await s.service.approve(officer.address, added.id, {});
      assert.equal(issued.status, "issued");
      assert.deepEqual(s.port.writes().map((x) => x.fn), ["attest", "addWallet"], "never a second attestation");
      assert.deepEqual(s.port.writes()[1].args, [first.identityHash, b.address]);
      assert.equal(issued.expiresAt, decision(T0).expiresAt);

      // A wallet bound to this identity applying with another person's number is refused.
      await refused(s.service.submit(b.address, OTHER, "req-add-0009"), "ISSUER_WALLET_BOUND", "wallet");
    });

    test("reject shows the reason to the applicant and reaches no chain", async () => {
      const s = await setup();
      const w = wallet();
      const app = await s.service.submit(w.address, PERSON, "req-rej-0001");
      await refused(() => s.service.reject(officer.address, app.id, ""), "ISSUER_BAD_INPUT", "reason");
      await refused(() => s.service.reject(outsider.address, app.id, "photo unclear"), "ISSUER_NOT_OFFICER", "officer");
      const r = await s.service.reject(officer.address, app.id, "photo unclear, please retake");
      assert.equal(r.status, "rejected");
      assert.equal((await s.service.status(w.address))[0].reason, "photo unclear, please retake");
      await refused(s.service.approve(officer.address, app.id, decision(T0)), "ISSUER_WRONG_STATUS", "id");
      await refused(() => s.service.reject(officer.address, app.id, "again"), "ISSUER_WRONG_STATUS", "id");
      assert.deepEqual(s.port.writes(), []);
      // After a rejection the applicant may apply again.
      assert.equal((await s.service.submit(w.address, PERSON, "req-rej-0002")).status, "submitted");
    });

    test("revoke goes through the port and marks every issued application of the identity revoked with the reason", async () => {
      const s = await setup();
      const w = wallet();
      const app = await s.service.submit(w.address, PERSON, "req-rev-0001");
      await refused(s.service.revoke(officer.address, app.identityHash, "court order"), "ISSUER_NOT_FOUND", "identityHash");
      await s.service.approve(officer.address, app.id, decision(T0));
      await refused(s.service.revoke(officer.address, "0x12", "court order"), "ISSUER_BAD_INPUT", "identityHash");
      await refused(s.service.revoke(outsider.address, app.identityHash, "court order"), "ISSUER_NOT_OFFICER", "officer");
      s.port.failNext = true;
      await refused(s.service.revoke(officer.address, app.identityHash, "court order"), "ISSUER_CHAIN_FAILED", undefined);
      assert.equal((await s.service.status(w.address))[0].status, "issued", "not revoked in the store when the chain refused");
      const r = await s.service.revoke(officer.address, app.identityHash, "court order");
      assert.deepEqual(s.port.writes().slice(-1)[0], { fn: "revoke", args: [app.identityHash] });
      assert.equal(r.applications[0].status, "revoked");
      assert.equal((await s.service.status(w.address))[0].reason, "court order");
    });

    test("personal data reads are audited: officers say why, applicants read only their own", async () => {
      const s = await setup();
      const w = wallet();
      const app = await s.service.submit(w.address, PERSON, "req-read-001");
      await refused(() => s.service.read(outsider.address, app.id, "curious"), "ISSUER_NOT_OFFICER", "officer");
      await refused(() => s.service.read(officer.address, app.id, ""), "ISSUER_BAD_INPUT", "why");
      assert.deepEqual(await s.store.reads(), []);
      const r = await s.service.read(officer.address, app.id, "review of the application");
      assert.deepEqual(r.data, PERSON);
      assert.equal(r.application.id, app.id);
      const mine = await s.service.myData(w.address);
      assert.deepEqual(mine.map((m) => m.data), [PERSON]);
      assert.deepEqual(await s.service.myData(wallet().address), []);
      assert.deepEqual((await s.store.reads(app.id)).map((x) => [x.reader, x.role, x.why, x.readAt]), [
        [officer.address, "officer", "review of the application", T0],
        [w.address, "applicant", "the applicant's own request", T0],
      ]);
      assert.deepEqual(s.events.filter((e) => e.type === "pii.read").map((e) => [e.actor, e.applicationId, e.why]), [
        [officer.address, app.id, "review of the application"],
        [w.address, app.id, "the applicant's own request"],
      ]);
    });

    test("erasure: personal data deleted, status erased, attestation revoked; the hash stays", async () => {
      const s = await setup();
      const a = wallet();
      const first = await s.service.submit(a.address, PERSON, "req-era-0001");
      await s.service.approve(officer.address, first.id, decision(T0));
      const b = wallet();
      const added = await s.service.submit(b.address, PERSON, "req-era-0002", { signer: a.address, signature: await a.signMessage({ message: addWalletMessage(b.address) }) });
      await s.service.approve(officer.address, added.id, {});
      await refused(s.service.erase(wallet().address), "ISSUER_NOT_FOUND", "wallet");

      s.port.failNext = true;
      await refused(s.service.erase(b.address), "ISSUER_CHAIN_FAILED", undefined);
      assert.ok((await s.store.get(first.id))!.piiBlob, "nothing erased when the chain refused the revocation");

      const r = await s.service.erase(b.address);
      assert.equal(r.erased, 2, "both wallets' applications are the same person's data");
      assert.deepEqual(s.port.writes().slice(-1)[0], { fn: "revoke", args: [first.identityHash] });
      for (const id of [first.id, added.id]) {
        const stored = (await s.store.get(id))!;
        assert.equal(stored.status, "erased");
        assert.equal(stored.piiBlob, null);
        assert.equal(stored.piiKid, null);
        assert.equal(stored.identityHash, first.identityHash, "the non-identifying hash stays");
      }
      assert.deepEqual(await s.service.myData(a.address), []);
      await refused(() => s.service.read(officer.address, first.id, "after erasure"), "ISSUER_WRONG_STATUS", "id");

      // A wallet with only an unverified application erases just its own.
      const c = wallet();
      const other = await s.service.submit(c.address, OTHER, "req-era-0003");
      const writes = s.port.writes().length;
      assert.deepEqual(await s.service.erase(c.address), { erased: 1, txHash: undefined });
      assert.equal(s.port.writes().length, writes, "nothing to revoke on chain");
      assert.equal((await s.store.get(other.id))!.status, "erased");
    });

    test("expiring: issued attestations lapsing within the window, the latest per wallet; renewal is a fresh application", async () => {
      const s = await setup();
      const w = wallet();
      const app = await s.service.submit(w.address, PERSON, "req-exp-0001");
      const soon = Math.floor(T0 / 1000) + 10 * 86_400;
      await s.service.approve(officer.address, app.id, { kycLevel: 1, investorType: "retail", expiresAt: soon });
      await refused(() => s.service.expiring(-1), "ISSUER_BAD_INPUT", "withinSeconds");
      assert.deepEqual(await s.service.expiring(9 * 86_400), []);
      assert.deepEqual((await s.service.expiring(30 * 86_400)).map((a) => a.id), [app.id]);
      // Renewal: a new verification, a new approval with a later expiry; the reminder stops.
      const renewal = await s.service.submit(w.address, { ...PERSON, verification: { ...PERSON.verification, sessionId: "session-2" } }, "req-exp-0002");
      assert.equal(renewal.kind, "new-identity");
      await s.service.approve(officer.address, renewal.id, { kycLevel: 1, investorType: "retail", expiresAt: soon + year });
      assert.deepEqual(await s.service.expiring(30 * 86_400), []);
      assert.deepEqual((await s.service.expiring(400 * 86_400)).map((a) => a.id), [renewal.id]);
    });

    test("key rotation re-encrypts every stored record under the current key", async () => {
      const store = await b.open(await b.fresh());
      const k1 = `k1:${randomBytes(32).toString("hex")}`, k2 = `k2:${randomBytes(32).toString("hex")}`;
      const deps = { store, salt: randomBytes(32), provider: new DevelopmentProvider(() => T0), port: new RecordingPort(), officers: [officer.address], clock: () => T0, audit: () => {} };
      const before = new IssuerService({ ...deps, vault: createPiiVault([k1]) });
      const ws = [wallet(), wallet(), wallet()];
      await before.submit(ws[0].address, PERSON, "req-rot-0001");
      await before.submit(ws[1].address, OTHER, "req-rot-0002");
      const rotating = new IssuerService({ ...deps, vault: createPiiVault([k2, k1]) });
      assert.equal(await rotating.rotatePii(), 2);
      assert.equal(await rotating.rotatePii(), 0);
      const onlyNew = new IssuerService({ ...deps, vault: createPiiVault([k2]) });
      assert.deepEqual((await onlyNew.myData(ws[0].address)).map((m) => m.data), [PERSON]);
      assert.deepEqual((await onlyNew.myData(ws[1].address)).map((m) => m.data), [OTHER]);
    });


    test("erasure by any wallet once bound to an identity erases the person's data across its wallets, also after an officer's revocation", async () => {
      const s = await setup();
      const a = wallet();
      const b2 = wallet();
      const first = await s.service.submit(a.address, PERSON, "req-erv-0001");
      await s.service.approve(officer.address, first.id, decision(T0));
      const added = await s.service.submit(b2.address, PERSON, "req-erv-0002", { signer: a.address, signature: await a.signMessage({ message: addWalletMessage(b2.address) }) });
      await s.service.approve(officer.address, added.id, {});
      await s.service.revoke(officer.address, first.identityHash, "court order");
      assert.deepEqual([(await s.store.get(first.id))!.status, (await s.store.get(added.id))!.status], ["revoked", "revoked"]);

      // Someone else types this person's number while the identity is revoked: verified by the provider
      // or not, that wallet was never bound, and its erasure must not reach the person's data.
      const stranger = wallet();
      const strangers = await s.service.submit(stranger.address, PERSON, "req-erv-0003");
      assert.deepEqual(await s.service.erase(stranger.address), { erased: 1, txHash: undefined });
      assert.equal((await s.store.get(first.id))!.status, "revoked");
      assert.ok((await s.store.get(first.id))!.piiBlob, "the stranger's erasure left the person's data alone");
      assert.equal((await s.store.get(strangers.id))!.status, "erased");

      // The person re-verifies wallet a (a fresh attestation), then erases from wallet b2, bound only through the revoked attestation.
      const again = await s.service.submit(a.address, { ...PERSON, verification: { ...PERSON.verification, sessionId: "session-9" } }, "req-erv-0004");
      assert.equal(again.kind, "new-identity");
      await s.service.approve(officer.address, again.id, decision(T0));
      const writes = s.port.writes().length;
      const r = await s.service.erase(b2.address);
      assert.equal(r.erased, 3, "both wallets' applications, the revoked ones and the live one");
      assert.deepEqual(s.port.writes().slice(writes), [{ fn: "revoke", args: [first.identityHash] }], "the live attestation on wallet a is revoked on chain");
      for (const id of [first.id, added.id, again.id]) {
        const stored = (await s.store.get(id))!;
        assert.deepEqual([stored.status, stored.piiBlob, stored.piiKid], ["erased", null, null], id);
      }
      assert.deepEqual(await s.service.myData(a.address), []);
      assert.deepEqual(s.events.filter((e) => e.type === "pii.erased").slice(-1).map((e) => [e.actor, e.identityHash]), [[b2.address, first.identityHash]]);
    });

    test("erasure of a wallet revoked by an officer, with no live attestation left, reaches no chain", async () => {
      const s = await setup();
      const a = wallet();
      const b2 = wallet();
      const first = await s.service.submit(a.address, PERSON, "req-erw-0001");
      await s.service.approve(officer.address, first.id, decision(T0));
      const added = await s.service.submit(b2.address, PERSON, "req-erw-0002", { signer: a.address, signature: await a.signMessage({ message: addWalletMessage(b2.address) }) });
      await s.service.approve(officer.address, added.id, {});
      await s.service.revoke(officer.address, first.identityHash, "court order");
      const writes = s.port.writes().length;
      assert.deepEqual(await s.service.erase(a.address), { erased: 2, txHash: undefined });
      assert.equal(s.port.writes().length, writes);
      assert.equal((await s.store.get(added.id))!.piiBlob, null, "the other wallet's copy of the person's data is gone too");
    });

    test("retention: personal data past the period after rejection, revocation or lapse is purged, status kept; nothing else, at any time", async () => {
      const DAY = 86_400_000;
      const s = await setup({ retentionDays: 30 });
      const [r, v, i, p] = [wallet(), wallet(), wallet(), wallet()];
      const rejected = await s.service.submit(r.address, PERSON, "req-ret-0001");
      await s.service.reject(officer.address, rejected.id, "photo unclear");
      const revoked = await s.service.submit(v.address, OTHER, "req-ret-0002");
      await s.service.approve(officer.address, revoked.id, decision(T0));
      s.clock.now = T0 + DAY;
      await s.service.revoke(officer.address, revoked.identityHash, "court order");
      const third: ApplicationInput = { ...PERSON, idNumber: "001085000111", fullName: "Lê Văn Cường", dateOfBirth: "1985-03-03", sex: "male" };
      const issued = await s.service.submit(i.address, third, "req-ret-0003");
      await s.service.approve(officer.address, issued.id, { kycLevel: 1, investorType: "retail", expiresAt: Math.floor((T0 + 10 * DAY) / 1000) });
      const fourth: ApplicationInput = { ...PERSON, idNumber: "001187000222", dateOfBirth: "1987-07-07" };
      const pending = await s.service.submit(p.address, fourth, "req-ret-0004");
      const held = async () => {
        const out: string[] = [];
        for (const [name, id] of [["rejected", rejected.id], ["revoked", revoked.id], ["issued", issued.id], ["pending", pending.id]] as const) if ((await s.store.get(id))!.piiBlob) out.push(name);
        return out;
      };
      await refused(s.service.purgeExpired(Number.NaN), "ISSUER_BAD_INPUT", "now");

      // At start, a day short of every period: nothing goes.
      assert.deepEqual(await s.service.purgeExpired(T0 + 29 * DAY), { purged: 0 });
      assert.deepEqual(await held(), ["rejected", "revoked", "issued", "pending"]);
      // The rejection reaches 30 days to the millisecond.
      assert.deepEqual(await s.service.purgeExpired(T0 + 30 * DAY), { purged: 1 });
      assert.deepEqual(await held(), ["revoked", "issued", "pending"]);
      assert.deepEqual(await s.service.purgeExpired(T0 + 31 * DAY - 1), { purged: 0 });
      assert.deepEqual(await s.service.purgeExpired(T0 + 31 * DAY), { purged: 1 });
      // The attestation lapsed on day 10: its data goes on day 40, not before.
      assert.deepEqual(await s.service.purgeExpired(T0 + 40 * DAY - 1000), { purged: 0 });
      assert.deepEqual(await s.service.purgeExpired(T0 + 40 * DAY), { purged: 1 });
      // An application still under review is never purged, however old; running again purges nothing more.
      assert.deepEqual(await s.service.purgeExpired(T0 + 3650 * DAY), { purged: 0 });
      assert.deepEqual(await held(), ["pending"]);

      assert.deepEqual([(await s.store.get(rejected.id))!.status, (await s.store.get(revoked.id))!.status, (await s.store.get(issued.id))!.status], ["rejected", "revoked", "issued"], "the record of what was decided stays");
      assert.equal((await s.service.status(r.address))[0].reason, "photo unclear");
      assert.deepEqual(await s.service.myData(r.address), []);
      await refused(() => s.service.read(officer.address, issued.id, "audit request"), "ISSUER_WRONG_STATUS", "id");
      const purges = s.events.filter((e) => e.type === "pii.purged");
      assert.deepEqual(purges.map((e) => [e.actor, e.applicationId, e.wallet]), [["retention", rejected.id, r.address], ["retention", revoked.id, v.address], ["retention", issued.id, i.address]]);
    });

    test("retention defaults to five years (1825 days)", async () => {
      const DAY = 86_400_000;
      const s = await setup();
      const w = wallet();
      const rejected = await s.service.submit(w.address, PERSON, "req-ret-0101");
      await s.service.reject(officer.address, rejected.id, "photo unclear");
      assert.deepEqual(await s.service.purgeExpired(T0 + 1824 * DAY), { purged: 0 });
      assert.deepEqual(await s.service.purgeExpired(T0 + 1825 * DAY), { purged: 1 });
      assert.equal((await s.store.get(rejected.id))!.piiBlob, null);
    });

    test("no personal data in clear in the database files", { skip: b.name !== "sqlite" && "the SQLite files are read; PostgreSQL stores the same ciphertext" }, () => {
      let files = 0;
      for (const file of dbFiles) {
        for (const f of [file, `${file}-wal`]) {
          let bytes: Buffer;
          try {
            bytes = readFileSync(f);
          } catch {
            continue;
          }
          files++;
          for (const secret of SECRETS) assert.ok(!bytes.includes(Buffer.from(secret, "utf8")), `${secret} in clear in the database`);
        }
      }
      assert.ok(dbFiles.length >= 10 && files >= dbFiles.length, `${files} files of ${dbFiles.length} stores read`);
    });
  });
}

for (const b of storeBackends()) {
  if (b.skip) console.log(`# issuer service: ${b.name} suite skipped: ${b.skip}`);
  serviceSuite(b);
}

test("no personal data in any error message or audit event", () => {
  assert.ok(messages.length >= 40, `${messages.length} refusals collected`);
  assert.ok(audits.length >= 20, `${audits.length} audit events collected`);
  const everything = messages.join("\n") + JSON.stringify(audits);
  for (const secret of SECRETS) assert.ok(!everything.includes(secret), `personal data in errors or audit: ${secret}`);
});
