/**
 * bench:split's "sequencer alone" layout: decoded placeOrder commands sent straight onto the
 * split's Redis command bus with the edges' own client (createCommandClient), many in flight,
 * no HTTP, signature or edge in front. What the sequencer's event-loop thread costs per order
 * when it is fed as fast as this machine allows: the figure a box with edges to spare would
 * be bound by (the split layout on 2 cores measures it at the few hundred orders/s that five
 * processes sharing the cores leave it, where every round carries one or two orders).
 */
import { Redis } from "ioredis";
import { createCommandClient } from "../../api/src/cluster/commandBus.ts";
import { KucoinFormat } from "../../api/src/http/kucoinFormat.ts";
import { placeBody, placeInputOf } from "../../api/src/http/routes/orders.ts";
import type { AppContext } from "../../api/src/context.ts";
import type { Principal } from "../../api/src/auth/types.ts";
import { defaultCatalog } from "../../api/src/markets/marketCatalog.ts";
import { percentiles } from "./apiPercentiles.ts";

export type FeedTrader = { accountId: string; identityHash: string; apiKeyId: string };
export type FeedResult = { orders: number; wallS: number; errors: number; errorSamples: string[]; p50: number; p99: number; driverCores: number };

/**
 * Feeds the sequencer behind `redisUrl` for `warmupSeconds` then `seconds`, `inFlight` commands
 * awaiting their reply at once; `measuring(true|false)` marks the measured window's start and end.
 */
export async function feedSequencer(o: {
  redisUrl: string;
  traders: [FeedTrader, FeedTrader];
  symbol: string;
  inFlight: number;
  warmupSeconds: number;
  seconds: number;
  measuring: (on: boolean) => Promise<void> | void;
}): Promise<FeedResult> {
  const catalog = defaultCatalog();
  // placeInputOf reads only the catalog and the unit format of the context.
  const ctx = { catalog, format: new KucoinFormat(catalog) } as unknown as AppContext;
  const principals = o.traders.map((t): Principal => ({ accountId: t.accountId, wallet: t.accountId as `0x${string}`, identityHash: t.identityHash as `0x${string}`, role: "trader", apiKeyId: t.apiKeyId, permissions: ["General", "Trade"] }));
  const redis = new Redis(o.redisUrl);
  const client = createCommandClient({ redis, nodeId: `bench-feed-${process.pid}` });
  const prefix = `f${Date.now().toString(36)}`;
  let k = 0;
  // The bench:api ladder: 1 lot alternating buy/sell on 9,900 / 10,000 / 10,100, sells one step ahead.
  const next = () => {
    const buy = k % 2 === 0;
    const pair = k >> 1;
    const price = 9_900 + 100 * ((buy ? pair : pair + 1) % 3);
    const body = placeBody.parse({ clientOid: `${prefix}${k++}`, side: buy ? "buy" : "sell", symbol: o.symbol, type: "limit", price: String(price), size: "1" });
    return placeInputOf(ctx, body, principals[buy ? 0 : 1]);
  };
  let measuring = false;
  let stop = false;
  let orders = 0;
  let errors = 0;
  const errorSamples: string[] = [];
  const latencies: number[] = [];
  const worker = async () => {
    while (!stop) {
      const input = next();
      const t = performance.now();
      try {
        await client.send("placeOrder", [input, { ip: "127.0.0.1" }]);
        if (measuring) {
          orders++;
          latencies.push(performance.now() - t);
        }
      } catch (err) {
        if (measuring) errors++;
        if (errorSamples.length < 3) errorSamples.push((err as Error).message);
      }
    }
  };
  const workers = Array.from({ length: o.inFlight }, worker);
  try {
    await new Promise((r) => setTimeout(r, o.warmupSeconds * 1000));
    await o.measuring(true);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    measuring = true;
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    measuring = false;
    const wallS = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    await o.measuring(false);
    stop = true;
    await Promise.all(workers);
    const lat = percentiles(latencies);
    return { orders, wallS, errors, errorSamples, p50: lat.p50, p99: lat.p99, driverCores: (cpu.user + cpu.system) / 1e6 / wallS };
  } finally {
    stop = true;
    await client.close();
    redis.disconnect();
  }
}
