import { createHmac, timingSafeEqual } from "node:crypto";
import { AuthCode, AuthError } from "../errors/SenError.ts";
import { isIpAllowed } from "./ipAllowList.ts";
import type { ApiKeyStore, Principal, ReplayGuard } from "./types.ts";
import type { ReplayBarrier } from "./replayBarrier.ts";

/** The KC-API-* headers, already extracted (lower-case lookup is the HTTP layer's job). */
export type KucoinAuthHeaders = {
  key?: string | undefined;
  sign?: string | undefined;
  timestamp?: string | undefined;
  passphrase?: string | undefined;
  keyVersion?: string | undefined;
};

export type VerifyKucoinRequestInput = {
  /** As received (ccxt sends upper case); not normalised, so "post" does not verify "POST". */
  method: string;
  /** Path plus the raw query string exactly as sent, e.g. "/api/v1/orders?symbol=X&status=active". */
  pathWithQuery: string;
  /** The raw request body ("" when none): the bytes that were signed, not a re-serialisation. */
  body: string;
  headers: KucoinAuthHeaders;
  ip: string;
};

export type VerifyKucoinRequestDeps = {
  keys: Pick<ApiKeyStore, "credentials">;
  replay: ReplayGuard;
  now: () => number;
  /** Accepted clock skew either side, in ms. KuCoin uses 5 s. */
  windowMs?: number;
  /**
   * State-changing requests signed before its `notBeforeMs` are refused
   * (AUTH_SIGNED_BEFORE_RESTART): the previous process may have accepted them.
   */
  barrier?: Pick<ReplayBarrier, "notBeforeMs" | "accepted">;
};

const TIMESTAMP_RE = /^[0-9]{1,15}$/;

/** base64(HMAC-SHA256(secret, data)): the one primitive of KuCoin API-key v2 signing. */
export function kucoinHmac(secret: string, data: string): string {
  return createHmac("sha256", secret).update(data, "utf8").digest("base64");
}

/** The string that is signed: timestamp + METHOD + path?query + body. */
export function kucoinPrehash(timestamp: string, method: string, pathWithQuery: string, body: string): string {
  return timestamp + method + pathWithQuery + body;
}

/**
 * Verifies a KuCoin-style signed REST request (API-key version 2, as ccxt's kucoin `sign()`
 * produces it) and returns the Principal it is attributed to.
 *
 * Checks, in order (each failure throws AuthError with the code given):
 * - all five KC-API-* headers present (AUTH_MISSING_HEADERS)
 * - KC-API-KEY-VERSION is "2" (AUTH_BAD_KEY_VERSION)
 * - the key exists (AUTH_UNKNOWN_KEY), is not revoked (AUTH_KEY_REVOKED), its account is not
 *   disabled (AUTH_ACCOUNT_DISABLED)
 * - the caller IP is in the key's allow-list, if any (AUTH_IP_NOT_ALLOWED)
 * - |now - timestamp| <= windowMs (AUTH_TIMESTAMP_EXPIRED)
 * - the passphrase header matches (AUTH_BAD_PASSPHRASE)
 * - the signature matches, compared in constant time (AUTH_BAD_SIGNATURE)
 * - a state-changing request is not signed before the restart barrier (AUTH_SIGNED_BEFORE_RESTART)
 * - the (key, signature) pair was not already accepted in the window (AUTH_REPLAYED)
 *
 * Signatures and passphrases are compared as the base64 text, not as decoded bytes: base64
 * decoders ignore the unused low bits of the last character, so a decoded comparison would
 * accept altered header strings.
 */
export async function verifyKucoinRequest(input: VerifyKucoinRequestInput, deps: VerifyKucoinRequestDeps): Promise<Principal> {
  const { method, pathWithQuery, body, headers, ip } = input;
  const { key, sign, timestamp, passphrase, keyVersion } = headers;
  const windowMs = deps.windowMs ?? 5000;

  if (!key || !sign || !timestamp || !passphrase || !keyVersion) {
    const missing = Object.entries({ key, sign, timestamp, passphrase, keyVersion })
      .filter(([, v]) => !v)
      .map(([k]) => k);
    throw new AuthError(AuthCode.MISSING_HEADERS, "Missing KC-API authentication headers", { details: { missing } });
  }

  // Only version 2 is accepted. Version 1 sends the passphrase in plaintext in every request
  // header; it is refused on purpose (ccxt defaults to version 2).
  if (keyVersion !== "2") {
    throw new AuthError(AuthCode.BAD_KEY_VERSION, "Only KC-API-KEY-VERSION 2 is supported", {
      details: { keyVersion },
    });
  }

  const credentials = await deps.keys.credentials(key);
  if (credentials === undefined) throw new AuthError(AuthCode.UNKNOWN_KEY, "Unknown API key");
  const { record } = credentials;
  if (record.revokedAt !== undefined) {
    throw new AuthError(AuthCode.KEY_REVOKED, "API key revoked", { details: { apiKeyId: key } });
  }
  if (record.disabledReason !== undefined) {
    throw new AuthError(AuthCode.ACCOUNT_DISABLED, "Account disabled", {
      details: { apiKeyId: key, reason: record.disabledReason },
    });
  }

  if (!isIpAllowed(record.ipWhitelist, ip)) {
    throw new AuthError(AuthCode.IP_NOT_ALLOWED, "IP not in the API key's allow-list", { details: { ip } });
  }

  const now = deps.now();
  const ts = TIMESTAMP_RE.test(timestamp) ? Number(timestamp) : Number.NaN;
  if (!(Math.abs(now - ts) <= windowMs)) {
    throw new AuthError(AuthCode.TIMESTAMP_EXPIRED, "KC-API-TIMESTAMP outside the accepted window", {
      details: { timestamp, now, windowMs },
    });
  }

  if (!credentials.passphraseMatches(passphrase)) {
    throw new AuthError(AuthCode.BAD_PASSPHRASE, "Invalid KC-API-PASSPHRASE");
  }

  const expected = kucoinHmac(credentials.secret, kucoinPrehash(timestamp, method, pathWithQuery, body));
  if (!constantTimeEqual(expected, sign)) {
    throw new AuthError(AuthCode.BAD_SIGNATURE, "Invalid KC-API-SIGN");
  }

  const changesState = method !== "GET";
  if (deps.barrier && changesState && ts < deps.barrier.notBeforeMs) {
    throw new AuthError(AuthCode.SIGNED_BEFORE_RESTART, "Request signed before the gateway restarted: sign it again with the current time", {
      details: { timestamp, notBefore: deps.barrier.notBeforeMs },
    });
  }

  if (!(await deps.replay.remember(key, sign, ts))) {
    throw new AuthError(AuthCode.REPLAYED, "Request already seen (replayed signature)");
  }
  if (changesState) deps.barrier?.accepted(ts);

  return {
    accountId: record.accountId,
    wallet: record.wallet,
    identityHash: record.identityHash,
    role: record.role,
    apiKeyId: record.apiKeyId,
    permissions: record.permissions,
  };
}

/** Constant-time equality of two strings' UTF-8 bytes (length leaks, content does not). */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

export type SignKucoinRequestInput = {
  method: string;
  pathWithQuery: string;
  body?: string;
  apiKey: string;
  apiSecret: string;
  passphrase: string;
  /** ms since epoch; the signer's clock. */
  timestamp: number;
};

/**
 * Client-side signer (tests, demo, benchmark): the same headers ccxt's kucoin `sign()` sends
 * for a private endpoint with KC-API-KEY-VERSION 2.
 */
export function signKucoinRequest(input: SignKucoinRequestInput): Record<string, string> {
  const timestamp = String(input.timestamp);
  return {
    "KC-API-KEY-VERSION": "2",
    "KC-API-KEY": input.apiKey,
    "KC-API-TIMESTAMP": timestamp,
    "KC-API-PASSPHRASE": kucoinHmac(input.apiSecret, input.passphrase),
    "KC-API-SIGN": kucoinHmac(input.apiSecret, kucoinPrehash(timestamp, input.method, input.pathWithQuery, input.body ?? "")),
  };
}
