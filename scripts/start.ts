/**
 * `npm start`: the whole exchange on its embedded defaults, in one process:
 * an in-process Hardhat chain (served over JSON-RPC on loopback), every contract deployed
 * through the Ignition modules, two attested demo traders funded and with deposits in the
 * settlement vault, and the trading gateway (REST + websocket) crediting those deposits from
 * the vault's events. The demo traders sign in with SIWE and get API keys, written to
 * data/dev/demo-credentials.json for `npm run demo` and your own bots.
 *
 * Why in-process rather than a spawned `hardhat node`: one process to start and stop, no port
 * race, and the gateway reads the very chain it deploys to. The chain is not persisted, so the
 * gateway's state (journal, keys) starts clean in data/dev each time (the previous run is moved
 * aside to data/dev-previous-<time>, never deleted); for a persistent set-up
 * point the gateway at a real node (`SEN_CHAIN_RPC` + `SEN_DEPLOYMENT`, see README).
 */
import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import hre from "hardhat";
import { mnemonicToAccount } from "viem/accounts";
import { createIdentityOracle } from "../api/src/chain/identityOracle.ts";
import { envToConfig } from "../api/src/config/config.ts";
import { dataDirOwner, lockDataDir } from "../api/src/config/dataDirLock.ts";
import { readEnv, unknownSettings } from "../api/src/config/env.ts";
import { createContext } from "../api/src/context.ts";
import { signingKeyFromPem } from "../api/src/compliance/audit/checkpoint.ts";
import { loadPilotRules } from "../api/src/listing/pilotRules.ts";
import { MarketCatalog } from "../api/src/markets/marketCatalog.ts";
import { createListingChain } from "../api/src/chain/listingChain.ts";
import { readTaxPolicy } from "../api/src/chain/taxPolicy.ts";
import { demoLaunchListings } from "../api/src/listing/launchListings.ts";
import { startGateway } from "../api/src/server.ts";
import { serveProvider } from "./chain/serveProvider.ts";
import { deploySen, writeDeploymentFile } from "./deploy.ts";
import { startChainServices } from "../api/src/chain/chainServices.ts";
import { loginWithSiwe } from "./siweClient.ts";
import { randomBytes } from "node:crypto";
import { pino } from "pino";
import { ISSUER_ENV_KEYS, readIssuerConfig } from "../issuer/src/config.ts";
import { defaultService, startIssuer } from "../issuer/src/main.ts";
import { LOCAL_ROLE_ACCOUNTS } from "../contracts/ignition/roleHolders.ts";
import { DEMO_OFFICER, DEMO_OPERATOR, DEMO_TRADERS, seedDemo } from "./seed.ts";

/** Hardhat account 13 plays the e-KYC issuer's officer, who reviews applications (no e-ID needed: it works for the issuer, not on the exchange). */
const DEMO_ISSUER_OFFICER = { name: "giang", accountIndex: 13 } as const;

const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

async function main(): Promise<void> {
  const env = readEnv();
  if (env.SEN_CHAIN_RPC) {
    // An external chain: the gateway entry point does the rest.
    await import("../api/src/main.ts");
    return;
  }
  // Every setting (the gateway's, the pilot rules, the signing key, the issuer's) is checked
  // before anything on disk is touched or a chain deployed: a start refused later would have
  // moved the previous run aside for nothing (SEN_PORT=abc stops here, named).
  const checked = envToConfig(env);
  // The e-KYC issuer service started below reads its own settings (issuer/src/config.ts).
  for (const name of unknownSettings(process.env, ISSUER_ENV_KEYS)) console.warn(`warning: ${name} is not a Sen setting (ignored); see README "Configuration"`);
  const dataDir = path.resolve(env.SEN_DATA_DIR ?? "data", "dev");
  const pilotRules = loadPilotRules(checked.pilotRulesFile);
  // Its parse and curve here; against the audit log's checkpoints in createContext (the log
  // starts empty: the previous run's is moved aside with it).
  if (checked.audit.signingKeyPem) signingKeyFromPem(checked.audit.signingKeyPem);
  const rpcPort = checked.rpcPort;
  const issuerDir = path.join(dataDir, "issuer");
  const issuerOfficer = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: DEMO_ISSUER_OFFICER.accountIndex });
  const devSecrets = { piiKeys: `k1:${randomBytes(32).toString("hex")}`, salt: randomBytes(32).toString("hex") };
  // Every issuer setting the operator gave (the list is the issuer's own schema, so a new one
  // cannot be forgotten here), then what the local run decides: its chain, key and folders.
  const givenIssuerSettings = Object.fromEntries(ISSUER_ENV_KEYS.filter((k) => k.startsWith("SEN_ISSUER_")).map((k) => [k, process.env[k]]));
  const issuerSettings = readIssuerConfig({
    ...givenIssuerSettings,
    // Beside a gateway on a free port (tests), the issuer takes a free port too.
    SEN_ISSUER_PORT: process.env.SEN_ISSUER_PORT ?? (checked.port === 0 ? "0" : "8090"),
    SEN_ISSUER_DATA_DIR: issuerDir,
    SEN_ISSUER_KEY: `0x${Buffer.from(mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: LOCAL_ROLE_ACCOUNTS.kycIssuer }).getHdKey().privateKey!).toString("hex")}`,
    SEN_CHAIN_RPC: `http://127.0.0.1:${rpcPort}`,
    // Named once the chain is up (deployments/<chain id>.json): set below.
    SEN_DEPLOYMENT: path.join(dataDir, "deployments"),
    SEN_ISSUER_OFFICERS: process.env.SEN_ISSUER_OFFICERS ?? issuerOfficer.address,
    SEN_ISSUER_PII_KEYS: process.env.SEN_ISSUER_PII_KEYS ?? devSecrets.piiKeys,
    SEN_ISSUER_SALT: process.env.SEN_ISSUER_SALT ?? devSecrets.salt,
  });
  const owner = dataDirOwner(dataDir);
  if (owner !== null) throw new Error(`npm start is already running on ${dataDir} (process ${owner}); stop it first`);
  // The chain is new each time, so the gateway starts clean too; the previous run (its journal
  // and 10-year audit trail included) is moved aside, never deleted.
  if (existsSync(dataDir)) {
    const aside = `${dataDir}-previous-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    renameSync(dataDir, aside);
    console.log(`previous run moved to ${path.relative(process.cwd(), aside)}`);
  }
  mkdirSync(dataDir, { recursive: true });
  const dataDirLock = lockDataDir(dataDir); // held from here on, so no second start can move it

  await hre.tasks.getTask("build").run({ quiet: true, noTests: true });
  const connection = await hre.network.create();
  const deployment = await deploySen(connection);
  const deploymentFile = writeDeploymentFile(deployment, path.join(dataDir, "deployments"));
  const traders = await seedDemo(connection, deployment);
  const rpc = await serveProvider(connection.provider, rpcPort);

  const wallets = await connection.viem.getWalletClients();
  const officer = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: DEMO_OFFICER.accountIndex });
  const operator = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: DEMO_OPERATOR.accountIndex });
  // The e-KYC issuer service, as the issuer organisation would run it, with the e-KYC issuer's
  // key (its own process in production: `npm run start:issuer`); started before the gateway,
  // whose config names its onboarding page. Development secrets (made above) are kept beside
  // its data (0600); SEN_ISSUER_PII_KEYS / SEN_ISSUER_SALT override them.
  const issuerConfig = { ...issuerSettings, deploymentFile };
  mkdirSync(issuerDir, { recursive: true });
  if (!process.env.SEN_ISSUER_PII_KEYS || !process.env.SEN_ISSUER_SALT) {
    writeFileSync(path.join(issuerDir, "dev-secrets.json"), `${JSON.stringify({ SEN_ISSUER_PII_KEYS: issuerConfig.piiKeys.join(","), SEN_ISSUER_SALT: devSecrets.salt }, null, 2)}\n`, { mode: 0o600 });
  }
  const issuer = await startIssuer(issuerConfig, { logger: pino({ name: "sen-issuer", level: checked.logLevel }), createService: defaultService });

  const config = envToConfig({
    ...env,
    SEN_DATA_DIR: dataDir,
    SEN_OPERATORS: env.SEN_OPERATORS ?? operator.address.toLowerCase(),
    SEN_COMPLIANCE: env.SEN_COMPLIANCE ?? officer.address.toLowerCase(),
    // Anchor often on the local chain so the console's verify badge shows anchors at once.
    SEN_AUDIT_ANCHOR_MS: env.SEN_AUDIT_ANCHOR_MS ?? "10000",
    // The in-process chain is Hardhat's (31337): the console may offer sign-in with its public test keys.
    SEN_DEV_SIGNIN: env.SEN_DEV_SIGNIN ?? "1",
    // The trader app links a wallet without an e-ID to this issuer's onboarding (wherever it listens).
    SEN_ONBOARDING_URL: env.SEN_ONBOARDING_URL ?? `${issuer.url}/onboarding/`,
  }, { chainId: deployment.chainId });
  const publicClient = await connection.viem.getPublicClient({ cacheTime: 0 });
  const c = deployment.contracts;
  // The markets come from the listing flow: the demo assets are the launch listings.
  const catalog = new MarketCatalog([{ currency: "VND", fullName: "Vietnamese đồng (Sen VND token)", decimals: 0, token: c.CashToken }], []);
  const ctx = await createContext(config, {
    identity: createIdentityOracle(publicClient, c.IdentityRegistry),
    catalog,
    listingChain: createListingChain(publicClient, c.SettlementVault),
    launchListings: demoLaunchListings({ GOLD: c.GoldToken, RIVER: c.RiverToken }),
    tax: { rateBps: (await readTaxPolicy(publicClient, c.SettlementVault)).rateBps, source: `SettlementVault ${c.SettlementVault}` },
    chain: { publicClient, contracts: c, startBlock: BigInt(deployment.startBlock), confirmations: 0 },
    pilotRules,
    dataDirLock,
  });
  const gateway = await startGateway(ctx);
  // The gateway's chain key: the vault's settler and withdrawer and AuditAnchor's auditor.
  const operatorWallet = wallets.find((w) => w.account.address.toLowerCase() === deployment.roles.settler.toLowerCase())!;
  const chain = await startChainServices({
    ctx,
    publicClient,
    walletClient: operatorWallet,
    contracts: c,
    startBlock: BigInt(deployment.startBlock),
    confirmations: 0, // the in-process chain mines every transaction at once and never reorgs
    pollMs: 250,
  });
  await chain.poll();

  const credentials = [];
  for (const t of DEMO_TRADERS) {
    const account = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: t.accountIndex });
    const token = await loginWithSiwe(gateway.url, account);
    const passphrase = `sen-demo-${t.name}`;
    const res = await fetch(`${gateway.url}/api/v1/sen/api-keys`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ label: "demo", passphrase, permissions: ["General", "Trade"] }),
    });
    const key = (await res.json()) as { code: string; data: { apiKeyId: string; apiSecret: string; accountId: string } };
    if (key.code !== "200000") throw new Error(`API key for ${t.name}: ${JSON.stringify(key)}`);
    credentials.push({ name: t.name, wallet: account.address, accountId: key.data.accountId, apiKey: key.data.apiKeyId, apiSecret: key.data.apiSecret, passphrase });
  }
  const credentialsFile = path.join(dataDir, "demo-credentials.json");
  // The officer signs in to the console with a wallet (SIWE); its key is Hardhat's public test key.
  const officerKey = `0x${Buffer.from(officer.getHdKey().privateKey!).toString("hex")}`;
  const operatorKey = `0x${Buffer.from(operator.getHdKey().privateKey!).toString("hex")}`;
  writeFileSync(
    credentialsFile,
    `${JSON.stringify({ url: gateway.url, traders: credentials, complianceOfficer: { name: DEMO_OFFICER.name, wallet: officer.address, privateKey: officerKey, console: `${gateway.url}/compliance/` }, operator: { name: DEMO_OPERATOR.name, wallet: operator.address, privateKey: operatorKey }, issuerOfficer: { name: DEMO_ISSUER_OFFICER.name, wallet: issuerOfficer.address, privateKey: `0x${Buffer.from(issuerOfficer.getHdKey().privateKey!).toString("hex")}`, queue: `${issuer.url}/review/` } }, null, 2)}\n`,
    { mode: 0o600 },
  );
  chmodSync(credentialsFile, 0o600);

  const rel = (f: string) => path.relative(process.cwd(), f);
  console.log(`
Sen is running (in-process chain ${deployment.chainId}, ${config.journal.kind} journal in ${rel(dataDir)}).
  trader app     ${gateway.url}/   (connect a wallet: Sign-In with Ethereum; vi/en)
  REST API       ${gateway.url}   (KuCoin-compatible; try ${gateway.url}/api/v2/symbols)
  websocket      ${ctx.config.wsEndpoint}   (token from POST /api/v1/bullet-public)
  API docs       ${gateway.url}/docs   (OpenAPI: ${gateway.url}/openapi.json; bots: docs/bots.md)
  health/metrics ${gateway.url}/health   ${gateway.url}/metrics
  JSON-RPC       http://127.0.0.1:${rpcPort}   (contracts and role holders in ${rel(deploymentFile)})
  demo traders   ${traders.map((t) => `${t.name} ${t.address} (${t.country === 704 ? "domestic, Vietnamese e-ID" : `foreign, country ${t.country}`})`).join(", ")} (vault deposits credited)
  markets        ${[...ctx.trading.core.listings()].map((l) => `${l.symbol} ${ctx.pilot.rules.assetClasses[l.assetClass]?.holders.ruleId ?? l.assetClass} (${gateway.url}/listings/${l.symbol})`).join(", ")}
  pilot rules    ${ctx.pilot.rules.version} (${gateway.url}/api/v1/sen/rules); income tax ${ctx.trading.core.taxRateBps} bps of each sale, from the vault
  credentials    ${rel(credentialsFile)}   (API key, secret, passphrase per trader)
  compliance     ${gateway.url}/compliance/   (sign in with ${officer.address}, Hardhat test account #${DEMO_OFFICER.accountIndex}${config.devSignIn ? `; no wallet extension: "Development sign-in" with its key, complianceOfficer.privateKey in ${rel(credentialsFile)}` : ""})
  operator       ${operator.address}, Hardhat test account #${DEMO_OPERATOR.accountIndex} (e-ID attested; signs in like a trader, then /api/v1/sen/operator/…)
  e-KYC issuer   ${issuer.url}/onboarding/?exchange=${encodeURIComponent(gateway.url)}   (a new wallet applies for an e-ID; officer ${issuerOfficer.address}, Hardhat test account #${DEMO_ISSUER_OFFICER.accountIndex}, reviews at ${issuer.url}/review/; development verification provider: NOT FOR PRODUCTION)
  audit          ${rel(config.audit.dir)}   (signed checkpoints anchored in AuditAnchor; \`npm run audit:verify\`)
Run \`npm run demo\` in another terminal. Ctrl-C stops everything.`);

  const stop = () => {
    rpc.close();
    void issuer.close();
    void chain
      .stop()
      .then(() => gateway.close())
      .finally(() => void connection.close().finally(() => process.exit(0)));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
