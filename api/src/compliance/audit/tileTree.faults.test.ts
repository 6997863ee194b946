import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openAuditLog, segmentFileName } from "./auditLog.ts";
import type { AuditLog, AuditLogOptions, AuditRepair } from "./auditLog.ts";
import { AuditError } from "./errors.ts";
import { leafHash, MerkleTree, toHex } from "./merkle.ts";
import { TILE_BYTES, TILES_DIR, tileFileName } from "./tileTree.ts";

const tmp = mkdtempSync(join(tmpdir(), "sen-tiles-faults-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const signingKey = generateKeyPairSync("ed25519");
let dirs = 0;

const SEGMENT = 20_000;
const EVENTS = 70_000; // 3.5 segments, 273 leaf tiles, one level-1 tile
const options = (dir: string, extra: Partial<AuditLogOptions> = {}): AuditLogOptions => ({
  dir,
  signingKey,
  segmentEvents: SEGMENT,
  fsync: "batch",
  checkpointEvery: { events: 1_000_000, ms: 3_600_000 },
  ...extra,
});
const tile = (dir: string, level: number) => join(dir, TILES_DIR, tileFileName(level));

let original = "";
let originalRoot = "";

/** A copy of the 70,000-event log written once by the suite. */
function copyOfLog(): string {
  const dir = join(tmp, `copy${++dirs}`);
  cpSync(original, dir, { recursive: true });
  return dir;
}

async function openRecording(dir: string, extra: Partial<AuditLogOptions> = {}): Promise<{ log: AuditLog; repairs: AuditRepair[] }> {
  const repairs: AuditRepair[] = [];
  const log = await openAuditLog(options(dir, { ...extra, onRepair: (r) => repairs.push(r) }));
  return { log, repairs };
}

/** The tree of the stored lines, from scratch. */
async function referenceTree(log: AuditLog): Promise<MerkleTree> {
  const t = new MerkleTree();
  for await (const { seq, line } of log.read()) {
    assert.equal(seq, t.size);
    t.append(leafHash(Buffer.from(line)));
  }
  return t;
}

/** Same-length edit of the line of `seq` (a digit of its qty changes). */
function editLine(dir: string, seq: number): void {
  const first = Math.floor(seq / SEGMENT) * SEGMENT;
  const path = join(dir, segmentFileName(first));
  const rows = readFileSync(path, "utf8").split("\n");
  const row = rows[seq - first];
  const edited = row.replace(/"qty":"(\d)/, (_, d: string) => `"qty":"${(Number(d) + 1) % 10}`);
  assert.notEqual(edited, row);
  rows[seq - first] = edited;
  writeFileSync(path, rows.join("\n"));
}

describe("audit log tiles: faults", () => {
  before(async () => {
    original = join(tmp, "original");
    const log = await openAuditLog(options(original));
    for (let i = 0; i < EVENTS; i++) {
      log.append({ type: "order.received", account: `a${i % 13}`, orderId: `o-${i}`, qty: String(i % 977) });
      if ((i + 1) % 1_000 === 0) await log.flush();
    }
    await log.close(); // checkpoint at 70,000
    originalRoot = log.latestCheckpoint()!.root;
  });

  it("a reopened intact log reports no repair, gives the signed root, and leaves its tiles as written (one 8 KiB tile per 256 events, written once)", async () => {
    const dir = copyOfLog();
    const sizes = [0, 1].map((l) => statSync(tile(dir, l)).size);
    assert.deepEqual(sizes, [Math.floor(EVENTS / 256) * TILE_BYTES, TILE_BYTES]);
    const { log, repairs } = await openRecording(dir);
    assert.deepEqual(repairs, []);
    assert.equal(log.size, EVENTS);
    assert.equal(log.inclusionProof(0, EVENTS).root, originalRoot);
    await log.close();
    assert.deepEqual([0, 1].map((l) => statSync(tile(dir, l)).size), sizes);
  });

  it("a deleted tile file is rebuilt from the events and reported; the next open needs no repair", async () => {
    const dir = copyOfLog();
    const level0 = readFileSync(tile(dir, 0));
    const level1 = readFileSync(tile(dir, 1));
    rmSync(tile(dir, 0));
    rmSync(tile(dir, 1));
    const { log, repairs } = await openRecording(dir);
    assert.equal(repairs.length, 1, JSON.stringify(repairs));
    assert.match((repairs[0] as { rebuilt: string }).rebuilt, /tiles missing: level 0 tiles 0\.\.272, level 1 tiles 0\.\.0 rebuilt from the events/);
    assert.equal(log.inclusionProof(0, EVENTS).root, originalRoot);
    await log.close();
    assert.ok(readFileSync(tile(dir, 0)).equals(level0));
    assert.ok(readFileSync(tile(dir, 1)).equals(level1));
    const again = await openRecording(dir);
    assert.deepEqual(again.repairs, []);
    await again.log.close();
  });

  it("a corrupted level-1 tile is found by the signed root at open and rebuilt from level 0", async () => {
    const dir = copyOfLog();
    const good = readFileSync(tile(dir, 1));
    const bad = Buffer.from(good);
    bad[5 * 32 + 3] ^= 0x40;
    writeFileSync(tile(dir, 1), bad);
    const { log, repairs } = await openRecording(dir);
    assert.deepEqual(repairs, [{ file: join(dir, TILES_DIR), rebuilt: "tiles do not hash to the signed root: level 1 tiles 0..0 rebuilt from the events" }]);
    assert.equal(log.inclusionProof(0, EVENTS).root, originalRoot);
    await log.close();
    assert.ok(readFileSync(tile(dir, 1)).equals(good));
  });

  it("a corrupted leaf tile is found when first used (it does not hash to its parent), rebuilt from the events and reported; proofs stay right", async () => {
    const dir = copyOfLog();
    const good = readFileSync(tile(dir, 0));
    const bad = Buffer.from(good);
    bad[100 * TILE_BYTES + 77] ^= 0x40; // tile 100: leaves 25,600..25,855, not read by an open
    writeFileSync(tile(dir, 0), bad);
    const { log, repairs } = await openRecording(dir);
    assert.deepEqual(repairs, []);
    const reference = await referenceTree(log);
    assert.equal(toHex(reference.root()), originalRoot);
    assert.deepEqual(log.inclusionProof(25_631, 60_001).proof, reference.inclusionProof(25_631, 60_001).map(toHex));
    assert.deepEqual(log.consistencyProof(25_700, EVENTS).proof, reference.consistencyProof(25_700, EVENTS).map(toHex));
    assert.deepEqual(repairs, [{ file: join(dir, TILES_DIR), rebuilt: "level 0 tile 100 did not hash to its parent: rebuilt from the events" }]);
    await log.close();
    assert.ok(readFileSync(tile(dir, 0)).equals(good));
  });

  it("a leaf tile and its events edited alike (the tile rehashed to match) fail against the parent: AUDIT_TAMPERED, not a wrong proof", async () => {
    const dir = copyOfLog();
    editLine(dir, 25_631);
    const edited = readFileSync(join(dir, segmentFileName(20_000)), "utf8").split("\n")[5_631];
    const leaves = readFileSync(tile(dir, 0));
    leafHash(Buffer.from(edited)).copy(leaves, 25_631 * 32);
    writeFileSync(tile(dir, 0), leaves);
    const { log } = await openRecording(dir);
    // the open reads neither; the first proof through that tile finds the events no longer hash to the verified tree
    assert.throws(() => log.inclusionProof(25_631, EVENTS), (e: unknown) => e instanceof AuditError && e.code === "AUDIT_TAMPERED" && /do not hash to the tree verified at open/.test(e.message));
    await log.close().catch(() => {});
  });

  it("an edited event is refused (AUDIT_TAMPERED): among the newest lines by a normal open, anywhere by a full verification", async () => {
    // the tail (after the last leaf tile) and the newest leaf tile, hashed at every open
    for (const seq of [EVENTS - 3, Math.floor(EVENTS / 256) * 256 - 10]) {
      const dir = copyOfLog();
      editLine(dir, seq);
      await assert.rejects(openAuditLog(options(dir)), (e: unknown) => e instanceof AuditError && e.code === "AUDIT_TAMPERED" && /modified on disk/.test(e.message));
    }
    // an edit that changes a line's length in an old segment moves the segment's end: the open re-reads that segment and compares it with the tiles
    {
      const dir = copyOfLog();
      const path = join(dir, segmentFileName(20_000));
      const rows = readFileSync(path, "utf8").split("\n");
      rows[4_321] = rows[4_321].replace(/"qty":"(\d+)"/, '"qty":"$1$1"');
      writeFileSync(path, rows.join("\n"));
      const repairs: AuditRepair[] = [];
      await assert.rejects(
        openAuditLog(options(dir, { onRepair: (r) => repairs.push(r) })),
        (e: unknown) => e instanceof AuditError && e.code === "AUDIT_TAMPERED" && /the event of seq 24321 does not hash to the tree of the signed checkpoint at 70000/.test(e.message),
      );
      assert.deepEqual(repairs.map((r) => (r as { rebuilt: string }).rebuilt), ["line offsets did not match the segment: rewritten"]);
    }
    // a same-length edit in an old segment is not read by a normal open (that is its point); the auditor's full verification reads it
    const dir = copyOfLog();
    editLine(dir, 1_234);
    const fast = await openAuditLog(options(dir));
    await fast.close();
    await assert.rejects(
      openAuditLog(options(dir, { verify: "full" })),
      (e: unknown) => e instanceof AuditError && e.code === "AUDIT_TAMPERED" && /the first 70000 events hash to/.test(e.message),
    );
  });

  it("a full verification of an intact log re-reads everything and finds nothing to repair", async () => {
    const dir = copyOfLog();
    const { log, repairs } = await openRecording(dir, { verify: "full" });
    assert.deepEqual(repairs, []);
    assert.equal(log.inclusionProof(0, EVENTS).root, originalRoot);
    await log.close();
  });

  it("a log written without tiles or offsets (the earlier format) is migrated once, then opens from its tiles", async () => {
    const dir = copyOfLog();
    rmSync(join(dir, TILES_DIR), { recursive: true });
    for (const f of readdirSync(dir)) if (f.endsWith(".offsets")) rmSync(join(dir, f));
    const first = await openRecording(dir);
    const said = first.repairs.map((r) => `${r.file.slice(dir.length + 1)}: ${(r as { rebuilt: string }).rebuilt}`);
    assert.deepEqual(said, [
      ...[0, 20_000, 40_000, 60_000].map((s) => `${segmentFileName(s).replace(".jsonl", ".offsets")}: line offsets were missing: written`),
      `${TILES_DIR}: tiles missing: level 0 tiles 0..272, level 1 tiles 0..0 rebuilt from the events`,
    ]);
    assert.equal(first.log.inclusionProof(0, EVENTS).root, originalRoot);
    await first.log.close();
    for (const s of [0, 20_000, 40_000, 60_000]) assert.ok(existsSync(join(dir, segmentFileName(s).replace(".jsonl", ".offsets"))));
    const second = await openRecording(dir);
    assert.deepEqual(second.repairs, []);
    assert.equal(second.log.inclusionProof(0, EVENTS).root, originalRoot);
    await second.log.close();
  });

  it("a wrong offsets file of a completed segment is caught by the next read of it, rebuilt from the segment and reported", async () => {
    const dir = copyOfLog();
    const idx = join(dir, segmentFileName(20_000).replace(".jsonl", ".offsets"));
    const bytes = readFileSync(idx);
    bytes.writeDoubleLE(bytes.readDoubleLE(500 * 8) + 3, 500 * 8); // line 20,501 said to start 3 bytes late
    writeFileSync(idx, bytes);
    const { log, repairs } = await openRecording(dir);
    assert.deepEqual(repairs, []); // the file still ends where the segment does: only a read can tell
    const got: string[] = [];
    for await (const { seq, line } of log.read(20_499, 20_503)) got.push(`${seq}:${line.slice(0, 13)}`);
    assert.deepEqual(got, ["20499:{\"seq\":20499,", "20500:{\"seq\":20500,", "20501:{\"seq\":20501,", "20502:{\"seq\":20502,"]);
    assert.deepEqual(repairs, [{ file: idx, rebuilt: "line offsets did not match the segment: rewritten" }]);
    const reference = await referenceTree(log);
    assert.equal(toHex(reference.root()), originalRoot);
    await log.close();
  });

  it("kill -9 of a writer mid-append: the reopened log keeps every acknowledged event, verifies, and its tiles equal a tree from scratch", { timeout: 60_000 }, async () => {
    const dir = join(tmp, `crash${++dirs}`);
    const key = signingKey.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const child = spawn(process.execPath, [join(import.meta.dirname, "tileTree.crashWriter.ts"), dir, "7000"], { env: { ...process.env, SEN_TEST_AUDIT_KEY: key }, stdio: ["ignore", "pipe", "inherit"] });
    let durable = 0;
    let checkpointed = 0;
    let rest = "";
    const killed = new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        const text = rest + chunk.toString();
        const lines = text.split("\n");
        rest = lines.pop()!;
        for (const l of lines) {
          const [what, n] = l.split(" ");
          if (what === "durable") durable = Number(n);
          if (what === "checkpoint") checkpointed = Number(n);
        }
        // killed somewhere in the middle of an append batch, past a few segments and a level-1 tile
        if (durable >= 70_000 && checkpointed >= 66_000 && child.exitCode === null && !child.killed) setTimeout(() => child.kill("SIGKILL"), Math.floor(Math.random() * 5));
      });
      child.on("exit", (code, signal) => (signal === "SIGKILL" ? resolve() : reject(new Error(`writer exited with ${code}`))));
    });
    await killed;
    const { log } = await openRecording(dir, { segmentEvents: 7_000 });
    assert.ok(log.size >= durable, `reopened with ${log.size} events, ${durable} were acknowledged`);
    assert.ok(log.latestCheckpoint()!.treeSize >= checkpointed);
    const reference = await referenceTree(log);
    for (const m of [checkpointed, log.size, 65_536, 65_537, 12_345]) {
      assert.equal(log.inclusionProof(0, m).root, toHex(reference.root(m)), `root at ${m}`);
      assert.deepEqual(log.consistencyProof(m - 1, log.size).proof, reference.consistencyProof(m - 1, log.size).map(toHex));
    }
    // it goes on appending at the right seq, and a full verification agrees with the tiles
    assert.equal(log.append({ type: "order.received", account: "after" }).seq, reference.size);
    await log.close();
    const full = await openAuditLog(options(dir, { segmentEvents: 7_000, verify: "full" }));
    assert.equal(full.size, reference.size + 1);
    await full.close();
  });
});
