import type { IncomingHttpHeaders } from "node:http";
import express, { type Request, type Response } from "express";
import { z } from "zod/v4";
import { requirePermission, requireRole } from "../auth/roles.ts";
import { verifyKucoinRequest } from "../auth/kucoinSignature.ts";
import type { Principal } from "../auth/types.ts";
import { AuthCode, AuthError, SenError } from "../errors/SenError.ts";
import type { RateBuckets } from "../auth/rateBuckets.ts";
import { ipLimitKey } from "../auth/ipLimitKey.ts";
import type { AppContext } from "../context.ts";
import { mountConsole } from "./consoleAssets.ts";
import { mountTrader } from "./traderAssets.ts";
import { mountApiDocs } from "./apiDocs.ts";
import { mountListingPages } from "./routes/listings.ts";
import { errorHandler, notFound, ValidationError } from "./errors.ts";
import { firstDuplicateKey } from "./duplicateKeys.ts";
import { clientAddress, edgeForwardingKey, HOLDER_RULES_SYNC_PATH, provenForwardedFor } from "./forwardedFor.ts";
import { healthOf, healthUnavailable } from "./health.ts";
import { TradingCode } from "../trading/codes.ts";
import { buildOpenApi } from "./openapi.ts";
import type { Route } from "./route.ts";
import { allRoutes } from "./routes/index.ts";

/**
 * Route groups that never show the trading state, so they keep working after a journal
 * failure: the audit trail holds only durable records, and sign-in and keys live elsewhere.
 */
const STATE_FREE_TAGS = new Set(["compliance", "audit", "sen-auth"]);

/**
 * What a route reads of its request. Express builds it for every route; the lean order path
 * (leanRouter.ts) builds the same from node:http, so both run the very same checks below.
 */
export type RouteRequest = {
  method: string;
  /** Path and query as received: what a KuCoin signature covers. */
  originalUrl: string;
  path: string;
  headers: IncomingHttpHeaders;
  query: unknown;
  params: Record<string, string>;
  ip: string;
  /** The body's raw bytes as UTF-8 ("" when none). */
  raw: string;
  req: Request;
  res: Response;
};

/** Builds the Express app: every route from one table, the error mapper last. */
export function createHttpApp(ctx: AppContext, routes: Route[] = allRoutes(ctx)): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "simple");
  const publicBuckets = ctx.publicBuckets;
  const openapi = buildOpenApi(routes, { title: "Sen exchange API", version: "1.0.0" });
  // Only a sequencer has edges in front of it; their forwarded client address is trusted on proof (forwardedFor.ts).
  const forwardKey = ctx.config.role === "sequencer" ? edgeForwardingKey(ctx.config.masterKeyHex) : null;

  app.get("/health", (_req, res) => {
    // Component states only: the failures' own messages can name paths or hosts, and they are logged.
    const h = healthOf(ctx);
    res.status(healthUnavailable(h) ? 503 : 200).json({ ...h, journalSeq: ctx.trading.lastSeq.toString(), uptimeS: Math.round(process.uptime()) });
  });
  app.get("/metrics", async (_req, res) => {
    res.set("content-type", ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
  app.get("/openapi.json", (_req, res) => {
    res.json(openapi);
  });
  if (forwardKey) {
    // An edge's sign-in: the chain's holder rules read again before the wallet's first order (forwardedFor.ts).
    app.post(HOLDER_RULES_SYNC_PATH, async (req, res, next) => {
      const end = ctx.metrics.httpDuration.startTimer({ route: HOLDER_RULES_SYNC_PATH, method: "post" });
      if (provenForwardedFor(forwardKey, req.headers, req.method, req.originalUrl) === null) {
        end({ status: "403" });
        next(new AuthError(AuthCode.ROLE_FORBIDDEN, "only an edge of this exchange may ask for this"));
        return;
      }
      try {
        await ctx.holderView?.sync();
        res.json({ code: "200000", data: { synced: ctx.holderView !== undefined } });
        end({ status: "200" });
      } catch (err) {
        end({ status: "error" });
        next(err);
      }
    });
  }
  mountConsole(app, ctx.config);
  mountTrader(app);
  mountApiDocs(app);
  mountListingPages(app, ctx);

  // The raw bytes are what was signed: keep them, parse JSON only after verification.
  app.use(express.raw({ type: () => true, limit: "64kb" }));
  for (const route of routes) {
    app[route.method](route.path, async (req, res, next) => {
      const end = ctx.metrics.httpDuration.startTimer({ route: route.path, method: route.method });
      try {
        const data = await serveRoute(ctx, route, publicBuckets, {
          method: req.method,
          originalUrl: req.originalUrl,
          path: req.path,
          headers: req.headers,
          query: req.query,
          params: req.params as Record<string, string>,
          ip: clientAddress(forwardKey, req.headers, req.socket.remoteAddress ?? "", req.method, req.originalUrl),
          raw: Buffer.isBuffer(req.body) ? req.body.toString("utf8") : "",
          req,
          res,
        });
        if (!res.headersSent) res.json({ code: "200000", data });
        end({ status: String(res.statusCode) });
      } catch (err) {
        end({ status: "error" });
        next(err);
      }
    });
  }
  app.use(notFound);
  app.use(errorHandler(ctx.logger));
  return app;
}

/** Everything a route does between receiving its request and its envelope's `data`. */
export async function serveRoute(ctx: AppContext, route: Route, publicBuckets: RateBuckets, req: RouteRequest): Promise<unknown> {
  // Unauthenticated routes are limited per client address, an IPv6 one by its /64 (one host
  // holds a whole /64); signed routes have their own limits.
  if (route.auth === "public" && !(await publicBuckets.take(ipLimitKey(req.ip), ctx.config.publicRate.burst, ctx.config.publicRate.perSecond, ctx.now()))) {
    throw new SenError("RATE_LIMITED", "too many requests from this address; slow down");
  }
  if (ctx.trading.failed && !route.whileHalted && !STATE_FREE_TAGS.has(route.tag)) {
    const halt = ctx.trading.haltReason;
    if (halt !== null) throw new SenError(TradingCode.HALTED, `trading halted: ${halt}; the exchange is stopped until it restarts`);
    throw new SenError("JOURNAL_IO", "the journal failed; the exchange is stopped until it restarts");
  }
  return handle(ctx, route, req);
}

async function handle(ctx: AppContext, route: Route, req: RouteRequest): Promise<unknown> {
  const { raw, ip } = req;
  const authenticated = await authenticate(ctx, route, req, raw, ip);
  // The role comes from today's configuration, not from when the key or session was made: a
  // wallet taken off the compliance or operator list loses that role on its existing keys too.
  const principal = authenticated && { ...authenticated, role: ctx.roles(authenticated.wallet) };
  if (principal) {
    if (route.roles?.includes("compliance") && !route.roles.includes(principal.role)) {
      // Someone without the role trying the audit trail is itself on record.
      ctx.audit.record({ type: "audit.query", actor: principal.accountId, account: principal.accountId, wallet: principal.accountId, identityHash: principal.identityHash, ip, reason: "refused", detail: { method: req.method, path: req.path, role: principal.role } });
    }
    if (route.roles) requireRole(principal, ...route.roles);
    if (route.permission) requirePermission(principal, route.permission);
  }
  const query = route.query ? parse(route.query, req.query, "query") : {};
  let body: unknown;
  if (route.body) {
    let json: unknown;
    try {
      json = raw === "" ? {} : JSON.parse(raw);
    } catch {
      throw new ValidationError("body is not valid JSON");
    }
    let duplicate: string | undefined;
    try {
      duplicate = raw === "" ? undefined : firstDuplicateKey(raw);
    } catch (err) {
      throw new ValidationError(`body: ${(err as Error).message}`);
    }
    if (duplicate !== undefined) throw new ValidationError(`body: key "${duplicate.slice(0, 64)}" appears twice`);
    body = parse(route.body, json, "body");
  }
  return route.handler({ query, body, params: req.params, principal, ip, req: req.req, res: req.res });
}

async function authenticate(ctx: AppContext, route: Route, req: RouteRequest, raw: string, ip: string): Promise<Principal | null> {
  if (route.auth === "public") return null;
  const bearer = req.headers.authorization;
  if (bearer?.startsWith("Bearer ") && route.auth !== "signed") return ctx.sessions.sessionFromToken(bearer.slice(7));
  if (route.auth === "session") throw new AuthError(AuthCode.BAD_SESSION, "a session token is required");
  const header = (name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const verify = (pathWithQuery: string) =>
    verifyKucoinRequest(
      {
        method: req.method,
        pathWithQuery,
        body: raw,
        headers: {
          key: header("kc-api-key"),
          sign: header("kc-api-sign"),
          timestamp: header("kc-api-timestamp"),
          passphrase: header("kc-api-passphrase"),
          keyVersion: header("kc-api-key-version"),
        },
        ip,
      },
      { keys: ctx.keys, replay: ctx.replay, now: ctx.now, barrier: ctx.replayBarrier },
    );
  try {
    return await verify(req.originalUrl);
  } catch (err) {
    // ccxt signs the unencoded query but Node percent-encodes it on the wire.
    const decoded = safeDecode(req.originalUrl);
    if (err instanceof AuthError && err.code === AuthCode.BAD_SIGNATURE && decoded !== req.originalUrl) return verify(decoded);
    throw err;
  }
}

function safeDecode(url: string): string {
  try {
    return decodeURI(url);
  } catch {
    return url;
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new ValidationError(`${where}.${first?.path.join(".") || "?"}: ${first?.message ?? "invalid"}`, { issues: r.error.issues.slice(0, 5) });
  }
  return r.data;
}
