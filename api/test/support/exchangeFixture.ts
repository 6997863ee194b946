import assert from "node:assert/strict";
import type { Address } from "viem";
import type { MarketCatalog } from "../../src/markets/marketCatalog.ts";
import { hardhatAccount, type ChainFixture } from "./chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type ApiCredentials, type GatewayFixture } from "./gatewayFixture.ts";
import { rawRequest, sessionClient, signedClient, siweLogin, traderState, type Envelope, type SessionClient, type SignedClient } from "./httpProbe.ts";

export type Trader = { creds: ApiCredentials; api: SignedClient; accountId: string; wallet: Address };
export type Balance = { currency: string; balance: string; available: string; holds: string };
export type OrderView = {
  id: string;
  clientOid: string;
  symbol: string;
  side: "buy" | "sell";
  price: string;
  size: string;
  dealSize: string;
  dealFunds: string;
  fee: string;
  stp: string;
  iceberg: boolean;
  visibleSize: string;
  isActive: boolean;
  cancelExist: boolean;
  remark: string | null;
};
export type FillView = { tradeId: string; orderId: string; counterOrderId: string; side: "buy" | "sell"; liquidity: "maker" | "taker"; price: string; size: string; fee: string };
export type BookView = { bids: Array<[string, string]>; asks: Array<[string, string]> };
export type Refusal = { status?: number; code: string; senCode: string; msg?: RegExp };

/** Hardhat wallets handed out per chain, so exchanges sharing a chain never share a wallet. */
const nextWallet = new WeakMap<ChainFixture, number>();
function wallet(chain: ChainFixture) {
  const i = nextWallet.get(chain) ?? 30;
  nextWallet.set(chain, i + 1);
  return hardhatAccount(i);
}

export type ExchangeFixture = Awaited<ReturnType<typeof openExchange>>;

/**
 * A fresh gateway on `chain` (empty books, no trades) with an operator session, and what a
 * trader does through the signed REST API: open an account with a verified e-ID and
 * operator-credited deposits, place, cancel, look at orders, fills, balances and the book.
 */
/** `traderCountry`: the e-ID country of the traders it makes (default 704, Viet Nam; RIVER is for foreign investors only). */
export async function openExchange(chain: ChainFixture, options: { catalog?: MarketCatalog; traderCountry?: number } = {}) {
  const operator = wallet(chain);
  const gw: GatewayFixture = await startTestGateway(chain, { env: { SEN_OPERATORS: operator.address.toLowerCase() }, catalog: options.catalog });
  await chain.attest(operator.address, `operator-${operator.address}`);
  const login = await siweLogin(gw.url, operator);
  assert.equal(login.data.role, "operator");
  const op: SessionClient = sessionClient(gw.url, login.data.token);
  let oid = 0;

  const ok = <T>(r: Envelope<T>, what: string): T => {
    assert.equal(r.code, "200000", `${what}: ${r.code} ${r.senCode} ${r.msg}`);
    return r.data;
  };

  const ex = {
    gw,
    op,
    /**
     * A new account: its wallet attested on chain under `identity` (wallets attested under one
     * label share one e-ID), logged in with an API key, and credited `deposits`.
     */
    async trader(deposits: Record<string, bigint> = {}, identity?: string): Promise<Trader> {
      const account = wallet(chain);
      await chain.attest(account.address, identity ?? `trader-${account.address}`, 2, options.traderCountry ?? 704);
      const creds = await loginAndCreateKey(gw.url, account);
      for (const [currency, amount] of Object.entries(deposits)) {
        ok(await op("POST", "/api/v1/sen/operator/deposits", { accountId: creds.accountId, currency, amount: amount.toString(), ref: `${creds.accountId}-${currency}` }), "deposit");
      }
      return { creds, api: signedClient(gw.url, creds), accountId: creds.accountId, wallet: account.address };
    },
    place(t: Trader, order: Record<string, unknown>): Promise<Envelope<{ orderId: string }>> {
      return t.api("POST", "/api/v1/orders", { clientOid: `o${++oid}`, type: "limit", ...order });
    },
    async placeOk(t: Trader, order: Record<string, unknown>): Promise<string> {
      return ok(await ex.place(t, order), JSON.stringify(order)).orderId;
    },
    /** Refused before anything was journaled: same balances, same open orders, same journal. */
    async refused(t: Trader, order: Record<string, unknown>, expected: Refusal): Promise<void> {
      const before = await traderState(gw.url, t.api);
      const r = await ex.place(t, order);
      expectRefusal(r, expected, JSON.stringify(order));
      assert.deepEqual(await traderState(gw.url, t.api), before, "a refused order changed nothing");
    },
    async cancel(t: Trader, orderId: string): Promise<void> {
      ok(await t.api("DELETE", `/api/v1/orders/${orderId}`), `cancel ${orderId}`);
    },
    async cancelAll(t: Trader): Promise<void> {
      ok(await t.api("DELETE", "/api/v1/orders"), "cancel all");
    },
    async order(t: Trader, orderId: string): Promise<OrderView> {
      return ok(await t.api<OrderView>("GET", `/api/v1/orders/${orderId}`), `order ${orderId}`);
    },
    async openOrders(t: Trader): Promise<OrderView[]> {
      return ok(await t.api<{ items: OrderView[] }>("GET", "/api/v1/orders?status=active&pageSize=500"), "open orders").items;
    },
    /** The trader's fills on `symbol`, oldest first. */
    async fills(t: Trader, symbol: string): Promise<FillView[]> {
      return ok(await t.api<{ items: FillView[] }>("GET", `/api/v1/fills?symbol=${symbol}&pageSize=500`), "fills").items.reverse();
    },
    async balances(t: Trader): Promise<Record<string, Balance>> {
      return Object.fromEntries(ok(await t.api<Balance[]>("GET", "/api/v1/accounts"), "balances").map((b) => [b.currency, b]));
    },
    /** The public aggregated book (KuCoin level2_100). */
    async book(symbol: string): Promise<BookView> {
      const r = await rawRequest(gw.url, { method: "GET", path: `/api/v1/market/orderbook/level2_100?symbol=${symbol}` });
      const { bids, asks } = (r.json as { data: BookView }).data;
      return { bids, asks };
    },
    /** Last trade price on `symbol`, null before the first trade. */
    async lastPrice(symbol: string): Promise<string | null> {
      const r = await rawRequest(gw.url, { method: "GET", path: `/api/v1/market/orderbook/level1?symbol=${symbol}` });
      return (r.json as { data: { price: string | null } }).data.price;
    },
    close: () => gw.close(),
  };
  return ex;
}

export function expectRefusal(r: Envelope, expected: Refusal, what = ""): void {
  assert.equal(r.code, expected.code, `${what}: ${r.code} ${r.senCode} ${r.msg}`);
  assert.equal(r.senCode, expected.senCode, what);
  if (expected.status !== undefined) assert.equal(r.status, expected.status, what);
  if (expected.msg) assert.match(r.msg ?? "", expected.msg, what);
}
