import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startChain, type ChainFixture } from "./chainFixture.ts";
import { spawnExchange, type ExchangeProcess } from "./exchangeProcess.ts";
import { startRedis, type RedisServer } from "./redisServer.ts";

export type SplitRole = "sequencer" | "edge";

/**
 * The split on real processes, for tests: a served chain, a redis-server, and processes of
 * api/src/main.ts with SEN_ROLE=sequencer|edge sharing one master key. Every process started
 * here (or handed to `track`) is killed by `close()`, and by a kill -9 if the test process
 * exits first, so a failing test never leaves a sequencer behind.
 */
export type SplitCluster = {
  readonly chain: ChainFixture;
  readonly redis: RedisServer;
  /** SEN_MASTER_KEY of every process (edges derive their forwarding key from it). */
  readonly masterKey: string;
  /** The environment of a process of `role` named `node`, with a data directory of its own, or the one named `shared` (a standby shares the active sequencer's). */
  env(role: SplitRole, node: string, options?: { shared?: string }): Record<string, string>;
  /** Starts a process and waits until it serves. */
  spawn(role: SplitRole, node: string, options?: { shared?: string }): Promise<ExchangeProcess>;
  /** A process started some other way, killed with the others. */
  track<P extends Pick<ExchangeProcess, "child" | "kill9">>(p: P): P;
  close(): Promise<void>;
};

/** `extraEnv`: what every process of this test also gets (chain polling, snapshot interval, wallets). */
export async function startSplitCluster(extraEnv: Record<string, string> = {}): Promise<SplitCluster> {
  const [chain, redis] = await Promise.all([startChain({ serve: true }), startRedis()]);
  const masterKey = randomBytes(32).toString("hex");
  const children: Array<Pick<ExchangeProcess, "child" | "kill9">> = [];
  const reap = () => {
    for (const c of children) {
      try {
        if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGKILL");
      } catch {
        // gone already
      }
    }
    if (redis.pid !== undefined) process.kill(redis.pid, "SIGKILL");
  };
  process.once("exit", reap);

  const dirs: string[] = [];
  const shared = new Map<string, string>();
  const dataDir = (node: string, name?: string) => {
    let dir = name === undefined ? undefined : shared.get(name);
    if (dir === undefined) {
      dir = mkdtempSync(path.join(tmpdir(), `sen-${node}-`));
      dirs.push(dir);
      if (name !== undefined) shared.set(name, dir);
    }
    return dir;
  };
  const env = (role: SplitRole, node: string, options: { shared?: string } = {}): Record<string, string> => ({
    SEN_ROLE: role,
    SEN_NODE_ID: node,
    REDIS_URL: redis.url,
    SEN_MASTER_KEY: masterKey,
    SEN_CHAIN_RPC: chain.rpcUrl!,
    SEN_DEPLOYMENT: chain.deploymentFile!,
    SEN_DATA_DIR: dataDir(node, options.shared),
    SEN_CONFIRMATIONS: "0",
    SEN_AUDIT_CHECKPOINT_MS: "3600000",
    SEN_LOG_LEVEL: "error",
    ...extraEnv,
    ...(role === "sequencer" ? { SEN_CHAIN_KEY: chain.operatorKey } : {}),
  });
  const track = <P extends Pick<ExchangeProcess, "child" | "kill9">>(p: P): P => {
    children.push(p);
    return p;
  };

  return {
    chain,
    redis,
    masterKey,
    env,
    track,
    spawn: async (role, node, options) => track(await spawnExchange(env(role, node, options))),
    async close() {
      for (const c of children) await c.kill9().catch(() => undefined);
      await redis.stop();
      await chain.close();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
      process.removeListener("exit", reap);
    },
  };
}
