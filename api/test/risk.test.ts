import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { createKey, rawRequest, sessionClient, signedClient, siweLogin, traderState, type Envelope, type SessionClient, type SignedClient } from "./support/httpProbe.ts";

/**
 * Every pre-trade control, through the signed REST API of the real gateway: each refusal names
 * its rule (senCode), carries the KuCoin code ccxt maps, and changes nothing.
 */

type Trader = { creds: ApiCredentials; api: SignedClient; accountId: string };
type Balance = { currency: string; balance: string; available: string; holds: string };
type OrderView = { id: string; clientOid: string; side: "buy" | "sell"; price: string; size: string; dealSize: string; dealFunds: string; fee: string; isActive: boolean; remark: string | null };

describe("pre-trade controls through the signed REST API", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let op: SessionClient;
  let offset = 0; // the gateway's clock runs `offset` ms ahead of the wall clock
  const clock = () => Date.now() + offset;
  let nextAccount = 21;

  before(async () => {
    chain = await startChain();
    const operator = hardhatAccount(20);
    gw = await startTestGateway(chain, { env: { SEN_OPERATORS: operator.address.toLowerCase() }, now: clock });
    await chain.attest(operator.address, "risk-operator");
    const login = await siweLogin(gw.url, operator);
    assert.equal(login.data.role, "operator");
    op = sessionClient(gw.url, login.data.token);
  });

  after(async () => {
    await gw?.close();
    await chain?.close();
  });

  /** A fresh trader with a verified e-ID, an API key and the given deposits (credited by the operator). */
  async function trader(deposits: Record<string, bigint> = {}): Promise<Trader> {
    const account = hardhatAccount(nextAccount++);
    // Foreign investors: RIVER, a tokenised asset issued in Viet Nam, is theirs alone under the pilot (NQ05-FOREIGN-ONLY).
    await chain.attest(account.address, `risk-${account.address}`, 2, 702);
    const creds = await loginAndCreateKey(gw.url, account);
    for (const [currency, amount] of Object.entries(deposits)) {
      const r = await op("POST", "/api/v1/sen/operator/deposits", { accountId: creds.accountId, currency, amount: amount.toString(), ref: `${creds.accountId}-${currency}` });
      assert.equal(r.code, "200000", r.msg);
    }
    return { creds, api: signedClient(gw.url, creds, clock), accountId: creds.accountId };
  }

  const state = (t: Trader) => traderState(gw.url, t.api);

  async function place(t: Trader, order: Record<string, unknown>): Promise<Envelope<{ orderId: string }>> {
    return t.api("POST", "/api/v1/orders", { clientOid: `c${Math.random().toString(36).slice(2, 12)}`, type: "limit", ...order });
  }

  async function placeOk(t: Trader, order: Record<string, unknown>): Promise<string> {
    const r = await place(t, order);
    assert.equal(r.code, "200000", `${JSON.stringify(order)}: ${r.code} ${r.msg}`);
    return r.data.orderId;
  }

  /** The order is refused with this KuCoin code and rule, and the trader's state is untouched. */
  async function refused(t: Trader, order: Record<string, unknown>, expected: { status?: number; code: string; senCode: string; msg?: RegExp }): Promise<void> {
    const before = await state(t);
    const r = await place(t, order);
    assert.equal(r.code, expected.code, `${JSON.stringify(order)}: ${r.code} ${r.senCode} ${r.msg}`);
    assert.equal(r.senCode, expected.senCode);
    if (expected.status !== undefined) assert.equal(r.status, expected.status);
    if (expected.msg) assert.match(r.msg ?? "", expected.msg);
    assert.deepEqual(await state(t), before, "a refused order changed nothing");
  }

  async function setLimits(scope: "account" | "symbol" | "defaults", key: string | undefined, limits: Record<string, unknown>): Promise<void> {
    const r = await op("PUT", "/api/v1/sen/operator/risk-limits", { scope, key, reason: "risk test", limits });
    assert.equal(r.code, "200000", r.msg);
  }

  async function cancelAll(t: Trader): Promise<void> {
    const r = await t.api("DELETE", "/api/v1/orders");
    assert.equal(r.code, "200000", r.msg);
  }

  async function balances(t: Trader): Promise<Record<string, Balance>> {
    const r = await t.api<Balance[]>("GET", "/api/v1/accounts");
    return Object.fromEntries(r.data.map((b) => [b.currency, b]));
  }

  async function openOrders(t: Trader): Promise<OrderView[]> {
    const r = await t.api("GET", "/api/v1/orders?status=active&pageSize=500");
    return r.data.items;
  }

  async function enableTrading(symbol: string): Promise<boolean> {
    const r = await rawRequest(gw.url, { method: "GET", path: "/api/v2/symbols" });
    return (r.json as { data: Array<{ symbol: string; enableTrading: boolean }> }).data.find((s) => s.symbol === symbol)!.enableTrading;
  }

  /** seller sells and buyer buys `size` at `price`: one trade at that price. */
  async function trade(seller: Trader, buyer: Trader, symbol: string, price: number | bigint, size: number): Promise<void> {
    await placeOk(seller, { side: "sell", symbol, price: String(price), size: String(size) });
    await placeOk(buyer, { side: "buy", symbol, price: String(price), size: String(size) });
    assert.equal((await openOrders(buyer)).length, 0, "the buy filled");
  }

  it("price collar: a limit price more than collarBps from the last trade is refused", async () => {
    const s = await trader({ RIVER: 100n });
    const b = await trader({ VND: 10_000_000n });
    await trade(s, b, "RIVER-VND", 10_000, 1); // the reference price
    const collar = { code: "300000", senCode: "RISK_PRICE_COLLAR", status: 400, msg: /1000 bps from the reference price 10000/ };
    await refused(b, { side: "buy", symbol: "RIVER-VND", price: "11100", size: "1" }, collar);
    await refused(s, { side: "sell", symbol: "RIVER-VND", price: "8900", size: "1" }, collar);
    // exactly 10 % away is still inside the collar
    await placeOk(b, { side: "buy", symbol: "RIVER-VND", price: "9000", size: "1" });
    await placeOk(s, { side: "sell", symbol: "RIVER-VND", price: "11000", size: "1" });
    await cancelAll(b);
    await cancelAll(s);
  });

  it("max order qty: an operator's per-account limit refuses larger sizes", async () => {
    const t = await trader({ VND: 10_000_000n });
    await setLimits("account", t.accountId, { maxOrderQty: 50 });
    const limits = await op("GET", "/api/v1/sen/operator/risk-limits");
    assert.equal(limits.data.accounts[t.accountId].maxOrderQty, 50);
    await refused(t, { side: "buy", symbol: "GOLD-VND", price: "1000", size: "51" }, { status: 400, code: "300000", senCode: "RISK_MAX_ORDER_QTY", msg: /size above the maximum 50/ });
    await placeOk(t, { side: "buy", symbol: "GOLD-VND", price: "1000", size: "50" });
    // the market's own maximum applies to everyone
    const u = await trader({ VND: 10_000_000n });
    await refused(u, { side: "buy", symbol: "GOLD-VND", price: "100", size: "1000001" }, { code: "300000", senCode: "RISK_MAX_ORDER_QTY" });
    await cancelAll(t);
  });

  it("max order value: notional above maxOrderValue is refused", async () => {
    const t = await trader({ VND: 10_000_000n });
    await setLimits("account", t.accountId, { maxOrderValue: "100000" });
    await refused(t, { side: "buy", symbol: "GOLD-VND", price: "10000", size: "11" }, { status: 400, code: "300000", senCode: "RISK_MAX_ORDER_VALUE", msg: /order value above the maximum 100000/ });
    await refused(t, { side: "buy", symbol: "GOLD-VND", type: "market", funds: "100001" }, { code: "300000", senCode: "RISK_MAX_ORDER_VALUE" });
    await placeOk(t, { side: "buy", symbol: "GOLD-VND", price: "10000", size: "10" }); // exactly the maximum
    await cancelAll(t);
  });

  it("max open orders: the next order is refused until one is cancelled", async () => {
    const t = await trader({ VND: 10_000_000n });
    await setLimits("account", t.accountId, { maxOpenOrders: 2 });
    const first = await placeOk(t, { side: "buy", symbol: "GOLD-VND", price: "1000", size: "1" });
    await placeOk(t, { side: "buy", symbol: "GOLD-VND", price: "1100", size: "1" });
    await refused(t, { side: "buy", symbol: "GOLD-VND", price: "1200", size: "1" }, { status: 400, code: "300000", senCode: "RISK_MAX_OPEN_ORDERS", msg: /at most 2 open orders/ });
    assert.equal((await t.api("DELETE", `/api/v1/orders/${first}`)).code, "200000");
    await placeOk(t, { side: "buy", symbol: "GOLD-VND", price: "1200", size: "1" });
    await cancelAll(t);
  });

  it("per-key rate throttle: a key over its burst is refused (429000); another key of the account is not", async () => {
    const t = await trader({ VND: 10_000_000n });
    await setLimits("account", t.accountId, { keyRate: { burst: 3, perSecond: 0.001 } });
    for (let i = 0; i < 3; i++) await placeOk(t, { side: "buy", symbol: "GOLD-VND", price: String(1000 + 100 * i), size: "1" });
    const throttled = { status: 429, code: "429000", senCode: "RISK_RATE_LIMIT_KEY", msg: /^Exceeded the access frequency/ };
    await refused(t, { side: "buy", symbol: "GOLD-VND", price: "1000", size: "1" }, throttled);
    // Reads and cancels are not orders: they still work.
    assert.equal((await t.api("GET", "/api/v1/accounts")).code, "200000");
    const second = await createKey(gw.url, t.creds.token);
    const t2: Trader = { ...t, api: signedClient(gw.url, second, clock) };
    await placeOk(t2, { side: "buy", symbol: "GOLD-VND", price: "1000", size: "1" });
    await refused(t, { side: "buy", symbol: "GOLD-VND", price: "1000", size: "1" }, throttled);
    await cancelAll(t);
  });

  it("per-account throttle: all keys of an account share one bucket", async () => {
    const t = await trader({ VND: 10_000_000n });
    await setLimits("account", t.accountId, { accountRate: { burst: 4, perSecond: 0.001 } });
    const second = await createKey(gw.url, t.creds.token);
    const t2: Trader = { ...t, api: signedClient(gw.url, second, clock) };
    for (const k of [t, t2, t, t2]) await placeOk(k, { side: "buy", symbol: "GOLD-VND", price: "1000", size: "1" });
    const throttled = { status: 429, code: "429000", senCode: "RISK_RATE_LIMIT_ACCOUNT", msg: /^Exceeded the access frequency \(account\)/ };
    await refused(t2, { side: "buy", symbol: "GOLD-VND", price: "1000", size: "1" }, throttled);
    const third = await createKey(gw.url, t.creds.token);
    await refused({ ...t, api: signedClient(gw.url, third, clock) }, { side: "buy", symbol: "GOLD-VND", price: "1000", size: "1" }, throttled);
    // another account is not affected
    const u = await trader({ VND: 10_000n });
    await placeOk(u, { side: "buy", symbol: "GOLD-VND", price: "1000", size: "1" });
    await cancelAll(t);
    await cancelAll(u);
  });

  it("insufficient balance: buys need notional plus the taker fee, sells need the size (200004)", async () => {
    const t = await trader({ VND: 100_199n, GOLD: 5n });
    const funds = { status: 400, code: "200004", senCode: "RISK_INSUFFICIENT_FUNDS", msg: /^Balance insufficient!$/ };
    await refused(t, { side: "buy", symbol: "GOLD-VND", price: "10000", size: "10" }, funds); // 100,000 + 200 fee
    await refused(t, { side: "buy", symbol: "GOLD-VND", type: "market", funds: "100000" }, funds); // + 200 fee
    await refused(t, { side: "sell", symbol: "GOLD-VND", price: "20000", size: "6" }, funds);
    await refused(t, { side: "sell", symbol: "GOLD-VND", type: "market", size: "6" }, funds);
    await refused(t, { side: "buy", symbol: "RIVER-VND", price: "10000", size: "10" }, funds);
    // one more đồng and exactly the needed amount is held
    assert.equal((await op("POST", "/api/v1/sen/operator/deposits", { accountId: t.accountId, currency: "VND", amount: "1", ref: `${t.accountId}-top-up` })).code, "200000");
    await placeOk(t, { side: "buy", symbol: "GOLD-VND", price: "10000", size: "10" });
    await placeOk(t, { side: "sell", symbol: "GOLD-VND", price: "20000", size: "5" });
    const b = await balances(t);
    assert.deepEqual([b.VND.available, b.VND.holds, b.GOLD.available, b.GOLD.holds], ["0", "100200", "0", "5"]);
    await refused(t, { side: "sell", symbol: "GOLD-VND", type: "market", size: "1" }, funds);
    await cancelAll(t);
  });

  it("duplicate clientOid: refused, even after the first order was cancelled; per account", async () => {
    const t = await trader({ VND: 1_000_000n });
    const dup = { code: "300000", senCode: "RISK_DUPLICATE_CLIENT_OID", status: 400, msg: /clientOid dup-1 was already used/ };
    const id = await placeOk(t, { clientOid: "dup-1", side: "buy", symbol: "GOLD-VND", price: "1000", size: "1" });
    await refused(t, { clientOid: "dup-1", side: "buy", symbol: "GOLD-VND", price: "1100", size: "2" }, dup);
    assert.equal((await t.api("DELETE", `/api/v1/orders/${id}`)).code, "200000");
    await refused(t, { clientOid: "dup-1", side: "buy", symbol: "GOLD-VND", price: "1000", size: "1" }, dup);
    const u = await trader({ VND: 1_000_000n });
    await placeOk(u, { clientOid: "dup-1", side: "buy", symbol: "GOLD-VND", price: "1000", size: "1" });
    await cancelAll(u);
  });

  it("symbol halt: new orders refused, resting ones stay and can be cancelled; resume re-opens", async () => {
    const t = await trader({ VND: 1_000_000n });
    const resting = await placeOk(t, { side: "buy", symbol: "GOLD-VND", price: "1000", size: "1" });
    const h = await op("POST", "/api/v1/sen/operator/markets/GOLD-VND/halt", { reason: "test halt" });
    assert.deepEqual(h.data, { symbol: "GOLD-VND", halted: true });
    assert.equal(await enableTrading("GOLD-VND"), false);
    assert.equal(await enableTrading("RIVER-VND"), true);
    await refused(t, { side: "buy", symbol: "GOLD-VND", price: "1000", size: "1" }, { status: 400, code: "300000", senCode: "RISK_SYMBOL_HALTED", msg: /GOLD-VND is halted: test halt/ });
    assert.deepEqual((await openOrders(t)).map((o) => o.id), [resting]);
    await placeOk(t, { side: "buy", symbol: "RIVER-VND", price: "9500", size: "1" }); // other symbols trade on
    assert.equal((await t.api("DELETE", `/api/v1/orders/${resting}`)).code, "200000");
    const unknown = await op("POST", "/api/v1/sen/operator/markets/AAA-BBB/halt", { reason: "x" });
    assert.equal(unknown.code, "400000");
    const r = await op("POST", "/api/v1/sen/operator/markets/GOLD-VND/resume", { reason: "test over" });
    assert.deepEqual(r.data, { symbol: "GOLD-VND", halted: false });
    assert.equal(await enableTrading("GOLD-VND"), true);
    await placeOk(t, { side: "buy", symbol: "GOLD-VND", price: "1000", size: "1" });
    await cancelAll(t);
  });

  it("symbol halt: a size cut at the same price goes through (it only lowers risk, like a cancel); a rise or a new price is refused", async () => {
    const t = await trader({ VND: 1_000_000n });
    const id = await placeOk(t, { side: "buy", symbol: "GOLD-VND", price: "1000", size: "3" });
    const held = (await balances(t)).VND.holds;
    assert.equal((await op("POST", "/api/v1/sen/operator/markets/GOLD-VND/halt", { reason: "cut test" })).code, "200000");
    try {
      const alter = (change: { newPrice?: string; newSize?: string }) => t.api("POST", "/api/v1/hf/orders/alter", { symbol: "GOLD-VND", orderId: id, ...change });
      for (const change of [{ newSize: "4" }, { newPrice: "1100" }, { newPrice: "900", newSize: "2" }]) {
        const r = await alter(change);
        assert.equal(r.senCode, "RISK_SYMBOL_HALTED", `${JSON.stringify(change)} during a halt: ${r.code} ${r.msg}`);
      }
      const cut = await alter({ newSize: "2" });
      assert.equal(cut.code, "200000", `${cut.code} ${cut.senCode} ${cut.msg}`);
      const [o] = await openOrders(t);
      assert.deepEqual([o.id, o.size, o.price], [id, "2", "1000"]);
      assert.ok(BigInt((await balances(t)).VND.holds) < BigInt(held), "the cut releases part of the hold");
    } finally {
      assert.equal((await op("POST", "/api/v1/sen/operator/markets/GOLD-VND/resume", { reason: "cut test over" })).code, "200000");
    }
    await cancelAll(t);
  });

  it("account kill switch: open orders cancelled, holds released, new orders refused (411100) until unfrozen", async () => {
    const t = await trader({ VND: 1_000_000n, GOLD: 10n });
    const ids = [await placeOk(t, { side: "buy", symbol: "GOLD-VND", price: "1000", size: "3" }), await placeOk(t, { side: "sell", symbol: "GOLD-VND", price: "20000", size: "4" })];
    const k = await op("POST", `/api/v1/sen/operator/accounts/${t.accountId}/kill-switch`, { reason: "suspicious activity" });
    assert.equal(k.code, "200000", k.msg);
    assert.deepEqual(k.data, { accountId: t.accountId, frozen: true, cancelledOrderIds: ids });
    assert.deepEqual(await openOrders(t), []);
    const b = await balances(t);
    assert.deepEqual([b.VND.available, b.VND.holds, b.GOLD.available, b.GOLD.holds], ["1000000", "0", "10", "0"]);
    for (const id of ids) assert.equal((await t.api("GET", `/api/v1/orders/${id}`)).data.cancelExist, true);
    const frozen = { status: 403, code: "411100", senCode: "RISK_ACCOUNT_FROZEN" };
    await refused(t, { side: "buy", symbol: "GOLD-VND", price: "1000", size: "1" }, frozen);
    await refused(t, { side: "sell", symbol: "RIVER-VND", type: "market", size: "1" }, frozen);
    const u = await op("POST", `/api/v1/sen/operator/accounts/${t.accountId}/unfreeze`, { reason: "cleared" });
    assert.deepEqual(u.data, { accountId: t.accountId, frozen: false });
    await placeOk(t, { side: "buy", symbol: "GOLD-VND", price: "1000", size: "1" });
    await cancelAll(t);
  });

  it("cancel of an already cancelled (or filled) order is refused (400100) and changes nothing", async () => {
    const t = await trader({ VND: 1_000_000n, RIVER: 5n });
    const id = await placeOk(t, { clientOid: "to-cancel", side: "buy", symbol: "GOLD-VND", price: "1000", size: "1" });
    assert.equal((await t.api("DELETE", `/api/v1/orders/${id}`)).code, "200000");
    const before = await state(t);
    for (const path of [`/api/v1/orders/${id}`, "/api/v1/order/client-order/to-cancel"]) {
      const r = await t.api("DELETE", path);
      assert.equal(r.status, 400);
      assert.equal(r.code, "400100");
      assert.equal(r.senCode, "TRADING_ORDER_NOT_ACTIVE");
      assert.equal(r.msg, "order_not_exist_or_not_allow_to_cancel");
    }
    assert.deepEqual(await state(t), before, "nothing changed");
    // a filled order cannot be cancelled either
    const b = await trader({ VND: 1_000_000n });
    const sold = await placeOk(t, { side: "sell", symbol: "RIVER-VND", price: "10000", size: "1" });
    await placeOk(b, { side: "buy", symbol: "RIVER-VND", price: "10000", size: "1" });
    const r = await t.api("DELETE", `/api/v1/orders/${sold}`);
    assert.deepEqual([r.code, r.senCode], ["400100", "TRADING_ORDER_NOT_ACTIVE"]);
    assert.deepEqual((await state(t)).openOrders, before.openOrders);
  });

  it("volatility halt: trades moving the price beyond the band halt the symbol until the halt lapses", async () => {
    const s = await trader({ GOLD: 100n });
    const b = await trader({ VND: 100_000_000n });
    // 10,000 -> 10,900 (+9 %) -> 11,800 (+18 % over the window): each step inside the 10 % collar.
    await trade(s, b, "GOLD-VND", 10_000, 1);
    await trade(s, b, "GOLD-VND", 10_900, 1);
    assert.equal(await enableTrading("GOLD-VND"), true, "+9 % is inside the 15 % band");
    await trade(s, b, "GOLD-VND", 11_800, 1);
    assert.equal(await enableTrading("GOLD-VND"), false);
    const halted = { status: 400, code: "300000", senCode: "RISK_SYMBOL_HALTED", msg: /volatility: 10000 -> 11800/ };
    await refused(b, { side: "buy", symbol: "GOLD-VND", price: "11800", size: "1" }, halted);
    await refused(s, { side: "sell", symbol: "GOLD-VND", type: "market", size: "1" }, halted);
    // The halt lapses by itself after haltMs (5 min).
    offset += 5 * 60_000 + 1_000;
    assert.equal(await enableTrading("GOLD-VND"), true);
    await placeOk(b, { side: "buy", symbol: "GOLD-VND", price: "11800", size: "1" });
    await cancelAll(b);
  });

  it(
    "volatility halt: a second large move after a lapsed halt halts the symbol again",
    async () => {
      const symbol = "GOLD-VND";
      const s = await trader({ GOLD: 100n });
      const b = await trader({ VND: 100_000_000n });
      await op("POST", `/api/v1/sen/operator/markets/${symbol}/resume`, { reason: "start clean" });
      const up = (p: bigint, percent: bigint) => ((p * (100n + percent)) / 10_000n) * 100n; // on the 100 đồng tick
      // about +9 % then +18 % from the start: each step inside the 10 % collar, the whole beyond the 15 % band.
      const surge = async (from: bigint) => {
        for (const p of [from, up(from, 9n), up(from, 18n)]) await trade(s, b, symbol, p, 1);
        return up(from, 18n);
      };
      try {
        const stats = await rawRequest(gw.url, { method: "GET", path: `/api/v1/market/stats?symbol=${symbol}` });
        const last = BigInt((stats.json as { data: { last: string } }).data.last); // VND has no decimals
        const top = await surge(last === 0n ? 10_000n : last);
        assert.equal(await enableTrading(symbol), false, "first halt");
        offset += 5 * 60_000 + 1_000;
        assert.equal(await enableTrading(symbol), true, "lapsed");
        await surge(top);
        assert.equal(await enableTrading(symbol), false, "halted again");
      } finally {
        await op("POST", `/api/v1/sen/operator/markets/${symbol}/resume`, { reason: "test over" });
        await cancelAll(s);
        await cancelAll(b);
      }
    },
  );

  it("property: random valid and invalid orders and cancels of two traders conserve value and keep holds and the book exact", async (t) => {
    const seen = new Map<string, number>();
    let fills = 0;
    const stpEnded = new Map<string, number>(); // STP outcome -> orders it ended
    const symbol = "RIVER-VND";
    const m = gw.ctx.catalog.market(symbol)!;
    const deposit = { VND: 5_000_000n, RIVER: 300n };
    // What the exchange withholds: fees (fee account) and the sellers' tax (tax account).
    const fees = () => gw.ctx.trading.core.ledger.balance(gw.ctx.feeAccount, "VND").available + gw.ctx.trading.core.ledger.balance(gw.ctx.trading.core.taxAccount, "VND").available;
    const price = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 99, max: 101 }) }, { weight: 1, arbitrary: fc.integer({ min: 95, max: 105 }) }).map((n) => n * 100);
    const who = fc.integer({ min: 0, max: 1 });
    // A trader's order meeting its own resting one is a self-trade: every mode, and the default.
    const stp = fc.constantFrom(undefined, "CN", "CO", "CB", "DC");
    const command = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          t: fc.constant("limit" as const),
          who,
          side: fc.constantFrom("buy", "sell"),
          price,
          size: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 1, max: 60 }) }, { weight: 1, arbitrary: fc.integer({ min: 300, max: 700 }) }),
          tif: fc.constantFrom("GTC", "GTC", "GTC", "IOC", "FOK"),
          postOnly: fc.constantFrom(false, false, false, true),
          stp,
        }),
      },
      { weight: 2, arbitrary: fc.record({ t: fc.constant("market" as const), who, side: fc.constantFrom("buy", "sell"), size: fc.integer({ min: 1, max: 80 }) }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant("marketFunds" as const), who, funds: fc.integer({ min: 1, max: 6_000_000 }) }) },
      {
        weight: 2,
        arbitrary: fc.record({ t: fc.constant("invalid" as const), who, nth: fc.nat({ max: INVALID.length - 1 }) }),
      },
      { weight: 2, arbitrary: fc.record({ t: fc.constant("selfCross" as const), who, nth: fc.nat(), size: fc.integer({ min: 1, max: 60 }), stp }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant("duplicate" as const), who, nth: fc.nat() }) },
      // `own`: one of the trader's resting orders (else any order placed in the run, often filled or another's).
      { weight: 3, arbitrary: fc.record({ t: fc.constant("cancel" as const), who, nth: fc.nat(), byClientOid: fc.boolean(), own: fc.boolean() }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant("cancelAll" as const), who }) },
    );

    // size "max": without it fast-check stops near minLength + 10 whatever maxLength says.
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 10, maxLength: 30, size: "max" }), async (commands) => {
        const traders = [await trader(deposit), await trader(deposit)];
        try {
          const feesBefore = fees();
          const book = await rawRequest(gw.url, { method: "GET", path: `/api/v1/market/orderbook/level2_100?symbol=${symbol}` });
          const { bids, asks } = (book.json as { data: { bids: unknown[]; asks: unknown[] } }).data;
          assert.deepEqual([bids, asks], [[], []], "empty book at the start");
          const placed: Array<{ who: number; orderId: string; clientOid: string }> = [];
          let n = 0;
          for (const c of commands) {
            const t = traders[c.who];
            let r: Envelope;
            const oid = `p${n++}`;
            const base = { clientOid: oid, symbol, type: "limit" };
            if (c.t === "limit") r = await place(t, { ...base, side: c.side, price: String(c.price), size: String(c.size), timeInForce: c.tif, postOnly: c.postOnly && c.tif === "GTC", ...(c.stp && { stp: c.stp }) });
            else if (c.t === "market") r = await place(t, { ...base, type: "market", side: c.side, size: String(c.size) });
            else if (c.t === "marketFunds") r = await place(t, { ...base, type: "market", side: "buy", funds: String(c.funds) });
            else if (c.t === "invalid") {
              const bad = INVALID[c.nth];
              // Far from any price: the collar refuses it, or with nothing to measure from, the balance.
              const expected = bad.senCode ?? ((await referenceExists(symbol)) ? "RISK_PRICE_COLLAR" : "RISK_INSUFFICIENT_FUNDS");
              r = await place(t, { ...base, side: "buy", price: "10000", size: "1", ...bad.patch });
              assert.equal(r.senCode, expected, `${JSON.stringify(bad.patch)}: ${r.code} ${r.senCode} ${r.msg}`);
            } else if (c.t === "selfCross") {
              const mine = await openOrders(t);
              if (mine.length === 0) continue;
              const o = mine[c.nth % mine.length];
              r = await place(t, { ...base, side: o.side === "buy" ? "sell" : "buy", price: o.price, size: String(c.size), ...(c.stp && { stp: c.stp }) });
            } else if (c.t === "duplicate") {
              const mine = placed.filter((p) => p.who === c.who);
              r = await place(t, { ...base, clientOid: mine.length ? mine[c.nth % mine.length].clientOid : oid, side: "buy", price: "10000", size: "1" });
              if (mine.length) assert.equal(r.senCode, "RISK_DUPLICATE_CLIENT_OID");
            } else if (c.t === "cancel") {
              const open = c.own ? new Set((await openOrders(t)).map((o) => o.id)) : null;
              const candidates = open === null ? placed : placed.filter((p) => open.has(p.orderId));
              if (candidates.length === 0) continue;
              const target = candidates[c.nth % candidates.length];
              r = await t.api("DELETE", c.byClientOid ? `/api/v1/order/client-order/${target.clientOid}` : `/api/v1/orders/${target.orderId}`);
              if (target.who !== c.who) assert.deepEqual([r.code, r.senCode], ["400100", "TRADING_ORDER_NOT_FOUND"], "another trader's order is not found");
            } else r = await t.api("DELETE", `/api/v1/orders?symbol=${symbol}`);
            assert.ok(["200000", "200004", "300000", "400100", "400000"].includes(r.code), `${JSON.stringify(c)}: ${r.code} ${r.senCode} ${r.msg}`);
            assert.ok(r.status < 500);
            const key = `${c.t} ${r.code} ${r.senCode ?? ""}`.trim();
            seen.set(key, (seen.get(key) ?? 0) + 1);
            if (c.t === "invalid") assert.notEqual(r.code, "200000", JSON.stringify(c));
            if (r.code === "200000" && "orderId" in (r.data ?? {})) placed.push({ who: c.who, orderId: r.data.orderId, clientOid: oid });
            await invariants(traders, deposit, fees() - feesBefore, m.takerFeeBps);
          }
          for (const t of traders) await cancelAll(t);
          await invariants(traders, deposit, fees() - feesBefore, m.takerFeeBps);
          for (const t of traders) {
            assert.deepEqual(await openOrders(t), []);
            for (const b of Object.values(await balances(t))) assert.equal(b.holds, "0");
            const done = (await t.api("GET", `/api/v1/orders?status=done&symbol=${symbol}&pageSize=500`)).data.items as OrderView[];
            for (const o of done) if (o.remark?.startsWith("ENGINE_STP_")) stpEnded.set(o.remark, (stpEnded.get(o.remark) ?? 0) + 1);
          }
          // Fees and tax collected = the fees and tax on the two traders' fills; the tax is 0.1% of each sale, rounded down.
          let fillFees = 0n;
          for (const tr of traders) {
            const items = (await tr.api("GET", `/api/v1/fills?symbol=${symbol}&pageSize=500`)).data.items as Array<{ fee: string; tax: string; side: string; funds: string }>;
            fills += items.length;
            for (const f of items) {
              assert.equal(BigInt(f.tax), f.side === "sell" ? (BigInt(f.funds) * 10n) / 10_000n : 0n, `tax on a ${f.side} fill of ${f.funds}`);
              fillFees += BigInt(f.fee) + BigInt(f.tax);
            }
          }
          assert.equal(fillFees, fees() - feesBefore);
        } finally {
          // A failed run must not leave its orders to the next one (shrinking runs many).
          for (const t of traders) await t.api("DELETE", "/api/v1/orders");
        }
      }),
      { numRuns: 12, includeErrorInReport: true },
    );
    t.diagnostic(`${fills} fills; STP: ${[...stpEnded].sort().map(([k, n]) => `${k} x${n}`).join(", ")}; replies: ${[...seen].sort().map(([k, n]) => `${k} x${n}`).join(", ")}`);
    // It exercised what it is about: trades, self-trades, accepted orders of each kind, refusals by
    // pre-trade rules and by validation, and cancels that worked.
    const count = (prefix: string) => [...seen].filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0);
    assert.ok(fills > 0, "some orders traded");
    assert.ok(stpEnded.size > 0 && count("selfCross 200000") > 0, "some orders met their own trader's");
    for (const kind of ["limit 200000", "market 200000", "marketFunds 200000", "cancel 200000", "cancelAll 200000", "duplicate 300000 RISK_DUPLICATE_CLIENT_OID"]) assert.ok(count(kind) > 0, kind);
    assert.ok(count("invalid 300000 RISK_") > 0, "refused by a pre-trade rule");
    assert.ok(count("invalid 400100 VALIDATION") > 0, "refused as a bad parameter");
  });

  /** Orders a valid order would never be; senCode undefined: depends on the reference price. */
  const INVALID: Array<{ patch: Record<string, unknown>; senCode?: string }> = [
    { patch: { price: "10050" }, senCode: "RISK_PRICE_NOT_ON_TICK" },
    { patch: { size: "1.5" }, senCode: "VALIDATION" },
    { patch: { symbol: "AAA-BBB" }, senCode: "TRADING_UNKNOWN_SYMBOL" },
    { patch: { price: "-100" }, senCode: "VALIDATION" },
    { patch: { size: "0" }, senCode: "VALIDATION" },
    { patch: { size: "2000000" }, senCode: "RISK_MAX_ORDER_QTY" },
    { patch: { price: "99999900" } },
    { patch: { type: "market", funds: "100" }, senCode: "VALIDATION" },
    { patch: { postOnly: true, timeInForce: "IOC" }, senCode: "VALIDATION" },
    { patch: { price: 10_000 }, senCode: "VALIDATION" },
  ];

  /** A last trade, or both a bid and an ask: the collar has a reference price. */
  async function referenceExists(symbol: string): Promise<boolean> {
    const r = await rawRequest(gw.url, { method: "GET", path: `/api/v1/market/orderbook/level1?symbol=${symbol}` });
    const l1 = (r.json as { data: { price: string | null; bestBid: string | null; bestAsk: string | null } }).data;
    return l1.price !== null || (l1.bestBid !== null && l1.bestAsk !== null);
  }

  /**
   * Σ balances + fees = deposits per currency; holds = what the open orders still need; the
   * public book = the open orders' remaining sizes (the two traders are alone on the symbol).
   */
  async function invariants(traders: Trader[], deposit: Record<string, bigint>, feesCollected: bigint, takerFeeBps: number): Promise<void> {
    const total: Record<string, bigint> = { VND: feesCollected, RIVER: 0n };
    const levels = { bids: new Map<string, bigint>(), asks: new Map<string, bigint>() };
    for (const t of traders) {
      const b = await balances(t);
      for (const c of ["VND", "RIVER"]) {
        assert.doesNotMatch(b[c].available + b[c].holds, /-|\./, "whole, non-negative units");
        assert.equal(BigInt(b[c].balance), BigInt(b[c].available) + BigInt(b[c].holds));
        total[c] += BigInt(b[c].balance);
      }
      let sellNeed = 0n;
      let buyNeed = 0n;
      for (const o of await openOrders(t)) {
        const side = o.side === "buy" ? levels.bids : levels.asks;
        side.set(o.price, (side.get(o.price) ?? 0n) + BigInt(o.size) - BigInt(o.dealSize));
        if (o.side === "sell") sellNeed += BigInt(o.size) - BigInt(o.dealSize);
        else {
          const notional = BigInt(o.price) * BigInt(o.size);
          buyNeed += notional + (notional * BigInt(takerFeeBps) + 9_999n) / 10_000n - BigInt(o.dealFunds) - BigInt(o.fee);
        }
      }
      assert.equal(BigInt(b.RIVER.holds), sellNeed, "base hold = remaining size of open sells");
      assert.equal(BigInt(b.VND.holds), buyNeed, "quote hold = notional + taker fee of open buys, less what was paid");
    }
    assert.equal(total.VND, 2n * deposit.VND, "VND conserved");
    assert.equal(total.RIVER, 2n * deposit.RIVER, "RIVER conserved");
    const r = await rawRequest(gw.url, { method: "GET", path: "/api/v1/market/orderbook/level2_100?symbol=RIVER-VND" });
    const book = (r.json as { data: { bids: Array<[string, string]>; asks: Array<[string, string]> } }).data;
    const levelsOf = (m: Map<string, bigint>, descending: boolean) =>
      [...m].sort(([a], [b]) => ((BigInt(a) < BigInt(b)) === descending ? 1 : -1)).map(([p, q]) => [p, q.toString()]);
    assert.deepEqual({ bids: book.bids, asks: book.asks }, { bids: levelsOf(levels.bids, true), asks: levelsOf(levels.asks, false) }, "the book is the open orders");
  }
});
