import { isIP } from "node:net";
import { getAddress, type Address, type Hex } from "viem";
import { z } from "zod/v4";
import { ISSUER_ERROR, IssuerError } from "./errors.ts";
import { parseIdentitySalt } from "./identityHash.ts";
import { parsePiiKeys } from "./piiVault.ts";
import { DEFAULT_RETENTION_DAYS } from "./service.ts";

/**
 * The issuer process's configuration: the only reader of the environment, checked whole
 * before anything touches the disk or the chain. Secrets (the issuer key, the PII keys, the
 * salt) are checked for shape only; no message ever quotes them.
 */
export type IssuerConfig = {
  port: number;
  host: string;
  dataDir: string;
  issuerKey: Hex;
  chainRpc: string;
  deploymentFile: string;
  officers: ReadonlySet<Address>;
  piiKeys: readonly string[];
  identitySalt: Buffer;
  /** PostgreSQL's connection URL; the embedded SQLite store in dataDir when absent. */
  databaseUrl: string | undefined;
  /** Days personal data is kept once no longer needed (IssuerService.purgeExpired; DEFAULT_RETENTION_DAYS says why 5 years). */
  retentionDays: number;
  /** The sign-in domain (host[:port]) the SIWE messages must name; default publicUrl's host, else the listening address. */
  siweDomain: string | undefined;
  /** The origin people open the issuer at (https://kyc.example); the SIWE messages' URI must have it. Default http://<siweDomain>. */
  publicUrl: string | undefined;
  /**
   * The reverse proxies in front of the issuer (addresses, CIDR ranges or proxy-addr's
   * loopback / linklocal / uniquelocal), whose X-Forwarded-For names the client; empty: none,
   * the connecting address is the client.
   */
  trustProxy: readonly string[];
};

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

const PROXY_KEYWORDS = ["loopback", "linklocal", "uniquelocal"];

/** An address, a CIDR range of one, or one of proxy-addr's named ranges. */
function isProxyEntry(entry: string): boolean {
  if (PROXY_KEYWORDS.includes(entry)) return true;
  const [addr, prefix, extra] = entry.split("/");
  const family = isIP(addr!);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

const envSchema = z.object({
  SEN_ISSUER_PORT: z.coerce.number().int().min(0).max(65535).default(8090),
  SEN_ISSUER_HOST: z.string().min(1).default("127.0.0.1"),
  SEN_ISSUER_DATA_DIR: z.string().min(1).default("data/issuer"),
  SEN_ISSUER_KEY: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be the issuer's private key, 0x + 64 hex digits"),
  SEN_CHAIN_RPC: z.url({ protocol: /^https?$|^wss?$/, error: "must be an http(s) or ws(s) URL" }),
  SEN_DEPLOYMENT: z.string().min(1, "must name the deployment file (deployments/<chainId>.json)"),
  SEN_ISSUER_OFFICERS: z
    .string()
    .transform((s) => s.split(",").map((a) => a.trim()).filter((a) => a !== ""))
    .refine((list) => list.length > 0, "name at least one officer wallet")
    .refine((list) => list.every((a) => ADDRESS.test(a)), "must be comma-separated 0x addresses"),
  SEN_ISSUER_PII_KEYS: z.string().min(1, "must list the personal-data keys as kid:hex64,..."),
  SEN_ISSUER_SALT: z.string().min(1, "must be the identity salt, at least 32 bytes of hex"),
  SEN_ISSUER_SIWE_DOMAIN: z.string().min(1).optional(),
  SEN_ISSUER_PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: "must be the http(s) address people open the issuer at, e.g. https://kyc.example.vn" })
    // zod 4 runs a refinement even after a failed check: parse only what can be.
    .refine((u) => !URL.canParse(u) || new URL(u).href === `${new URL(u).origin}/`, "must be an origin only (scheme, host and port), e.g. https://kyc.example.vn")
    .optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
    .refine((u) => URL.canParse(u), "must be a postgres:// URL")
    .optional(),
  // Behind a reverse proxy every client connects from the proxy's address: without this, the
  // sign-in limits would count all of them as one client.
  SEN_ISSUER_TRUST_PROXY: z
    .string()
    .transform((v) => v.split(",").map((x) => x.trim()).filter((x) => x !== ""))
    .refine((list) => list.every(isProxyEntry), "must list the proxies' addresses or CIDR ranges (or loopback, linklocal, uniquelocal), comma-separated")
    .default([]),
  // Up to 100 years: a typo of extra digits is refused rather than keeping data forever.
  SEN_ISSUER_RETENTION_DAYS: z.coerce.number().int("must be a whole number of days").min(1, "must be at least 1 day").max(36_500, "must be at most 36500 days").default(DEFAULT_RETENTION_DAYS),
});

/** Every variable the issuer reads (derived from the schema, so it cannot drift). */
export const ISSUER_ENV_KEYS: readonly string[] = Object.keys(envSchema.shape);

/** Reads and checks the configuration; throws ISSUER_CONFIG naming the variable. */
export function readIssuerConfig(env: Record<string, string | undefined>): IssuerConfig {
  // An empty variable means "not set", as a shell's `VAR= cmd` does.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const r = envSchema.safeParse(present);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const name = String(issue.path[0] ?? "environment");
    throw new IssuerError(ISSUER_ERROR.CONFIG, name, `${name}: ${issue.message}`);
  }
  const e = r.data;
  const renamed = <T>(name: string, read: () => T): T => {
    try {
      return read();
    } catch (err) {
      // The parsers' messages name the rule, never the secret.
      throw new IssuerError(ISSUER_ERROR.CONFIG, name, `${name}: ${err instanceof Error ? err.message : "invalid"}`);
    }
  };
  const piiKeys = e.SEN_ISSUER_PII_KEYS.split(",").map((k) => k.trim()).filter((k) => k !== "");
  renamed("SEN_ISSUER_PII_KEYS", () => parsePiiKeys(piiKeys));
  return {
    port: e.SEN_ISSUER_PORT,
    host: e.SEN_ISSUER_HOST,
    dataDir: e.SEN_ISSUER_DATA_DIR,
    issuerKey: e.SEN_ISSUER_KEY as Hex,
    chainRpc: e.SEN_CHAIN_RPC,
    deploymentFile: e.SEN_DEPLOYMENT,
    officers: new Set(e.SEN_ISSUER_OFFICERS.map((a) => getAddress(a.toLowerCase()))),
    piiKeys,
    identitySalt: renamed("SEN_ISSUER_SALT", () => parseIdentitySalt(e.SEN_ISSUER_SALT)),
    databaseUrl: e.DATABASE_URL,
    retentionDays: e.SEN_ISSUER_RETENTION_DAYS,
    siweDomain: e.SEN_ISSUER_SIWE_DOMAIN,
    publicUrl: e.SEN_ISSUER_PUBLIC_URL === undefined ? undefined : new URL(e.SEN_ISSUER_PUBLIC_URL).origin,
    trustProxy: e.SEN_ISSUER_TRUST_PROXY,
  };
}
