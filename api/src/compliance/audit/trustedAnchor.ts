import { readFile } from "node:fs/promises";
import { BaseError, createPublicClient, getAddress, http, isAddress, parseAbi, parseAbiItem } from "viem";
import type { Address, Hex } from "viem";
import { AuditCode, AuditError } from "./errors.ts";

/**
 * Where the verifier reads the chain: the AuditAnchor address and chain id come from the
 * auditor (a deployment file or flags), never from the export, whose anchor records and
 * manifest are unsigned and could name a contract the forger controls.
 */
export type TrustedAnchor = { rpcUrl: string; address: Address; chainId: number; fromBlock?: bigint };

/** What the contract holds: its head (`latest()`) and every `RootAnchored` event. */
export type AnchorHistory = { latestTreeSize: number; roots: Map<number, Hex> };

const readAbi = parseAbi(["function latest() view returns (uint64 treeSize, bytes32 root, uint32 anchoredAt)"]);
const rootAnchored = parseAbiItem("event RootAnchored(uint64 indexed fromSeq, uint64 indexed toSeq, bytes32 root, uint256 timestamp)");

/** One line of an RPC failure: viem's messages carry request dumps and version footers. */
export function oneLine(e: unknown): string {
  const msg = e instanceof BaseError ? e.shortMessage : e instanceof Error ? e.message : String(e);
  return msg.split("\n")[0].trim();
}

function io(what: string, e: unknown): AuditError {
  return new AuditError(AuditCode.IO, `${what}: ${oneLine(e)}`, { cause: e });
}

/** Reads `deployments/<chainId>.json` (scripts/deploy.ts writeDeploymentFile) for the AuditAnchor address, chain id and start block. */
export async function anchorFromDeploymentFile(file: string): Promise<{ address: Address; chainId: number; fromBlock?: bigint }> {
  let d: { chainId?: unknown; startBlock?: unknown; contracts?: { AuditAnchor?: unknown } };
  try {
    d = JSON.parse(await readFile(file, "utf8")) as typeof d;
  } catch (e) {
    throw new AuditError(AuditCode.IO, `cannot read deployment file ${file}: ${oneLine(e)}`, { cause: e });
  }
  const address = d?.contracts?.AuditAnchor;
  if (typeof address !== "string" || !isAddress(address)) throw new AuditError(AuditCode.IO, `deployment file ${file} has no contracts.AuditAnchor address`);
  if (typeof d.chainId !== "number" || !Number.isSafeInteger(d.chainId)) throw new AuditError(AuditCode.IO, `deployment file ${file} has no numeric chainId`);
  const fromBlock = typeof d.startBlock === "string" && /^\d+$/.test(d.startBlock) ? BigInt(d.startBlock) : undefined;
  return { address: getAddress(address), chainId: d.chainId, fromBlock };
}

/**
 * The contract's head and its full RootAnchored history. Any RPC trouble, a chain other than
 * the trusted one, or an address that is not an AuditAnchor is an I/O or usage error (the
 * auditor's setup), never a verdict on the export.
 */
export async function readAnchorHistory(t: TrustedAnchor): Promise<AnchorHistory> {
  const client = createPublicClient({ transport: http(t.rpcUrl, { retryCount: 1 }) });
  let chainId: number;
  try {
    chainId = await client.getChainId();
  } catch (e) {
    throw io(`cannot reach the RPC endpoint ${t.rpcUrl}`, e);
  }
  if (chainId !== t.chainId) throw new AuditError(AuditCode.IO, `the RPC endpoint serves chain ${chainId}, the trusted AuditAnchor is on chain ${t.chainId}`);
  let latestTreeSize: number;
  try {
    const [size] = await client.readContract({ address: t.address, abi: readAbi, functionName: "latest" });
    latestTreeSize = Number(size);
  } catch (e) {
    throw io(`cannot read AuditAnchor.latest() at ${t.address} on chain ${chainId} (is it the AuditAnchor?)`, e);
  }
  const roots = new Map<number, Hex>();
  try {
    const logs = await client.getLogs({ address: t.address, event: rootAnchored, fromBlock: t.fromBlock ?? 0n, toBlock: "latest", strict: true });
    for (const l of logs) roots.set(Number(l.args.toSeq), l.args.root.toLowerCase() as Hex);
  } catch (e) {
    throw io(`cannot read the RootAnchored events of ${t.address}`, e);
  }
  // The head is read before the logs, so the history always reaches it unless logs are missing
  // (an anchor mined in between only makes the history longer).
  if (latestTreeSize > 0 && !roots.has(latestTreeSize)) {
    throw new AuditError(AuditCode.IO, `the RootAnchored history read from ${t.address} does not reach the contract's latest tree size ${latestTreeSize} (start block too late?)`);
  }
  for (const size of roots.keys()) latestTreeSize = Math.max(latestTreeSize, size);
  return { latestTreeSize, roots };
}
