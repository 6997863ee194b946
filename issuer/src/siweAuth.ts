import { randomBytes } from "node:crypto";
import { getAddress, verifyMessage, type Address, type Hex } from "viem";
import { createSiweMessage, generateSiweNonce, parseSiweMessage, validateSiweMessage } from "viem/siwe";
import { ExpiringTable } from "./limits.ts";

/**
 * Sign-In with Ethereum for the issuer service (EIP-4361): applicants and officers prove they
 * hold their wallet. The issuer is a separate service from the exchange, so it keeps its own
 * challenges and sessions; unlike the exchange it asks for no verified e-ID (applicants have
 * none yet). Single process, in memory: a restart signs everyone out, which is harmless.
 *
 * Challenges are asked for without signing in, so they and the sessions are bounded tables
 * (limits.ts): the oldest challenge is dropped first when full (its holder asks again), and a
 * wallet keeps a few sessions (devices), the oldest signed out first.
 */
export type Role = "applicant" | "officer";
export type IssuerSession = { token: string; wallet: Address; role: Role; expiresAt: number };

export class SiweAuthError extends Error {
  override readonly name = "SiweAuthError";
  readonly code = "ISSUER_AUTH_SIWE_INVALID";
}

export type SiweAuthOptions = {
  /** Our own authority (host[:port]): a message signed for another site is refused. */
  domain: string;
  /** The issuer's public address; a message whose URI has another origin is refused. */
  uri: string;
  chainId: number;
  /** Whether a wallet is an officer, asked at sign-in and again on every officer request. */
  isOfficer: (wallet: Address) => boolean;
  now?: () => number;
  challengeTtlMs?: number;
  sessionTtlMs?: number;
  /** Live challenges kept at most (default 10 000). */
  maxChallenges?: number;
  /** Live sessions kept at most (default 50 000). */
  maxSessions?: number;
  /** Live sessions one wallet keeps at most (default 10). */
  sessionsPerWallet?: number;
};

/** How far a message's Issued At may run ahead of our clock (a wallet's clock drifts a little). */
export const SIWE_CLOCK_SKEW_MS = 60_000;

export function createSiweAuth(o: SiweAuthOptions) {
  const now = o.now ?? Date.now;
  const challengeTtlMs = o.challengeTtlMs ?? 5 * 60_000;
  const sessionTtlMs = o.sessionTtlMs ?? 8 * 3600_000;
  const origin = new URL(o.uri).origin;
  const perWallet = o.sessionsPerWallet ?? 10;
  const challenges = new ExpiringTable<{ wallet: Address; expiresAt: number }>(o.maxChallenges ?? 10_000);
  // Each wallet's live tokens, oldest first (a Set keeps insertion order); small by construction.
  const byWallet = new Map<Address, Set<string>>();
  const forget = (token: string, s: IssuerSession) => {
    const mine = byWallet.get(s.wallet);
    mine?.delete(token);
    if (mine?.size === 0) byWallet.delete(s.wallet);
  };
  const sessions = new ExpiringTable<IssuerSession>(o.maxSessions ?? 50_000, forget);
  const signOut = (token: string, s: IssuerSession) => {
    sessions.delete(token);
    forget(token, s);
  };

  return {
    challenge(address: Address): { message: string; nonce: string } {
      const t = now();
      const wallet = getAddress(address);
      const nonce = generateSiweNonce();
      const message = createSiweMessage({
        address: wallet,
        chainId: o.chainId,
        domain: o.domain,
        uri: o.uri,
        version: "1",
        nonce,
        statement: "Sign in to the Sen e-KYC issuer to apply for or review an e-ID attestation.",
        issuedAt: new Date(t),
        expirationTime: new Date(t + challengeTtlMs),
      });
      challenges.add(nonce, { wallet, expiresAt: t + challengeTtlMs }, t);
      return { message, nonce };
    },

    /** Checks the message and signature, spends the nonce, opens a session. */
    async login(message: string, signature: Hex): Promise<IssuerSession> {
      const parsed = parseSiweMessage(message);
      if (!parsed.address || !parsed.nonce || !parsed.chainId || !parsed.uri || !parsed.version || !parsed.issuedAt) throw new SiweAuthError("sign-in message is missing fields");
      if (parsed.chainId !== o.chainId) throw new SiweAuthError("sign-in message names another chain");
      if (parsed.version !== "1") throw new SiweAuthError("sign-in message is not EIP-4361 version 1");
      const t = now();
      if (!validateSiweMessage({ message: parsed, domain: o.domain, time: new Date(t) })) {
        throw new SiweAuthError("sign-in message is for another site, expired or malformed");
      }
      // viem checks the domain but not the URI: a wallet shows both, and the user consented to the one it showed.
      if (!URL.canParse(parsed.uri) || new URL(parsed.uri).origin !== origin) throw new SiweAuthError(`sign-in message's URI is not ${origin}`);
      // A message dated ahead of us was not made from our challenge (which carries our clock).
      if (Number.isNaN(parsed.issuedAt.getTime()) || parsed.issuedAt.getTime() > t + SIWE_CLOCK_SKEW_MS) throw new SiweAuthError("sign-in message is issued in the future");
      let ok = false;
      try {
        ok = await verifyMessage({ address: parsed.address, message, signature });
      } catch {
        ok = false;
      }
      if (!ok) throw new SiweAuthError("signature is not the named wallet's");
      // Spent only after the signature checks, so garbage cannot burn someone's challenge.
      const at = now();
      const c = challenges.get(parsed.nonce, at);
      const wallet = getAddress(parsed.address);
      if (!c || c.wallet !== wallet) throw new SiweAuthError("sign-in nonce unknown, expired, used or for another wallet");
      challenges.delete(parsed.nonce);
      const session: IssuerSession = {
        token: randomBytes(32).toString("base64url"),
        wallet,
        role: o.isOfficer(wallet) ? "officer" : "applicant",
        expiresAt: at + sessionTtlMs,
      };
      const mine = byWallet.get(wallet) ?? new Set<string>();
      for (const old of mine) {
        if (mine.size < perWallet) break;
        const s = sessions.get(old, at);
        if (s) signOut(old, s);
        else mine.delete(old);
      }
      sessions.add(session.token, session, at);
      // Set again: dropping the wallet's last old session above removed its entry.
      byWallet.set(wallet, mine.add(session.token));
      return session;
    },

    session(token: string): IssuerSession | null {
      return sessions.get(token, now()) ?? null;
    },

    isOfficer: o.isOfficer,
  };
}
export type SiweAuth = ReturnType<typeof createSiweAuth>;
