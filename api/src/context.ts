import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { AuditTrail } from "./compliance/audit/auditTrail.ts";
import type { AuditIndex } from "./compliance/audit/auditIndex.ts";
import { openAuditLog } from "./compliance/audit/auditLog.ts";
import { resolveSigningKey, saveSigningKey, type ResolvedSigningKey } from "./compliance/audit/checkpoint.ts";
import { openPostgresAuditIndex } from "./compliance/audit/postgresAuditIndex.ts";
import { openWorkerSqliteAuditIndex } from "./compliance/audit/workerAuditIndex.ts";
import { createTradingRecorder } from "./compliance/audit/tradingRecorder.ts";
import { createApiKeyStore } from "./auth/apiKeyStore.ts";
import { openReplayBarrier, type ReplayBarrier } from "./auth/replayBarrier.ts";
import { createReplayGuard } from "./auth/replayGuard.ts";
import { createRoleResolver } from "./auth/roles.ts";
import { createSessionStore, type SessionStore } from "./auth/sessionStore.ts";
import { createSiweNonceStore, type SiweNonceStore } from "./auth/siweNonceStore.ts";
import type { ApiKeyStore, IdentityOracle, ReplayGuard, Role } from "./auth/types.ts";
import type { AuditAnchorView } from "./chain/auditAnchorer.ts";
import { startHolderRulesView, type HolderRulesView, type HolderRulesViewOptions } from "./chain/holderRulesView.ts";
import { registerClockMetrics } from "./clock/clockMetrics.ts";
import { startClockMonitor, type ClockMonitor } from "./clock/clockMonitor.ts";
import { startClockSampler } from "./clock/clockSampler.ts";
import { latestRecordedTime } from "./clock/restartFloor.ts";
import { createMicroClock, type MicroClock } from "./clock/microClock.ts";
import type { ServerConfig } from "./config/config.ts";
import { lockDataDir, type DataDirLock } from "./config/dataDirLock.ts";
import { KucoinFormat } from "./http/kucoinFormat.ts";
import { createFileJournal } from "./journal/fileJournal.ts";
import { createFileSnapshotStore } from "./journal/fileSnapshotStore.ts";
import { createRedisJournal, JOURNAL_STREAM } from "./journal/redisJournal.ts";
import type { Journal, JournalStats, SnapshotStore } from "./journal/types.ts";
import { MarketData } from "./marketdata/marketData.ts";
import { CandleStore } from "./marketdata/candleStore.ts";
import { defaultCatalog, type MarketCatalog } from "./markets/marketCatalog.ts";
import { createLogger, type Logger } from "./observability/logger.ts";
import { countBy, createMetrics, type Metrics } from "./observability/metrics.ts";
import { DEFAULT_RISK, type RiskConfig } from "./risk/types.ts";
import { TradingService, type TradingServiceOptions } from "./trading/tradingService.ts";
import { tradingQueries, type TradingQueries } from "./trading/queries.ts";
import { PastBooks } from "./compliance/pastBook.ts";
import { loadPilotRules, type LoadedPilotRules } from "./listing/pilotRules.ts";
import { ListingService, type ListingChain, type ListingRefusedEvent } from "./listing/listingService.ts";
import type { AuditEventInput } from "./compliance/audit/auditEvent.ts";
import type { ListingInput } from "./listing/listing.ts";
import { BulletTokens, endSessionBullets, type BulletTokenStore } from "./auth/bulletTokens.ts";
import { createLocalRateBuckets, type RateBuckets } from "./auth/rateBuckets.ts";
import { openSharedState } from "./auth/sharedState.ts";

/** Everything a route or a websocket handler may use. Built in one place; holds no logic. */
/** The ledger account trading fees are credited to unless a caller names another (an edge's replica applies trades with it too). */
export const DEFAULT_FEE_ACCOUNT = "sen:fees";

export type AppContext = {
  config: ServerConfig;
  logger: Logger;
  metrics: Metrics;
  now: () => number;
  /** The business clock: every journal record and audit event is stamped from it (docs/clock.md). */
  clock: MicroClock;
  /** Its RTS 25 record: source, bound, measured divergence (audited as clock.status). */
  clockMonitor: ClockMonitor;
  catalog: MarketCatalog;
  format: KucoinFormat;
  trading: TradingService;
  /** Reads of the exchange's state (routes, chain services, listings); commands go through `trading`. */
  queries: TradingQueries;
  /** Past order books for compliance, replayed from the journal through a scratch core (never the live one). */
  pastBooks: PastBooks;
  marketData: MarketData;
  /** Candles for the life of each market (SQLite in the data directory). */
  candles: CandleStore;
  keys: ApiKeyStore;
  sessions: SessionStore;
  siweNonces: SiweNonceStore;
  replay: ReplayGuard;
  /** Keeps signed requests single-use across restarts (see auth/replayBarrier.ts). */
  replayBarrier: ReplayBarrier;
  identity: IdentityOracle;
  roles: (wallet: `0x${string}`) => Role;
  bullets: BulletTokenStore;
  /** Per-IP limits of the unauthenticated routes. */
  publicBuckets: RateBuckets;
  /** The tamper-evident audit log, its query index and the surveillance detectors. */
  audit: AuditTrail;
  /** Public key (PEM) that verifies the audit log's signed checkpoints. */
  auditPublicKeyPem: string;
  /** Set by the chain services: "degraded" while the chain has not answered their polls for a while. */
  chainHealth?: () => "ok" | "degraded";
  /** Set by the chain services when checkpoints are anchored in the AuditAnchor contract. */
  auditAnchor?: AuditAnchorView;
  /** Wallet that collects trading fees in the ledger (the exchange's own account). */
  feeAccount: string;
  /** This process's ownership of the data directory (released when the gateway closes). */
  dataDirLock: DataDirLock;
  /** The chain's holder rules as the gateway sees them; absent without a chain. */
  holderView?: HolderRulesView;
  /** The pilot's rules in force (shipped default or SEN_PILOT_RULES). */
  pilot: LoadedPilotRules;
  /** The operator's listing flow and Sen's copies of the prospectuses. */
  listings: ListingService;
  /** The chain and contracts trades settle on (the trader app's wallet transactions read it); absent without a chain. */
  chain?: ContextDeps["chain"];
};

export type ContextDeps = {
  identity: IdentityOracle;
  now?: () => number;
  logger?: Logger;
  catalog?: MarketCatalog;
  risk?: RiskConfig;
  feeAccount?: string;
  /** The data directory's lock, when the caller took it earlier (npm start takes it before deploying). */
  dataDirLock?: DataDirLock;
  /** The journal, when the caller made it (the sequencer's Redis journal, fenced by its lease); default from config.journal. */
  journal?: Journal;
  /** Opens the trading state (default TradingService.open: snapshot + journal tail); a hot standby promotes its replica (cluster/hotStandby.ts). */
  openTrading?: (options: TradingServiceOptions) => ReturnType<typeof TradingService.open>;
  /** Wraps the data directory's snapshot store (the split's sequencer also publishes each snapshot for edges: cluster/snapshotRelay.ts). */
  publishSnapshots?: (local: SnapshotStore) => SnapshotStore;
  /** The tax rate and where it was read (the vault's tax policy when there is a chain); default: SEN_TAX_RATE_BPS. */
  tax?: { rateBps: number; source: string };
  /** The pilot's rules (default: SEN_PILOT_RULES or the shipped rules). */
  pilotRules?: LoadedPilotRules;
  /** Checks listings against the tokens on chain. */
  listingChain?: ListingChain;
  /** The venue's launch listings, imported at start (each once) through the listing flow with the publication time they state. */
  launchListings?: Array<{ input: ListingInput; publishedAt: number; by: string }>;
  /** The chain trades settle on: orders and withdrawals are then checked against its holder rules. */
  chain?: Pick<HolderRulesViewOptions, "publicClient" | "contracts" | "startBlock" | "confirmations">;
  /**
   * Run before the audit log's and the snapshots' writes; throws (or ends the process) to refuse
   * one. The split's sequencer checks its lease here: the directory is the next holder's once it ran out.
   */
  writeFence?: () => void;
};

/** The volatility halts' rule; a replica (cluster/edgeRole.ts) must apply the journal with the same one. */
export const VOLATILITY_BANDS = { windowMs: 5 * 60_000, bandBps: 1_500, haltMs: 5 * 60_000 } as const;

/**
 * The journal's end for sen_journal_sequence, read at each scrape. prom-client's default GC
 * metrics keep a registry alive for the rest of the process (a PerformanceObserver that is
 * never disconnected), and through it this reader: made here, outside createContext, it holds
 * only the weak reference, not createContext's scope (a closure there would keep every
 * variable its sibling closures use, so a closed context's whole state).
 */
function journalEndOf(trading: WeakRef<TradingService>): () => number {
  return () => Number(trading.deref()?.lastSeq ?? 0n);
}

/**
 * The listing flow names its audit event below the trail (listingService.ts): every field of it
 * must be one the log writes, with a type it takes, or a field renamed in AuditEvent would vanish
 * from the line unnoticed. tsc refuses the line below when it does not hold.
 */
type ListingEventFits = [Exclude<keyof ListingRefusedEvent, keyof AuditEventInput>] extends [never] ? (ListingRefusedEvent extends AuditEventInput ? true : false) : false;
void (true satisfies ListingEventFits);

/** The journal's counters for the sen_journal_* gauges, held as journalEndOf holds the trading service (weakly). */
function journalStatsOf(journal: WeakRef<Journal>): () => JournalStats | undefined {
  return () => journal.deref()?.stats?.();
}

/**
 * What a start checks before it touches the data directory; a sequencer runs it before taking
 * the directory's lock too (cluster/sequencerRole.ts), so a bad configuration writes nothing.
 */
export function checkContextConfig(config: ServerConfig, pilotRules?: LoadedPilotRules): { pilotRules: LoadedPilotRules; signingKey: ResolvedSigningKey } {
  // A bad rule file stops the start before anything is written.
  const rules = pilotRules ?? loadPilotRules(config.pilotRulesFile);
  // Checked against the audit log's signed checkpoints, read only: a wrong key must not
  // rewrite checkpoint.pub (or anything else) before the log refuses it.
  return { pilotRules: rules, signingKey: resolveSigningKey(config.audit.dir, config.audit.signingKeyPem) };
}

export async function createContext(config: ServerConfig, deps: ContextDeps): Promise<AppContext> {
  const { pilotRules, signingKey } = checkContextConfig(config, deps.pilotRules);
  deps = { ...deps, pilotRules };
  mkdirSync(config.dataDir, { recursive: true });
  // Before anything in it is opened: one process per data directory.
  const dataDirLock = deps.dataDirLock ?? lockDataDir(config.dataDir);
  try {
    return await openContext(config, deps, dataDirLock, signingKey);
  } catch (err) {
    dataDirLock.release();
    throw err;
  }
}

async function openContext(config: ServerConfig, deps: ContextDeps, dataDirLock: DataDirLock, signingKey: ResolvedSigningKey): Promise<AppContext> {
  const now = deps.now ?? Date.now;
  const logger = deps.logger ?? createLogger(config.logLevel);
  const metrics = createMetrics();
  // One clock for the journal and the audit log, anchored to `now` (the wall clock unless a test gives its own).
  const clock = createMicroClock({ sources: { monoNs: () => process.hrtime.bigint(), wallMs: now } });
  const catalog = deps.catalog ?? defaultCatalog();
  const feeAccount = deps.feeAccount ?? DEFAULT_FEE_ACCOUNT;

  const journal: Journal =
    deps.journal ??
    (config.journal.kind === "file"
      ? createFileJournal({ dir: config.journal.dir, fsync: config.journal.fsync, onRepair: (info) => logger.warn(info, "journal: torn tail repaired") })
      : createRedisJournal({
          url: config.journal.url,
          stream: JOURNAL_STREAM,
          commandTimeoutMs: config.journalDeadlineMs,
          onConnectionError: (err) => logger.warn({ err: err.message }, "journal: Redis connection error"),
        }));
  const fileSnapshots = createFileSnapshotStore({ dir: config.snapshotDir, onCorrupt: (file, error) => logger.error({ file, err: error }, "snapshot corrupt, falling back") });
  const fence = deps.writeFence;
  // Checked as a save starts (its temp file, fsync and rename are the file store's).
  const local: SnapshotStore = fence
    ? {
        async save(seq, state, body) {
          fence();
          return fileSnapshots.save(seq, state, body);
        },
        load: () => fileSnapshots.load(),
      }
    : fileSnapshots;
  const snapshots = deps.publishSnapshots?.(local) ?? local;

  saveSigningKey(config.audit.dir, signingKey);
  const auditLog = await openAuditLog({
    dir: config.audit.dir,
    signingKey,
    writeFence: deps.writeFence,
    checkpointEvery: config.audit.checkpointEvery,
    retentionYears: config.audit.retentionYears,
    // Two kinds: a torn last line cut (offset, bytes, savedAs) or a cache rebuilt from the events (tiles, offsets files).
    onRepair: (info) => logger.warn({ info }, "rebuilt" in info ? "audit log: cache rebuilt from the events" : "audit log: torn tail repaired"),
    now: () => clock.now(),
  });
  // Nothing stamped from here on may be earlier than what is already recorded (a host clock
  // stepped back across the restart): floored now at the audit log, after replay at the journal.
  const auditLatest = await latestRecordedTime({ auditLog });
  if (auditLatest) clock.notBefore(auditLatest.us);
  const auditIndex: AuditIndex = config.audit.databaseUrl ? await openPostgresAuditIndex(config.audit.databaseUrl) : await openWorkerSqliteAuditIndex(path.join(config.audit.dir, "index.sqlite"));
  const audit = await AuditTrail.open({ log: auditLog, index: auditIndex, logger });
  const format = new KucoinFormat(catalog);

  const marketData = new MarketData(catalog.markets.keys(), (symbol) => 10n ** BigInt(catalog.currency(catalog.market(symbol)!.base)!.decimals));
  const candles = new CandleStore({ file: path.join(config.dataDir, "candles.sqlite"), onError: (err) => logger.error({ err }, "candle store: write failed; retried after a pause, stopped after 10 attempts in a row (the unwritten trades stay in snapshots)") });
  const started = Date.now();
  let tradingRef: TradingService | undefined;
  const coreOptions = { catalog, feeAccount, volatility: VOLATILITY_BANDS, orderRetentionMs: config.orderRetentionMs };
  const { service: trading, replayed, lastRecordUs } = await (deps.openTrading ?? ((o: TradingServiceOptions) => TradingService.open(o)))({
    core: coreOptions,
    journal,
    snapshots,
    snapshotEvery: config.snapshotEvery,
    snapshotSpacing: config.snapshotSpacing,
    journalDeadlineMs: config.journalDeadlineMs,
    risk: structuredClone(deps.risk ?? DEFAULT_RISK),
    pilotRules: deps.pilotRules!.rules,
    now,
    clock: () => clock.now(),
    parts: [marketData, candles],
    stateListeners: [marketData.handle, candles.record],
    onError: (err, what) => logger.error({ err }, `${what} failed`),
    onRejected: (code) => metrics.ordersRejected.inc({ code }),
    observer: createTradingRecorder({
      catalog,
      format,
      append: (e) => audit.append(e),
      flush: () => audit.flush(),
      refPrice: (symbol) => {
        const b = marketData.best(symbol);
        if (b.bid && b.ask) return Math.floor((b.bid[0] + b.ask[0]) / 2);
        return marketData.lastTrade(symbol) ? Number(marketData.lastTrade(symbol)!.price) : 0;
      },
      audited: await AuditTrail.journalPosition(auditLog),
      identityOf: (account) => {
        return tradingRef?.core.accountOrders(account)[0]?.identityHash;
      },
    }),
  }).catch((err: unknown) => {
    // A failed start (e.g. a corrupt journal) must not leave the candle database open behind it.
    try {
      candles.close();
    } catch {
      // the start's own error is the one to report
    }
    throw err;
  });
  await audit.flush();
  tradingRef = trading;
  const queries = tradingQueries(trading.core);
  const pastBooks = new PastBooks({ journal, journalEnd: () => trading.lastSeq, core: coreOptions });
  // Everything replayed came from the journal; live trades are written once durable.
  candles.markDurable(trading.core.tradeCount);
  trading.subscribe(candles.durable);
  const latest = await latestRecordedTime({ auditLog, journal: { journal, lastSeq: trading.lastSeq, lastRecordUs } });
  if (latest) clock.notBefore(latest.us);
  const clockMonitor = await startClockMonitor({
    clock,
    ...config.clock,
    floor: latest && { ...latest, raisedUs: clock.slewRemainingUs },
    // The system clock's sampling spins until Date.now ticks: in a worker, not on the sequencer's thread.
    sampler: deps.now ? undefined : startClockSampler(),
    record: (e) => audit.record(e),
    onCheck: registerClockMetrics(metrics.registry),
    onError: (err) => logger.error({ err }, "clock check failed"),
  });
  const pilot = deps.pilotRules!;
  audit.record({ type: "rules.loaded", actor: "gateway start", reason: pilot.rules.source, detail: { version: pilot.rules.version, sha256: pilot.sha256, file: pilot.file ?? "shipped default" } });
  const tax = deps.tax ?? { rateBps: config.taxRateBps, source: "SEN_TAX_RATE_BPS" };
  await trading.setTaxRate(tax.rateBps, tax.source, "gateway start");
  const listings = new ListingService({ trading, queries, pilot, dir: path.join(config.dataDir, "prospectus"), chain: deps.listingChain, now, record: (e) => audit.record(e) });
  // Before the holder rules view starts, so that it follows the listed tokens from its first read.
  for (const l of deps.launchListings ?? []) {
    if (queries.listing(`${l.input.base}-${l.input.quote}`)) continue;
    await listings.list(l.input, l.by, l.publishedAt);
  }
  logger.info({ replayed, lastSeq: trading.lastSeq.toString(), ms: Date.now() - started, journal: config.journal.kind }, "state recovered");
  const tradeCounted = countBy(metrics.trades, "symbol");
  const acceptedCounted = countBy(metrics.ordersAccepted, "symbol");
  trading.subscribe((e) => {
    if (e.kind === "trade") tradeCounted(e.symbol);
    // A stop is counted when accepted, not again when its trigger makes it live.
    else if (e.kind === "order" && e.change === "open" && !e.order.stop?.triggered) acceptedCounted(e.order.symbol);
  });
  metrics.readJournalSeqFrom(journalEndOf(new WeakRef(trading)));
  metrics.readJournalStatsFrom(journalStatsOf(new WeakRef(journal)));

  let identity = deps.identity;
  let holderView: HolderRulesView | undefined;
  if (deps.chain) {
    const view = await startHolderRulesView({
      ...deps.chain,
      catalog,
      queries,
      pollMs: config.chainPollMs,
      horizonMs: config.settlementHorizonMs,
      onError: (err) => logger.warn({ err }, "holder rules: chain poll failed; the last state read stays in force"),
    });
    trading.setHolderRules(view.rules);
    holderView = view;
    // A wallet that signs in is known to the view before its first order (it may be newer than the last poll).
    identity = {
      async verifiedIdentityOf(wallet) {
        const id = await deps.identity.verifiedIdentityOf(wallet);
        if (id) await view.sync().catch((err: unknown) => logger.warn({ err }, "holder rules: sync at sign-in failed; the next poll catches up"));
        return id;
      },
    };
  }

  const replayWindowMs = 5_000;
  // The split's processes share sessions, keys, the replay guard, websocket tokens and rate limits in Redis; one process keeps its own.
  const shared = config.role === "all" ? undefined : await openSharedState(config, { now, replayWindowMs, onError: (err) => logger.warn({ err }, "shared store (Redis): connection or token-revocation feed error") });
  const bullets = shared?.bullets ?? new BulletTokens(now);
  return {
    config,
    logger,
    metrics,
    now,
    clock,
    clockMonitor,
    catalog,
    format,
    trading,
    queries,
    pastBooks,
    marketData,
    candles,
    keys: shared?.keys ?? createApiKeyStore({ file: config.keysFile, masterKey: loadMasterKey(config), now, randomBytes }),
    sessions: shared?.sessions ?? createSessionStore({ now, randomBytes, onEnded: endSessionBullets(bullets) }),
    siweNonces: shared?.siweNonces ?? createSiweNonceStore({ now }),
    replay: shared?.replay ?? createReplayGuard({ now, windowMs: replayWindowMs }),
    replayBarrier: shared?.barrier ?? openReplayBarrier(config.dataDir, now, replayWindowMs),
    identity,
    roles: createRoleResolver({ operatorWallets: config.operators, complianceWallets: config.compliance }),
    bullets,
    publicBuckets: shared?.publicBuckets ?? createLocalRateBuckets(),
    audit,
    auditPublicKeyPem: signingKey.publicKeyPem,
    feeAccount,
    holderView,
    dataDirLock,
    pilot,
    listings,
    chain: deps.chain,
  };
}

/**
 * The key that encrypts API secrets at rest: from SEN_MASTER_KEY in production (a secret
 * manager), otherwise generated once into the data directory, readable by the owner only.
 */
function loadMasterKey(config: ServerConfig): Buffer {
  if (config.masterKeyHex) return Buffer.from(config.masterKeyHex, "hex");
  const file = path.join(config.dataDir, "master.key");
  if (!existsSync(file)) {
    writeFileSync(file, randomBytes(32).toString("hex"), { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return Buffer.from(readFileSync(file, "utf8").trim(), "hex");
}
