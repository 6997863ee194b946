import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import type { AuditEventInput } from "../compliance/audit/auditEvent.ts";
import { createTradingRecorder } from "../compliance/audit/tradingRecorder.ts";
import { KucoinFormat } from "../http/kucoinFormat.ts";
import { createFileJournal } from "../journal/fileJournal.ts";
import type { Journal, JournalEntry } from "../journal/types.ts";
import { createFileSnapshotStore } from "../journal/fileSnapshotStore.ts";
import { decodeJson, encodeJson } from "../journal/jsonCodec.ts";
import { MarketData } from "../marketdata/marketData.ts";
import { defaultCatalog, type MarketCatalog } from "../markets/marketCatalog.ts";
import { DEFAULT_RISK } from "../risk/types.ts";
import type { TradingRecord } from "../records/tradingRecords.ts";
import { RecordHistory } from "./recordHistory.ts";
import { TradingService, type PlaceInput, type TradingServiceOptions } from "./tradingService.ts";
import { limitOrder } from "./testing/limitOrders.ts";

const S = "GOLD-VND";
const dirs: string[] = [];
/** State as a snapshot holds it (an order applied live carries `apiKeyId: undefined`, one restored from a snapshot no such key). */
const asSaved = (x: unknown) => decodeJson(encodeJson(x));
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const order = (accountId: string, side: "buy" | "sell", price: number, size: number, n: number): PlaceInput => limitOrder(accountId, side, price, size, `c${n}`);

/** The options a sequencer opens with in `dir`: market data beside the core, the audit recorder as observer (its events collected). */
function optionsFor(dir: string, catalog: MarketCatalog, auditedThrough = 0n) {
  const marketData = new MarketData(catalog.markets.keys(), () => 1n);
  const audit: AuditEventInput[] = [];
  const options: TradingServiceOptions = {
    core: { catalog, feeAccount: "fees" },
    journal: createFileJournal({ dir: path.join(dir, "journal"), fsync: "none" }),
    snapshots: createFileSnapshotStore({ dir: path.join(dir, "snapshots") }),
    snapshotEvery: 25,
    risk: structuredClone(DEFAULT_RISK),
    now: Date.now,
    parts: [marketData],
    stateListeners: [marketData.handle],
    observer: createTradingRecorder({ catalog, format: new KucoinFormat(catalog), append: (e) => audit.push(e), flush: async () => undefined, refPrice: () => 0, audited: { seq: auditedThrough, eventsOfSeq: 0 } }),
  };
  return { options, marketData, audit };
}

async function trade(service: TradingService, from: number, to: number) {
  for (let i = from; i < to; i++) {
    await service.placeOrder(order("a", "sell", 10_000 + (i % 3) * 100, 2, 2 * i));
    await service.placeOrder(order("b", "buy", 10_000 + (i % 4) * 100, 1, 2 * i + 1));
  }
}

/** A standby's replica from the snapshot in `dir` now, fed the journal's records up to `upTo` through its history. */
async function standbyReplica(dir: string, catalog: MarketCatalog, upTo: bigint, capacity = 10_000) {
  const snap = await createFileSnapshotStore({ dir: path.join(dir, "snapshots") }).load();
  const replica = TradingService.follower({ core: { catalog, feeAccount: "fees" }, risk: structuredClone(DEFAULT_RISK), now: Date.now }, snap ?? undefined);
  const history = new RecordHistory(capacity);
  const target = history.follow(replica);
  const journal = createFileJournal({ dir: path.join(dir, "journal"), fsync: "none" });
  await journal.open();
  for await (const e of journal.read(replica.lastSeq + 1n)) {
    if (e.seq > upTo) break;
    target.applyDurable(e.seq, e.record as unknown as TradingRecord);
  }
  await journal.close();
  return { replica, history, target, startedAt: snap?.seq ?? 0n };
}

/**
 * The journal's records held in memory, encoded, and read by position as the Redis journal reads
 * a range (XRANGE from a seq, each entry decoded): the timing below is then a warm open's read +
 * replay of the tail against a promotion's, not a file journal's scan from its start.
 */
async function rangeJournal(dir: string): Promise<Journal & { readCount: number }> {
  const file = createFileJournal({ dir: path.join(dir, "journal"), fsync: "none" });
  const { lastSeq } = await file.open();
  // Kept encoded, decoded when read: what a read of the Redis journal costs (XRANGE + decodeJson).
  const entries: string[] = [];
  for await (const e of file.read(1n)) entries.push(encodeJson(e.record));
  await file.close();
  const journal: Journal & { readCount: number } = {
    readCount: 0,
    open: async () => ({ lastSeq }),
    append() {
      throw new Error("read only");
    },
    flush: async () => undefined,
    async *read(from: bigint) {
      for (let i = Number(from) - 1; i < entries.length; i++) {
        journal.readCount++;
        yield { seq: BigInt(i + 1), record: decodeJson(entries[i]) } as JournalEntry;
      }
    },
    close: async () => undefined,
  };
  return journal;
}

describe("hot standby promotion (TradingService.promote)", () => {
  it("a replica fed the journal becomes the writer: same core, market data and audit replay as a warm open, and it journals the next command", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "sen-promote-"));
    dirs.push(dir);
    const catalog = defaultCatalog();
    const active = await TradingService.open(optionsFor(dir, catalog).options);
    const live = active.service;
    for (const a of ["a", "b"]) {
      await live.deposit(a, "VND", 100_000_000n, `v-${a}`);
      await live.deposit(a, "GOLD", 1_000n, `g-${a}`);
    }
    await trade(live, 0, 20);
    await live.snapshot();
    // The standby starts from that snapshot; the active goes on (more snapshots), the standby lags a few records at the "kill".
    await trade(live, 20, 60);
    await live.setRiskLimits("symbol", S, { maxOrderQty: 50 }, "op");
    // The periodic snapshots are saved in the background: one more, awaited, so none is being written at the "kill".
    await live.snapshot();
    await trade(live, 60, 66);
    const end = live.lastSeq;
    const standby = await standbyReplica(dir, catalog, end - 3n);
    assert.equal(standby.replica.lastSeq, end - 3n);
    // kill: the active is dropped without closing (no last snapshot), its journal is durable.

    const hot = optionsFor(dir, catalog);
    const promoted = await TradingService.promote(standby.replica, standby.history, standby.target, hot.options);
    assert.equal(promoted.fallback, undefined);
    const warmCatalog = defaultCatalog();
    const warm = optionsFor(dir, warmCatalog);
    const opened = await TradingService.open(warm.options);

    assert.equal(promoted.service.lastSeq, end);
    assert.equal(opened.service.lastSeq, end);
    assert.deepEqual(asSaved(promoted.service.core.snapshot()), asSaved(opened.service.core.snapshot()), "the promoted core is the replayed one");
    assert.deepEqual(promoted.service.risk, opened.service.risk, "risk limits journaled after the snapshot are in force");
    assert.equal(promoted.service.risk.symbols[S]?.maxOrderQty, 50);
    assert.deepEqual(asSaved(hot.marketData.snapshot()), asSaved(warm.marketData.snapshot()), "market data shown the records after the snapshot");
    assert.ok(hot.audit.length > 0, "records after the snapshot reach the audit observer");
    assert.deepEqual(asSaved(hot.audit), asSaved(warm.audit), "the audit observer is shown the same records, as replay");
    assert.equal(promoted.replayed, opened.replayed, "the parts see the records after the snapshot, no more, no fewer");

    // The promoted service is the writer: its command is journaled after the last record and delivered.
    const seen: string[] = [];
    promoted.service.subscribe((e) => e.kind === "order" && seen.push(e.change));
    const o = await promoted.service.placeOrder(order("b", "buy", 9_500, 1, 999));
    assert.equal(promoted.service.lastSeq, end + 1n);
    assert.ok(seen.includes("open"));
    assert.equal(promoted.service.core.order(o.orderId)?.isActive, true);
    assert.throws(() => standby.replica.applyDurable(end + 2n, { t: "deposit", ts: 1, accountId: "a", currency: "VND", amount: "1", ref: "x" } as TradingRecord), /replicas/);
    await promoted.service.close();
    await opened.service.close();
  });

  it("a replica whose history does not reach the snapshot is not promoted: it opens warm and says why", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "sen-promote-"));
    dirs.push(dir);
    const catalog = defaultCatalog();
    const live = (await TradingService.open(optionsFor(dir, catalog).options)).service;
    for (const a of ["a", "b"]) {
      await live.deposit(a, "VND", 100_000_000n, `v-${a}`);
      await live.deposit(a, "GOLD", 1_000n, `g-${a}`);
    }
    // The replica keeps 2 records (3 at most) from record 1 on; the active snapshots at 25, 50, ...
    const standby = await standbyReplica(dir, catalog, live.lastSeq, 2);
    await trade(live, 0, 20);
    // Settles the periodic snapshots saved in the background, then a tail after the last one.
    await live.snapshot();
    await trade(live, 20, 25);
    const end = live.lastSeq;
    const hot = optionsFor(dir, catalog);
    const promoted = await TradingService.promote(standby.replica, standby.history, standby.target, hot.options);
    assert.match(promoted.fallback ?? "", /history starts at record/);
    const warm = optionsFor(dir, defaultCatalog());
    const opened = await TradingService.open(warm.options);
    assert.equal(promoted.service.lastSeq, end);
    assert.deepEqual(asSaved(promoted.service.core.snapshot()), asSaved(opened.service.core.snapshot()));
    assert.deepEqual(asSaved(hot.audit), asSaved(warm.audit));
    await promoted.service.close();
    await opened.service.close();
  });

  it("a takeover does not read the journal tail: promotion reads only the records the replica lacks, a warm open reads and replays the whole tail", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "sen-promote-"));
    dirs.push(dir);
    const catalog = defaultCatalog();
    // No snapshot after the deposits: the tail is the whole journal (a warm open replays all of it).
    const first = optionsFor(dir, catalog);
    const live = (await TradingService.open({ ...first.options, snapshotEvery: 1_000_000 })).service;
    for (const a of ["a", "b"]) {
      await live.deposit(a, "VND", 10_000_000_000n, `v-${a}`);
      await live.deposit(a, "GOLD", 100_000n, `g-${a}`);
    }
    await live.setRiskLimits("defaults", undefined, { accountRate: { burst: 1_000_000, perSecond: 1_000_000 }, maxOpenOrders: 100_000 }, "test");
    for (let n = 0; n < 1_500; n += 50) {
      const orders = [];
      for (let i = n; i < n + 50; i++) {
        orders.push(live.placeOrder(order("a", "sell", 10_000 + (i % 3) * 100, 2, 2 * i)));
        orders.push(live.placeOrder(order("b", "buy", 10_000 + (i % 4) * 100, 1, 2 * i + 1)));
      }
      await Promise.all(orders);
    }
    const end = live.lastSeq;
    const standby = await standbyReplica(dir, catalog, end - 2n);

    // The audit trail holds every record but the last (as after a crash): both show it only that one.
    const warm = optionsFor(dir, defaultCatalog(), end);
    const warmJournal = await rangeJournal(dir);
    warm.options.journal = warmJournal;
    let t = performance.now();
    const opened = await TradingService.open(warm.options);
    const warmMs = performance.now() - t;
    const hot = optionsFor(dir, catalog, end);
    const hotJournal = await rangeJournal(dir);
    hot.options.journal = hotJournal;
    t = performance.now();
    const promoted = await TradingService.promote(standby.replica, standby.history, standby.target, hot.options);
    const hotMs = performance.now() - t;
    assert.equal(promoted.fallback, undefined);
    assert.equal(promoted.service.lastSeq, end);
    assert.deepEqual(asSaved(promoted.service.core.snapshot()), asSaved(opened.service.core.snapshot()));
    // Times for the record only: replaying a record costs tens of µs here, so the two are close; what differs is what is read.
    console.log(`# ${end} records in the tail: warm open read ${warmJournal.readCount} and took ${warmMs.toFixed(0)} ms, promotion read ${hotJournal.readCount} and took ${hotMs.toFixed(0)} ms`);
    assert.equal(warmJournal.readCount, Number(end));
    assert.equal(hotJournal.readCount, 2, "only the records the replica had not applied");
    await promoted.service.close();
    await opened.service.close();
  });
});
