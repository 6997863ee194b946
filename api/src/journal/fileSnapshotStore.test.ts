import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { crc32 } from "node:zlib";
import { createFileSnapshotStore } from "./fileSnapshotStore.ts";
import { encodeJson, keepEncoded } from "./jsonCodec.ts";

const root = mkdtempSync(join(tmpdir(), "sen-snap-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `s${++n}`);
/** Flips a bit `fromEnd` bytes before the end of the file (inside the JSON body). */
const flip = (file: string, fromEnd: number) => {
  const bytes = readFileSync(file);
  bytes[bytes.length - fromEnd] ^= 0x20;
  writeFileSync(file, bytes);
};

describe("file snapshot store", () => {
  it("returns null when there is no snapshot", async () => {
    assert.equal(await createFileSnapshotStore({ dir: freshDir() }).load(), null);
  });

  it("round-trips the latest snapshot with bigints and keeps the previous one", async () => {
    const dir = freshDir();
    const store = createFileSnapshotStore({ dir });
    await store.save(10n, { balances: { alice: 10n ** 30n }, note: "đồng" });
    await store.save(20n, { balances: { alice: 5n }, note: "₫" });
    await store.save(30n, { balances: { alice: 1n }, list: [1n, null] });
    assert.deepEqual(await store.load(), { seq: 30n, state: { balances: { alice: 1n }, list: [1n, null] } });
    assert.deepEqual(readdirSync(dir).sort(), ["snapshot-00000000000000000020.snap", "snapshot-00000000000000000030.snap"]);
  });

  it("writes encodeJson's bytes, also when it needs more body chunks than before, fewer, or a piece outgrows a chunk", async () => {
    const dir = freshDir();
    const store = createFileSnapshotStore({ dir });
    const kept = Array.from({ length: 300 }, (_, i) => keepEncoded({ id: `o${i}`, note: i % 7 === 0 ? "phí ₫ 😀" : "fee", n: i }));
    const big = { core: { orders: kept, fills: [["acct", kept.slice(0, 90)]], text: "x".repeat(3 << 20), more: ["y".repeat(3 << 20), "₫".repeat(2 << 20)], huge: "z".repeat(5 << 20), amount: 10n ** 25n }, parts: { "đồng": [1n, null, "₫"] } };
    const small = { core: { orders: kept.slice(0, 70), amount: -5n }, note: "ü" };
    for (const [seq, state] of [[1n, small], [2n, big], [3n, small], [4n, big]] as const) {
      await store.save(seq, state);
      const bytes = readFileSync(join(dir, `snapshot-${seq.toString().padStart(20, "0")}.snap`));
      const body = Buffer.from(encodeJson(state), "utf8");
      const header = `SENSNAP1\t${seq}\t${crc32(body).toString(16).padStart(8, "0")}\t${body.length}\n`;
      assert.ok(bytes.equals(Buffer.concat([Buffer.from(header, "latin1"), body])), `snapshot ${seq}`);
    }
  });

  it("falls back to the previous snapshot when the latest is corrupt, then to null", async () => {
    const dir = freshDir();
    const corrupt: string[] = [];
    const store = createFileSnapshotStore({ dir, onCorrupt: (file, e) => corrupt.push(`${file}:${e.code}`) });
    await store.save(1n, { v: 1n });
    await store.save(2n, { v: 2n });
    flip(join(dir, "snapshot-00000000000000000002.snap"), 4);
    assert.deepEqual(await store.load(), { seq: 1n, state: { v: 1n } });
    assert.deepEqual(corrupt, [`${join(dir, "snapshot-00000000000000000002.snap")}:JOURNAL_CORRUPT`]);
    writeFileSync(join(dir, "snapshot-00000000000000000001.snap"), readFileSync(join(dir, "snapshot-00000000000000000001.snap")).subarray(0, 30));
    assert.equal(await store.load(), null);
  });

  it("ignores a temp file left by a crash mid-save", async () => {
    const dir = freshDir();
    const store = createFileSnapshotStore({ dir });
    await store.save(5n, { ok: true });
    writeFileSync(join(dir, ".snapshot.tmp"), "SENSNAP1\t6\t");
    assert.deepEqual(await store.load(), { seq: 5n, state: { ok: true } });
    await store.save(6n, { ok: 6n });
    assert.deepEqual(await store.load(), { seq: 6n, state: { ok: 6n } });
  });
});
