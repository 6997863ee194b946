import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { pino } from "pino";
import type { Address } from "viem";
import { startChain, type ChainFixture } from "../../test/support/chainFixture.ts";
import { startAuditAnchorer } from "../chain/auditAnchorer.ts";
import type { AuditEventInput } from "./auditEvent.ts";
import { openAuditLog } from "./auditLog.ts";
import type { AnchoredCheckpoint } from "./checkpoint.ts";
import { signCheckpoint } from "./checkpoint.ts";
import { leafHash, MerkleTree, toHex } from "./merkle.ts";
import { runAuditVerify } from "./verifyCli.ts";
import { verifyExport } from "./verifyExport.ts";

const tmp = mkdtempSync(join(tmpdir(), "sen-verify-tamper-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const signingKey = generateKeyPairSync("ed25519");
/** The forger's own key. */
const forgerKey = generateKeyPairSync("ed25519");
const pemOf = (k: KeyObject) => k.export({ type: "spki", format: "pem" }).toString();

const TAMPERS = ["edit", "delete", "swap", "append", "truncate", "forgedSignature", "resignedStripped", "wrongAnchorAddress"] as const;
type Tamper = (typeof TAMPERS)[number];
/** The problem each tamper must produce (among others). */
const EXPECTED: Record<Tamper, readonly string[]> = {
  edit: ["edited", "rootMismatch"],
  delete: ["missing", "rootMismatch"],
  swap: ["reordered", "rootMismatch"],
  append: ["inserted"],
  truncate: ["truncated"],
  forgedSignature: ["badSignature"],
  resignedStripped: ["anchorMismatch"],
  wrongAnchorAddress: ["anchorMismatch"],
};

function fill(i: number, salt = ""): AuditEventInput {
  return { type: "order.filled", account: `acc-${i % 7}`, symbol: "VNM-VND", side: i % 2 ? "buy" : "sell", price: `${20_000 + (i % 40)}`, qty: `${1 + (i % 9)}`, tradeId: `t-${i}${salt}` };
}

// ---- export files
const readRows = (dir: string) => readFileSync(join(dir, "events.jsonl"), "utf8").split("\n").slice(0, -1);
const writeRows = (dir: string, rows: string[]) => writeFileSync(join(dir, "events.jsonl"), rows.length ? `${rows.join("\n")}\n` : "");
const readCheckpoints = (dir: string) =>
  readFileSync(join(dir, "checkpoints.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as AnchoredCheckpoint);
const writeCheckpoints = (dir: string, cps: AnchoredCheckpoint[]) => writeFileSync(join(dir, "checkpoints.jsonl"), cps.map((c) => `${JSON.stringify(c)}\n`).join(""));
const readManifest = (dir: string) => JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Record<string, unknown>;
const writeManifest = (dir: string, m: Record<string, unknown>) => writeFileSync(join(dir, "manifest.json"), JSON.stringify(m));
const writeLeaves = (dir: string, rows: string[]) => writeFileSync(join(dir, "leaves.bin"), Buffer.concat(rows.map((r) => leafHash(Buffer.from(r)))));
const editQty = (row: string) => row.replace(/"qty":"\d+"/, '"qty":"99"');

type Knobs = { a: number; b: number; sameKey: boolean; count: number; address: string };

/**
 * Applies one tamper to a copy of the genuine export. `anchoredEnd` is the contract's latest
 * anchored size, which the genuine export reaches.
 */
function tamper(kind: Tamper, dir: string, k: Knobs, anchoredEnd: number): void {
  const rows = readRows(dir);
  const n = rows.length;
  const cps = readCheckpoints(dir);
  switch (kind) {
    case "edit": {
      const i = k.a % n;
      rows[i] = editQty(rows[i]);
      writeRows(dir, rows);
      return;
    }
    case "delete": {
      const i = k.a % n;
      rows.splice(i, Math.min(k.count, n - i));
      writeRows(dir, rows);
      return;
    }
    case "swap": {
      const i = k.a % n;
      let j = k.b % n;
      if (j === i) j = (i + 1) % n;
      [rows[i], rows[j]] = [rows[j], rows[i]];
      writeRows(dir, rows);
      return;
    }
    case "append": {
      for (let c = 0; c < k.count; c++) {
        const e = JSON.parse(rows[rows.length - 1]) as Record<string, unknown>;
        rows.push(JSON.stringify({ ...e, seq: rows.length, tradeId: `forged-${c}` }));
      }
      writeRows(dir, rows);
      return;
    }
    case "truncate": {
      // Cut consistently at an earlier checkpoint: every file agrees, only the chain knows more.
      const earlier = cps.filter((c) => c.treeSize < anchoredEnd);
      const cut = earlier[k.a % earlier.length].treeSize;
      writeRows(dir, rows.slice(0, cut));
      writeLeaves(dir, rows.slice(0, cut));
      writeCheckpoints(
        dir,
        cps.filter((c) => c.treeSize <= cut),
      );
      writeManifest(dir, { ...readManifest(dir), events: cut });
      return;
    }
    case "forgedSignature": {
      const i = k.a % cps.length;
      const cp = cps[i];
      const other = toHex(leafHash(Buffer.from(`forged root ${k.b}`)));
      // Either a root swapped under the exchange's signature, or a checkpoint signed by the forger.
      cps[i] = k.sameKey ? { ...cp, root: other } : { ...signCheckpoint({ origin: cp.origin, treeSize: cp.treeSize, root: cp.root, time: cp.time }, forgerKey.privateKey), anchor: cp.anchor };
      writeCheckpoints(dir, cps);
      return;
    }
    case "resignedStripped": {
      // A rewritten history, every checkpoint re-signed (by the exchange's key or a new one
      // published alongside), anchor records and the manifest's anchor removed.
      const i = k.a % Math.min(n, anchoredEnd);
      rows[i] = editQty(rows[i]);
      const tree = new MerkleTree();
      for (const r of rows) tree.append(leafHash(Buffer.from(r)));
      const key = k.sameKey ? signingKey : forgerKey;
      writeRows(dir, rows);
      writeLeaves(dir, rows);
      writeCheckpoints(
        dir,
        cps.map((c) => signCheckpoint({ origin: c.origin, treeSize: c.treeSize, root: toHex(tree.root(c.treeSize)), time: c.time }, key.privateKey)),
      );
      writeFileSync(join(dir, "checkpoint.pub"), pemOf(key.publicKey));
      const { anchor: _, ...manifest } = readManifest(dir);
      writeManifest(dir, manifest);
      return;
    }
    case "wrongAnchorAddress": {
      writeCheckpoints(
        dir,
        cps.map((c) => (c.anchor ? { ...c, anchor: { ...c.anchor, contract: k.address } } : c)),
      );
      const m = readManifest(dir);
      if (m.anchor) writeManifest(dir, { ...m, anchor: { ...(m.anchor as object), contract: k.address } });
      return;
    }
  }
}

/**
 * Tampered exports of every kind, generated over generated histories, verified against a real
 * AuditAnchor on Hardhat's chain through the command line's own code (exit code and stderr):
 * each fails with exit 1 and a one-line reason naming the expected problem; the honest export
 * passes.
 */
describe("audit:verify against the chain: every kind of tampered export fails, the honest one passes", () => {
  let chain: ChainFixture;
  let rpcUrl: string;
  let chainId: number;
  before(async () => {
    chain = await startChain({ serve: true });
    rpcUrl = chain.rpcUrl!;
    chainId = await chain.publicClient.getChainId();
  });
  after(async () => {
    await chain?.close();
  });

  it("property: tamper kinds × generated histories", { timeout: 120_000 }, async () => {
    const seen = new Map<string, number>();
    let longest = 0;
    let run = 0;
    const auditor = chain.wallets.auditor;
    const batch = fc.record({ events: fc.integer({ min: 1, max: 5 }), anchor: fc.boolean() });
    const knobs = fc.record({
      a: fc.nat(),
      b: fc.nat(),
      sameKey: fc.boolean(),
      count: fc.integer({ min: 1, max: 3 }),
      address: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => `0x${Buffer.from(b).toString("hex")}`),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(batch, { minLength: 2, maxLength: 24, size: "max" }), knobs, async (batches, k) => {
        longest = Math.max(longest, batches.length);
        const id = ++run;
        // A fresh AuditAnchor per history: anchors are append-only and tile one log.
        const anchor = await chain.connection.viem.deployContract("AuditAnchor", [chain.deployment.deployer, auditor.account.address]);
        const address = anchor.address as Address;
        let t = BigInt(Date.parse("2026-11-23T10:00:00Z")) * 1000n;
        const log = await openAuditLog({ dir: join(tmp, `log${id}`), signingKey, now: () => ++t, checkpointEvery: { events: 1_000_000, ms: 3_600_000 } });
        const anchorer = await startAuditAnchorer({ log, logger: pino({ level: "silent" }), publicClient: chain.publicClient, walletClient: auditor, contract: address, chainId, everyMs: 3_600_000 });
        // The last checkpoint is anchored, so the genuine export reaches the contract's head.
        for (const [i, b] of batches.entries()) {
          for (let e = 0; e < b.events; e++) log.append(fill(log.size));
          await log.checkpointNow();
          if (b.anchor || i === batches.length - 1) await anchorer.anchorNow();
        }
        await anchorer.stop();
        const genuine = join(tmp, `genuine${id}`);
        await log.exportTo(genuine, { toSeq: log.size - 1 });
        const anchoredEnd = log.size;
        await log.close();
        const args = (dir: string) => [dir, "--rpc", rpcUrl, "--anchor", address, "--chain-id", String(chainId)];

        const honest = await runAuditVerify(args(genuine));
        assert.equal(honest.code, 0, honest.stderr + honest.stdout);
        assert.equal(honest.stderr, "");
        seen.set("honest", (seen.get("honest") ?? 0) + 1);

        for (const kind of TAMPERS) {
          const dir = join(tmp, `${kind}${id}`);
          cpSync(genuine, dir, { recursive: true });
          tamper(kind, dir, k, anchoredEnd);
          const out = await runAuditVerify([...args(dir), "--json"]);
          assert.equal(out.code, 1, `${kind}: exit ${out.code} ${out.stderr}${out.stdout}`);
          const line = /^audit:verify: FAILED \((\w+)\): (.+)\n$/.exec(out.stderr);
          assert.ok(line, `${kind}: stderr is not one line with a reason: ${JSON.stringify(out.stderr)}`);
          const result = JSON.parse(out.stdout) as { problems: Array<{ kind: string }> };
          assert.ok(
            result.problems.some((p) => EXPECTED[kind].includes(p.kind)),
            `${kind}: expected ${EXPECTED[kind].join("|")}, got ${result.problems.map((p) => p.kind).join(",")}`,
          );
          if (kind === "resignedStripped") {
            // Nothing in the export betrays it: only the chain does.
            assert.deepEqual((await verifyExport(dir)).problems, []);
          }
          seen.set(kind, (seen.get(kind) ?? 0) + 1);
          rmSync(dir, { recursive: true, force: true });
        }
        rmSync(genuine, { recursive: true, force: true });
        rmSync(join(tmp, `log${id}`), { recursive: true, force: true });
      }),
      { numRuns: 40 },
    );
    for (const kind of ["honest", ...TAMPERS]) assert.ok((seen.get(kind) ?? 0) > 0, `tamper kind ${kind} was never generated`);
    assert.ok(longest > 10, `histories never exceeded 10 checkpoints (longest ${longest})`);
  });
});
