/**
 * What bench:split and bench:split-ws share: the real entry point (api/src/main.ts) spawned in
 * any role on an in-process Hardhat chain served over JSON-RPC, traders signed in and credited
 * through the operator's routes, and a process's CPU read from /proc. One bench per process:
 * the spawned children and their data directories are kept here and removed by `cleanup`.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { hardhatAccount, type ChainFixture } from "../../api/test/support/chainFixture.ts";
import { spawnExchange, type ExchangeProcess } from "../../api/test/support/exchangeProcess.ts";
import { loginAndCreateKey, type ApiCredentials } from "../../api/test/support/gatewayFixture.ts";
import { until } from "../../api/test/support/until.ts";

export const SYMBOL = "GOLD-VND";
export const SELLER = 15;
export const BUYER = 13;
export const OPERATOR = 14;
const TICK_HZ = 100; // /proc CPU times are in clock ticks (USER_HZ, 100 on Linux)

export type ProcCpu = { total: number; main: number };

/** Calls per Redis command so far (INFO commandstats; commands run inside Lua scripts counted too). */
export async function redisCommandCalls(url: string): Promise<Record<string, number>> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const text = (await redis.info("commandstats")) as string;
    const calls: Record<string, number> = {};
    for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]] = Number(m[2]);
    return calls;
  } finally {
    redis.disconnect();
  }
}

/** CPU seconds of a process (all threads) and of its main thread, from /proc. */
export function procCpu(pid: number): ProcCpu {
  const ticks = (file: string) => {
    const s = readFileSync(file, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]); // utime + stime (fields 14 and 15)
  };
  return { total: ticks(`/proc/${pid}/stat`) / TICK_HZ, main: ticks(`/proc/${pid}/task/${pid}/stat`) / TICK_HZ };
}

const masterKey = randomBytes(32).toString("hex");
const dirs: string[] = [];
const children: ExchangeProcess[] = [];

export function baseEnv(chain: ChainFixture, node: string, extra: Record<string, string>): Record<string, string> {
  const dataDir = mkdtempSync(path.join(tmpdir(), `sen-bench-${node}-`));
  dirs.push(dataDir);
  return {
    SEN_NODE_ID: node,
    SEN_MASTER_KEY: masterKey,
    SEN_CHAIN_RPC: chain.rpcUrl!,
    SEN_DEPLOYMENT: chain.deploymentFile!,
    SEN_DATA_DIR: dataDir,
    SEN_CONFIRMATIONS: "0",
    SEN_CHAIN_POLL_MS: "1000",
    SEN_AUDIT_CHECKPOINT_MS: "3600000",
    SEN_LOG_LEVEL: "error",
    SEN_OPERATORS: hardhatAccount(OPERATOR).address.toLowerCase(),
    ...extra,
  };
}

/**
 * The gateway's own Node flags, read from package.json's start:gateway (a fixed 32 MiB young
 * generation), so the bench runs the gateway as it is run. Passed on the command line:
 * NODE_OPTIONS refuses --min-semi-space-size.
 */
export const GATEWAY_NODE_FLAGS: string[] = (() => {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> };
  return pkg.scripts["start:gateway"].split(/\s+/).filter((a) => a.startsWith("--"));
})();

export async function spawn(env: Record<string, string>): Promise<ExchangeProcess> {
  const p = await spawnExchange(env, GATEWAY_NODE_FLAGS);
  children.push(p);
  return p;
}

export async function stopAll(list: ExchangeProcess[]): Promise<void> {
  for (const p of list) await p.stop().catch(() => p.kill9());
}

/** Kills what is still running and removes every data directory. */
export function cleanup(): void {
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

/** Signs the traders (buyer, seller) and the operator in through `url`, lifts the rate limits, credits them, waits until every reader shows the deposits. */
export async function prepare(url: string, readers: string[]): Promise<[ApiCredentials, ApiCredentials]> {
  const creds: ApiCredentials[] = [];
  for (const idx of [BUYER, SELLER]) creds.push(await loginAndCreateKey(url, hardhatAccount(idx)));
  const op = await loginAndCreateKey(url, hardhatAccount(OPERATOR));
  const huge = { burst: 1_000_000_000, perSecond: 1_000_000_000 };
  const res = await fetch(`${url}/api/v1/sen/operator/risk-limits`, {
    method: "PUT",
    headers: { "content-type": "application/json", authorization: `Bearer ${op.token}` },
    body: JSON.stringify({ scope: "defaults", reason: "benchmark load", limits: { keyRate: huge, accountRate: huge, maxOpenOrders: 1_000_000_000 } }),
  });
  if (!res.ok) throw new Error(`risk limits: ${res.status} ${await res.text()}`);
  // Credited by the operator route, as bench:api credits in-process deposits: no chain services
  // run, so the figures are the exchange's work per order, not settlement's.
  for (const c of creds) {
    for (const [currency, amount] of [["VND", "1000000000000"], ["GOLD", "10000000"]]) {
      const d = await fetch(`${url}/api/v1/sen/operator/deposits`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${op.token}` },
        body: JSON.stringify({ accountId: c.accountId, currency, amount, ref: `bench-${c.accountId}-${currency}` }),
      });
      if (!d.ok) throw new Error(`deposit: ${d.status} ${await d.text()}`);
    }
  }
  for (const reader of readers) {
    for (const c of creds) {
      await until("deposits credited", async () => {
        const r = await fetch(`${reader}/api/v1/accounts`, { headers: { authorization: `Bearer ${c.token}` } });
        const body = (await r.json()) as { data?: Array<{ currency: string; available: string }> };
        return (body.data ?? []).filter((b) => (b.currency === "VND" || b.currency === "GOLD") && Number(b.available) > 0).length === 2;
      }, 60_000);
    }
  }
  return [creds[0], creds[1]];
}
