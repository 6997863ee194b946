import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { postgresUnavailable, startPostgres, type PostgresServer } from "../../../test/support/postgresServer.ts";
import { encodeAuditEvent, isoMicros, parseIsoMicros, type AuditEvent, type AuditEventType } from "./auditEvent.ts";
import { DatabaseSync } from "node:sqlite";
import { buildEventQuery, cursorOf, type AuditIndex, type AuditQuery } from "./auditIndex.ts";
import { openPostgresAuditIndex } from "./postgresAuditIndex.ts";
import { openSqliteAuditIndex } from "./sqliteAuditIndex.ts";
import { openWorkerSqliteAuditIndex } from "./workerAuditIndex.ts";
import { leafHash } from "./merkle.ts";

const IDS = ["0x" + "a1".repeat(32), "0x" + "b2".repeat(32), "0x" + "c3".repeat(32)];
const ACCOUNTS = ["0x" + "11".repeat(20), "0x" + "22".repeat(20), "0x" + "33".repeat(20), "0x" + "44".repeat(20)];
const SYMBOLS = ["GOLD-VND", "RIVER-VND"];
const TYPES: AuditEventType[] = ["order.received", "order.accepted", "order.filled", "order.cancelled", "deposit", "auth.login"];
const T0 = 1_795_000_000_000_000n; // µs

/** A deterministic mixed stream: identity i owns accounts (i, i+1 mod 4) — one identity, several wallets. */
function makeEvents(n: number): AuditEvent[] {
  const out: AuditEvent[] = [];
  for (let seq = 0; seq < n; seq++) {
    const acct = ACCOUNTS[(seq * 7) % 4];
    const id = IDS[(seq * 7) % 4 === 3 ? 2 : ((seq * 7) % 4) % 3];
    const type = TYPES[seq % TYPES.length];
    // Every 50th event arrives late (a journal catch-up after a restart): its time is older than its neighbours'.
    const tsUs = T0 + BigInt(seq) * 1_500n - (seq % 50 === 49 ? 200_000n : 0n);
    const e: AuditEvent = { seq, id: `ev-${seq}`, ts: isoMicros(tsUs), type, account: acct, identityHash: id, wallet: acct };
    if (type !== "deposit" && type !== "auth.login") {
      e.symbol = SYMBOLS[seq % 2];
      e.orderId = `o${Math.floor(seq / 6)}`;
      e.side = seq % 3 ? "buy" : "sell";
      e.price = "25000";
      e.qty = "1.5";
    }
    out.push(e);
  }
  return out;
}

function reference(events: AuditEvent[], q: AuditQuery): AuditEvent[] {
  const r = events.filter(
    (e) =>
      (!q.identityHash || e.identityHash === q.identityHash) &&
      (!q.account || e.account === q.account) &&
      (!q.wallet || e.wallet === q.wallet) &&
      (!q.symbol || e.symbol === q.symbol) &&
      (!q.orderId || e.orderId === q.orderId) &&
      (!q.types?.length || q.types.includes(e.type)) &&
      (!q.from || parseIsoMicros(e.ts) >= parseIsoMicros(q.from)) &&
      (!q.to || parseIsoMicros(e.ts) < parseIsoMicros(q.to)) &&
      (q.fromSeq === undefined || e.seq >= q.fromSeq) &&
      (q.toSeq === undefined || e.seq < q.toSeq),
  );
  // Pages are in event-time order, seq breaking ties, or in seq order (exports).
  if (q.orderBy === "seq") r.sort((a, b) => a.seq - b.seq);
  else r.sort((a, b) => (a.ts === b.ts ? a.seq - b.seq : a.ts < b.ts ? -1 : 1));
  return q.order === "asc" ? r : r.reverse();
}

async function all(index: AuditIndex, q: AuditQuery): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 10_000; i++) {
    const page = await index.query({ ...q, cursor });
    assert.ok(page.items.length <= q.limit);
    out.push(...page.items);
    if (!page.nextCursor) return out;
    cursor = page.nextCursor;
  }
  throw new Error("pagination did not end");
}

/** The same behaviour is required of every store (SQLite default, PostgreSQL with DATABASE_URL). */
function indexSuite(name: string, open: () => Promise<AuditIndex>, skip: string | false) {
  describe(`audit index: ${name}`, { skip }, () => {
    const events = makeEvents(600);
    let index: AuditIndex;
    before(async () => {
      index = await open();
      await index.reset();
      await index.insert(events.map((event) => ({ event, line: encodeAuditEvent(event) })));
    });
    after(async () => index?.close());

    it("reports the last indexed seq and ignores re-inserted events", async () => {
      assert.equal(await index.lastSeq(), 599);
      // 60 rows: the many-row statement (32 at once) and the single-row one; an index keeps the first line of a seq.
      await index.insert(events.slice(540).map((event) => ({ event, line: encodeAuditEvent({ ...event, reason: "inserted again" }) })));
      const found = await all(index, { limit: 1000, order: "asc" });
      assert.equal(found.length, 600);
      assert.ok(found.every((e) => e.reason !== "inserted again"));
    });

    it("filters by each field and pages with cursors without gaps or repeats", async () => {
      const cases: AuditQuery[] = [
        { identityHash: IDS[0], limit: 17, order: "desc" },
        { account: ACCOUNTS[3], limit: 50, order: "asc" },
        { wallet: ACCOUNTS[1], symbol: SYMBOLS[0], limit: 9, order: "asc" },
        { orderId: "o12", limit: 2, order: "asc" },
        { types: ["order.filled", "deposit"], limit: 33, order: "desc" },
        { from: isoMicros(T0 + 100_000n), to: isoMicros(T0 + 200_000n), limit: 7, order: "asc" },
        { fromSeq: 100, toSeq: 130, symbol: SYMBOLS[1], limit: 4, order: "desc" },
        { fromSeq: 100, toSeq: 130, limit: 4, order: "desc" }, // a primary-key range
        { fromSeq: 250, toSeq: 251, limit: 1, order: "asc" },
        { types: ["deposit", "alert.raised"], limit: 5, order: "asc" }, // only rare types: the type index
        { from: isoMicros(T0 + 100_000n), to: isoMicros(T0 + 200_000n), limit: 7, order: "asc", orderBy: "seq" }, // late events: seq order differs from time order
        { account: ACCOUNTS[3], limit: 50, order: "asc", orderBy: "seq" },
        { limit: 64, order: "asc", orderBy: "seq" },
      ];
      for (const q of cases) assert.deepEqual((await all(index, q)).map((e) => e.seq), reference(events, q).map((e) => e.seq), JSON.stringify(q));
    });

    it("pages a seq-ordered export of one key across several pages: exactly its events, in seq order", async () => {
      const keys: Array<Partial<AuditQuery>> = [{ identityHash: IDS[1] }, { account: ACCOUNTS[2] }, { wallet: ACCOUNTS[0] }, { orderId: "o40" }, { symbol: SYMBOLS[1] }, { types: ["order.filled"] }];
      for (const key of keys)
        for (const order of ["asc", "desc"] as const)
          for (const range of [{}, { fromSeq: 120, toSeq: 480 }]) {
            const q: AuditQuery = { ...key, ...range, limit: 4, order, orderBy: "seq" };
            const want = reference(events, q).map((e) => e.seq);
            assert.ok(want.length > 4 || key.orderId, `several pages for ${JSON.stringify(q)}`);
            assert.deepEqual((await all(index, q)).map((e) => e.seq), want, JSON.stringify(q));
          }
    });

    it("returns the stored events exactly", async () => {
      const page = await index.query({ orderId: "o3", limit: 10, order: "asc" });
      assert.deepEqual(page.items, events.filter((e) => e.orderId === "o3"));
    });

    it("answers any combination of filters like the reference model (property)", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record(
            {
              identityHash: fc.constantFrom(...IDS),
              account: fc.constantFrom(...ACCOUNTS),
              symbol: fc.constantFrom(...SYMBOLS),
              types: fc.subarray(TYPES, { minLength: 1 }),
              fromSeq: fc.integer({ min: 0, max: 600 }),
              toSeq: fc.integer({ min: 0, max: 700 }),
            },
            { requiredKeys: [] },
          ),
          fc.integer({ min: 1, max: 60 }),
          fc.constantFrom<"asc" | "desc">("asc", "desc"),
          fc.constantFrom<"time" | "seq">("time", "seq"),
          async (filters, limit, order, orderBy) => {
            const q: AuditQuery = { ...filters, limit, order, orderBy };
            assert.deepEqual((await all(index, q)).map((e) => e.seq), reference(events, q).map((e) => e.seq));
          },
        ),
        { numRuns: 60 },
      );
    });

    it("rejects a forged cursor as a parameter error", async () => {
      await assert.rejects(index.query({ cursor: "bm9wZQ", limit: 5, order: "asc" }), { code: "VALIDATION" });
      const huge = Buffer.from("t:99999999999999999999:1").toString("base64url"); // beyond int64
      await assert.rejects(index.query({ cursor: huge, limit: 5, order: "asc" }), { code: "VALIDATION" });
    });

    it("fetches events by seq through the primary key", async () => {
      assert.deepEqual(
        (await index.eventsBySeq([250, 3, 99_999, 17])).map((e) => e.seq),
        [3, 17, 250],
      );
      assert.deepEqual(await index.eventsBySeq([]), []);
      assert.deepEqual((await index.eventsBySeq([42]))[0], events[42]);
    });

    it("stores alerts, filters them and records status changes", async () => {
      const alert = { alertId: "WASH_SAME_IDENTITY-12", rule: "WASH_SAME_IDENTITY" as const, severity: "high" as const, ts: events[12].ts, symbol: SYMBOLS[0], identityHashes: [IDS[0]], accounts: [ACCOUNTS[0], ACCOUNTS[1]], eventSeqs: [12, 13], summary: "same identity on both sides", detail: {} };
      await index.saveAlert(alert, 700);
      await index.saveAlert(alert, 701); // idempotent by id
      await index.saveAlert({ ...alert, alertId: "SPOOFING-20", rule: "SPOOFING" as never, identityHashes: [IDS[1]] }, 702);
      assert.deepEqual((await index.alerts({ limit: 10 })).items.map((a) => a.alertId), ["SPOOFING-20", "WASH_SAME_IDENTITY-12"]);
      assert.deepEqual((await index.alerts({ identityHash: IDS[0], limit: 10 })).items.map((a) => a.alertId), ["WASH_SAME_IDENTITY-12"]);
      const updated = await index.setAlertStatus("WASH_SAME_IDENTITY-12", "acknowledged", ACCOUNTS[3], "looking into it");
      assert.equal(updated?.status, "acknowledged");
      assert.equal(updated?.statusBy, ACCOUNTS[3]);
      assert.deepEqual((await index.alerts({ status: "open", limit: 10 })).items.map((a) => a.alertId), ["SPOOFING-20"]);
      assert.equal(await index.alert("nope"), undefined);
    });

    it("can be reset and rebuilt from the log", async () => {
      await index.reset();
      assert.equal(await index.lastSeq(), -1);
      await index.insert(events.map((event) => ({ event, line: encodeAuditEvent(event) })));
      assert.equal(await index.lastSeq(), 599);
    });
  });
}

const dir = mkdtempSync(path.join(tmpdir(), "sen-audit-index-"));
after(() => rmSync(dir, { recursive: true, force: true }));
indexSuite("sqlite", async () => openSqliteAuditIndex(path.join(dir, "index.sqlite")), false);
indexSuite("sqlite in a worker thread (the gateway's default)", async () => openWorkerSqliteAuditIndex(path.join(dir, "worker-index.sqlite")), false);

const pgSkip = postgresUnavailable();
if (pgSkip) console.log(`# audit index: postgres suite skipped: ${pgSkip}`);
let pgServer: PostgresServer | undefined;
after(async () => pgServer?.stop());
indexSuite(
  "postgres",
  async () => {
    pgServer = await startPostgres();
    return openPostgresAuditIndex(pgServer.url);
  },
  pgSkip ?? false,
);

describe("sqlite query plans for seq-ordered (export) pages", () => {
  const file = path.join(dir, "plan.sqlite");
  let db: DatabaseSync;
  before(async () => {
    await (await openSqliteAuditIndex(file)).close();
    db = new DatabaseSync(file);
  });
  after(() => db?.close());
  const plan = (q: AuditQuery) => {
    const { sql, params } = buildEventQuery(q, () => "?", true);
    return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail).join("\n");
  };
  const cursor = cursorOf(T0, 123);

  it("reads a key's (column, seq) index from the cursor with no sort", () => {
    const cases: Array<[Partial<AuditQuery>, string]> = [
      [{ identityHash: IDS[0] }, "audit_events_identity_seq (identity=? AND seq>?)"],
      [{ account: ACCOUNTS[0] }, "audit_events_account_seq (account=? AND seq>?)"],
      [{ wallet: ACCOUNTS[0] }, "audit_events_wallet_seq (wallet=? AND seq>?)"],
      [{ orderId: "o1" }, "audit_events_order_seq (order_id=? AND seq>?)"],
      [{ symbol: SYMBOLS[0] }, "audit_events_symbol_seq (symbol=? AND seq>?)"],
      [{ types: ["deposit"] }, "audit_events_type_seq (type=? AND seq>?)"],
    ];
    for (const [key, index] of cases) {
      const p = plan({ ...key, cursor, limit: 5000, order: "asc", orderBy: "seq" });
      assert.doesNotMatch(p, /TEMP B-TREE/, p);
      assert.ok(p.includes(`USING INDEX ${index}`), p);
    }
    const desc = plan({ account: ACCOUNTS[0], cursor, limit: 5000, order: "desc", orderBy: "seq" });
    assert.doesNotMatch(desc, /TEMP B-TREE/, desc);
    assert.ok(desc.includes("USING INDEX audit_events_account_seq (account=? AND seq<?)"), desc);
  });

  it("walks the primary key from the cursor without a key or with several types", () => {
    for (const key of [{}, { types: ["deposit", "auth.login"] as AuditEventType[] }, { from: isoMicros(T0) }]) {
      const p = plan({ ...key, cursor, limit: 5000, order: "asc", orderBy: "seq" });
      assert.doesNotMatch(p, /TEMP B-TREE/, p);
      assert.match(p, /USING INTEGER PRIMARY KEY \(rowid>\?\)/, p);
    }
  });
});

describe("sqlite page size", () => {
  const pageSize = (file: string) => {
    const db = new DatabaseSync(file);
    try {
      return (db.prepare("PRAGMA page_size").get() as { page_size: number }).page_size;
    } finally {
      db.close();
    }
  };

  it("makes a new index with 16 KiB pages", async () => {
    const file = path.join(dir, "page-new.sqlite");
    const index = openSqliteAuditIndex(file);
    await index.insert(makeEvents(10).map((event) => ({ event, line: encodeAuditEvent(event) })));
    await index.close();
    assert.equal(pageSize(file), 16_384);
  });

  it("keeps an existing index's page size, and its rows", async () => {
    const file = path.join(dir, "page-old.sqlite");
    const old = new DatabaseSync(file);
    old.exec("PRAGMA page_size = 4096; PRAGMA journal_mode = WAL;");
    old.close();
    const events = makeEvents(300);
    const first = openSqliteAuditIndex(file);
    await first.insert(events.slice(0, 200).map((event) => ({ event, line: encodeAuditEvent(event) })));
    await first.close();
    const again = openSqliteAuditIndex(file);
    await again.insert(events.map((event) => ({ event, line: encodeAuditEvent(event) })));
    assert.equal(await again.lastSeq(), 299);
    const q: AuditQuery = { account: ACCOUNTS[1], limit: 40, order: "asc" };
    assert.deepEqual(await all(again, q), reference(events, q));
    await again.close();
    assert.equal(pageSize(file), 4096);
  });
});

describe("sqlite in a worker thread: failures reach the caller", () => {
  it("rejects the open when the file cannot be created", async () => {
    const file = path.join(dir, "not-a-dir.sqlite");
    writeFileSync(file, "x");
    await assert.rejects(openWorkerSqliteAuditIndex(path.join(file, "index.sqlite")), /audit index/);
  });
});

describe("sqlite in a worker thread: batches in reused memory", () => {
  it("indexes and screens every batch gathered in bytes(), reusing the memory the worker gave back", async () => {
    const index = await openWorkerSqliteAuditIndex(path.join(dir, "batches.sqlite"));
    const screening = index.screening!;
    const events = makeEvents(900);
    let previousMark: Buffer | null = null;
    let reused = 0;
    for (let from = 0; from < events.length; from += 100) {
      const stored = Buffer.from(events.slice(from, from + 100).map((e) => `${encodeAuditEvent(e)}\n`).join(""));
      const batch = screening.bytes!(stored.length);
      assert.equal(batch.byteLength, stored.length);
      // The buffer's last 16 bytes lie beyond every batch: a mark left there by the previous
      // batch is still there only if this is the same memory, back from the worker.
      const tail = new Uint8Array(batch.buffer, batch.buffer.byteLength - 16, 16);
      if (previousMark && Buffer.from(tail).equals(previousMark)) reused++;
      const mark = Buffer.from(`batch-${String(from).padStart(10, "0")}`);
      tail.set(mark);
      previousMark = mark;
      batch.set(stored);
      const outcome = await screening.insertAndScreen(batch);
      assert.deepEqual(outcome.failures, []);
      // Each line's leaf hash, for the log's tree (screening.hashesLeaves).
      const lines = stored.toString("utf8").split("\n").slice(0, -1);
      assert.ok(screening.hashesLeaves);
      assert.deepEqual(Buffer.from(outcome.leafHashes!), Buffer.concat(lines.map((l) => leafHash(Buffer.from(l)))));
      assert.equal(batch.buffer.byteLength, 0, "the batch memory was handed over, not copied");
    }
    assert.equal(reused, 8, "every batch after the first in the memory the worker gave back");
    assert.equal(await index.lastSeq(), 899);
    const found = await all(index, { limit: 1000, orderBy: "seq", order: "asc" });
    assert.deepEqual(found.map((e) => e.seq), events.map((e) => e.seq));
    await index.close();
  });
});
