import { createPublicKey } from "node:crypto";
import { readFile, rename, writeFile } from "node:fs/promises";
import type { Checkpoint } from "./checkpoint.ts";
import { verifyCheckpoint } from "./checkpoint.ts";
import { AuditCode, AuditError } from "./errors.ts";
import type { ConsistencyProofResult, InclusionProofResult } from "./auditLog.ts";
import { fromHex, verifyConsistency, verifyInclusion } from "./merkle.ts";
import type { VerifyProblem, VerifyResult } from "./verifyExport.ts";

/**
 * Witness mode (RFC 9162 §8.3 style): check a running gateway's latest signed checkpoint
 * against the one this witness saw last time, kept in a state file. Endpoints (KuCoin
 * envelope `{ code: "200000", data }`):
 *
 *   GET /api/v1/audit/checkpoint                             data = Checkpoint & { publicKeyPem: string }
 *   GET /api/v1/audit/proof/inclusion?seq=&treeSize=         data = InclusionProofResult
 *   GET /api/v1/audit/proof/consistency?first=&second=       data = ConsistencyProofResult
 *
 * The witness pins the public key on first use; a later change of key is a problem, as is
 * a checkpoint that does not extend the saved one. The state advances only when all is well.
 */
export type WitnessState = { url: string; checkpoint: Checkpoint; publicKeyPem: string; checkedAt: string };

async function getData<T>(url: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: "application/json" } });
  } catch (cause) {
    throw new AuditError(AuditCode.IO, `GET ${url} failed: ${(cause as Error).message}`, { cause });
  }
  const body = (await res.json().catch(() => null)) as { code?: string; data?: T; msg?: string } | null;
  if (!res.ok || !body || body.code !== "200000" || body.data === undefined) {
    throw new AuditError(AuditCode.IO, `GET ${url}: HTTP ${res.status}${body?.msg ? ` (${body.msg})` : ""}`);
  }
  return body.data;
}

export async function witnessCheck(baseUrl: string, stateFile?: string): Promise<VerifyResult> {
  const base = baseUrl.replace(/\/+$/, "");
  const problems: VerifyProblem[] = [];
  const notes: string[] = [];
  const served = await getData<Checkpoint & { publicKeyPem: string }>(`${base}/api/v1/audit/checkpoint`);
  const cp: Checkpoint = { origin: served.origin, treeSize: served.treeSize, root: served.root, time: served.time, keyId: served.keyId, signature: served.signature };

  let previous: WitnessState | undefined;
  if (stateFile) {
    const text = await readFile(stateFile, "utf8").catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return undefined;
      throw new AuditError(AuditCode.IO, `cannot read state file ${stateFile}: ${e.message}`, { cause: e });
    });
    if (text !== undefined) previous = JSON.parse(text) as WitnessState;
  } else {
    notes.push("no --state file: the checkpoint is checked on its own, not against an earlier one");
  }

  const pem = previous?.publicKeyPem ?? served.publicKeyPem;
  if (previous && previous.publicKeyPem.trim() !== served.publicKeyPem.trim()) {
    problems.push({ kind: "badSignature", treeSize: cp.treeSize, message: "the gateway now serves a different public key than the one pinned in the state file" });
  }
  if (!verifyCheckpoint(cp, createPublicKey(pem))) {
    problems.push({ kind: "badSignature", treeSize: cp.treeSize, message: `the served checkpoint (tree size ${cp.treeSize}) does not verify with the ${previous ? "pinned" : "served"} public key` });
  }

  if (previous && problems.length === 0) {
    const old = previous.checkpoint;
    if (cp.origin !== old.origin) {
      problems.push({ kind: "badSignature", treeSize: cp.treeSize, message: `origin changed from "${old.origin}" to "${cp.origin}"` });
    } else if (cp.treeSize < old.treeSize) {
      problems.push({ kind: "rootMismatch", treeSize: cp.treeSize, message: `the log shrank: tree size ${old.treeSize} was signed before, now ${cp.treeSize}` });
    } else if (cp.treeSize === old.treeSize) {
      if (cp.root !== old.root) problems.push({ kind: "rootMismatch", treeSize: cp.treeSize, message: `two different roots signed for tree size ${cp.treeSize}: the log was rewritten (a fork)` });
    } else if (old.treeSize > 0) {
      const p = await getData<ConsistencyProofResult>(`${base}/api/v1/audit/proof/consistency?first=${old.treeSize}&second=${cp.treeSize}`);
      if (!verifyConsistency(old.treeSize, cp.treeSize, fromHex(old.root), fromHex(cp.root), p.proof.map(fromHex))) {
        problems.push({ kind: "rootMismatch", treeSize: cp.treeSize, message: `the checkpoint at ${cp.treeSize} does not extend the one at ${old.treeSize} seen on ${previous.checkedAt}: history was rewritten` });
      }
    }
  }

  if (problems.length === 0 && cp.treeSize > 0) {
    // Spot-check that the gateway's proofs match its signed root (the newest leaf).
    const seq = cp.treeSize - 1;
    const p = await getData<InclusionProofResult>(`${base}/api/v1/audit/proof/inclusion?seq=${seq}&treeSize=${cp.treeSize}`);
    if (!verifyInclusion(fromHex(p.leafHash), seq, cp.treeSize, p.proof.map(fromHex), fromHex(cp.root))) {
      problems.push({ kind: "rootMismatch", seq, treeSize: cp.treeSize, message: `the served inclusion proof of seq ${seq} does not verify against the signed root` });
    }
  }

  if (stateFile && problems.length === 0) {
    const state: WitnessState = { url: base, checkpoint: cp, publicKeyPem: pem, checkedAt: new Date().toISOString() };
    await writeFile(`${stateFile}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { flush: true });
    await rename(`${stateFile}.tmp`, stateFile);
    notes.push(previous ? `state advanced from tree size ${previous.checkpoint.treeSize} to ${cp.treeSize}` : `state file created at tree size ${cp.treeSize} (key pinned)`);
  }
  notes.push("anchors not checked in witness mode");
  return { ok: problems.length === 0, events: cp.treeSize, checkpoints: 1, anchorsChecked: 0, problems, notes };
}
