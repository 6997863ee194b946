/**
 * `npm start`: Sen on its embedded defaults. Starts an in-process Hardhat chain, serves it
 * over JSON-RPC on loopback, deploys every contract through the Ignition modules, seeds the
 * demo traders and prints where everything is. The trading gateway joins here as issues
 * #5/#6 land.
 */
import hre from "hardhat";
import { deploySen, writeDeploymentFile } from "./deploy.ts";
import { seedDemo, DEMO_FUNDING } from "./seed.ts";
import { serveProvider } from "./chain/serveProvider.ts";

const RPC_PORT = Number(process.env.SEN_RPC_PORT ?? 8545);
const DATA_DIR = process.env.SEN_DATA_DIR ?? "data";

async function main(): Promise<void> {
  await hre.tasks.getTask("build").run({ quiet: true, noTests: true });
  const connection = await hre.network.create();
  const deployment = await deploySen(connection);
  const file = writeDeploymentFile(deployment, `${DATA_DIR}/deployments`);
  const traders = await seedDemo(connection, deployment);
  const server = await serveProvider(connection.provider, RPC_PORT);

  console.log(`Sen is up (in-process chain ${deployment.chainId}).`);
  console.log(`  JSON-RPC        http://127.0.0.1:${RPC_PORT}`);
  console.log(`  deployment      ${file}`);
  for (const [name, address] of Object.entries(deployment.contracts)) console.log(`  ${name.padEnd(17)}${address}`);
  for (const t of traders) {
    console.log(`  demo trader ${t.name.padEnd(5)} ${t.address} (Hardhat account #${t.accountIndex}), ${DEMO_FUNDING.vndDeposited} đồng in the vault`);
  }
  console.log("Ctrl-C stops it; the in-process chain is not persisted.");

  const stop = () => {
    server.close();
    void connection.close().finally(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
