import { hostname } from "node:os";
import path from "node:path";
import { z } from "zod/v4";
import { ConfigCode, ConfigError } from "./errors.ts";

/** Every setting Sen understands, raw, as env.ts (the only reader of process.env) hands them over. */
export type Env = Readonly<Record<string, string | undefined>>;

const addressList = z
  .string()
  .optional()
  .transform((s) => (s ? s.split(",").map((a) => a.trim().toLowerCase()).filter(Boolean) : []))
  .pipe(z.array(z.string().regex(/^0x[0-9a-f]{40}$/)));

const schema = z.object({
  SEN_HOST: z.string().default("127.0.0.1"),
  SEN_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  SEN_PUBLIC_URL: z.string().url().optional(),
  SEN_DATA_DIR: z.string().default("data"),
  SEN_JOURNAL_FSYNC: z.enum(["always", "interval", "none"]).default("always"),
  SEN_SNAPSHOT_EVERY: z.coerce.number().int().positive().default(10_000),
  SEN_SNAPSHOT_SPACING: z.enum(["state", "fixed"]).default("state"),
  SEN_JOURNAL_DEADLINE_MS: z.coerce.number().int().min(10).max(600_000).default(3_000),
  SEN_ORDER_RETENTION_DAYS: z.coerce.number().positive().max(3660).default(7),
  REDIS_URL: z.string().url().optional(),
  /**
   * "all" (default): one process does everything. "sequencer": the single writer (risk, ledger,
   * engine, journal, settlement, audit), active while it holds the lease in Redis, a standby
   * otherwise. "edge": HTTP/websocket termination, signatures, sessions, fan-out; commands go to
   * the sequencer over Redis Streams. Both split roles need REDIS_URL (ARCHITECTURE.md).
   */
  SEN_ROLE: z.enum(["all", "sequencer", "edge"]).default("all"),
  /** This process's name in the split (edge reply streams, lease holder): unique per process; default host-pid. */
  SEN_NODE_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "1-64 of A-Z a-z 0-9 _ . -").optional(),
  SEN_CHAIN_RPC: z.string().url().optional(),
  SEN_DEPLOYMENT: z.string().optional(),
  SEN_RPC_PORT: z.coerce.number().int().min(0).max(65535).default(8545),
  SEN_MASTER_KEY: z.string().regex(/^[0-9a-fA-F]{64}$/, "64 hex digits").optional(),
  SEN_OPERATORS: addressList,
  SEN_COMPLIANCE: addressList,
  SEN_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  SEN_WS_CONFLATE_MS: z.coerce.number().int().min(0).max(1000).default(10),
  SEN_WS_MAX_BUFFER: z.coerce.number().int().min(1024).default(4 * 1024 * 1024),
  SEN_WS_FANOUT_CHUNK: z.coerce.number().int().min(1).max(100_000).default(1024),
  // Unauthenticated routes per client IP: "<burst>/<per second>" (KuCoin allows about 2,000 per 30 s).
  SEN_PUBLIC_RATE: z
    .string()
    .regex(/^\d+\/\d+(\.\d+)?$/, "<burst>/<per second>, e.g. 1000/200")
    .default("1000/200")
    .transform((s) => {
      const [burst, perSecond] = s.split("/").map(Number);
      return { burst, perSecond };
    }),
  SEN_CHAIN_KEY: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "a 32-byte hex private key").optional(),
  SEN_CONFIRMATIONS: z.coerce.number().int().min(0).max(1000).default(2),
  SEN_CHAIN_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  /** Personal income tax withheld from each sale, in basis points of its value (10 = 0.1%, as for securities transfers). Without a chain only: with one, the vault's tax policy is the rate. */
  SEN_TAX_RATE_BPS: z.coerce.number().int().min(0).max(1_000).default(10),
  /** A JSON file replacing the pilot's shipped rules (listing/pilotRules.ts); validated in full at start. */
  SEN_PILOT_RULES: z.string().min(1).optional(),
  SEN_SETTLEMENT_HORIZON_MS: z.coerce.number().int().min(0).max(30 * 86_400_000).default(3_600_000),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "a postgres:// URL").optional(),
  SEN_AUDIT_CHECKPOINT_EVENTS: z.coerce.number().int().min(1).default(10_000),
  SEN_AUDIT_CHECKPOINT_MS: z.coerce.number().int().min(100).default(10_000),
  SEN_AUDIT_ANCHOR_MS: z.coerce.number().int().min(0).default(60_000),
  /** The AuditAnchor's auditor key, when it is not SEN_CHAIN_KEY (a public deployment keeps the two apart). */
  SEN_AUDIT_ANCHOR_KEY: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "a 32-byte hex private key").optional(),
  SEN_AUDIT_RETENTION_YEARS: z.coerce.number().int().min(10, "the pilot requires at least 10 years").max(100).default(10),
  SEN_AUDIT_SIGNING_KEY: z.string().includes("PRIVATE KEY", { message: "a PEM private key" }).optional(),
  /** How the host keeps its system clock on UTC (recorded in the audit trail under RTS 25), e.g. "chrony, NTP stratum 1 servers of ...". */
  SEN_CLOCK_SOURCE: z.string().min(1).max(200).default("system clock (source not configured: set SEN_CLOCK_SOURCE)"),
  /** Maximum divergence from UTC committed to, µs: RTS 25 Table 1, a venue with gateway-to-gateway latency above 1 ms: 1 ms (docs/clock.md). */
  SEN_CLOCK_MAX_DIVERGENCE_US: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
  SEN_CLOCK_CHECK_MS: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
  /** The trader app's link for a wallet without an e-ID (the e-KYC issuer's onboarding page). */
  SEN_ONBOARDING_URL: z.string().url().optional(),
  /** The trader app's link to a transaction: this prefix + the hash (e.g. https://explorer.example/tx/); none for a local chain. */
  SEN_EXPLORER_TX_URL: z.string().url().optional(),
  /** The trader app asks before placing an order worth this many đồng or more (a whole number; the default is 100 million). */
  SEN_CONFIRM_ORDER_VND: z.string().regex(/^[1-9]\d{0,17}$/, "a whole number of đồng above 0, e.g. 100000000").default("100000000"),
  /** "1": the compliance console offers sign-in with a pasted development key (local chain only; the gateway refuses it on any other chain). */
  SEN_DEV_SIGNIN: z.enum(["0", "1"]).default("0"),
});

/** Every environment variable Sen reads: derived from the schema, so the two cannot drift. */
export const ENV_KEYS = Object.keys(schema.shape) as ReadonlyArray<keyof typeof schema.shape>;

export type ServerConfig = {
  host: string;
  port: number;
  publicUrl: string;
  wsEndpoint: string;
  siweDomain: string;
  chainId: number;
  dataDir: string;
  journal: { kind: "file"; dir: string; fsync: "always" | "interval" | "none" } | { kind: "redis"; url: string };
  /** This process's part: everything, the sequencer (active or standby) or an edge (see SEN_ROLE). */
  role: "all" | "sequencer" | "edge";
  /** Unique name of this process among the split's processes. */
  nodeId: string;
  /** A journal write not durable within this long stops the exchange (fail-stop). */
  journalDeadlineMs: number;
  snapshotDir: string;
  snapshotEvery: number;
  /** "state": also at least as many records apart as the last snapshot wrote orders and unsettled trades (a snapshot writes them all); "fixed": every `snapshotEvery`. */
  snapshotSpacing: "state" | "fixed";
  /** Finished orders stay queryable through the trading API this long (record time), ms. */
  orderRetentionMs: number;
  keysFile: string;
  masterKeyHex?: string;
  chainRpc?: string;
  deploymentFile?: string;
  rpcPort: number;
  operators: string[];
  compliance: string[];
  logLevel: string;
  wsConflateMs: number;
  /** A websocket client with more than this many bytes unsent is cut off. */
  wsMaxBufferedBytes: number;
  /** Sockets written per turn of the event loop when one message goes to many subscribers. */
  wsFanoutChunk: number;
  /** Token bucket per client IP for the unauthenticated routes. */
  publicRate: { burst: number; perSecond: number };
  /** Key holding the vault's settler and withdrawer roles (a secret: never logged). */
  chainKey?: `0x${string}`;
  confirmations: number;
  chainPollMs: number;
  /**
   * The latest a trade accepted now may settle on chain: an e-ID that expires before then
   * cannot buy or sell (the vault checks it at settlement).
   */
  settlementHorizonMs: number;
  taxRateBps: number;
  pilotRulesFile?: string;
  audit: {
    dir: string;
    /** PostgreSQL for the query index; the embedded SQLite file otherwise. */
    databaseUrl?: string;
    checkpointEvery: { events: number; ms: number };
    /** Anchor the latest checkpoint on chain at most this often (0: every checkpoint). */
    anchorEveryMs: number;
    retentionYears: number;
    /** PEM of the checkpoint signing key (a secret: never logged); generated into dir when absent. */
    signingKeyPem?: string;
    /** Key the checkpoint roots are anchored with (a secret: never logged); chainKey when absent. */
    anchorKey?: `0x${string}`;
  };
  /** The business clock's RTS 25 figures (clock/clockMonitor.ts). */
  clock: { source: string; maxDivergenceUs: number; checkEveryMs: number };
  /** Where the trader app sends a wallet without an e-ID; default the local issuer's /onboarding/ beside this host. */
  onboardingUrl: string;
  /** Prefix of a transaction's explorer page; absent: the app shows the hash only. */
  explorerTxUrl?: string;
  /** The trader app's large-order confirmation threshold, in đồng (decimal string: amounts are never floats). */
  confirmOrderVnd: string;
  /**
   * The console's development sign-in (a private key pasted into the page, signing in-page): for
   * a local development chain only (LOCAL_DEV_CHAIN_IDS), checked when the gateway starts.
   */
  devSignIn: boolean;
};

/** Chains that hold nothing of value (Hardhat, Ganache/geth --dev): the only ones development sign-in may run on. */
export const LOCAL_DEV_CHAIN_IDS: ReadonlySet<number> = new Set([31337, 1337]);

/** Why this configuration may not offer development sign-in, or undefined when it may (or does not ask to). */
export function devSignInRefusal(config: Pick<ServerConfig, "devSignIn" | "chainId">): string | undefined {
  if (!config.devSignIn) return undefined;
  if (!LOCAL_DEV_CHAIN_IDS.has(config.chainId)) return `configuration: SEN_DEV_SIGNIN=1 is for a local development chain (chain id 31337 or 1337), not chain ${config.chainId}`;
  return undefined;
}

/** Freezes an object and everything it holds. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Validates the environment once; a bad setting stops the process with a clear message. The
 * result is frozen: what is only known later (the chain id from the deployment file) comes in
 * as an override, so no module ever sees the config change under it.
 */
export function envToConfig(env: Env, overrides: Partial<ServerConfig> = {}): ServerConfig {
  const r = schema.safeParse(env);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ConfigError(ConfigCode.INVALID, `configuration: ${i?.path.join(".")}: ${i?.message}`);
  }
  const e = r.data;
  if (e.SEN_ROLE !== "all" && !e.REDIS_URL) throw new ConfigError(ConfigCode.INVALID, `configuration: SEN_ROLE=${e.SEN_ROLE} needs REDIS_URL (the split's processes meet in Redis)`);
  if (e.SEN_ROLE !== "all" && !e.SEN_MASTER_KEY) throw new ConfigError(ConfigCode.INVALID, `configuration: SEN_ROLE=${e.SEN_ROLE} needs SEN_MASTER_KEY, the same on every process (API secrets in Redis are sealed under it)`);
  const dataDir = path.resolve(e.SEN_DATA_DIR);
  const publicUrl = e.SEN_PUBLIC_URL ?? `http://${e.SEN_HOST}:${e.SEN_PORT}`;
  const u = new URL(publicUrl);
  return deepFreeze({
    host: e.SEN_HOST,
    port: e.SEN_PORT,
    publicUrl,
    wsEndpoint: `${u.protocol === "https:" ? "wss" : "ws"}://${u.host}/ws`,
    siweDomain: u.host,
    chainId: 31337,
    dataDir,
    journal: e.REDIS_URL ? { kind: "redis", url: e.REDIS_URL } : { kind: "file", dir: path.join(dataDir, "journal"), fsync: e.SEN_JOURNAL_FSYNC },
    role: e.SEN_ROLE,
    nodeId: e.SEN_NODE_ID ?? `${hostname().replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 40)}-${process.pid}`,
    journalDeadlineMs: e.SEN_JOURNAL_DEADLINE_MS,
    snapshotDir: path.join(dataDir, "snapshots"),
    snapshotEvery: e.SEN_SNAPSHOT_EVERY,
    snapshotSpacing: e.SEN_SNAPSHOT_SPACING,
    orderRetentionMs: Math.round(e.SEN_ORDER_RETENTION_DAYS * 86_400_000),
    keysFile: path.join(dataDir, "api-keys.json"),
    masterKeyHex: e.SEN_MASTER_KEY,
    chainRpc: e.SEN_CHAIN_RPC,
    deploymentFile: e.SEN_DEPLOYMENT,
    rpcPort: e.SEN_RPC_PORT,
    operators: e.SEN_OPERATORS,
    compliance: e.SEN_COMPLIANCE,
    logLevel: e.SEN_LOG_LEVEL,
    wsConflateMs: e.SEN_WS_CONFLATE_MS,
    wsMaxBufferedBytes: e.SEN_WS_MAX_BUFFER,
    wsFanoutChunk: e.SEN_WS_FANOUT_CHUNK,
    publicRate: e.SEN_PUBLIC_RATE,
    chainKey: e.SEN_CHAIN_KEY as `0x${string}` | undefined,
    confirmations: e.SEN_CONFIRMATIONS,
    chainPollMs: e.SEN_CHAIN_POLL_MS,
    settlementHorizonMs: e.SEN_SETTLEMENT_HORIZON_MS,
    taxRateBps: e.SEN_TAX_RATE_BPS,
    pilotRulesFile: e.SEN_PILOT_RULES,
    audit: {
      dir: path.join(dataDir, "audit"),
      databaseUrl: e.DATABASE_URL,
      checkpointEvery: { events: e.SEN_AUDIT_CHECKPOINT_EVENTS, ms: e.SEN_AUDIT_CHECKPOINT_MS },
      anchorEveryMs: e.SEN_AUDIT_ANCHOR_MS,
      retentionYears: e.SEN_AUDIT_RETENTION_YEARS,
      signingKeyPem: e.SEN_AUDIT_SIGNING_KEY,
      anchorKey: e.SEN_AUDIT_ANCHOR_KEY as `0x${string}` | undefined,
    },
    clock: { source: e.SEN_CLOCK_SOURCE, maxDivergenceUs: e.SEN_CLOCK_MAX_DIVERGENCE_US, checkEveryMs: e.SEN_CLOCK_CHECK_MS },
    // npm start runs the issuer on 8090 beside the gateway.
    onboardingUrl: e.SEN_ONBOARDING_URL ?? `${u.protocol}//${u.hostname}:8090/onboarding/`,
    explorerTxUrl: e.SEN_EXPLORER_TX_URL,
    confirmOrderVnd: e.SEN_CONFIRM_ORDER_VND,
    devSignIn: e.SEN_DEV_SIGNIN === "1",
    ...overrides,
  });
}

/**
 * The config of a gateway the OS gave a port (SEN_PORT=0, tests and benchmarks): the same
 * settings, frozen too, with the address clients are told (bullet endpoint, SIWE domain).
 */
export function listeningOn(config: ServerConfig, port: number): ServerConfig {
  if (config.port !== 0) return config;
  return deepFreeze({ ...config, publicUrl: `http://${config.host}:${port}`, wsEndpoint: `ws://${config.host}:${port}/ws`, siweDomain: `${config.host}:${port}` });
}
