import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { signKucoinRequest } from "../src/auth/kucoinSignature.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { spawnExchange, type ExchangeProcess } from "./support/exchangeProcess.ts";
import { loginAndCreateKey, type ApiCredentials } from "./support/gatewayFixture.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { until } from "./support/until.ts";
import { withdrawnOnChain } from "./support/vaultBooks.ts";

type Signed = { path: string; body: string; headers: Record<string, string> };

/** A signed request frozen as bytes, so exactly the same request can be sent again later. */
function sign(creds: ApiCredentials, method: "POST" | "DELETE", pathWithQuery: string, payload: unknown, timestamp: number): Signed {
  const body = payload === undefined ? "" : JSON.stringify(payload);
  return { path: pathWithQuery, body, headers: { ...signKucoinRequest({ method, pathWithQuery, body, ...creds, timestamp }), ...(body ? { "content-type": "application/json" } : {}) } };
}

async function send(url: string, method: "POST" | "DELETE", r: Signed): Promise<{ status: number; code: string; senCode?: string }> {
  const res = await fetch(url + r.path, { method, headers: r.headers, body: r.body || undefined });
  return { status: res.status, ...((await res.json()) as { code: string; senCode?: string }) };
}

/**
 * A signed request is single-use across restarts: one accepted just before a kill -9 (its
 * timestamp even ahead of the clock, as the window allows) is refused when sent again to the
 * restarted gateway, and no second withdrawal reaches the chain. After a clean stop the next
 * process accepts fresh requests at once; after a crash, state-changing requests signed
 * before the restart barrier get 503 and succeed once signed again.
 */
describe("no replay of a signed request across a restart", () => {
  let chain: ChainFixture;
  let dataDir: string;
  let ex: ExchangeProcess | undefined;
  const trader = hardhatAccount(16);
  let creds: ApiCredentials;

  const start = async () => {
    ex = await spawnExchange({
      SEN_CHAIN_RPC: chain.rpcUrl!,
      SEN_DEPLOYMENT: chain.deploymentFile!,
      SEN_DATA_DIR: dataDir,
      SEN_CHAIN_KEY: chain.operatorKey,
      SEN_CONFIRMATIONS: "0",
      SEN_CHAIN_POLL_MS: "100",
      SEN_AUDIT_CHECKPOINT_MS: "3600000",
    });
    return ex.url;
  };

  before(async () => {
    chain = await startChain({ serve: true });
    dataDir = mkdtempSync(path.join(tmpdir(), "sen-replay-"));
    await chain.attest(trader.address, "replay-trader");
    await chain.fundAndDeposit(16, { vnd: 1_000_000n });
  });
  after(async () => {
    await ex?.stop().catch(() => undefined);
    await chain?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("a withdrawal replayed to the restarted gateway after a kill -9 is refused; nothing is paid twice", async () => {
    let url = await start();
    creds = await loginAndCreateKey(url, trader, ["General", "Trade", "Withdraw"]);
    const k = kucoinClient(() => url, creds);
    await until("deposit credited", async () => {
      const rows = (await k<Array<{ currency: string; available: string }>>("GET", "/api/v1/accounts")).data;
      return rows.find((r) => r.currency === "VND")?.available === "1000000";
    });

    // Signed 4.5 s ahead of the clock: inside the window now, and still inside it after a quick restart.
    const withdrawal = sign(creds, "POST", "/api/v3/withdrawals", { currency: "VND", toAddress: trader.address, amount: "1000" }, Date.now() + 4_500);
    const first = await send(url, "POST", withdrawal);
    assert.equal(first.code, "200000", JSON.stringify(first));
    assert.equal((await send(url, "POST", withdrawal)).senCode, "AUTH_REPLAYED", "the live guard refuses it");
    await until("paid once", async () => (await withdrawnOnChain(chain)).length === 1);

    await ex!.kill9();
    url = await start();
    const replay = await send(url, "POST", withdrawal);
    assert.equal(replay.status, 503, JSON.stringify(replay));
    assert.equal(replay.senCode, "AUTH_SIGNED_BEFORE_RESTART");
    // Reads signed before the restart still work: they change nothing.
    assert.equal((await k("GET", "/api/v1/accounts")).code, "200000");
    assert.equal((await withdrawnOnChain(chain)).length, 1, "no second payout");

    // Signed again once the barrier has passed, a new withdrawal goes through.
    await until(
      "a freshly signed withdrawal accepted",
      async () => (await send(url, "POST", sign(creds, "POST", "/api/v3/withdrawals", { currency: "VND", toAddress: trader.address, amount: "1000" }, Date.now()))).code === "200000",
      15_000,
    );
    await until("paid", async () => (await withdrawnOnChain(chain)).length === 2);
  });

  it("after a clean stop the next process takes freshly signed requests at once", async () => {
    await ex!.stop();
    const url = await start();
    const r = await send(url, "POST", sign(creds, "POST", "/api/v3/withdrawals", { currency: "VND", toAddress: trader.address, amount: "1000" }, Date.now()));
    assert.equal(r.code, "200000", JSON.stringify(r));
  });
});
