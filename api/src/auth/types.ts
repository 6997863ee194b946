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

/**
 * API-key storage as the request verifier and the key routes see it: the file store
 * (apiKeyStore.ts, one process) or the Redis one (redisApiKeyStore.ts, shared by every edge).
 * Async because the shared store answers over the network.
 */
export interface ApiKeyStore {
  create(owner: ApiKeyOwner, input: CreateApiKeyInput): Promise<{ record: ApiKeyRecord; apiSecret: string }>;
  get(apiKeyId: string): Promise<ApiKeyRecord | undefined>;
  list(accountId: string): Promise<ApiKeyRecord[]>;
  /** Every account that holds (or held) a key. */
  accounts(): Promise<string[]>;
  revoke(accountId: string, apiKeyId: string): Promise<ApiKeyRecord>;
  disableAccount(accountId: string, reason: string): Promise<number>;
  isAccountDisabled(accountId: string): Promise<string | undefined>;
  /** Internal, for request verification only: the record, its decrypted secret and the passphrase check, in one read. */
  credentials(apiKeyId: string): Promise<ApiKeyCredentials | undefined>;
}

export type ApiKeyCredentials = {
  record: ApiKeyRecord;
  secret: string;
  /** Constant-time check of a KC-API-PASSPHRASE v2 header against the stored verifier. */
  passphraseMatches(passphraseHeader: string): boolean;
};

/** Remembers (apiKeyId, signature) pairs while their timestamp is inside the window. */
export interface ReplayGuard {
  /**
   * Resolves false when the pair was already seen (a replay); otherwise records it and resolves
   * true. Rejects when it cannot tell (full, or the shared store did not answer): never a guess.
   */
  remember(apiKeyId: string, signature: string, timestampMs: number): Promise<boolean>;
}

export type Session = {
  /** 32 random bytes, base64url; shown once, only its SHA-256 is kept. */
  token: string;
  principal: Principal;
  /** ISO-8601 */
  expiresAt: string;
};
