import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import type { AuditEventInput } from "../compliance/audit/auditEvent.ts";
import { parseIsoMicros } from "../compliance/audit/auditEvent.ts";
import { createTradingRecorder } from "../compliance/audit/tradingRecorder.ts";
import { createMicroClock } from "../clock/microClock.ts";
import { KucoinFormat } from "../http/kucoinFormat.ts";
import { createFileJournal } from "../journal/fileJournal.ts";
import { defaultCatalog } from "../markets/marketCatalog.ts";
import { DEFAULT_RISK } from "../risk/types.ts";
import { recordMicros, type TradingRecord } from "../records/tradingRecords.ts";
import { TradingService, type PlaceInput } from "./tradingService.ts";
import { limitOrder } from "./testing/limitOrders.ts";

const S = "GOLD-VND";
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A trading service on a file journal in `dir`, its audit events collected (replayed ones too). */
async function open(dir: string, clock?: () => bigint) {
  const catalog = defaultCatalog();
  const audit: AuditEventInput[] = [];
  const { service } = await TradingService.open({
    core: { catalog, feeAccount: "fees" },
    journal: createFileJournal({ dir, fsync: "none" }),
    risk: structuredClone(DEFAULT_RISK),
    now: Date.now,
    clock,
    observer: createTradingRecorder({ catalog, format: new KucoinFormat(catalog), append: (e) => audit.push(e), flush: async () => undefined, refPrice: () => 0, audited: { seq: 0n, eventsOfSeq: 0 } }),
  });
  return { service, audit };
}

const order = (accountId: string, side: "buy" | "sell", price: number, size: number, n: number): PlaceInput => limitOrder(accountId, side, price, size, `c${n}`);

/** Deposits, 40 orders that rest and trade, a cancel: a journal of every kind of stamp. */
async function trade(service: TradingService) {
  for (const a of ["a", "b"]) {
    await service.deposit(a, "VND", 100_000_000n, `v-${a}`);
    await service.deposit(a, "GOLD", 1_000n, `g-${a}`);
  }
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) {
    ids.push((await service.placeOrder(order("a", "sell", 10_000 + (i % 3) * 100, 2, 2 * i))).orderId);
    ids.push((await service.placeOrder(order("b", "buy", 10_000 + (i % 4) * 100, 1, 2 * i + 1))).orderId);
  }
  const open = ids.find((id) => service.core.order(id)?.isActive);
  if (open) await service.cancelOrder(service.core.order(open)!.accountId, open);
  await assert.rejects(service.placeOrder(order("a", "sell", 10_000, 1_000_000, 99)), /insufficient|balance/i);
}

async function journaled(dir: string): Promise<Array<{ seq: bigint; record: TradingRecord }>> {
  const journal = createFileJournal({ dir, fsync: "none" });
  await journal.open();
  const out: Array<{ seq: bigint; record: TradingRecord }> = [];
  for await (const e of journal.read(1n)) out.push({ seq: e.seq, record: e.record as unknown as TradingRecord });
  await journal.close();
  return out;
}

describe("record times from the business clock", () => {
  it("journals µs with every record, strictly increasing in journal order; audit events carry them, and replay reproduces them without reading a clock", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "sen-rectime-"));
    dirs.push(dir);
    const clock = createMicroClock();
    const live = await open(dir, () => clock.now());
    await trade(live.service);
    await live.service.close();

    const records = await journaled(dir);
    assert.ok(records.length > 40);
    let prev = 0n;
    for (const { seq, record } of records) {
      assert.ok(Number.isInteger(record.us) && record.us! >= 0 && record.us! <= 999, `record ${seq}: us ${record.us}`);
      const t = recordMicros(record);
      assert.ok(t > prev, `record ${seq} at ${t} µs is not after the one before (${prev})`);
      prev = t;
    }
    assert.ok(records.some(({ record }) => record.us !== 0), "some record has a sub-millisecond part");

    // The audit events of a record carry its exact time; not all land on a whole millisecond.
    const ofRecords = live.audit.filter((e) => e.jseq !== undefined);
    for (const e of ofRecords) assert.equal(parseIsoMicros(e.ts!), recordMicros(records[e.jseq! - 1].record), `${e.type} of record ${e.jseq}`);
    assert.ok(live.audit.some((e) => !e.ts!.endsWith("000Z")), "µs, not …000Z");
    // In journal order, events of later records are strictly later.
    for (let i = 1; i < ofRecords.length; i++) {
      const [a, b] = [ofRecords[i - 1], ofRecords[i]];
      if (b.jseq! > a.jseq!) assert.ok(parseIsoMicros(b.ts!) > parseIsoMicros(a.ts!), `record ${b.jseq} after record ${a.jseq}`);
    }
    // An order is received before it is accepted; a refused one is refused after it was received.
    const received = live.audit.filter((e) => e.type === "order.received");
    const accepted = new Map(live.audit.filter((e) => e.type === "order.accepted").map((e) => [e.clientOid, e.ts!]));
    for (const r of received) {
      const acc = accepted.get(r.clientOid);
      if (acc) assert.ok(parseIsoMicros(acc) > parseIsoMicros(r.ts!), `order ${r.clientOid}: accepted ${acc}, received ${r.ts}`);
    }
    const refused = live.audit.find((e) => e.type === "order.rejected" && e.clientOid === "c99")!;
    assert.ok(parseIsoMicros(refused.ts!) > parseIsoMicros(received.find((r) => r.clientOid === "c99")!.ts!));

    // Replay with a clock that would give other times if it were read: the same events.
    let reads = 0;
    const replayed = await open(dir, () => {
      reads++;
      return 1_800_000_000_000_000n + BigInt(reads);
    });
    assert.deepEqual(replayed.audit, ofRecords);
    assert.equal(reads, 0, "replay read no clock");
    await replayed.service.close();
  });

  it("a journal from before the clock (no `us`) replays to the same …000Z timestamps as before", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "sen-rectime-old-"));
    dirs.push(dir);
    const old = await open(dir); // no business clock: records carry ms only, as journals did
    await trade(old.service);
    await old.service.close();
    const records = await journaled(dir);
    assert.ok(records.every(({ record }) => !("us" in record)));

    let t = 1_800_000_000_000_000n;
    const replayed = await open(dir, () => ++t);
    const expected = old.audit.filter((e) => e.jseq !== undefined);
    assert.deepEqual(replayed.audit, expected);
    for (const e of replayed.audit) assert.equal(e.ts, new Date(records[e.jseq! - 1].record.ts).toISOString().replace("Z", "000Z"));
    // New records after the upgrade carry µs, after the old ones.
    await replayed.service.deposit("c", "VND", 1n, "after-upgrade");
    const last = replayed.audit.at(-1)!;
    assert.equal(last.type, "deposit");
    assert.ok(parseIsoMicros(last.ts!) > parseIsoMicros(expected.at(-1)!.ts!));
    await replayed.service.close();
  });
});
