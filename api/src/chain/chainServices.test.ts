import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { pino } from "pino";
import { createPublicClient, http, type Address, type Hex } from "viem";
import { hardhatAccount, startChain, type ChainFixture } from "../../test/support/chainFixture.ts";
import { startFaultyRpc } from "../../test/support/faultyRpc.ts";
import { loginAndCreateKey, startTestGateway, type GatewayFixture } from "../../test/support/gatewayFixture.ts";
import { sessionClient } from "../../test/support/httpProbe.ts";
import { redisServerPath, startRedis, type RedisServer } from "../../test/support/redisServer.ts";
import { until } from "../../test/support/until.ts";
import { startChainServices, type ChainServices } from "./chainServices.ts";

type Logged = { level: number; msg: string; account?: string; failures?: number; retryInMs?: number };

/** A logger whose lines the test reads. */
function capture() {
  const lines: Logged[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as Logged) });
  return { logger, lines };
}

/** The identity.revoked events of `account` in the gateway's audit log. */
async function revocationsOf(gw: GatewayFixture, account: string): Promise<number> {
  let n = 0;
  for await (const { line } of gw.ctx.audit.log.read()) {
    const e = JSON.parse(line) as { type: string; account?: string };
    if (e.type === "identity.revoked" && e.account === account) n++;
  }
  return n;
}

/**
 * The identity sweep and deposit crediting share the chain poll: one account whose check fails
 * must hold up neither the other accounts nor the deposits, and an account the sweep must try
 * again has its revocation recorded once. Real chain (Hardhat, served over JSON-RPC), real
 * gateway; the faults are the chain's provider refusing one account's read (HTTP 429) and Redis
 * refusing writes at its memory limit.
 */
describe("chain services: identity sweep isolation", { timeout: 180_000 }, () => {
  describe("one account's read refused", () => {
    let chain: ChainFixture;
    let gw: GatewayFixture;
    let rpc: Awaited<ReturnType<typeof startFaultyRpc>>;
    let services: ChainServices | undefined;
    const [depositor, failing, other] = [hardhatAccount(13), hardhatAccount(14), hardhatAccount(15)];
    const identities: Record<string, Hex> = {};

    before(async () => {
      chain = await startChain({ serve: true });
      rpc = await startFaultyRpc(chain.rpcUrl!);
      gw = await startTestGateway(chain);
      await chain.attest(depositor.address, "sweep-depositor");
      // Keys made in this order: the sweep meets the failing account before the other.
      for (const [name, wallet] of [["failing", failing], ["other", other]] as const) {
        identities[name] = await chain.attest(wallet.address, `sweep-${name}`);
        await loginAndCreateKey(gw.url, wallet);
      }
    });
    after(async () => {
      await services?.stop();
      await gw?.close();
      await rpc?.close();
      await chain?.close();
    });

    it("the other revoked account is frozen and the deposit credited in the same poll; the failing one is tried again and frozen once its read answers", async () => {
      const [a, b, d] = [failing, other, depositor].map((w) => w.address.toLowerCase());
      assert.deepEqual((await gw.ctx.keys.accounts()).slice(0, 2), [a, b]);
      await chain.revoke(identities.failing);
      await chain.revoke(identities.other);
      await chain.fundAndDeposit(13, { vnd: 5_000_000n });
      rpc.refuseCallsNaming(failing.address);
      const { logger, lines } = capture();
      const publicClient = createPublicClient({ transport: http(rpc.url, { retryCount: 0 }), cacheTime: 0 });
      services = await startChainServices({
        ctx: { ...gw.ctx, logger },
        publicClient,
        walletClient: chain.operatorWallet,
        contracts: { IdentityRegistry: chain.deployment.contracts.IdentityRegistry, SettlementVault: chain.deployment.contracts.SettlementVault },
        startBlock: BigInt(chain.deployment.startBlock),
        confirmations: 0,
        pollMs: 100,
      });
      await services.poll();
      assert.ok(rpc.refusedCount("eth_call") > 0, "the fault is the one meant: the failing account's read was refused");
      const logs = () => lines.map((l) => l.msg).join("; ");
      assert.equal(gw.ctx.queries.balance(d, "VND").available, 5_000_000n, `the deposit is credited: ${logs()}`);
      assert.notEqual(gw.ctx.queries.isFrozen(b), undefined, `the other revoked account is frozen: ${logs()}`);
      assert.notEqual(await gw.ctx.keys.isAccountDisabled(b), undefined);
      assert.equal(gw.ctx.queries.isFrozen(a), undefined, "the failing account could not be checked");
      const failed = lines.filter((l) => l.account === a && l.level === 40 && /check failed/.test(l.msg));
      assert.ok(failed.length >= 1, logs()); // a timer's poll may have tried it first
      assert.equal(failed[0].failures, 1);

      // While it keeps failing it is tried again, each time later than the last.
      await until("the failing account tried twice more", async () => {
        await services!.poll();
        return lines.filter((l) => l.account === a && /check failed/.test(l.msg)).length >= 3;
      });
      const waits = lines.filter((l) => l.account === a && /check failed/.test(l.msg)).map((l) => l.retryInMs!);
      assert.deepEqual(waits.slice(0, 3), [100, 200, 400]);

      rpc.refuseCallsNaming(undefined);
      await until("the failing account frozen once its read answers", async () => {
        await services!.poll();
        return gw.ctx.queries.isFrozen(a) !== undefined;
      });
      assert.notEqual(await gw.ctx.keys.isAccountDisabled(a), undefined);
      assert.equal(await revocationsOf(gw, a), 1);
      assert.equal(await revocationsOf(gw, b), 1);
    });
  });

  const skip = redisServerPath() === null ? "redis-server not installed" : undefined;
  describe("the key store refusing writes (Redis at its memory limit)", { skip }, () => {
    let chain: ChainFixture;
    let redis: RedisServer;
    let admin: Redis;
    let gw: GatewayFixture;
    let services: ChainServices | undefined;
    const held = hardhatAccount(16);

    before(async () => {
      redis = await startRedis();
      admin = new Redis(redis.url);
      chain = await startChain();
      gw = await startTestGateway(chain, { env: { SEN_ROLE: "sequencer", REDIS_URL: redis.url, SEN_MASTER_KEY: randomBytes(32).toString("hex") } });
    });
    after(async () => {
      await services?.stop();
      await admin?.config("SET", "maxmemory", "0").catch(() => undefined);
      admin?.disconnect();
      await gw?.close();
      await chain?.close();
      await redis?.stop();
    });

    it("identity.revoked is recorded once while the account's keys cannot be disabled, and the sweep completes once they can", async () => {
      const account = held.address.toLowerCase();
      const identity = await chain.attest(held.address, "sweep-held");
      const creds = await loginAndCreateKey(gw.url, held);
      // An operator's hold came first: the sweep has nothing to journal, only the keys to disable.
      await gw.ctx.trading.setAccountFrozen(account, true, "compliance hold", "operator");
      await chain.revoke(identity);
      await admin.config("SET", "maxmemory-policy", "noeviction");
      await admin.config("SET", "maxmemory", "1");
      await assert.rejects(admin.set("probe", "x"), /OOM/, "the fault is the one meant: Redis refuses writes");

      const { logger, lines } = capture();
      services = await startChainServices({
        ctx: { ...gw.ctx, logger },
        publicClient: chain.publicClient,
        walletClient: chain.operatorWallet,
        contracts: { IdentityRegistry: chain.deployment.contracts.IdentityRegistry, SettlementVault: chain.deployment.contracts.SettlementVault },
        startBlock: BigInt(chain.deployment.startBlock),
        confirmations: 0,
        pollMs: 100,
      });
      // Four polls, each after the account's back-off (100, 200, 400 ms) has passed: four tries.
      for (let i = 0; i < 4; i++) {
        await services.poll();
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.equal(await gw.ctx.keys.isAccountDisabled(account), undefined, "the keys could not be disabled");
      assert.equal(await revocationsOf(gw, account), 1, "one revocation, one identity.revoked");
      assert.ok(lines.filter((l) => l.account === account && /check failed/.test(l.msg)).length >= 2, "the account was tried again");

      await admin.config("SET", "maxmemory", "0");
      await until("the keys disabled once Redis takes writes", async () => {
        await services!.poll();
        return (await gw.ctx.keys.isAccountDisabled(account)) !== undefined;
      });
      assert.equal(await revocationsOf(gw, account), 1);
      assert.equal((await sessionClient(gw.url, creds.token)("GET", "/api/v1/accounts")).code, "401", "the session was revoked");
    });
  });
});
