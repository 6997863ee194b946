/**
 * npm run bench:audit   (SEN_BENCH_QUICK=1 for a 20k-event smoke run that does not touch BENCHMARKS.md)
 *
 * Measures the audit log (api/src/compliance/audit/auditLog.ts) and writes the "audit" section of
 * BENCHMARKS.md:
 *  (a) appends/s with the Merkle tree and signed checkpoints on (fsync "batch": flush = one
 *      write + fdatasync every 1,000 appends; a checkpoint every 10,000 events), against a
 *      baseline in the same run: the same events given seq/id/ts and canonically encoded the
 *      same way, appended to a plain file with the same write + fdatasync every 1,000 lines;
 *  (b) inclusion proof generation and verification at the full size (10,000 random proofs);
 *  (c) export rate of the whole log (events.jsonl + leaves.bin + checkpoints);
 *  (d) reopen time from the tiles and offsets (api/src/compliance/audit/tileTree.ts), and with
 *      verify: "full" (every segment re-read, the tree rebuilt), at the size of (a);
 *  (e) reopen time and memory at SEN_BENCH_AUDIT_REOPEN_EVENTS (default 100,000,000; 0 skips
 *      it) events: a log of small events (~130-byte lines, ~17 GB with its tiles and offsets)
 *      written in the log's own format by a fast path (segments, offsets files, tiles from
 *      TiledTree, one signed checkpoint) under the temp dir, opened in a child process, deleted.
 * Each is repeated 5 times (fresh directory each time for (a)); medians are reported. Reopens
 * of (d) and (e) run in a fresh child process each (`--reopen <dir>`), which also reports its
 * memory after the open.
 */
import { spawnSync } from "node:child_process";
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID } from "node:crypto";
import { closeSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AuditEventInput } from "../../api/src/compliance/audit/auditEvent.ts";
import { encodeAuditEvent, isoMicros } from "../../api/src/compliance/audit/auditEvent.ts";
import { AUDIT_DEFAULT_ORIGIN, CHECKPOINTS_FILE, openAuditLog, segmentFileName } from "../../api/src/compliance/audit/auditLog.ts";
import type { AuditLog } from "../../api/src/compliance/audit/auditLog.ts";
import { signCheckpoint } from "../../api/src/compliance/audit/checkpoint.ts";
import { fromHex, toHex, verifyInclusion } from "../../api/src/compliance/audit/merkle.ts";
import { TiledTree } from "../../api/src/compliance/audit/tileTree.ts";
import { mulberry32 } from "../../api/test/support/mulberry32.ts";
import { workload } from "./auditWorkload.ts";
import { machineLine, writeBenchmarkSection } from "./benchmarksFile.ts";

const QUICK = process.env.SEN_BENCH_QUICK === "1";
const N = QUICK ? 20_000 : 1_000_000;
const REPEATS = 5;
const FLUSH_EVERY = 1_000;
const CHECKPOINT_EVERY = 10_000;
const PROOFS = 10_000;
const WRITE = !QUICK && process.env.BENCH_WRITE !== "0";
const BIG = Number(process.env.SEN_BENCH_AUDIT_REOPEN_EVENTS ?? (QUICK ? 2_000_000 : 100_000_000));
const SEGMENT_EVENTS = 1_000_000;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e4 ? `${Math.round(x / 1e3)}k` : x.toFixed(x < 10 ? 2 : 0));
const signingKey = generateKeyPairSync("ed25519");
const CHILD = process.argv[2] === "--reopen";
const root = CHILD ? "" : mkdtempSync(join(tmpdir(), "sen-bench-audit-"));
let dirs = 0;

async function senAppends(events: AuditEventInput[]): Promise<{ perSec: number; log: AuditLog; dir: string; checkpoints: number }> {
  const dir = join(root, `sen${++dirs}`);
  const log = await openAuditLog({ dir, signingKey, fsync: "batch", checkpointEvery: { events: CHECKPOINT_EVERY, ms: 3_600_000 } });
  const t0 = performance.now();
  for (let i = 0; i < events.length; i++) {
    log.append(events[i]);
    if ((i + 1) % FLUSH_EVERY === 0) await log.flush();
  }
  await log.flush();
  const ms = performance.now() - t0;
  return { perSec: (events.length / ms) * 1000, log, dir, checkpoints: log.checkpoints().length };
}

/** Baseline: the same seq/id/ts assignment and canonical encoding, written to a plain file with the same fsync pattern. */
async function plainAppends(events: AuditEventInput[]): Promise<number> {
  const path = join(root, `plain${++dirs}.jsonl`);
  const fd = openSync(path, "a");
  const wallAtStart = BigInt(Date.now()) * 1000n;
  const hr0 = process.hrtime.bigint();
  let pending: Buffer[] = [];
  let bytes = 0;
  const t0 = performance.now();
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    const line = Buffer.from(`${encodeAuditEvent({ ...e, seq: i, id: randomUUID(), ts: isoMicros(wallAtStart + (process.hrtime.bigint() - hr0) / 1000n) })}\n`);
    pending.push(line);
    bytes += line.length;
    if ((i + 1) % FLUSH_EVERY === 0 || i === events.length - 1) {
      const buf = Buffer.concat(pending, bytes);
      for (let done = 0; done < buf.length; ) done += writeSync(fd, buf, done);
      fdatasyncSync(fd);
      pending = [];
      bytes = 0;
      // The log's flush is async; yield once per batch as it does, to keep the event loop comparable.
      await new Promise<void>((r) => setImmediate(r));
    }
  }
  const ms = performance.now() - t0;
  closeSync(fd);
  rmSync(path);
  return (events.length / ms) * 1000;
}

type Reopen = { ms: number; rssMiB: number; heapMiB: number; size: number };

/** In a fresh process: open the log at `dir` (key in SEN_BENCH_AUDIT_KEY), print time and memory as JSON. */
async function reopenChild(dir: string, verify: "fast" | "full"): Promise<void> {
  const privateKey = createPrivateKey(process.env.SEN_BENCH_AUDIT_KEY!);
  const t0 = performance.now();
  const log = await openAuditLog({ dir, verify, signingKey: { privateKey, publicKey: createPublicKey(privateKey) }, checkpointEvery: { events: CHECKPOINT_EVERY, ms: 3_600_000 } });
  const ms = performance.now() - t0;
  const m = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ ms, rssMiB: m.rss / 2 ** 20, heapMiB: (m.heapUsed + m.external) / 2 ** 20, size: log.size } satisfies Reopen)}\n`);
}

function reopenInChild(dir: string, verify: "fast" | "full" = "fast"): Reopen {
  const key = signingKey.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const r = spawnSync(process.execPath, [new URL(import.meta.url).pathname, "--reopen", dir, verify], { env: { ...process.env, SEN_BENCH_AUDIT_KEY: key }, encoding: "utf8", maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`reopen of ${dir} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Reopen;
}

/**
 * A log of `n` small events written straight in the log's format (what append + flush +
 * close would leave, minus the intermediate checkpoints): canonical lines `{"seq","id","ts",
 * "type","account"}` in segments of 1,000,000, each segment's offsets file, the tiles
 * (TiledTree, as the log writes them), one signed checkpoint at n.
 */
function writeBigLog(dir: string, n: number): number {
  mkdirSync(dir, { recursive: true });
  const tree = new TiledTree(dir, {
    readLeaves: () => {
      throw new Error("not while generating");
    },
    onRepair: () => {},
  });
  tree.open(0);
  const t0 = BigInt(Date.parse("2026-01-01T00:00:00Z")) * 1000n;
  const BATCH = 10_000;
  let bytesTotal = 0;
  for (let first = 0; first < n; first += SEGMENT_EVENTS) {
    const count = Math.min(SEGMENT_EVENTS, n - first);
    const path = join(dir, segmentFileName(first));
    const fd = openSync(path, "w");
    const idx = openSync(path.replace(/\.jsonl$/, ".offsets"), "w");
    let pos = 0;
    for (let b = 0; b < count; b += BATCH) {
      const m = Math.min(BATCH, count - b);
      const lines: string[] = [];
      const offsets = new Float64Array(m);
      const ts = isoMicros(t0 + BigInt(first + b) * 7n); // one per batch: formatting a time per line would double the generation time
      for (let k = 0; k < m; k++) {
        const seq = first + b + k;
        // the canonical encoding, spelled out (checked against encodeAuditEvent below): ASCII, so chars = bytes
        const line = `{"seq":${seq},"id":"${randomUUID()}","ts":"${ts}","type":"auth.login","account":"acc-${seq % 1000}"}`;
        if (seq === 0 && line !== encodeAuditEvent(JSON.parse(line))) throw new Error("generated line is not canonical");
        lines.push(line);
        pos += line.length + 1;
        offsets[k] = pos;
      }
      const buf = Buffer.from(`${lines.join("\n")}\n`, "latin1");
      let at = 0;
      for (const line of lines) {
        tree.pushLeaf(buf.subarray(at, at + line.length));
        at += line.length + 1;
      }
      for (let done = 0; done < buf.length; ) done += writeSync(fd, buf, done);
      writeSync(idx, Buffer.from(offsets.buffer));
      tree.writeCompleted(first + b + m);
    }
    fdatasyncSync(fd);
    fdatasyncSync(idx);
    closeSync(fd);
    closeSync(idx);
    bytesTotal += pos;
    if ((first / SEGMENT_EVENTS) % 10 === 9) console.log(`  generated ${(first + count).toLocaleString("en")} events`);
  }
  tree.sync();
  const cp = signCheckpoint({ origin: AUDIT_DEFAULT_ORIGIN, treeSize: n, root: toHex(tree.root(n)), time: isoMicros(t0 + BigInt(n) * 7n) }, signingKey.privateKey);
  tree.close();
  writeFileSync(join(dir, CHECKPOINTS_FILE), `${JSON.stringify(cp)}\n`, { flush: true });
  return bytesTotal;
}

async function main(): Promise<void> {
  console.log(`audit bench: ${N.toLocaleString("en")} events, ${REPEATS} repeats${QUICK ? " (quick)" : ""}`);
  const events = workload(N);
  const avgLine = events.slice(0, 1000).reduce((s, e) => s + encodeAuditEvent({ ...e, seq: 0, id: randomUUID(), ts: isoMicros(0n) }).length + 1, 0) / 1000;

  // (a) appends, interleaved with the baseline
  const sen: number[] = [];
  const plain: number[] = [];
  let kept: { log: AuditLog; dir: string; checkpoints: number } | undefined;
  for (let r = 0; r < REPEATS; r++) {
    plain.push(await plainAppends(events));
    const run = await senAppends(events);
    sen.push(run.perSec);
    if (r < REPEATS - 1) {
      await run.log.close();
      rmSync(run.dir, { recursive: true, force: true });
    } else kept = run;
    console.log(`  run ${r + 1}: Sen ${fmt(run.perSec)}/s, plain ${fmt(plain[r])}/s`);
  }
  const log = kept!.log;
  await log.checkpointNow();

  // (b) proofs at full size
  const rnd = mulberry32(7);
  const n = log.size;
  const genMedians: number[] = [];
  const verMedians: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const gen: number[] = [];
    const ver: number[] = [];
    for (let k = 0; k < PROOFS; k++) {
      const seq = Math.floor(rnd() * n);
      const t0 = performance.now();
      const p = log.inclusionProof(seq, n);
      const t1 = performance.now();
      const ok = verifyInclusion(fromHex(p.leafHash), seq, n, p.proof.map(fromHex), fromHex(p.root));
      const t2 = performance.now();
      if (!ok) throw new Error(`inclusion proof of ${seq} failed to verify`);
      gen.push((t1 - t0) * 1000);
      ver.push((t2 - t1) * 1000);
    }
    genMedians.push(median(gen));
    verMedians.push(median(ver));
  }

  // (c) export
  const exportRates: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const out = join(root, `export${r}`);
    const t0 = performance.now();
    const { events: rows } = await log.exportTo(out, { toSeq: n });
    exportRates.push((rows / (performance.now() - t0)) * 1000);
    rmSync(out, { recursive: true, force: true });
  }
  await log.close();

  // (d) reopen at N: from tiles, and fully verified
  const reopens: Reopen[] = [];
  const fullReopens: Reopen[] = [];
  for (let r = 0; r < REPEATS; r++) {
    reopens.push(reopenInChild(kept!.dir));
    if (r < 3) fullReopens.push(reopenInChild(kept!.dir, "full"));
  }
  for (const o of [...reopens, ...fullReopens]) if (o.size !== n) throw new Error(`reopened with ${o.size} events, not ${n}`);
  rmSync(kept!.dir, { recursive: true, force: true });

  // (e) reopen at BIG
  const bigReopens: Reopen[] = [];
  let bigBytes = 0;
  let genSeconds = 0;
  if (BIG > 0) {
    const bigDir = join(root, "big");
    console.log(`  writing a ${BIG.toLocaleString("en")}-event log`);
    const t0 = performance.now();
    bigBytes = writeBigLog(bigDir, BIG);
    genSeconds = (performance.now() - t0) / 1000;
    for (let r = 0; r < REPEATS; r++) bigReopens.push(reopenInChild(bigDir));
    for (const o of bigReopens) if (o.size !== BIG) throw new Error(`reopened with ${o.size} events, not ${BIG}`);
  }
  rmSync(root, { recursive: true, force: true });
  const reopenRow = (label: string, xs: Reopen[]) =>
    `| ${label} | ${(median(xs.map((x) => x.ms)) / 1000).toFixed(3)} s | ${Math.round(median(xs.map((x) => x.rssMiB)))} MiB | ${Math.round(median(xs.map((x) => x.heapMiB)))} MiB |`;

  const senMed = median(sen);
  const plainMed = median(plain);
  const body = `## Audit log (\`npm run bench:audit\`)

${machineLine()}

Workload: ${N.toLocaleString("en")} order-lifecycle events (received / accepted / filled / cancelled, seeded mulberry32(42); average canonical line ${Math.round(avgLine)} bytes) appended to the tamper-evident log (\`api/src/compliance/audit/auditLog.ts\`): each append assigns seq, UUID and µs timestamp and encodes the canonical line; fsync "batch" with \`flush()\` (one write + fdatasync) every ${FLUSH_EVERY.toLocaleString("en")} appends, the leaf and node hashes of the batch computed while that fdatasync runs, the hash tiles and line offsets it completes written after it (and fdatasynced, off the event loop, before each checkpoint); an Ed25519-signed checkpoint every ${CHECKPOINT_EVERY.toLocaleString("en")} events (${kept!.checkpoints} in the run). The baseline, in the same run and interleaved with it, does the same seq/UUID/timestamp assignment and canonical encoding and writes the lines to a plain file with the same write + fdatasync every ${FLUSH_EVERY.toLocaleString("en")} lines, so the ratio is the cost of the tree, leaf hashing and checkpoints. ${REPEATS} repeats, median shown.

| measurement | Sen audit log | baseline (plain file) | ratio |
|---|---:|---:|---:|
| appends/s (fsync batch of ${FLUSH_EVERY.toLocaleString("en")}, checkpoints on) | ${fmt(senMed)} | ${fmt(plainMed)} | **${(senMed / plainMed).toFixed(2)}×** |
| inclusion proof generation at ${n.toLocaleString("en")} events, median of ${PROOFS.toLocaleString("en")} random leaves | ${median(genMedians).toFixed(1)} µs | — | — |
| inclusion proof verification (RFC 9162 §2.1.3.2), median | ${median(verMedians).toFixed(1)} µs | — | — |
| export (events.jsonl + leaves.bin + checkpoints, fsynced) | ${fmt(median(exportRates))} rows/s | — | — |

Reopen (\`openAuditLog\` in a fresh process, page cache warm; memory read right after the open: RSS, and JS heap + external buffers):

| log | open time | RSS | heap + external |
|---|---:|---:|---:|
${reopenRow(`${n.toLocaleString("en")} events (the log of the append runs), from tiles and offsets`, reopens)}
${reopenRow(`${n.toLocaleString("en")} events, \`verify: "full"\` (every segment re-read and re-hashed, tiles and offsets checked; median of ${fullReopens.length})`, fullReopens)}
${BIG > 0 ? `${reopenRow(`${BIG.toLocaleString("en")} small events (${(bigBytes / 2 ** 30).toFixed(1)} GiB of lines), from tiles and offsets`, bigReopens)}\n` : ""}
Notes:
- Proof generation includes hex-encoding the proof (the form the HTTP route serves); verification includes parsing it back. Proofs are served from the hash tiles on disk (\`tiles/level-<L>.tiles\`) through a cache of 512 tiles with their inner nodes: a random leaf mostly misses the cache, so its proof reads one 8 KiB leaf tile and hashes its 255 inner nodes.
- Export copies the stored segment bytes as they are (no re-encoding) and writes one 32-byte leaf hash per event, read from the level-0 tiles.
- Reopen from tiles reads the tiles' right edges, each segment's offsets file size and last entry, the last segment's offsets, and hashes only the lines after the last full leaf tile plus two stored leaf tiles' worth of lines against their tiles; the root at the latest checkpoint is then compared with the signed one. It costs the same at any size; a full verification re-reads every event like the reopen before tiles did (${(median(fullReopens.map((x) => x.ms)) / 1000).toFixed(2)} s at ${n.toLocaleString("en")}).${BIG > 0 ? `\n- The ${BIG.toLocaleString("en")}-event log was generated in ${Math.round(genSeconds)} s by the bench's fast path (\`writeBigLog\`: the same files the log writes), then deleted.` : ""}
`;
  console.log(`\n${body}`);
  if (WRITE) {
    writeBenchmarkSection("audit", body);
    console.log("BENCHMARKS.md: audit section written");
  }
}

if (CHILD) await reopenChild(process.argv[3], process.argv[4] === "full" ? "full" : "fast");
else await main();
