import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { readLease } from "../src/cluster/lease.ts";
import { startChain, type ChainFixture } from "./support/chainFixture.ts";
import { redisServerPath, startRedis, type RedisServer } from "./support/redisServer.ts";

const MAIN = path.resolve(import.meta.dirname, "../src/main.ts");
const skip = redisServerPath() === null ? "redis-server not installed (apt-get install redis-server)" : undefined;

/**
 * A sequencer (SEN_ROLE=sequencer, a real process on a real redis-server) started as README's
 * "Scale-out" shows it, on a SEN_DATA_DIR that does not exist yet; and one whose configuration
 * is bad, which must fail before it writes anything or keeps the lease.
 */
describe("sequencer on a fresh data directory", { skip, timeout: 120_000 }, () => {
  let chain: ChainFixture;
  let redis: RedisServer;
  let r: Redis;
  const root = mkdtempSync(path.join(tmpdir(), "sen-seq-fresh-"));
  const children: Array<ReturnType<typeof spawn>> = [];

  function start(node: string, dataDir: string, extra: Record<string, string> = {}) {
    const child = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env,
        SEN_PORT: "0",
        SEN_LOG_LEVEL: "warn",
        SEN_ROLE: "sequencer",
        SEN_NODE_ID: node,
        REDIS_URL: redis.url,
        SEN_MASTER_KEY: randomBytes(32).toString("hex"),
        SEN_CHAIN_RPC: chain.rpcUrl!,
        SEN_DEPLOYMENT: chain.deploymentFile!,
        SEN_DATA_DIR: dataDir,
        SEN_CONFIRMATIONS: "0",
        ...extra,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let out = "";
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-8000)));
    const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const ready = new Promise<string>((resolve, reject) => {
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /SEN_READY (\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      void exit.then((code) => reject(new Error(`sequencer ${node} exited with ${code} before it was ready:\n${err}`)));
    });
    ready.catch(() => undefined);
    return { child, ready, exit, stderr: () => err };
  }

  before(async () => {
    [chain, redis] = await Promise.all([startChain({ serve: true }), startRedis()]);
    r = new Redis(redis.url);
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    r?.disconnect();
    await redis?.stop();
    await chain?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("a bad rule file stops it before it writes to the data directory, and the lease is not held", async () => {
    const dataDir = path.join(root, "bad", "seq");
    const s = start("seq-bad", dataDir, { SEN_PILOT_RULES: path.join(root, "no-such-rules.json") });
    const code = await s.exit;
    assert.notEqual(code, 0, s.stderr());
    assert.equal(existsSync(dataDir), false, "nothing written for a configuration that is refused");
    assert.equal(await readLease(r), null, "no lease left behind");
  });

  it("starts as the active sequencer on a SEN_DATA_DIR that does not exist yet and answers", async () => {
    const dataDir = path.join(root, "data", "seq");
    assert.equal(existsSync(dataDir), false);
    const s = start("seq-1", dataDir);
    const url = await s.ready;
    const res = await fetch(`${url}/health`);
    assert.equal(res.status, 200);
    assert.equal((await readLease(r))?.node, "seq-1");
    assert.ok(existsSync(path.join(dataDir, "LOCK")));
    s.child.kill("SIGTERM");
    assert.equal(await s.exit, 0);
    assert.equal(await readLease(r), null, "a clean stop gives the lease back");
  });
});
