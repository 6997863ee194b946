import type { AppContext } from "../../context.ts";
import { SenError } from "../../errors/SenError.ts";
import type { RiskRejection } from "../../risk/types.ts";
import { inPilotWords, offeringRefusal } from "../../risk/pilotWording.ts";
import { toKucoinError } from "../errors.ts";
import { defineRoute, type Route } from "../route.ts";

/**
 * Sen's own route: which markets the caller may buy and sell, by the chain's holder rules
 * (e-ID validity until the settlement horizon, investor type, e-ID level, country, freezes,
 * pause, per-identity cap), so a trader learns it before an order is refused.
 */
export function eligibilityRoutes(ctx: AppContext): Route[] {
  const { trading, queries, catalog, format } = ctx;
  const refusal = (r: RiskRejection | null | undefined) => {
    if (!r) return null;
    return { senCode: r.code, code: toKucoinError(new SenError(r.code, r.message)).code, reason: r.message };
  };
  return [
    defineRoute({
      method: "get",
      path: "/api/v1/sen/eligibility",
      tag: "account",
      summary: "Per market: whether the caller may buy / sell under the tokens' on-chain holder rules, and the rule that refuses",
      auth: "signedOrSession",
      permission: "General",
      handler: ({ principal }) => {
        const rules = trading.holderRules;
        const now = ctx.now();
        const settleBy = new Date(now + ctx.config.settlementHorizonMs).toISOString();
        if (!rules) {
          // No chain behind this gateway: nothing settles on chain, so no holder rule applies.
          return { checked: false, settleBy, items: [...catalog.markets.keys()].map((symbol) => ({ symbol, canBuy: true, canSell: true, buyRefusal: null, sellRefusal: null, buyCapacity: null })) };
        }
        return {
          checked: true,
          settleBy,
          items: rules.eligibility(principal!.accountId, queries.riskView, now).map((e) => {
            // The pilot's words: the offering window first, then the holder rule of the asset's class.
            const listing = queries.listing(e.symbol);
            const closed = offeringRefusal(listing, now, ctx.pilot.rules);
            const words = (r: RiskRejection | undefined) => closed ?? inPilotWords(r ?? null, listing?.assetClass ?? catalog.market(e.symbol)?.assetClass, ctx.pilot.rules);
            const [buy, sell] = [words(e.buyRefusal), words(e.sellRefusal)];
            return {
              symbol: e.symbol,
              canBuy: e.canBuy && closed === null,
              canSell: e.canSell && closed === null,
              buyRefusal: refusal(buy),
              sellRefusal: refusal(sell),
              buyCapacity: e.buyCapacity === undefined ? null : format.amount(catalog.market(e.symbol)!.base, e.buyCapacity),
            };
          }),
        };
      },
    }),
  ];
}
