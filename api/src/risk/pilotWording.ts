import type { PilotRules } from "../listing/pilotRules.ts";
import { RiskCode, type RiskRejection } from "./types.ts";

/**
 * A holder-rule refusal said as the pilot rule it enforces: the token's country rule is the
 * holder rule of the asset's class (NQ05-FOREIGN-ONLY for tokenised assets issued in Viet Nam),
 * so the trader reads the rule's id and text before the chain's own wording.
 */
export function inPilotWords(refusal: RiskRejection | null, assetClass: string | undefined, pilot: PilotRules | undefined): RiskRejection | null {
  if (refusal?.code !== RiskCode.HOLDER_COUNTRY || assetClass === undefined) return refusal;
  const holders = pilot?.assetClasses[assetClass]?.holders;
  return holders ? { code: refusal.code, message: `${holders.ruleId}: ${holders.text} (${refusal.message})` } : refusal;
}

/** The offering window: null once the listing's offering is open (or for a market without a listing). */
export function offeringRefusal(listing: { base: string; offeringOpensAt: number; prospectus: { publishedAt: number } } | undefined, now: number, pilot: PilotRules | undefined): RiskRejection | null {
  if (!listing || now >= listing.offeringOpensAt) return null;
  const rule = pilot?.listing.offeringWindow;
  return {
    code: RiskCode.OFFERING_NOT_OPEN,
    message: `${rule ? `${rule.ruleId}: ${rule.text}; ` : ""}the offering of ${listing.base} opens at ${new Date(listing.offeringOpensAt).toISOString()} (prospectus published ${new Date(listing.prospectus.publishedAt).toISOString()})`,
  };
}
