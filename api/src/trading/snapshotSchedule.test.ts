import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { createFileJournal } from "../journal/fileJournal.ts";
import type { SnapshotStore } from "../journal/types.ts";
import { defaultCatalog } from "../markets/marketCatalog.ts";
import { DEFAULT_RISK } from "../risk/types.ts";
import type { PlaceInput } from "./serviceTypes.ts";
import { TradingService } from "./tradingService.ts";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const EVERY = 10;

/** A bid of 1 lot that rests (no asks): every record adds a retained order. */
const bid = (n: number): PlaceInput => ({ accountId: "a", identityHash: "id-a", symbol: "GOLD-VND", side: "buy", type: "limit", price: 10_000, size: 1, tif: "GTC", postOnly: false, stp: "CN", clientOid: `c${n}` });

/** A service whose snapshots are only counted (the records they were taken at), placing `orders` resting bids one at a time. */
async function snapshotsTaken(spacing: "state" | "fixed", orders: number): Promise<{ at: bigint[]; service: TradingService }> {
  const dir = mkdtempSync(path.join(tmpdir(), "sen-snapshot-schedule-"));
  dirs.push(dir);
  const at: bigint[] = [];
  const store: SnapshotStore = {
    save: async (seq) => void at.push(seq),
    load: async () => null,
  };
  const { service } = await TradingService.open({
    core: { catalog: defaultCatalog(), feeAccount: "fees" },
    journal: createFileJournal({ dir: path.join(dir, "journal"), fsync: "none" }),
    snapshots: store,
    snapshotEvery: EVERY,
    snapshotSpacing: spacing,
    risk: structuredClone(DEFAULT_RISK),
    now: Date.now,
  });
  await service.deposit("a", "VND", 10n ** 15n, "d1");
  for (let i = 0; i < orders; i++) await service.placeOrder(bid(i));
  await service.snapshot(); // the saves queued before it have run
  at.pop(); // this explicit one
  return { at, service };
}

describe("SnapshotSchedule spacing", () => {
  it('"fixed" takes one every SEN_SNAPSHOT_EVERY records, however much state they write', async () => {
    const { at } = await snapshotsTaken("fixed", 59);
    assert.deepEqual(at, [10n, 20n, 30n, 40n, 50n, 60n]);
  });

  it('"state" waits at least as many records as the last snapshot wrote, so each record pays for about two written orders', async () => {
    const { at, service } = await snapshotsTaken("state", 159);
    // Record 1 is the deposit, records 2..160 the bids (all resting, all retained). The first
    // after 10 records (it writes 9 orders); then each comes max(10, what the last one wrote)
    // records later: 20 (19 written), 39 (38), 77 (76), 153 (152).
    assert.deepEqual(at, [10n, 20n, 39n, 77n, 153n]);
    assert.equal(service.core.retainedRecordCount, 159);
    let writtenPerRecord = 0;
    for (let i = 1; i < at.length; i++) writtenPerRecord = Math.max(writtenPerRecord, (Number(at[i]) - 1) / Number(at[i] - at[i - 1]));
    assert.ok(writtenPerRecord <= 2.1, `a snapshot wrote ${writtenPerRecord.toFixed(2)} orders per record since the last`);
  });

  it('"state" counts from the state restored at start: a restart does not snapshot the whole state again after SEN_SNAPSHOT_EVERY records', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "sen-snapshot-schedule-"));
    dirs.push(dir);
    const at: bigint[] = [];
    const journal = () => createFileJournal({ dir: path.join(dir, "journal"), fsync: "none" });
    const options = { core: { catalog: defaultCatalog(), feeAccount: "fees" }, snapshotEvery: EVERY, snapshotSpacing: "state" as const, risk: structuredClone(DEFAULT_RISK), now: Date.now };
    const first = (await TradingService.open({ ...options, journal: journal() })).service;
    await first.deposit("a", "VND", 10n ** 15n, "d1");
    for (let i = 0; i < 50; i++) await first.placeOrder(bid(i));
    await first.close();
    const store: SnapshotStore = { save: async (seq) => void at.push(seq), load: async () => null };
    const second = (await TradingService.open({ ...options, journal: journal(), snapshots: store })).service;
    for (let i = 50; i < 100; i++) await second.placeOrder(bid(i));
    await second.snapshot();
    at.pop();
    // 50 orders replayed at start: the first new snapshot waits 50 records, at record 51 + 50.
    assert.deepEqual(at, [101n]);
    await second.close();
  });
});
