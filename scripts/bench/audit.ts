/**
 * npm run bench:audit   (SEN_BENCH_QUICK=1 for a 20k-event smoke run that does not touch BENCHMARKS.md)
 *
 * Measures the audit log (api/src/audit/auditLog.ts) and writes the "audit" section of
 * BENCHMARKS.md:
 *  (a) appends/s with the Merkle tree and signed checkpoints on (fsync "batch": flush = one
 *      write + fdatasync every 1,000 appends; a checkpoint every 10,000 events), against a
 *      baseline in the same run: the same events given seq/id/ts and canonically encoded the
 *      same way, appended to a plain file with the same write + fdatasync every 1,000 lines;
 *  (b) inclusion proof generation and verification at the full size (10,000 random proofs);
 *  (c) export rate of the whole log (events.jsonl + leaves.bin + checkpoints);
 *  (d) reopen time (read every segment, rebuild the tree, verify the last checkpoint).
 * Each is repeated 5 times (fresh directory each time for (a)); medians are reported.
 */
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AuditEventInput } from "../../api/src/audit/auditEvent.ts";
import { encodeAuditEvent, isoMicros } from "../../api/src/audit/auditEvent.ts";
import { openAuditLog } from "../../api/src/audit/auditLog.ts";
import type { AuditLog } from "../../api/src/audit/auditLog.ts";
import { fromHex, verifyInclusion } from "../../api/src/audit/merkle.ts";
import { mulberry32, workload } from "./auditWorkload.ts";
import { machineLine, writeBenchmarkSection } from "./benchmarksFile.ts";

const QUICK = process.env.SEN_BENCH_QUICK === "1";
const N = QUICK ? 20_000 : 1_000_000;
const REPEATS = 5;
const FLUSH_EVERY = 1_000;
const CHECKPOINT_EVERY = 10_000;
const PROOFS = 10_000;
const WRITE = !QUICK && process.env.BENCH_WRITE !== "0";

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e4 ? `${Math.round(x / 1e3)}k` : x.toFixed(x < 10 ? 2 : 0));
const signingKey = generateKeyPairSync("ed25519");
const root = mkdtempSync(join(tmpdir(), "sen-bench-audit-"));
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

  // (d) reopen
  const reopenMs: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    const again = await openAuditLog({ dir: kept!.dir, signingKey, checkpointEvery: { events: CHECKPOINT_EVERY, ms: 3_600_000 } });
    reopenMs.push(performance.now() - t0);
    await again.close();
  }
  rmSync(root, { recursive: true, force: true });

  const senMed = median(sen);
  const plainMed = median(plain);
  const body = `## Audit log (\`npm run bench:audit\`)

${machineLine()}

Workload: ${N.toLocaleString("en")} order-lifecycle events (received / accepted / filled / cancelled, seeded mulberry32(42); average canonical line ${Math.round(avgLine)} bytes) appended to the tamper-evident log (\`api/src/audit/auditLog.ts\`): each append assigns seq, UUID and µs timestamp, encodes the canonical line, hashes the leaf and updates the Merkle tree; fsync "batch" with \`flush()\` (one write + fdatasync) every ${FLUSH_EVERY.toLocaleString("en")} appends; an Ed25519-signed checkpoint every ${CHECKPOINT_EVERY.toLocaleString("en")} events (${kept!.checkpoints} in the run). The baseline, in the same run and interleaved with it, does the same seq/UUID/timestamp assignment and canonical encoding and writes the lines to a plain file with the same write + fdatasync every ${FLUSH_EVERY.toLocaleString("en")} lines, so the ratio is the cost of the tree, leaf hashing and checkpoints. ${REPEATS} repeats, median shown.

| measurement | Sen audit log | baseline (plain file) | ratio |
|---|---:|---:|---:|
| appends/s (fsync batch of ${FLUSH_EVERY.toLocaleString("en")}, checkpoints on) | ${fmt(senMed)} | ${fmt(plainMed)} | **${(senMed / plainMed).toFixed(2)}×** |
| inclusion proof generation at ${n.toLocaleString("en")} events, median of ${PROOFS.toLocaleString("en")} random leaves | ${median(genMedians).toFixed(1)} µs | — | — |
| inclusion proof verification (RFC 9162 §2.1.3.2), median | ${median(verMedians).toFixed(1)} µs | — | — |
| export (events.jsonl + leaves.bin + checkpoints, fsynced) | ${fmt(median(exportRates))} rows/s | — | — |
| reopen: read all segments, rebuild the tree, verify the last checkpoint | ${(median(reopenMs) / 1000).toFixed(2)} s | — | — |

Notes:
- Proof generation includes hex-encoding the proof (the form the HTTP route serves); verification includes parsing it back. Both on the in-memory tree of all complete subtrees (about 64 bytes per event).
- Export copies the stored segment bytes as they are (no re-encoding) and writes one 32-byte leaf hash per event.
`;
  console.log(`\n${body}`);
  if (WRITE) {
    writeBenchmarkSection("audit", body);
    console.log("BENCHMARKS.md: audit section written");
  }
}

await main();
