/**
 * The EIP-712 typed-data definition of IdentityRegistry's Attestation (ATTESTATION_TYPEHASH in
 * IdentityRegistry.sol), for every TypeScript signer: the issuer, the contract tests and the
 * benchmarks. The field order is part of the hash: change it only together with the contract.
 */
export const ATTESTATION_TYPES = {
  Attestation: [
    { name: "identityHash", type: "bytes32" },
    { name: "wallet", type: "address" },
    { name: "kycLevel", type: "uint8" },
    { name: "country", type: "uint16" },
    { name: "investorType", type: "uint8" },
    { name: "expiresAt", type: "uint40" },
    { name: "issuer", type: "address" },
    { name: "identityVersion", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;
