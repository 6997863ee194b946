/**
 * npm run audit:verify -- <export dir | gateway base URL> [--rpc <url>] [--anchor <address>] [--pubkey <pem file>] [--state <file>] [--json]
 *
 * Export directory (written by AuditLog.exportTo / the compliance export): checks every
 * signed checkpoint, recomputes the Merkle tree from the events, names the first edited,
 * missing, inserted or reordered record, and with --rpc compares anchored roots with the
 * AuditAnchor contract (`rootAt(uint64) returns (bytes32)`). Logic: api/src/audit/verifyExport.ts.
 *
 * Gateway URL (witness mode, api/src/audit/witness.ts): fetches the latest signed checkpoint
 * and checks it extends the one saved in --state (created on first run). Endpoints assumed,
 * all in the KuCoin envelope { code: "200000", data }:
 *   GET /api/v1/audit/checkpoint                        data = Checkpoint & { publicKeyPem }
 *   GET /api/v1/audit/proof/inclusion?seq=&treeSize=    data = { leafIndex, treeSize, leafHash, proof[], root }
 *   GET /api/v1/audit/proof/consistency?first=&second=  data = { first, second, proof[], firstRoot, secondRoot }
 * (hashes are 0x-prefixed hex).
 *
 * Exit codes: 0 all good, 1 tampering found, 2 usage or I/O error.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { VerifyResult } from "../api/src/audit/verifyExport.ts";
import { verifyExport } from "../api/src/audit/verifyExport.ts";
import { witnessCheck } from "../api/src/audit/witness.ts";

const USAGE = "usage: node scripts/auditVerify.ts <export dir | gateway base URL> [--rpc <url>] [--anchor <address>] [--pubkey <pem file>] [--state <file>] [--json]";

function print(result: VerifyResult, json: boolean, target: string): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const lines = [`audit log ${target}: ${result.events} events, ${result.checkpoints} checkpoint(s), ${result.anchorsChecked} anchor(s) checked`];
  for (const p of result.problems) {
    const where = [p.seq !== undefined ? `seq ${p.seq}` : "", p.treeSize !== undefined ? `tree size ${p.treeSize}` : ""].filter(Boolean).join(", ");
    lines.push(`  PROBLEM ${p.kind}${where ? ` (${where})` : ""}: ${p.message}`);
  }
  for (const n of result.notes) lines.push(`  note: ${n}`);
  lines.push(result.ok ? "OK: no tampering found" : `TAMPERING FOUND: ${result.problems.length} problem(s); the first is the earliest evidence`);
  process.stdout.write(`${lines.join("\n")}\n`);
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse();
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const target = args.positionals[0];
  if (!target || args.positionals.length > 1) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const v = args.values;
  try {
    const result = /^https?:\/\//.test(target)
      ? await witnessCheck(target, v.state)
      : await verifyExport(target, { rpcUrl: v.rpc, anchorAddress: v.anchor, publicKeyPem: v.pubkey ? readFileSync(v.pubkey, "utf8") : undefined });
    print(result, v.json === true, target);
    return result.ok ? 0 : 1;
  } catch (e) {
    process.stderr.write(`audit:verify: ${(e as Error).message}\n`);
    return 2;
  }
}

function parse() {
  return parseArgs({
    allowPositionals: true,
    options: { rpc: { type: "string" }, anchor: { type: "string" }, pubkey: { type: "string" }, state: { type: "string" }, json: { type: "boolean" } },
  });
}

process.exitCode = await main();
