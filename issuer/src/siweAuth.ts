import { randomBytes } from "node:crypto";
import { getAddress, verifyMessage, type Address, type Hex } from "viem";
import { createSiweMessage, generateSiweNonce, parseSiweMessage, validateSiweMessage } from "viem/siwe";

/**
 * Sign-In with Ethereum for the issuer service (EIP-4361): applicants and officers prove they
 * hold their wallet. The issuer is a separate service from the exchange, so it keeps its own
 * challenges and sessions; unlike the exchange it asks for no verified e-ID (applicants have
 * none yet). Single process, in memory: a restart signs everyone out, which is harmless.
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
  uri: string;
  chainId: number;
  /** Whether a wallet is an officer, asked at sign-in and again on every officer request. */
  isOfficer: (wallet: Address) => boolean;
  now?: () => number;
  challengeTtlMs?: number;
  sessionTtlMs?: number;
};

export function createSiweAuth(o: SiweAuthOptions) {
  const now = o.now ?? Date.now;
  const challengeTtlMs = o.challengeTtlMs ?? 5 * 60_000;
  const sessionTtlMs = o.sessionTtlMs ?? 8 * 3600_000;
  const challenges = new Map<string, { wallet: Address; expiresAt: number }>();
  const sessions = new Map<string, IssuerSession>();
  const sweep = (t: number) => {
    for (const [k, c] of challenges) if (c.expiresAt <= t) challenges.delete(k);
    for (const [k, s] of sessions) if (s.expiresAt <= t) sessions.delete(k);
  };

  return {
    challenge(address: Address): { message: string; nonce: string } {
      const t = now();
      sweep(t);
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
      challenges.set(nonce, { wallet, expiresAt: t + challengeTtlMs });
      return { message, nonce };
    },

    /** Checks the message and signature, spends the nonce, opens a session. */
    async login(message: string, signature: Hex): Promise<IssuerSession> {
      const parsed = parseSiweMessage(message);
      if (!parsed.address || !parsed.nonce || !parsed.chainId) throw new SiweAuthError("sign-in message is missing fields");
      if (parsed.chainId !== o.chainId) throw new SiweAuthError("sign-in message names another chain");
      if (!validateSiweMessage({ message: parsed, domain: o.domain, time: new Date(now()) })) {
        throw new SiweAuthError("sign-in message is for another site, expired or malformed");
      }
      let ok = false;
      try {
        ok = await verifyMessage({ address: parsed.address, message, signature });
      } catch {
        ok = false;
      }
      if (!ok) throw new SiweAuthError("signature is not the named wallet's");
      // Spent only after the signature checks, so garbage cannot burn someone's challenge.
      const c = challenges.get(parsed.nonce);
      const wallet = getAddress(parsed.address);
      if (!c || c.wallet !== wallet || c.expiresAt <= now()) throw new SiweAuthError("sign-in nonce unknown, expired, used or for another wallet");
      challenges.delete(parsed.nonce);
      const session: IssuerSession = {
        token: randomBytes(32).toString("base64url"),
        wallet,
        role: o.isOfficer(wallet) ? "officer" : "applicant",
        expiresAt: now() + sessionTtlMs,
      };
      sessions.set(session.token, session);
      return session;
    },

    session(token: string): IssuerSession | null {
      const s = sessions.get(token);
      if (!s) return null;
      if (s.expiresAt <= now()) {
        sessions.delete(token);
        return null;
      }
      return s;
    },

    isOfficer: o.isOfficer,
  };
}
export type SiweAuth = ReturnType<typeof createSiweAuth>;
