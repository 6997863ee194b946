import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../fs/writeFileAtomic.ts";
import path from "node:path";
import { SenError } from "../errors/SenError.ts";
import type { MarketCatalog } from "../markets/marketCatalog.ts";
import { catalogEntries, listingRefusal, toListing, type Listing, type ListingInput } from "./listing.ts";
import type { AssetClassRules, LoadedPilotRules } from "./pilotRules.ts";

export const ListingCode = {
  /** The pilot's rules refuse the application (`details.ruleId` names the rule). */
  RULE: "LISTING_RULE",
  /** The token on chain does not carry what the application says (hash, decimals, holder rule, vault listing). */
  CHAIN: "LISTING_CHAIN",
} as const;

export class ListingError extends SenError {
  override name = "ListingError" as const;
}

/** What the chain says about a token, for checking a listing against it (chain/listingChain.ts). */
export interface ListingChain {
  /** Null when the token carries what the listing says and its holder rule is the class's; otherwise why not. */
  mismatch(token: `0x${string}`, expected: { documentHash: `0x${string}`; decimals: number; holders: AssetClassRules["holders"] }): Promise<string | null>;
  /** The document hash the token holds now (the prospectus page shows it beside Sen's copy). */
  documentHash(token: `0x${string}`): Promise<`0x${string}`>;
}

/**
 * The audit event a refused application leaves. The listing flow sits below the sequencer and
 * the audit trail, so it names the shapes it hands them (the wiring passes TradingService, the
 * query port and the audit trail's `record`, and tsc holds each against these).
 */
export type ListingRefusedEvent = { type: "listing.refused"; symbol: string; actor: string; ruleId: string; reason: string; detail: Record<string, unknown> };

export type ListingServiceOptions = {
  /** Journals the listing (TradingService.list): the market exists from that record on. */
  trading: { list: (listing: Listing) => Promise<void> };
  queries: { readonly catalog: Pick<MarketCatalog, "market" | "check"> };
  pilot: LoadedPilotRules;
  /** Where prospectus documents are kept, by their SHA-256. */
  dir: string;
  chain?: ListingChain;
  now: () => number;
  record: (e: ListingRefusedEvent) => void;
};

/**
 * The operator's listing flow: the application is checked against the pilot's rules, then
 * against the token on chain, the prospectus document is stored durably, and only then is the
 * listing journaled (the market exists from that record on). Every refusal is audited.
 */
export class ListingService {
  readonly #o: ListingServiceOptions;

  constructor(options: ListingServiceOptions) {
    this.#o = options;
    mkdirSync(options.dir, { recursive: true });
  }

  get pilot(): LoadedPilotRules {
    return this.#o.pilot;
  }

  /**
   * Lists an asset. `publishedAt` is when the prospectus became public on Sen's pages: now for a
   * listing made through the API; a listing imported at start (the venue's launch listings)
   * states it, and the same rules apply to it.
   */
  async list(input: ListingInput, by: string, publishedAt?: number): Promise<Listing> {
    const { trading, queries, pilot, chain } = this.#o;
    const at = publishedAt ?? this.#o.now();
    const symbol = `${input.base}-${input.quote}`;
    const refuse = (code: string, ruleId: string, message: string): never => {
      this.#o.record({ type: "listing.refused", symbol, actor: by, ruleId, reason: message, detail: { assetClass: input.assetClass, underlying: input.underlying.type, issuer: input.issuer.name } });
      throw new ListingError(code, message, { details: { ruleId } });
    };
    const refusal = listingRefusal(input, pilot.rules, at);
    if (refusal) refuse(ListingCode.RULE, refusal.ruleId, refusal.message);
    const hash = `0x${createHash("sha256").update(input.prospectus.document, "utf8").digest("hex")}` as const;
    const listing = toListing(input, hash, at, by);
    const { currency, market } = catalogEntries(listing);
    const bad = queries.catalog.market(symbol) ? `market ${symbol} exists` : queries.catalog.check(currency, market);
    if (bad) refuse(ListingCode.RULE, "LISTING-MARKET", bad);
    if (chain) {
      if (!input.token) refuse(ListingCode.CHAIN, "LISTING-TOKEN", "a listing on a chain names its token");
      const holders = pilot.rules.assetClasses[input.assetClass]!.holders;
      const mismatch = await chain.mismatch(input.token!, { documentHash: hash, decimals: input.decimals, holders });
      if (mismatch) refuse(ListingCode.CHAIN, holders.ruleId, mismatch);
    }
    this.#storeDocument(hash, input.prospectus.document);
    await trading.list(listing);
    return listing;
  }

  /** Sen's copy of a prospectus, by its hash. */
  document(hash: string): string | undefined {
    if (!/^0x[0-9a-f]{64}$/.test(hash)) return undefined;
    const file = path.join(this.#o.dir, `${hash.slice(2)}.txt`);
    return existsSync(file) ? readFileSync(file, "utf8") : undefined;
  }

  /** The hash the listed token holds on chain now, when there is a chain. */
  async onChainHash(listing: Listing): Promise<`0x${string}` | undefined> {
    if (!this.#o.chain || !listing.token) return undefined;
    return this.#o.chain.documentHash(listing.token);
  }

  /** Written and synced before the listing is journaled: a listed prospectus is never missing. */
  #storeDocument(hash: string, document: string): void {
    const file = path.join(this.#o.dir, `${hash.slice(2)}.txt`);
    if (existsSync(file)) return;
    writeFileAtomic(file, document, String(process.pid), 0o644);
  }
}
