import { createServer, type Server } from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";
import pino, { type Logger } from "pino";
import { createPublicClient, createWalletClient, http, parseAbi, webSocket, type Address, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { readDeploymentFile } from "../../api/src/chain/deploymentFile.ts";
import { createIssuancePort, type ChainIssuancePort } from "./chain.ts";
import { readIssuerConfig, type IssuerConfig } from "./config.ts";
import { ISSUER_ERROR, IssuerError } from "./errors.ts";
import { createIssuerApp, type IssuerServiceApi } from "./http.ts";
import { createPiiVault, type PiiVault } from "./piiVault.ts";
import { DevelopmentProvider } from "./provider.ts";
import { IssuerService, type IssuerAuditEvent } from "./service.ts";
import { createSiweAuth } from "./siweAuth.ts";
import { openPostgresIssuerStore } from "./postgresStore.ts";
import { openIssuerStore, type IssuerStore } from "./store.ts";

/** What the issuer service is built from (the one place that wires the process). */
export type IssuerParts = { config: IssuerConfig; store: IssuerStore; vault: PiiVault; issuance: ChainIssuancePort; issuer: Address; logger: Logger };
export type ServiceFactory = (parts: IssuerParts) => {
  service: IssuerServiceApi;
  provider: { name: string; production: boolean };
  /** Erases personal data past retention (IssuerService.purgeExpired); run at start and daily. */
  purgeExpired?: (now: number) => Promise<{ purged: number }>;
  /** Re-encrypts personal data sealed under older keys with the current one (IssuerService.rotatePii); run at start. */
  rotatePii?: () => Promise<number>;
};

export type RunningIssuer = { url: string; server: Server; close(): Promise<void> };

const registryRoleAbi = parseAbi(["function ISSUER_ROLE() view returns (bytes32)", "function hasRole(bytes32 role, address account) view returns (bool)"]);

const DAY_MS = 86_400_000;

/** PostgreSQL when DATABASE_URL is set (the audit index's convention), else SQLite in the data directory. */
async function openStore(config: IssuerConfig): Promise<IssuerStore> {
  if (!config.databaseUrl) return openIssuerStore(path.join(config.dataDir, "issuer.sqlite"));
  try {
    return await openPostgresIssuerStore(config.databaseUrl);
  } catch (cause) {
    // The driver's message may quote the URL (and its password); only its code is said.
    const code = (cause as { code?: unknown }).code;
    throw new IssuerError(ISSUER_ERROR.CONFIG, "DATABASE_URL", `DATABASE_URL: the PostgreSQL store could not be opened${typeof code === "string" ? ` (${code})` : ""}`, { cause });
  }
}

/**
 * Connects to the chain, opens the store, purges personal data past retention, serves the API;
 * resolves once listening. The purge runs again every `retentionEveryMs` (a day).
 */
export async function startIssuer(config: IssuerConfig, o: { logger: Logger; createService: ServiceFactory; retentionEveryMs?: number }): Promise<RunningIssuer> {
  const { logger } = o;
  const deployment = readDeploymentFile(config.deploymentFile);
  const transport = /^wss?:/.test(config.chainRpc) ? webSocket(config.chainRpc) : http(config.chainRpc);
  const publicClient = createPublicClient({ transport }) as PublicClient;
  const chainId = await publicClient.getChainId();
  if (chainId !== deployment.chainId) {
    throw new IssuerError(ISSUER_ERROR.CONFIG, "SEN_DEPLOYMENT", `SEN_DEPLOYMENT: the deployment is for chain ${deployment.chainId}, the RPC serves chain ${chainId}`);
  }
  const account = privateKeyToAccount(config.issuerKey);
  const registry = deployment.contracts.IdentityRegistry;
  const role = await publicClient.readContract({ address: registry, abi: registryRoleAbi, functionName: "ISSUER_ROLE" });
  if (!(await publicClient.readContract({ address: registry, abi: registryRoleAbi, functionName: "hasRole", args: [role, account.address] }))) {
    // Applications can still be taken and reviewed; approvals will fail until governance trusts the key.
    logger.warn({ issuer: account.address, registry }, "the registry does not trust this issuer key yet (governance: addIssuer)");
  }
  const walletClient = createWalletClient({ account, transport });
  const issuance = createIssuancePort({ publicClient, walletClient, registry, chainId });
  const store = await openStore(config);
  const vault = createPiiVault(config.piiKeys);
  const { service, provider, purgeExpired, rotatePii } = o.createService({ config, store, vault, issuance, issuer: account.address, logger });
  const purge = async () => {
    if (!purgeExpired) return;
    const { purged } = await purgeExpired(Date.now());
    logger.info({ retention: { purged, days: config.retentionDays } }, "personal data past retention purged");
  };
  try {
    // Before serving: data kept past the rule does not wait for the first day to pass.
    await purge();
    // Key rotation: list the new key first in SEN_ISSUER_PII_KEYS, keep the old one after it,
    // restart; every record is then sealed under the new key and the old one can be dropped.
    if (rotatePii) {
      const rotated = await rotatePii();
      if (rotated > 0) logger.info({ rotated, kid: vault.currentKid }, "personal data re-encrypted under the current key");
    }
  } catch (err) {
    await store.close();
    throw err;
  }

  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const daily = setInterval(() => purge().catch((err: unknown) => logger.error({ err: err instanceof Error ? err.name : "error" }, "retention purge failed; retried next time")), o.retentionEveryMs ?? DAY_MS);
  daily.unref();
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const authority = `${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;
  const domain = config.siweDomain ?? (config.publicUrl ? new URL(config.publicUrl).host : authority);
  const auth = createSiweAuth({ domain, uri: config.publicUrl ?? `http://${domain}`, chainId, isOfficer: (w) => config.officers.has(w) });
  server.on("request", createIssuerApp({ service, auth, logger, trustProxy: config.trustProxy, health: () => ({ chainId, issuer: account.address, registry, provider: { name: provider.name, production: provider.production } }) }));
  return {
    url: `http://${authority}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(daily);
        server.close(() => resolve());
      }).then(() => store.close()),
  };
}

/**
 * The audit trail goes to the log: events carry wallets, hashes, statuses and transaction
 * hashes only. An officer's stated reason is free text, so it stays in the store's read
 * record (pii_reads) and out of the log.
 */
export function auditToLog(logger: Logger): (event: IssuerAuditEvent) => void {
  return ({ why: _why, ...event }) => logger.info({ audit: event }, "issuer audit");
}

/** The service as this process runs it. Only the development provider exists so far, and it says so everywhere. */
export const defaultService: ServiceFactory = ({ config, store, vault, issuance, logger }) => {
  const provider = new DevelopmentProvider();
  logger.warn({ provider: provider.name }, "verification provider is the development one: NOT FOR PRODUCTION");
  const service = new IssuerService({ store, vault, salt: config.identitySalt, provider, port: issuance, officers: [...config.officers], clock: Date.now, audit: auditToLog(logger), retentionDays: config.retentionDays });
  return { provider, service, purgeExpired: (now) => service.purgeExpired(now), rotatePii: () => service.rotatePii() };
};

async function main(): Promise<void> {
  const logger = pino({ name: "sen-issuer" });
  let config: IssuerConfig;
  try {
    config = readIssuerConfig(process.env);
  } catch (err) {
    // Before anything else: a bad configuration never touches the disk or the chain.
    process.stderr.write(`issuer: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const running = await startIssuer(config, { logger, createService: defaultService });
  logger.info({ url: running.url, officers: config.officers.size }, "issuer listening");
  process.stdout.write(`ISSUER_READY ${running.url}\n`);
  const stop = () => void running.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((err: unknown) => {
    process.stderr.write(`issuer: ${err instanceof IssuerError ? err.message : err instanceof Error ? err.name + ": " + err.message : String(err)}\n`);
    process.exit(1);
  });
}
