import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { MIGRATIONS, openIssuerStore, type StoredApplication } from "../src/store.ts";

function app(id: string, over: Partial<StoredApplication> = {}): StoredApplication {
  return {
    id,
    wallet: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    identityHash: `0x${"11".repeat(32)}`,
    status: "submitted",
    kind: "new-identity",
    submittedAt: 1_000,
    provider: "development (NOT FOR PRODUCTION)",
    providerProduction: false,
    verification: { provider: "development (NOT FOR PRODUCTION)", production: false, chipVerified: true, faceMatchBps: 9700, liveness: true, checkedAt: 999 },
    investorType: "retail",
    nationality: 704,
    requestKey: `rk-${id}`,
    piiKid: "k1",
    piiBlob: new Uint8Array([1, 2, 3, 0, 255]),
    ...over,
  };
}

function tempDb(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), "issuer-store-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, "issuer.sqlite");
}

test("an application round-trips with its ciphertext, verification and optional fields", (t) => {
  const store = openIssuerStore(tempDb(t));
  const a = app("a1");
  store.insert(a);
  const got = store.get("a1")!;
  assert.deepEqual(got, { ...a, decidedAt: undefined, decidedBy: undefined, reason: undefined, kycLevel: undefined, expiresAt: undefined, txHash: undefined });
  assert.deepEqual(store.byRequestKey("rk-a1")?.id, "a1");
  assert.equal(store.byWallet(a.wallet).length, 1);
  assert.equal(store.byIdentity(a.identityHash).length, 1);
  assert.equal(store.byStatus("submitted").length, 1);
  store.close();
});

test("the request key is unique: a replayed insert is refused and the first stays", (t) => {
  const store = openIssuerStore(tempDb(t));
  store.insert(app("a1"));
  assert.throws(() => store.insert(app("a2", { requestKey: "rk-a1" })), /UNIQUE/);
  assert.equal(store.get("a2"), undefined);
  store.close();
});

test("update is compare-and-set on status, and a failing transaction leaves nothing behind", (t) => {
  const store = openIssuerStore(tempDb(t));
  store.insert(app("a1"));
  assert.equal(store.update("a1", ["issued"], { status: "revoked" }), false);
  assert.equal(store.update("a1", ["submitted"], { status: "issued", txHash: `0x${"ab".repeat(32)}`, expiresAt: 2_000, kycLevel: 2, decidedAt: 5, decidedBy: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" }), true);
  assert.equal(store.get("a1")?.status, "issued");
  assert.deepEqual(store.expiring(1_500, 2_000).map((a) => a.id), ["a1"]);
  assert.deepEqual(store.expiring(2_001, 3_000), []);

  assert.throws(() =>
    store.transaction(() => {
      store.insert(app("a2"));
      store.update("a1", ["issued"], { status: "erased", piiBlob: null, piiKid: null });
      store.recordRead({ applicationId: "a1", reader: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", role: "officer", why: "review", readAt: 1 });
      throw new Error("crash half-way");
    }),
  );
  assert.equal(store.get("a2"), undefined);
  assert.equal(store.get("a1")?.status, "issued");
  assert.ok(store.get("a1")?.piiBlob);
  assert.deepEqual(store.reads(), []);
  store.close();
});

test("pii reads are recorded in order, per application", (t) => {
  const store = openIssuerStore(tempDb(t));
  store.insert(app("a1"));
  store.recordRead({ applicationId: "a1", reader: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", role: "officer", why: "review", readAt: 10 });
  store.recordRead({ applicationId: "a1", reader: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", role: "applicant", why: "own data", readAt: 11 });
  assert.deepEqual(store.reads("a1").map((r) => [r.role, r.why, r.readAt]), [["officer", "review", 10], ["applicant", "own data", 11]]);
  assert.throws(() => store.recordRead({ applicationId: "nope", reader: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", role: "officer", why: "x", readAt: 1 }), /FOREIGN KEY/);
  store.close();
});

test("re-opening runs only new migrations; a failing migration is rolled back whole", (t) => {
  const file = tempDb(t);
  const first = openIssuerStore(file);
  assert.equal(first.schemaVersion(), 1);
  first.insert(app("a1"));
  first.close();

  // Were migration 1 run again, CREATE TABLE would fail on the existing table.
  let runs = 0;
  const two = { version: 2, sql: "CREATE TABLE retention (days INTEGER NOT NULL); INSERT INTO retention VALUES (365);" };
  const counted = new Proxy(two, { get: (o, k) => (k === "sql" && runs++, o[k as keyof typeof o]) });
  const second = openIssuerStore(file, [...MIGRATIONS, counted]);
  assert.equal(second.schemaVersion(), 2);
  assert.equal(runs, 1);
  assert.equal(second.get("a1")?.id, "a1");
  second.close();
  const third = openIssuerStore(file, [...MIGRATIONS, counted]);
  assert.equal(runs, 1, "migration 2 does not run twice");
  third.close();

  const broken = { version: 3, sql: "CREATE TABLE half (x INTEGER); THIS IS NOT SQL;" };
  assert.throws(() => openIssuerStore(file, [...MIGRATIONS, two, broken]));
  const fourth = openIssuerStore(file, [...MIGRATIONS, two, { version: 3, sql: "CREATE TABLE half (x INTEGER);" }]);
  assert.equal(fourth.schemaVersion(), 3, "the broken migration left no table 'half' behind, so the fixed one applies");
  fourth.close();
});
