import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import tar from "tar-stream";
import { getAddress, isAddress } from "viem";
import { AuditCode, AuditError } from "./errors.ts";
import type { TrustedAnchor } from "./trustedAnchor.ts";
import { anchorFromDeploymentFile, oneLine } from "./trustedAnchor.ts";
import type { VerifyResult } from "./verifyExport.ts";
import { verifyExport } from "./verifyExport.ts";
import { witnessCheck } from "./witness.ts";

export const USAGE =
  "usage: npm run audit:verify -- <export dir | bundle .tar> [--rpc <url> (--deployment <deployments/<id>.json> | --anchor <address> --chain-id <n>)] [--partial-to <tree size>] [--pubkey <pem file>] [--json]\n" +
  "       npm run audit:verify -- <gateway base URL> [--state <file>] [--json]";

export type CliOutcome = { code: 0 | 1 | 2; stdout: string; stderr: string };

class UsageError extends Error {}

/** Problem messages can quote export content (an anchor record's "contract"): never let it break a line. */
const flat = (s: string) => s.replace(/\s+/g, " ").trim();

function report(result: VerifyResult, target: string): string {
  const lines = [`audit log ${target}: ${result.events} events, ${result.checkpoints} checkpoint(s), ${result.anchorsChecked} anchored root(s) checked on chain`];
  for (const p of result.problems) {
    const where = [p.seq !== undefined ? `seq ${p.seq}` : "", p.treeSize !== undefined ? `tree size ${p.treeSize}` : ""].filter(Boolean).join(", ");
    lines.push(`  PROBLEM ${p.kind}${where ? ` (${where})` : ""}: ${flat(p.message)}`);
  }
  for (const n of result.notes) lines.push(`  note: ${flat(n)}`);
  lines.push(result.ok ? "OK: no tampering found" : `TAMPERING FOUND: ${result.problems.length} problem(s); the first is the earliest evidence`);
  return `${lines.join("\n")}\n`;
}

const nat = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d{1,15}$/.test(v)) throw new UsageError(`--${name} must be a non-negative integer, got "${v}"`);
  return Number(v);
};

/** The trusted chain from flags or a deployment file; both given must agree. */
async function trustedChain(v: { rpc?: string; deployment?: string; anchor?: string; "chain-id"?: string }): Promise<TrustedAnchor | undefined> {
  if (v.rpc === undefined) {
    if (v.deployment !== undefined || v.anchor !== undefined || v["chain-id"] !== undefined) throw new UsageError("--deployment, --anchor and --chain-id need --rpc");
    return undefined;
  }
  if (!/^https?:\/\//.test(v.rpc)) throw new UsageError(`--rpc must be an http(s) URL, got "${v.rpc}"`);
  if (v.anchor !== undefined && !isAddress(v.anchor)) throw new UsageError(`--anchor must be an address, got "${v.anchor}"`);
  const flagChainId = nat("chain-id", v["chain-id"]);
  if (v.deployment !== undefined) {
    const d = await anchorFromDeploymentFile(v.deployment);
    if (v.anchor !== undefined && getAddress(v.anchor) !== d.address) throw new UsageError(`--anchor ${v.anchor} differs from the deployment file's AuditAnchor ${d.address}`);
    if (flagChainId !== undefined && flagChainId !== d.chainId) throw new UsageError(`--chain-id ${flagChainId} differs from the deployment file's chain ${d.chainId}`);
    return { rpcUrl: v.rpc, ...d };
  }
  if (v.anchor === undefined || flagChainId === undefined) {
    throw new UsageError("--rpc needs the trusted AuditAnchor: --deployment <file>, or --anchor <address> and --chain-id <n> (the export's own records are not trusted for this)");
  }
  return { rpcUrl: v.rpc, address: getAddress(v.anchor), chainId: flagChainId };
}

/** What an export holds (README.md); a bundle with anything else is not one. */
const BUNDLE_FILES = new Set(["events.jsonl", "checkpoints.jsonl", "checkpoint.pub", "leaves.bin", "manifest.json"]);

/**
 * Unpacks a bundle (.tar from the compliance route) into a private temp dir (mkdtemp: mode 0700)
 * the caller removes. Only the export's own file names, as plain files, are taken: an entry
 * with a path, a link or a name twice is refused, so nothing is written outside the dir.
 */
async function unpackBundle(file: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "sen-audit-bundle-"));
  try {
    const extract = tar.extract();
    const feeding = pipeline(createReadStream(file), extract);
    feeding.catch(() => {}); // surfaces through the entries loop below
    const seen = new Set<string>();
    for await (const entry of extract) {
      const name = entry.header.name;
      if (entry.header.type !== "file" || !BUNDLE_FILES.has(name) || seen.has(name)) throw new AuditError(AuditCode.IO, `${file} is not an audit bundle: unexpected entry "${name.slice(0, 100)}"`);
      seen.add(name);
      await pipeline(entry, createWriteStream(join(dir, name), { flags: "wx", mode: 0o600 }));
    }
    await feeding;
    if (seen.size === 0) throw new AuditError(AuditCode.IO, `${file} is not an audit bundle: no files in it`);
    return dir;
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw new AuditError(AuditCode.IO, `${file}: not a readable audit bundle tar (${oneLine(e)})`, { cause: e });
  }
}

/**
 * `audit:verify` without the process: exit 0 verified, 1 a verification failure (stderr: one
 * line naming the first problem), 2 usage or I/O (stderr: one line, no stack or RPC dump).
 */
export async function runAuditVerify(argv: string[]): Promise<CliOutcome> {
  try {
    let args;
    try {
      args = parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          rpc: { type: "string" },
          deployment: { type: "string" },
          anchor: { type: "string" },
          "chain-id": { type: "string" },
          "partial-to": { type: "string" },
          pubkey: { type: "string" },
          state: { type: "string" },
          json: { type: "boolean" },
        },
      });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const target = args.positionals[0];
    if (!target || args.positionals.length > 1) throw new UsageError("one export directory, bundle .tar or gateway URL expected");
    const v = args.values;
    let result: VerifyResult;
    if (/^https?:\/\//.test(target)) {
      if (v.rpc ?? v.deployment ?? v.anchor ?? v["chain-id"] ?? v["partial-to"] ?? v.pubkey) throw new UsageError("witness mode (a gateway URL) takes only --state and --json");
      result = await witnessCheck(target, v.state);
    } else {
      if (v.state !== undefined) throw new UsageError("--state is for witness mode (a gateway URL)");
      const chain = await trustedChain(v);
      const partialTo = nat("partial-to", v["partial-to"]);
      let publicKeyPem: string | undefined;
      if (v.pubkey !== undefined) publicKeyPem = await readFile(v.pubkey, "utf8");
      const isFile = await stat(target).then(
        (st) => st.isFile(),
        () => false,
      );
      const dir = isFile ? await unpackBundle(target) : target;
      try {
        result = await verifyExport(dir, { chain, publicKeyPem, partialTo });
      } finally {
        if (isFile) await rm(dir, { recursive: true, force: true });
      }
    }
    const stdout = v.json === true ? `${JSON.stringify(result, null, 2)}\n` : report(result, target);
    if (result.ok) return { code: 0, stdout, stderr: "" };
    const first = result.problems[0];
    return { code: 1, stdout, stderr: `audit:verify: FAILED (${first.kind}): ${flat(first.message)}\n` };
  } catch (e) {
    if (e instanceof UsageError) return { code: 2, stdout: "", stderr: `audit:verify: ${flat(e.message)}\n${USAGE}\n` };
    return { code: 2, stdout: "", stderr: `audit:verify: ${flat(oneLine(e))}\n` };
  }
}
