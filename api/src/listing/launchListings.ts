import { createHash } from "node:crypto";
import type { ListingInput } from "./listing.ts";

/**
 * The demo venue's launch listings, imported through the listing flow at start: a gold token
 * issued abroad (another crypto-asset, open to domestic and foreign investors) and a tokenised
 * interest in a Vietnamese real-estate project (foreign investors only). Their prospectuses were
 * published on the venue's pages on the stated date, more than 15 days before the offerings
 * opened; the deployment puts the same documents' SHA-256 in the tokens (AssetToken.documentHash).
 * Illustrative text: no real issuer, project or custodian.
 */
export const DEMO_PROSPECTUS = {
  GOLD: `SEN GOLD (GOLD) — PROSPECTUS (demo)
Issuer: Lotus Bullion Pte. Ltd., Singapore (registration 202612345K), an issuer outside Viet Nam.
Each GOLD token represents 1 gram of 999.9 fine gold held in allocated custody by Harbour Vault Services, Singapore.
Proof of backing: monthly bar list and auditor's attestation, published at ipfs://sen-demo/gold-custody-proof.pdf.
Redemption: holders of 1,000 tokens or more may redeem for physical gold through the issuer.
Risks: gold price risk; custody risk; this is a demonstration document.`,
  RIVER: `SAIGON RIVERSIDE RESIDENCES (RIVER) — PROSPECTUS (demo)
Issuer: Saigon Riverside Development JSC, Ho Chi Minh City, Viet Nam (enterprise code 0312345678).
Each RIVER token is a tokenised interest in the rental cash flows of the Saigon Riverside Residences project (Thu Duc City), held in trust by Lotus Trust Bank, Ho Chi Minh City.
Offered to foreign investors only, as Resolution 05/2025/NQ-CP requires for tokenised assets issued in Viet Nam.
Proof of backing: land use right certificate and trust deed references, published at ipfs://sen-demo/river-prospectus.pdf.
Risks: real-estate market risk; construction and rental risk; this is a demonstration document.`,
} as const;

/** 0x + SHA-256 of a prospectus text: the value its token holds on chain. */
export function prospectusHash(document: string): `0x${string}` {
  return `0x${createHash("sha256").update(document, "utf8").digest("hex")}`;
}

const PUBLISHED = Date.parse("2026-11-01T02:00:00Z");
const OPENED = "2026-11-20T02:00:00Z";

export function demoLaunchListings(tokens: { GOLD?: `0x${string}`; RIVER?: `0x${string}` }): Array<{ input: ListingInput; publishedAt: number; by: string }> {
  const market = { tickSize: 100, lotSize: 1, minQty: 1, maxQty: 1_000_000, bandBps: 500, makerFeeBps: 10, takerFeeBps: 20 };
  return [
    {
      publishedAt: PUBLISHED,
      by: "launch listings",
      input: {
        base: "GOLD",
        quote: "VND",
        name: "Sen Gold (1 g of gold vaulted abroad, issued outside Viet Nam)",
        assetClass: "crypto-asset",
        underlying: { type: "commodity", description: "1 g of 999.9 fine gold per token, allocated custody in Singapore" },
        issuer: { name: "Lotus Bullion Pte. Ltd.", country: 702, registration: "202612345K" },
        custodian: { name: "Harbour Vault Services, Singapore", proofOfBacking: "ipfs://sen-demo/gold-custody-proof.pdf" },
        token: tokens.GOLD,
        decimals: 0,
        prospectus: { uri: "ipfs://sen-demo/gold-custody-proof.pdf", document: DEMO_PROSPECTUS.GOLD },
        offeringOpensAt: OPENED,
        market: { ...market, referencePrice: 10_000 },
      },
    },
    {
      publishedAt: PUBLISHED,
      by: "launch listings",
      input: {
        base: "RIVER",
        quote: "VND",
        name: "Saigon Riverside Residences (tokenised project interest)",
        assetClass: "vn-tokenised-real-asset",
        underlying: { type: "real-estate", description: "rental cash flows of the Saigon Riverside Residences project, Thu Duc City" },
        issuer: { name: "Saigon Riverside Development JSC", country: 704, registration: "0312345678" },
        custodian: { name: "Lotus Trust Bank, Ho Chi Minh City", proofOfBacking: "land use right certificate and trust deed, ipfs://sen-demo/river-prospectus.pdf" },
        token: tokens.RIVER,
        decimals: 0,
        prospectus: { uri: "ipfs://sen-demo/river-prospectus.pdf", document: DEMO_PROSPECTUS.RIVER },
        offeringOpensAt: OPENED,
        market: { ...market, referencePrice: 10_000 },
      },
    },
  ];
}
