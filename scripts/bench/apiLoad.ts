/**
 * The load generator of `npm run bench:api`, run as its own process (forked by api.ts) so it
 * never shares an event loop with the server it measures. Drives autocannon (keep-alive, one
 * request in flight per connection) with signed KuCoin order placements: each request gets a
 * fresh clientOid, a fresh ms timestamp and its own KC-API-SIGN, since a server with a replay
 * guard refuses a repeated (key, signature) pair.
 *
 * IPC: receives one LoadRequest; sends {type:"mark", phase:"start"|"end"} around the measured
 * run (the orchestrator samples the server's CPU there) and then a LoadResult.
 */
import { createRequire } from "node:module";
import { kucoinHmac, kucoinPrehash } from "../../api/src/auth/kucoinSignature.ts";
import { cpuSample, coreShare } from "./apiChild.ts";
import { percentiles, SampleBuffer, type Percentiles } from "./apiPercentiles.ts";

export type LoadTrader = { apiKey: string; apiSecret: string; passphrase: string };

export type LoadRequest = {
  type: "run";
  url: string;
  path: string;
  symbol: string;
  /** traders[0] places the buys, traders[1] the sells (no self-trades). */
  traders: [LoadTrader, LoadTrader];
  connections: number;
  warmupSeconds: number;
  seconds: number;
  /** Prefix of every clientOid, unique per run against one server. */
  oidPrefix: string;
};

export type LoadResult = {
  type: "result";
  requests: number;
  seconds: number;
  reqPerSec: number;
  /** Ack latency (request written → response parsed) in ms, every response of the measured run. */
  latencyMs: Percentiles;
  /** Responses whose body is not `{"code":"200000",...}` (includes every non-2xx). */
  notOk: number;
  notOkSamples: string[];
  errors: number;
  timeouts: number;
  /** Requests sent during warm-up plus the measured run (orders that reached the server). */
  sentTotal: number;
  loadgenCores: number;
};

type AutocannonResult = { errors: number; timeouts: number; duration: number; non2xx: number };
type AutocannonTracker = Promise<AutocannonResult> & {
  on(event: "response", listener: (client: unknown, status: number, bytes: number, responseTimeMs: number) => void): void;
};
type Autocannon = (options: Record<string, unknown>) => AutocannonTracker;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

/**
 * Limit orders of 1 lot alternating buy/sell around the mid: buys cycle 9,900 / 10,000 / 10,100
 * and sells the same ladder one step ahead, so about a third of the pairs cross at once and the
 * rest rest on the book until a later order takes them (inside the 10% collar and 15% band).
 */
function orderMaker(symbol: string, prefix: string) {
  let n = 0;
  return () => {
    const k = n++;
    const buy = k % 2 === 0;
    const pair = k >> 1;
    const price = 9_900 + 100 * ((buy ? pair : pair + 1) % 3);
    const body = `{"clientOid":"${prefix}${k}","side":"${buy ? "buy" : "sell"}","symbol":"${symbol}","type":"limit","price":"${price}","size":"1"}`;
    return { trader: buy ? 0 : 1, body };
  };
}

async function run(req: LoadRequest): Promise<LoadResult> {
  const signers = req.traders.map((t) => ({ key: t.apiKey, secret: t.apiSecret, passphrase: kucoinHmac(t.apiSecret, t.passphrase) }));
  let sent = 0;
  const phase = async (seconds: number, tag: string, measured: boolean) => {
    const nextOrder = orderMaker(req.symbol, `${req.oidPrefix}${tag}`);
    const latencies = new SampleBuffer();
    let notOk = 0;
    const notOkSamples: string[] = [];
    const tracker = autocannon({
      url: req.url,
      connections: req.connections,
      pipelining: 1,
      duration: seconds,
      timeout: 10,
      requests: [
        {
          method: "POST",
          path: req.path,
          setupRequest(r: { headers: Record<string, string>; body: string }) {
            const { trader, body } = nextOrder();
            const s = signers[trader];
            const ts = String(Date.now());
            sent++;
            r.headers = {
              "content-type": "application/json",
              "KC-API-KEY-VERSION": "2",
              "KC-API-KEY": s.key,
              "KC-API-PASSPHRASE": s.passphrase,
              "KC-API-TIMESTAMP": ts,
              "KC-API-SIGN": kucoinHmac(s.secret, kucoinPrehash(ts, "POST", req.path, body)),
            };
            r.body = body;
            return r;
          },
          onResponse(status: number, body: string) {
            if (!body.startsWith('{"code":"200000"')) {
              notOk++;
              if (notOkSamples.length < 5) notOkSamples.push(`${status} ${body.slice(0, 300)}`);
            }
          },
        },
      ],
    });
    if (measured) tracker.on("response", (_c, _s, _b, ms) => latencies.push(ms));
    const cpu0 = cpuSample();
    const result = await tracker;
    const cpu1 = cpuSample();
    return { result, latencies, notOk, notOkSamples, loadgenCores: coreShare(cpu0, cpu1) };
  };

  if (req.warmupSeconds > 0) await phase(req.warmupSeconds, "w", false);
  process.send!({ type: "mark", phase: "start" });
  const m = await phase(req.seconds, "m", true);
  process.send!({ type: "mark", phase: "end" });
  const requests = m.latencies.length;
  return {
    type: "result",
    requests,
    seconds: m.result.duration,
    reqPerSec: requests / m.result.duration,
    latencyMs: percentiles(m.latencies.values),
    notOk: m.notOk,
    notOkSamples: m.notOkSamples,
    errors: m.result.errors,
    timeouts: m.result.timeouts,
    sentTotal: sent,
    loadgenCores: m.loadgenCores,
  };
}

process.once("message", (message) => {
  run(message as LoadRequest).then(
    (result) => {
      process.send!(result, () => process.exit(0));
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});
