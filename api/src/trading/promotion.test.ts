import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import type { AuditEventInput } from "../compliance/audit/auditEvent.ts";
import { createTradingRecorder } from "../compliance/audit/tradingRecorder.ts";
import { KucoinFormat } from "../http/kucoinFormat.ts";
import { createFileJournal } from "../journal/fileJournal.ts";
import { createFileSnapshotStore } from "../journal/fileSnapshotStore.ts";
import { decodeJson, encodeJson } from "../journal/jsonCodec.ts";
import { MarketData } from "../marketdata/marketData.ts";
import { defaultCatalog, type MarketCatalog } from "../markets/marketCatalog.ts";
import { DEFAULT_RISK } from "../risk/types.ts";
import type { TradingRecord } from "./records.ts";
import { RecordHistory } from "./recordHistory.ts";
import { TradingService, type PlaceInput, type TradingServiceOptions } from "./tradingService.ts";

const S = "GOLD-VND";
const dirs: string[] = [];
/** State as a snapshot holds it (an order applied live carries `apiKeyId: undefined`, one restored from a snapshot no such key). */
const asSaved = (x: unknown) => decodeJson(encodeJson(x));
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const order = (accountId: string, side: "buy" | "sell", price: number, size: number, n: number): PlaceInput => ({
  accountId,
  identityHash: `id-${accountId}`,
  symbol: S,
  side,
  type: "limit",
  price,
  size,
  tif: "GTC",
  postOnly: false,
  stp: "CN",
  clientOid: `c${n}`,
});

/** The options a sequencer opens with in `dir`: market data beside the core, the audit recorder as observer (its events collected). */
function optionsFor(dir: string, catalog: MarketCatalog) {
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
    observer: createTradingRecorder({ catalog, format: new KucoinFormat(catalog), append: (e) => audit.push(e), flush: async () => undefined, refPrice: () => 0, audited: { seq: 0n, eventsOfSeq: 0 } }),
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
    const more = trade(live, 20, 60);
    await more;
    await live.setRiskLimits("symbol", S, { maxOrderSize: 50 }, "op");
    await trade(live, 60, 64);
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
    assert.equal(promoted.service.risk.symbols[S]?.maxOrderSize, 50);
    assert.deepEqual(asSaved(hot.marketData.snapshot()), asSaved(warm.marketData.snapshot()), "market data shown the records after the snapshot");
    assert.ok(hot.audit.length > 0, "records after the snapshot reach the audit observer");
    assert.deepEqual(asSaved(hot.audit), asSaved(warm.audit), "the audit observer is shown the same records, as replay");
    assert.equal(promoted.replayed, opened.replayed, "the parts see the records after the snapshot, no more, no fewer");

    // The promoted service is the writer: its command is journaled after the last record and delivered.
    const seen: string[] = [];
    promoted.service.subscribe((e) => e.kind === "order" && seen.push(e.change));
    const o = await promoted.service.placeOrder(order("b", "buy", 9_000, 1, 999));
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
});
