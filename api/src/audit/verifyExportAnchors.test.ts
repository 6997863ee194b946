import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import type { Address } from "viem";
import { startChain, type ChainFixture } from "../../test/support/chainFixture.ts";
import { startAuditAnchorer } from "../chain/auditAnchorer.ts";
import type { AuditEventInput } from "./auditEvent.ts";
import { openAuditLog, type AuditLog } from "./auditLog.ts";
import type { AnchoredCheckpoint } from "./checkpoint.ts";
import { verifyExport } from "./verifyExport.ts";

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
    await log.exportTo(genuine, { toSeq: 159 });
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
    await fork.exportTo(rewritten, { toSeq: 159 });
    await fork.close();
    await log.close();
  });
  after(async () => {
    await chain?.close();
  });

  it("an export whose anchored roots are on chain verifies, each anchor checked", async () => {
    const r = await verifyExport(genuine, { rpcUrl });
    assert.deepEqual(r.problems, []);
    assert.equal(r.anchorsChecked, ANCHORED.length);
    const without = await verifyExport(genuine);
    assert.equal(without.anchorsChecked, 0);
    assert.ok(without.notes.some((n) => n.startsWith(`anchors not checked (no --rpc): ${ANCHORED.length} checkpoint(s)`)));
  });

  it("a history rewritten and re-signed with the exchange's key is caught by the anchored roots", async () => {
    // Signatures, roots and seq numbers are all in order: without the chain nothing is wrong.
    assert.deepEqual((await verifyExport(rewritten)).problems, []);
    const r = await verifyExport(rewritten, { rpcUrl });
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

  it("an anchor record naming another chain is a mismatch, not checked against this one", async () => {
    const dir = copy(genuine);
    const cps = readCheckpoints(dir);
    const i = cps.findIndex((c) => c.treeSize === 120);
    cps[i] = { ...cps[i], anchor: { ...cps[i].anchor!, chainId: 11155111 } };
    writeCheckpoints(dir, cps);
    const r = await verifyExport(dir, { rpcUrl });
    assert.deepEqual(
      r.problems.map((p) => [p.kind, p.treeSize]),
      [["anchorMismatch", 120]],
    );
    assert.match(r.problems[0].message, new RegExp(`recorded on chain 11155111, the RPC serves chain ${chainId}`));
    assert.equal(r.anchorsChecked, ANCHORED.length - 1);
  });

  it("an anchor record for a tree size the contract never anchored is a mismatch", async () => {
    const dir = copy(genuine);
    const cps = readCheckpoints(dir);
    const i = cps.findIndex((c) => c.treeSize === 80);
    cps[i] = { ...cps[i], anchor: cps.find((c) => c.treeSize === 120)!.anchor };
    writeCheckpoints(dir, cps);
    const r = await verifyExport(dir, { rpcUrl });
    assert.deepEqual(
      r.problems.map((p) => [p.kind, p.treeSize]),
      [["anchorMismatch", 80]],
    );
    assert.equal(r.problems[0].message, `AuditAnchor ${anchorAddress} has no root for tree size 80`);
  });

  it("with the contract's address and no anchor records, the last signed checkpoint is checked", async () => {
    const strip = (from: string) => {
      const dir = copy(from);
      writeCheckpoints(
        dir,
        readCheckpoints(dir).map(({ anchor: _, ...cp }) => cp),
      );
      return dir;
    };
    const bare = strip(genuine);
    const nothing = await verifyExport(bare, { rpcUrl });
    assert.equal(nothing.anchorsChecked, 0);
    assert.ok(nothing.notes.includes("no checkpoint has an anchor record; nothing to check on chain"));

    const good = await verifyExport(bare, { rpcUrl, anchorAddress });
    assert.deepEqual(good.problems, []);
    assert.equal(good.anchorsChecked, 1);

    const bad = await verifyExport(strip(rewritten), { rpcUrl, anchorAddress });
    assert.deepEqual(
      bad.problems.map((p) => [p.kind, p.treeSize]),
      [["anchorMismatch", 160]],
    );
  });
});
