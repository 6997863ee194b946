import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { JournalError } from "../errors/SenError.ts";
import { createFileJournal, type FileJournalOptions } from "./fileJournal.ts";
import { collect, describeJournalBehaviour } from "./testing/journalBehaviour.ts";
import { assertAcksSurvived, runWriterAndKill } from "./testing/writerCrash.ts";
import type { FsyncPolicy } from "./types.ts";

const root = mkdtempSync(join(tmpdir(), "sen-journal-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `j${++n}`);
const segmentsOf = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".journal")).sort().map((f) => join(dir, f));

for (const fsync of ["always", "interval", "none"] as FsyncPolicy[]) {
  describeJournalBehaviour(`file journal, fsync ${fsync}`, {
    async storage() {
      const dir = freshDir();
      return () => createFileJournal({ dir, fsync, fsyncIntervalMs: 5 });
    },
  });
}
describeJournalBehaviour("file journal, 64 KiB segments", {
  async storage() {
    const dir = freshDir();
    return () => createFileJournal({ dir, fsync: "none", segmentBytes: 64 * 1024 });
  },
});

async function writeRecords(options: FileJournalOptions, count: number): Promise<void> {
  const journal = createFileJournal(options);
  await journal.open();
  for (let i = 1; i <= count; i++) {
    journal.append({ i, v: BigInt(i) });
    await journal.flush();
  }
  await journal.close();
}

const isCorrupt = (seq: string) => (e: unknown) => e instanceof JournalError && e.code === "JOURNAL_CORRUPT" && e.details?.seq === seq;

describe("file journal: on-disk integrity", () => {
  it("fsyncs once per write with fsync always, never with fsync none", async () => {
    for (const [fsync, perWrite] of [["always", 1], ["none", 0]] as const) {
      const journal = createFileJournal({ dir: freshDir(), fsync });
      await journal.open();
      for (let i = 0; i < 10; i++) {
        journal.append({ i });
        await journal.flush();
      }
      assert.deepEqual([journal.stats().writes, journal.stats().fsyncs], [10, 10 * perWrite]);
      // Every write's time until acknowledged is counted: each took some, none took seconds.
      assert.ok(journal.stats().commitMs > 0 && journal.stats().commitMs < 10 * 5000, `commitMs ${journal.stats().commitMs}`);
      await journal.close();
    }
  });

  it("with fsync interval, fsyncs at most about once per interval", async () => {
    const journal = createFileJournal({ dir: freshDir(), fsync: "interval", fsyncIntervalMs: 1000 });
    await journal.open();
    const started = Date.now();
    for (let i = 0; i < 50; i++) {
      journal.append({ i });
      await journal.flush();
    }
    assert.equal(journal.stats().writes, 50);
    const allowed = 1 + Math.floor((Date.now() - started) / 1000); // one per elapsed interval, however slow the machine
    assert.ok(journal.stats().fsyncs <= allowed, `fsyncs ${journal.stats().fsyncs}, allowed ${allowed}`);
    await journal.close(); // close fsyncs what is outstanding
  });

  it("cuts away a torn last record (garbage half-record), keeps it aside, and continues the sequence", async () => {
    const dir = freshDir();
    await writeRecords({ dir, fsync: "always" }, 5);
    const [segment] = segmentsOf(dir);
    const goodSize = statSync(segment).size;
    appendFileSync(segment, '6\t0badc0de\t{"i":6,"v":{"$bi');
    const repairs: unknown[] = [];
    const journal = createFileJournal({ dir, fsync: "always", onRepair: (r) => repairs.push(r) });
    assert.deepEqual(await journal.open(), { lastSeq: 5n });
    assert.equal(statSync(segment).size, goodSize);
    assert.equal(repairs.length, 1);
    assert.equal(readFileSync(`${segment}.torn-${goodSize}`, "utf8"), '6\t0badc0de\t{"i":6,"v":{"$bi');
    assert.equal(journal.append({ i: 6, v: 6n }), 6n);
    await journal.flush();
    assert.deepEqual((await collect(journal.read())).map((e) => e.record.v), [1n, 2n, 3n, 4n, 5n, 6n]);
    await journal.close();
  });

  it("cuts away a last record truncated by a few bytes", async () => {
    const dir = freshDir();
    await writeRecords({ dir, fsync: "always" }, 5);
    const [segment] = segmentsOf(dir);
    truncateSync(segment, statSync(segment).size - 3);
    const journal = createFileJournal({ dir, fsync: "always" });
    assert.deepEqual(await journal.open(), { lastSeq: 4n });
    assert.equal(journal.append({ i: 5 }), 5n);
    await journal.close();
  });

  it("reports a flipped byte in the middle as JOURNAL_CORRUPT naming the seq and offset", async () => {
    const dir = freshDir();
    await writeRecords({ dir, fsync: "none" }, 10);
    const [segment] = segmentsOf(dir);
    const bytes = readFileSync(segment);
    const lines = bytes.toString("latin1").split("\n");
    const offset = lines.slice(0, 4).join("\n").length + 1 + lines[4].indexOf('"i"') + 1; // inside record 5's JSON
    bytes[offset] ^= 0x01;
    writeFileSync(segment, bytes);
    await assert.rejects(createFileJournal({ dir, fsync: "none" }).open(), (e: unknown) => {
      assert.ok(isCorrupt("5")(e), String(e));
      assert.equal((e as JournalError).details?.offset, lines.slice(0, 4).join("\n").length + 1);
      return true;
    });
  });

  it("reports damage to a sealed segment's last record as JOURNAL_CORRUPT", async () => {
    const dir = freshDir();
    await writeRecords({ dir, fsync: "none", segmentBytes: 200 }, 30);
    const segments = segmentsOf(dir);
    assert.ok(segments.length > 3, `${segments.length} segments`);
    truncateSync(segments[1], statSync(segments[1]).size - 2);
    await assert.rejects(createFileJournal({ dir, fsync: "none" }).open(), (e: unknown) => e instanceof JournalError && e.code === "JOURNAL_CORRUPT");
  });

  it("reports a missing segment as JOURNAL_CORRUPT", async () => {
    const dir = freshDir();
    await writeRecords({ dir, fsync: "none", segmentBytes: 200 }, 30);
    rmSync(segmentsOf(dir)[1]);
    await assert.rejects(createFileJournal({ dir, fsync: "none" }).open(), (e: unknown) => e instanceof JournalError && e.code === "JOURNAL_CORRUPT");
  });

  it("names segments after their first seq and reads across them from any seq", async () => {
    const dir = freshDir();
    await writeRecords({ dir, fsync: "none", segmentBytes: 200 }, 30);
    const names = segmentsOf(dir).map((p) => p.slice(dir.length + 1));
    assert.equal(names[0], "00000000000000000001.journal");
    const journal = createFileJournal({ dir, fsync: "none", segmentBytes: 200 });
    assert.deepEqual(await journal.open(), { lastSeq: 30n });
    for (const from of [1n, 7n, 13n, 29n, 30n]) {
      assert.deepEqual((await collect(journal.read(from))).map((e) => e.seq), Array.from({ length: 31 - Number(from) }, (_, k) => from + BigInt(k)));
    }
    await journal.close();
  });

  it("property: after a crash at any byte, reopening yields a prefix of the appends that holds every flushed record", async () => {
    const record = fc.record({ s: fc.string({ maxLength: 40, unit: "grapheme" }), v: fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }) }, { noNullPrototype: true });
    // What the runs exercised: a crash that lost records, and appends spread over several segments.
    const seen = { lost: 0, multiSegment: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(record, { minLength: 1, maxLength: 6, size: "max" }), { minLength: 1, maxLength: 6, size: "max" }),
        fc.nat(),
        fc.nat({ max: 600 }),
        async (batches, crashSeed, zeros) => {
          const dir = freshDir();
          const journal = createFileJournal({ dir, fsync: "none", segmentBytes: 300 });
          await journal.open();
          const appended: unknown[] = [];
          const flushed: { size: number; count: number }[] = [];
          for (const batch of batches) {
            for (const r of batch) {
              journal.append(r);
              appended.push(r);
            }
            await journal.flush();
            flushed.push({ size: segmentsOf(dir).reduce((s, p) => s + statSync(p).size, 0), count: appended.length });
          }
          await journal.close();
          // The crash: the newest segment loses everything after a random byte (maybe with a
          // run of zeros where unwritten blocks were, as after a power loss on ext4).
          const segments = segmentsOf(dir);
          if (segments.length > 1) seen.multiSegment++;
          const last = segments[segments.length - 1];
          const before = segments.slice(0, -1).reduce((s, p) => s + statSync(p).size, 0);
          const cut = crashSeed % (statSync(last).size + 1);
          truncateSync(last, cut);
          if (zeros > 0) appendFileSync(last, Buffer.alloc(zeros));
          const crashAt = before + cut;
          const reopened = createFileJournal({ dir, fsync: "none", segmentBytes: 300 });
          const { lastSeq } = await reopened.open();
          const mustHave = flushed.filter((f) => f.size <= crashAt).reduce((m, f) => Math.max(m, f.count), 0);
          assert.ok(lastSeq >= BigInt(mustHave), `lost flushed records: lastSeq ${lastSeq}, flushed ${mustHave}`);
          assert.deepEqual((await collect(reopened.read())).map((e) => e.record), appended.slice(0, Number(lastSeq)));
          if (lastSeq < BigInt(appended.length)) seen.lost++;
          assert.equal(reopened.append({ after: true }), lastSeq + 1n);
          await reopened.close();
          rmSync(dir, { recursive: true, force: true });
        },
      ),
      { numRuns: 60 },
    );
    assert.ok(seen.lost >= 5 && seen.multiSegment >= 5, `the runs exercised too little: ${JSON.stringify(seen)}`);
  });
});

describe("file journal: kill -9 of the writer process", () => {
  for (const fsync of ["always", "none"] as const) {
    it(`keeps every acknowledged record (fsync ${fsync})`, { timeout: 30_000 }, async () => {
      const dir = freshDir();
      const acks = await runWriterAndKill(["file", dir, fsync], 400);
      assert.ok(acks.length >= 400);
      await assertAcksSurvived(createFileJournal({ dir, fsync }), acks);
    });
  }
});
