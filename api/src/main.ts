/**
 * The gateway process against an existing chain: SEN_CHAIN_RPC (JSON-RPC URL) and
 * SEN_DEPLOYMENT (deployments/<chainId>.json) are required. `npm start` (scripts/start.ts)
 * wraps this with an in-process chain for the embedded defaults.
 */
import { createPublicClient, createWalletClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { startChainServices, type ChainServices } from "./chain/chainServices.ts";
import { envToConfig } from "./config/config.ts";
import { readEnv, unknownSettings } from "./config/env.ts";
import { ConfigCode, ConfigError } from "./config/errors.ts";
import { createIdentityOracle } from "./chain/identityOracle.ts";
import { readDeploymentFile } from "./chain/deploymentFile.ts";
import { createContext, type ContextDeps } from "./context.ts";
import { MarketCatalog } from "./markets/marketCatalog.ts";
import { createListingChain } from "./chain/listingChain.ts";
import { readTaxPolicy } from "./chain/taxPolicy.ts";
import { demoLaunchListings } from "./listing/launchListings.ts";
import { startGateway } from "./server.ts";
import { startEdge } from "./cluster/edgeRole.ts";
import { runSequencer, type OpenedExchange } from "./cluster/sequencerRole.ts";
import { openSequencerFeeds } from "./cluster/sequencerFeeds.ts";

async function main(): Promise<void> {
  const env = readEnv();
  for (const name of unknownSettings()) console.warn(`warning: ${name} is not a Sen setting (ignored); see README "Configuration"`);
  if (!env.SEN_CHAIN_RPC || !env.SEN_DEPLOYMENT) throw new ConfigError(ConfigCode.INVALID, "SEN_CHAIN_RPC and SEN_DEPLOYMENT are required (or use `npm start`)");
  // The chain id is the deployment's: read first, so the config is built once, with it.
  const deployment = readDeploymentFile(env.SEN_DEPLOYMENT);
  const config = envToConfig(env, { chainId: deployment.chainId });
  const client = createPublicClient({ transport: http(config.chainRpc), cacheTime: 0 });
  if (config.role === "edge") {
    // An edge follows the sequencer's journal and serves trading + market data; the rest is forwarded (cluster/edgeRole.ts).
    const edge = await startEdge(config, {
      identity: createIdentityOracle(client, deployment.contracts.IdentityRegistry),
      catalog: new MarketCatalog([{ currency: "VND", fullName: "Vietnamese đồng (Sen VND token)", decimals: 0, token: deployment.contracts.CashToken }], []),
    });
    edge.ctx.logger.info({ url: edge.url, node: config.nodeId }, "Sen edge listening");
    process.stdout.write(`SEN_READY ${edge.url}\n`);
    const stopEdge = () => void edge.close().finally(() => process.exit(0));
    process.once("SIGINT", stopEdge);
    process.once("SIGTERM", stopEdge);
    return;
  }
  // The exchange as one process runs it; a sequencer opens the same, with its fenced journal, once it holds the lease.
  // One catalog for the exchange: a hot standby's replica (cluster/hotStandby.ts) shares it with the context it becomes.
  const exchangeCatalog = new MarketCatalog([{ currency: "VND", fullName: "Vietnamese đồng (Sen VND token)", decimals: 0, token: deployment.contracts.CashToken }], []);
  const open = async (extra: Pick<ContextDeps, "journal" | "dataDirLock" | "openTrading" | "writeFence"> = {}): Promise<OpenedExchange> => {
    // A sequencer publishes its snapshots and alerts for the edges (it holds the lease by now).
    const feeds = config.role === "sequencer" ? await openSequencerFeeds(config) : undefined;
    const ctx = await createContext(config, {
      identity: createIdentityOracle(client, deployment.contracts.IdentityRegistry),
      // The markets come from the listing flow: the demo assets of the deployment are the launch listings.
      catalog: exchangeCatalog,
      listingChain: createListingChain(client, deployment.contracts.SettlementVault),
      launchListings: demoLaunchListings({ GOLD: deployment.contracts.GoldToken, RIVER: deployment.contracts.RiverToken }),
      tax: { rateBps: (await readTaxPolicy(client, deployment.contracts.SettlementVault)).rateBps, source: `SettlementVault ${deployment.contracts.SettlementVault}` },
      chain: { publicClient: client, contracts: deployment.contracts, startBlock: BigInt(deployment.startBlock ?? "0"), confirmations: config.confirmations },
      ...extra,
      ...(feeds ? { publishSnapshots: feeds.publishSnapshots } : {}),
    });
    feeds?.attach(ctx);
    const gateway = await startGateway(ctx);
    let chainServices: ChainServices | undefined;
    if (config.chainKey) {
      const walletClient = createWalletClient({ account: privateKeyToAccount(config.chainKey), transport: http(config.chainRpc) });
      const anchorKey = config.audit.anchorKey;
      chainServices = await startChainServices({
        ctx,
        publicClient: client,
        walletClient,
        ...(anchorKey ? { anchorWalletClient: createWalletClient({ account: privateKeyToAccount(anchorKey), transport: http(config.chainRpc) }) } : {}),
        contracts: deployment.contracts,
        startBlock: BigInt(deployment.startBlock ?? "0"),
        confirmations: config.confirmations,
        pollMs: config.chainPollMs,
      });
    } else {
      ctx.logger.warn("SEN_CHAIN_KEY not set: deposits, settlement and withdrawals are not processed by this gateway");
    }
    ctx.logger.info({ url: gateway.url, ws: ctx.config.wsEndpoint }, "Sen gateway listening");
    return { ctx, url: gateway.url, stop: () => (chainServices?.stop() ?? Promise.resolve()).then(() => gateway.close()).finally(() => feeds?.close()) };
  };
  const exchange = config.role === "sequencer" ? await runSequencer({ config, open, catalog: exchangeCatalog }) : await open();
  process.stdout.write(`SEN_READY ${exchange.url}\n`);
  const stop = () => void exchange.stop().finally(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
