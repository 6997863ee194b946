import type { Address, Hex } from "viem";

export type Role = "trader" | "compliance" | "operator";
export type Permission = "General" | "Trade" | "Withdraw";

/** What a verified request is attributed to: every route reads only this. */
export type Principal = {
  /** The trading account (one per verified wallet): the wallet address, lower-case. */
  accountId: string;
  wallet: Address;
  /** The e-ID identity hash bound to the wallet in the IdentityRegistry. */
  identityHash: Hex;
  role: Role;
  /** Set for API-key requests, absent for session (SIWE) requests. */
  apiKeyId?: string;
  permissions: readonly Permission[];
};

export type ApiKeyRecord = {
  apiKeyId: string; // public key id sent in KC-API-KEY
  accountId: string;
  wallet: Address;
  identityHash: Hex;
  role: Role;
  label: string;
  permissions: Permission[];
  ipWhitelist: string[]; // empty = any
  createdAt: string; // ISO-8601
  revokedAt?: string;
  disabledReason?: string; // e.g. "identity revoked"
};

/** Asks the chain whether a wallet is a verified e-ID holder (IdentityRegistry.verifiedIdentityOf). */
export interface IdentityOracle {
  verifiedIdentityOf(wallet: Address): Promise<{ identityHash: Hex } | null>;
}
