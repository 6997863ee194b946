/**
 * Deploys Sen's contracts with the Ignition `Sen` module and writes their addresses and role
 * holders to `deployments/<chainId>.json` (git-ignored: generated per chain).
 *
 *   node scripts/deploy.ts --network localhost [--rpc URL] [--reset] [--deployment-id ID] [--parameters params.json]
 *   node scripts/deploy.ts --network sepolia --parameters contracts/ignition/parameters.sepolia.json
 *
 * Ignition journals a deployment to an RPC network under contracts/ignition/deployments/<id>
 * so an interrupted deployment resumes; after restarting a local node use --reset.
 * `deploySen(connection)` is the same path for code that deploys in process (npm start).
 *
 * Role holders are `$global` parameters (contracts/ignition/roleHolders.ts); one left out
 * defaults to its own local Hardhat account, which a public network's single deployer key
 * does not have, so there every holder must be given. The deployer renounces every role at
 * the end, so it may hold none of them, and the deploy checks on chain that it holds none.
 */
import { DEMO_PROSPECTUS, prospectusHash } from "../api/src/listing/launchListings.ts";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import hre from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { getAddress, isAddress, isAddressEqual, zeroAddress, type Address } from "viem";
import Sen from "../contracts/ignition/modules/Sen.ts";
import { LOCAL_ROLE_ACCOUNTS, ROLE_HOLDERS, type RoleHolders } from "../contracts/ignition/roleHolders.ts";
import { roleIds } from "./chain/roles.ts";
import { describeChainError } from "../api/src/chain/contractErrors.ts";
import { readEnv } from "../api/src/config/env.ts";

export type SenDeployment = {
  chainId: number;
  network: string;
  deployedAt: string;
  deployer: Address;
  startBlock: string;
  roles: RoleHolders;
  contracts: {
    IdentityRegistry: Address;
    CashToken: Address;
    SettlementVault: Address;
    AuditAnchor: Address;
    GoldToken: Address;
    RiverToken: Address;
  };
};

type IgnitionParameters = Record<string, Record<string, unknown>>;

export async function deploySen(
  connection: NetworkConnection,
  parameters: IgnitionParameters = {},
  deploymentId?: string,
): Promise<SenDeployment> {
  const publicClient = await connection.viem.getPublicClient();
  const wallets = await connection.viem.getWalletClients();
  const deployer = getAddress(wallets[0].account.address);
  const roles = resolveRoleHolders(parameters, deployer, wallets.map((w) => w.account.address));
  const startBlock = await publicClient.getBlockNumber();
  const r = await connection.ignition.deploy(Sen, {
    // The demo assets hold the SHA-256 of the prospectuses Sen publishes for them (listing/launchListings.ts), unless given.
    parameters: { ...parameters, SenAssets: { ...DEMO_DOCUMENTS, ...parameters.SenAssets }, $global: { ...parameters.$global, ...roles } } as never,
    deploymentId,
  });
  const contracts = {
    IdentityRegistry: r.identityRegistry.address,
    CashToken: r.cashToken.address,
    SettlementVault: r.vault.address,
    AuditAnchor: r.auditAnchor.address,
    GoldToken: r.goldToken.address,
    RiverToken: r.riverToken.address,
  };
  for (const [name, contract] of Object.entries({
    IdentityRegistry: r.identityRegistry,
    CashToken: r.cashToken,
    SettlementVault: r.vault,
    AuditAnchor: r.auditAnchor,
    GoldToken: r.goldToken,
    RiverToken: r.riverToken,
  })) {
    for (const [role, id] of Object.entries(await roleIds(publicClient, contract.abi, contract.address))) {
      if (await publicClient.readContract({ address: contract.address, abi: contract.abi, functionName: "hasRole", args: [id, deployer] })) {
        throw new Error(`deploy: the deployer ${deployer} still holds ${role} on ${name}`);
      }
    }
  }
  return {
    chainId: await publicClient.getChainId(),
    network: connection.networkName,
    deployedAt: new Date().toISOString(),
    deployer,
    startBlock: startBlock.toString(),
    roles,
    contracts,
  };
}

const DEMO_DOCUMENTS = { goldDocumentHash: prospectusHash(DEMO_PROSPECTUS.GOLD), riverDocumentHash: prospectusHash(DEMO_PROSPECTUS.RIVER) };

/** Each holder from `$global`, else its local Hardhat account; never the deployer. */
function resolveRoleHolders(parameters: IgnitionParameters, deployer: Address, accounts: Address[]): RoleHolders {
  for (const [module, values] of Object.entries(parameters)) {
    const misplaced = module === "$global" ? undefined : ROLE_HOLDERS.find((name) => name in values);
    if (misplaced) throw new Error(`deploy: "${misplaced}" is a role holder: set it under "$global" (one value for every module), not "${module}"`);
  }
  const holders = {} as RoleHolders;
  for (const name of ROLE_HOLDERS) {
    const given = parameters.$global?.[name];
    const local = accounts[LOCAL_ROLE_ACCOUNTS[name]];
    if (given === undefined && local === undefined) throw new Error(`deploy: no holder for "${name}": set "$global": { "${name}": "0x…" } in the parameters`);
    if (given !== undefined && (typeof given !== "string" || !isAddress(given))) throw new Error(`deploy: "${name}" is not an address: ${String(given)}`);
    const holder = getAddress(given ?? local!);
    if (isAddressEqual(holder, zeroAddress)) throw new Error(`deploy: "${name}" is the zero address`);
    if (isAddressEqual(holder, deployer)) throw new Error(`deploy: "${name}" is the deployer ${deployer}, which renounces every role at the end of the deploy`);
    holders[name] = holder;
  }
  return holders;
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
  // `npm run deploy:localhost` follows SEN_RPC_PORT, like `npm start`'s chain and `npm run bank`.
  const port = readEnv().SEN_RPC_PORT;
  const rpc = values.rpc ?? (values.network === "localhost" && port ? `http://127.0.0.1:${port}` : undefined);
  const connection = await hre.network.create({
    network: values.network,
    ...(rpc ? { override: { url: rpc } } : {}),
  });
  const parameters = values.parameters ? (JSON.parse(readFileSync(values.parameters, "utf8")) as IgnitionParameters) : {};
  const chainId = Number(await connection.provider.request({ method: "eth_chainId" }));
  const deploymentId = values["deployment-id"] ?? `chain-${chainId}`;
  if (values.reset) rmSync(path.join(hre.config.paths.ignition, "deployments", deploymentId), { recursive: true, force: true });
  const deployment = await deploySen(connection, parameters, deploymentId);
  const file = writeDeploymentFile(deployment, values.out);
  console.log(`Deployed Sen to ${deployment.network} (chain ${deployment.chainId}); addresses in ${file}`);
  for (const [name, address] of Object.entries(deployment.contracts)) console.log(`  ${name.padEnd(18)} ${address}`);
  console.log(`Role holders (the deployer ${deployment.deployer} holds none):`);
  for (const [name, address] of Object.entries(deployment.roles)) console.log(`  ${name.padEnd(18)} ${address}`);
  await connection.close();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`deploy failed: ${describeChainError(err)}`);
    process.exitCode = 1;
  });
}
