import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { startChain, type ChainFixture } from "./support/chainFixture.ts";
import { expectRefusal, openExchange, type ExchangeFixture, type Trader } from "./support/exchangeFixture.ts";

/**
 * Self-trade prevention and iceberg orders through the signed REST API of the real gateway.
 * Self is the e-ID: two accounts (wallets) attested to one identity never trade with each
 * other. The taker's `stp` decides (KuCoin): CN cancels the newest (the taker), CO the
 * oldest (the resting order), CB both, DC decrements the larger by the smaller and cancels the
 * smaller. One exchange serves every test; each test uses new traders and starts from an empty book.
 */
const SYMBOL = "GOLD-VND";
const PRICE = "10000";

describe("self-trade prevention and iceberg orders through the signed REST API", () => {
  let chain: ChainFixture;
  let ex: ExchangeFixture;
  let twinNo = 0;

  before(async () => {
    chain = await startChain();
    ex = await openExchange(chain);
  });
  after(async () => {
    await ex?.close();
    await chain?.close();
  });

  /** Traders of the running test: their orders are cancelled after it, pass or fail. */
  let used: Trader[] = [];
  const trader = async (deposits: Record<string, bigint>, identity?: string) => {
    const t = await ex.trader(deposits, identity);
    used.push(t);
    return t;
  };
  beforeEach(async () => {
    assert.deepEqual(await ex.book(SYMBOL), { bids: [], asks: [] }, "the book is empty");
  });
  afterEach(async () => {
    for (const t of used) await ex.cancelAll(t);
    used = [];
  });

  const funded = { GOLD: 100n, VND: 10_000_000n };
  /** Two accounts of one person (one e-ID) and an unrelated trader. */
  async function twinsAndOther(): Promise<{ a: Trader; b: Trader; c: Trader }> {
    const identity = `twin-${++twinNo}`;
    return { a: await trader(funded, identity), b: await trader(funded, identity), c: await trader(funded) };
  }
  const sell = (size: number, more: Record<string, unknown> = {}) => ({ side: "sell", symbol: SYMBOL, price: PRICE, size: String(size), ...more });
  const buy = (size: number, more: Record<string, unknown> = {}) => ({ side: "buy", symbol: SYMBOL, price: PRICE, size: String(size), ...more });

  async function emptyBook(): Promise<void> {
    assert.deepEqual(await ex.book(SYMBOL), { bids: [], asks: [] }, "the book is empty");
  }
  /** [size, dealSize, isActive, remark] of an order. */
  async function status(t: Trader, id: string) {
    const o = await ex.order(t, id);
    return [o.size, o.dealSize, o.isActive, o.remark];
  }
  /** The twins never traded, with each other or anyone else. */
  async function noFills(...ts: Trader[]): Promise<void> {
    for (const t of ts) assert.deepEqual(await ex.fills(t, SYMBOL), [], `${t.accountId} has no fills`);
  }
  /** Holds and balances of one trader: [GOLD available, GOLD holds, VND available, VND holds]. */
  async function money(t: Trader) {
    const b = await ex.balances(t);
    return [b.GOLD.available, b.GOLD.holds, b.VND.available, b.VND.holds];
  }
  const untouched = ["100", "0", "10000000", "0"];

  it("two wallets attested under one label are two accounts of one e-ID; other identities trade normally", async () => {
    const { a, b, c } = await twinsAndOther();
    const [ia] = await chain.registry.read.identityOf([a.wallet]);
    const [ib] = await chain.registry.read.identityOf([b.wallet]);
    const [ic] = await chain.registry.read.identityOf([c.wallet]);
    assert.equal(ia, ib);
    assert.notEqual(ia, ic);
    assert.notEqual(a.accountId, b.accountId);
    // The control: without a shared identity the same two orders trade.
    const maker = await ex.placeOk(a, sell(2));
    await ex.placeOk(c, buy(2));
    assert.deepEqual(await status(a, maker), ["2", "2", false, null]);
    assert.deepEqual((await ex.fills(c, SYMBOL)).map((f) => [f.counterOrderId, f.size]), [[maker, "2"]]);
  });

  it("CN (and no stp at all): the incoming order is cancelled, the resting one is untouched", async () => {
    const { a, b } = await twinsAndOther();
    const resting = await ex.placeOk(a, sell(5, { stp: "CO" })); // the resting order's mode does not matter
    const explicit = await ex.placeOk(b, buy(3, { stp: "CN" }));
    const byDefault = await ex.placeOk(b, buy(3));
    const sameAccount = await ex.placeOk(a, buy(3, { stp: "CN" })); // one account is self too
    for (const [t, id] of [[b, explicit], [b, byDefault], [a, sameAccount]] as const) {
      assert.deepEqual(await status(t, id), ["3", "0", false, "ENGINE_STP_CANCEL_NEWEST"]);
      assert.equal((await ex.order(t, id)).cancelExist, true);
    }
    assert.deepEqual(await status(a, resting), ["5", "0", true, null]);
    assert.deepEqual(await ex.book(SYMBOL), { bids: [], asks: [[PRICE, "5"]] });
    await noFills(a, b);
    assert.deepEqual(await money(b), untouched, "the cancelled buys released their holds");
    assert.deepEqual(await money(a), ["95", "5", "10000000", "0"]);
  });

  it("CO: the resting order is cancelled and the incoming one goes on, trading with others", async () => {
    const { a, b, c } = await twinsAndOther();
    const oldest = await ex.placeOk(a, sell(5));
    const other = await ex.placeOk(c, sell(4)); // behind the twin's order at the same price
    const incoming = await ex.placeOk(b, buy(6, { stp: "CO" }));
    assert.deepEqual(await status(a, oldest), ["5", "0", false, "ENGINE_STP_CANCEL_OLDEST"]);
    assert.deepEqual(await status(c, other), ["4", "4", false, null]);
    assert.deepEqual(await status(b, incoming), ["6", "4", true, null]);
    assert.deepEqual((await ex.fills(b, SYMBOL)).map((f) => [f.counterOrderId, f.size, f.liquidity]), [[other, "4", "taker"]]);
    await noFills(a);
    assert.deepEqual(await ex.book(SYMBOL), { bids: [[PRICE, "2"]], asks: [] });
    assert.deepEqual(await money(a), untouched);
  });

  it("CB: both orders are cancelled; what the incoming order traded before the conflict stands", async () => {
    const { a, b, c } = await twinsAndOther();
    const other = await ex.placeOk(c, sell(2)); // ahead of the twin's order
    const resting = await ex.placeOk(a, sell(5));
    const behind = await ex.placeOk(c, sell(3));
    const incoming = await ex.placeOk(b, buy(6, { stp: "CB" }));
    assert.deepEqual(await status(c, other), ["2", "2", false, null]);
    assert.deepEqual(await status(b, incoming), ["6", "2", false, "ENGINE_STP_CANCEL_BOTH"]);
    assert.deepEqual(await status(a, resting), ["5", "0", false, "ENGINE_STP_CANCEL_BOTH"]);
    assert.deepEqual(await status(c, behind), ["3", "0", true, null]);
    assert.deepEqual((await ex.fills(b, SYMBOL)).map((f) => [f.counterOrderId, f.size]), [[other, "2"]]);
    await noFills(a);
    assert.deepEqual(await ex.book(SYMBOL), { bids: [], asks: [[PRICE, "3"]] });
    assert.deepEqual(await money(a), untouched);
    assert.deepEqual((await ex.balances(b)).VND.holds, "0");
  });

  it("DC, incoming smaller: it is cancelled and the resting order shrinks by its size (book, hold and later fills agree)", async () => {
    const { a, b, c } = await twinsAndOther();
    const resting = await ex.placeOk(a, sell(5));
    const incoming = await ex.placeOk(b, buy(3, { stp: "DC" }));
    assert.deepEqual(await status(b, incoming), ["3", "0", false, "ENGINE_STP_DECREMENT"]);
    assert.deepEqual(await ex.book(SYMBOL), { bids: [], asks: [[PRICE, "2"]] });
    assert.deepEqual(await status(a, resting), ["2", "0", true, null]);
    assert.deepEqual(await money(b), untouched);
    assert.deepEqual(await money(a), ["98", "2", "10000000", "0"], "the seller's hold is what is left on the book");
    await noFills(a, b);
    // Only the 2 left trade: a buyer of 5 gets 2 and rests 3.
    const taker = await ex.placeOk(c, buy(5));
    assert.deepEqual(await status(c, taker), ["5", "2", true, null]);
    assert.deepEqual(await status(a, resting), ["2", "2", false, null]);
    assert.deepEqual(await ex.book(SYMBOL), { bids: [[PRICE, "3"]], asks: [] });
    assert.deepEqual(await money(a), ["98", "0", "10019960", "0"], "sold 2 at 10,000 less the 0.1 % maker fee and the 0.1 % tax");
  });

  it("DC, incoming larger: the resting order is cancelled and the incoming one goes on with the difference", async () => {
    const { a, b } = await twinsAndOther();
    const resting = await ex.placeOk(a, sell(3));
    const incoming = await ex.placeOk(b, buy(5, { stp: "DC" }));
    assert.deepEqual(await status(a, resting), ["3", "0", false, "ENGINE_STP_DECREMENT"]);
    assert.deepEqual(await status(b, incoming), ["2", "0", true, null]);
    assert.deepEqual(await ex.book(SYMBOL), { bids: [[PRICE, "2"]], asks: [] });
    assert.deepEqual(await money(a), untouched);
    // 2 x 10,000 plus the 0.2 % taker fee is held for the 2 left.
    assert.deepEqual(await money(b), ["100", "0", "9979960", "20040"]);
    await noFills(a, b);
  });

  it("DC, equal sizes: both are cancelled", async () => {
    const { a, b } = await twinsAndOther();
    const resting = await ex.placeOk(a, sell(4));
    const incoming = await ex.placeOk(b, buy(4, { stp: "DC" }));
    assert.deepEqual(await status(a, resting), ["4", "0", false, "ENGINE_STP_DECREMENT"]);
    assert.deepEqual(await status(b, incoming), ["4", "0", false, "ENGINE_STP_DECREMENT"]);
    await emptyBook();
    await noFills(a, b);
    assert.deepEqual(await money(a), untouched);
    assert.deepEqual(await money(b), untouched);
  });

  it("DC against an iceberg: the hidden reserve is decremented first, the visible slice stays", async () => {
    const { a, b, c } = await twinsAndOther();
    const resting = await ex.placeOk(a, sell(10, { iceberg: true, visibleSize: "3" }));
    const incoming = await ex.placeOk(b, buy(4, { stp: "DC" }));
    assert.deepEqual(await status(b, incoming), ["4", "0", false, "ENGINE_STP_DECREMENT"]);
    assert.deepEqual(await status(a, resting), ["6", "0", true, null]);
    assert.deepEqual(await ex.book(SYMBOL), { bids: [], asks: [[PRICE, "3"]] });
    assert.deepEqual(await money(a), ["94", "6", "10000000", "0"]);
    await noFills(a, b);
    const taker = await ex.placeOk(c, buy(8));
    assert.deepEqual(await status(a, resting), ["6", "6", false, null]);
    assert.deepEqual((await ex.fills(c, SYMBOL)).map((f) => [f.counterOrderId, f.size]), [[resting, "3"], [resting, "3"]]);
    assert.deepEqual(await status(c, taker), ["8", "6", true, null]);
  });

  it("iceberg: the book shows one slice; a used-up slice is refilled at the back of its level; the whole size trades", async () => {
    const s = await trader({ GOLD: 10n });
    const t = await trader({ GOLD: 10n });
    const b = await trader({ VND: 10_000_000n });
    const ice = await ex.placeOk(s, sell(10, { iceberg: true, visibleSize: "3" }));
    const view = await ex.order(s, ice);
    assert.deepEqual([view.size, view.iceberg, view.visibleSize], ["10", true, "3"]);
    assert.deepEqual(await ex.book(SYMBOL), { bids: [], asks: [[PRICE, "3"]] });
    assert.deepEqual(await money(s), ["0", "10", "0", "0"], "the whole size is held");
    const plain = await ex.placeOk(t, sell(2)); // later, same price
    assert.deepEqual(await ex.book(SYMBOL), { bids: [], asks: [[PRICE, "5"]] });

    await ex.placeOk(b, buy(3)); // the first slice, which was first in time
    assert.deepEqual(await ex.book(SYMBOL), { bids: [], asks: [[PRICE, "5"]] }, "refilled: 2 + a new slice of 3");
    await ex.placeOk(b, buy(4)); // the refill queued behind the plain order: it trades first
    assert.deepEqual(await ex.book(SYMBOL), { bids: [], asks: [[PRICE, "1"]] });
    await ex.placeOk(b, buy(5)); // alone at its price, the iceberg refills within one taker
    await emptyBook();

    assert.deepEqual((await ex.fills(b, SYMBOL)).map((f) => [f.counterOrderId, f.size]), [
      [ice, "3"],
      [plain, "2"],
      [ice, "2"],
      [ice, "1"],
      [ice, "3"],
      [ice, "1"],
    ]);
    assert.deepEqual(await status(s, ice), ["10", "10", false, null]);
    assert.deepEqual(await money(s), ["0", "0", "99800", "0"], "sold 10 at 10,000 less the 0.1 % maker fee and the 0.1 % tax");
    assert.deepEqual(await money(b), ["12", "0", String(10_000_000 - 120_000 - 240), "0"]);
  });

  it("iceberg as the taker: trades its whole size against the book first, then rests showing one slice", async () => {
    const s = await trader({ GOLD: 20n });
    const b = await trader({ VND: 10_000_000n });
    const first = await ex.placeOk(s, sell(4));
    const ice = await ex.placeOk(b, buy(10, { iceberg: true, visibleSize: "3" }));
    assert.deepEqual(await status(s, first), ["4", "4", false, null]);
    assert.deepEqual(await ex.book(SYMBOL), { bids: [[PRICE, "3"]], asks: [] });
    // Held for the 6 left: 60,000 plus the 0.2 % taker fee on the whole order, less the fee paid.
    assert.deepEqual((await ex.balances(b)).VND.holds, String(100_200 - 40_080));
    await ex.placeOk(s, sell(8));
    assert.deepEqual(await status(b, ice), ["10", "10", false, null]);
    assert.deepEqual(await ex.book(SYMBOL), { bids: [], asks: [[PRICE, "2"]] });
    assert.deepEqual((await ex.fills(b, SYMBOL)).map((f) => [f.size, f.liquidity]), [["4", "taker"], ["3", "maker"], ["3", "maker"]]);
  });

  it("iceberg: refused without visibleSize, on a market order, with a slice larger than the order or with IOC; a cancel releases the hidden part too", async () => {
    const s = await trader({ GOLD: 10n });
    const param = { status: 400, code: "400100", senCode: "VALIDATION" };
    await ex.refused(s, sell(10, { iceberg: true }), { ...param, msg: /visibleSize/ });
    await ex.refused(s, { side: "sell", symbol: SYMBOL, type: "market", size: "10", iceberg: true, visibleSize: "3" }, param);
    // The engine refuses these after they are journaled: nothing is left held or open.
    for (const bad of [sell(10, { iceberg: true, visibleSize: "11" }), sell(10, { iceberg: true, visibleSize: "3", timeInForce: "IOC" })]) {
      expectRefusal(await ex.place(s, bad), { status: 400, code: "300000", senCode: "ENGINE_INVALID_ICEBERG" }, JSON.stringify(bad));
      assert.deepEqual(await money(s), ["10", "0", "0", "0"]);
      assert.deepEqual(await ex.openOrders(s), []);
    }
    const ice = await ex.placeOk(s, sell(10, { iceberg: true, visibleSize: "3" }));
    await ex.cancel(s, ice);
    assert.deepEqual(await money(s), ["10", "0", "0", "0"]);
    await emptyBook();
  });
});
