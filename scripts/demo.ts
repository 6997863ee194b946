/**
 * `npm run demo`: a short scripted session against the exchange `npm start` runs. A domestic
 * investor (an, Vietnamese e-ID) sells GOLD, another crypto-asset, to a foreign investor (emma)
 * through the signed KuCoin REST API while the buyer watches its private websocket stream; the
 * terminal shows the orders, fills (with the tax withheld from the sale) and balances. Then the
 * domestic investor tries to buy RIVER, a tokenised real asset issued in Viet Nam, which the
 * pilot reserves for foreign investors: the refusal names the rule in words. Last, the two pass
 * the same GOLD unit back and forth, which the surveillance flags as a wash-trading ring.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import WebSocket from "ws";
import { signKucoinRequest } from "../api/src/auth/kucoinSignature.ts";

type Trader = { name: string; wallet: string; apiKey: string; apiSecret: string; passphrase: string };
const file = path.resolve(process.env.SEN_DATA_DIR ?? "data", "dev", "demo-credentials.json");
const { url, traders, complianceOfficer } = JSON.parse(readFileSync(file, "utf8")) as { url: string; traders: Trader[]; complianceOfficer?: { wallet: string; console: string } };
const [an, emma] = traders;
const SYMBOL = "GOLD-VND";

async function send<T = any>(t: Trader, method: "GET" | "POST" | "DELETE", p: string, payload?: unknown): Promise<{ code: string; msg?: string; senCode?: string; data: T }> {
  const body = payload === undefined ? "" : JSON.stringify(payload);
  const headers = signKucoinRequest({ method, pathWithQuery: p, body, apiKey: t.apiKey, apiSecret: t.apiSecret, passphrase: t.passphrase, timestamp: Date.now() });
  const res = await fetch(url + p, { method, headers: { ...headers, ...(body ? { "content-type": "application/json" } : {}) }, body: body || undefined });
  return (await res.json()) as { code: string; msg?: string; senCode?: string; data: T };
}

async function call<T = any>(t: Trader, method: "GET" | "POST" | "DELETE", p: string, payload?: unknown): Promise<T> {
  const json = await send<T>(t, method, p, payload);
  if (json.code !== "200000") throw new Error(`${method} ${p}: ${json.code} ${json.msg}`);
  return json.data;
}

const balances = async (t: Trader) =>
  (await call<Array<{ currency: string; available: string; holds: string }>>(t, "GET", "/api/v1/accounts"))
    .filter((a) => a.currency === "VND" || a.currency === "GOLD")
    .map((a) => `${a.currency} ${a.available} (+${a.holds} on hold)`)
    .join(", ");

async function main() {
  console.log(`Sen demo against ${url}\n`);
  for (const t of traders) console.log(`  ${t.name.padEnd(5)} ${t.wallet}: ${await balances(t)}`);

  const bullet = await call<{ token: string; instanceServers: Array<{ endpoint: string }> }>(emma, "POST", "/api/v1/bullet-private");
  const ws = new WebSocket(`${bullet.instanceServers[0].endpoint}?token=${bullet.token}&connectId=demo`);
  await new Promise((r) => ws.once("message", r));
  ws.send(JSON.stringify({ id: "1", type: "subscribe", topic: "/spotMarket/tradeOrders", privateChannel: true, response: true }));
  ws.on("message", (raw) => {
    const m = JSON.parse(raw.toString());
    if (m.subject === "orderChange") {
      const d = m.data;
      console.log(`  [ws ${emma.name}] order ${d.orderId.slice(-6)} ${d.type}${d.matchSize ? ` ${d.matchSize} @ ${d.matchPrice} (${d.liquidity})` : ""}`);
    }
  });
  await new Promise((r) => setTimeout(r, 200));

  console.log(`\n${an.name} offers 10 GOLD at 10,000 and 10 at 10,100 đồng`);
  const run = Date.now().toString(36);
  const s1 = await call(an, "POST", "/api/v1/orders", { clientOid: `demo-${run}-s1`, side: "sell", symbol: SYMBOL, type: "limit", price: "10000", size: "10" });
  const s2 = await call(an, "POST", "/api/v1/orders", { clientOid: `demo-${run}-s2`, side: "sell", symbol: SYMBOL, type: "limit", price: "10100", size: "10" });
  console.log(`  orders ${s1.orderId.slice(-6)}, ${s2.orderId.slice(-6)} resting`);
  const book = await call(emma, "GET", `/api/v1/market/orderbook/level2_20?symbol=${SYMBOL}`);
  console.log(`  book: asks ${book.asks.map((l: string[]) => `${l[1]}@${l[0]}`).join("  ")}`);

  console.log(`\n${emma.name} buys 15 GOLD with a limit order at 10,100`);
  const b1 = await call(emma, "POST", "/api/v1/orders", { clientOid: `demo-${run}-b1`, side: "buy", symbol: SYMBOL, type: "limit", price: "10100", size: "15" });
  await new Promise((r) => setTimeout(r, 300));
  const fills = await call(emma, "GET", `/api/v1/fills?orderId=${b1.orderId}`);
  for (const f of fills.items) console.log(`  fill ${f.tradeId.slice(-6)}: ${f.size} @ ${f.price}, fee ${f.fee} ${f.feeCurrency}`);
  const sold = (await call(an, "GET", `/api/v1/fills?symbol=${SYMBOL}`)).items.filter((f: { side: string }) => f.side === "sell");
  for (const f of sold) console.log(`  ${an.name} sold ${f.size} for ${f.funds} VND: personal income tax withheld ${f.tax} VND (0.1% of the sale), fee ${f.fee}`);

  console.log(`\nSettlement on chain (delivery versus payment in the SettlementVault)`);
  for (let i = 0; i < 40; i++) {
    const settled = (await call(emma, "GET", `/api/v1/fills?orderId=${b1.orderId}`)).items;
    if (settled.every((f: { settlementTxHash: string | null }) => f.settlementTxHash)) {
      for (const f of settled) console.log(`  trade ${f.tradeId.slice(-6)} settled in tx ${f.settlementTxHash}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }

  console.log(`\n${an.name} cancels what is left`);
  await call(an, "DELETE", `/api/v1/orders?symbol=${SYMBOL}`);
  console.log("");
  for (const t of traders) console.log(`  ${t.name.padEnd(5)} ${await balances(t)}`);
  ws.close();

  // The pilot's holder rule, checked before matching (and by the token at settlement).
  console.log(`\n${an.name} (Vietnamese e-ID) tries to buy 1 RIVER, a tokenised real-estate interest issued in Viet Nam`);
  const refused = await send(an, "POST", "/api/v1/orders", { clientOid: `demo-${run}-r1`, side: "buy", symbol: "RIVER-VND", type: "limit", price: "10000", size: "1" });
  console.log(refused.code === "200000" ? "  accepted (unexpected: the pilot reserves RIVER for foreign investors)" : `  refused ${refused.code} ${refused.senCode}: ${refused.msg}`);

  // Six round trips of one unit between the same two e-IDs, ending where they started: no
  // change of ownership, only printed volume. Self-trade prevention cannot see it (two
  // different identities); the WASH_RING detector does.
  console.log(`\nSurveillance: ${an.name} and ${emma.name} pass 1 GOLD back and forth six times`);
  const FUND = SYMBOL;
  for (let i = 0; i < 6; i++) {
    const [maker, taker] = i % 2 === 0 ? [an, emma] : [emma, an];
    await call(maker, "POST", "/api/v1/orders", { clientOid: `demo-${run}-w${i}m`, side: "sell", symbol: FUND, type: "limit", price: "10000", size: "1" });
    await call(taker, "POST", "/api/v1/orders", { clientOid: `demo-${run}-w${i}t`, side: "buy", symbol: FUND, type: "limit", price: "10000", size: "1" });
  }
  console.log(`  6 trades, net change 0 for both`);
  if (complianceOfficer) console.log(`  the alert is in the compliance console: ${complianceOfficer.console} (sign in as ${complianceOfficer.wallet})`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  console.error("Is the exchange running? Start it with `npm start` in another terminal.");
  process.exit(1);
});
