/**
 * The e-KYC issuer service's vocabulary (issue #15). The service is run by a trusted issuer
 * organisation, apart from the exchange: it takes applications from people with their own
 * wallets, verifies their level-2 e-ID (Decree 69/2024) through a provider, lets issuer officers
 * review them, and issues EIP-712 attestations (IdentityRegistry.attestBySig). Personal data
 * stays off chain, encrypted; only the salted identity hash and attributes go on chain.
 *
 * The modules: idNumber.ts (the 12-digit personal identification number), application.ts (the
 * applicant's submission, zod), piiVault.ts (authenticated encryption with key rotation),
 * store.ts (node:sqlite, versioned migrations), provider.ts (the verification port and the
 * development provider), service.ts (the rules of the flow), chain.ts (signing and relaying),
 * http.ts + main.ts (the process), pages/ (onboarding and officer queue).
 */
import type { Address, Hex } from "viem";

export type Sex = "male" | "female";
export type InvestorType = "retail" | "professional" | "institutional";
/** IdentityRegistry's investor type codes. */
export const INVESTOR_TYPE_CODE: Record<InvestorType, number> = { retail: 1, professional: 2, institutional: 3 };

/** What an applicant submits (validated by application.ts). Personal data: never logged. */
export type ApplicationInput = {
  idNumber: string; // 12 digits
  fullName: string;
  dateOfBirth: string; // YYYY-MM-DD
  sex: Sex;
  nationality: number; // ISO 3166-1 numeric
  /** 0x + SHA-256 of the identity card's chip data (as read by the provider's chip reader). */
  chipDataHash: Hex;
  /** The provider's evidence: its reference for this verification session. */
  verification: { provider: string; sessionId: string };
  investorType: InvestorType;
  /** Required for professional and institutional investors: what proves it. */
  investorEvidence?: { kind: string; documentHash: Hex; description: string };
};

/** The verification provider's answer (national e-ID app, chip reader, liveness check). */
export type VerificationResult = {
  provider: string;
  /** False for the built-in development provider: every screen and record says so. */
  production: boolean;
  chipVerified: boolean;
  /** Face match of the live face against the chip photo, in basis points (0..10,000). */
  faceMatchBps: number;
  liveness: boolean;
  checkedAt: number;
};

/** The port evidence comes through. */
export interface VerificationProvider {
  readonly name: string;
  readonly production: boolean;
  verify(input: { sessionId: string; chipDataHash: Hex; idNumber: string; wallet: Address }): Promise<VerificationResult>;
}

export type ApplicationStatus = "submitted" | "approved" | "rejected" | "issued" | "revoked" | "erased";

/** An application as the service keeps it; the personal data is in `pii` (encrypted at rest). */
export type Application = {
  id: string;
  wallet: Address;
  /** The salted identity hash (HMAC of the ID number with the issuer's salt): one person, one identity. */
  identityHash: Hex;
  status: ApplicationStatus;
  /** "new-identity" or "add-wallet" (a second wallet of an identity that exists, after proof from a bound wallet). */
  kind: "new-identity" | "add-wallet";
  submittedAt: number;
  provider: string;
  providerProduction: boolean;
  verification: VerificationResult;
  investorType: InvestorType;
  nationality: number;
  decidedAt?: number;
  decidedBy?: Address;
  /** Shown to the applicant when rejected or revoked. */
  reason?: string;
  kycLevel?: number;
  expiresAt?: number; // unix seconds
  txHash?: Hex;
};

/** Signs and relays on chain (chain.ts); the service never holds a chain client itself. */
export interface IssuancePort {
  /** Signs the EIP-712 Attestation and relays it with attestBySig; resolves once mined. */
  attest(a: { identityHash: Hex; wallet: Address; kycLevel: number; country: number; investorType: number; expiresAt: number }): Promise<{ txHash: Hex }>;
  /** Binds another wallet to an identity the issuer attested. */
  addWallet(identityHash: Hex, wallet: Address): Promise<{ txHash: Hex }>;
  revoke(identityHash: Hex): Promise<{ txHash: Hex }>;
  /** The wallet's identity on chain, bound or not. */
  identityOf(wallet: Address): Promise<{ identityHash: Hex; expiresAt: number; revoked: boolean } | null>;
}
