import type { Server } from "node:http";
import express, { type NextFunction, type Request, type Response } from "express";
import type { Logger } from "pino";
import { getAddress, type Address, type Hex } from "viem";
import { z } from "zod/v4";
import { IssuerChainError } from "./chain.ts";
import { ISSUER_ERROR, IssuerError, type IssuerErrorCode } from "./errors.ts";
import { ipLimitKey } from "../../api/src/auth/ipLimitKey.ts";
import { TokenBuckets } from "../../api/src/auth/tokenBucket.ts";
import { mountIssuerPages } from "./pages.ts";
import { SiweAuthError, type IssuerSession, type SiweAuth } from "./siweAuth.ts";
import type { IssuerService } from "./service.ts";

/**
 * The issuer service's HTTP API (/issuer/v1). Every error leaves as `{ code, field?, message }`.
 * Personal data travels in some bodies and answers but never into the log: the access log
 * names the method, the route pattern, the status, the duration and the wallet only.
 */

/** What the routes need of the issuer service (service.ts): its operations, nothing else. */
export type IssuerServiceApi = Pick<IssuerService, "submit" | "status" | "myData" | "erase" | "queue" | "read" | "approve" | "reject" | "revoke" | "expiring">;

export const BODY_LIMIT_BYTES = 32 * 1024;

export type IssuerAppDeps = {
  service: IssuerServiceApi;
  auth: SiweAuth;
  logger: Logger;
  /** Extra facts for /health (e.g. the provider and whether it is for production). */
  health?: () => Promise<Record<string, unknown>> | Record<string, unknown>;
  /** Requests to each sign-in route per client address (IPv4, or IPv6 /64); SIGN_IN_RATE by default. */
  signInRate?: RateLimit;
  /** Milliseconds since the epoch, for the rate limits. */
  now?: () => number;
  /** The reverse proxies whose X-Forwarded-For names the client (IssuerConfig.trustProxy); none by default. */
  trustProxy?: readonly string[];
};

/**
 * The sign-in routes answer anyone, and login verifies a signature: a person signs in a few
 * times a day, so 30 at once and one a second after that, per address, leave room for many
 * people behind one carrier-grade NAT while one machine's flood is refused in O(1).
 */
/** A per-client limit: a burst, then `perSecond` refilled continuously. */
export type RateLimit = { burst: number; perSecond: number };

export const SIGN_IN_RATE: RateLimit = { burst: 30, perSecond: 1 };

/** An answer other than 2xx, with the code table's name and, for bad input, the field. */
export class IssuerHttpError extends Error {
  override readonly name = "IssuerHttpError";
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
// zod 4 runs a transform even after a failed check: checksum only what passed.
const address = z.string().regex(ADDRESS, "must be a 0x-prefixed 20-byte address").transform((a) => (ADDRESS.test(a) ? getAddress(a.toLowerCase()) : (a as Address)));
const hex = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, "must be 0x-prefixed hex");
const bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be 0x-prefixed 32-byte hex").transform((h) => h as Hex);
const reason = z.string().trim().min(3, "give a reason (at least 3 characters)").max(500);

const schemas = {
  nonce: z.object({ address }).strict(),
  login: z.object({ message: z.string().min(1).max(4096), signature: hex.transform((h) => h as Hex) }).strict(),
  application: z.looseObject({ proof: z.object({ signer: address, signature: hex.transform((h) => h as Hex) }).strict().optional() }),
  approve: z
    .object({
      kycLevel: z.union([z.literal(1), z.literal(2)]),
      investorType: z.enum(["retail", "professional", "institutional"]),
      expiresAt: z.number().int().positive(),
    })
    .strict(),
  reason: z.object({ reason }).strict(),
  idempotencyKey: z.string().regex(/^[A-Za-z0-9_.:-]{8,128}$/, "must be 8-128 characters of A-Z a-z 0-9 _ . : -"),
  readQuery: z.object({ reason }),
  expiringQuery: z.object({ withinDays: z.coerce.number().int().min(0).max(3650).default(30) }),
  applicationId: z.string().min(1).max(100),
};

function parse<T extends z.ZodType>(schema: T, value: unknown, prefix?: string): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = [prefix, ...issue.path.map(String)].filter(Boolean).join(".") || undefined;
  throw new IssuerHttpError(400, ISSUER_ERROR.BAD_INPUT, `${field ?? "request body"}: ${issue.message}`, field);
}

type Locals = { session?: IssuerSession };

export function createIssuerApp(deps: IssuerAppDeps): express.Express {
  const { service, auth, logger } = deps;
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "simple");
  // Only the configured proxies' X-Forwarded-For is believed: from anyone else the header is
  // ignored, so a client cannot name another address to get a fresh sign-in bucket.
  if (deps.trustProxy && deps.trustProxy.length > 0) app.set("trust proxy", [...deps.trustProxy]);

  app.use((req, res, next) => {
    const started = performance.now();
    res.on("finish", () => {
      const session = (res.locals as Locals).session;
      // The route pattern, not the URL: paths and queries are not the log's business.
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : "(unmatched)";
      logger.info({ method: req.method, route, status: res.statusCode, ms: Math.round(performance.now() - started), wallet: session?.wallet }, "request");
    });
    next();
  });
  app.use(express.json({ limit: BODY_LIMIT_BYTES, strict: true }));

  const v1 = express.Router();
  const sessionOf = (req: Request, res: Response): IssuerSession => {
    const m = /^Bearer ([A-Za-z0-9_-]{20,100})$/.exec(req.get("authorization") ?? "");
    const session = m ? auth.session(m[1]!) : null;
    if (!session) throw new IssuerHttpError(401, "ISSUER_AUTH_REQUIRED", "sign in first (Authorization: Bearer <token> from POST /issuer/v1/siwe/login)");
    (res.locals as Locals).session = session;
    return session;
  };
  const officerOf = (req: Request, res: Response): Address => {
    const session = sessionOf(req, res);
    // Today's configuration decides, not the role at sign-in: a removed officer loses access at once.
    if (!auth.isOfficer(session.wallet)) throw new IssuerHttpError(403, ISSUER_ERROR.NOT_OFFICER, "this route is for issuer officers");
    return session.wallet;
  };
  const route = (method: "get" | "post", path: string, handle: (req: Request, res: Response) => Promise<unknown>) => {
    v1[method](path, (req, res, next) => {
      handle(req, res).then((data) => res.json(data ?? null), next);
    });
  };

  const now = deps.now ?? Date.now;
  const limited = ({ burst, perSecond }: RateLimit) => {
    if (!(burst >= 1) || !(perSecond > 0)) throw new RangeError("a rate limit needs a burst of 1 or more and a positive refill");
    const buckets = new TokenBuckets();
    return (req: Request, res: Response, next: NextFunction) => {
      const waitMs = buckets.waitMs(ipLimitKey(req.ip ?? req.socket.remoteAddress ?? "unknown"), burst, perSecond, now());
      if (waitMs === 0) return next();
      const seconds = Math.ceil(waitMs / 1000);
      res.set("retry-after", String(seconds));
      next(new IssuerHttpError(429, "ISSUER_RATE_LIMITED", `too many sign-in requests from this address; try again in ${seconds} s`));
    };
  };
  v1.post("/siwe/nonce", limited(deps.signInRate ?? SIGN_IN_RATE));
  v1.post("/siwe/login", limited(deps.signInRate ?? SIGN_IN_RATE));
  route("post", "/siwe/nonce", async (req) => auth.challenge(parse(schemas.nonce, req.body).address));
  route("post", "/siwe/login", async (req) => {
    const { message, signature } = parse(schemas.login, req.body);
    const s = await auth.login(message, signature);
    return { token: s.token, wallet: s.wallet, role: s.role, expiresAt: s.expiresAt };
  });

  route("post", "/applications", async (req, res) => {
    const wallet = sessionOf(req, res).wallet;
    const key = parse(schemas.idempotencyKey, req.get("idempotency-key") ?? "", "Idempotency-Key");
    const { proof, ...input } = parse(schemas.application, req.body);
    return service.submit(wallet, input, key, proof);
  });
  route("get", "/applications/me", async (req, res) => service.status(sessionOf(req, res).wallet));
  route("get", "/me/data", async (req, res) => service.myData(sessionOf(req, res).wallet));
  route("post", "/me/erase", async (req, res) => service.erase(sessionOf(req, res).wallet));

  route("get", "/review/queue", async (req, res) => {
    officerOf(req, res);
    return service.queue();
  });
  route("get", "/review/applications/:id", async (req, res) => {
    const officer = officerOf(req, res);
    const { reason: why } = parse(schemas.readQuery, req.query);
    return service.read(officer, parse(schemas.applicationId, req.params.id, "id"), why);
  });
  route("post", "/review/applications/:id/approve", async (req, res) => {
    const officer = officerOf(req, res);
    return service.approve(officer, parse(schemas.applicationId, req.params.id, "id"), parse(schemas.approve, req.body));
  });
  route("post", "/review/applications/:id/reject", async (req, res) => {
    const officer = officerOf(req, res);
    return service.reject(officer, parse(schemas.applicationId, req.params.id, "id"), parse(schemas.reason, req.body).reason);
  });
  route("post", "/review/identities/:identityHash/revoke", async (req, res) => {
    const officer = officerOf(req, res);
    return service.revoke(officer, parse(bytes32, req.params.identityHash, "identityHash"), parse(schemas.reason, req.body).reason);
  });
  route("get", "/review/expiring", async (req, res) => {
    officerOf(req, res);
    return service.expiring(parse(schemas.expiringQuery, req.query).withinDays * 86400);
  });

  mountIssuerPages(app);
  app.get("/health", (_req, res, next) => {
    Promise.resolve(deps.health?.() ?? {}).then((extra) => res.json({ status: "ok", ...extra }), next);
  });
  app.use("/issuer/v1", v1);
  app.use((_req: Request, _res: Response, next: NextFunction) => next(new IssuerHttpError(404, "ISSUER_NO_ROUTE", "no such route")));
  app.use(errorHandler(logger));
  return app;
}

const STATUS_OF: Record<IssuerErrorCode, number> = {
  [ISSUER_ERROR.BAD_INPUT]: 400,
  [ISSUER_ERROR.DUPLICATE]: 409,
  [ISSUER_ERROR.REQUEST_KEY_REUSED]: 409,
  [ISSUER_ERROR.WALLET_BOUND]: 409,
  [ISSUER_ERROR.IDENTITY_PENDING]: 409,
  [ISSUER_ERROR.PROOF_REQUIRED]: 409,
  [ISSUER_ERROR.BAD_PROOF]: 403,
  [ISSUER_ERROR.VERIFICATION_FAILED]: 422,
  [ISSUER_ERROR.PROVIDER_UNAVAILABLE]: 503,
  [ISSUER_ERROR.NOT_FOUND]: 404,
  [ISSUER_ERROR.WRONG_STATUS]: 409,
  [ISSUER_ERROR.NOT_OFFICER]: 403,
  [ISSUER_ERROR.SELF_REVIEW]: 403,
  [ISSUER_ERROR.CHAIN_FAILED]: 502,
  [ISSUER_ERROR.PII_KEY_UNKNOWN]: 500,
  [ISSUER_ERROR.PII_CORRUPT]: 500,
  [ISSUER_ERROR.CONFIG]: 500,
};

function errorHandler(logger: Logger) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const send = (status: number, code: string, message: string, field?: string) => {
      if (!res.headersSent) res.status(status).json(field ? { code, field, message } : { code, message });
    };
    const bodyError = err as { type?: string; status?: number };
    if (bodyError?.type === "entity.too.large") return send(413, "ISSUER_BODY_TOO_LARGE", `request body exceeds the ${BODY_LIMIT_BYTES / 1024} KB limit`);
    if (bodyError?.type === "entity.parse.failed") {
      // JSON.parse quotes the offending text: keep the position, drop the excerpt (it may be personal data).
      const where = /position \d+( \(line \d+ column \d+\))?/.exec((err as Error).message)?.[0];
      return send(400, "ISSUER_MALFORMED_JSON", `request body is not valid JSON${where ? ` (at ${where})` : ""}`);
    }
    if (err instanceof IssuerHttpError) return send(err.status, err.code, err.message, err.field);
    if (err instanceof SiweAuthError) return send(401, err.code, err.message);
    if (err instanceof IssuerChainError) {
      logger.error({ code: err.code, revert: err.revert }, "chain refused an issuer transaction");
      return send(502, err.code, err.revert ? `the identity registry refused: ${err.revert}` : "the chain could not take the transaction; try again");
    }
    if (err instanceof IssuerError) {
      const status = STATUS_OF[err.code] ?? 500;
      // The service words chain failures for people; the registry's error name says which rule refused.
      const revert = err.cause instanceof IssuerChainError ? err.cause.revert : null;
      if (status >= 500) logger.error({ code: err.code, revert }, "issuer error");
      return send(status, err.code, revert ? `${err.message} (the registry refused: ${revert})` : err.message, err.field);
    }
    // Unknown errors may carry anything: log the name only, answer without detail.
    logger.error({ error: err instanceof Error ? err.name : typeof err }, "unexpected error");
    send(500, "ISSUER_INTERNAL", "internal error");
  };
}

export function listen(app: express.Express, port: number, host = "127.0.0.1"): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, () => resolve(server));
    server.once("error", reject);
  });
}
