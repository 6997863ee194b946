import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import { Redis } from "ioredis";
import { Gauge } from "prom-client";
import type { StoredAlert } from "../compliance/audit/auditIndex.ts";
import type { AuditEventInput } from "../compliance/audit/auditEvent.ts";
import { createRoleResolver } from "../auth/roles.ts";
import { createSharedState, SHARED_REDIS_OPTIONS } from "../auth/sharedState.ts";
import type { IdentityOracle } from "../auth/types.ts";
import { createMicroClock } from "../clock/microClock.ts";
import { listeningOn, type ServerConfig } from "../config/config.ts";
import { ConfigCode, ConfigError } from "../config/errors.ts";
import { DEFAULT_FEE_ACCOUNT, VOLATILITY_BANDS, type AppContext } from "../context.ts";
import { SenError } from "../errors/SenError.ts";
import { edgeForwardHeaders, edgeForwardingKey, HOLDER_RULES_SYNC_PATH } from "../http/forwardedFor.ts";
import { toKucoinError } from "../http/errors.ts";
import { createGatewayListener } from "../http/leanRouter.ts";
import { KucoinFormat } from "../http/kucoinFormat.ts";
import { allRoutes } from "../http/routes/index.ts";
import { loadPilotRules } from "../listing/pilotRules.ts";
import { CandleStore } from "../marketdata/candleStore.ts";
import { MarketData } from "../marketdata/marketData.ts";
import type { MarketCatalog } from "../markets/marketCatalog.ts";
import { createLogger, type Logger } from "../observability/logger.ts";
import { countBy, createMetrics } from "../observability/metrics.ts";
import { DEFAULT_RISK } from "../risk/types.ts";
import { TradingService } from "../trading/tradingService.ts";
import { tradingQueries } from "../trading/queries.ts";
import { WsGateway } from "../ws/wsGateway.ts";
import { createCommandClient } from "./commandBus.ts";
import { EdgeCode, EdgeTrading } from "./edgeTrading.ts";
import { startJournalFollower } from "./journalFollower.ts";
import { readLease } from "./lease.ts";
import { subscribeAlerts, type AlertFeed } from "./alertRelay.ts";
import { JOURNAL_STREAM } from "../journal/redisJournal.ts";
import { loadPublishedSnapshot } from "./snapshotRelay.ts";

/**
 * Route groups an edge serves itself (tags of http/routes): market data, balances, ledgers,
 * deposits and fees, orders and stop orders (commands over the bus), fills, websocket tokens,
 * sign-in and API keys. Everything else is forwarded to the sequencer: operator, compliance,
 * audit, tax, wallet (chain) views, and within these tags the Sen routes that read what only
 * the sequencer holds (listings and their prospectuses, eligibility under the chain's holder
 * rules) and withdrawals (checked against the holder rules).
 */
const LOCAL_TAGS = new Set(["market", "compat", "account", "orders", "websocket", "sen-auth"]);
const forwardedAnyway = (method: string, path: string) =>
  (method === "post" && path === "/api/v3/withdrawals") ||
  (path.startsWith("/api/v1/sen/") && !path.startsWith("/api/v1/sen/auth/") && !path.startsWith("/api/v1/sen/api-keys"));
/** Candle history: an edge started from a snapshot has only the candles of the trades after it; the sequencer has them all. */
const CANDLES = "/api/v1/market/candles";
/** Pages outside /api/ that read the sequencer's files (the prospectuses). */
const FORWARDED_PAGES = /^\/listings\//;


export type EdgeDeps = {
  identity: IdentityOracle;
  /** The currencies and markets as the sequencer starts with them (listings arrive through the journal). */
  catalog: MarketCatalog;
  logger?: Logger;
  /** The replica cannot follow the journal any more (gap, unappliable record): default logs and exits. */
  onFatal?: (err: Error) => void;
};

export type RunningEdge = { url: string; server: Server; ctx: AppContext; close(): Promise<void> };

/**
 * An edge: HTTP + websocket termination in front of the one active sequencer (split-design).
 * It keeps a replica of the exchange from `sen:journal`, serves the trading routes, market data
 * and the websocket from it (commands go over the command bus), and forwards every other route
 * to the sequencer named in the lease.
 */
export async function startEdge(config: ServerConfig, deps: EdgeDeps): Promise<RunningEdge> {
  if (config.journal.kind !== "redis") throw new ConfigError(ConfigCode.INVALID, "SEN_ROLE=edge needs REDIS_URL");
  const redisUrl = config.journal.url;
  const logger = deps.logger ?? createLogger(config.logLevel);
  const now = Date.now;
  const metrics = createMetrics();
  const { catalog } = deps;
  const pilot = loadPilotRules(config.pilotRulesFile);

  // Commands, lease reads, the snapshot and the shared stores: short requests that must fail rather than hang.
  const redis = new Redis(redisUrl, { lazyConnect: true, ...SHARED_REDIS_OPTIONS });
  redis.on("error", (err: Error) => logger.warn({ err: err.message }, "edge: Redis connection error"));
  await redis.connect();
  const started = Date.now();
  const snapshot = await startSnapshot(redis, logger);

  const marketData = new MarketData(catalog.markets.keys(), (symbol) => 10n ** BigInt(catalog.currency(catalog.market(symbol)!.base)!.decimals));
  // The replica's candles live as long as it does: from a snapshot they are only the later trades' (the candle route is then forwarded).
  const candles = new CandleStore({ file: ":memory:", fromStartOnly: true, onError: (err) => logger.warn({ err }, "candle store (replica)") });
  const replicaOptions = {
    core: { catalog, feeAccount: DEFAULT_FEE_ACCOUNT, volatility: VOLATILITY_BANDS, orderRetentionMs: config.orderRetentionMs },
    risk: structuredClone(DEFAULT_RISK),
    pilotRules: pilot.rules,
    now,
    // Market data (tickers, recent trades) comes back with the snapshot; the candle history stays the sequencer's.
    parts: [marketData],
    stateListeners: [marketData.handle, candles.record],
    onError: (err: unknown, what: string) => logger.error({ err }, `${what} failed`),
  };
  const replica = snapshot ? TradingService.follower(replicaOptions, snapshot) : TradingService.follower(replicaOptions);
  const startSeq = replica.lastSeq;
  replica.subscribe(candles.durable);
  const tradeCounted = countBy(metrics.trades, "symbol");
  replica.subscribe((e) => {
    if (e.kind === "trade") tradeCounted(e.symbol);
  });

  const onFatal =
    deps.onFatal ??
    ((err: Error) => {
      // The replica can never be right again: stop serving it (a supervisor restarts the edge, which replays from the start).
      logger.fatal({ err }, "edge: the journal replica stopped; exiting");
      process.exit(70);
    });
  const follower = startJournalFollower({
    url: redisUrl,
    replica,
    onFatal,
    onConnectionError: (err) => logger.warn({ err: err.message }, "edge: journal follower lost Redis; reading on from the last record"),
  });
  await follower.caughtUp;
  const replayed = replica.lastSeq - startSeq;
  logger.info({ lastSeq: replica.lastSeq.toString(), fromSnapshot: startSeq.toString(), replayed: replayed.toString(), ms: Date.now() - started }, "edge: replica caught up with the journal");
  new Gauge({ name: "sen_edge_start_snapshot_seq", help: "The journal record of the snapshot this edge's replica started from (0: none, replayed from record 1)", registers: [metrics.registry] }).set(Number(startSeq));
  new Gauge({ name: "sen_edge_start_records_replayed", help: "Journal records this edge's replica applied to catch up at start", registers: [metrics.registry] }).set(Number(replayed));
  const alerts = subscribeAlerts(redisUrl, (err) => logger.warn({ err }, "edge: surveillance alert feed"));
  // Subscribed before the edge serves: an officer connecting at once misses no alert raised after that.
  await alerts.ready.catch(() => undefined);

  // Sign-ins, API keys, the replay guard, websocket tokens and per-IP limits: shared by every edge.
  const shared = await createSharedState(config, redis, { now, onError: (err) => logger.warn({ err }, "edge: shared state feed interrupted") });
  const commands = createCommandClient({ redis, nodeId: config.nodeId });
  const trading = new EdgeTrading(replica, follower, commands);
  // SEN_MASTER_KEY is there (createSharedState refuses to start without it).
  const forwardKey = edgeForwardingKey(config.masterKeyHex)!;
  const audit = edgeAudit((input) => commands.send("audit", [input]), alerts, logger);

  const ctx = {
    config,
    logger,
    metrics,
    now,
    clock: createMicroClock({ sources: { monoNs: () => process.hrtime.bigint(), wallMs: now } }),
    clockMonitor: sequencerOnly("clockMonitor", { stop: () => undefined }),
    catalog,
    format: new KucoinFormat(catalog),
    trading: sequencerOnly("trading", trading),
    // The routes served here read the replica, as they read the core in one process.
    queries: tradingQueries(replica.core),
    marketData,
    candles,
    keys: shared.keys,
    sessions: shared.sessions,
    siweNonces: shared.siweNonces,
    replay: shared.replay,
    replayBarrier: shared.barrier,
    publicBuckets: shared.publicBuckets,
    identity: syncingAtSignIn(deps.identity, redis, forwardKey, logger),
    roles: createRoleResolver({ operatorWallets: config.operators, complianceWallets: config.compliance }),
    bullets: shared.bullets,
    audit,
    auditPublicKeyPem: "",
    feeAccount: DEFAULT_FEE_ACCOUNT,
    dataDirLock: { release: () => undefined },
    pilot,
    listings: sequencerOnly("listings", {}),
    pastBooks: sequencerOnly("pastBooks", {}),
  } as unknown as AppContext;

  // The same listener as a single process (the lean order path included) for what is served here.
  const app = createGatewayListener(ctx);
  const local = localMatcher(ctx, { candles: snapshot === null });
  const forward = forwarder(redis, logger, forwardKey);
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    if (local(req.method ?? "GET", req.url ?? "/")) app(req, res);
    else forward(req, res);
  });
  const wsDeps = { catalog, format: ctx.format, marketData, candles, now, logger, metrics, trading, bullets: shared.bullets, audit, roles: ctx.roles };
  const ws = new WsGateway(wsDeps, { conflateMs: config.wsConflateMs, maxBufferedBytes: config.wsMaxBufferedBytes, fanoutChunk: config.wsFanoutChunk, path: "/ws" });
  ws.attach(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as { port: number };
  const url = `http://${config.host}:${port}`;
  ctx.config = listeningOn(config, port);
  return {
    url,
    server,
    ctx,
    async close() {
      ws.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await audit.flush().catch(() => undefined);
      await commands.close();
      await shared.close();
      await follower.close();
      alerts.close();
      candles.close();
      redis.disconnect();
    },
  };
}

/**
 * Audit events produced at the edge (sign-ins, API keys, websocket queries) go to the
 * sequencer's audit trail over the bus; flush() resolves once it has recorded them.
 */
function edgeAudit(send: (input: AuditEventInput) => Promise<unknown>, alerts: Pick<AlertFeed, "onAlert">, logger: Logger) {
  const pending = new Set<Promise<unknown>>();
  const standIn = {
    record(input: AuditEventInput): undefined {
      const p = send(input).catch((err: unknown) => {
        logger.error({ err, type: input.type }, "edge: audit event not recorded by the sequencer");
        throw err;
      });
      p.catch(() => undefined);
      pending.add(p);
      void p.finally(() => pending.delete(p)).catch(() => undefined);
      return undefined;
    },
    async flush(): Promise<void> {
      const now = [...pending];
      await Promise.all(now);
    },
    /** Surveillance alerts are raised by the sequencer's audit trail and relayed to every edge (alertRelay.ts). */
    onAlert: (listener: (a: StoredAlert) => void) => alerts.onAlert(listener),
    /** The audit log is the sequencer's; health of this edge does not depend on it. */
    log: { failed: null },
  };
  return sequencerOnly("audit", standIn);
}

/**
 * A stand-in whose members outside `own` fail loudly: an edge-local route reaching for
 * something only the sequencer can do must not quietly answer from the replica.
 */
function sequencerOnly<T extends object>(what: string, own: T): T {
  return new Proxy(own, {
    get(target, prop) {
      if (typeof prop === "symbol" || prop in target || prop === "then") {
        // The target itself as `this`: its private fields are not on the proxy.
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      }
      throw new SenError(EdgeCode.SEQUENCER_ONLY, `${what}.${prop} is the sequencer's; this route should be forwarded to it`);
    },
  });
}

/** Which requests the edge serves itself: its local routes, health, metrics and the static pages. */
function localMatcher(ctx: AppContext, serve: { candles: boolean }): (method: string, url: string) => boolean {
  const routes = allRoutes(ctx)
    .filter((r) => LOCAL_TAGS.has(r.tag) && !forwardedAnyway(r.method, r.path) && (serve.candles || r.path !== CANDLES))
    .map((r) => ({ method: r.method.toUpperCase(), re: new RegExp(`^${r.path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\\?:[A-Za-z]+/g, "[^/]+")}$`) }));
  return (method, url) => {
    const pathname = url.split("?", 1)[0];
    if (!pathname.startsWith("/api/")) return !FORWARDED_PAGES.test(pathname);
    return routes.some((r) => r.method === method && r.re.test(pathname));
  };
}

/** Headers that describe one hop, not the message (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization", "proxy-authenticate"]);

/**
 * Forwards a request to the active sequencer (from the lease), streaming both ways: method,
 * path, headers and body as sent (a signed request's signature covers them), status and
 * headers as answered. No active sequencer: 503 in the API's error envelope.
 */
function forwarder(redis: Redis, logger: Logger, forwardKey: Buffer) {
  /** The API's error envelope for `senCode`: status, KuCoin code and words from http/errors.ts's table (`msg` when the case says more). */
  const fail = (res: ServerResponse, senCode: string, msg?: string) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const e = toKucoinError(new SenError(senCode, ""));
    res.writeHead(e.status, { "content-type": "application/json; charset=utf-8" });
    res.end(JSON.stringify({ code: e.code, msg: msg ?? e.msg, senCode }));
  };
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = pathOf(req.url ?? "/");
    if (path === null) {
      req.resume();
      fail(res, EdgeCode.BAD_TARGET);
      return;
    }
    let base: string | undefined;
    try {
      // Read per request: after a failover the next request goes to the new sequencer.
      base = (await readLease(redis))?.http || undefined;
    } catch (err) {
      logger.warn({ err }, "edge: cannot read the sequencer's lease");
    }
    if (!base) {
      req.resume();
      fail(res, EdgeCode.NO_SEQUENCER);
      return;
    }
    const target = new URL(path, base);
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
    headers.host = target.host;
    // The client's address, with the proof the sequencer trusts it on (a client's own X-Forwarded-For is dropped).
    Object.assign(headers, edgeForwardHeaders(forwardKey, req.socket.remoteAddress ?? "", req.method ?? "GET", path));
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    const upstream = send(target, { method: req.method, headers }, (up) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
      res.writeHead(up.statusCode ?? 502, up.statusMessage, out);
      up.pipe(res);
      up.on("error", () => res.destroy());
    });
    upstream.on("error", (err) => {
      logger.warn({ err: err.message, path: target.pathname }, "edge: forwarding to the sequencer failed");
      fail(res, EdgeCode.NO_SEQUENCER, "Service unavailable: the sequencer did not answer; retry shortly");
    });
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  };
}

/**
 * The path (and query) to forward, or null. An absolute-form target (`GET http://elsewhere/x`,
 * which an HTTP/1.1 server must accept, RFC 9112 section 3.2.2) is served as its path: resolved against the
 * sequencer's address as it came, it would have sent the request to the host it names. `//` and
 * the like are no URL at all: they threw there, outside any catch, and took the edge down.
 */
function pathOf(target: string): string | null {
  if (target.startsWith("/") && !target.startsWith("//")) return target;
  try {
    const u = new URL(target);
    return u.protocol === "http:" || u.protocol === "https:" ? `${u.pathname}${u.search}` : null;
  } catch {
    return null;
  }
}

/**
 * The snapshot the replica starts from: the sequencer's latest published one, unless there is
 * none or it is ahead of the journal (a journal stream reset under a stale snapshot key): then
 * the replica replays from record 1, as it always can.
 */
async function startSnapshot(redis: Redis, logger: Logger): Promise<{ seq: bigint; state: unknown } | null> {
  let snap: { seq: bigint; state: unknown } | null;
  try {
    snap = await loadPublishedSnapshot(redis);
  } catch (err) {
    logger.warn({ err }, "edge: the published snapshot is unreadable; replaying the journal from record 1");
    return null;
  }
  if (snap === null) return null;
  const top = await redis.xrevrange(JOURNAL_STREAM, "+", "-", "COUNT", 1);
  const topSeq = top.length === 0 ? 0n : BigInt(top[0][0].split("-", 1)[0]);
  if (snap.seq > topSeq) {
    logger.warn({ snapshot: snap.seq.toString(), journal: topSeq.toString() }, "edge: the published snapshot is ahead of the journal; replaying the journal from record 1");
    return null;
  }
  return snap;
}

/**
 * The identity oracle of an edge's sign-in: a verified wallet makes the sequencer read the
 * chain's holder rules again before answering (as a single process does at sign-in), so the
 * wallet's first order is not refused for a holder state older than its attestation. A failed
 * request only delays that to the next chain poll, as a failed sync does in one process.
 */
function syncingAtSignIn(identity: IdentityOracle, redis: Redis, key: Buffer, logger: Logger): IdentityOracle {
  return {
    async verifiedIdentityOf(wallet) {
      const id = await identity.verifiedIdentityOf(wallet);
      if (!id) return id;
      try {
        const base = (await readLease(redis))?.http;
        if (!base) throw new SenError(EdgeCode.NO_SEQUENCER, "no sequencer is active");
        const res = await fetch(new URL(HOLDER_RULES_SYNC_PATH, base), { method: "POST", headers: edgeForwardHeaders(key, "edge", "POST", HOLDER_RULES_SYNC_PATH), signal: AbortSignal.timeout(5_000) });
        await res.body?.cancel();
        if (!res.ok) throw new SenError(EdgeCode.SEQUENCER_FAILED, `the sequencer answered ${res.status}`);
      } catch (err) {
        logger.warn({ err }, "edge: holder rules sync at sign-in failed; the next chain poll catches up");
      }
      return id;
    },
  };
}
