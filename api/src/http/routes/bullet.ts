import type { AppContext } from "../../context.ts";
import { defineRoute, type Route } from "../route.ts";

/** KuCoin's websocket handshake: a token plus where to connect and how often to ping. */
export function bulletRoutes(ctx: AppContext): Route[] {
  const servers = () => [{ endpoint: ctx.config.wsEndpoint, encrypt: false, protocol: "websocket", pingInterval: 18_000, pingTimeout: 10_000 }];
  return [
    defineRoute({ method: "post", path: "/api/v1/bullet-public", tag: "websocket", summary: "Token for public topics", auth: "public", handler: () => ({ token: ctx.bullets.issue(null), instanceServers: servers() }) }),
    defineRoute({
      method: "post",
      path: "/api/v1/bullet-private",
      tag: "websocket",
      summary: "Token for private topics (orders, balances)",
      auth: "signedOrSession",
      permission: "General",
      handler: ({ principal }) => ({ token: ctx.bullets.issue(principal), instanceServers: servers() }),
    }),
  ];
}
