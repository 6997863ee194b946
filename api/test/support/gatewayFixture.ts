import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { LocalAccount } from "viem";
import { startChainServices, type ChainServices, type ChainServicesOptions } from "../../src/chain/chainServices.ts";
import { createListingChain } from "../../src/chain/listingChain.ts";
import { readTaxPolicy } from "../../src/chain/taxPolicy.ts";
import { createIdentityOracle } from "../../src/chain/identityOracle.ts";
import { envToConfig, type ServerConfig } from "../../src/config/config.ts";
import { createContext, type AppContext } from "../../src/context.ts";
import { defaultCatalog, type MarketCatalog } from "../../src/markets/marketCatalog.ts";
import { startGateway, type RunningGateway } from "../../src/server.ts";
import { DEFAULT_RISK, type RiskConfig } from "../../src/risk/types.ts";
import type { ChainFixture } from "./chainFixture.ts";

/**
 * The shipped risk limits for tests whose prices roam far from the last trade (the collar
 * would, rightly, refuse them) and whose bursts pass the per-key and per-account rates.
 */
export function roamingRisk(perSecond = 10_000): RiskConfig {
  const risk = structuredClone(DEFAULT_RISK);
  risk.defaults.collarBps = 0;
  risk.defaults.keyRate = { burst: perSecond, perSecond };
  risk.defaults.accountRate = { burst: perSecond, perSecond };
  return risk;
}

export type GatewayFixture = { ctx: AppContext; gateway: RunningGateway; url: string; dataDir: string; close(): Promise<void> };

/** The real gateway in this process: real journal on disk, identity checked on the real chain. */
export async function startTestGateway(
  chain: ChainFixture,
  options: {
    dataDir?: string;
    config?: Partial<ServerConfig>;
    env?: Record<string, string>;
    risk?: RiskConfig;
    now?: () => number;
    catalog?: MarketCatalog;
    /** false: no view of the chain's holder rules (to reach the vault with what it refuses). */
    holderRules?: boolean;
    /** Blocks before a permitting rule change counts (default 0: the in-process chain never reorganises by itself). */
    confirmations?: number;
  } = {},
): Promise<GatewayFixture> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), "sen-gw-"));
  const config = envToConfig({ SEN_PORT: "0", SEN_DATA_DIR: dataDir, SEN_LOG_LEVEL: "silent", ...options.env }, options.config);
  const d = chain.deployment.contracts;
  const ctx = await createContext(config, {
    identity: createIdentityOracle(chain.publicClient, d.IdentityRegistry),
    catalog: options.catalog ?? defaultCatalog({ VND: d.CashToken, GOLD: d.GoldToken, RIVER: d.RiverToken }),
    risk: options.risk,
    now: options.now,
    listingChain: createListingChain(chain.publicClient, d.SettlementVault),
    // The rate the vault will check the trades' tax against.
    tax: { rateBps: (await readTaxPolicy(chain.publicClient, d.SettlementVault)).rateBps, source: "SettlementVault" },
    chain:
      options.holderRules === false
        ? undefined
        : { publicClient: chain.publicClient, contracts: d, startBlock: BigInt(chain.deployment.startBlock), confirmations: options.confirmations ?? 0 },
  });
  const gateway = await startGateway(ctx);
  return {
    ctx,
    gateway,
    url: gateway.url,
    dataDir,
    async close() {
      await gateway.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type ApiCredentials = { apiKey: string; apiSecret: string; passphrase: string; token: string; accountId: string };

/** The trader's real path: Sign-In with Ethereum, then an API key for the session's account. */
export async function loginAndCreateKey(url: string, account: LocalAccount, permissions = ["General", "Trade"]): Promise<ApiCredentials> {
  const challenge = await getJson(`${url}/api/v1/sen/auth/challenge?address=${account.address}`);
  const signature = await account.signMessage({ message: challenge.message as string });
  const login = await postJson(`${url}/api/v1/sen/auth/login`, { message: challenge.message, signature });
  const passphrase = "pass-phrase-1";
  const key = await postJson(`${url}/api/v1/sen/api-keys`, { label: "test", passphrase, permissions }, login.token as string);
  return { apiKey: key.apiKeyId as string, apiSecret: key.apiSecret as string, passphrase, token: login.token as string, accountId: login.accountId as string };
}

export async function getJson(url: string, token?: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const body = (await res.json()) as { code: string; data: Record<string, unknown>; msg?: string };
  if (body.code !== "200000") throw new Error(`GET ${url}: ${body.code} ${body.msg}`);
  return body.data;
}

export async function postJson(url: string, payload: unknown, token?: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(payload),
  });
  const body = (await res.json()) as { code: string; data: Record<string, unknown>; msg?: string };
  if (body.code !== "200000") throw new Error(`POST ${url}: ${body.code} ${body.msg}`);
  return body.data;
}

/** The gateway's chain services on the test chain, signing with the settler's key; any option can be overridden. */
export function startTestChainServices(chain: ChainFixture, ctx: AppContext, over: Partial<ChainServicesOptions> = {}): Promise<ChainServices> {
  return startChainServices({
    ctx,
    publicClient: chain.publicClient,
    walletClient: chain.operatorWallet,
    contracts: chain.deployment.contracts,
    startBlock: BigInt(chain.deployment.startBlock),
    confirmations: 0,
    pollMs: 100,
    ...over,
  });
}
