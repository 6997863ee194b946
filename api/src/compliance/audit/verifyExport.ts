import { createPublicKey } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { readLines } from "../../journal/readLines.ts";
import type { AnchoredCheckpoint } from "./checkpoint.ts";
import { verifyCheckpoint } from "./checkpoint.ts";
import { AuditCode, AuditError } from "./errors.ts";
import { fromHex, HASH_BYTES, leafHash, MerkleTree, toHex, verifyConsistency } from "./merkle.ts";
import type { TrustedAnchor } from "./trustedAnchor.ts";
import { readAnchorHistory } from "./trustedAnchor.ts";

/**
 * Verifies an audit-log export (the directory written by AuditLog.exportTo) offline:
 *
 * - every checkpoint is signed by the export's public key (or `publicKeyPem`, to pin a key
 *   obtained elsewhere) under the manifest's origin;
 * - the events' recomputed leaf hashes give each signed checkpoint's root, and consecutive
 *   checkpoints are consistent (an RFC 9162 proof computed from the events verifies against
 *   the two signed roots);
 * - the `seq` fields run 0..N-1;
 * - with a trusted chain (RPC, AuditAnchor address and chain id given by the auditor), every
 *   root in the contract's RootAnchored history up to the export's end equals the root of the
 *   export's events at that size, the export's anchor records name that contract, and the
 *   export reaches the contract's latest anchored size (or the requested `partialTo`).
 *
 * To name the FIRST altered record, the untrusted `leaves.bin` is used only once its own
 * Merkle root equals a signed root covering the failure (then it is as good as signed); the
 * first event whose leaf hash differs is classified as edited, missing, inserted or
 * reordered. Otherwise the verifier names the checkpoint range that fails.
 */
export type ProblemKind = "edited" | "missing" | "reordered" | "inserted" | "badSignature" | "rootMismatch" | "anchorMismatch" | "truncated" | "parse";
export type VerifyProblem = { kind: ProblemKind; seq?: number; treeSize?: number; message: string };
export type VerifyResult = {
  ok: boolean;
  events: number;
  checkpoints: number;
  anchorsChecked: number;
  problems: VerifyProblem[];
  /** What was and was not checked (e.g. "anchors not checked (no --rpc)"). */
  notes: string[];
};
export type VerifyExportOptions = {
  /** The chain to check against, from trusted input (deployment file or flags), never from the export. */
  chain?: TrustedAnchor;
  /** Pin the log's key instead of trusting the export's checkpoint.pub. */
  publicKeyPem?: string;
  /**
   * The auditor asked for an export ending at this tree size: the export must end exactly
   * there, and later anchored roots are then not a sign of truncation.
   */
  partialTo?: number;
};

type Manifest = { origin?: string; events?: number; anchor?: { chainId: number; contract: string } };

async function readRequired(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (cause) {
    throw new AuditError(AuditCode.IO, `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
}

function isCheckpoint(v: unknown): v is AnchoredCheckpoint {
  const o = v as Record<string, unknown>;
  return (
    typeof o === "object" &&
    o !== null &&
    typeof o.origin === "string" &&
    typeof o.treeSize === "number" &&
    typeof o.root === "string" &&
    typeof o.time === "string" &&
    typeof o.keyId === "string" &&
    typeof o.signature === "string"
  );
}

/** Index of `h` in tree leaves [0, limit), or -1. A linear scan: run once per verification. */
function indexOfLeaf(tree: MerkleTree, h: Buffer, limit: number): number {
  const buf = Buffer.allocUnsafe(4096 * HASH_BYTES);
  for (let i = 0; i < limit; i += 4096) {
    const j = Math.min(limit, i + 4096);
    tree.copyLeaves(i, j, buf);
    for (let k = 0; k < j - i; k++) if (buf.compare(h, 0, HASH_BYTES, k * HASH_BYTES, (k + 1) * HASH_BYTES) === 0) return i + k;
  }
  return -1;
}

export async function verifyExport(dir: string, opts: VerifyExportOptions = {}): Promise<VerifyResult> {
  if (!(await stat(dir).catch(() => null))?.isDirectory()) throw new AuditError(AuditCode.IO, `${dir} is not a directory`);
  const problems: VerifyProblem[] = [];
  const notes: string[] = [];

  let manifest: Manifest = {};
  try {
    const parsed = JSON.parse((await readRequired(join(dir, "manifest.json"))).toString("utf8")) as unknown;
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) manifest = parsed as Manifest;
    else problems.push({ kind: "parse", message: "manifest.json is not a JSON object" });
  } catch (e) {
    if (e instanceof AuditError) throw e;
    problems.push({ kind: "parse", message: `manifest.json is not JSON: ${(e as Error).message}` });
  }
  let publicKey: KeyObject;
  const pem = opts.publicKeyPem ?? (await readRequired(join(dir, "checkpoint.pub"))).toString("utf8");
  try {
    publicKey = createPublicKey(pem);
  } catch (cause) {
    throw new AuditError(AuditCode.IO, `the public key is not a PEM key: ${(cause as Error).message}`, { cause });
  }
  if (opts.publicKeyPem === undefined) notes.push("public key taken from the export's checkpoint.pub: compare it with the key published by the exchange (or pass a pinned key)");

  // ---- checkpoints
  // Line by line, never the file as one string: at one checkpoint every 10 s a decade is ~31M lines, past V8's string limit.
  const checkpoints: AnchoredCheckpoint[] = [];
  {
    const file = join(dir, "checkpoints.jsonl");
    let i = 0;
    try {
      for await (const { bytes } of readLines(file)) {
        i++;
        let v: unknown;
        try {
          v = JSON.parse(bytes.toString("utf8"));
        } catch {
          problems.push({ kind: "parse", message: `checkpoints.jsonl line ${i} is not JSON` });
          continue;
        }
        if (isCheckpoint(v)) checkpoints.push(v);
        else problems.push({ kind: "parse", message: `checkpoints.jsonl line ${i} is not a checkpoint` });
      }
    } catch (cause) {
      throw new AuditError(AuditCode.IO, `cannot read ${file}: ${(cause as Error).message}`, { cause });
    }
  }

  // ---- events: recompute leaf hashes, check seq fields
  const events = new MerkleTree();
  const seqs: number[] = [];
  let firstParse: VerifyProblem | undefined;
  let parseCount = 0;
  for await (const line of readLines(join(dir, "events.jsonl"))) {
    const i = events.size;
    events.append(leafHash(line.bytes));
    let seq = Number.NaN;
    let unreadable: string | undefined;
    try {
      const v = JSON.parse(line.bytes.toString("utf8")) as { seq?: unknown };
      if (typeof v === "object" && v !== null && typeof v.seq === "number") seq = v.seq;
      else unreadable = "no numeric seq field";
    } catch (e) {
      unreadable = (e as Error).message;
    }
    if (unreadable !== undefined) {
      parseCount++;
      firstParse ??= { kind: "parse", seq: i, message: `events.jsonl line ${i + 1} (seq ${i}) is not an audit event: ${unreadable}` };
    }
    if (!line.terminated) {
      parseCount++;
      firstParse ??= { kind: "parse", seq: i, message: `events.jsonl line ${i + 1} has no final newline (cut short?)` };
    }
    seqs.push(seq);
  }
  const n = events.size;
  if (manifest.events !== undefined && manifest.events !== n) notes.push(`manifest says ${manifest.events} events, events.jsonl has ${n}`);

  // ---- signatures
  const trusted: AnchoredCheckpoint[] = [];
  for (const cp of checkpoints) {
    if (manifest.origin !== undefined && cp.origin !== manifest.origin) {
      problems.push({ kind: "badSignature", treeSize: cp.treeSize, message: `checkpoint at tree size ${cp.treeSize} is for origin "${cp.origin}", not "${manifest.origin}"` });
    } else if (!verifyCheckpoint(cp, publicKey)) {
      problems.push({ kind: "badSignature", treeSize: cp.treeSize, message: `checkpoint at tree size ${cp.treeSize} (${cp.time}) does not verify with the log's public key: the checkpoint was forged or altered` });
    } else if (trusted.length > 0 && cp.treeSize < trusted[trusted.length - 1].treeSize) {
      problems.push({ kind: "rootMismatch", treeSize: cp.treeSize, message: `signed checkpoints go backwards: ${trusted[trusted.length - 1].treeSize} then ${cp.treeSize}` });
    } else {
      trusted.push(cp);
    }
  }
  if (trusted.length === 0) problems.push({ kind: "badSignature", message: "no valid signed checkpoint: nothing in this export is authenticated" });

  // ---- roots and consistency
  let firstFailing: AnchoredCheckpoint | undefined;
  let lastGood: AnchoredCheckpoint | undefined;
  let failing = 0;
  for (const cp of trusted) {
    const ok = cp.treeSize <= n && toHex(events.root(cp.treeSize)) === cp.root.toLowerCase();
    if (!ok) {
      failing++;
      firstFailing ??= cp;
      continue;
    }
    if (!firstFailing) {
      if (lastGood && lastGood.treeSize < cp.treeSize) {
        const proof = events.consistencyProof(lastGood.treeSize, cp.treeSize);
        if (!verifyConsistency(lastGood.treeSize, cp.treeSize, fromHex(lastGood.root), fromHex(cp.root), proof)) {
          problems.push({ kind: "rootMismatch", treeSize: cp.treeSize, message: `checkpoints ${lastGood.treeSize} and ${cp.treeSize} are not consistent` });
        }
      }
      lastGood = cp;
    }
  }

  const eventProblems: VerifyProblem[] = [];
  if (firstFailing) {
    const from = lastGood?.treeSize ?? 0;
    const located = await locate(dir, events, trusted, firstFailing, from);
    if (located) eventProblems.push(located);
    else {
      problems.push({
        kind: "rootMismatch",
        treeSize: firstFailing.treeSize,
        message: `records in seq range [${from}, ${firstFailing.treeSize}) were altered: they do not hash to the root signed at tree size ${firstFailing.treeSize} (leaves.bin is not covered by a signed root, so the exact record cannot be named)`,
      });
    }
    if (located) {
      problems.push({
        kind: "rootMismatch",
        treeSize: firstFailing.treeSize,
        message: `the events do not hash to the root signed at tree size ${firstFailing.treeSize}${failing > 1 ? ` (nor to ${failing - 1} later checkpoint(s))` : ""}`,
      });
    }
  } else if (trusted.length > 0 && n > trusted[trusted.length - 1].treeSize) {
    const t = trusted[trusted.length - 1].treeSize;
    eventProblems.push({ kind: "inserted", seq: t, message: `${n - t} line(s) after the last signed checkpoint (tree size ${t}) are covered by no signature; an export ends at a checkpoint` });
  }

  // seq fields: independent of hashes, reported when the hashes did not already name the record.
  const seqProblem = checkSeqFields(seqs);
  if (seqProblem && eventProblems.length === 0) eventProblems.push(seqProblem);
  if (firstParse) problems.unshift(parseCount > 1 ? { ...firstParse, message: `${firstParse.message} (${parseCount} bad lines)` } : firstParse);
  problems.unshift(...eventProblems);

  // ---- the chain: trusted address, every anchored root, and how far the contract has got
  let anchorsChecked = 0;
  const end = trusted.length > 0 ? trusted[trusted.length - 1].treeSize : 0;
  if (!opts.chain) {
    const anchored = trusted.filter((c) => c.anchor !== undefined).length;
    notes.push(anchored > 0 ? `anchors not checked (no --rpc): ${anchored} checkpoint(s) have anchor records` : "anchors not checked (no --rpc)");
    if (opts.partialTo !== undefined && opts.partialTo !== end) problems.push(partialMismatch(end, opts.partialTo));
  } else {
    const t = opts.chain;
    const history = await readAnchorHistory(t);
    const address = t.address.toLowerCase();
    const byTreeSize = new Map(trusted.map((c) => [c.treeSize, c]));

    // The export's own anchor records are unsigned: one naming another contract or chain is a lie, not a pointer.
    for (const cp of trusted) {
      if (!cp.anchor) continue;
      if (String(cp.anchor.contract).toLowerCase() !== address) {
        problems.push({ kind: "anchorMismatch", treeSize: cp.treeSize, message: `the anchor record of tree size ${cp.treeSize} names contract ${cp.anchor.contract}, the trusted AuditAnchor is ${t.address}` });
      } else if (cp.anchor.chainId !== t.chainId) {
        problems.push({ kind: "anchorMismatch", treeSize: cp.treeSize, message: `the anchor record of tree size ${cp.treeSize} says chain ${cp.anchor.chainId}, the trusted AuditAnchor is on chain ${t.chainId}` });
      } else if (!history.roots.has(cp.treeSize)) {
        problems.push({ kind: "anchorMismatch", treeSize: cp.treeSize, message: `AuditAnchor ${t.address} has no root for tree size ${cp.treeSize}, though the export records an anchor there` });
      }
    }
    if (typeof manifest.anchor === "object" && manifest.anchor !== null && (String(manifest.anchor.contract).toLowerCase() !== address || manifest.anchor.chainId !== t.chainId)) {
      problems.push({ kind: "anchorMismatch", message: `manifest.json names AuditAnchor ${manifest.anchor.contract} on chain ${manifest.anchor.chainId}, the trusted one is ${t.address} on chain ${t.chainId}` });
    }

    // Every anchored root the export covers is recomputed from the events themselves, whether or
    // not the export kept a checkpoint or an anchor record there: stripping records hides nothing.
    const sizes = [...history.roots.keys()].sort((a, b) => a - b);
    for (const size of sizes) {
      if (size > end) break;
      const onChain = history.roots.get(size)!;
      anchorsChecked++;
      const cp = byTreeSize.get(size);
      if (cp && cp.root.toLowerCase() !== onChain) {
        problems.push({ kind: "anchorMismatch", treeSize: size, message: `AuditAnchor ${t.address} holds ${onChain} for tree size ${size}, the signed checkpoint says ${cp.root}` });
      } else if (size > n) {
        problems.push({ kind: "anchorMismatch", treeSize: size, message: `AuditAnchor ${t.address} anchors tree size ${size}, the export has only ${n} events` });
      } else if (toHex(events.root(size)) !== onChain) {
        problems.push({ kind: "anchorMismatch", treeSize: size, message: `the first ${size} events do not hash to the root AuditAnchor ${t.address} holds for tree size ${size} (${onChain})` });
      }
    }

    // Coverage: the contract proves how far the log had got; an export that stops earlier was cut short.
    const latest = history.latestTreeSize;
    if (opts.partialTo !== undefined) {
      if (opts.partialTo !== end) problems.push(partialMismatch(end, opts.partialTo));
      else if (latest > end) notes.push(`a partial export by request (--partial-to ${end}): AuditAnchor holds roots up to tree size ${latest}, not covered`);
    } else if (latest > end) {
      problems.push({
        kind: "truncated",
        treeSize: latest,
        message: `the export ends at tree size ${end} but AuditAnchor ${t.address} already anchors tree size ${latest}: the export was cut short (pass --partial-to ${end} if you asked for an export ending there)`,
      });
    }
    if (end > latest) {
      notes.push(`tree sizes ${latest}..${end} are not anchored yet: only the signature${opts.publicKeyPem === undefined ? " (with the export's own key)" : ""} vouches for them`);
    }
  }

  return { ok: problems.length === 0, events: n, checkpoints: checkpoints.length, anchorsChecked, problems, notes };
}

/**
 * Names the first altered record, when leaves.bin is authenticated (its Merkle root equals a
 * signed root at or beyond the first failing checkpoint). Undefined when it is not.
 */
async function locate(dir: string, events: MerkleTree, trusted: AnchoredCheckpoint[], failing: AnchoredCheckpoint, from: number): Promise<VerifyProblem | undefined> {
  const raw = await readFile(join(dir, "leaves.bin")).catch(() => null);
  if (!raw || raw.length % HASH_BYTES !== 0) return undefined;
  const leaves = new MerkleTree();
  for (let o = 0; o < raw.length; o += HASH_BYTES) leaves.append(raw.subarray(o, o + HASH_BYTES));
  let authentic = 0;
  for (const cp of trusted) if (cp.treeSize <= leaves.size && toHex(leaves.root(cp.treeSize)) === cp.root.toLowerCase()) authentic = Math.max(authentic, cp.treeSize);
  if (authentic < failing.treeSize) return undefined;

  // The signed prefix [0, from) is already proven equal; the first difference lies beyond it.
  const limit = Math.min(events.size, authentic);
  let i = from;
  while (i < limit && events.leaf(i).equals(leaves.leaf(i))) i++;
  if (i === limit) {
    if (events.size < failing.treeSize) {
      return { kind: "missing", seq: events.size, message: `events from seq ${events.size} are missing: the export stops at ${events.size} but the checkpoint signs ${failing.treeSize}` };
    }
    return undefined;
  }
  const here = events.leaf(i); // what line i holds
  const want = leaves.leaf(i); // what seq i should be
  const hereIsSigned = indexOfLeaf(leaves, here, authentic); // where line i's content belongs
  const wantIsPresent = indexOfLeaf(events, want, events.size); // where seq i's real event went
  if (hereIsSigned < 0 && wantIsPresent < 0) return { kind: "edited", seq: i, message: `seq ${i} was edited: its stored line does not hash to the signed leaf` };
  if (hereIsSigned < 0 && wantIsPresent > i) return { kind: "inserted", seq: i, message: `a line that was never signed was inserted before seq ${i} (seq ${i}'s event now sits on line ${wantIsPresent + 1})` };
  if (hereIsSigned > i && wantIsPresent < 0) return { kind: "missing", seq: i, message: `seq ${i} was deleted: line ${i + 1} holds the event signed as seq ${hereIsSigned}` };
  if (hereIsSigned >= 0 && wantIsPresent >= 0) return { kind: "reordered", seq: i, message: `events were reordered: line ${i + 1} holds signed seq ${hereIsSigned}, seq ${i}'s event is on line ${wantIsPresent + 1}` };
  return { kind: "edited", seq: i, message: `seq ${i} does not match its signed leaf` };
}

function partialMismatch(end: number, partialTo: number): VerifyProblem {
  return { kind: "truncated", treeSize: end, message: `the export ends at tree size ${end}, not at the requested --partial-to ${partialTo}` };
}

function checkSeqFields(seqs: number[]): VerifyProblem | undefined {
  let i = 0;
  while (i < seqs.length && seqs[i] === i) i++;
  if (i === seqs.length) return undefined;
  const present = new Set(seqs);
  if (!present.has(i)) return { kind: "missing", seq: i, message: `no line carries seq ${i} (line ${i + 1} says ${seqs[i]})` };
  if (seqs.indexOf(seqs[i]) < i) return { kind: "inserted", seq: i, message: `line ${i + 1} repeats seq ${seqs[i]}` };
  return { kind: "reordered", seq: i, message: `line ${i + 1} carries seq ${seqs[i]}, expected ${i}` };
}
