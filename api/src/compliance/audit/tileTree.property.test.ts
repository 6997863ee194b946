import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import fc from "fast-check";
import { openAuditLog } from "./auditLog.ts";
import type { AuditLog, AuditLogOptions } from "./auditLog.ts";
import { leafHash, MerkleTree, toHex } from "./merkle.ts";
import { TILE_WIDTH } from "./tileTree.ts";

const tmp = mkdtempSync(join(tmpdir(), "sen-tiles-prop-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const signingKey = generateKeyPairSync("ed25519");
let dirs = 0;

/** A level-1 tile (256 leaf tiles) completes at 65,536 leaves: logs past it use three tile levels. */
const LONG = TILE_WIDTH * TILE_WIDTH + TILE_WIDTH;

const step = fc.record({
  append: fc.integer({ min: 1, max: 9_000 }),
  // how the writer leaves the log after this step: still open, closed, or dropped without close (its files as a crash after the last flush leaves them)
  then: fc.constantFrom("continue", "close", "abandon"),
});

async function compare(log: AuditLog, reference: MerkleTree, pick: () => number): Promise<void> {
  const n = log.size;
  assert.equal(reference.size, n);
  for (let k = 0; k < 12; k++) {
    const m = 1 + (pick() % n);
    const i = pick() % m;
    const j = pick() % (m + 1);
    const p = log.inclusionProof(i, m);
    assert.equal(p.root, toHex(reference.root(m)), `root at ${m} of ${n}`);
    assert.equal(p.leafHash, toHex(reference.leaf(i)));
    assert.deepEqual(p.proof, reference.inclusionProof(i, m).map(toHex), `inclusion proof of ${i} in ${m}`);
    const c = log.consistencyProof(j, m);
    assert.deepEqual(c.proof, reference.consistencyProof(j, m).map(toHex), `consistency proof ${j} -> ${m}`);
    assert.equal(c.firstRoot, toHex(reference.root(j)));
  }
}

it("roots and proofs of a tiled log, reopened at random points, equal a tree built from scratch at every size", { timeout: 240_000 }, async () => {
  let longest = 0;
  let reopenedLong = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 16, size: "max" }), fc.constantFrom(2_500, 20_000, 1_000_000), fc.integer(), async (steps, segmentEvents, seed) => {
      const dir = join(tmp, `log${++dirs}`);
      const options: AuditLogOptions = { dir, signingKey, segmentEvents, fsync: "batch", checkpointEvery: { events: 7_000, ms: 3_600_000 } };
      let rnd = seed >>> 0;
      const pick = () => (rnd = (Math.imul(rnd, 1664525) + 1013904223) >>> 0);
      const reference = new MerkleTree();
      let log = await openAuditLog(options);
      for (const s of steps) {
        for (let k = 0; k < s.append; k++) {
          const e = log.append({ type: "order.received", account: `a${pick() % 97}`, qty: String(pick() % 1000) });
          if ((e.seq + 1) % 1_000 === 0) await log.flush();
        }
        await log.flush();
        for await (const { seq, line } of log.read(reference.size)) {
          assert.equal(seq, reference.size);
          reference.append(leafHash(Buffer.from(line)));
        }
        await compare(log, reference, pick);
        if (s.then === "continue") continue;
        if (s.then === "close") await log.close();
        else for (let t = 0; t < 3; t++) await new Promise((r) => setImmediate(r)); // let a queued checkpoint finish before dropping the writer
        log = await openAuditLog(options);
        await compare(log, reference, pick);
        if (log.size >= LONG) reopenedLong++;
      }
      longest = Math.max(longest, log.size);
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    }),
    {
      numRuns: 12,
      // one long history for sure (random ones reach three tile levels only sometimes), crossing segments and a level-1 tile
      examples: [
        [
          [
            { append: 40_000, then: "close" },
            { append: 26_000, then: "abandon" },
            { append: 300, then: "continue" },
            { append: 900, then: "close" },
          ],
          2_500,
          7,
        ],
      ],
    },
  );
  console.log(`tiles property: longest log ${longest} events, ${reopenedLong} reopens past ${LONG}`);
  assert.ok(longest >= LONG, `no log grew past ${LONG} events (three tile levels); longest ${longest}`);
  assert.ok(reopenedLong > 0, "no log was reopened past three tile levels");
});
