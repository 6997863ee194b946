import type { AppContext } from "../../context.ts";
import { sessionIdOf } from "../../auth/sessionStore.ts";
import { SenError } from "../../errors/SenError.ts";
import { defineRoute, type Route } from "../route.ts";

/** KuCoin's websocket handshake: a token plus where to connect and how often to ping. */
export function bulletRoutes(ctx: AppContext): Route[] {
  const token = async (principal: Parameters<typeof ctx.bullets.issue>[0], ip: string, sessionId?: string) => {
    const t = await ctx.bullets.issue(principal, ip, sessionId);
    if (t === null) throw new SenError("RATE_LIMITED", "too many live websocket tokens; retry shortly");
    return t;
  };
  const servers = () => [{ endpoint: ctx.config.wsEndpoint, encrypt: false, protocol: "websocket", pingInterval: 18_000, pingTimeout: 10_000 }];
  return [
    defineRoute({ method: "post", path: "/api/v1/bullet-public", tag: "websocket", summary: "Token for public topics", auth: "public", handler: async ({ ip }) => ({ token: await token(null, ip), instanceServers: servers() }) }),
    defineRoute({
      method: "post",
      path: "/api/v1/bullet-private",
      tag: "websocket",
      summary: "Token for private topics (orders, balances)",
      auth: "signedOrSession",
      permission: "General",
      handler: async ({ principal, ip, req }) => {
        const frozen = ctx.queries.isFrozen(principal!.accountId);
        if (frozen !== undefined) throw new SenError("RISK_ACCOUNT_FROZEN", `account frozen: ${frozen}`);
        // A bearer token is what authenticated the request when present (app.ts tries it first):
        // the token is tied to that session, and signing it out closes the socket.
        const bearer = req.headers.authorization;
        const session = principal!.apiKeyId === undefined && bearer?.startsWith("Bearer ") ? bearer.slice("Bearer ".length) : undefined;
        const t = await token(principal, ip, session === undefined ? undefined : sessionIdOf(session));
        // A sign-out voids the session's tokens, ends the session, then voids them again: one
        // issued after that found the session ended here, and is never handed out (it expires unused).
        if (session !== undefined) await ctx.sessions.sessionFromToken(session);
        return { token: t, instanceServers: servers() };
      },
    }),
  ];
}
