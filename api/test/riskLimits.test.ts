import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { defaultCatalog, MarketCatalog } from "../src/markets/marketCatalog.ts";
import { startChain, type ChainFixture } from "./support/chainFixture.ts";
import { openExchange, type ExchangeFixture } from "./support/exchangeFixture.ts";

/**
 * Lot and minimum size, and what the price collar measures from, through the signed REST API
 * of the real gateway. Each test opens its own exchange so "no trade yet" and "empty book"
 * are true by construction.
 */
describe("size rules and the price collar's reference through the signed REST API", () => {
  let chain: ChainFixture;
  before(async () => {
    chain = await startChain();
  });
  after(async () => {
    await chain?.close();
  });

  async function withExchange(run: (ex: ExchangeFixture) => Promise<void>, catalog?: MarketCatalog): Promise<void> {
    // Foreign investors: the collar tests trade RIVER, theirs alone under NQ05-FOREIGN-ONLY.
    const ex = await openExchange(chain, { catalog, traderCountry: 702 });
    try {
      await run(ex);
    } finally {
      await ex.close();
    }
  }

  /** The launch listing, except that GOLD trades in lots of 10 with a minimum order of 50. */
  function coarseGoldCatalog(): MarketCatalog {
    const d = chain.deployment.contracts;
    const listing = defaultCatalog({ VND: d.CashToken, GOLD: d.GoldToken, RIVER: d.RiverToken });
    const markets = [...listing.markets.values()].map((m) => (m.symbol === "GOLD-VND" ? { ...m, lotSize: 10, minQty: 50 } : m));
    return new MarketCatalog([...listing.currencies.values()], markets);
  }

  it("lot size: a size that is not a whole number of lots is refused (RISK_SIZE_NOT_ON_LOT), limit and market alike", () =>
    withExchange(async (ex) => {
      const t = await ex.trader({ VND: 10_000_000n, GOLD: 1_000n });
      const lot = { status: 400, code: "300000", senCode: "RISK_SIZE_NOT_ON_LOT", msg: /^Order refused: size must be a multiple of 10$/ };
      await ex.refused(t, { side: "buy", symbol: "GOLD-VND", price: "1000", size: "55" }, lot);
      await ex.refused(t, { side: "sell", symbol: "GOLD-VND", price: "1000", size: "101" }, lot);
      await ex.refused(t, { side: "sell", symbol: "GOLD-VND", type: "market", size: "55" }, lot);
      // Off the lot and below the minimum: the lot rule is the one named.
      await ex.refused(t, { side: "buy", symbol: "GOLD-VND", price: "1000", size: "45" }, lot);
      // Without the funds either: size rules come before the balance check.
      const poor = await ex.trader();
      await ex.refused(poor, { side: "buy", symbol: "GOLD-VND", price: "1000", size: "55" }, lot);

      const id = await ex.placeOk(t, { side: "buy", symbol: "GOLD-VND", price: "1000", size: "60" });
      await ex.placeOk(t, { side: "buy", symbol: "RIVER-VND", price: "1000", size: "55" }); // RIVER keeps lots of 1
      assert.deepEqual((await ex.book("GOLD-VND")).bids, [["1000", "60"]]);
      assert.equal((await ex.order(t, id)).size, "60");
    }, coarseGoldCatalog()));

  it("minimum size: a whole number of lots below the market's minimum is refused (RISK_SIZE_BELOW_MIN)", () =>
    withExchange(async (ex) => {
      const t = await ex.trader({ VND: 10_000_000n, GOLD: 1_000n });
      const min = { status: 400, code: "300000", senCode: "RISK_SIZE_BELOW_MIN", msg: /^Order refused: size below the minimum 50$/ };
      await ex.refused(t, { side: "buy", symbol: "GOLD-VND", price: "1000", size: "40" }, min);
      await ex.refused(t, { side: "sell", symbol: "GOLD-VND", price: "1000", size: "10" }, min);
      await ex.refused(t, { side: "sell", symbol: "GOLD-VND", type: "market", size: "40" }, min);
      await ex.refused(await ex.trader(), { side: "buy", symbol: "GOLD-VND", price: "1000", size: "40" }, min);
      // Exactly the minimum is an order.
      await ex.placeOk(t, { side: "sell", symbol: "GOLD-VND", price: "2000", size: "50" });
      assert.deepEqual((await ex.book("GOLD-VND")).asks, [["2000", "50"]]);
      assert.equal((await ex.balances(t)).GOLD.holds, "50");
    }, coarseGoldCatalog()));

  it("price collar before the first trade: measured from the mid of the best bid and ask, not from either side", () =>
    withExchange(async (ex) => {
      const s = await ex.trader({ RIVER: 100n });
      const b = await ex.trader({ VND: 100_000_000n });
      await ex.placeOk(b, { side: "buy", symbol: "RIVER-VND", price: "9000", size: "1" });
      await ex.placeOk(s, { side: "sell", symbol: "RIVER-VND", price: "13000", size: "1" });
      assert.equal(await ex.lastPrice("RIVER-VND"), null, "no trade yet");
      // mid = 11,000; 10 % of it is 1,100, so limit prices 9,900..12,100 pass.
      const collar = { status: 400, code: "300000", senCode: "RISK_PRICE_COLLAR", msg: /more than 1000 bps from the reference price 11000$/ };
      await ex.refused(b, { side: "buy", symbol: "RIVER-VND", price: "9800", size: "1" }, collar); // 8.9 % above the best bid
      await ex.refused(s, { side: "sell", symbol: "RIVER-VND", price: "12200", size: "1" }, collar); // 6.2 % below the best ask
      await ex.refused(s, { side: "sell", symbol: "RIVER-VND", price: "9800", size: "1" }, collar); // either side of the mid
      await ex.placeOk(b, { side: "buy", symbol: "RIVER-VND", price: "9900", size: "1" });
      await ex.placeOk(s, { side: "sell", symbol: "RIVER-VND", price: "12100", size: "1" });
      assert.deepEqual(await ex.book("RIVER-VND"), { bids: [["9900", "1"], ["9000", "1"]], asks: [["12100", "1"], ["13000", "1"]] });

      // The first trade (12,100) becomes the reference, although the book's mid is now 11,450.
      await ex.placeOk(b, { side: "buy", symbol: "RIVER-VND", price: "12100", size: "1" });
      assert.equal(await ex.lastPrice("RIVER-VND"), "12100");
      assert.deepEqual(await ex.book("RIVER-VND"), { bids: [["9900", "1"], ["9000", "1"]], asks: [["13000", "1"]] });
      const fromLast = { ...collar, msg: /more than 1000 bps from the reference price 12100$/ };
      await ex.refused(b, { side: "buy", symbol: "RIVER-VND", price: "10800", size: "1" }, fromLast); // 5.7 % from the mid, 10.7 % from the last trade
      await ex.placeOk(s, { side: "sell", symbol: "RIVER-VND", price: "13300", size: "1" }); // 16 % from the mid, 9.9 % from the last trade
      await ex.placeOk(b, { side: "buy", symbol: "RIVER-VND", price: "10900", size: "1" });
    }));

  it("no reference price (empty or one-sided book, no trade yet): no collar applies, so the first trade can set the reference anywhere", () =>
    withExchange(async (ex) => {
      // The rule code RISK_NO_REFERENCE_PRICE exists but nothing raises it: with nothing to
      // measure from, the collar is skipped. Pinned here so that changing it is a decision (issue 11).
      const s = await ex.trader({ RIVER: 100n, GOLD: 100n });
      const b = await ex.trader({ VND: 100_000_000n });
      const far = await ex.placeOk(b, { side: "buy", symbol: "RIVER-VND", price: "1000000", size: "1" }); // 100x the other prices here
      assert.deepEqual(await ex.book("RIVER-VND"), { bids: [["1000000", "1"]], asks: [] });
      // A one-sided book has no mid either: a sell 99.99 % below the only bid is accepted and trades at the bid.
      await ex.placeOk(s, { side: "sell", symbol: "RIVER-VND", price: "100", size: "1" });
      assert.equal((await ex.order(b, far)).dealSize, "1");
      assert.deepEqual((await ex.fills(s, "RIVER-VND")).map((f) => [f.price, f.size, f.liquidity]), [["1000000", "1", "taker"]]);
      assert.equal(await ex.lastPrice("RIVER-VND"), "1000000");
      // From now on that trade is the reference: orders at the earlier prices are refused.
      const collar = { status: 400, code: "300000", senCode: "RISK_PRICE_COLLAR", msg: /reference price 1000000$/ };
      await ex.refused(s, { side: "sell", symbol: "RIVER-VND", price: "10000", size: "1" }, collar);
      await ex.refused(b, { side: "buy", symbol: "RIVER-VND", price: "10000", size: "1" }, collar);
      // The other symbol never traded: still no reference there.
      await ex.placeOk(b, { side: "buy", symbol: "GOLD-VND", price: "100", size: "1" });
      await ex.placeOk(s, { side: "sell", symbol: "GOLD-VND", price: "5000000", size: "1" });
      // ...until both sides are quoted: then the mid (2,500,050) is the reference.
      await ex.refused(b, { side: "buy", symbol: "GOLD-VND", price: "200", size: "1" }, { ...collar, msg: /reference price 2500050$/ });
    }));
});
