import type { KeyObject } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AnchoredCheckpoint } from "../../src/compliance/audit/checkpoint.ts";
import { signCheckpoint } from "../../src/compliance/audit/checkpoint.ts";
import { leafHash, MerkleTree, toHex } from "../../src/compliance/audit/merkle.ts";

/**
 * Every kind of tampered export (issue #17's list), applied in place to an export directory:
 * shared by the property test over generated histories (verifyExportTamper.property.test.ts)
 * and the end-to-end bundle test (auditBundle.e2e.test.ts), so both attack the same way.
 */
type KeyPair = { privateKey: KeyObject; publicKey: KeyObject };
export const pemOf = (k: KeyObject) => k.export({ type: "spki", format: "pem" }).toString();

export const TAMPERS = ["edit", "delete", "swap", "append", "truncate", "forgedSignature", "resignedStripped", "wrongAnchorAddress"] as const;
export type Tamper = (typeof TAMPERS)[number];
/** The problem each tamper must produce (among others). */
export const EXPECTED: Record<Tamper, readonly string[]> = {
  edit: ["edited", "rootMismatch"],
  delete: ["missing", "rootMismatch"],
  swap: ["reordered", "rootMismatch"],
  append: ["inserted"],
  truncate: ["truncated"],
  forgedSignature: ["badSignature"],
  resignedStripped: ["anchorMismatch"],
  wrongAnchorAddress: ["anchorMismatch"],
};

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

/** Generated choices: which rows, how many, whether the re-signer reuses the exchange's key, a wrong contract address. */
export type Knobs = { a: number; b: number; sameKey: boolean; count: number; address: string };
/** The exchange's signing key and a forger's own. */
export type TamperKeys = { exchange: KeyPair; forger: KeyPair };

/**
 * Applies one tamper to a copy of the genuine export. `anchoredEnd` is the contract's latest
 * anchored size, which the genuine export reaches.
 */
export function tamper(kind: Tamper, dir: string, k: Knobs, anchoredEnd: number, keys: TamperKeys): void {
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
      cps[i] = k.sameKey ? { ...cp, root: other } : { ...signCheckpoint({ origin: cp.origin, treeSize: cp.treeSize, root: cp.root, time: cp.time }, keys.forger.privateKey), anchor: cp.anchor };
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
      const key = k.sameKey ? keys.exchange : keys.forger;
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
