import { parseAbi, zeroHash, type Address, type PublicClient } from "viem";
import type { IdentityOracle } from "../auth/types.ts";

export const identityRegistryAbi = parseAbi([
  "function verifiedIdentityOf(address wallet) view returns (bytes32 identityHash, uint8 kycLevel, uint16 country, uint8 investorType)",
  "function isVerified(address wallet) view returns (bool)",
]);

/** Asks Sen's IdentityRegistry on chain whether a wallet holds a verified e-ID. */
export function createIdentityOracle(client: Pick<PublicClient, "readContract">, registry: Address): IdentityOracle {
  return {
    async verifiedIdentityOf(wallet) {
      const [identityHash] = await client.readContract({ address: registry, abi: identityRegistryAbi, functionName: "verifiedIdentityOf", args: [wallet] });
      return identityHash === zeroHash ? null : { identityHash };
    },
  };
}
