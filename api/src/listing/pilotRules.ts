import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { z } from "zod/v4";
import { ConfigCode, ConfigError } from "../config/errors.ts";

/**
 * The rules of Viet Nam's crypto-asset pilot (Resolution 05/2025/NQ-CP) as Sen applies them,
 * as data: what may be listed, who may hold each class of asset, how long a prospectus is
 * public before its offering opens, and the tax withheld from sales. They are the shipped
 * default; a change of the law is a new rule file (SEN_PILOT_RULES), validated at start and
 * recorded in the audit trail with its hash (`rules.loaded`). Who may hold a token is enforced
 * by the token on chain; the class's holder rule here says what that on-chain rule must be
 * (checked when an asset is listed) and names it in words when it refuses an order.
 */

/** ISO 3166-1 numeric code of Viet Nam, as e-ID attestations carry it. */
export const VIET_NAM = 704;

export const UNDERLYING_TYPES = [
  "real-estate",
  "commodity",
  "receivables",
  "infrastructure-cash-flows",
  "other-real-asset",
  "crypto-asset",
  "securities",
  "fiat",
] as const;
export type UnderlyingType = (typeof UNDERLYING_TYPES)[number];

const ruleText = z.object({ ruleId: z.string().regex(/^[A-Z0-9][A-Z0-9.-]{2,40}$/), text: z.string().min(10).max(500) }).strict();

const holderRule = ruleText.extend({
  /** The token's on-chain country rule this class requires: any country, or all but `countries`. */
  countryRule: z.enum(["any", "block"]),
  countries: z.array(z.number().int().min(1).max(999)).max(300),
});

const assetClass = z
  .object({
    label: z.string().min(3).max(120),
    /** When set, the issuer must be registered in this country (a Vietnamese enterprise). */
    issuerCountry: z.number().int().min(1).max(999).optional(),
    holders: holderRule,
  })
  .strict();

export const pilotRulesSchema = z
  .object({
    version: z.string().min(1).max(60),
    source: z.string().min(10).max(500),
    listing: z
      .object({
        refusedUnderlyings: ruleText.extend({ types: z.array(z.enum(UNDERLYING_TYPES)).min(1) }),
        issuerCountry: ruleText,
        prospectus: ruleText.extend({ leadDays: z.number().int().min(0).max(365) }),
        offeringWindow: ruleText,
      })
      .strict(),
    assetClasses: z.record(z.string().regex(/^[a-z][a-z0-9-]{2,40}$/), assetClass).refine((c) => Object.keys(c).length > 0, "at least one asset class"),
    tax: ruleText.extend({ rateBps: z.number().int().min(0).max(1_000) }),
  })
  .strict();

export type PilotRules = z.infer<typeof pilotRulesSchema>;
export type AssetClassRules = PilotRules["assetClasses"][string];

/** The pilot as Sen reads Resolution 05/2025/NQ-CP; the default until a rule file replaces it. */
export const PILOT_RULES: PilotRules = {
  version: "NQ05-2025-pilot.1",
  source: "Resolution 05/2025/NQ-CP of the Government of Viet Nam on the pilot of the crypto-asset market (2025)",
  listing: {
    refusedUnderlyings: {
      ruleId: "NQ05-UNDERLYING",
      text: "a crypto-asset offered in the pilot must be backed by a real asset; securities and fiat currency are not admitted as underlying assets",
      types: ["securities", "fiat"],
    },
    issuerCountry: {
      ruleId: "NQ05-ISSUER-VN",
      text: "a tokenised real asset issued in Viet Nam is issued by an enterprise established in Viet Nam",
    },
    prospectus: {
      ruleId: "NQ05-PROSPECTUS-15D",
      text: "the offering prospectus is published on the venue's own pages at least 15 days before the offering opens",
      leadDays: 15,
    },
    offeringWindow: {
      ruleId: "NQ05-OFFERING-WINDOW",
      text: "an asset cannot be traded before its offering opens",
    },
  },
  assetClasses: {
    "vn-tokenised-real-asset": {
      label: "Tokenised real asset issued in Viet Nam",
      issuerCountry: VIET_NAM,
      holders: {
        ruleId: "NQ05-FOREIGN-ONLY",
        text: "tokenised assets issued in Viet Nam are offered to and traded among foreign investors only; an e-ID of Vietnamese nationality may not receive them",
        countryRule: "block",
        countries: [VIET_NAM],
      },
    },
    "crypto-asset": {
      label: "Other crypto-asset",
      holders: {
        ruleId: "NQ05-OPEN-TO-VERIFIED",
        text: "other crypto-assets may be traded by domestic investors who deposit them and by foreign investors, all with a verified e-ID",
        countryRule: "any",
        countries: [],
      },
    },
  },
  tax: {
    ruleId: "PIT-SALE-0.1",
    text: "personal income tax is withheld on each sale as for a securities transfer: 0.1% of the sale value, in đồng, rounded down per trade",
    rateBps: 10,
  },
};

/** The rule set in force and its fingerprint (the audit trail records which rules applied). */
export type LoadedPilotRules = { rules: PilotRules; sha256: string; file?: string };

/** The shipped rules, or the file's (validated in full before anything else starts). */
export function loadPilotRules(file?: string): LoadedPilotRules {
  if (!file) return { rules: PILOT_RULES, sha256: sha256(JSON.stringify(PILOT_RULES)) };
  let raw: string;
  try {
    raw = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(ConfigCode.INVALID, `SEN_PILOT_RULES: cannot read ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError(ConfigCode.INVALID, `SEN_PILOT_RULES: ${file} is not JSON: ${(err as Error).message}`);
  }
  const parsed = pilotRulesSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(ConfigCode.INVALID, `SEN_PILOT_RULES: ${file}: ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`);
  }
  return { rules: parsed.data, sha256: sha256(raw), file };
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
