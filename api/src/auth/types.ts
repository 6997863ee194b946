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

/** Who owns a new API key: a SIWE session principal (keys cannot mint keys). */
export type ApiKeyOwner = Pick<Principal, "accountId" | "wallet" | "identityHash" | "role" | "apiKeyId">;

export type CreateApiKeyInput = {
  label: string;
  permissions: Permission[];
  ipWhitelist?: string[];
  /** The trader-chosen passphrase; only a keyed verifier of its v2 header form is stored. */
  passphrase: string;
};

/** API-key storage as the request verifier and the key routes see it (see apiKeyStore.ts). */
export interface ApiKeyStore {
  create(owner: ApiKeyOwner, input: CreateApiKeyInput): { record: ApiKeyRecord; apiSecret: string };
  get(apiKeyId: string): ApiKeyRecord | undefined;
  list(accountId: string): ApiKeyRecord[];
  /** Every account that holds (or held) a key. */
  accounts(): string[];
  revoke(accountId: string, apiKeyId: string): ApiKeyRecord;
  disableAccount(accountId: string, reason: string): number;
  isAccountDisabled(accountId: string): string | undefined;
  /** Internal: the decrypted secret, for request verification only. */
  secretFor(apiKeyId: string): string;
  /** Constant-time check of a KC-API-PASSPHRASE v2 header against the stored verifier. */
  passphraseMatches(apiKeyId: string, passphraseHeader: string): boolean;
}

/** Remembers (apiKeyId, signature) pairs while their timestamp is inside the window. */
export interface ReplayGuard {
  /** Returns false when the pair was already seen (a replay); otherwise records it and returns true. */
  remember(apiKeyId: string, signature: string, timestampMs: number): boolean;
  readonly size: number;
}

export type Session = {
  /** 32 random bytes, base64url; shown once, only its SHA-256 is kept. */
  token: string;
  principal: Principal;
  /** ISO-8601 */
  expiresAt: string;
};
