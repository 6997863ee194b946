import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { StoredApplication } from "../src/store.ts";
import { storeBackends, type StoreBackend } from "./support/storeBackends.ts";

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

const OFFICER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
// Millisecond timestamps of today need 64 bits (PostgreSQL BIGINT, SQLite INTEGER).
const NOW_MS = Date.parse("2026-12-03T05:00:00Z");

function storeSuite(b: StoreBackend) {
  describe(`issuer store: ${b.name}`, { skip: b.skip }, () => {
    after(() => b.cleanup());
    const open = async () => b.open(await b.fresh());

    it("an application round-trips with its ciphertext, verification, 64-bit times and optional fields", async () => {
      const store = await open();
      const a = app("a1", { submittedAt: NOW_MS });
      await store.insert(a);
      const got = (await store.get("a1"))!;
      assert.deepEqual(got, { ...a, decidedAt: undefined, decidedBy: undefined, reason: undefined, kycLevel: undefined, expiresAt: undefined, txHash: undefined });
      assert.ok(got.piiBlob instanceof Uint8Array && !Buffer.isBuffer(got.piiBlob), "the same type from either database");
      assert.equal((await store.byRequestKey("rk-a1"))?.id, "a1");
      assert.equal((await store.byWallet(a.wallet)).length, 1);
      assert.equal((await store.byIdentity(a.identityHash)).length, 1);
      assert.equal((await store.byStatus("submitted")).length, 1);
      assert.equal(await store.get("nope"), undefined);
    });

    it("lists oldest first, ties in insertion order", async () => {
      const store = await open();
      for (const id of ["z", "a", "m"]) await store.insert(app(id, { submittedAt: 5 }));
      await store.insert(app("first", { submittedAt: 1 }));
      const wallet = app("x").wallet;
      assert.deepEqual((await store.byWallet(wallet)).map((a) => a.id), ["first", "z", "a", "m"]);
      assert.deepEqual((await store.byStatus("submitted")).map((a) => a.id), ["first", "z", "a", "m"]);
    });

    it("the request key is unique: a replayed insert is refused and the first stays", async () => {
      const store = await open();
      await store.insert(app("a1"));
      await assert.rejects(store.insert(app("a2", { requestKey: "rk-a1" })), /UNIQUE|unique constraint/);
      assert.equal(await store.get("a2"), undefined);
    });

    it("update is compare-and-set on status; of two racing updates from the same status exactly one wins", async () => {
      const store = await open();
      await store.insert(app("a1"));
      assert.equal(await store.update("a1", ["issued"], { status: "revoked" }), false);
      assert.equal(await store.update("a1", ["submitted"], { status: "issued", txHash: `0x${"ab".repeat(32)}`, expiresAt: 2_000, kycLevel: 2, decidedAt: NOW_MS, decidedBy: OFFICER }), true);
      const issued = (await store.get("a1"))!;
      assert.deepEqual([issued.status, issued.expiresAt, issued.kycLevel, issued.decidedAt, issued.decidedBy], ["issued", 2_000, 2, NOW_MS, OFFICER]);
      assert.deepEqual((await store.expiring(1_500, 2_000)).map((a) => a.id), ["a1"]);
      assert.deepEqual(await store.expiring(2_001, 3_000), []);

      await store.insert(app("a2"));
      const race = await Promise.all([store.update("a2", ["submitted"], { status: "approved", decidedBy: OFFICER }), store.update("a2", ["submitted"], { status: "rejected", reason: "x" })]);
      assert.equal(race.filter(Boolean).length, 1);
    });

    it("a failing transaction leaves nothing behind; a committed one keeps everything", async () => {
      const store = await open();
      await store.insert(app("a1", { status: "issued" }));
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.insert(app("a2"));
          await tx.update("a1", ["issued"], { status: "erased", piiBlob: null, piiKid: null });
          await tx.recordRead({ applicationId: "a1", reader: OFFICER, role: "officer", why: "review", readAt: 1 });
          throw new Error("crash half-way");
        }),
        /crash half-way/,
      );
      assert.equal(await store.get("a2"), undefined);
      assert.equal((await store.get("a1"))?.status, "issued");
      assert.ok((await store.get("a1"))?.piiBlob);
      assert.deepEqual(await store.reads(), []);

      // A database error half-way (the duplicate request key) rolls back the writes before it.
      await assert.rejects(store.transaction(async (tx) => {
        await tx.insert(app("a3"));
        await tx.insert(app("a4", { requestKey: "rk-a1" }));
      }));
      assert.equal(await store.get("a3"), undefined);

      assert.equal(await store.transaction(async (tx) => (await tx.insert(app("a5")), tx.update("a5", ["submitted"], { status: "rejected" }))), true);
      assert.equal((await store.get("a5"))?.status, "rejected");
    });

    it("transactions run one at a time, and nothing outside sees one before it commits", async () => {
      const store = await open();
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let entered!: () => void;
      const inside = new Promise<void>((r) => (entered = r));
      const order: string[] = [];
      const first = store.transaction(async (tx) => {
        await tx.insert(app("t1"));
        entered();
        await gate;
        order.push("first commits");
      });
      await inside;
      // Both the second transaction's check and the plain read start while the first holds its insert uncommitted.
      const second = store.transaction(async (tx) => {
        order.push(`second sees t1: ${(await tx.get("t1")) !== undefined}`);
      });
      // SQLite shares one connection: a read waits for the commit. PostgreSQL reads from another connection: it sees the state before.
      const read = b.name === "sqlite"
        ? store.get("t1").then((a) => order.push(`read sees t1: ${a !== undefined}`))
        : store.get("t1").then((a) => assert.equal(a, undefined, "no read of uncommitted data"));
      if (b.name === "postgres") await read;
      release();
      await Promise.all([first, second, read]);
      assert.equal(order[0], "first commits");
      assert.ok(order.includes("second sees t1: true"), order.join("; "));
      if (b.name === "sqlite") assert.ok(order.includes("read sees t1: true"), order.join("; "));
    });

    it("applications past retention: rejected or revoked before the cut-off, issued and lapsed before it; never open ones or ones without data", async () => {
      const store = await open();
      const day = 86_400_000;
      const cutoff = NOW_MS;
      const rows: Array<[string, Partial<StoredApplication>]> = [
        ["rejected-old", { status: "rejected", decidedAt: cutoff - day }],
        ["rejected-at", { status: "rejected", decidedAt: cutoff }],
        ["rejected-new", { status: "rejected", decidedAt: cutoff + 1 }],
        ["revoked-old", { status: "revoked", decidedAt: cutoff - day, expiresAt: Math.floor((cutoff + 900 * day) / 1000) }],
        ["issued-lapsed", { status: "issued", decidedAt: cutoff - 9 * day, expiresAt: Math.floor((cutoff - day) / 1000) }],
        ["issued-live", { status: "issued", decidedAt: cutoff - 9 * day, expiresAt: Math.floor((cutoff + day) / 1000) }],
        ["submitted-old", { status: "submitted", submittedAt: 1 }],
        ["approved-old", { status: "approved", decidedAt: 1, expiresAt: 1 }],
        ["erased-old", { status: "erased", decidedAt: 1, piiBlob: null, piiKid: null }],
        ["purged-already", { status: "rejected", decidedAt: 1, piiBlob: null, piiKid: null }],
      ];
      for (const [id, over] of rows) await store.insert(app(id, over));
      const due = await store.pastRetention(cutoff, Math.floor(cutoff / 1000));
      assert.deepEqual(due.map((a) => a.id).sort(), ["issued-lapsed", "rejected-at", "rejected-old", "revoked-old"]);
    });

    it("pii reads are recorded in order, per application, and only for a stored application", async () => {
      const store = await open();
      await store.insert(app("a1"));
      await store.insert(app("a2"));
      await store.recordRead({ applicationId: "a1", reader: OFFICER, role: "officer", why: "review", readAt: NOW_MS });
      await store.recordRead({ applicationId: "a2", reader: OFFICER, role: "officer", why: "other", readAt: NOW_MS + 1 });
      await store.recordRead({ applicationId: "a1", reader: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", role: "applicant", why: "own data", readAt: NOW_MS + 2 });
      assert.deepEqual((await store.reads("a1")).map((r) => [r.role, r.why, r.readAt]), [["officer", "review", NOW_MS], ["applicant", "own data", NOW_MS + 2]]);
      assert.deepEqual((await store.reads()).map((r) => r.why), ["review", "other", "own data"]);
      await assert.rejects(store.recordRead({ applicationId: "nope", reader: OFFICER, role: "officer", why: "x", readAt: 1 }), /FOREIGN KEY|foreign key/);
    });

    it("re-opening runs only new migrations; a failing migration is rolled back whole", async () => {
      const location = await b.fresh();
      const first = await b.open(location);
      assert.equal(await first.schemaVersion(), 1);
      await first.insert(app("a1"));
      await first.close();

      // Were migration 1 run again, CREATE TABLE would fail on the existing table.
      let runs = 0;
      const two = { version: 2, sql: "CREATE TABLE retention (days INTEGER NOT NULL); INSERT INTO retention VALUES (365);" };
      const counted = new Proxy(two, { get: (o, k) => (k === "sql" && runs++, o[k as keyof typeof o]) });
      const second = await b.open(location, [...b.migrations, counted]);
      assert.equal(await second.schemaVersion(), 2);
      assert.equal(runs, 1);
      assert.equal((await second.get("a1"))?.id, "a1");
      await second.close();
      const third = await b.open(location, [...b.migrations, counted]);
      assert.equal(runs, 1, "migration 2 does not run twice");
      await third.close();

      const broken = { version: 3, sql: "CREATE TABLE half (x INTEGER); THIS IS NOT SQL;" };
      await assert.rejects(b.open(location, [...b.migrations, two, broken]));
      const fourth = await b.open(location, [...b.migrations, two, { version: 3, sql: "CREATE TABLE half (x INTEGER);" }]);
      assert.equal(await fourth.schemaVersion(), 3, "the broken migration left no table 'half' behind, so the fixed one applies");
      assert.equal((await fourth.get("a1"))?.id, "a1");
    });
  });
}

const backends = storeBackends();
for (const b of backends) {
  if (b.skip) console.log(`# issuer store: ${b.name} suite skipped: ${b.skip}`);
  storeSuite(b);
}
