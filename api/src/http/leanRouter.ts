import { hash } from "node:crypto";
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { Request, Response } from "express";
import type { AppContext } from "../context.ts";
import { createHttpApp, serveRoute, type RouteRequest } from "./app.ts";
import { SenError } from "../errors/SenError.ts";
import { HttpCode, toKucoinError } from "./errors.ts";
import type { Route } from "./route.ts";
import { allRoutes } from "./routes/index.ts";

/**
 * The routes served without Express: the hot order path. Their handlers read only the decoded
 * input (body, principal, ip), never Express's req or res, which is what lets them run here.
 */
const LEAN_ROUTES = new Set(["POST /api/v1/orders"]);

/** express.raw's limit in app.ts ("64kb"): a larger body goes to Express, which refuses it. */
const BODY_LIMIT = 64 * 1024;

/**
 * The gateway's request listener: the hot order path on plain node:http, everything else on
 * the Express app. Both run the same route definition through the same `serveRoute` (auth,
 * roles, permission, zod validation, handler), the same metrics and the same error mapper,
 * and answer with the same headers and envelope; only Express's router, body parser and
 * response helpers are skipped. Any request the lean path is not sure to handle exactly as
 * Express would (a query string, a compressed or chunked body, no or a too large
 * Content-Length, a path Express would match only loosely) goes to Express.
 */
export function createGatewayListener(ctx: AppContext): RequestListener {
  const routes = allRoutes(ctx);
  const app = createHttpApp(ctx, routes);
  // Method, then path as received: no "METHOD path" key built and hashed per request.
  const lean = new Map<string, Map<string, LeanRoute>>();
  for (const route of routes) {
    const method = route.method.toUpperCase();
    const key = `${method} ${route.path}`;
    if (!LEAN_ROUTES.has(key)) continue;
    // Public routes take a per-IP bucket, which the lean path does not pass (serveLean).
    if (route.auth === "public") throw new SenError(HttpCode.ROUTE_TABLE, `lean route ${key} must not be public`);
    let paths = lean.get(method);
    if (paths === undefined) lean.set(method, (paths = new Map()));
    // The series a successful request lands in, bound once: no labels object, timer closure
    // or label validation per request (the series itself appears with its first observation).
    paths.set(route.path, { route, ok: ctx.metrics.httpDuration.labels(route.path, route.method, "200") });
  }
  return (req, res) => {
    const route = req.url === undefined ? undefined : lean.get(req.method!)?.get(req.url);
    if (route === undefined || !plainBody(req)) {
      app(req, res);
      return;
    }
    readBody(req, (raw) => void serveLean(ctx, route, req, res, raw));
  };
}

/** A body express.raw would read as it is: one Content-Length within the limit, no coding. */
function plainBody(req: IncomingMessage): boolean {
  const h = req.headers;
  if (h["transfer-encoding"] !== undefined || h["content-encoding"] !== undefined) return false;
  const length = h["content-length"];
  return length !== undefined && /^\d{1,6}$/.test(length) && Number(length) <= BODY_LIMIT;
}

function readBody(req: IncomingMessage, then: (raw: string) => void): void {
  const chunks: Buffer[] = [];
  req.on("error", () => {});
  req.on("data", (c: Buffer) => chunks.push(c));
  // An aborted request has no one left to answer, as with Express.
  req.on("end", () => then(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8")));
}

type LeanRoute = { route: Route; ok: { observe(seconds: number): void } };

async function serveLean(ctx: AppContext, { route, ok }: LeanRoute, req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
  // As prom-client's startTimer: seconds since the request reached its route, by status.
  const started = performance.now();
  const input: RouteRequest = {
    method: req.method!,
    originalUrl: req.url!,
    path: req.url!,
    headers: req.headers,
    query: {},
    params: {},
    ip: req.socket.remoteAddress ?? "",
    raw,
    // Never read by a lean route's handler (LEAN_ROUTES).
    req: req as unknown as Request,
    res: res as unknown as Response,
  };
  try {
    // No per-IP bucket: lean routes are never public (checked above), so it is never consulted.
    const data = await serveRoute(ctx, route, undefined as never, input);
    if (!res.headersSent) sendJson(res, 200, JSON.stringify({ code: "200000", data }));
    const seconds = (performance.now() - started) / 1000;
    if (res.statusCode === 200) ok.observe(seconds);
    else ctx.metrics.httpDuration.observe({ route: route.path, method: route.method, status: String(res.statusCode) }, seconds);
  } catch (err) {
    ctx.metrics.httpDuration.observe({ route: route.path, method: route.method, status: "error" }, (performance.now() - started) / 1000);
    // As errors.ts's errorHandler does for the Express routes.
    const mapped = toKucoinError(err);
    if (mapped.status >= 500) ctx.logger.error({ err, path: input.path }, "request failed");
    if (res.headersSent) return;
    sendJson(res, mapped.status, JSON.stringify({ code: mapped.code, msg: mapped.msg, senCode: mapped.senCode }));
  }
}

/**
 * What Express's res.status(s).json(v) writes: the same headers in the same order, its weak
 * ETag included. Nothing has set a header on a lean response before this, so they go in one
 * writeHead (no per-header setHeader calls). The body stays a string: node:http then sends the
 * head and body as one string, where a Buffer would be one more chunk for the socket.
 */
function sendJson(res: ServerResponse, status: number, body: string): void {
  const length = Buffer.byteLength(body, "utf8");
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": length, ETag: weakEtag(body, length) });
  res.end(body, "utf8");
}

/**
 * The `etag` package's weak tag, as Express's default "etag fn" makes it: the length and SHA-1
 * of the UTF-8 bytes (one-shot: no Hash object; hash() encodes a string as UTF-8).
 */
function weakEtag(body: string, length: number): string {
  if (length === 0) return 'W/"0-2jmj7l5rSw0yVb/vlWAYkK/YBwk"';
  return `W/"${length.toString(16)}-${hash("sha1", body, "base64").substring(0, 27)}"`;
}
