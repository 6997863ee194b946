import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { JournalError } from "../../errors/SenError.ts";
import type { Journal, JournalEntry, JournalRecord, JournalStats } from "../types.ts";

/**
 * One behaviour suite for every Journal implementation (the Trillian habit: a storage
 * interface on top, each implementation runs the same tests). An implementation provides a
 * harness; `storage()` gives fresh, empty storage and a maker of journals over it, so a test
 * can close one journal and open another on the same data.
 */
export type StatsJournal = Journal & { stats(): JournalStats };
export type JournalHarness = {
  /** Set when the implementation cannot run here (e.g. "redis-server not installed"). */
  skip?: string;
  before?(): Promise<void>;
  after?(): Promise<void>;
  storage(): Promise<() => StatsJournal>;
};

export async function collect(iterable: AsyncIterable<JournalEntry>): Promise<JournalEntry[]> {
  const out: JournalEntry[] = [];
  for await (const entry of iterable) out.push(entry);
  return out;
}

let gcFn: (() => void) | null = null;
function gc(): void {
  if (gcFn === null) {
    setFlagsFromString("--expose-gc");
    gcFn = runInNewContext("gc") as () => void;
  }
  gcFn();
}

export function describeJournalBehaviour(name: string, harness: JournalHarness): void {
  describe(`Journal behaviour: ${name}`, { skip: harness.skip }, () => {
    if (harness.before) it("starts its backend", harness.before);

    it("numbers appends 1, 2, 3 ... without gaps and round-trips bigints and unicode", async () => {
      const journal = (await harness.storage())();
      assert.deepEqual(await journal.open(), { lastSeq: 0n });
      const records: JournalRecord[] = [
        { type: "place", qty: 1n, price: 2n ** 100n, fee: -5n, nested: { list: [1n, "x", null, true, 1.5] } },
        { type: "note", text: "Sen — đồng ₫ 🚀 line\nbreak\ttab \"quote\" \\ \u2028 \u0000" },
        { type: "empty" },
      ];
      assert.deepEqual(records.map((r) => journal.append(r)), [1n, 2n, 3n]);
      await journal.flush();
      assert.deepEqual(await collect(journal.read()), records.map((record, i) => ({ seq: BigInt(i + 1), record })));
      await journal.close();
    });

    it("continues the sequence after reopening", async () => {
      const make = await harness.storage();
      const first = make();
      await first.open();
      for (let i = 0; i < 3; i++) first.append({ i });
      await first.flush();
      await first.close();
      const second = make();
      assert.deepEqual(await second.open(), { lastSeq: 3n });
      assert.equal(second.append({ i: 3 }), 4n);
      await second.close(); // close flushes what is buffered
      const third = make();
      assert.deepEqual(await third.open(), { lastSeq: 4n });
      assert.deepEqual((await collect(third.read())).map((e) => [e.seq, e.record.i]), [[1n, 0], [2n, 1], [3n, 2], [4n, 3]]);
      await third.close();
    });

    it("coalesces flush() calls made while a write is in flight into one write (group commit)", async () => {
      const journal = (await harness.storage())();
      await journal.open();
      journal.append({ i: 0 });
      const inFlight = journal.flush();
      const later: Promise<void>[] = [];
      for (let i = 1; i <= 100; i++) {
        journal.append({ i });
        later.push(journal.flush());
      }
      await Promise.all([inFlight, ...later]);
      const stats = journal.stats();
      assert.equal(stats.records, 101);
      assert.equal(stats.writes, 2, "one write for the first flush, one for the 100 that arrived meanwhile");
      await journal.flush(); // nothing pending: no write
      assert.equal(journal.stats().writes, 2);
      assert.equal((await collect(journal.read())).length, 101);
      await journal.close();
    });

    it("reads from the middle of the stream", async () => {
      const journal = (await harness.storage())();
      await journal.open();
      for (let i = 1; i <= 20; i++) journal.append({ i });
      await journal.flush();
      assert.deepEqual((await collect(journal.read(7n))).map((e) => e.seq), Array.from({ length: 14 }, (_, k) => BigInt(k + 7)));
      assert.deepEqual(await collect(journal.read(21n)), []);
      assert.equal((await collect(journal.read(20n)))[0].record.i, 20);
      await journal.close();
    });

    it("shows readers only flushed records", async () => {
      const journal = (await harness.storage())();
      await journal.open();
      journal.append({ i: 1 });
      await journal.flush();
      journal.append({ i: 2 });
      assert.deepEqual((await collect(journal.read())).map((e) => e.seq), [1n]);
      await journal.flush();
      assert.deepEqual((await collect(journal.read())).map((e) => e.seq), [1n, 2n]);
      await journal.close();
    });

    it("refuses appends before open and after close with JOURNAL_CLOSED", async () => {
      const journal = (await harness.storage())();
      assert.throws(() => journal.append({}), (e: unknown) => e instanceof JournalError && e.code === "JOURNAL_CLOSED");
      await journal.open();
      await journal.close();
      assert.throws(() => journal.append({}), (e: unknown) => e instanceof JournalError && e.code === "JOURNAL_CLOSED");
    });

    it("streams 50k records with bounded memory", { timeout: 60_000 }, async () => {
      const journal = (await harness.storage())();
      await journal.open();
      const pad = "x".repeat(500);
      for (let i = 1; i <= 50_000; i++) {
        journal.append({ i, amount: BigInt(i) * 10n ** 18n, pad });
        if (i % 5000 === 0) await journal.flush();
      }
      gc();
      const base = process.memoryUsage().heapUsed;
      let peak = 0;
      let expected = 1n;
      for await (const entry of journal.read()) {
        assert.equal(entry.seq, expected);
        if (entry.record.amount !== entry.seq * 10n ** 18n) assert.fail(`record ${entry.seq} differs`);
        expected += 1n;
        if (expected % 5000n === 0n) {
          gc();
          peak = Math.max(peak, process.memoryUsage().heapUsed - base);
        }
      }
      assert.equal(expected, 50_001n);
      // ~27 MB of records went by; a reader that buffered them would retain far more than this.
      assert.ok(peak < 8 * 1024 * 1024, `retained ${(peak / 1048576).toFixed(1)} MB while reading`);
      await journal.close();
    });

    if (harness.after) it("stops its backend", harness.after);
  });
}
