import { z } from "zod/v4";
import type { Currency, Market } from "../markets/types.ts";
import { UNDERLYING_TYPES, type PilotRules, type UnderlyingType } from "./pilotRules.ts";

const DAY_MS = 86_400_000;

/**
 * An asset as listed through the operator flow: who issued it, what backs it, where its
 * prospectus is, when its offering opens and how its market trades. Journaled (a `listing`
 * record), so the market exists from the same point in every replay; the prospectus document
 * itself is kept content-addressed beside the journal and served on Sen's own pages.
 */
export type Listing = {
  /** Market symbol, BASE-QUOTE. */
  symbol: string;
  base: string;
  quote: string;
  name: string;
  assetClass: string;
  underlying: { type: UnderlyingType; description: string };
  issuer: { name: string; country: number; registration: string };
  custodian: { name: string; proofOfBacking: string };
  token?: `0x${string}`;
  decimals: number;
  /** `hash`: 0x + SHA-256 of the document, the value the token holds on chain (AssetToken.documentHash). */
  prospectus: { hash: `0x${string}`; uri: string; publishedAt: number };
  /** Epoch ms: no order in the market is accepted before. */
  offeringOpensAt: number;
  market: { tickSize: number; lotSize: number; minQty: number; maxQty: number; bandBps: number; makerFeeBps: number; takerFeeBps: number; referencePrice?: number };
  listedBy: string;
};

const positiveInt = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const text = (max: number) => z.string().trim().min(2).max(max);

/** What an operator submits (POST /api/v1/sen/operator/listings). */
export const listingInputSchema = z
  .object({
    base: z.string().regex(/^[A-Z][A-Z0-9]{1,9}$/, "2 to 10 capital letters or digits"),
    quote: z.literal("VND").default("VND"),
    name: text(120),
    assetClass: z.string().regex(/^[a-z][a-z0-9-]{2,40}$/),
    underlying: z.object({ type: z.enum(UNDERLYING_TYPES), description: text(500) }).strict(),
    issuer: z.object({ name: text(200), country: z.number().int().min(1).max(999), registration: text(100) }).strict(),
    custodian: z.object({ name: text(200), proofOfBacking: text(300) }).strict(),
    token: z.string().regex(/^0x[0-9a-fA-F]{40}$/, "a token address").transform((a) => a as `0x${string}`).optional(),
    decimals: z.number().int().min(0).max(18),
    prospectus: z.object({ uri: text(300), document: z.string().min(100, "the prospectus document itself (at least 100 characters)").max(60_000) }).strict(),
    offeringOpensAt: z.iso.datetime({ offset: false }),
    market: z
      .object({
        tickSize: positiveInt,
        lotSize: positiveInt,
        minQty: positiveInt,
        maxQty: positiveInt,
        bandBps: z.number().int().min(1).max(10_000).default(500),
        makerFeeBps: z.number().int().min(0).max(100).default(10),
        takerFeeBps: z.number().int().min(0).max(100).default(20),
        /** The offering price: the collar's reference until the first trade. */
        referencePrice: positiveInt.optional(),
      })
      .strict(),
  })
  .strict();
export type ListingInput = z.infer<typeof listingInputSchema>;

/** A refusal names the pilot rule (its id) and says it in words. */
export type ListingRefusal = { ruleId: string; message: string };

/**
 * The pilot's listing rules on an application, from the application alone: the underlying is
 * admitted, a Vietnamese tokenised asset has a Vietnamese issuer, and the prospectus is public
 * long enough before the offering opens. `publishedAt` is when Sen publishes the prospectus
 * (the listing's own time for a listing made through the API).
 */
export function listingRefusal(input: ListingInput, rules: PilotRules, publishedAt: number): ListingRefusal | null {
  const l = rules.listing;
  const cls = rules.assetClasses[input.assetClass];
  if (!cls) return { ruleId: "LISTING-ASSET-CLASS", message: `unknown asset class ${input.assetClass}; the rules know ${Object.keys(rules.assetClasses).join(", ")}` };
  if (l.refusedUnderlyings.types.includes(input.underlying.type)) {
    return { ruleId: l.refusedUnderlyings.ruleId, message: `${l.refusedUnderlyings.ruleId}: ${l.refusedUnderlyings.text} (this application's underlying: ${input.underlying.type})` };
  }
  if (cls.issuerCountry !== undefined && input.issuer.country !== cls.issuerCountry) {
    return { ruleId: l.issuerCountry.ruleId, message: `${l.issuerCountry.ruleId}: ${l.issuerCountry.text} (issuer's country: ${input.issuer.country})` };
  }
  const opens = Date.parse(input.offeringOpensAt);
  const earliest = publishedAt + l.prospectus.leadDays * DAY_MS;
  if (opens < earliest) {
    return {
      ruleId: l.prospectus.ruleId,
      message: `${l.prospectus.ruleId}: ${l.prospectus.text}; published ${new Date(publishedAt).toISOString()}, the offering may open at ${new Date(earliest).toISOString()} at the earliest`,
    };
  }
  return null;
}

/** The listing as it is journaled, once the rules admit it. */
export function toListing(input: ListingInput, hash: `0x${string}`, publishedAt: number, listedBy: string): Listing {
  return {
    symbol: `${input.base}-${input.quote}`,
    base: input.base,
    quote: input.quote,
    name: input.name,
    assetClass: input.assetClass,
    underlying: input.underlying,
    issuer: input.issuer,
    custodian: input.custodian,
    token: input.token,
    decimals: input.decimals,
    prospectus: { hash, uri: input.prospectus.uri, publishedAt },
    offeringOpensAt: Date.parse(input.offeringOpensAt),
    market: { ...input.market },
    listedBy,
  };
}

/** The catalog entries a listing adds. */
export function catalogEntries(l: Listing): { currency: Currency; market: Market } {
  return {
    currency: { currency: l.base, fullName: l.name, decimals: l.decimals, token: l.token },
    market: {
      symbol: l.symbol,
      name: l.symbol,
      base: l.base,
      quote: l.quote,
      tickSize: l.market.tickSize,
      lotSize: l.market.lotSize,
      minQty: l.market.minQty,
      maxQty: l.market.maxQty,
      bandBps: l.market.bandBps,
      makerFeeBps: l.market.makerFeeBps,
      takerFeeBps: l.market.takerFeeBps,
      assetClass: l.assetClass,
    },
  };
}
