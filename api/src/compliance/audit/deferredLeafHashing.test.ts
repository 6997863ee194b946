import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createLogger } from "../../observability/logger.ts";
import type { AuditEventInput } from "./auditEvent.ts";
import { openAuditLog, type AuditLog } from "./auditLog.ts";
import type { AuditScreening } from "./auditIndex.ts";
import { AuditTrail } from "./auditTrail.ts";
import { AuditCode, AuditError } from "./errors.ts";
import { HASH_BYTES, leafHash, rootOf, toHex, verifyInclusion } from "./merkle.ts";
import { openWorkerSqliteAuditIndex } from "./workerAuditIndex.ts";

/**
 * The audit log's leaf hashes made on another thread (the audit index's worker hashes the
 * lines it indexes): the tree takes them as given, hashes on its own thread only what a root,
 * proof or checkpoint needs before they come, and never holds more than a bounded backlog.
 */
const tmp = mkdtempSync(join(tmpdir(), "sen-deferred-hashing-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(tmp, `log${++dirs}`);
const signingKey = generateKeyPairSync("ed25519");

function event(i: number): AuditEventInput {
  return { type: "order.received", account: `acc-${i % 7}`, symbol: "VNM-VND", side: i % 2 ? "buy" : "sell", price: `${10_000 + (i % 50)}`, qty: `${1 + (i % 9)}`, orderId: `o-${i}`, detail: { note: "héllo ✓", i } };
}

async function openDeferred(dir = freshDir()): Promise<AuditLog> {
  const log = await openAuditLog({ dir, signingKey, checkpointEvery: { events: 1_000_000, ms: 3_600_000 } });
  log.deferLeafHashing();
  return log;
}

async function fill(log: AuditLog, n: number, flushEvery = 100): Promise<void> {
  for (let i = 0; i < n; i++) {
    log.appendStored(event(log.size));
    if ((i + 1) % flushEvery === 0) await log.flush();
  }
  await log.flush();
}

/** The leaf hashes of the stored lines [from, to), as the index's worker makes them. */
async function leavesOf(log: AuditLog, from = 0, to = log.size): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const { line } of log.read(from, to)) out.push(leafHash(Buffer.from(line)));
  return out;
}

describe("audit log: leaf hashes made elsewhere", () => {
  it("takes the leaf hashes it is given instead of hashing the lines (a wrong one is caught at the next open)", async () => {
    const dir = freshDir();
    const log = await openDeferred(dir);
    await fill(log, 600);
    const real = await leavesOf(log);
    // Hashes that are not the lines': a tree that hashed the lines itself would ignore them.
    const bogus = Buffer.alloc(600 * HASH_BYTES, 7);
    log.addLeafHashes(0, bogus);
    const cp = await log.checkpointNow();
    assert.equal(cp.treeSize, 600);
    assert.equal(cp.root, toHex(rootOf(Array.from({ length: 600 }, (_, i) => bogus.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)))));
    assert.notEqual(cp.root, toHex(rootOf(real)));
    await log.close();
    await assert.rejects(openAuditLog({ dir, signingKey }), (err: unknown) => err instanceof AuditError && err.code === AuditCode.TAMPERED);
  });

  it("gives the root of the lines when the given hashes are theirs, and reopens on it", async () => {
    const dir = freshDir();
    const log = await openDeferred(dir);
    await fill(log, 700);
    const real = await leavesOf(log);
    log.addLeafHashes(0, Buffer.concat(real.slice(0, 300)));
    log.addLeafHashes(300, Buffer.concat(real.slice(300)));
    const cp = await log.checkpointNow();
    assert.equal(cp.root, toHex(rootOf(real)));
    await log.close();
    const reopened = await openAuditLog({ dir, signingKey });
    assert.equal(reopened.size, 700);
    assert.equal((await reopened.checkpointNow()).root, toHex(rootOf(real)));
    await reopened.close();
  });

  it("hashes here what a checkpoint or proof needs first, skips those given later, and fills a batch whose hashes never came", async () => {
    const log = await openDeferred();
    await fill(log, 300);
    const first = await leavesOf(log);
    // A batch's hashes never came (its worker call failed): the next batch's fill the gap first.
    log.addLeafHashes(200, Buffer.concat(first.slice(200)));
    assert.equal((await log.checkpointNow()).root, toHex(rootOf(first)));
    await fill(log, 300);
    // No hashes yet for 300..600: the proof hashes them here.
    const proof = log.inclusionProof(550);
    const all = await leavesOf(log);
    assert.equal(proof.root, toHex(rootOf(all)));
    assert.ok(verifyInclusion(all[550], 550, 600, proof.proof.map((h) => Buffer.from(h.slice(2), "hex")), Buffer.from(proof.root.slice(2), "hex")));
    // Hashes arriving after the tree hashed the lines are skipped, even wrong ones.
    log.addLeafHashes(300, Buffer.alloc(300 * HASH_BYTES, 9));
    assert.equal((await log.checkpointNow()).root, toHex(rootOf(all)));
    assert.throws(() => log.addLeafHashes(590, Buffer.alloc(20 * HASH_BYTES)), (err: unknown) => err instanceof AuditError && err.code === AuditCode.BAD_RANGE);
    await log.close();
  });

  it("hashes lines here once more than its backlog bound wait for hashes", async () => {
    const log = await openDeferred();
    const n = (1 << 15) + 1000;
    await fill(log, n, 4096);
    // Past the bound the writes hashed the lines here: wrong hashes given now change nothing.
    log.addLeafHashes(0, Buffer.alloc(n * HASH_BYTES, 5));
    assert.equal((await log.checkpointNow()).root, toHex(rootOf(await leavesOf(log))));
    await log.close();
  });
});

describe("audit trail with the worker index: the worker's leaf hashes build the tree", () => {
  it("checkpoints the root of the stored lines, from hashes the worker made", async () => {
    const dir = freshDir();
    const log = await openAuditLog({ dir, signingKey, checkpointEvery: { events: 1_000_000, ms: 3_600_000 } });
    const index = await openWorkerSqliteAuditIndex(join(dir, "index.sqlite"));
    // Counts the leaf hashes the worker sent back (the screening as the trail sees it).
    let hashed = 0;
    const screening: AuditScreening = {
      ...index.screening!,
      insertAndScreen: async (stored) => {
        const outcome = await index.screening!.insertAndScreen(stored);
        hashed += (outcome.leafHashes?.length ?? 0) / HASH_BYTES;
        return outcome;
      },
    };
    const trail = await AuditTrail.open({ log, index: { ...index, screening }, logger: createLogger("silent"), flushEveryMs: 3_600_000 });
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 200; i++) trail.append(event(log.size));
      await trail.flush();
    }
    assert.equal(hashed, 1000, "every line's leaf hash came from the worker");
    assert.equal((await log.checkpointNow()).root, toHex(rootOf(await leavesOf(log))));
    await trail.close();
  });
});
