import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import ccxt from "ccxt";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, roamingRisk, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { kucoinAt, kucoinProAt, nudge } from "./support/ccxtClients.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { until } from "./support/until.ts";
import { connectWs } from "./support/wsClient.ts";

/**
 * Stock ccxt pro (kucoin) and ccxt's REST candles against the real gateway: the market-data
 * streams (order book incl. depth 5/50 and the quiet-book case, trades, tickers, best bid/ask,
 * candles), the private order and balance streams, and the candle history across months and
 * across restarts (snapshot plus journal replay).
 */
const SYMBOL = "GOLD-VND";
const S = "GOLD/VND";
const MIN = 60_000;
const DAY = 86_400_000;

type Pro = InstanceType<typeof ccxt.pro.kucoin>;
type Ohlcv = [number, number, number, number, number, number];

/** The gateway's clock: fixed past times while history is written, then real time (optionally ahead). */
let fixed: number | null = null;
let ahead = 0;
const now = () => fixed ?? Date.now() + ahead;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves `p` within `ms` or fails naming `what`. */
async function within<T>(what: string, p: Promise<T>, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** The reference: candles of ccxt timeframe `tf` from trades, as ccxt returns them [t, o, h, l, c, v]. */
function expectedCandles(trades: Array<{ ts: number; price: number; size: number }>, tf: string): Ohlcv[] {
  const widths: Record<string, number> = { "1m": MIN, "3m": 3 * MIN, "5m": 5 * MIN, "15m": 15 * MIN, "30m": 30 * MIN, "1h": 60 * MIN, "2h": 120 * MIN, "4h": 240 * MIN, "6h": 360 * MIN, "8h": 480 * MIN, "12h": 720 * MIN, "1d": DAY, "1w": 7 * DAY };
  const start = (ts: number) => {
    if (tf === "1M") {
      const d = new Date(ts);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    }
    return Math.floor(ts / widths[tf]) * widths[tf];
  };
  const out = new Map<number, Ohlcv>();
  for (const t of trades) {
    const k = start(t.ts);
    const c = out.get(k);
    if (!c) out.set(k, [k, t.price, t.price, t.price, t.price, t.size]);
    else {
      c[2] = Math.max(c[2], t.price);
      c[3] = Math.min(c[3], t.price);
      c[4] = t.price;
      c[5] += t.size;
    }
  }
  return [...out.values()].sort((a, b) => a[0] - b[0]);
}

const TIMEFRAMES = ["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "1w", "1M"];

describe("ccxt pro (kucoin) market data and candle history against Sen", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let dataDir: string;
  let seller: ApiCredentials;
  let buyer: ApiCredentials;
  const clients: Pro[] = [];
  let n = 0;
  // Month A starts three calendar months ago; history runs through months A, B and C.
  const today = new Date();
  const monthA = Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 3, 1);
  const monthB = Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 2, 1);
  const monthC = Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 1, 1);
  const history: Array<{ ts: number; price: number; size: number }> = [];

  const risk = roamingRisk();
  const start = () =>
    startTestGateway(chain, {
      dataDir,
      risk,
      now,
      holderRules: false,
      // Periodic snapshots every few records, so that restarts restore one and replay the rest.
      env: { SEN_SNAPSHOT_EVERY: "7", SEN_SNAPSHOT_SPACING: "fixed", SEN_WS_CONFLATE_MS: "5", SEN_JOURNAL_FSYNC: "none" },
    });

  const place = (side: "buy" | "sell", price: number, size: number) => {
    const who = side === "sell" ? seller : buyer;
    return gw.ctx.trading.placeOrder({ symbol: SYMBOL, type: "limit", price, size, tif: "GTC", postOnly: false, stp: "CN", accountId: who.accountId, identityHash: side === "sell" ? "0xa" : "0xb", side, clientOid: `p${++n}` });
  };
  /** One trade of `size` at `price` (a resting sell, then a buy that takes it). */
  const cross = async (price: number, size: number) => {
    await place("sell", price, size);
    await place("buy", price, size);
  };
  const pro = async (creds?: ApiCredentials) => {
    const ex = await kucoinProAt(gw.url, creds);
    clients.push(ex);
    return ex;
  };
  const rest = () => kucoinAt(gw.url);
  /** GET a public route's `data`. */
  const pub = async <T>(route: string) => ((await (await fetch(`${gw.url}${route}`)).json()) as { data: T }).data;
  const restBook = () => pub<{ sequence: string; bids: string[][]; asks: string[][] }>(`/api/v1/market/orderbook/level2_100?symbol=${SYMBOL}`);
  type Level1 = { price: string; bestBid: string; bestAsk: string; bestAskSize: string };
  const levels = (side: string[][]) => side.map(([p, s]) => [Number(p), Number(s)]);
  const plain = (side: ArrayLike<ArrayLike<unknown>>) => Array.from(side, (l) => [l[0], l[1]]);

  before(async () => {
    chain = await startChain();
    dataDir = mkdtempSync(path.join(tmpdir(), "sen-ccxtpro-"));
    fixed = monthA; // everything up to the history happens at its start, so time only moves forward
    gw = await start();
    await chain.attest(hardhatAccount(40).address, "pro-seller");
    await chain.attest(hardhatAccount(41).address, "pro-buyer");
    seller = await loginAndCreateKey(gw.url, hardhatAccount(40));
    buyer = await loginAndCreateKey(gw.url, hardhatAccount(41));
    await gw.ctx.trading.deposit(seller.accountId, "GOLD", 1_000_000n, "pro-dep-1");
    await gw.ctx.trading.deposit(buyer.accountId, "VND", 100_000_000_000n, "pro-dep-2");
  });
  after(async () => {
    for (const ex of clients) await ex.close().catch(() => undefined);
    await gw?.close();
    await chain?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("fetchOHLCV: every KuCoin type, 1min to 1month, from trades spread over three months", async () => {
    const at = async (ts: number, price: number, size: number) => {
      fixed = ts;
      await cross(price, size);
      history.push({ ts, price, size });
    };
    const day1 = monthA + 9 * 60 * MIN; // 09:00 on the 1st of month A
    await at(day1, 10_000, 2);
    await at(day1 + 30_000, 10_100, 1); // same minute
    await at(day1 + 7 * MIN, 9_900, 3); // same hour, another 5 minutes
    await at(day1 + 5 * 60 * MIN, 10_000, 1); // same day, another 4 hours
    await at(day1 + 9 * DAY, 10_200, 2); // another week
    await at(monthB - 30_000, 10_300, 1); // the last minute of month A
    await at(monthB, 10_400, 4); // the first of month B
    await at(monthC + 14 * DAY + 123_456, 10_000, 5);
    fixed = null;

    const ex = rest();
    await ex.loadMarkets();
    for (const tf of TIMEFRAMES) {
      const all = expectedCandles(history, tf);
      // Paging from a start: ccxt sends startAt=since and endAt=since+1500 candles.
      const since = tf === "1w" ? Math.floor(monthA / (7 * DAY)) * 7 * DAY : monthA;
      const windowEnd = since + 1_500 * ex.parseTimeframe(tf) * 1000;
      assert.deepEqual(await ex.fetchOHLCV(S, tf, since), all.filter((c) => c[0] < windowEnd), `${tf} since month A`);
      // No since: the latest candles up to now.
      assert.deepEqual(await ex.fetchOHLCV(S, tf), all, `${tf} latest`);
    }
    assert.deepEqual(
      (await ex.fetchOHLCV(S, "1M")).map((c) => c[0]),
      [monthA, monthB, monthC],
      "calendar months",
    );
    // The raw rows: seconds, KuCoin's column order t,o,c,h,l,v,turnover, newest first.
    const raw = await pub<string[][]>(`/api/v1/market/candles?symbol=${SYMBOL}&type=1month&startAt=${monthA / 1000}&endAt=${monthC / 1000}`);
    assert.deepEqual(raw[raw.length - 1], [String(monthA / 1000), "10000", "10300", "10300", "9900", "10", String(2 * 10_000 + 10_100 + 3 * 9_900 + 10_000 + 2 * 10_200 + 10_300)]);
    assert.equal(raw.length, 3);
    const bad = await fetch(`${gw.url}/api/v1/market/candles?symbol=${SYMBOL}&type=2min`);
    assert.equal(bad.status, 400);
  });

  it("the candle history survives restarts: a snapshot plus replay, and a replay of the whole journal, count each trade once", async () => {
    const ex = rest();
    await ex.loadMarkets();
    const before = await Promise.all(TIMEFRAMES.map((tf) => ex.fetchOHLCV(S, tf)));
    const snapshots = path.join(dataDir, "snapshots");
    const newest = () => readdirSync(snapshots).sort((a, b) => Number(b.match(/\d+/)?.[0]) - Number(a.match(/\d+/)?.[0]));

    // 1. As after a crash since the previous periodic snapshot: restore it and replay the journal after it.
    await gw.close();
    const files = newest();
    assert.ok(files.length >= 2, `snapshots: ${files.join(", ")}`);
    rmSync(path.join(snapshots, files[0]));
    gw = await start();
    const ex1 = rest();
    await ex1.loadMarkets();
    assert.deepEqual(await Promise.all(TIMEFRAMES.map((tf) => ex1.fetchOHLCV(S, tf))), before, "after snapshot + replay");

    // 2. No snapshot at all: the whole journal is replayed, every trade again.
    await gw.close();
    for (const f of readdirSync(snapshots)) rmSync(path.join(snapshots, f), { recursive: true, force: true });
    gw = await start();
    const ex2 = rest();
    await ex2.loadMarkets();
    assert.deepEqual(await Promise.all(TIMEFRAMES.map((tf) => ex2.fetchOHLCV(S, tf))), before, "after a full replay");

    // 3. New trades after the restart add to the same history.
    fixed = null;
    await cross(10_100, 7);
    history.push({ ts: Date.now(), price: 10_100, size: 7 });
    const months = await ex2.fetchOHLCV(S, "1M");
    assert.equal(months.length, 4);
    assert.equal(months[3][5], 7);
  });

  it("watchOrderBook resolves on a quiet book (default, 5 and 50 levels)", async () => {
    await place("sell", 10_500, 3);
    await place("sell", 10_600, 1);
    await place("buy", 9_500, 2);
    await sleep(50); // the book changes are out: from here on the book is quiet
    const book = await restBook();
    for (const limit of [undefined, 5, 50]) {
      const ex = await pro(buyer);
      const ob = await within(`watchOrderBook(limit ${limit}) on a quiet book`, ex.watchOrderBook(S, limit));
      assert.deepEqual(plain(ob.asks), levels(book.asks), `asks, limit ${limit}`);
      assert.deepEqual(plain(ob.bids), levels(book.bids), `bids, limit ${limit}`);
      if (limit === undefined) assert.equal(ob.nonce, Number(book.sequence), "the REST snapshot's sequence");
    }
  });

  it("watchOrderBook on a busy book stays what fetchOrderBook says after many changes (default, 5 and 50 levels)", async () => {
    const books = await Promise.all(
      [undefined, 5, 50].map(async (limit) => {
        const ex = await pro(buyer);
        await within(`watchOrderBook(limit ${limit})`, ex.watchOrderBook(S, limit));
        return { ex, limit };
      }),
    );
    // Many changes: 80 ask levels (more than 50), bids, cancels, and trades through several levels.
    const ids: string[] = [];
    for (let i = 0; i < 80; i++) ids.push((await place("sell", 11_000 + 100 * i, 1 + (i % 3))).orderId);
    for (let i = 0; i < 12; i++) await place("buy", 9_000 - 100 * i, 1 + (i % 2));
    for (let i = 0; i < 80; i += 8) await gw.ctx.trading.cancelOrder(seller.accountId, ids[i]);
    await place("buy", 11_400, 9); // takes several levels
    await place("sell", 9_000, 4);
    const rest100 = await restBook();
    const full = (await kucoinClient(() => gw.url, buyer)("GET", `/api/v3/market/orderbook/level2?symbol=${SYMBOL}`)).data as { sequence: string; bids: string[][]; asks: string[][] };
    assert.equal(full.sequence, rest100.sequence);
    assert.ok(full.asks.length > 50);
    for (const { ex, limit } of books) {
      const ob = () => ex.orderbooks[S];
      if (limit === undefined) {
        await until(`ccxt's book at sequence ${full.sequence}`, () => (ob()?.nonce ?? 0) >= Number(full.sequence));
        assert.equal(ob().nonce, Number(full.sequence));
        assert.deepEqual(plain(ob().asks), levels(full.asks));
        assert.deepEqual(plain(ob().bids), levels(full.bids));
      } else {
        const want = JSON.stringify([levels(full.asks.slice(0, limit)), levels(full.bids.slice(0, limit))]);
        await until(`ccxt's top ${limit}`, () => JSON.stringify([plain(ob()?.asks ?? []), plain(ob()?.bids ?? [])]) === want);
      }
    }
  });

  it("watchTrades, watchTicker, watchTickers (ticker:all) and watchBidsAsks (level1)", async () => {
    const ex = await pro();
    const trades = await nudge("watchTrades", ex.watchTrades(S), () => cross(10_000, 1));
    assert.equal(trades[0].symbol, S);
    assert.equal(trades[0].price, 10_000);
    assert.equal(trades[0].amount, 1);

    const ticker = await nudge("watchTicker", ex.watchTicker(S), () => place("buy", 9_400, 1));
    assert.equal(ticker.symbol, S);
    const all = await nudge("watchTickers", ex.watchTickers(), () => place("buy", 9_300, 1));
    assert.ok(all[S], "ticker:all names the symbol in its subject");

    // level1 answers at once (its current state), then follows the best bid.
    const bidsAsks = await within("watchBidsAsks", ex.watchBidsAsks([S]));
    const level1 = await pub<Level1>(`/api/v1/market/orderbook/level1?symbol=${SYMBOL}`);
    assert.equal(bidsAsks[S].bid, Number(level1.bestBid));
    assert.equal(bidsAsks[S].ask, Number(level1.bestAsk));
    assert.equal(bidsAsks[S].askVolume, Number(level1.bestAskSize));
    const next = ex.watchBidsAsks([S]);
    await place("buy", Number(level1.bestBid) + 100, 1);
    assert.equal((await within("the new best bid", next))[S].bid, Number(level1.bestBid) + 100);

    // After the stream settles, ticker:all carries what REST's level1 says.
    await sleep(300);
    const l1 = await pub<Level1>(`/api/v1/market/orderbook/level1?symbol=${SYMBOL}`);
    await until("ticker:all at REST's level1", () => ex.tickers[S]?.bid === Number(l1.bestBid) && ex.tickers[S]?.ask === Number(l1.bestAsk) && ex.tickers[S]?.last === Number(l1.price));
  });

  it("watchOrders and watchBalance (private topics)", async () => {
    const ex = await pro(buyer);
    const k = kucoinClient(() => gw.url, buyer);
    const nudgeOrder = async () => {
      const r = await k("POST", "/api/v1/orders", { clientOid: `w${++n}`, side: "buy", symbol: SYMBOL, type: "limit", price: "9100", size: "1" });
      assert.equal(r.code, "200000", JSON.stringify(r));
      await k("DELETE", `/api/v1/orders/${(r.data as { orderId: string }).orderId}`);
    };
    const orders = await nudge("watchOrders", ex.watchOrders(S), nudgeOrder);
    assert.equal(orders[0].symbol, S);
    assert.ok(orders.every((o) => o.status === "open" || o.status === "canceled"), JSON.stringify(orders.map((o) => o.status)));
    const balance = await nudge("watchBalance", ex.watchBalance(), nudgeOrder);
    assert.equal(typeof balance.VND?.free, "number");
    // The streamed balance (merged into ccxt's REST snapshot) settles at what REST says.
    await until("ccxt's streamed balance at REST's", async () => {
      const fetched = await ex.fetchBalance();
      const streamed = (ex.balance as unknown as Record<string, typeof fetched>).trade; // ccxt keys it by account type
      return fetched.VND?.free === streamed?.VND?.free && fetched.VND?.used === streamed?.VND?.used;
    });
  });

  it("watchOHLCV: the current candle updates live, and a new candle starts in the next minute", async () => {
    // A minute of its own: the clock moves (forward only) to one second into a fresh minute.
    // From here on only in-process orders: signed requests would now be off the server's clock.
    const target = Math.ceil((Date.now() + 1_000) / MIN) * MIN + 1_000;
    ahead = target - Date.now();
    const minute = Math.floor(now() / MIN) * MIN;
    const ex = await pro();
    const raw = await connectWs(gw.ctx.config.wsEndpoint, (await gw.ctx.bullets.issue(null, "127.0.0.1"))!);
    await raw.subscribe(`/market/candles:${SYMBOL}_1min`);
    const first = await nudge("watchOHLCV", ex.watchOHLCV(S, "1m"), () => cross(10_000, 1));
    assert.equal(first[first.length - 1][0], minute);
    const candle = () => ex.ohlcvs[S]["1m"].find((c: Ohlcv) => c[0] === minute) as Ohlcv | undefined;
    await cross(10_200, 2);
    const restCandle = async () => (await rest().fetchOHLCV(S, "1m", minute)).find((c) => c[0] === minute) as Ohlcv;
    const want = await restCandle();
    assert.deepEqual([want[1], want[2], want[4]], [10_000, 10_200, 10_200], "open, high and close");
    await until("the live update", () => JSON.stringify(candle()) === JSON.stringify(want));
    const live = candle()!;

    ahead += MIN; // the next minute
    await cross(9_800, 3);
    await until("the new candle", () => ex.ohlcvs[S]["1m"].find((c: Ohlcv) => c[0] === minute + MIN));
    assert.deepEqual(ex.ohlcvs[S]["1m"].find((c: Ohlcv) => c[0] === minute + MIN), [minute + MIN, 9_800, 9_800, 9_800, 9_800, 3]);
    assert.deepEqual(candle(), live, "the finished candle is unchanged");
    const add = await raw.next((m) => m.subject === "trade.candles.add" && m.data.candles[0] === String((minute + MIN) / 1000), "trade.candles.add");
    assert.equal(add.topic, `/market/candles:${SYMBOL}_1min`);
    // REST agrees with the stream.
    const r = await rest().fetchOHLCV(S, "1m", minute);
    assert.deepEqual(r.slice(0, 2), [live, [minute + MIN, 9_800, 9_800, 9_800, 9_800, 3]]);
    await raw.close();
  });
});
