import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, it } from "node:test";
import type { TradingEvent } from "../trading/events.ts";
import { CandleStore, bucketStart, nextBucket } from "./candleStore.ts";

const dir = mkdtempSync(path.join(tmpdir(), "sen-candles-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let seq = 0;
function trade(ts: number, price: number, size: number, symbol = "GOLD-VND"): Extract<TradingEvent, { kind: "trade" }> {
  return { kind: "trade", symbol, tradeId: String(++seq), price, size, side: "buy", makerOrderId: "m", takerOrderId: "t", ts, sequence: seq, funds: BigInt(price * size), sellerTax: 0n };
}
/** Applied and durable, as the trading service reports a journaled trade. */
function feed(store: CandleStore, e: TradingEvent): void {
  store.record(e);
  store.durable(e);
}
const utc = (y: number, m: number, d: number, h = 0, min = 0) => Date.UTC(y, m - 1, d, h, min);

describe("candle store", () => {
  it("buckets: epoch-aligned widths (1week starts Thursday, as KuCoin), calendar months in UTC", () => {
    assert.equal(bucketStart("1min", utc(2026, 3, 5, 10, 7) + 59_999), utc(2026, 3, 5, 10, 7));
    assert.equal(bucketStart("4hour", utc(2026, 3, 5, 10, 7)), utc(2026, 3, 5, 8));
    assert.equal(new Date(bucketStart("1week", utc(2026, 3, 4))).getUTCDay(), 4, "Thursday");
    assert.equal(bucketStart("1week", utc(2026, 3, 4)), utc(2026, 2, 26));
    assert.equal(bucketStart("1month", utc(2026, 3, 31, 23, 59) + 59_999), utc(2026, 3, 1));
    assert.equal(bucketStart("1month", utc(2026, 4, 1)), utc(2026, 4, 1));
    assert.equal(nextBucket("1month", utc(2024, 2, 1)), utc(2024, 3, 1), "leap February");
    assert.equal(nextBucket("1month", utc(2026, 12, 1)), utc(2027, 1, 1), "year boundary");
  });

  it("aggregates open/close/high/low/volume/turnover across minutes, hours, days and months", () => {
    const store = new CandleStore({ file: ":memory:" });
    feed(store, trade(utc(2026, 1, 31, 23, 59), 100, 1)); // last minute of January
    feed(store, trade(utc(2026, 2, 1, 0, 0), 110, 2)); // first minute of February
    feed(store, trade(utc(2026, 2, 1, 0, 0) + 30_000, 90, 3));
    feed(store, trade(utc(2026, 2, 28, 23, 0), 120, 4));
    feed(store, trade(utc(2026, 3, 1, 0, 0), 130, 5));
    const all = (type: Parameters<CandleStore["candles"]>[1]) => store.candles("GOLD-VND", type, 0, utc(2027, 1, 1));
    assert.deepEqual(all("1month"), [
      [utc(2026, 1, 1), 100, 100, 100, 100, 1n, 100n],
      [utc(2026, 2, 1), 110, 120, 120, 90, 9n, 220n + 270n + 480n],
      [utc(2026, 3, 1), 130, 130, 130, 130, 5n, 650n],
    ]);
    assert.deepEqual(all("1min")[1], [utc(2026, 2, 1), 110, 90, 110, 90, 5n, 490n]);
    assert.equal(all("1min").length, 4);
    assert.deepEqual(all("1day").map((c) => c[0]), [utc(2026, 1, 31), utc(2026, 2, 1), utc(2026, 2, 28), utc(2026, 3, 1)]);
    // Week of Thursday 29 January holds the January and early-February trades.
    assert.deepEqual(all("1week")[0], [utc(2026, 1, 29), 100, 90, 110, 90, 6n, 590n]);
    assert.deepEqual(all("12hour").map((c) => c[5]), [1n, 5n, 4n, 5n]);
    // Limits: the latest by default, the earliest when paging forward.
    assert.deepEqual(store.candles("GOLD-VND", "1min", 0, utc(2027, 1, 1), 2).map((c) => c[0]), [utc(2026, 2, 28, 23), utc(2026, 3, 1)]);
    assert.deepEqual(store.candles("GOLD-VND", "1min", 0, utc(2027, 1, 1), 2, "first").map((c) => c[0]), [utc(2026, 1, 31, 23, 59), utc(2026, 2, 1)]);
    // A range inside one candle returns that candle; other symbols see nothing.
    assert.deepEqual(store.candleAt("GOLD-VND", "1month", utc(2026, 2, 14)), all("1month")[1]);
    assert.deepEqual(store.candles("RIVER-VND", "1min", 0, utc(2027, 1, 1)), []);
    store.close();
  });

  it("writes only durable trades, is idempotent by trade sequence, and keeps applied-but-unwritten trades in the snapshot", () => {
    const file = path.join(dir, "candles.sqlite");
    const t0 = utc(2026, 5, 1, 12);
    const a = new CandleStore({ file, flushMs: 60_000 });
    const first = [trade(t0, 100, 1), trade(t0 + 1_000, 101, 1)];
    for (const e of first) feed(a, e);
    const undelivered = trade(t0 + 2_000, 102, 1);
    a.record(undelivered); // applied, its record not yet durable
    assert.equal(a.candles("GOLD-VND", "1min", t0, t0)[0][5], 2n, "the non-durable trade is not counted");
    const snapshot = a.snapshot(); // written by the trading service once the journal holds it
    a.close();

    // Restart from that snapshot: the journal replay repeats the trades after the snapshot's
    // record; an older snapshot would repeat some the store already holds.
    const b = new CandleStore({ file, flushMs: 60_000 });
    b.restore(JSON.parse(JSON.stringify(snapshot)));
    for (const e of [...first, undelivered]) b.record(e); // replay from an older position: all repeated
    const later = trade(t0 + 3_000, 99, 5);
    b.record(later);
    b.markDurable(later.sequence); // after replay: everything replayed is durable
    assert.deepEqual(b.candles("GOLD-VND", "1min", t0, t0), [[t0, 100, 99, 102, 99, 8n, 100n + 101n + 102n + 495n]]);
    b.close();
    const c = new CandleStore({ file });
    assert.equal(c.candles("GOLD-VND", "1hour", t0, t0)[0][5], 8n, "persisted, counted once");
    c.close();
  });

  it("a written batch stays in the snapshot until its WAL sync (off the event loop) returns; reads count it once meanwhile", async () => {
    seq = 0; // a new database: trades from 1
    const file = path.join(dir, "unsynced.sqlite");
    const t0 = utc(2026, 5, 2, 12);
    const a = new CandleStore({ file, flushMs: 60_000 });
    const written = [trade(t0, 100, 1), trade(t0 + 1_000, 105, 2)];
    for (const e of written) feed(a, e);
    a.flush(); // committed, not yet known to be on disk
    const during = a.snapshot() as Array<{ sequence: number }>;
    assert.deepEqual(during.map((t) => t.sequence), [1, 2], "a power loss now would lose the commit: the snapshot still holds it");
    assert.deepEqual(a.candles("GOLD-VND", "1min", t0, t0), [[t0, 100, 105, 105, 100, 3n, 100n + 210n]], "counted once, from the database");
    await a.synced();
    assert.deepEqual(a.snapshot(), [], "on disk: the snapshot no longer carries it");
    a.close();
    // A restart from the snapshot taken before the sync, over the database that has the commit: counted once.
    const b = new CandleStore({ file, flushMs: 60_000 });
    b.restore(JSON.parse(JSON.stringify(during)));
    b.markDurable(2);
    b.flush();
    assert.deepEqual(b.candles("GOLD-VND", "1hour", t0, t0), [[t0, 100, 105, 105, 100, 3n, 310n]]);
    b.close();
  });

  it("batches: a trade costs no write until the batch is due, then one transaction", async () => {
    const store = new CandleStore({ file: path.join(dir, "batch.sqlite"), flushMs: 20, flushTrades: 1_000_000 });
    const t0 = utc(2026, 6, 1);
    const n = 50_000;
    const started = performance.now();
    for (let i = 0; i < n; i++) feed(store, trade(t0 + i * 1_000, 1_000 + (i % 50), 1));
    const perTrade = (performance.now() - started) / n;
    const flushStarted = performance.now();
    store.flush();
    const flushMs = performance.now() - flushStarted;
    // Rough figures for the report; the bound only catches a per-trade disk write.
    console.log(`candle store: ${(perTrade * 1000).toFixed(2)} µs per trade on the hot path, ${flushMs.toFixed(0)} ms to write ${n} trades`);
    assert.ok(perTrade < 0.05, `${perTrade} ms per trade`);
    assert.equal(store.candles("GOLD-VND", "1day", t0, t0)[0][5], BigInt(n));
    store.close();
  });
  it("a database that takes no write (full disk): trades, reads and snapshots go on, one report per attempt, nothing lost or doubled once it writes again", async () => {
    seq = 0; // a new database: trades from 1
    const file = path.join(dir, "full.sqlite");
    const errors: unknown[] = [];
    const store = new CandleStore({ file, flushMs: 5, flushTrades: 3, maxRetryMs: 40, onError: (e) => errors.push(e) });
    const t0 = utc(2026, 7, 1, 9);
    feed(store, trade(t0, 100, 1));
    store.flush();
    await store.synced(); // on disk: no longer carried by snapshots
    // Another connection makes every write fail, as a full disk does.
    const disk = new DatabaseSync(file);
    disk.exec(`CREATE TRIGGER full_c BEFORE INSERT ON candle BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;
               CREATE TRIGGER full_p BEFORE INSERT ON progress BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;`);
    const later = Array.from({ length: 30 }, (_, i) => trade(t0 + 1_000 * (i + 1), 100 + i, 2));
    for (const e of later) feed(store, e); // the durable listener: must not throw, nor write on every trade
    assert.ok(errors.length <= 2, `${errors.length} failed writes reported for 30 trades: retried on every trade`);
    const expected = [t0, 100, 129, 129, 100, 61n, 100n + later.reduce((s, e) => s + (e.kind === "trade" ? e.funds : 0n), 0n)];
    assert.deepEqual(store.candles("GOLD-VND", "1min", t0, t0), [expected], "reads count the queued durable trades");
    const snap = store.snapshot() as unknown[];
    assert.equal(snap.length, 30, "the snapshot carries every unwritten trade");
    await sleep(150);
    assert.ok(errors.length >= 2 && errors.length <= 6, `${errors.length} attempts in 150 ms: the pause between them grows`);
    disk.exec("DROP TRIGGER full_c; DROP TRIGGER full_p;");
    await sleep(120);
    disk.close();
    store.close();
    // A restart from that snapshot (replay repeats nothing here) counts each trade once.
    const again = new CandleStore({ file });
    again.restore(JSON.parse(JSON.stringify(snap)));
    again.flush();
    assert.deepEqual(again.candles("GOLD-VND", "1hour", t0, t0), [[t0, 100, 129, 129, 100, 61n, expected[6]]]);
    again.close();
  });

  it("a trade the database refuses alone is left out and reported; the trades after it are written", () => {
    seq = 0; // a new database: trades from 1
    const errors: unknown[] = [];
    const store = new CandleStore({ file: ":memory:", flushMs: 60_000, onError: (e) => errors.push(e) });
    const t0 = utc(2026, 8, 1);
    feed(store, trade(t0, 100, 1));
    const bad = trade(t0 + 1_000, 100, 1);
    if (bad.kind === "trade") bad.price = Number.NaN; // stands for any trade SQLite refuses (NOT NULL)
    feed(store, bad);
    feed(store, trade(t0 + 2_000, 105, 1));
    store.flush();
    feed(store, trade(t0 + 3_000, 95, 1));
    store.flush();
    assert.deepEqual(store.candles("GOLD-VND", "1min", t0, t0), [[t0, 100, 95, 105, 95, 3n, 300n]]);
    assert.equal(errors.length, 1);
    assert.match(String((errors[0] as Error).message), new RegExp(`trade ${bad.kind === "trade" ? bad.sequence : 0} of GOLD-VND left out`));
    store.close();
    assert.throws(() => store.candles("GOLD-VND", "1min", t0, t0), "closed: the handle is released");
  });

  it("closing a store whose database takes no write still releases the handle, and does not throw", () => {
    const file = path.join(dir, "close.sqlite");
    const store = new CandleStore({ file, flushMs: 60_000 });
    const disk = new DatabaseSync(file);
    disk.exec("CREATE TRIGGER full_c BEFORE INSERT ON candle BEGIN SELECT RAISE(ABORT, 'disk full'); END; CREATE TRIGGER full_p BEFORE INSERT ON progress BEGIN SELECT RAISE(ABORT, 'disk full'); END;");
    feed(store, trade(utc(2026, 9, 1), 100, 1));
    assert.doesNotThrow(() => store.close());
    disk.exec("DROP TRIGGER full_c; DROP TRIGGER full_p;");
    disk.close();
  });
  it("volume is exact past 2^53 and 2^63 (an 18-decimal token), in the database and in memory", () => {
    const file = path.join(dir, "big.sqlite");
    const store = new CandleStore({ file, flushMs: 60_000 });
    const t0 = utc(2026, 10, 1);
    const size = Number.MAX_SAFE_INTEGER; // the largest size the engine takes
    for (let i = 0; i < 1_100; i++) feed(store, trade(t0 + i, 1, size));
    const v = 1_100n * BigInt(size); // ~9.9e18: past SQLite's 64-bit integers too
    assert.equal(store.candles("GOLD-VND", "1min", t0, t0)[0][5], v, "queued, in memory");
    store.flush();
    feed(store, trade(t0 + 5_000, 1, 1));
    store.close();
    const again = new CandleStore({ file });
    assert.equal(again.candles("GOLD-VND", "1month", t0, t0)[0][5], v + 1n, "written, read back exactly");
    again.close();
  });

  it("a store written with the integer volume column is read on (migrated to text, rows kept)", () => {
    const file = path.join(dir, "old.sqlite");
    const old = new DatabaseSync(file);
    old.exec(`CREATE TABLE candle (symbol TEXT NOT NULL, res TEXT NOT NULL, t INTEGER NOT NULL, o INTEGER NOT NULL, c INTEGER NOT NULL, h INTEGER NOT NULL, l INTEGER NOT NULL, v INTEGER NOT NULL, turnover TEXT NOT NULL, PRIMARY KEY (symbol, res, t)) WITHOUT ROWID;
      CREATE TABLE progress (symbol TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO candle VALUES ('GOLD-VND', 'm', ${utc(2026, 11, 1)}, 100, 100, 100, 100, 7, '700'), ('GOLD-VND', 'h', ${utc(2026, 11, 1)}, 100, 100, 100, 100, 7, '700'), ('GOLD-VND', 'd', ${utc(2026, 11, 1)}, 100, 100, 100, 100, 7, '700');
      INSERT INTO progress VALUES ('GOLD-VND', 1);`);
    old.close();
    const store = new CandleStore({ file, flushMs: 60_000 });
    feed(store, { ...trade(utc(2026, 11, 1, 0, 0) + 1, 110, 3) });
    store.flush();
    assert.deepEqual(store.candles("GOLD-VND", "1day", utc(2026, 11, 1), utc(2026, 11, 1)), [[utc(2026, 11, 1), 100, 110, 110, 100, 10n, 1030n]]);
    store.close();
  });
  it("a candle database older than the snapshot (lost, restored from a backup) is reported as a gap at start", async () => {
    const t0 = utc(2026, 12, 1);
    const a = new CandleStore({ file: path.join(dir, "gap-a.sqlite"), flushMs: 60_000 });
    const written = [trade(t0, 100, 1), trade(t0 + 1, 100, 1), trade(t0 + 2, 100, 1)];
    for (const e of written) feed(a, e);
    a.flush();
    await a.synced();
    const queued = [trade(t0 + 3, 100, 1), trade(t0 + 4, 100, 1)];
    for (const e of queued) a.record(e);
    const snapshot = JSON.parse(JSON.stringify(a.snapshot()));
    a.close();
    const first = written[0].kind === "trade" ? written[0].sequence : 0;
    // The same snapshot over the database that holds the written trades: nothing to report.
    const errors: unknown[] = [];
    const same = new CandleStore({ file: path.join(dir, "gap-a.sqlite"), onError: (e) => errors.push(e) });
    same.restore(snapshot);
    same.markDurable(first + 4);
    same.close();
    assert.equal(errors.length, 0);
    // Over an empty database (the file was lost): the written trades are a hole in the history.
    const lost = new CandleStore({ file: path.join(dir, "gap-b.sqlite"), onError: (e) => errors.push(e) });
    lost.restore(snapshot);
    lost.markDurable(first + 4);
    lost.close();
    assert.equal(errors.length, 1);
    assert.match((errors[0] as Error).message, new RegExp(`trades 1\\.\\.${first + 2} are missing`));
  });

  it("a store that keeps only the trades from its start (an edge's replica from a snapshot) reports no gap for those before", () => {
    const errors: unknown[] = [];
    const t0 = utc(2026, 12, 2);
    const replica = new CandleStore({ file: ":memory:", fromStartOnly: true, onError: (e) => errors.push(e) });
    replica.markDurable(40); // the snapshot it started from
    feed(replica, trade(t0, 100, 1));
    replica.flush();
    replica.close();
    assert.equal(errors.length, 0, `no gap reported: ${errors.map(String).join("; ")}`);
    const full = new CandleStore({ file: ":memory:", onError: (e) => errors.push(e) });
    full.markDurable(40);
    feed(full, trade(t0, 100, 1));
    full.flush();
    full.close();
    assert.equal(errors.length, 1, "without the option the same start is a gap");
  });

  it("writes that keep failing stop after maxAttempts (reported once), and the queue kept meanwhile is bounded, the dropped range reported", async () => {
    seq = 0; // a new database: trades from 1
    const file = path.join(dir, "stalled.sqlite");
    const errors: Error[] = [];
    const store = new CandleStore({ file, flushMs: 1, maxRetryMs: 4, maxAttempts: 3, maxQueued: 10, onError: (e) => errors.push(e as Error) });
    const disk = new DatabaseSync(file);
    disk.exec("CREATE TRIGGER full_c BEFORE INSERT ON candle BEGIN SELECT RAISE(ABORT, 'disk full'); END; CREATE TRIGGER full_p BEFORE INSERT ON progress BEGIN SELECT RAISE(ABORT, 'disk full'); END;");
    const t0 = utc(2027, 1, 1);
    feed(store, trade(t0, 100, 1));
    await sleep(100);
    assert.equal(store.stalled, true);
    assert.equal(errors.filter((e) => /writes stopped after 3 failed attempts/.test(e.message)).length, 1);
    const attempts = errors.length;
    await sleep(50);
    assert.equal(errors.length, attempts, "no retry once stopped");
    for (let i = 1; i <= 20; i++) feed(store, trade(t0 + i, 100, 1));
    assert.ok((store.snapshot() as unknown[]).length <= 10, "queue bounded");
    const drops = errors.slice(attempts).map((e) => e.message.match(/trades (\d+)\.\.(\d+) dropped from the candles/));
    const kept = (store.snapshot() as unknown[]).length;
    assert.ok(drops.length > 0 && drops.length < 21 - kept, `${drops.length} reports for ${21 - kept} dropped trades`);
    assert.equal(drops.reduce((n, m) => n + Number(m![2]) - Number(m![1]) + 1, 0), 21 - kept, "every dropped trade is in a reported range");
    disk.exec("DROP TRIGGER full_c; DROP TRIGGER full_p;");
    disk.close();
    store.close();
  });
});
