/**
 * Deploys Sen's contracts with the Ignition modules and writes their addresses to
 * `deployments/<chainId>.json` (git-ignored: generated per chain).
 *
 *   node scripts/deploy.ts --network localhost [--rpc URL] [--reset] [--deployment-id ID] [--parameters params.json]
 *   node scripts/deploy.ts --network sepolia --parameters contracts/ignition/parameters.sepolia.json
 *
 * Ignition journals a deployment to an RPC network under contracts/ignition/deployments/<id>
 * so an interrupted deployment resumes; after restarting a local node use --reset.
 * `deploySen(connection)` is the same path for code that deploys in process (npm start).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import hre from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import type { Address } from "viem";
import SenAssets from "../contracts/ignition/modules/SenAssets.ts";

export type SenDeployment = {
  chainId: number;
  network: string;
  deployedAt: string;
  deployer: Address;
  startBlock: string;
  contracts: {
    IdentityRegistry: Address;
    CashToken: Address;
    SettlementVault: Address;
    AuditAnchor: Address;
    BondToken: Address;
    FundToken: Address;
  };
};

type IgnitionParameters = Record<string, Record<string, unknown>>;

export async function deploySen(
  connection: NetworkConnection,
  parameters: IgnitionParameters = {},
  deploymentId?: string,
): Promise<SenDeployment> {
  const publicClient = await connection.viem.getPublicClient();
  const [deployer] = await connection.viem.getWalletClients();
  const startBlock = await publicClient.getBlockNumber();
  const r = await connection.ignition.deploy(SenAssets, { parameters: parameters as never, deploymentId });
  return {
    chainId: await publicClient.getChainId(),
    network: connection.networkName,
    deployedAt: new Date().toISOString(),
    deployer: deployer.account.address,
    startBlock: startBlock.toString(),
    contracts: {
      IdentityRegistry: r.identityRegistry.address,
      CashToken: r.cashToken.address,
      SettlementVault: r.vault.address,
      AuditAnchor: r.auditAnchor.address,
      BondToken: r.bondToken.address,
      FundToken: r.fundToken.address,
    },
  };
}

export function writeDeploymentFile(deployment: SenDeployment, dir = "deployments"): string {
  mkdirSync(dir, { recursive: true });
  const file = `${dir}/${deployment.chainId}.json`;
  writeFileSync(file, `${JSON.stringify(deployment, null, 2)}\n`);
  return file;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      network: { type: "string", default: "localhost" },
      rpc: { type: "string" },
      parameters: { type: "string" },
      out: { type: "string", default: "deployments" },
      "deployment-id": { type: "string" },
      reset: { type: "boolean", default: false },
    },
  });
  const connection = await hre.network.create({
    network: values.network,
    ...(values.rpc ? { override: { url: values.rpc } } : {}),
  });
  const parameters = values.parameters ? (JSON.parse(readFileSync(values.parameters, "utf8")) as IgnitionParameters) : {};
  const chainId = Number(await connection.provider.request({ method: "eth_chainId" }));
  const deploymentId = values["deployment-id"] ?? `chain-${chainId}`;
  if (values.reset) rmSync(path.join(hre.config.paths.ignition, "deployments", deploymentId), { recursive: true, force: true });
  const deployment = await deploySen(connection, parameters, deploymentId);
  const file = writeDeploymentFile(deployment, values.out);
  console.log(`Deployed Sen to ${deployment.network} (chain ${deployment.chainId}); addresses in ${file}`);
  for (const [name, address] of Object.entries(deployment.contracts)) console.log(`  ${name.padEnd(18)} ${address}`);
  await connection.close();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
