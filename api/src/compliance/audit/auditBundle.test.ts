import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { AuditEventInput } from "./auditEvent.ts";
import { bundleCheckpoint, bundleFileName, writeAuditBundle } from "./auditBundle.ts";
import { openAuditLog, type AuditLog } from "./auditLog.ts";
import { runAuditVerify } from "./verifyCli.ts";

const tmp = mkdtempSync(join(tmpdir(), "sen-audit-bundle-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const signingKey = generateKeyPairSync("ed25519");
const pem = signingKey.publicKey.export({ type: "spki", format: "pem" }).toString();
let dirs = 0;
const fresh = (what: string) => join(tmp, `${what}${++dirs}`);

function fill(i: number): AuditEventInput {
  // Some non-ASCII text: the tar sizes are bytes, not characters.
  return { type: "order.filled", account: `acc-${i % 5}`, symbol: "GOLD-VND", side: i % 2 ? "buy" : "sell", price: `${25_000 + i}`, qty: "1", tradeId: `t-${i}`, reason: i % 7 ? undefined : "lệnh khớp" };
}

async function logWith(n: number, checkpointsAt: number[]): Promise<AuditLog> {
  let t = BigInt(Date.parse("2026-11-23T10:00:00Z")) * 1000n;
  const log = await openAuditLog({ dir: fresh("log"), signingKey, now: () => ++t, segmentEvents: 64, checkpointEvery: { events: 1_000_000, ms: 3_600_000 } });
  for (let i = 0; i < n; i++) {
    log.append(fill(i));
    if (checkpointsAt.includes(log.size)) await log.checkpointNow();
  }
  await log.flush();
  return log;
}

async function bundleTo(log: AuditLog, toSeq?: number): Promise<{ file: string; events: number; treeSize: number }> {
  const cp = await bundleCheckpoint(log, toSeq);
  const file = join(fresh("bundle"), bundleFileName(log.origin, cp.treeSize));
  mkdirSync(join(file, ".."));
  const r = await writeAuditBundle(log, cp, createWriteStream(file), { publicKeyPem: pem });
  return { file, events: r.events, treeSize: r.checkpoint.treeSize };
}

/** Unpacked by the system's tar: the bundle is an ordinary archive, not only one our reader takes. */
function untar(file: string): string {
  const dir = fresh("unpacked");
  mkdirSync(dir);
  execFileSync("tar", ["-xf", file, "-C", dir]);
  return dir;
}

describe("audit bundle: an export as one tar stream", () => {
  it("holds exportTo's files, byte for byte for an intact log (the manifest's exportedAt aside), and verifies", async () => {
    const log = await logWith(300, [100, 200]);
    const { file, events, treeSize } = await bundleTo(log);
    assert.equal(events, 300); // a fresh checkpoint of everything appended
    assert.equal(treeSize, 300);
    assert.match(file, /sen-audit-sen\.exchange_audit-300\.tar$/);
    const exported = fresh("export");
    await log.exportTo(exported, { toSeq: 300 });
    const unpacked = untar(file);
    assert.deepEqual(readdirSync(unpacked).sort(), readdirSync(exported).sort());
    for (const f of ["events.jsonl", "checkpoints.jsonl", "checkpoint.pub", "leaves.bin"]) {
      assert.ok(readFileSync(join(unpacked, f)).equals(readFileSync(join(exported, f))), `${f} differs from exportTo's`);
    }
    const manifest = (dir: string) => {
      const { exportedAt, ...rest } = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Record<string, unknown>;
      assert.match(String(exportedAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      return rest;
    };
    assert.deepEqual(manifest(unpacked), manifest(exported));

    const ok = await runAuditVerify([file]);
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    assert.match(ok.stdout, /300 events, 3 checkpoint\(s\)/);
    await log.close();
  });

  it("toSeq is exclusive: it ends at the latest checkpoint with treeSize <= toSeq, and below the first there is nothing to bundle", async () => {
    const log = await logWith(250, [100, 200]);
    assert.equal((await bundleTo(log, 200)).treeSize, 200); // the checkpoint at exactly toSeq
    assert.equal((await bundleTo(log, 199)).treeSize, 100);
    assert.equal((await bundleTo(log, 10_000)).treeSize, 200); // no fresh checkpoint when toSeq is given
    await assert.rejects(bundleCheckpoint(log, 99), (e: Error & { code?: string }) => {
      assert.equal(e.code, "VALIDATION");
      assert.match(e.message, /toSeq 99: no signed checkpoint at or below this tree size \(toSeq is exclusive\); the first is at 100/);
      return true;
    });
    // The partial bundle verifies offline; its events end at the checkpoint.
    const { file } = await bundleTo(log, 150);
    const out = await runAuditVerify([file, "--json"]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal((JSON.parse(out.stdout) as { events: number }).events, 100);
    await log.close();
  });

  it("is written with backpressure: a slow reader gets everything, and a reader that goes away stops the writer", async () => {
    const log = await logWith(2_000, [2_000]);
    const cp = log.latestCheckpoint()!;
    const { PassThrough, Writable } = await import("node:stream");
    // A consumer that takes 16 KiB at a time with a pause: the writer must wait, not buffer the log.
    const chunks: Buffer[] = [];
    let peakBuffered = 0;
    const slow = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        peakBuffered = Math.max(peakBuffered, slow.writableLength);
        setTimeout(cb, 1);
      },
    });
    await writeAuditBundle(log, cp, slow, { publicKeyPem: pem });
    const file = join(fresh("slow"), "b.tar");
    mkdirSync(join(file, ".."));
    writeFileSync(file, Buffer.concat(chunks));
    assert.equal((await runAuditVerify([file])).code, 0);
    assert.ok(peakBuffered <= 4 << 20, `writer outran the reader: ${peakBuffered} bytes buffered`);

    const gone = new PassThrough();
    gone.once("data", () => gone.destroy());
    await assert.rejects(writeAuditBundle(log, cp, gone, { publicKeyPem: pem }));
    await log.close();
  });

  it("streams a checkpoints.jsonl over its 1 MiB chunk (thousands of checkpoints) with the size the tar header said, and verifies it line by line", async () => {
    // One checkpoint per event: ~280 bytes a line, so 4,000 lines cross a chunk boundary (a year at one per 10 s is ~3M).
    const log = await logWith(4_000, [...Array(4_000).keys()].map((i) => i + 1));
    const { file, treeSize } = await bundleTo(log, 4_000);
    assert.equal(treeSize, 4_000);
    const exported = fresh("export");
    await log.exportTo(exported, { toSeq: 4_000 });
    const unpacked = untar(file);
    const lines = readFileSync(join(unpacked, "checkpoints.jsonl"));
    assert.ok(lines.length > 1 << 20, `${lines.length} bytes`);
    assert.ok(lines.equals(readFileSync(join(exported, "checkpoints.jsonl"))), "checkpoints.jsonl differs from exportTo's");
    const ok = await runAuditVerify([file, "--json"]);
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    assert.equal((JSON.parse(ok.stdout) as { checkpoints: number }).checkpoints, 4_000);
    await log.close();
  });

  it("audit:verify refuses a file that is not a bundle with exit 2 and one line", async () => {
    const junk = join(fresh("junk"), "x.tar");
    mkdirSync(join(junk, ".."));
    writeFileSync(junk, "this is not a tar archive, just text that is long enough to fill a header block ".repeat(10));
    const bad = await runAuditVerify([junk]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^audit:verify: .*not a readable audit bundle tar.*\n$/);
    assert.equal(bad.stderr.split("\n").length, 2);

    // A tar with a path outside the export's own names is refused before anything is written.
    const dir = fresh("evil");
    mkdirSync(join(dir, "sub"), { recursive: true });
    writeFileSync(join(dir, "sub", "events.jsonl"), "x\n");
    const evil = join(dir, "evil.tar");
    execFileSync("tar", ["-cf", evil, "-C", dir, "sub/events.jsonl"]);
    const refused = await runAuditVerify([evil]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /not an audit bundle: unexpected entry "sub\/events.jsonl"/);

    // A bundle cut short (a download that broke) is an I/O error, not a verdict.
    const log = await logWith(120, [120]);
    const { file } = await bundleTo(log, 120);
    const cut = join(fresh("cut"), "cut.tar");
    mkdirSync(join(cut, ".."));
    const whole = readFileSync(file);
    writeFileSync(cut, whole.subarray(0, whole.length - 3000));
    const truncated = await runAuditVerify([cut]);
    assert.equal(truncated.code, 2, truncated.stderr + truncated.stdout);
    await log.close();
  });
});
