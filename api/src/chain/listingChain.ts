import { parseAbi, type PublicClient } from "viem";
import type { ListingChain } from "../listing/listingService.ts";

const VAULT = parseAbi(["function isListed(address token) view returns (bool)"]);
const TOKEN = parseAbi([
  "struct TransferRules { bool paused; uint8 minKycLevel; uint8 investorTypeMask; uint8 countryRule; uint128 maxBalancePerIdentity; }",
  "function transferRules() view returns (TransferRules)",
  "function isCountryListed(uint16 country) view returns (bool)",
  "function documentHash() view returns (bytes32)",
  "function decimals() view returns (uint8)",
]);

/** PermissionedToken's country rule values. */
const COUNTRY_RULE = { any: 0, allow: 1, block: 2 } as const;

/**
 * The listing flow's look at the chain: the token must be listed in the vault, hold the
 * prospectus's hash, have the decimals the market is built on, and enforce the asset class's
 * holder rule itself (the gateway checks orders against the token's rule, never a copy).
 */
export function createListingChain(client: PublicClient, vault: `0x${string}`): ListingChain {
  return {
    async mismatch(token, expected) {
      const read = <T>(functionName: "transferRules" | "documentHash" | "decimals", args: readonly unknown[] = []) =>
        client.readContract({ address: token, abi: TOKEN, functionName, args } as never) as Promise<T>;
      if (!(await client.readContract({ address: vault, abi: VAULT, functionName: "isListed", args: [token] }))) {
        return `the settlement vault does not list token ${token} (governance lists it with setAssetListed)`;
      }
      const hash = (await read<string>("documentHash")).toLowerCase();
      if (hash !== expected.documentHash) return `the token holds document hash ${hash}, not the prospectus's SHA-256 ${expected.documentHash}`;
      const decimals = await read<number>("decimals");
      if (decimals !== expected.decimals) return `the token has ${decimals} decimals, the application says ${expected.decimals}`;
      const rules = await read<{ countryRule: number }>("transferRules");
      const wanted = COUNTRY_RULE[expected.holders.countryRule];
      if (rules.countryRule !== wanted) {
        return `the token's country rule is ${rules.countryRule}, the asset class needs ${wanted} (${expected.holders.countryRule}) to enforce ${expected.holders.ruleId} on chain`;
      }
      for (const country of expected.holders.countries) {
        const listed = await client.readContract({ address: token, abi: TOKEN, functionName: "isCountryListed", args: [country] });
        if (!listed) return `the token's country list lacks ${country}, so it does not enforce ${expected.holders.ruleId} on chain`;
      }
      return null;
    },
    async documentHash(token) {
      return (await client.readContract({ address: token, abi: TOKEN, functionName: "documentHash" })).toLowerCase() as `0x${string}`;
    },
  };
}
