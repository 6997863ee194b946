import { createPublicKey } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { BaseError, ContractFunctionRevertedError, createPublicClient, http, parseAbi, zeroHash } from "viem";
import type { Address, Hex, PublicClient } from "viem";
import { readLines } from "../journal/readLines.ts";
import type { AnchoredCheckpoint } from "./checkpoint.ts";
import { verifyCheckpoint } from "./checkpoint.ts";
import { AuditCode, AuditError } from "./errors.ts";
import { fromHex, HASH_BYTES, leafHash, MerkleTree, toHex, verifyConsistency } from "./merkle.ts";

/**
 * Verifies an audit-log export (the directory written by AuditLog.exportTo) offline:
 *
 * - every checkpoint is signed by the export's public key (or `publicKeyPem`, to pin a key
 *   obtained elsewhere) under the manifest's origin;
 * - the events' recomputed leaf hashes give each signed checkpoint's root, and consecutive
 *   checkpoints are consistent (an RFC 9162 proof computed from the events verifies against
 *   the two signed roots);
 * - the `seq` fields run 0..N-1;
 * - with an RPC endpoint, each anchored checkpoint's root equals AuditAnchor.rootAt(size).
 *
 * To name the FIRST altered record, the untrusted `leaves.bin` is used only once its own
 * Merkle root equals a signed root covering the failure (then it is as good as signed); the
 * first event whose leaf hash differs is classified as edited, missing, inserted or
 * reordered. Otherwise the verifier names the checkpoint range that fails.
 */
export type ProblemKind = "edited" | "missing" | "reordered" | "inserted" | "badSignature" | "rootMismatch" | "anchorMismatch" | "parse";
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
  rpcUrl?: string;
  /** AuditAnchor address; default: the one recorded with each anchor. */
  anchorAddress?: string;
  /** Pin the log's key instead of trusting the export's checkpoint.pub. */
  publicKeyPem?: string;
};

type Manifest = { origin?: string; events?: number; rpcUrl?: string; anchor?: { chainId: number; contract: string } };

export const auditAnchorReadAbi = parseAbi(["function rootAt(uint64 treeSize) view returns (bytes32)", "error AnchorUnknownTreeSize(uint64 treeSize)"]);

/** AuditAnchor.rootAt, its "never anchored" revert read as the zero root: a finding, not an I/O failure. */
async function anchoredRoot(client: PublicClient, address: Address, treeSize: number): Promise<Hex> {
  try {
    return await client.readContract({ address, abi: auditAnchorReadAbi, functionName: "rootAt", args: [BigInt(treeSize)] });
  } catch (e) {
    const revert = e instanceof BaseError ? e.walk((x) => x instanceof ContractFunctionRevertedError) : null;
    if (revert instanceof ContractFunctionRevertedError && revert.data?.errorName === "AnchorUnknownTreeSize") return zeroHash;
    throw e;
  }
}

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
    manifest = JSON.parse((await readRequired(join(dir, "manifest.json"))).toString("utf8")) as Manifest;
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
  const checkpoints: AnchoredCheckpoint[] = [];
  {
    const text = (await readRequired(join(dir, "checkpoints.jsonl"))).toString("utf8");
    const rows = text.split("\n");
    if (rows.at(-1) === "") rows.pop();
    rows.forEach((row, i) => {
      let v: unknown;
      try {
        v = JSON.parse(row);
      } catch {
        problems.push({ kind: "parse", message: `checkpoints.jsonl line ${i + 1} is not JSON` });
        return;
      }
      if (isCheckpoint(v)) checkpoints.push(v);
      else problems.push({ kind: "parse", message: `checkpoints.jsonl line ${i + 1} is not a checkpoint` });
    });
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
    try {
      const v = JSON.parse(line.bytes.toString("utf8")) as { seq?: unknown };
      if (typeof v === "object" && v !== null && typeof v.seq === "number") seq = v.seq;
      else throw new Error("no numeric seq field");
    } catch (e) {
      parseCount++;
      firstParse ??= { kind: "parse", seq: i, message: `events.jsonl line ${i + 1} (seq ${i}) is not an audit event: ${(e as Error).message}` };
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

  // ---- anchors
  let anchorsChecked = 0;
  const rpcUrl = opts.rpcUrl ?? manifest.rpcUrl;
  const anchored = trusted.filter((c) => c.anchor !== undefined);
  if (!rpcUrl) {
    notes.push(anchored.length > 0 ? `anchors not checked (no --rpc): ${anchored.length} checkpoint(s) have anchor records` : "anchors not checked (no --rpc)");
  } else if (anchored.length === 0 && !opts.anchorAddress) {
    notes.push("no checkpoint has an anchor record; nothing to check on chain");
  } else {
    const client = createPublicClient({ transport: http(rpcUrl) });
    const chainId = await client.getChainId();
    const toCheck = anchored.length > 0 ? anchored : trusted.slice(-1);
    for (const cp of toCheck) {
      const address = (opts.anchorAddress ?? cp.anchor?.contract ?? manifest.anchor?.contract) as Address | undefined;
      if (!address) continue;
      if (cp.anchor && cp.anchor.chainId !== chainId) {
        problems.push({ kind: "anchorMismatch", treeSize: cp.treeSize, message: `anchor of tree size ${cp.treeSize} was recorded on chain ${cp.anchor.chainId}, the RPC serves chain ${chainId}` });
        continue;
      }
      const onChain = await anchoredRoot(client, address, cp.treeSize);
      // Probing a checkpoint that claims no anchor: anchoring lags checkpoints, so "none yet" is not tampering.
      if (!cp.anchor && /^0x0+$/.test(onChain)) {
        notes.push(`tree size ${cp.treeSize} is not anchored in ${address} (yet); nothing to compare`);
        continue;
      }
      anchorsChecked++;
      if (onChain.toLowerCase() !== cp.root.toLowerCase()) {
        problems.push({
          kind: "anchorMismatch",
          treeSize: cp.treeSize,
          message: /^0x0+$/.test(onChain) ? `AuditAnchor ${address} has no root for tree size ${cp.treeSize}` : `AuditAnchor ${address} holds ${onChain} for tree size ${cp.treeSize}, the signed checkpoint says ${cp.root}`,
        });
      }
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

function checkSeqFields(seqs: number[]): VerifyProblem | undefined {
  let i = 0;
  while (i < seqs.length && seqs[i] === i) i++;
  if (i === seqs.length) return undefined;
  const present = new Set(seqs);
  if (!present.has(i)) return { kind: "missing", seq: i, message: `no line carries seq ${i} (line ${i + 1} says ${seqs[i]})` };
  if (seqs.indexOf(seqs[i]) < i) return { kind: "inserted", seq: i, message: `line ${i + 1} repeats seq ${seqs[i]}` };
  return { kind: "reordered", seq: i, message: `line ${i + 1} carries seq ${seqs[i]}, expected ${i}` };
}
