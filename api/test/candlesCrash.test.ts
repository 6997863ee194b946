import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { spawnExchange, type ExchangeProcess } from "./support/exchangeProcess.ts";
import { loginAndCreateKey, postJson } from "./support/gatewayFixture.ts";
import { kucoinClient } from "./support/kucoinClient.ts";

const SYMBOL = "GOLD-VND";
type Fill = { tradeId: string; price: string; size: string; funds: string; createdAt: number };

/** KuCoin candle rows (t_s, o, c, h, l, v, turnover) computed from the buyer's fills: one per trade. */
function candlesFromFills(fills: Fill[], widthMs: number): string[][] {
  const rows = new Map<number, { o: number; c: number; h: number; l: number; v: number; t: bigint }>();
  for (const f of [...fills].sort((a, b) => a.tradeId.localeCompare(b.tradeId))) {
    const k = Math.floor(f.createdAt / widthMs) * widthMs;
    const p = Number(f.price);
    const r = rows.get(k);
    if (!r) rows.set(k, { o: p, c: p, h: p, l: p, v: Number(f.size), t: BigInt(f.funds) });
    else Object.assign(r, { c: p, h: Math.max(r.h, p), l: Math.min(r.l, p), v: r.v + Number(f.size), t: r.t + BigInt(f.funds) });
  }
  return [...rows]
    .sort((a, b) => b[0] - a[0])
    .map(([k, r]) => [String(k / 1000), String(r.o), String(r.c), String(r.h), String(r.l), String(r.v), r.t.toString()]);
}

/**
 * kill -9 of the real gateway process while trades are coming in: candles are written in
 * batches, so the crash loses the last batch; the restart must rebuild it from the journal,
 * and count no trade twice (a second crash and restart gives the same candles).
 */
describe("candle history across kill -9", () => {
  let chain: ChainFixture;
  let dataDir: string;
  let ex: ExchangeProcess | undefined;
  before(async () => {
    chain = await startChain({ serve: true });
    for (const [i, label] of [
      [17, "operator"],
      [13, "seller"],
      [14, "buyer"],
    ] as const) {
      await chain.attest(hardhatAccount(i).address, label);
    }
    dataDir = mkdtempSync(path.join(tmpdir(), "sen-candles-crash-"));
  });
  after(async () => {
    await ex?.stop().catch(() => undefined);
    await chain?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("the candles equal the trades after a crash mid-load and after a second crash", async () => {
    const operator = hardhatAccount(17);
    const env = {
      SEN_CHAIN_RPC: chain.rpcUrl!,
      SEN_DEPLOYMENT: chain.deploymentFile!,
      SEN_DATA_DIR: dataDir,
      SEN_OPERATORS: operator.address.toLowerCase(),
      SEN_CONFIRMATIONS: "0",
      SEN_SNAPSHOT_EVERY: "37",
      SEN_SNAPSHOT_SPACING: "fixed",
    };
    ex = await spawnExchange(env);
    const seller = await loginAndCreateKey(ex.url, hardhatAccount(13));
    const buyer = await loginAndCreateKey(ex.url, hardhatAccount(14));
    const op = await loginAndCreateKey(ex.url, operator);
    await postJson(`${ex.url}/api/v1/sen/operator/deposits`, { accountId: seller.accountId, currency: "GOLD", amount: "1000000", ref: "cc-dep-s" }, op.token);
    await postJson(`${ex.url}/api/v1/sen/operator/deposits`, { accountId: buyer.accountId, currency: "VND", amount: "1000000000000", ref: "cc-dep-b" }, op.token);
    const url = () => ex!.url;
    const s = kucoinClient(url, seller);
    const b = kucoinClient(url, buyer);

    let killed = false;
    let acked = 0;
    const killAfter = 120 + Math.floor(Math.random() * 60);
    const worker = async (w: number) => {
      for (let i = 0; !killed && i < 500; i++) {
        const sell = (w + i) % 2 === 0;
        const price = String(9_800 + 100 * ((w * 7 + i * 3) % 5));
        try {
          const r = await (sell ? s : b)("POST", "/api/v1/orders", { clientOid: `cc${w}-${i}`, side: sell ? "sell" : "buy", symbol: SYMBOL, type: "limit", price, size: String(1 + ((i + w) % 4)) });
          if (r.code === "200000") acked++;
        } catch {
          // cut by the crash
        }
        if (acked >= killAfter && !killed) {
          killed = true;
          await ex!.kill9();
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    assert.ok(killed);

    const candles = async (type: string) => {
      const r = (await (await fetch(`${ex!.url}/api/v1/market/candles?symbol=${SYMBOL}&type=${type}`)).json()) as { code: string; data: string[][] };
      assert.equal(r.code, "200000", JSON.stringify(r));
      return r.data;
    };
    const check = async () => {
      const fills = (await b<{ items: Fill[] }>("GET", `/api/v1/fills?symbol=${SYMBOL}&pageSize=500`)).data.items;
      assert.ok(fills.length > 10, `${fills.length} trades before the crash`);
      assert.ok(fills.length < 500, "one page holds every trade");
      assert.deepEqual(await candles("1min"), candlesFromFills(fills, 60_000));
      assert.deepEqual(await candles("1day"), candlesFromFills(fills, 86_400_000));
      return fills.length;
    };
    ex = await spawnExchange(env);
    const trades = await check();
    await ex.kill9(); // idle: whatever the last batch held must not be counted again
    ex = await spawnExchange(env);
    assert.equal(await check(), trades);
  });
});
