import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import type { Address } from "viem";
import { startChain, type ChainFixture } from "../../../test/support/chainFixture.ts";
import { startAuditAnchorer } from "../../chain/auditAnchorer.ts";
import type { AuditEventInput } from "./auditEvent.ts";
import { openAuditLog, type AuditLog } from "./auditLog.ts";
import type { AnchoredCheckpoint } from "./checkpoint.ts";
import { signCheckpoint } from "./checkpoint.ts";
import { leafHash, MerkleTree, toHex } from "./merkle.ts";
import { runAuditVerify } from "./verifyCli.ts";
import { verifyExport } from "./verifyExport.ts";

const CLI = fileURLToPath(new URL("../../../../scripts/auditVerify.ts", import.meta.url));
const OTHER = "0x00000000000000000000000000000000deadbeef";

const tmp = mkdtempSync(join(tmpdir(), "sen-verify-anchors-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const signingKey = generateKeyPairSync("ed25519");

function fill(i: number): AuditEventInput {
  return { type: "order.filled", account: `acc-${i % 7}`, symbol: "VNM-VND", side: i % 2 ? "buy" : "sell", price: `${20_000 + (i % 40)}`, qty: `${1 + (i % 9)}`, tradeId: `t-${i}` };
}

const readCheckpoints = (dir: string) =>
  readFileSync(join(dir, "checkpoints.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as AnchoredCheckpoint);
const writeCheckpoints = (dir: string, cps: AnchoredCheckpoint[]) => writeFileSync(join(dir, "checkpoints.jsonl"), `${cps.map((c) => JSON.stringify(c)).join("\n")}\n`);

/**
 * The verifier's on-chain check against the real AuditAnchor contract (Hardhat's in-process
 * chain served over JSON-RPC, as an auditor's --rpc would be): roots anchored by the real
 * anchorer verify; a log rewritten and re-signed with the exchange's own key, which no
 * signature check can catch, is caught by the roots it once anchored.
 */
describe("verifyExport: anchors on chain", () => {
  let chain: ChainFixture;
  let rpcUrl: string;
  let anchorAddress: Address;
  let chainId: number;
  let genuine: string;
  let rewritten: string;
  let checkpointSizes: number[] = [];
  /** Tree sizes whose roots are on chain: 40, 120 and 160, not 80 (a later anchor covered it). */
  const ANCHORED = [40, 120, 160];
  let copies = 0;
  const copy = (from: string) => {
    const dir = join(tmp, `copy${++copies}`);
    cpSync(from, dir, { recursive: true });
    return dir;
  };
  const trusted = () => ({ rpcUrl, address: anchorAddress, chainId });
  const strip = (from: string) => {
    const dir = copy(from);
    writeCheckpoints(
      dir,
      readCheckpoints(dir).map(({ anchor: _, ...cp }) => cp),
    );
    return dir;
  };
  /** An export cut short consistently: events, leaves and checkpoints all end at `size`. */
  const cutTo = (from: string, size: number) => {
    const dir = copy(from);
    const rows = readFileSync(join(dir, "events.jsonl"), "utf8").split("\n").slice(0, size);
    writeFileSync(join(dir, "events.jsonl"), `${rows.join("\n")}\n`);
    writeFileSync(join(dir, "leaves.bin"), readFileSync(join(dir, "leaves.bin")).subarray(0, size * 32));
    writeCheckpoints(
      dir,
      readCheckpoints(dir).filter((c) => c.treeSize <= size),
    );
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(dir, "manifest.json"), JSON.stringify({ ...manifest, events: size }));
    return dir;
  };

  before(async () => {
    chain = await startChain({ serve: true });
    rpcUrl = chain.rpcUrl!;
    anchorAddress = chain.deployment.contracts.AuditAnchor;
    chainId = await chain.publicClient.getChainId();
    const auditor = chain.wallets.auditor;

    let t = BigInt(Date.parse("2026-11-23T10:00:00Z")) * 1000n;
    const log = await openAuditLog({ dir: join(tmp, "log"), signingKey, now: () => ++t, checkpointEvery: { events: 1_000_000, ms: 3_600_000 } });
    const anchorer = await startAuditAnchorer({
      log,
      logger: pino({ level: "silent" }),
      publicClient: chain.publicClient,
      walletClient: auditor,
      contract: anchorAddress,
      chainId,
      everyMs: 3_600_000, // anchored only when the test says so
    });
    const grow = async (to: number) => {
      while (log.size < to) log.append(fill(log.size));
      await log.checkpointNow();
    };
    await grow(40);
    await anchorer.anchorNow();
    await grow(80); // never anchored on its own: the next anchor covers [40, 120)
    await grow(120);
    await anchorer.anchorNow();
    await grow(160);
    await anchorer.anchorNow();
    await anchorer.stop();
    genuine = join(tmp, "genuine");
    await log.exportTo(genuine, { toSeq: 160 });
    checkpointSizes = log.checkpoints().map((c) => c.treeSize);
    assert.deepEqual(checkpointSizes, [40, 80, 120, 160]);
    assert.deepEqual(
      log.checkpoints().flatMap((c) => (c.anchor ? [c.treeSize] : [])),
      ANCHORED,
    );

    // The same key signs a different history of the same sizes, and keeps the old anchor records.
    const fork: AuditLog = await openAuditLog({ dir: join(tmp, "fork"), signingKey, now: () => ++t, checkpointEvery: { events: 1_000_000, ms: 3_600_000 } });
    for (const size of checkpointSizes) {
      while (fork.size < size) fork.append(fill(fork.size + 1_000));
      await fork.checkpointNow();
    }
    for (const cp of log.checkpoints()) if (cp.anchor) fork.recordAnchor(cp.treeSize, cp.anchor);
    rewritten = join(tmp, "rewritten");
    await fork.exportTo(rewritten, { toSeq: 160 });
    await fork.close();
    await log.close();
  });
  after(async () => {
    await chain?.close();
  });

  it("an export whose anchored roots are on chain verifies, each anchored root checked", async () => {
    const r = await verifyExport(genuine, { chain: trusted() });
    assert.deepEqual(r.problems, []);
    assert.equal(r.anchorsChecked, ANCHORED.length);
    const without = await verifyExport(genuine);
    assert.equal(without.anchorsChecked, 0);
    assert.ok(without.notes.some((n) => n.startsWith(`anchors not checked (no --rpc): ${ANCHORED.length} checkpoint(s)`)));
  });

  it("a history rewritten and re-signed with the exchange's key is caught by the anchored roots", async () => {
    // Signatures, roots and seq numbers are all in order: without the chain nothing is wrong.
    assert.deepEqual((await verifyExport(rewritten)).problems, []);
    const r = await verifyExport(rewritten, { chain: trusted() });
    assert.equal(r.ok, false);
    assert.equal(r.anchorsChecked, ANCHORED.length);
    assert.deepEqual(
      r.problems.map((p) => [p.kind, p.treeSize]),
      ANCHORED.map((n) => ["anchorMismatch", n]),
    );
    const fake = readCheckpoints(rewritten).find((c) => c.treeSize === 40)!;
    const real = readCheckpoints(genuine).find((c) => c.treeSize === 40)!;
    assert.notEqual(fake.root, real.root);
    assert.equal(r.problems[0].message, `AuditAnchor ${anchorAddress} holds ${real.root} for tree size 40, the signed checkpoint says ${fake.root}`);
  });

  it("an anchor record naming another chain or contract is a mismatch: the export does not choose what is trusted", async () => {
    const dir = copy(genuine);
    const cps = readCheckpoints(dir);
    const i = cps.findIndex((c) => c.treeSize === 120);
    cps[i] = { ...cps[i], anchor: { ...cps[i].anchor!, chainId: 11155111 } };
    const j = cps.findIndex((c) => c.treeSize === 160);
    cps[j] = { ...cps[j], anchor: { ...cps[j].anchor!, contract: OTHER } };
    writeCheckpoints(dir, cps);
    const r = await verifyExport(dir, { chain: trusted() });
    assert.deepEqual(
      r.problems.map((p) => [p.kind, p.treeSize]),
      [
        ["anchorMismatch", 120],
        ["anchorMismatch", 160],
      ],
    );
    assert.equal(r.problems[0].message, `the anchor record of tree size 120 says chain 11155111, the trusted AuditAnchor is on chain ${chainId}`);
    assert.equal(r.problems[1].message, `the anchor record of tree size 160 names contract ${OTHER}, the trusted AuditAnchor is ${anchorAddress}`);
    // The roots themselves are still all checked against the trusted contract.
    assert.equal(r.anchorsChecked, ANCHORED.length);
  });

  it("an anchor record for a tree size the contract never anchored is a mismatch", async () => {
    const dir = copy(genuine);
    const cps = readCheckpoints(dir);
    const i = cps.findIndex((c) => c.treeSize === 80);
    cps[i] = { ...cps[i], anchor: cps.find((c) => c.treeSize === 120)!.anchor };
    writeCheckpoints(dir, cps);
    const r = await verifyExport(dir, { chain: trusted() });
    assert.deepEqual(
      r.problems.map((p) => [p.kind, p.treeSize]),
      [["anchorMismatch", 80]],
    );
    assert.equal(r.problems[0].message, `AuditAnchor ${anchorAddress} has no root for tree size 80, though the export records an anchor there`);
  });

  it("stripping the anchor records hides nothing: every anchored root is recomputed from the events", async () => {
    const bare = strip(genuine);
    const good = await verifyExport(bare, { chain: trusted() });
    assert.deepEqual(good.problems, []);
    assert.equal(good.anchorsChecked, ANCHORED.length);

    const bad = await verifyExport(strip(rewritten), { chain: trusted() });
    assert.deepEqual(
      bad.problems.map((p) => [p.kind, p.treeSize]),
      ANCHORED.map((n) => ["anchorMismatch", n]),
    );
  });

  it("an export cut short of the contract's latest anchor is truncated, unless the auditor asked for that end", async () => {
    const dir = cutTo(genuine, 120);
    assert.deepEqual((await verifyExport(dir)).problems, []);
    const r = await verifyExport(dir, { chain: trusted() });
    assert.deepEqual(
      r.problems.map((p) => [p.kind, p.treeSize]),
      [["truncated", 160]],
    );
    assert.match(r.problems[0].message, /^the export ends at tree size 120 but AuditAnchor 0x[0-9a-fA-F]{40} already anchors tree size 160: the export was cut short/);
    const asked = await verifyExport(dir, { chain: trusted(), partialTo: 120 });
    assert.deepEqual(asked.problems, []);
    assert.ok(asked.notes.some((n) => n.includes("--partial-to 120")));
    const wrongEnd = await verifyExport(dir, { chain: trusted(), partialTo: 80 });
    assert.deepEqual(
      wrongEnd.problems.map((p) => p.kind),
      ["truncated"],
    );
  });

  it("past the latest anchor only the signature vouches: the export's own key is noted, a pinned key catches a forger's tail", async () => {
    // A forger appends events after the last anchor and re-signs every checkpoint with a key of his own.
    const forger = generateKeyPairSync("ed25519");
    const dir = copy(genuine);
    const rows = readFileSync(join(dir, "events.jsonl"), "utf8").split("\n").slice(0, -1);
    for (let i = 0; i < 10; i++) rows.push(JSON.stringify({ ...(JSON.parse(rows[rows.length - 1]) as object), seq: rows.length, tradeId: `forged-${i}` }));
    writeFileSync(join(dir, "events.jsonl"), `${rows.join("\n")}\n`);
    const tree = new MerkleTree();
    for (const r of rows) tree.append(leafHash(Buffer.from(r)));
    const cps = readCheckpoints(dir);
    const resign = (treeSize: number, time: string) => signCheckpoint({ origin: cps[0].origin, treeSize, root: toHex(tree.root(treeSize)), time }, forger.privateKey);
    writeCheckpoints(dir, [...cps.map((c) => ({ ...resign(c.treeSize, c.time), anchor: c.anchor })), resign(170, cps[cps.length - 1].time)]);
    writeFileSync(join(dir, "checkpoint.pub"), forger.publicKey.export({ type: "spki", format: "pem" }).toString());
    writeFileSync(join(dir, "leaves.bin"), Buffer.concat(rows.map((r) => leafHash(Buffer.from(r)))));

    const unpinned = await verifyExport(dir, { chain: trusted() });
    assert.deepEqual(unpinned.problems, []);
    assert.ok(unpinned.notes.includes("tree sizes 160..170 are not anchored yet: only the signature (with the export's own key) vouches for them"), unpinned.notes.join("; "));
    const pinned = await verifyExport(dir, { chain: trusted(), publicKeyPem: signingKey.publicKey.export({ type: "spki", format: "pem" }).toString() });
    assert.equal(pinned.ok, false);
    assert.equal(pinned.problems[0].kind, "badSignature");
  });

  it("the CLI: failures exit 1 with one line, a missing trusted anchor or a wrong chain exit 2 with one line", async () => {
    const ok = await runAuditVerify([genuine, "--rpc", rpcUrl, "--deployment", chain.deploymentFile!]);
    assert.equal(ok.code, 0, ok.stderr);
    const okFlags = await runAuditVerify([genuine, "--rpc", rpcUrl, "--anchor", anchorAddress, "--chain-id", String(chainId), "--json"]);
    assert.equal(okFlags.code, 0, okFlags.stderr);
    assert.equal((JSON.parse(okFlags.stdout) as { anchorsChecked: number }).anchorsChecked, ANCHORED.length);

    const bad = await runAuditVerify([strip(rewritten), "--rpc", rpcUrl, "--deployment", chain.deploymentFile!]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^audit:verify: FAILED \(anchorMismatch\): AuditAnchor 0x[0-9a-fA-F]{40} holds 0x[0-9a-f]{64} for tree size 40, the signed checkpoint says 0x[0-9a-f]{64}\n$/);

    // Usage: --rpc without a trusted address (the export's records would otherwise be believed).
    const noAnchor = await runAuditVerify([genuine, "--rpc", rpcUrl]);
    assert.equal(noAnchor.code, 2);
    assert.match(noAnchor.stderr.split("\n")[0], /--rpc needs the trusted AuditAnchor/);
    const wrongChain = await runAuditVerify([genuine, "--rpc", rpcUrl, "--anchor", anchorAddress, "--chain-id", "1"]);
    assert.equal(wrongChain.code, 2);
    assert.equal(wrongChain.stderr, `audit:verify: the RPC endpoint serves chain ${chainId}, the trusted AuditAnchor is on chain 1\n`);
    const notAContract = await runAuditVerify([genuine, "--rpc", rpcUrl, "--anchor", OTHER, "--chain-id", String(chainId)]);
    assert.equal(notAContract.code, 2);
    assert.equal(notAContract.stderr.split("\n").length, 2, notAContract.stderr);
    assert.match(notAContract.stderr, /^audit:verify: cannot read AuditAnchor.latest\(\) at /);

    // The real process, once (asynchronously: this process serves the chain): same exit code and the single line.
    const spawned = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [CLI, cutTo(genuine, 80), "--rpc", rpcUrl, "--deployment", chain.deploymentFile!], { encoding: "utf8" }, (_e, _out, stderr) => resolve({ status: child.exitCode, stderr }));
    });
    assert.equal(spawned.status, 1, spawned.stderr);
    assert.match(spawned.stderr, /^audit:verify: FAILED \(truncated\): the export ends at tree size 80 but AuditAnchor .* already anchors tree size 160: [^\n]*\n$/);
  });
});
