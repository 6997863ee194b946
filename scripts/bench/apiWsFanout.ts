import { monitorEventLoopDelay } from "node:perf_hooks";
import type { GatewayFixture } from "../../api/test/support/gatewayFixture.ts";
import { coreShare, cpuMs, cpuSample, forkBenchChild } from "./apiChild.ts";
import { preciseNow } from "./apiPercentiles.ts";
import type { WsConnectRequest, WsReady, WsReportRequest, WsResetRequest, WsResult } from "./apiWsClients.ts";

export type WsFanoutOptions = {
  symbol: string;
  clients: number;
  seconds: number;
  /** The same order flow first runs this long unmeasured (JIT, first flushes to every socket). */
  warmupSeconds: number;
  ordersPerSecond: number;
  /** traders[0] buys, traders[1] sells. */
  traders: [{ accountId: string; identityHash: string }, { accountId: string; identityHash: string }];
};

export type WsFanoutResult = WsResult & {
  connected: number;
  connectMs: number;
  ordersPlaced: number;
  ordersRefused: number;
  l2Changes: number;
  /** Gateway's own count of clients it cut off as slow consumers during the run. */
  slowConsumersDropped: number;
  /** Largest unsent backlog of any client seen by the gateway (sampled every 50 ms), bytes. */
  maxBufferedBytes: number;
  gatewayCores: number;
  /** The gateway process's CPU time over the run (placing the orders included), ms. */
  gatewayCpuMs: number;
  /** Event-loop delay in the gateway's process over the run (1 ms resolution): p99 and max, ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
};

async function slowDropped(gw: GatewayFixture): Promise<number> {
  return (await gw.ctx.metrics.wsSlowConsumersDropped.get()).values[0]?.value ?? 0;
}

/**
 * Level2 fan-out: `clients` subscribers in a separate process, book changes made in this (the
 * gateway's) process by placing orders through the trading service at a fixed rate. Each l2
 * change is stamped twice here: when the engine applies the order (just before placeOrder,
 * whose apply is synchronous) and when the trading service publishes it (after the journal
 * acknowledged it, the moment the websocket gateway queues it for its conflation window).
 */
export async function measureWsFanout(gw: GatewayFixture, options: WsFanoutOptions): Promise<WsFanoutResult> {
  const { ctx } = gw;
  const { symbol } = options;
  const bullet = (await (await fetch(`${gw.url}/api/v1/bullet-public`, { method: "POST" })).json()) as { data: { token: string } };
  const clients = forkBenchChild(new URL("./apiWsClients.ts", import.meta.url), "websocket clients");
  try {
    clients.send({ type: "connect", url: `${ctx.config.wsEndpoint}?token=${bullet.data.token}`, clients: options.clients, topic: `/market/level2:${symbol}` } satisfies WsConnectRequest);
    const ready = await clients.next<WsReady>("ready");

    const applied = new Map<number, number>();
    const published = new Map<number, number>();
    const unsubscribe = ctx.trading.subscribe((e) => {
      if (e.kind === "l2" && e.symbol === symbol && e.sequence !== undefined) published.set(e.sequence, preciseNow());
    });
    const dropped0 = await slowDropped(gw);
    let maxBuffered = 0;
    const sampler = setInterval(() => (maxBuffered = Math.max(maxBuffered, gw.gateway.ws.maxBufferedAmount())), 50);

    let placed = 0;
    let refused = 0;
    let stamping = false;
    const pending: Promise<unknown>[] = [];
    const placeOne = () => {
      const k = placed++;
      const buy = k % 2 === 0;
      const pair = k >> 1;
      const trader = options.traders[buy ? 0 : 1];
      const before = ctx.marketData.best(symbol).sequence;
      const t = preciseNow();
      const p = ctx.trading.placeOrder({
        accountId: trader.accountId,
        identityHash: trader.identityHash,
        symbol,
        side: buy ? "buy" : "sell",
        type: "limit",
        price: 9_900 + 100 * ((buy ? pair : pair + 1) % 3),
        size: 1,
        tif: "GTC",
        postOnly: false,
        stp: "CN",
        clientOid: `ws-${k}`,
      });
      // The engine applied the order synchronously inside placeOrder: its l2 changes are numbered.
      const after = ctx.marketData.best(symbol).sequence;
      if (stamping) for (let s = before + 1; s <= after; s++) applied.set(s, t);
      pending.push(p.catch(() => refused++));
    };
    const drive = async (seconds: number) => {
      const from = placed;
      const t0 = performance.now();
      for (;;) {
        const elapsed = performance.now() - t0;
        if (elapsed >= seconds * 1000) break;
        const due = from + Math.floor((elapsed / 1000) * options.ordersPerSecond);
        while (placed < due) placeOne();
        await new Promise((r) => setTimeout(r, 1));
      }
      await Promise.all(pending);
      await new Promise((r) => setTimeout(r, 500 + ctx.config.wsConflateMs));
    };

    if (options.warmupSeconds > 0) {
      await drive(options.warmupSeconds);
      clients.send({ type: "reset" } satisfies WsResetRequest);
      await clients.next<{ type: "reset" }>("reset");
    }
    const warmupOrders = placed;
    const warmupRefused = refused;
    stamping = true;
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const cpu0 = cpuSample();
    await drive(options.seconds);
    const cpu1 = cpuSample();
    const gatewayCores = coreShare(cpu0, cpu1);
    const gatewayCpuMs = cpuMs(cpu0, cpu1);
    loop.disable();
    clearInterval(sampler);
    unsubscribe();

    const events: number[] = [];
    for (const [seq, a] of applied) {
      const p = published.get(seq);
      if (p !== undefined) events.push(seq, a, p);
    }
    clients.send({ type: "report", events } satisfies WsReportRequest);
    const result = await clients.next<WsResult>("result");
    return {
      ...result,
      connected: ready.connected,
      connectMs: ready.connectMs,
      ordersPlaced: placed - warmupOrders,
      ordersRefused: refused - warmupRefused,
      l2Changes: applied.size,
      slowConsumersDropped: (await slowDropped(gw)) - dropped0,
      maxBufferedBytes: maxBuffered,
      gatewayCores,
      gatewayCpuMs,
      loopDelayP99Ms: loop.percentile(99) / 1e6,
      loopDelayMaxMs: loop.max / 1e6,
    };
  } finally {
    await clients.stop();
  }
}
