/** The only reader of process.env (STYLE.md): every setting Sen understands, raw. */
export type Env = Readonly<Record<string, string | undefined>>;

export const ENV_KEYS = [
  "SEN_HOST",
  "SEN_PORT",
  "SEN_PUBLIC_URL",
  "SEN_DATA_DIR",
  "SEN_JOURNAL_FSYNC",
  "SEN_SNAPSHOT_EVERY",
  "REDIS_URL",
  "SEN_CHAIN_RPC",
  "SEN_DEPLOYMENT",
  "SEN_RPC_PORT",
  "SEN_MASTER_KEY",
  "SEN_OPERATORS",
  "SEN_COMPLIANCE",
  "SEN_LOG_LEVEL",
  "SEN_WS_CONFLATE_MS",
  "SEN_WS_MAX_BUFFER",
  "SEN_CHAIN_KEY",
  "SEN_CONFIRMATIONS",
  "SEN_CHAIN_POLL_MS",
  "DATABASE_URL",
  "SEN_AUDIT_CHECKPOINT_EVENTS",
  "SEN_AUDIT_CHECKPOINT_MS",
  "SEN_AUDIT_ANCHOR_MS",
  "SEN_AUDIT_RETENTION_YEARS",
  "SEN_AUDIT_SIGNING_KEY",
] as const;

export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  return Object.fromEntries(ENV_KEYS.map((k) => [k, source[k]]));
}
