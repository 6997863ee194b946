/**
 * npm run bench:audit-bundle   (SEN_BENCH_QUICK=1: 20,000 events, BENCHMARKS.md untouched;
 * SEN_BENCH_AUDIT_EVENTS=<n> for another size)
 *
 * The verifiable bundle (api/src/compliance/audit/auditBundle.ts) at 1,000,000 events of the workload of
 * bench:audit (scripts/bench/auditWorkload.ts), each figure against a baseline in the same run:
 *  (a) bundle export rate: writeAuditBundle to a file (the tar the compliance route streams),
 *      events/s, against `tar -cf` of the same files written by exportTo;
 *  (b) verify rate, offline: `audit:verify <bundle.tar>` (runAuditVerify: unpack, re-hash every
 *      event, rebuild the tree, check every checkpoint's signature and consistency), events/s,
 *      against `sha256sum` of the same bundle bytes (one hash pass over them);
 *  (c) verify rate against the chain: the same with --rpc, the trusted AuditAnchor on a local
 *      Hardhat chain served over JSON-RPC holding one anchored root per 100,000 events.
 * Three repeats of each, interleaved with their baselines; medians reported.
 */
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { createWriteStream, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { bundleCheckpoint, writeAuditBundle } from "../../api/src/compliance/audit/auditBundle.ts";
import { openAuditLog } from "../../api/src/compliance/audit/auditLog.ts";
import { runAuditVerify } from "../../api/src/compliance/audit/verifyCli.ts";
import { startAuditAnchorer } from "../../api/src/chain/auditAnchorer.ts";
import { startChain } from "../../api/test/support/chainFixture.ts";
import { workload } from "./auditWorkload.ts";
import { machineLine, writeBenchmarkSection } from "./benchmarksFile.ts";

const QUICK = process.env.SEN_BENCH_QUICK === "1";
const N = Number(process.env.SEN_BENCH_AUDIT_EVENTS ?? (QUICK ? 20_000 : 1_000_000));
const REPEATS = 3;
const CHECKPOINT_EVERY = 10_000;
const ANCHOR_EVERY = Math.max(CHECKPOINT_EVERY, Math.floor(N / 10 / CHECKPOINT_EVERY) * CHECKPOINT_EVERY);
const WRITE = !QUICK && process.env.SEN_BENCH_AUDIT_EVENTS === undefined && process.env.BENCH_WRITE !== "0";
if (!Number.isSafeInteger(N) || N < CHECKPOINT_EVERY) throw new Error(`SEN_BENCH_AUDIT_EVENTS must be an integer >= ${CHECKPOINT_EVERY}`);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e4 ? `${Math.round(x / 1e3)}k` : x.toFixed(0));
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const seconds = async (f: () => unknown) => {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0) / 1000;
};

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "sen-bench-bundle-"));
  const chain = await startChain({ serve: true });
  try {
    const signingKey = generateKeyPairSync("ed25519");
    const publicKeyPem = signingKey.publicKey.export({ type: "spki", format: "pem" }).toString();
    const log = await openAuditLog({ dir: join(root, "log"), signingKey, fsync: "batch", checkpointEvery: { events: CHECKPOINT_EVERY, ms: 3_600_000 } });
    const chainId = await chain.publicClient.getChainId();
    const contract = chain.deployment.contracts.AuditAnchor!;
    const anchorer = await startAuditAnchorer({ log, logger: pino({ level: "silent" }), publicClient: chain.publicClient, walletClient: chain.wallets.auditor, contract, chainId, everyMs: 3_600_000 });

    // The log: the workload in batches, a checkpoint every 10,000 events, an anchor every ANCHOR_EVERY.
    const events = workload(N);
    for (let i = 0; i < N; i++) {
      log.append(events[i]);
      if ((i + 1) % CHECKPOINT_EVERY === 0) {
        await log.checkpointNow();
        if ((i + 1) % ANCHOR_EVERY === 0 || i + 1 === N) await anchorer.anchorNow();
      }
    }
    await anchorer.stop();
    const cp = await bundleCheckpoint(log, N);
    if (cp.treeSize !== N || !cp.anchor) throw new Error(`the log should end at an anchored checkpoint of ${N}, got ${cp.treeSize}`);

    // The plain files, once, for the tar baseline.
    const plain = join(root, "export");
    await log.exportTo(plain, { toSeq: N });
    const files = readdirSync(plain);

    const bundleRates: number[] = [];
    const tarRates: number[] = [];
    const offlineRates: number[] = [];
    const chainRates: number[] = [];
    const shaRates: number[] = [];
    let bundleBytes = 0;
    const trusted = ["--rpc", chain.rpcUrl!, "--anchor", contract, "--chain-id", String(chainId)];
    for (let r = 0; r < REPEATS; r++) {
      const file = join(root, `bundle${r}.tar`);
      bundleRates.push(N / (await seconds(() => writeAuditBundle(log, cp, createWriteStream(file), { publicKeyPem }))));
      bundleBytes = statSync(file).size;
      const tarFile = join(root, `plain${r}.tar`);
      tarRates.push(N / (await seconds(() => execFileSync("tar", ["-cf", tarFile, "-C", plain, ...files]))));
      rmSync(tarFile);

      shaRates.push(N / (await seconds(() => execFileSync("sha256sum", [file]))));
      let code = -1;
      offlineRates.push(N / (await seconds(async () => ({ code } = await runAuditVerify([file])))));
      if (code !== 0) throw new Error(`offline verify exited ${code}`);
      let out = { code: -1, stdout: "", stderr: "" };
      chainRates.push(N / (await seconds(async () => (out = await runAuditVerify([file, ...trusted, "--json"])))));
      if (out.code !== 0) throw new Error(`verify against the chain exited ${out.code}: ${out.stderr}`);
      const anchorsChecked = (JSON.parse(out.stdout) as { anchorsChecked: number }).anchorsChecked;
      if (anchorsChecked !== N / ANCHOR_EVERY && r === 0) console.warn(`anchors checked: ${anchorsChecked}`);
      rmSync(file);
    }
    await log.close();

    const b = median(bundleRates);
    const t = median(tarRates);
    const v = median(offlineRates);
    const c = median(chainRates);
    const s = median(shaRates);
    const body = `## Audit bundle: export and verify (\`npm run bench:audit-bundle\`)

${machineLine()}

Workload: ${N.toLocaleString("en")} events of \`bench:audit\`'s order-lifecycle workload (\`scripts/bench/auditWorkload.ts\`), a signed checkpoint every ${CHECKPOINT_EVERY.toLocaleString("en")} events, a root anchored on a local Hardhat AuditAnchor every ${ANCHOR_EVERY.toLocaleString("en")}; the bundle is ${mib(bundleBytes)}. ${REPEATS} repeats, interleaved with the baselines, median shown.

| measurement | Sen | baseline (same run) | ratio |
|---|---:|---:|---:|
| bundle export: \`writeAuditBundle\` to a file (the tar the compliance route streams) | ${fmt(b)} events/s | \`tar -cf\` of the same files written by exportTo: ${fmt(t)} events/s | **${(b / t).toFixed(2)}×** |
| verify offline: \`audit:verify <bundle.tar>\` (unpack, re-hash, tree, signatures, consistency) | ${fmt(v)} events/s | \`sha256sum\` of the same bundle: ${fmt(s)} events/s | **${(v / s).toFixed(2)}×** |
| verify against the chain: the same with \`--rpc\` and the trusted AuditAnchor (${(N / ANCHOR_EVERY).toLocaleString("en")} anchored roots compared) | ${fmt(c)} events/s | \`sha256sum\` of the same bundle: ${fmt(s)} events/s | **${(c / s).toFixed(2)}×** |

Notes:
- The bundle is written straight from the log with backpressure (no staging directory): the log's stored event bytes and its own leaf hashes (from the level-0 tiles) are each read once, their sizes known before the tar headers, as \`exportTo\` copies them; \`tar -cf\` copies files that already exist (written by \`exportTo\` beforehand, not timed).
- Verifying runs in the benchmark's process (the CLI's own \`runAuditVerify\`), files in the page cache; \`sha256sum\` is one SHA-256 pass over the same bytes, about what any check of the bundle must at least do.
`;
    console.log(`\n${body}`);
    if (WRITE) {
      writeBenchmarkSection("audit-bundle", body);
      console.log("BENCHMARKS.md: audit-bundle section written");
    }
  } finally {
    await chain.close();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
