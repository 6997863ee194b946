/**
 * `npm run bench:trader` (issue #16): the trader web app (api/trader, served at `/`) in Chromium
 * on the real gateway, each figure next to a baseline measured in the same run.
 *
 * 1. Page load of the trading view over cold loads (a new browser context each: empty HTTP
 *    cache, new connections) and warm loads (a new page in a context that already loaded it
 *    once: the modules come back as 304 revalidations, as the gateway sends `no-cache`):
 *    first contentful paint, DOMContentLoaded, load, "book and tape shown" (the order book and
 *    the trades tape have their first rows, i.e. the REST data is rendered), and the script
 *    resources' count and bytes (transferred, encoded, decoded) from Resource Timing.
 *    Baselines, loaded interleaved with the app from the same gateway process: a static HTML
 *    page with no script or stylesheet (the floor of a navigation in this browser from this
 *    server: the timing ratios are what the app adds over it) and the compliance console at
 *    /compliance/ (the same no-build Preact+htm stack: the bytes ratios compare the two apps).
 * 2. Live update latency from the engine event to the DOM: the app open on GOLD-VND, orders
 *    placed from this process through the signed REST API. The server stamp is taken in a
 *    `ctx.trading.subscribe` listener, i.e. when the trading service delivers the event after
 *    the journal made it durable (the moment the websocket gateway sends a trade, or queues a
 *    level2 change for its conflation window; for trades the stamp is taken just before the
 *    gateway's first socket write of the message, as the OS may switch to the browser at that
 *    write and a stamp after it can land after the page's); a second stamp in `ctx.trading.core.subscribe`
 *    marks when the engine applied the record, so the journal's share shows too. The page
 *    stamps (a script installed before the app's code) when the marker shows in the DOM (bid
 *    row with the marker's price and size; tape row with the trade's id, by MutationObserver),
 *    after the next frame (requestAnimationFrame, then a message task: about when it is
 *    painted), and when the message reaches the app's own socket. Baseline: a raw WebSocket
 *    opened in the same page on the same topics (before the app's, so it is served first),
 *    stamped on arrival: "network + gateway delivery" against "delivery + the app's render".
 *    Then bursts: many crossing orders sent at once, every resulting trade timed the same way.
 *
 * Clocks: Node and Chromium run on the same machine, both stamping with
 * performance.timeOrigin + performance.now() (wall clock at each origin, monotonic after).
 * The script estimates the page−Node offset over CDP round trips and prints it; figures are
 * not corrected by it.
 *
 * The gateway, the in-process Hardhat chain (identity only) and this script share one Node
 * process; Chromium is its own processes. FIGURES NEED A QUIET MACHINE: anything else on the
 * cores moves the timings (smoke runs with small sizes only check that the script works).
 *
 * Sizes, from the environment or as --name=value arguments (arguments win):
 * BENCH_TRADER_COLD / --cold [20] cold loads per page, BENCH_TRADER_WARM / --warm [20] warm
 * loads per page, BENCH_TRADER_LIVE / --live [100] measured book markers and trades,
 * BENCH_TRADER_BURST / --burst [40] crossing orders per burst (at most 60, the tape's length),
 * BENCH_TRADER_BURSTS / --bursts [5] bursts (0 skips them). BENCH_WRITE=1 writes the "trader"
 * section of BENCHMARKS.md; by default the section is printed. Smoke run:
 * `node scripts/bench/traderApp.ts --cold=2 --warm=2 --live=5 --burst=10 --bursts=1`.
 */
import { existsSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { WebSocket as WsSocket } from "ws";
import { DEFAULT_RISK } from "../../api/src/risk/types.ts";
import type { TradingEvent } from "../../api/src/trading/events.ts";
import { hardhatAccount, startChain } from "../../api/test/support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway } from "../../api/test/support/gatewayFixture.ts";
import { kucoinClient } from "../../api/test/support/kucoinClient.ts";
import { percentiles, preciseNow, type Percentiles } from "./apiPercentiles.ts";
import { machineLine, writeBenchmarkSection } from "./benchmarksFile.ts";

const CHROMIUM = "/usr/bin/chromium";
const SYMBOL = "GOLD-VND";

function size(name: string, env: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const raw = arg ? arg.slice(name.length + 3) : process.env[env];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`bench: --${name} / ${env} must be a whole number, got ${raw}`);
  return n;
}
const COLD = size("cold", "BENCH_TRADER_COLD", 20);
const WARM = size("warm", "BENCH_TRADER_WARM", 20);
const LIVE = size("live", "BENCH_TRADER_LIVE", 100);
const BURST = Math.min(60, size("burst", "BENCH_TRADER_BURST", 40));
const BURSTS = BURST === 0 ? 0 : size("bursts", "BENCH_TRADER_BURSTS", 5);
const WRITE = process.env.BENCH_WRITE === "1";

if (!existsSync(CHROMIUM)) throw new Error(`bench: ${CHROMIUM} is missing (the Debian chromium package)`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "—");
const int = (n: number) => (Number.isFinite(n) ? String(Math.round(n)) : "—");
const kb = (n: number) => (Number.isFinite(n) ? (n / 1024).toFixed(1) : "—");
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : "—");

// ------------------------------------------------------------------ the stack

const chain = await startChain();
const risk = structuredClone(DEFAULT_RISK);
// Markers and trades sit a few ticks off the last price, inside the default collar anyway;
// collar off so the script never depends on where the reference price drifted.
risk.defaults.collarBps = 0;
const gw = await startTestGateway(chain, { risk });
const { ctx } = gw;
const market = ctx.catalog.market(SYMBOL)!;

const STATIC_PATH = "/bench-static.html";
const STATIC_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8" /><meta name="viewport" content="width=device-width, initial-scale=1" />
<title>Sen bench: static page</title><link rel="icon" href="data:," /></head>
<body><h1>Sen</h1><p>A static page with no script and no stylesheet: the floor of a navigation in this browser from this gateway.</p></body></html>`;

/**
 * The static baseline page on the gateway's own HTTP server (same process, port and socket
 * handling), in front of the Express app, which gets every other request as before.
 */
function serveStaticPage(server: Server): void {
  const app = server.listeners("request") as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners("request");
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === STATIC_PATH) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" });
      res.end(STATIC_HTML);
      return;
    }
    for (const l of app) l.call(server, req, res);
  });
}
serveStaticPage(gw.gateway.server);

// Two traders with their own e-IDs (the engine's self-trade prevention is per identity).
const buyerAccount = hardhatAccount(70);
const sellerAccount = hardhatAccount(71);
await chain.attest(buyerAccount.address, "bench-trader-buyer");
await chain.attest(sellerAccount.address, "bench-trader-seller");
const buyerCreds = await loginAndCreateKey(gw.url, buyerAccount);
const sellerCreds = await loginAndCreateKey(gw.url, sellerAccount);
await ctx.trading.deposit(buyerCreds.accountId, "VND", 10_000_000_000_000n, "bench-trader-buyer-vnd");
await ctx.trading.deposit(sellerCreds.accountId, "GOLD", 100_000_000n, "bench-trader-seller-gold");
const buyer = kucoinClient(() => gw.url, buyerCreds);
const seller = kucoinClient(() => gw.url, sellerCreds);
let oid = 0;

async function place(who: typeof buyer, side: "buy" | "sell", price: number, qty: number): Promise<string> {
  const r = await who("POST", "/api/v1/orders", { clientOid: `bench-trader-${++oid}`, side, symbol: SYMBOL, type: "limit", price: String(price), size: String(qty) });
  if (r.code !== "200000") throw new Error(`bench: ${side} ${qty} @ ${price} refused: ${r.code} ${r.msg}`);
  return (r.data as { orderId: string }).orderId;
}
async function cancel(who: typeof buyer, orderId: string): Promise<void> {
  const r = await who("DELETE", `/api/v1/orders/${orderId}`);
  if (r.code !== "200000") throw new Error(`bench: cancel ${orderId} refused: ${r.code} ${r.msg}`);
}

// A book ten levels deep on each side (what the app shows) and a few trades for the tape.
for (let i = 0; i < 10; i++) {
  await place(seller, "sell", 101_000 + i * 100, 5);
  await place(buyer, "buy", 98_000 + i * 100, 5);
}
for (let i = 0; i < 5; i++) {
  await place(seller, "sell", 100_000, 1);
  await place(buyer, "buy", 100_000, 1);
}

// ------------------------------------------------------------------ Chromium

const { chromium } = await import("playwright-core");
const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
const VIEWPORT = { width: 1280, height: 900 };

// ------------------------------------------------------------------ 1. page load

type PageKind = "static" | "console" | "trader";
const PAGES: Record<PageKind, { path: string; label: string }> = {
  static: { path: STATIC_PATH, label: "baseline: static HTML page (no script, no CSS)" },
  console: { path: "/compliance/", label: "reference: compliance console `/compliance/` (same stack)" },
  trader: { path: `/#${SYMBOL}`, label: `trader app \`/#${SYMBOL}\`` },
};
const KINDS = Object.keys(PAGES) as PageKind[];

/**
 * Installed on every page of the load runs (same cost for all three): notes when the order
 * book and the trades tape first have rows. It never matches on the baselines.
 */
const LOAD_PROBE = `(() => {
  const b = (window.__benchLoad = { shown: null });
  const mo = new MutationObserver(() => {
    if (document.querySelector("[data-testid=book-bids] tr[data-price]") && document.querySelector("[data-testid=trades] tr[data-trade]")) {
      b.shown = performance.now();
      mo.disconnect();
    }
  });
  mo.observe(document, { childList: true, subtree: true });
  // Polled in the page: Playwright's waitForFunction evaluates a string, which the app's CSP refuses.
  b.settled = (needShown) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the page did not finish loading in 15 s")), 15000);
      const check = () => {
        const nav = performance.getEntriesByType("navigation")[0];
        const done = nav && nav.loadEventEnd > 0 && performance.getEntriesByName("first-contentful-paint").length > 0 && (!needShown || b.shown !== null);
        if (done) {
          clearTimeout(timer);
          resolve();
        } else setTimeout(check, 20);
      };
      check();
    });
})();`;

/** All times in ms since the navigation started; bytes from Resource Timing (same-origin, so all fields are exposed). */
type LoadSample = {
  fcp: number;
  dcl: number;
  load: number;
  shown: number;
  jsCount: number;
  jsTransfer: number;
  jsEncoded: number;
  jsDecoded: number;
  requests: number;
  allTransfer: number;
  /** Each script's path and decoded bytes. */
  jsFiles: Array<[string, number]>;
};

const COLLECT = `(() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const res = performance.getEntriesByType("resource");
  const js = res.filter((r) => /\\.(m?js|ts)$/.test(new URL(r.name).pathname));
  const sum = (xs, k) => xs.reduce((a, r) => a + r[k], 0);
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  return {
    fcp: fcp ? fcp.startTime : NaN,
    dcl: nav.domContentLoadedEventEnd,
    load: nav.loadEventEnd,
    shown: window.__benchLoad.shown ?? NaN,
    jsCount: js.length,
    jsTransfer: sum(js, "transferSize"),
    jsEncoded: sum(js, "encodedBodySize"),
    jsDecoded: sum(js, "decodedBodySize"),
    requests: res.length + 1,
    allTransfer: sum(res, "transferSize") + nav.transferSize,
    jsFiles: js.map((r) => [new URL(r.name).pathname, r.decodedBodySize]),
  };
})()`;

async function loadOnce(context: BrowserContext, kind: PageKind): Promise<LoadSample> {
  const page = await context.newPage();
  try {
    await page.addInitScript({ content: LOAD_PROBE });
    await page.goto(`${gw.url}${PAGES[kind].path}`, { waitUntil: "load" });
    await page.evaluate(`window.__benchLoad.settled(${kind === "trader"})`);
    return (await page.evaluate(COLLECT)) as LoadSample;
  } finally {
    await page.close();
  }
}

/** Rotates the order each round so no page always goes first (or right after another). */
const rotated = (i: number) => KINDS.map((_, j) => KINDS[(i + j) % KINDS.length]);

// Unmeasured: the gateway type-strips each module on its first request and caches it; Node's JIT.
{
  const context = await browser.newContext({ viewport: VIEWPORT });
  for (const k of KINDS) await loadOnce(context, k);
  await context.close();
}

const cold: Record<PageKind, LoadSample[]> = { static: [], console: [], trader: [] };
for (let i = 0; i < COLD; i++) {
  for (const k of rotated(i)) {
    const context = await browser.newContext({ viewport: VIEWPORT });
    cold[k].push(await loadOnce(context, k));
    await context.close();
  }
}
const warm: Record<PageKind, LoadSample[]> = { static: [], console: [], trader: [] };
if (WARM > 0) {
  const contexts = {} as Record<PageKind, BrowserContext>;
  for (const k of KINDS) {
    contexts[k] = await browser.newContext({ viewport: VIEWPORT });
    await loadOnce(contexts[k], k); // fills this context's HTTP cache
  }
  for (let i = 0; i < WARM; i++) for (const k of rotated(i)) warm[k].push(await loadOnce(contexts[k], k));
  for (const k of KINDS) await contexts[k].close();
}
const trader0 = cold.trader[0] ?? warm.trader[0];
console.log(`page load: ${COLD} cold + ${WARM} warm per page; trader FCP ${ms(trader0?.fcp ?? NaN)} ms on its first measured load`);

type Measure = Exclude<keyof LoadSample, "jsFiles">;
type LoadStats = Record<Measure, Percentiles>;
function loadStats(samples: LoadSample[]): LoadStats {
  const keys: Measure[] = ["fcp", "dcl", "load", "shown", "jsCount", "jsTransfer", "jsEncoded", "jsDecoded", "requests", "allTransfer"];
  return Object.fromEntries(keys.map((k) => [k, percentiles(samples.map((s) => s[k]).filter(Number.isFinite))])) as LoadStats;
}
const coldStats = Object.fromEntries(KINDS.map((k) => [k, loadStats(cold[k])])) as Record<PageKind, LoadStats>;
const warmStats = Object.fromEntries(KINDS.map((k) => [k, loadStats(warm[k])])) as Record<PageKind, LoadStats>;

// ------------------------------------------------------------------ 2. live updates

/** The key both sides use for a marker: a book level as the app shows it, or a trade's id. */
function keyOf(e: TradingEvent): string | undefined {
  if (e.kind === "l2" && e.symbol === SYMBOL && e.size > 0) return `${e.side === "buy" ? "bid" : "ask"}:${ctx.format.price(market, e.price)}:${ctx.format.size(market, e.size)}`;
  if (e.kind === "trade" && e.symbol === SYMBOL) return `trade:${e.tradeId}`;
  return undefined;
}

/** Server stamps: when the engine applied the record, and when the trading service delivered the event. */
const applied = new Map<string, number>();
const delivered = new Map<string, number>();
let burstTrades: string[] | null = null;
ctx.trading.core.subscribe((e) => {
  const t = preciseNow();
  const k = keyOf(e);
  if (k && !applied.has(k)) applied.set(k, t);
});

/**
 * The websocket gateway sends a trade from its own listener, which runs before ours: a stamp
 * taken in ours would follow the socket write, and on a busy machine the OS may switch to the
 * woken browser right at that write, so the page could "see" the trade before the server
 * stamped it. The first send of each fan-out buffer (the gateway encodes a message once for
 * all its subscribers) is stamped here just before the write instead; a trade takes that
 * stamp when the buffer that was sent last carries its id.
 */
let lastBuffer: unknown = null;
let lastBufferAt = 0;
const wsProto = WsSocket.prototype as unknown as { send: (data: unknown, ...rest: unknown[]) => void };
const wsSend = wsProto.send;
wsProto.send = function (this: WsSocket, data: unknown, ...rest: unknown[]) {
  if (data !== lastBuffer) {
    lastBufferAt = preciseNow();
    lastBuffer = data;
  }
  return wsSend.call(this, data, ...rest);
};
const stampedAtSend = new Set<string>();
ctx.trading.subscribe((e) => {
  let t = preciseNow();
  const k = keyOf(e);
  if (!k || delivered.has(k)) return;
  if (e.kind === "trade" && Buffer.isBuffer(lastBuffer) && lastBuffer.includes(`"tradeId":"${e.tradeId}"`)) {
    t = lastBufferAt;
    stampedAtSend.add(k);
  }
  delivered.set(k, t);
  if (burstTrades && k.startsWith("trade:")) burstTrades.push(k);
});

/**
 * Installed before the app's code (LIVE_PROBE(symbol)):
 * - stamps each book row (side:price:size) and tape row (trade:id) the first time it is in the
 *   DOM, and after the frame that follows;
 * - stamps each message on the app's own websocket as it arrives, in a listener added when
 *   the socket is constructed, so it runs before the app's handler (the message is kept as
 *   text and parsed only when the times are read, so the app's handler is not delayed);
 * - opens the raw websocket on the same topics at once, before the app's code has run, so it
 *   subscribes first and is first in the gateway's fan-out and in the page's task queue
 *   (opened later, its messages wait behind the app's render and arrive "after" the DOM).
 */
const LIVE_PROBE = (symbol: string) => `(() => {
  const now = () => performance.timeOrigin + performance.now();
  const topics = ["/market/level2:${symbol}", "/market/match:${symbol}"];
  const b = (window.__bench = { dom: new Map(), frame: new Map(), raw: new Map(), appInbox: [], waiters: [] });
  const done = (k) => b.dom.has(k) && b.frame.has(k) && b.raw.has(k);
  const settle = () => {
    b.waiters = b.waiters.filter((w) => (w.keys.every(done) ? (w.resolve(), false) : true));
  };
  /** The keys a KuCoin message carries (level2 rows with a size, match trade ids). */
  const keysOf = (m) => {
    if (m.type !== "message") return [];
    if (m.topic === topics[0]) {
      const ks = [];
      for (const [p, q] of m.data.changes.bids) if (q !== "0") ks.push("bid:" + p + ":" + q);
      for (const [p, q] of m.data.changes.asks) if (q !== "0") ks.push("ask:" + p + ":" + q);
      return ks;
    }
    return m.topic === topics[1] ? ["trade:" + m.data.tradeId] : [];
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      if (!String(url).includes("connectId=bench-raw")) this.addEventListener("message", (ev) => b.appInbox.push([now(), ev.data]));
    }
  };
  const scan = () => {
    const t = now();
    const fresh = [];
    const note = (k) => {
      if (!b.dom.has(k)) {
        b.dom.set(k, t);
        fresh.push(k);
      }
    };
    for (const r of document.querySelectorAll("[data-testid=book-bids] tr[data-price]")) note("bid:" + r.getAttribute("data-price") + ":" + r.getAttribute("data-size"));
    for (const r of document.querySelectorAll("[data-testid=book-asks] tr[data-price]")) note("ask:" + r.getAttribute("data-price") + ":" + r.getAttribute("data-size"));
    for (const r of document.querySelectorAll("[data-testid=trades] tr[data-trade]")) note("trade:" + r.getAttribute("data-trade"));
    if (fresh.length) {
      requestAnimationFrame(() => {
        const ch = new MessageChannel();
        ch.port1.onmessage = () => {
          const tf = now();
          for (const k of fresh) b.frame.set(k, tf);
          settle();
        };
        ch.port2.postMessage(0);
      });
    }
    settle();
  };
  new MutationObserver(scan).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-price", "data-size", "data-trade"] });
  b.waitFor = (keys, timeoutMs) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("not shown in " + timeoutMs + " ms: " + keys.filter((k) => !done(k)).join(" "))), timeoutMs);
      b.waiters.push({ keys, resolve: () => (clearTimeout(timer), resolve()) });
      settle();
    });
  b.times = (keys) => {
    const app = new Map();
    for (const [t, text] of b.appInbox) for (const k of keysOf(JSON.parse(text))) if (!app.has(k)) app.set(k, t);
    return keys.map((k) => [b.dom.get(k) ?? null, b.frame.get(k) ?? null, b.raw.get(k) ?? null, app.get(k) ?? null]);
  };
  b.rawReady = (async () => {
    const bullet = await (await fetch("/api/v1/bullet-public", { method: "POST" })).json();
    const url = new URL("/ws", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("token", bullet.data.token);
    url.searchParams.set("connectId", "bench-raw-" + Date.now());
    const ws = new Native(url);
    await new Promise((resolve, reject) => {
      let acks = 0;
      ws.onerror = () => reject(new Error("raw websocket failed"));
      ws.onmessage = (ev) => {
        const t = now();
        const m = JSON.parse(ev.data);
        if (m.type === "welcome") for (const topic of topics) ws.send(JSON.stringify({ id: topic, type: "subscribe", topic, response: true }));
        else if (m.type === "ack" && ++acks === topics.length) resolve();
        else {
          for (const k of keysOf(m)) if (!b.raw.has(k)) b.raw.set(k, t);
          settle();
        }
      };
    });
    setInterval(() => ws.send(JSON.stringify({ id: "ping-" + Date.now(), type: "ping" })), 15000);
    return true;
  })();
})();`;

const liveContext = await browser.newContext({ viewport: VIEWPORT });
const live: Page = await liveContext.newPage();
const pageErrors: string[] = [];
live.on("pageerror", (e) => pageErrors.push(e.message));
await live.addInitScript({ content: LIVE_PROBE(SYMBOL) });
await live.goto(`${gw.url}/#${SYMBOL}`);
await live.evaluate("window.__bench.rawReady");
await live.locator("[data-testid=live-status].live-live").first().waitFor({ timeout: 15_000 });
await live.locator("[data-testid=book-bids] tr[data-price]").first().waitFor({ timeout: 15_000 });

/** page − Node clock offset, from the CDP round trip with the smallest delay (its half is the uncertainty). */
async function clockOffset(): Promise<{ offset: number; rtt: number }> {
  let best = { offset: 0, rtt: Number.POSITIVE_INFINITY };
  for (let i = 0; i < 20; i++) {
    const t0 = preciseNow();
    const tp = (await live.evaluate("performance.timeOrigin + performance.now()")) as number;
    const t1 = preciseNow();
    if (t1 - t0 < best.rtt) best = { offset: tp - (t0 + t1) / 2, rtt: t1 - t0 };
  }
  return best;
}

/** Polls `f` until it has a value: the HTTP reply and the event delivery need not come in one order. */
async function within<T>(what: string, f: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`bench: timed out waiting for ${what}`);
    await sleep(1);
  }
}

type Marker = { applied: number; delivered: number; dom: number; frame: number; raw: number; app: number };
async function shown(keys: string[]): Promise<Marker[]> {
  await live.evaluate(`window.__bench.waitFor(${JSON.stringify(keys)}, 10000)`);
  const times = (await live.evaluate(`window.__bench.times(${JSON.stringify(keys)})`)) as Array<[number, number, number, number | null]>;
  return keys.map((k, i) => {
    const d = delivered.get(k);
    const a = applied.get(k);
    if (d === undefined || a === undefined) throw new Error(`bench: no server event for ${k}`);
    if (k.startsWith("trade:") && !stampedAtSend.has(k)) throw new Error(`bench: ${k} was not stamped at the gateway's send`);
    const [dom, frame, raw, app] = times[i];
    if (app === null) throw new Error(`bench: ${k} is in the DOM but never came on the app's websocket`);
    return { applied: a, delivered: d, dom, frame, raw, app };
  });
}

// The level2 conflation window starts with the first change it holds: a pause longer than it
// between steps keeps each marker's window its own; the random part spreads them over frames.
const pause = () => sleep(ctx.config.wsConflateMs + 20 + Math.random() * 17);

let markerSeq = 0;
/** A bid at a fresh price above the seeded bids (top of the shown book), with a size no other marker had; cancelled once shown. */
async function bookMarker(): Promise<Marker> {
  const i = markerSeq++;
  const price = 99_000 + (i % 10) * 100;
  const qty = 1 + i;
  const key = `bid:${ctx.format.price(market, price)}:${ctx.format.size(market, qty)}`;
  const orderId = await place(buyer, "buy", price, qty);
  const [m] = await shown([key]);
  await cancel(buyer, orderId);
  return m;
}
/** One trade: a resting ask below the seeded asks, then a buy that takes it. */
async function tradeMarker(): Promise<Marker> {
  const price = 100_000 + (markerSeq % 9) * 100;
  await place(seller, "sell", price, 1);
  await pause();
  const before = new Set(delivered.keys());
  await place(buyer, "buy", price, 1);
  const key = await within("the crossing buy's trade", () => [...delivered.keys()].find((k) => k.startsWith("trade:") && !before.has(k)));
  const [m] = await shown([key]);
  return m;
}

const clockBefore = await clockOffset();
for (let i = 0; i < 5; i++) {
  await bookMarker(); // warm-up, unmeasured
  await pause();
  await tradeMarker();
  await pause();
}
const books: Marker[] = [];
const trades: Marker[] = [];
for (let i = 0; i < LIVE; i++) {
  books.push(await bookMarker());
  await pause();
  trades.push(await tradeMarker());
  await pause();
}
console.log(`live: ${books.length} book markers, ${trades.length} trades`);

/** Bursts: BURST resting asks, then BURST crossing buys sent at once; every trade timed. */
const bursts: Marker[] = [];
const burstSpans: number[] = [];
for (let r = 0; r < BURSTS; r++) {
  const price = 100_500;
  for (let i = 0; i < BURST; i++) await place(seller, "sell", price, 1);
  await sleep(100);
  burstTrades = [];
  const t0 = preciseNow();
  await Promise.all(Array.from({ length: BURST }, () => place(buyer, "buy", price, 1)));
  const keys = await within(`${BURST} trades from the burst`, () => (burstTrades!.length >= BURST ? burstTrades! : undefined));
  burstTrades = null;
  if (keys.length !== BURST) throw new Error(`bench: a burst of ${BURST} crossing buys made ${keys.length} trades`);
  const seen = await shown(keys);
  bursts.push(...seen);
  burstSpans.push(Math.max(...seen.map((m) => m.dom)) - t0);
  await sleep(200);
}
if (BURSTS > 0) console.log(`bursts: ${BURSTS} × ${BURST} trades`);
const clockAfter = await clockOffset();
const clockBound = Math.max(Math.abs(clockBefore.offset) + clockBefore.rtt / 2, Math.abs(clockAfter.offset) + clockAfter.rtt / 2);
if (pageErrors.length) throw new Error(`bench: the page threw: ${pageErrors.join("; ")}`);
const chromiumVersion = browser.version();
await liveContext.close();
await browser.close();

type LiveStats = { journal: Percentiles; raw: Percentiles; app: Percentiles; dom: Percentiles; frame: Percentiles; render: Percentiles; early: number };
function liveStats(ms: Marker[]): LiveStats {
  return {
    journal: percentiles(ms.map((m) => m.delivered - m.applied)),
    raw: percentiles(ms.map((m) => m.raw - m.delivered)),
    app: percentiles(ms.map((m) => m.app - m.delivered)),
    dom: percentiles(ms.map((m) => m.dom - m.delivered)),
    frame: percentiles(ms.map((m) => m.frame - m.delivered)),
    render: percentiles(ms.map((m) => m.dom - m.app)),
    // Page stamps before the server's by more than the clock check's bound: should be none.
    early: ms.filter((m) => Math.min(m.raw, m.app, m.dom) - m.delivered < -clockBound).length,
  };
}
const bookStats = liveStats(books);
const tradeStats = liveStats(trades);
const burstStats = liveStats(bursts);

// ------------------------------------------------------------------ report

const pp = (p: Percentiles) => `${ms(p.p50)} / ${ms(p.p90)}`;
function loadTable(stats: Record<PageKind, LoadStats>, n: number): string {
  const base = stats.static;
  const ref = stats.console;
  const rows = KINDS.map((k) => {
    const s = stats[k];
    const shownCell = k === "trader" ? pp(s.shown) : "—";
    const vsBase = k === "static" ? "1.00×" : `FCP ${ratio(s.fcp.p50, base.fcp.p50)}, load ${ratio(s.load.p50, base.load.p50)}`;
    const vsRef = k === "static" ? "—" : k === "console" ? "1.00×" : `JS ${ratio(s.jsDecoded.p50, ref.jsDecoded.p50)}, load ${ratio(s.load.p50, ref.load.p50)}`;
    return `| ${PAGES[k].label} | ${pp(s.fcp)} | ${pp(s.dcl)} | ${pp(s.load)} | ${shownCell} | ${int(s.jsCount.p50)} | ${kb(s.jsTransfer.p50)} / ${kb(s.jsEncoded.p50)} / ${kb(s.jsDecoded.p50)} | ${int(s.requests.p50)} / ${kb(s.allTransfer.p50)} | ${vsBase} | ${vsRef} |`;
  });
  return `| page (${n} loads each) | FCP ms p50 / p90 | DOMContentLoaded | load | book + tape shown | JS requests | JS KiB transferred / encoded / decoded (p50) | all requests / KiB transferred | vs static (p50) | vs console (p50) |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${rows.join("\n")}`;
}
function liveRow(label: string, s: LiveStats): string {
  // A ratio over a delivery shorter than the clocks can tell apart would be noise.
  const vs = s.raw.p50 > 2 * clockBound ? `**${ratio(s.dom.p50, s.raw.p50)}**` : `+${ms(s.dom.p50 - s.raw.p50)} ms (raw within the clock bound)`;
  return `| ${label} | ${s.raw.count} | ${ms(s.journal.p50)} | ${pp(s.raw)} | ${pp(s.app)} | ${pp(s.dom)} | ${pp(s.frame)} | ${ms(s.raw.max)} / ${ms(s.dom.max)} | ${pp(s.render)} | ${vs} |`;
}
const early = bookStats.early + tradeStats.early + burstStats.early;
const biggest = (s: LoadSample) =>
  [...s.jsFiles]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([path, bytes]) => `\`${path}\` ${kb(bytes)}`)
    .join(", ");
const offsetLine = (c: { offset: number; rtt: number }) => `${c.offset >= 0 ? "+" : ""}${c.offset.toFixed(2)} ms (± ${(c.rtt / 2).toFixed(2)})`;

const markdown = `## Trader web app in Chromium (\`npm run bench:trader\`)

${machineLine()} Chromium ${chromiumVersion} headless (\`--disable-gpu\`), viewport ${VIEWPORT.width}×${VIEWPORT.height}, driven by playwright-core over CDP. The real gateway (file journal, \`SEN_JOURNAL_FSYNC=always\`, level2 conflation ${ctx.config.wsConflateMs} ms) and the in-process Hardhat chain (identities only) run in the script's Node process; Chromium in its own processes, same machine, loopback HTTP.

**Page load.** Each page is loaded ${COLD} times cold (a new browser context each time: empty HTTP cache, new connections) and ${WARM} times warm (a new page in a context that loaded it once: the gateway sends \`cache-control: no-cache\` with an ETag, so every file is revalidated and comes back 304), the three pages interleaved in rotating order after one unmeasured load of each (the gateway type-strips and compresses each file on its first request). Times are from the start of the navigation: first contentful paint (Paint Timing), the end of DOMContentLoaded and of load (Navigation Timing), and for the trader app "book + tape shown", when the order book and the trades tape first have rows (REST data fetched and rendered; the book is seeded with ten levels a side and five trades). Bytes are Resource Timing's for the script files (.js and the type-stripped .ts modules: transferred incl. headers / body as sent / body decoded; the gateway sends brotli when the browser accepts it, as Chromium does). The named baseline is a static HTML page with no script or stylesheet, answered by the gateway's own HTTP server (same process and port, ahead of its Express app): the floor of a navigation here, so the timing ratio is what the app adds. The compliance console (the same no-build Preact+htm stack and libraries, signed out) is the reference for bytes: the ratio compares the two apps.

${COLD > 0 ? `Cold:\n\n${loadTable(coldStats, COLD)}\n\n` : ""}${WARM > 0 ? `Warm:\n\n${loadTable(warmStats, WARM)}\n\n` : ""}${trader0 ? `The trader app's largest scripts (decoded KiB): ${biggest(trader0)}.\n\n` : ""}**Live updates, engine event to DOM.** The app open on ${SYMBOL} (signed out: the public book and tape), orders placed from Node through the signed REST API. The server stamp is the trading service delivering the event (after the journal made its record durable): for a level2 change, in a \`ctx.trading.subscribe\` listener registered after the websocket gateway's, i.e. just after the gateway queued it for its ${ctx.config.wsConflateMs} ms conflation window (level2 rows therefore include that window); for a trade, which the gateway sends from its own listener, just before its first socket write of the message (a stamp on \`ws\`'s \`send\`; a stamp after the write can land after the browser has already run, when the OS switches to it at the write); "journal" is from the engine applying the record (\`ctx.trading.core.subscribe\`) to that delivery, not part of the other columns. The page stamps, from a script installed before the app's code: when the message reaches a raw WebSocket opened in the page on the same two topics before the app's own socket (so it is first in the gateway's fan-out and in the page's queue) — the baseline, network and gateway delivery; when the same message reaches the app's own socket (a listener added as the socket is made, running before the app's handler); when the marker is in the DOM (MutationObserver: a bid row with the marker's price and size; a tape row with the trade's id); and after the next frame (requestAnimationFrame, then a message task: about when it is painted). "App's socket → DOM" is the app's own work (parse, state, Preact render). Book markers: a fresh bid above the seeded ones, cancelled once shown; trades: a resting ask, then a buy that takes it; ${LIVE} of each, alternating, ${ctx.config.wsConflateMs + 20}–${ctx.config.wsConflateMs + 37} ms apart (random), after 5 unmeasured of each. Bursts: ${BURSTS} times, ${BURST} resting asks, then ${BURST} crossing buys sent at once; every trade timed (the gateway's journal commits them in groups, so "journal" grows and trades reach the page in clumps). Both clocks are this machine's (performance.timeOrigin + performance.now() in Node and in the page); the page − Node offset estimated over CDP round trips was ${offsetLine(clockBefore)} before and ${offsetLine(clockAfter)} after; figures are not corrected by it${early > 0 ? `; ${early} page stamp(s) fell before the server's by more than that bound and are kept` : ""}.

| update | n | journal ms p50 | event → raw WS in the page (baseline) p50 / p90 | event → app's socket p50 / p90 | event → DOM p50 / p90 | event → next frame p50 / p90 | max ms raw / DOM | app's socket → DOM p50 / p90 | DOM vs raw (p50) |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${[liveRow("bid appears in the book (level2)", bookStats), liveRow("trade appears in the tape (match)", tradeStats), ...(BURSTS > 0 ? [liveRow(`trades in bursts of ${BURST}`, burstStats)] : [])].join("\n")}
${BURSTS > 0 ? `\nEach burst, from sending the first of its ${BURST} buys to the last of its trades in the DOM: ${ms(percentiles(burstSpans).p50)} ms p50 (max ${ms(percentiles(burstSpans).max)}).` : ""}
`;

if (WRITE) writeBenchmarkSection("trader", markdown);
else console.log(`\n${markdown}`);
await gw.close();
await chain.close();
process.exit(0);
