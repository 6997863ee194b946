import { mkdirSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { Redis } from "ioredis";
import type { ServerConfig } from "../config/config.ts";
import { DataDirBusyError, lockDataDir, type DataDirLock } from "../config/dataDirLock.ts";
import { checkContextConfig, type AppContext } from "../context.ts";
import { createRedisJournal, JOURNAL_STREAM, newestRecords, type RedisJournal } from "../journal/redisJournal.ts";
import type { Journal } from "../journal/types.ts";
import { startCommandConsumer } from "./commandBus.ts";
import { acquireLease, DEFAULT_LEASE_MS, LEASE_KEY, type Lease, type LeaseInfo } from "./lease.ts";
import { ConfigCode, ConfigError } from "../config/errors.ts";
import type { MarketCatalog } from "../markets/marketCatalog.ts";
import type { TradingServiceOptions, TradingService } from "../trading/tradingService.ts";
import { startHotStandby, type HotStandby } from "./hotStandby.ts";

/**
 * A sequencer process (SEN_ROLE=sequencer): a standby until it holds the lease, then the whole
 * exchange as a normal start (every route, audit trail, candles, chain services), plus the
 * command consumer feeding edges' commands to the TradingService.
 *
 * The standby is hot (hotStandby.ts): while it waits, a replica follows `sen:journal`; on
 * takeover that replica becomes the writer's trading state (it reads only the records it had
 * not yet applied), instead of replaying the journal tail from the data directory's snapshot.
 * A replica that cannot be promoted (it stopped following, or its history does not reach the
 * snapshot) is logged and the exchange opens from the snapshot + journal tail (warm), as does
 * a process that gets the lease at once.
 *
 * Nothing in the data directory is written before the lease is held (a hot standby only reads
 * its latest snapshot): a standby does not take
 * the directory's lock, so the active one on the same machine (or a shared volume) keeps it.
 * Losing the lease is fail-stop: stop taking commands and exit non-zero at once (the journal
 * refuses this process's batches anyway: they are fenced by the lease token). A supervisor
 * restarts it, as a standby.
 */
export type OpenedExchange = { ctx: AppContext; url: string; stop(): Promise<void> };

export type SequencerOptions = {
  config: ServerConfig;
  /** Opens the context, the gateway and the chain services like a normal start, with the given journal, lock, way to open the trading state and data-directory write fence. */
  open(deps: { journal: Journal; dataDirLock: DataDirLock; openTrading?: OpenTrading; writeFence?: () => void }): Promise<OpenedExchange>;
  leaseMs?: number;
  /** The catalog `open` builds the exchange with: given, the standby is hot (its replica shares it). */
  catalog?: MarketCatalog;
};

/** How the context opens the trading state (context.ts ContextDeps.openTrading). */
export type OpenTrading = (options: TradingServiceOptions) => Promise<{ service: TradingService; replayed: number; lastRecordUs?: bigint }>;

/** Exit code of a sequencer that lost its lease (or whose journal failed): a supervisor restarts it as a standby. */
export const EXIT_LEASE_LOST = 75;

function die(message: string, code = EXIT_LEASE_LOST): never {
  // Synchronous: a lease lost after a pause must stop this process before anything else runs.
  try {
    writeSync(2, `${new Date().toISOString()} sequencer: ${message}; exiting\n`);
  } catch {
    // stderr gone
  }
  process.exit(code);
}

/**
 * The data directory's write fence for a lease holder. The journal is fenced in Redis, the
 * directory only by this check: a holder paused past its lease (SIGSTOP, GC, VM stall) may wake
 * with a timer due before the lease's own check (the audit trail flushes every 50 ms), and must
 * not append to files the next holder now owns. Local (no round trip): the lease's expiry has
 * passed on this clock by then. Ends the process as the lease's loss does.
 */
export function leaseWriteFence(lease: Pick<Lease, "isValid">): () => void {
  return () => {
    if (!lease.isValid()) die("the sequencer lease ran out before a write to the data directory");
  };
}

/**
 * The directory lock for the lease holder. A lock left by a process that died is taken over by
 * lockDataDir itself; one held by a LIVE process means that process lost the lease while
 * paused or cut off (the lease is the authority between sequencers): it is fenced from the
 * journal and exits as soon as it runs, so its lock is taken from it.
 */
function lockAsLeaseHolder(config: ServerConfig, log: (msg: string, extra?: object) => void): DataDirLock {
  try {
    return lockDataDir(config.dataDir);
  } catch (err) {
    if (!(err instanceof DataDirBusyError)) throw err;
    log("the data directory is locked by a live process that no longer holds the sequencer lease: taking the lock from it", { pid: err.pid });
    const file = `${config.dataDir}/LOCK`;
    const aside = `${file}.fenced-${err.pid}-${process.pid}`;
    try {
      renameSync(file, aside);
      unlinkSync(aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    return lockDataDir(config.dataDir);
  }
}

export async function runSequencer(options: SequencerOptions): Promise<OpenedExchange> {
  const { config } = options;
  if (config.journal.kind !== "redis") throw new ConfigError(ConfigCode.INVALID, "SEN_ROLE=sequencer needs REDIS_URL");
  const redisUrl = config.journal.url;
  // Before the lease: a standby with a bad rule file or signing key fails now, not at takeover
  // with the lease held and the directory locked.
  checkContextConfig(config);
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const log = (msg: string, extra: object = {}) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), node: config.nodeId, ...extra, msg })}\n`);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, commandTimeout: Math.max(500, Math.floor(leaseMs / 2)) });
  redis.on("error", () => undefined); // retried by ioredis; the lease notices a long outage

  let holder: LeaseInfo | null = null;
  let standby: Promise<HotStandby | null> | null = null;
  const waitStarted = Date.now();
  const lease = await acquireLease({
    redis,
    nodeId: config.nodeId,
    ttlMs: leaseMs,
    onWaiting: (h) => {
      holder = h;
      log("standby: waiting for the sequencer lease", { holder: h?.node ?? null, hot: options.catalog !== undefined });
      const catalog = options.catalog;
      if (!catalog) {
        process.stdout.write(`SEN_STANDBY ${config.nodeId}\n`);
        return;
      }
      standby = startHotStandby({ config, redisUrl, catalog, redis, log }).then(
        (s) => {
          process.stdout.write(`SEN_STANDBY ${config.nodeId} ${s.healthUrl}\n`);
          return s;
        },
        (err: unknown) => {
          log("hot standby: the replica could not start; a takeover opens from the snapshot and journal tail", { err: String(err) });
          process.stdout.write(`SEN_STANDBY ${config.nodeId}\n`);
          return null;
        },
      );
    },
    onLost: (reason) => die(`lost the sequencer lease (${reason})`),
  });
  const acquiredAt = Date.now();
  // From here the lease is held: a start that fails gives it back at once (else a standby waits out its ttl).
  let dataDirLock: DataDirLock | undefined;
  let journal: RedisJournal | undefined;
  let opened: OpenedExchange;
  let stoppedFollowingMs: number;
  let promotion: { replayed: number; fallback?: string; ms: number } | null = null;
  try {
    const hot = standby ? await (standby as Promise<HotStandby | null>) : null;
    const promote = hot ? await hot.takeOver() : null;
    stoppedFollowingMs = Date.now() - acquiredAt;
    if (hot && !promote) log("hot standby: the replica is broken; opening from the snapshot and journal tail", { err: hot.broken?.message });
    log("holding the sequencer lease: opening the exchange", { previous: (holder as LeaseInfo | null)?.node ?? null, waitedMs: acquiredAt - waitStarted, replicaSeq: hot?.lastSeq.toString() ?? null });
    const openTrading: OpenTrading | undefined = promote
      ? async (opts) => {
          const t0 = Date.now();
          const r = await promote(opts);
          promotion = { ...r, ms: Date.now() - t0 };
          if (r.fallback) log("hot standby: the replica could not be promoted; opened from the snapshot and journal tail", { reason: r.fallback });
          return r;
        }
      : undefined;

    // A fresh SEN_DATA_DIR has no directory for LOCK yet.
    mkdirSync(config.dataDir, { recursive: true });
    dataDirLock = lockAsLeaseHolder(config, log);
    journal = createRedisJournal({
      url: redisUrl,
      stream: JOURNAL_STREAM,
      commandTimeoutMs: config.journalDeadlineMs,
      fence: { key: LEASE_KEY, value: lease.token },
      onConnectionError: (err) => log("journal: Redis connection error", { err: err.message }),
    });
    opened = await options.open({ journal, dataDirLock, openTrading, writeFence: leaseWriteFence(lease) });
  } catch (err) {
    dataDirLock?.release();
    await journal?.close().catch(() => undefined);
    await lease.release();
    throw err;
  }
  const { ctx } = opened;
  const live = journal!;
  if (!lease.isValid()) die("the lease ran out while the exchange was opening");
  let consumer: Awaited<ReturnType<typeof startCommandConsumer>>;
  try {
    await lease.setHttp(opened.url);
    consumer = await startCommandConsumer({
      redis,
      trading: ctx.trading,
      lookup: ctx.queries,
      journalRecords: () => newestRecords(redis, JOURNAL_STREAM),
      audit: ctx.audit,
      journal: live,
      isActive: () => lease.isValid() && !ctx.trading.failed && !live.failed,
      onError: (err, what) => ctx.logger.warn({ err, what }, "command bus"),
    });
  } catch (err) {
    await opened.stop().catch(() => undefined);
    await lease.release();
    throw err;
  }
  // A journal that failed (fenced by a newer holder, Redis gone past the deadline) stops this one.
  const watch = setInterval(() => {
    // journal.failed covers a batch of command positions only, which the trading service never sees.
    if (ctx.trading.failed || live.failed) die(ctx.trading.haltReason === null ? "the journal failed (fenced or unreachable)" : `trading halted: ${ctx.trading.haltReason}`, 70);
  }, 100);
  watch.unref();
  const took = promotion as { replayed: number; fallback?: string; ms: number } | null;
  const mode = took === null ? "warm" : took.fallback ? "warm (promotion refused)" : "hot";
  log("sequencer active", { openMs: Date.now() - acquiredAt, mode, stoppedFollowingMs, promoteMs: took?.ms ?? null, recordsShownToParts: took?.replayed ?? null, lastSeq: ctx.trading.lastSeq.toString(), answeredAgain: consumer.answeredAgain });
  ctx.logger.info({ url: opened.url, node: config.nodeId, openMs: Date.now() - acquiredAt, mode, lastSeq: ctx.trading.lastSeq.toString(), answeredAgain: consumer.answeredAgain }, "Sen sequencer active");

  return {
    ctx,
    url: opened.url,
    async stop() {
      clearInterval(watch);
      await consumer.stop();
      await opened.stop();
      await lease.release();
      redis.disconnect();
    },
  };
}
