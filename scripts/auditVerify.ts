/**
 * npm run audit:verify -- <export dir> [--rpc <url> (--deployment <deployments/<id>.json> | --anchor <address> --chain-id <n>)] [--partial-to <tree size>] [--pubkey <pem file>] [--json]
 * npm run audit:verify -- <gateway base URL> [--state <file>] [--json]
 *
 * Export directory (written by AuditLog.exportTo / the compliance export): checks every
 * signed checkpoint, recomputes the Merkle tree from the events, names the first edited,
 * missing, inserted or reordered record. With --rpc it always checks against the chain: the
 * AuditAnchor address and chain id come from the deployment file or --anchor/--chain-id
 * (never from the export); every root in the contract's RootAnchored history up to the
 * export's end must be the root of the export's events at that size, and the export must
 * reach the contract's latest anchored tree size unless --partial-to names where it was asked
 * to end. Logic: api/src/compliance/audit/verifyExport.ts, the command line: api/src/compliance/audit/verifyCli.ts.
 *
 * Gateway URL (witness mode, api/src/compliance/audit/witness.ts): fetches the latest signed checkpoint
 * and checks it extends the one saved in --state (created on first run).
 *
 * Exit codes: 0 all good; 1 verification failed (stderr: one line with the first reason);
 * 2 usage or I/O error (stderr: one line).
 */
import { runAuditVerify } from "../api/src/compliance/audit/verifyCli.ts";

const outcome = await runAuditVerify(process.argv.slice(2));
process.stdout.write(outcome.stdout);
process.stderr.write(outcome.stderr);
process.exitCode = outcome.code;
