import { z } from "zod/v4";
import { getAddress, isAddress, type Hex } from "viem";
import type { AppContext } from "../../context.ts";
import { createLoginFailureGate, type LoginFailureGate } from "../../auth/loginFailureGate.ts";
import { createSiweChallenge, verifySiweLogin } from "../../auth/siwe.ts";
import type { Principal } from "../../auth/types.ts";
import { defineRoute, type Route } from "../route.ts";

const address = z.string().refine((a) => isAddress(a), "an Ethereum address");

/** The session token a "session" route was authenticated with (app.ts admits those only with it). */
const bearerToken = (headers: { authorization?: string }) => headers.authorization!.slice("Bearer ".length);

/**
 * Sen's own account routes (not part of KuCoin's API): Sign-In with Ethereum for a wallet
 * with a verified e-ID, then API keys for that wallet's trading account.
 */
export function senAuthRoutes(ctx: AppContext): Route[] {
  let gate: LoginFailureGate | undefined;
  const failures = () => (gate ??= createLoginFailureGate({ buckets: ctx.publicBuckets, now: ctx.now, registry: ctx.metrics.registry, warn: (fields, msg) => ctx.logger.warn(fields, msg) }));
  /** A sign-out, on the audit trail before it is answered (as a sign-in is). */
  const loggedOut = async (principal: Principal, ip: string | undefined, scope: "session" | "account", sessions: number) => {
    ctx.audit.record({ type: "auth.logout", account: principal.accountId, identityHash: principal.identityHash, wallet: principal.accountId, ip, reason: "user", detail: { scope, sessions } });
    await ctx.audit.flush();
    return { sessions };
  };
  return [
    defineRoute({
      method: "get",
      path: "/api/v1/sen/auth/challenge",
      tag: "sen-auth",
      summary: "An EIP-4361 message (with a single-use nonce) for the wallet to sign",
      auth: "public",
      query: z.object({ address }),
      handler: ({ query }) =>
        createSiweChallenge(
          { address: getAddress(query.address), chainId: ctx.config.chainId, domain: ctx.config.siweDomain, uri: ctx.config.publicUrl, now: ctx.now() },
          { nonces: ctx.siweNonces },
        ),
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/sen/auth/login",
      tag: "sen-auth",
      summary: "Verify the signed message; requires a verified e-ID; returns a session token",
      auth: "public",
      body: z.object({ message: z.string().min(1).max(4096), signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/) }).strict(),
      handler: async ({ body, ip }) => {
        let session;
        let signer: string | undefined;
        try {
          session = await verifySiweLogin(
            { message: body.message, signature: body.signature as Hex },
            {
              identity: ctx.identity,
              domain: ctx.config.siweDomain,
              uri: ctx.config.publicUrl,
              chainId: ctx.config.chainId,
              now: ctx.now,
              roles: ctx.roles,
              nonces: ctx.siweNonces,
              sessions: ctx.sessions,
              onSigned: (wallet) => (signer = wallet.toLowerCase()),
            },
          );
        } catch (err) {
          if (await failures().admit(ip)) {
            // Only a verified signature says whose attempt it was: anyone can type a wallet into
            // a message, and the record would put that wallet's account on a failed sign-in.
            const claimed = signer === undefined ? /0x[0-9a-fA-F]{40}/.exec(body.message)?.[0]?.toLowerCase() : undefined;
            ctx.audit.record({
              type: "auth.loginFailed",
              wallet: signer,
              account: signer,
              ip,
              reason: (err as { code?: string }).code ?? "LOGIN_FAILED",
              detail: claimed === undefined ? undefined : { claimedWallet: claimed },
            });
          }
          throw err;
        }
        const p = session.principal;
        ctx.audit.record({ type: "auth.login", account: p.accountId, identityHash: p.identityHash, wallet: p.accountId, ip, detail: { role: p.role } });
        await ctx.audit.flush();
        return { token: session.token, expiresAt: session.expiresAt, accountId: session.principal.accountId, role: session.principal.role };
      },
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/sen/auth/logout",
      tag: "sen-auth",
      summary: "Sign out: end the calling session (its token is refused from now on; API keys stay)",
      auth: "session",
      handler: async ({ principal, ip, req }) => {
        return loggedOut(principal!, ip, "session", (await ctx.sessions.revokeSession(bearerToken(req.headers))) ? 1 : 0);
      },
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/sen/auth/logout-all",
      tag: "sen-auth",
      summary: "Sign out everywhere: end every session of the caller's account (API keys stay)",
      auth: "session",
      handler: async ({ principal, ip }) => {
        return loggedOut(principal!, ip, "account", await ctx.sessions.revokeSessions(principal!.accountId));
      },
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/sen/api-keys",
      tag: "sen-auth",
      summary: "Create an API key (the secret is returned once)",
      auth: "session",
      body: z
        .object({
          label: z.string().min(1).max(64),
          passphrase: z.string().min(7).max(32),
          permissions: z.array(z.enum(["General", "Trade", "Withdraw"])).min(1).max(3).default(["General", "Trade"]),
          ipWhitelist: z.array(z.string().min(2).max(64)).max(20).default([]),
        })
        .strict(),
      handler: async ({ body, principal, ip }) => {
        const { record, apiSecret } = await ctx.keys.create(principal!, body);
        ctx.audit.record({ type: "apiKey.created", account: principal!.accountId, identityHash: principal!.identityHash, wallet: principal!.accountId, apiKeyId: record.apiKeyId, ip, detail: { label: body.label, permissions: body.permissions, ipWhitelist: body.ipWhitelist } });
        await ctx.audit.flush();
        return { ...record, apiSecret, passphrase: undefined };
      },
    }),
    defineRoute({ method: "get", path: "/api/v1/sen/api-keys", tag: "sen-auth", summary: "The caller's API keys (never their secrets)", auth: "session", handler: ({ principal }) => ctx.keys.list(principal!.accountId) }),
    defineRoute({
      method: "delete",
      path: "/api/v1/sen/api-keys/:apiKeyId",
      tag: "sen-auth",
      summary: "Revoke one of the caller's API keys",
      auth: "session",
      handler: async ({ params, principal, ip }) => {
        const result = await ctx.keys.revoke(principal!.accountId, params.apiKeyId);
        // Sockets opened with this key close now, not when they next reconnect.
        await ctx.bullets.revoke({ accountId: principal!.accountId, apiKeyId: params.apiKeyId });
        ctx.audit.record({ type: "apiKey.revoked", account: principal!.accountId, identityHash: principal!.identityHash, wallet: principal!.accountId, apiKeyId: params.apiKeyId, ip, reason: "user" });
        await ctx.audit.flush();
        return result;
      },
    }),
  ];
}
