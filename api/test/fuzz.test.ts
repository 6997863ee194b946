import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { DEFAULT_RISK, type RiskConfig } from "../src/risk/types.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { rawRequest, signedClient, signedHeaders, traderState, type RawReply, type TraderState } from "./support/httpProbe.ts";

/**
 * The boundary under fuzz: thousands of random and malformed requests against one running
 * gateway. Every reply must be KuCoin's JSON envelope with a status below 500, the process
 * must stay up, and nothing may change: every order body sent is invalid by construction
 * (and checked against a mirror of the schema), cancels never name the trader's own orders.
 */

const BATCH = 30; // requests in flight at once
const RUNS = 80; // batches: 2,400 requests
const BODY_LIMIT = 64 * 1024;
// Rate limits are not under test here: let every order body reach the deeper checks.
const RISK: RiskConfig = {
  ...structuredClone(DEFAULT_RISK),
  defaults: { ...DEFAULT_RISK.defaults, keyRate: { burst: 1e9, perSecond: 1e9 }, accountRate: { burst: 1e9, perSecond: 1e9 } },
};

type Auth =
  | { kind: "none" }
  | { kind: "session"; token: "trader" | "garbage" }
  | { kind: "signed" }
  /** Start from valid headers, then break them (or not: the request is treated as maybe valid). */
  | { kind: "broken"; drop: string[]; set: Record<string, string>; sign: "ok" | "wrongSecret" | "otherBody" | "lowerMethod"; skewMs: number };

type Plan = { method: string; path: string; body?: string; headers: Record<string, string>; auth: Auth; isOrder?: boolean };

const KC = ["KC-API-KEY", "KC-API-SIGN", "KC-API-TIMESTAMP", "KC-API-PASSPHRASE", "KC-API-KEY-VERSION"];
// "": the root "/" with its slash stripped by routeForms, the trader web app's page (HTML).
const NON_ENVELOPE = new Set(["", "/health", "/metrics", "/openapi.json"]);

// ---------------------------------------------------------------- mirrors of the gateway's rules

const ORDER_KEYS = new Set(["clientOid", "side", "symbol", "type", "remark", "stp", "tradeType", "price", "size", "funds", "timeInForce", "postOnly", "hidden", "iceberg", "visibleSize"]);
const DECIMAL = /^\d{1,30}(\.\d{1,18})?$/;
type MarketRules = { base: number; quote: number; tick: number; lot: number; minQty: number; maxQty: number };

/** Decimal string -> smallest units as the gateway parses it (null: refused). */
function units(text: string, decimals: number): bigint | null {
  const [whole, frac = ""] = text.split(".");
  const f = frac.replace(/0+$/, "");
  if (f.length > decimals) return null;
  const v = BigInt(whole + f.padEnd(decimals, "0"));
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? null : v;
}

/**
 * False only when the body is certainly refused before anything is journaled (schema, handler
 * validation, tick/lot/size rules). True means "might be accepted": such bodies are never sent.
 */
export function orderMayBeAccepted(text: string | undefined, markets: ReadonlyMap<string, MarketRules>, maxOrderQty: number): boolean {
  const raw = text === undefined ? "" : Buffer.from(text, "utf8").toString("utf8");
  let v: unknown;
  try {
    v = raw === "" ? {} : JSON.parse(raw);
  } catch {
    return false;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  if (Object.keys(o).some((k) => !ORDER_KEYS.has(k))) return false;
  if (typeof o.clientOid !== "string" || !/^[A-Za-z0-9_-]{1,40}$/.test(o.clientOid)) return false;
  if (o.side !== "buy" && o.side !== "sell") return false;
  if (typeof o.symbol !== "string" || !/^[A-Z0-9]{1,12}-[A-Z0-9]{1,12}$/.test(o.symbol)) return false;
  const type = o.type ?? "limit";
  if (type !== "limit" && type !== "market") return false;
  if (o.remark !== undefined && !(typeof o.remark === "string" && o.remark.length <= 100)) return false;
  if (o.stp !== undefined && !["CN", "CO", "CB", "DC"].includes(o.stp as string)) return false;
  if (o.tradeType !== undefined && o.tradeType !== "TRADE") return false;
  for (const k of ["price", "size", "funds", "visibleSize"]) if (o[k] !== undefined && !(typeof o[k] === "string" && DECIMAL.test(o[k]))) return false;
  const tif = o.timeInForce ?? "GTC";
  if (!["GTC", "IOC", "FOK"].includes(tif as string)) return false;
  if (o.postOnly !== undefined && typeof o.postOnly !== "boolean") return false;
  if (o.hidden !== undefined && o.hidden !== false) return false;
  if (o.iceberg !== undefined && typeof o.iceberg !== "boolean") return false;

  const m = markets.get(o.symbol);
  if (!m) return false;
  const price = o.price === undefined ? undefined : units(o.price as string, m.quote);
  const size = o.size === undefined ? undefined : units(o.size as string, m.base);
  const funds = o.funds === undefined ? undefined : units(o.funds as string, m.quote);
  if (price === null || size === null || funds === null) return false;
  if (type === "limit") {
    if (price === undefined || size === undefined || funds !== undefined || price <= 0n || size <= 0n) return false;
  } else {
    if ((size === undefined) === (funds === undefined)) return false;
    if (price !== undefined || o.postOnly === true || o.iceberg === true) return false;
    if (funds !== undefined && (o.side === "sell" || funds === 0n)) return false;
    if (size === 0n) return false;
  }
  if (o.iceberg === true && (o.visibleSize === undefined || units(o.visibleSize as string, m.base) === null)) return false;
  if (o.postOnly === true && tif !== "GTC") return false;
  if (price !== undefined && price % BigInt(m.tick) !== 0n) return false;
  if (size !== undefined && (size % BigInt(m.lot) !== 0n || size < BigInt(m.minQty) || size > BigInt(Math.min(m.maxQty, maxOrderQty)))) return false;
  return true;
}

/** Path as Express matches it: case-insensitive, trailing slashes ignored; also its decoded form. */
function routeForms(path: string): string[] {
  const p = path.toLowerCase().replace(/\/+$/, "");
  try {
    return [p, decodeURIComponent(p)];
  } catch {
    return [p];
  }
}

/** The last path segment after `prefix`, decoded as Express decodes a param (null: no match). */
function paramAfter(pathname: string, prefix: string): string | null {
  const p = pathname.replace(/\/+$/, "");
  if (!p.toLowerCase().startsWith(prefix)) return null;
  const seg = p.slice(prefix.length);
  if (seg.length === 0 || seg.includes("/")) return null;
  try {
    return decodeURIComponent(seg);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- arbitraries

const ascii = (maxLength: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });
const unicode = (maxLength: number) => fc.string({ unit: "binary", maxLength });
/** Unicode without lone surrogates (encodeURIComponent refuses those). */
const graphemes = (maxLength: number) => fc.string({ unit: "grapheme", maxLength });
const hex24 = fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 24, maxLength: 24 });

const numberTokens = ["1e400", "-1e400", "1e-400", "-0", "0.1e1", "123456789012345678901234567890123", "NaN", "Infinity", "0x10", "01", "-5", "1E5", "9007199254740993", ".5", "5."];
const badDecimals = [
  "",
  "-1",
  "+1",
  " 1",
  "1 ",
  "1e5",
  "1E-2",
  "0x10",
  "Infinity",
  "NaN",
  "1,000",
  "１２",
  ".5",
  "5.",
  "1.5",
  "10000.01",
  "0.000000000000000001",
  "1".repeat(31),
  "1.1234567890123456789",
  "9".repeat(17),
  "0",
  "0.0",
];
const weirdValues: unknown[] = [null, true, false, 0, -1, 1e308, -1e308, 1.5, [], {}, [1, 2], { a: 1 }, "", "x".repeat(300), "\u0000", "💥", "__proto__"];

const jsonText = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.constantFrom(...numberTokens),
  fc.integer({ min: 50, max: 20_000 }).map((n) => "[".repeat(n) + "]".repeat(n)),
  fc.integer({ min: 50, max: 5_000 }).map((n) => '{"a":'.repeat(n) + "1" + "}".repeat(n)),
  fc.constantFrom(
    '{"__proto__":{"polluted":"yes"}}',
    '{"constructor":{"prototype":{"polluted":"yes"}}}',
    '{"__proto__":{"role":"operator"},"reason":"x"}',
    '[{"clientOid":"a","side":"buy","symbol":"GOLD-VND","price":"10000","size":"1"}]',
    '{"reason":""}',
    '{"reason":"x","extra":1}',
    '{"scope":"defaults","limits":{"maxOpenOrders":1}}',
    '{"message":"x","signature":"0x00"}',
  ),
  unicode(200),
);
const bigBody = fc.constantFrom("x".repeat(100_000), `{"clientOid":"${"a".repeat(100_000)}"}`, `[${"1,".repeat(50_000)}1]`);
const bodyArb = fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 8, arbitrary: jsonText }, { weight: 1, arbitrary: bigBody });

const contentTypes = fc.constantFrom(
  undefined,
  "application/json",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/json; charset=utf-16",
  "application/json; charset=nope",
  "*/*",
  "garbage",
);

/** A valid order (content only): mutations below make it invalid. */
const orderBase = fc.record({
  clientOid: fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
  side: fc.constantFrom("buy", "sell"),
  symbol: fc.constantFrom("GOLD-VND", "RIVER-VND"),
  type: fc.constantFrom("limit", "market", undefined),
  price: fc.integer({ min: 1, max: 200 }).map((n) => String(n * 100)),
  size: fc.integer({ min: 1, max: 100 }).map(String),
  timeInForce: fc.constantFrom("GTC", "IOC", "FOK", undefined),
});

type Mutation = (o: Record<string, unknown>) => void;
const field = fc.constantFrom(...ORDER_KEYS);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // schema level: wrong types, missing or unknown keys, malformed decimals
  fc.tuple(field, fc.constantFrom(...weirdValues)).map(([k, v]): Mutation => (o) => void (o[k] = v)),
  fc.constantFrom("clientOid", "side", "symbol", "price", "size").map((k): Mutation => (o) => void delete o[k]),
  fc.tuple(fc.oneof(fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "cancelAfter", "stop", "stopPrice"), ascii(20)), fc.constantFrom(...weirdValues)).map(
    ([k, v]): Mutation =>
      (o) =>
        void Object.defineProperty(o, k, { value: v, enumerable: true, configurable: true, writable: true }),
  ),
  fc.tuple(fc.constantFrom("price", "size", "funds", "visibleSize"), fc.constantFrom(...badDecimals)).map(([k, v]): Mutation => (o) => void (o[k] = v)),
  // past the schema: refused by the handler or by a pre-trade rule
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 99 }).map((d): Mutation => (o) => void (o.price = String(10_000 + d))) }, // off tick
  { weight: 3, arbitrary: fc.constantFrom("1000001", "99999999", "9007199254740991").map((s): Mutation => (o) => void (o.size = s)) }, // above max qty
  { weight: 2, arbitrary: fc.constantFrom("AAA-BBB", "VND-GOLD", "RIVER-GOLD", "vgb30-vnd", "GOLD_VND", "GOLD-VND ", "GOLD-VND-X", "").map((s): Mutation => (o) => void (o.symbol = s)) },
  fc.constantFrom<Mutation>(
    (o) => Object.assign(o, { type: "market", price: "10000" }),
    (o) => Object.assign(o, { type: "market", funds: "10000" }), // with size: one of size/funds only
    (o) => Object.assign(o, { type: "market", side: "sell", funds: "10000", size: undefined }),
    (o) => Object.assign(o, { type: "limit", funds: "10000" }),
    (o) => Object.assign(o, { postOnly: true, timeInForce: "IOC" }),
    (o) => Object.assign(o, { iceberg: true, visibleSize: undefined }),
    (o) => Object.assign(o, { type: "limit", size: "0" }),
    (o) => Object.assign(o, { type: "limit", price: "0" }),
    (o) => Object.assign(o, { hidden: true }),
    (o) => Object.assign(o, { tradeType: "MARGIN_TRADE" }),
    (o) => Object.assign(o, { side: "BUY" }),
    (o) => Object.assign(o, { timeInForce: "GTT" }),
    (o) => Object.assign(o, { stp: "XX" }),
    (o) => Object.assign(o, { remark: "r".repeat(101) }),
  ),
  {
    weight: 4,
    arbitrary: fc.constantFrom<Mutation>(
      (o) => Object.assign(o, { type: "market", price: undefined, size: "1", funds: "10000" }),
      (o) => Object.assign(o, { type: "market", price: undefined, size: undefined, funds: undefined }),
      (o) => Object.assign(o, { type: "market", price: undefined, size: undefined, side: "sell", funds: "10000" }),
      (o) => Object.assign(o, { type: "market", price: undefined, size: undefined, side: "buy", funds: "0" }),
      (o) => Object.assign(o, { type: "market", price: undefined, size: "0" }),
      (o) => Object.assign(o, { type: "market", price: undefined, postOnly: true }),
      (o) => Object.assign(o, { type: "market", price: undefined, iceberg: true, visibleSize: "1" }),
      (o) => Object.assign(o, { type: "limit", size: "0.5" }),
      (o) => Object.assign(o, { type: "limit", price: "10000.5" }),
      (o) => Object.assign(o, { type: "limit", price: "0.000" }),
      (o) => Object.assign(o, { type: "limit", funds: "100" }),
      (o) => Object.assign(o, { type: "limit", price: undefined }),
      (o) => Object.assign(o, { type: "limit", size: "9007199254740993" }),
      (o) => Object.assign(o, { type: "limit", price: "9007199254740992" }),
      (o) => Object.assign(o, { iceberg: true, visibleSize: "0.5" }),
      (o) => Object.assign(o, { postOnly: true, timeInForce: "FOK" }),
    ),
  },
);
/** Serialisations of an order object, some of them no longer JSON or no longer an object. */
const serialise = fc.constantFrom<(o: Record<string, unknown>) => string>(
  ...Array.from({ length: 12 }, () => (o: Record<string, unknown>) => JSON.stringify(o)),
  (o) => JSON.stringify([o]),
  (o) => JSON.stringify({ order: o }),
  (o) => JSON.stringify(o).replace(/"(\d+)"/, "$1"), // a number where a string is expected
  (o) => JSON.stringify(o).replace(/"(\d+)"/, "1e400"),
  (o) => JSON.stringify(o).replace(/"(\d+)"/, "-$1"),
  (o) => JSON.stringify(o).slice(0, -1), // truncated
  (o) => JSON.stringify(o).replace("}", ",}"),
  (o) => JSON.stringify(o).replace(/^\{/, '{"__proto__":{"isActive":true},'),
  (o) => `${JSON.stringify(o)}garbage`,
  (o) => JSON.stringify(o).replace(/"side":"(\w+)"/, '"side":"$1","side":"sideways"'), // duplicate key, last wins
  (o) => new URLSearchParams(Object.entries(o).map(([k, v]): [string, string] => [k, String(v)])).toString(),
);

export function invalidOrderBody(markets: ReadonlyMap<string, MarketRules>, maxOrderQty: number): fc.Arbitrary<string> {
  return fc
    .tuple(orderBase, fc.array(mutation, { minLength: 1, maxLength: 3 }), serialise)
    .map(([base, ms, ser]) => {
      const o: Record<string, unknown> = Object.fromEntries(Object.entries(base).filter(([, v]) => v !== undefined));
      for (const m of ms) m(o);
      for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
      return ser(o);
    })
    .filter((text) => !orderMayBeAccepted(text, markets, maxOrderQty));
}

// ---------------------------------------------------------------- the test

describe("fuzz: malformed requests never break the envelope, the process or the state", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let trader: ApiCredentials;
  let other: ApiCredentials;
  let ownIds: Set<string>; // the trader's own order ids and clientOids: never sent in a DELETE
  let otherOrderId: string;
  let routes: Array<{ method: string; path: string; query: string[] }>;
  let paramRoutes: RegExp[];
  let markets: Map<string, MarketRules>;
  let snapshot: () => Promise<{ trader: TraderState; other: TraderState }>;
  let sent = 0;

  before(async () => {
    chain = await startChain();
    gw = await startTestGateway(chain, { risk: RISK });
    const t = hardhatAccount(20);
    const o = hardhatAccount(21);
    await chain.attest(t.address, "fuzz-trader");
    await chain.attest(o.address, "fuzz-other");
    trader = await loginAndCreateKey(gw.url, t);
    other = await loginAndCreateKey(gw.url, o);
    const { trading, catalog } = gw.ctx;
    await trading.deposit(trader.accountId, "VND", 10_000_000n, "fuzz-1");
    await trading.deposit(trader.accountId, "GOLD", 100n, "fuzz-2");
    await trading.deposit(other.accountId, "VND", 1_000_000n, "fuzz-3");
    const tc = signedClient(gw.url, trader);
    const oc = signedClient(gw.url, other);
    const placed = [
      await tc("POST", "/api/v1/orders", { clientOid: "fuzz-buy", side: "buy", symbol: "GOLD-VND", price: "9500", size: "5" }),
      await tc("POST", "/api/v1/orders", { clientOid: "fuzz-sell", side: "sell", symbol: "GOLD-VND", price: "10500", size: "5" }),
    ];
    const theirs = await oc("POST", "/api/v1/orders", { clientOid: "other-buy", side: "buy", symbol: "GOLD-VND", price: "9600", size: "1" });
    for (const r of [...placed, theirs]) assert.equal(r.code, "200000", r.msg);
    ownIds = new Set(["fuzz-buy", "fuzz-sell", ...placed.map((r) => r.data.orderId as string)]);
    otherOrderId = theirs.data.orderId;

    const api = (await rawRequest(gw.url, { method: "GET", path: "/openapi.json" })).json as { paths: Record<string, Record<string, { parameters: Array<{ name: string; in: string }> }>> };
    routes = Object.entries(api.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, query: op.parameters.filter((p) => p.in === "query").map((p) => p.name) })),
    );
    // Routes with path parameters, as Express matches them (case-insensitive, optional trailing slash).
    paramRoutes = [...new Set(routes.map((r) => r.path))]
      .filter((path) => path.includes("{"))
      .map((path) => new RegExp(`^${path.replace(/\{\w+\}/g, "([^/]+)")}/?$`, "i"));
    markets = new Map(
      [...catalog.markets.values()].map((m) => [
        m.symbol,
        { base: catalog.currency(m.base)!.decimals, quote: catalog.currency(m.quote)!.decimals, tick: m.tickSize, lot: m.lotSize, minQty: m.minQty, maxQty: m.maxQty },
      ]),
    );
    snapshot = async () => ({ trader: await traderState(gw.url, tc), other: await traderState(gw.url, oc) });
  });

  after(async () => {
    await gw?.close();
    await chain?.close();
  });

  /** Could this request change the exchange's state if it were (accidentally) validly signed? */
  function mayMutate(p: Plan): boolean {
    const u = new URL(gw.url + p.path);
    const forms = routeForms(u.pathname);
    if (p.method === "DELETE") {
      if (forms.includes("/api/v1/orders")) return true; // cancel all
      for (const prefix of ["/api/v1/orders/", "/api/v1/order/client-order/", "/api/v1/sen/api-keys/"]) {
        const param = paramAfter(u.pathname, prefix);
        if (param !== null && (ownIds.has(param) || param === trader.apiKey || param === other.apiKey)) return true;
      }
    }
    if (p.method === "POST" && forms.includes("/api/v1/orders")) return orderMayBeAccepted(p.body, markets, RISK.defaults.maxOrderQty);
    return false;
  }


  function planArb(): fc.Arbitrary<Plan> {
    const template = fc.constantFrom(...routes);
    const paramValue = fc.oneof(
      fc.constantFrom("GOLD-VND", "RIVER-VND", "AAA-BBB", trader.accountId, other.accountId, otherOrderId, "other-buy", "ffffffffffffffffffffffff", "__proto__", "constructor", "..", "%2e%2e"),
      hex24,
      ascii(40).map(encodeURIComponent),
      ascii(40).map((s) => s.replace(/[?#]/g, "")),
      graphemes(20).map(encodeURIComponent),
    );
    const path = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.tuple(template, fc.array(paramValue, { minLength: 3, maxLength: 3 })).map(([r, vs]) => {
          let i = 0;
          return { r, path: r.path.replace(/\{\w+\}/g, () => vs[i++ % vs.length]) };
        }),
      },
      {
        weight: 2,
        arbitrary: fc.tuple(template, fc.constantFrom((s: string) => s.toUpperCase(), (s: string) => `${s}/`, (s: string) => `${s}//x`, (s: string) => s.replace("/api", "/api/."), (s: string) => `/x/..${s}`)).map(([r, f]) => ({ r, path: f(r.path.replace(/\{\w+\}/g, "x")) })),
      },
      { weight: 2, arbitrary: fc.oneof(ascii(200), graphemes(50).map(encodeURI)).map((s) => ({ r: undefined, path: `/${s.replace(/[#]/g, "")}` })) },
      { weight: 1, arbitrary: fc.constantFrom("/", "/api", "/api/v1", "/api/v2/", "/health", "/metrics", "/openapi.json", "/favicon.ico", "/.env", "/api/v1/orders/../../etc/passwd").map((path) => ({ r: undefined, path })) },
    );
    const queryKey = fc.oneof(fc.constantFrom("symbol", "status", "side", "type", "currentPage", "pageSize", "startAt", "endAt", "currency", "address", "tradeType", "orderId", "__proto__", "constructor", "a[b]"), ascii(10));
    const queryValue = fc.oneof(
      fc.constantFrom("GOLD-VND", "active", "done", "buy", "1min", "1week", "1", "0", "-1", "500", "501", "1e3", "1e400", "NaN", "9".repeat(25), "0x1f", trader.accountId, "0x0000000000000000000000000000000000000000"),
      ascii(30),
      graphemes(10),
    );
    const query = fc.oneof(
      fc.constant(""),
      fc.array(fc.tuple(queryKey, queryValue), { maxLength: 5 }).map((kv) => `?${kv.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&")}`),
      fc.array(fc.tuple(queryKey, queryValue), { maxLength: 4 }).map((kv) => `?${kv.map(([k, v]) => `${k}=${v}`.replace(/#/g, "")).join("&")}`),
      fc.constantFrom("?", "?&&&", "?=", "?a=%", "?symbol=%zz", "?symbol=GOLD-VND&symbol=RIVER-VND", "?__proto__[x]=1", "?pageSize=500&currentPage=999999999999"),
    );
    const method = fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS");
    const headerValue = fc.oneof(
      ascii(60),
      fc.constantFrom("", "1", "2", "3", " 2", "v2", "abc", "-1", "1e12", "9".repeat(16), "0x1", "null", trader.apiKey, other.apiKey, "000000000000000000000000"),
    );
    const auth: fc.Arbitrary<Auth> = fc.oneof(
      { weight: 3, arbitrary: fc.constant<Auth>({ kind: "none" }) },
      { weight: 2, arbitrary: fc.constantFrom<Auth>({ kind: "session", token: "trader" }, { kind: "session", token: "garbage" }) },
      { weight: 3, arbitrary: fc.constant<Auth>({ kind: "signed" }) },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant("broken" as const),
          drop: fc.subarray(KC),
          set: fc.dictionary(fc.constantFrom(...KC, "kc-api-key", "kc-api-sign"), headerValue, { maxKeys: 2 }),
          sign: fc.constantFrom("ok" as const, "wrongSecret" as const, "otherBody" as const, "lowerMethod" as const),
          skewMs: fc.constantFrom(0, 0, -6_000, 6_000, -10_000, 3_600_000, -Date.now()),
        }),
      },
    );
    const extraHeaders = fc.record(
      { "content-type": contentTypes, "content-encoding": fc.constantFrom("identity", "identity", "identity", "gzip", "x-nope"), "x-forwarded-for": fc.constantFrom("10.0.0.1", "1.2.3.4, 127.0.0.1") },
      { requiredKeys: [] },
    );

    // Mostly the route's own method (so that requests get past routing), sometimes any.
    const random = fc.record({ anyMethod: method, ownMethod: fc.integer({ min: 0, max: 3 }), path, query, body: bodyArb, headers: extraHeaders, auth }).map((x): Plan => {
      const m = x.path.r && x.ownMethod > 0 ? x.path.r.method : x.anyMethod;
      const h: Record<string, string> = {};
      for (const [k, v] of Object.entries(x.headers)) if (v !== undefined) h[k] = v;
      return { method: m, path: x.path.path + x.query, body: m === "GET" ? undefined : x.body, headers: h, auth: x.auth };
    });
    const orders = fc
      .record({ body: invalidOrderBody(markets, RISK.defaults.maxOrderQty), auth: fc.oneof({ weight: 4, arbitrary: fc.constant<Auth>({ kind: "signed" }) }, { weight: 1, arbitrary: auth }) })
      .map(({ body, auth }): Plan => ({ method: "POST", path: "/api/v1/orders", body, headers: { "content-type": "application/json" }, auth, isOrder: true }));
    return fc.oneof({ weight: 3, arbitrary: random }, { weight: 2, arbitrary: orders }).filter((p) => !mayMutate(p));
  }

  async function send(p: Plan): Promise<RawReply> {
    const u = new URL(gw.url + p.path);
    const signedPath = u.pathname + u.search;
    const body = p.body ?? "";
    const headers: Record<string, string> = { ...p.headers };
    const a = p.auth;
    if (a.kind === "session") headers.authorization = `Bearer ${a.token === "trader" ? trader.token : "not-a-session-token"}`;
    else if (a.kind === "signed") Object.assign(headers, signedHeaders(trader, p.method, signedPath, body));
    else if (a.kind === "broken") {
      const creds = a.sign === "wrongSecret" ? { ...trader, apiSecret: "00000000-0000-4000-8000-000000000000" } : trader;
      const method = a.sign === "lowerMethod" ? p.method.toLowerCase() : p.method;
      const signedBody = a.sign === "otherBody" ? `${body} ` : body;
      const kc = signedHeaders(creds, method, signedPath, signedBody, Date.now() + a.skewMs);
      for (const k of a.drop) delete kc[k];
      Object.assign(headers, kc, a.set);
    }
    sent++;
    try {
      return await rawRequest(gw.url, { method: p.method, path: p.path, headers, body: p.body });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`${p.method} ${p.path.slice(0, 120)}: no HTTP reply (${cause?.code ?? ""} ${cause?.message ?? String(err)})`, { cause: err });
    }
  }

  const seen = new Map<string, number>(); // "status code senCode" -> count

  function check(p: Plan, r: RawReply): void {
    const j = r.json as { code?: string; senCode?: string } | undefined;
    const key = `${r.status} ${j?.code ?? "-"} ${j?.senCode ?? ""}`.trim();
    seen.set(key, (seen.get(key) ?? 0) + 1);
    const where = `${p.method} ${p.path.slice(0, 120)} -> ${r.status} ${r.text.slice(0, 200)}`;
    const u = new URL(gw.url + p.path);
    if (p.method === "GET" && routeForms(u.pathname).some((f) => NON_ENVELOPE.has(f))) {
      assert.ok(r.status < 500, where);
      return;
    }
    assert.match(r.contentType, /^application\/json/, where);
    const body = r.json as { code?: unknown; msg?: unknown; data?: unknown };
    assert.ok(typeof body === "object" && body !== null, where);
    assert.equal(typeof body.code, "string", where);
    if (body.code === "200000") {
      assert.equal(r.status, 200, where);
      assert.ok("data" in body, where);
      assert.ok(!p.isOrder, `an invalid order was accepted: ${where}`);
    } else {
      assert.equal(typeof body.msg, "string", where);
      assert.ok(r.status >= 400 && r.status < 500, where);
    }
    if (p.body !== undefined && Buffer.byteLength(p.body) > BODY_LIMIT) {
      // An unsupported (415) or undecodable (400) Content-Encoding is refused before the size is known.
      const encoded = (p.headers["content-encoding"] ?? "identity") !== "identity";
      assert.ok(r.status === 413 || (encoded && (r.status === 400 || r.status === 415)), where);
      assert.equal(body.code, "400100", where);
    }
  }

  it("answers 2,400 random requests with the envelope, stays up and changes nothing", async (t) => {
    const before = await snapshot();
    await fc.assert(
      fc.asyncProperty(fc.array(planArb(), { minLength: BATCH, maxLength: BATCH }), async (plans) => {
        const replies = await Promise.all(plans.map(send));
        plans.forEach((p, i) => check(p, replies[i]));
      }),
      { numRuns: RUNS, interruptAfterTimeLimit: 120_000, markInterruptAsFailure: true, includeErrorInReport: true },
    );
    assert.ok(sent >= 2_000, `sent ${sent} requests`);
    t.diagnostic(`${sent} requests; replies: ${[...seen].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} x${n}`).join(", ")}`);

    const health = await rawRequest(gw.url, { method: "GET", path: "/health" });
    assert.equal(health.status, 200);
    assert.equal((health.json as { status: string }).status, "ok");
    assert.deepEqual(await snapshot(), before);
    assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype polluted");
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, "isActive"), false);
  });

  it("answers a 100 KB body with 413 and the envelope, on any route", async () => {
    for (const path of ["/api/v1/orders", "/api/v1/sen/auth/login", "/nowhere"]) {
      const r = await rawRequest(gw.url, { method: "POST", path, headers: { "content-type": "application/json" }, body: JSON.stringify({ clientOid: "a".repeat(100_000) }) });
      assert.equal(r.status, 413);
      assert.deepEqual(r.json, { code: "400100", msg: "Request body too large", senCode: "BODY_TOO_LARGE" });
    }
  });

  it("the order-body mirror accepts the valid orders it is meant to filter out", () => {
    const ok = (o: object) => orderMayBeAccepted(JSON.stringify(o), markets, RISK.defaults.maxOrderQty);
    assert.ok(ok({ clientOid: "a", side: "buy", symbol: "GOLD-VND", price: "10000", size: "1" }));
    assert.ok(ok({ clientOid: "a", side: "sell", symbol: "GOLD-VND", type: "market", size: "1.000" }));
    assert.ok(ok({ clientOid: "a", side: "buy", symbol: "RIVER-VND", type: "market", funds: "100" }));
    assert.ok(!ok({ clientOid: "a", side: "buy", symbol: "GOLD-VND", price: "10001", size: "1" }));
    assert.ok(!ok({ clientOid: "a", side: "buy", symbol: "GOLD-VND", price: "10000", size: "1.5" }));
    assert.ok(!ok({ clientOid: "a", side: "sell", symbol: "GOLD-VND", type: "market", funds: "100" }));
  });

  it("answers a malformed %-escape in a route parameter with a 4xx envelope", async () => {
    for (const path of ["/api/v1/orders/%E0%A4%A", "/api/v1/order/client-order/%zz", "/api/v1/sen/operator/markets/%/halt"]) {
      const r = await rawRequest(gw.url, { method: "GET", path, headers: signedHeaders(trader, "GET", path) });
      assert.equal(r.status, 400, `${path}: ${r.status} ${r.text}`);
      assert.equal((r.json as { code: string }).code, "400100");
    }
  });

  it("answers an unsupported or corrupt Content-Encoding with a 4xx envelope", async () => {
    for (const encoding of ["x-nope", "gzip", "deflate"]) {
      const r = await rawRequest(gw.url, { method: "POST", path: "/api/v1/bullet-public", headers: { "content-encoding": encoding }, body: "not compressed" });
      assert.ok(r.status >= 400 && r.status < 500, `${encoding}: ${r.status} ${r.text}`);
      assert.equal(typeof (r.json as { code: string }).code, "string");
    }
  });
});
