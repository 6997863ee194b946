import { getAddress, isAddress, verifyMessage } from "viem";
import type { Address, Hex } from "viem";
import { createSiweMessage, generateSiweNonce, parseSiweMessage, validateSiweMessage } from "viem/siwe";
import { AuthCode, AuthError } from "../errors/SenError.ts";
import type { SessionStore } from "./sessionStore.ts";
import type { SiweNonceStore } from "./siweNonceStore.ts";
import type { IdentityOracle, Permission, Principal, Role, Session } from "./types.ts";

export type CreateSiweChallengeInput = {
  address: Address;
  chainId: number;
  /** RFC 3986 authority of the site asking for the signature, e.g. "sen.example". */
  domain: string;
  uri: string;
  now: number;
  statement?: string;
};

export type CreateSiweChallengeDeps = {
  nonces: SiweNonceStore;
  /** How long the challenge may be signed and submitted; default 5 min. */
  ttlMs?: number;
  /** Defaults to viem's generateSiweNonce (96 bits of alphanumerics from crypto random). */
  generateNonce?: () => string;
};

const DEFAULT_STATEMENT = "Sign in to Sen with your verified e-ID wallet.";

/**
 * Builds an EIP-4361 message for `address` and records its nonce (single use, expires with the
 * message's Expiration Time).
 */
export async function createSiweChallenge(
  input: CreateSiweChallengeInput,
  deps: CreateSiweChallengeDeps,
): Promise<{ message: string; nonce: string }> {
  if (!isAddress(input.address, { strict: false })) {
    throw new AuthError(AuthCode.INVALID_INPUT, "Invalid wallet address", { details: { address: input.address } });
  }
  const ttlMs = deps.ttlMs ?? 5 * 60 * 1000;
  const nonce = (deps.generateNonce ?? generateSiweNonce)();
  const expiresAt = input.now + ttlMs;
  const message = createSiweMessage({
    address: getAddress(input.address),
    chainId: input.chainId,
    domain: input.domain,
    uri: input.uri,
    version: "1",
    nonce,
    statement: input.statement ?? DEFAULT_STATEMENT,
    issuedAt: new Date(input.now),
    expirationTime: new Date(expiresAt),
  });
  await deps.nonces.issue(nonce, input.address, expiresAt);
  return { message, nonce };
}

export type VerifySiweLoginDeps = {
  identity: IdentityOracle;
  /** Our own domain: a message signed for another site is refused. */
  domain: string;
  /**
   * Our own public URL (what the challenge puts in `URI`): a message whose URI is of another
   * origin is refused. The domain alone does not bind it: a wallet shows the URI as the
   * resource being signed in to, and a message naming another site's URI under our domain is
   * not one we issued.
   */
  uri: string;
  /** When set, the message must name this chain. */
  chainId?: number;
  now: () => number;
  roles: (wallet: Address) => Role;
  nonces: SiweNonceStore;
  sessions: Pick<SessionStore, "issue">;
  /** Permissions a wallet session carries; default all (a session is the wallet owner). */
  sessionPermissions?: readonly Permission[];
  /**
   * Told the wallet once its signature over the message is verified: a refusal after that
   * (nonce, e-ID) is that wallet's own attempt, one before it proves nothing about who asked.
   */
  onSigned?: (wallet: Address) => void;
};

/**
 * Verifies a signed SIWE message and opens a session.
 *
 * Order: parse and validate the message (domain, URI origin, version 1, chain, time, nonce format) → verify the EOA
 * signature over the exact message text → consume the nonce (single use; consumed only after
 * the signature checks, so garbage submissions cannot burn a user's challenge) → require a
 * verified e-ID for the wallet (ID_NOT_VERIFIED) → issue a session.
 *
 * Throws AUTH_SIWE_INVALID for any message, signature or nonce failure.
 */
export async function verifySiweLogin(
  input: { message: string; signature: Hex },
  deps: VerifySiweLoginDeps,
): Promise<Session> {
  const now = deps.now();
  const invalid = (reason: string, cause?: unknown) =>
    new AuthError(AuthCode.SIWE_INVALID, `Invalid sign-in: ${reason}`, { cause, details: { reason } });

  if (typeof input.message !== "string" || input.message.length > 4096) throw invalid("message");
  const parsed = parseSiweMessage(input.message);
  const { address, chainId, nonce, uri, version, issuedAt } = parsed;
  if (!address || !chainId || !nonce || !uri || !version || !issuedAt || !parsed.domain) {
    throw invalid("missing fields");
  }
  // viem's validation below checks the version too; checked here so that the refusal says why
  // and does not hang on what a viem upgrade keeps checking.
  if (version !== "1") throw invalid("version");
  if (!sameOrigin(uri, deps.uri)) throw invalid("uri");
  if (!validateSiweMessage({ message: parsed, domain: deps.domain, time: new Date(now) })) {
    throw invalid("domain, time or format");
  }
  if (deps.chainId !== undefined && chainId !== deps.chainId) throw invalid("chain");
  if (Number.isNaN(issuedAt.getTime()) || issuedAt.getTime() > now + 60_000) throw invalid("issued in the future");

  let ok: boolean;
  try {
    ok = await verifyMessage({ address, message: input.message, signature: input.signature });
  } catch (cause) {
    throw invalid("signature", cause);
  }
  if (!ok) throw invalid("signature");
  deps.onSigned?.(getAddress(address));

  // The nonce store checks expiry against its own clock (verifyMessage is async).
  if (!(await deps.nonces.consume(nonce, address))) throw invalid("nonce unknown, expired or already used");

  const wallet = getAddress(address);
  const identity = await deps.identity.verifiedIdentityOf(wallet);
  if (identity === null) {
    throw new AuthError(AuthCode.NOT_VERIFIED, "Wallet has no verified e-ID", { details: { wallet } });
  }

  const principal: Principal = {
    accountId: wallet.toLowerCase(),
    wallet,
    identityHash: identity.identityHash,
    role: deps.roles(wallet),
    permissions: deps.sessionPermissions ?? ["General", "Trade", "Withdraw"],
  };
  return deps.sessions.issue(principal);
}

function sameOrigin(a: string, b: string): boolean {
  try {
    const origin = new URL(a).origin;
    // An opaque origin ("null": data:, mailto:, ...) matches nothing, not even itself.
    return origin !== "null" && origin === new URL(b).origin;
  } catch {
    return false;
  }
}
