import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Redis } from "ioredis";
import type { ServerConfig } from "../config/config.ts";
import { DEFAULT_FEE_ACCOUNT, VOLATILITY_BANDS } from "../context.ts";
import { createFileSnapshotStore } from "../journal/fileSnapshotStore.ts";
import type { MarketCatalog } from "../markets/marketCatalog.ts";
import { DEFAULT_RISK } from "../risk/types.ts";
import { RecordHistory, type RecordTarget } from "../trading/recordHistory.ts";
import { TradingService, type TradingServiceOptions } from "../trading/tradingService.ts";
import { startJournalFollower, type JournalFollower } from "./journalFollower.ts";
import { readLease } from "./lease.ts";

export type HotStandby = {
  /** The record the replica has applied. */
  readonly lastSeq: bigint;
  /** Why the replica stopped following (a gap, an unappliable record), or null. */
  readonly broken: Error | null;
  /** Where `/health` of the standby answers (empty when it could not listen). */
  readonly healthUrl: string;
  /**
   * Stops following the journal and returns how to open the writer's trading state from the
   * replica (for createContext's `openTrading`), or null when the replica is broken.
   */
  takeOver(): Promise<((options: TradingServiceOptions) => ReturnType<typeof TradingService.promote>) | null>;
  close(): Promise<void>;
};

/**
 * A hot standby: while it waits for the lease, a replica of the exchange follows `sen:journal`
 * (from the data directory's latest snapshot, or from record 1), keeping the records since in a
 * bounded history. On takeover that replica becomes the writer (TradingService.promote), so the
 * takeover does not replay the journal; the rest of the exchange (audit trail, candles, chain
 * services, the command consumer) opens as a normal start does.
 */
export async function startHotStandby(options: {
  config: ServerConfig;
  redisUrl: string;
  /** The catalog the exchange will open with: the replica's core shares it (listings add markets to it). */
  catalog: MarketCatalog;
  /** For the standby's `/health` (lease holder). */
  redis: Redis;
  log: (msg: string, extra?: object) => void;
}): Promise<HotStandby> {
  const { config, log } = options;
  const snapshots = createFileSnapshotStore({ dir: config.snapshotDir, onCorrupt: (file, error) => log("hot standby: snapshot corrupt, falling back", { file, err: String(error) }) });
  // Read without the data directory's lock: snapshots are written whole and renamed into place.
  const from = await snapshots.load().catch((err: unknown) => {
    log("hot standby: the snapshot is unreadable; following the journal from record 1", { err: String(err) });
    return null;
  });
  const replica = TradingService.follower(
    {
      core: { catalog: options.catalog, feeAccount: DEFAULT_FEE_ACCOUNT, volatility: VOLATILITY_BANDS, orderRetentionMs: config.orderRetentionMs },
      risk: structuredClone(DEFAULT_RISK),
      now: Date.now,
      onError: (err, what) => log(`hot standby: ${what} failed`, { err: String(err) }),
    },
    from ?? undefined,
  );
  // Enough for the records after the active's latest snapshot: taken every snapshotEvery records
  // or, with spacing "state", at least as many records apart as the last one wrote orders and
  // unsettled trades (no more than the replica's same state holds now, twice over for the
  // records since). Copies of records and their events take
  // about a kilobyte each: past 200,000 a takeover opens warm (snapshot + journal tail) instead.
  const history = new RecordHistory(() => Math.max(2 * config.snapshotEvery, 10_000, config.snapshotSpacing === "state" ? Math.min(2 * replica.retainedRecords, 200_000) : 0));
  const target: RecordTarget = history.follow(replica);
  let broken: Error | null = null;
  const follower: JournalFollower = startJournalFollower({
    url: options.redisUrl,
    replica: target,
    onFatal: (err) => {
      broken = err;
      log("hot standby: the replica stopped following the journal; a takeover opens from the snapshot and journal tail", { err: err.message });
    },
    onConnectionError: (err) => log("hot standby: journal follower lost Redis; reading on from the last record", { err: err.message }),
  });
  const started = Date.now();
  void follower.caughtUp.then(
    () => log("hot standby: replica caught up", { lastSeq: replica.lastSeq.toString(), fromSnapshot: from?.seq.toString() ?? null, ms: Date.now() - started }),
    () => undefined,
  );

  const health = await listenHealth(config, async () => {
    const lease = await readLease(options.redis).catch(() => null);
    return {
      status: broken ? "degraded" : "ok",
      role: "sequencer-standby",
      node: config.nodeId,
      replicaSeq: replica.lastSeq.toString(),
      replicaBroken: broken ? (broken as Error).message : null,
      lease: lease && { node: lease.node, http: lease.http, since: lease.since },
    };
  }).catch((err: unknown) => {
    log("hot standby: /health could not listen", { err: String(err) });
    return null;
  });

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await follower.close();
    // The gateway binds the same port next: no keep-alive connection may hold it open.
    await new Promise<void>((resolve) => {
      if (!health) return resolve();
      health.server.close(() => resolve());
      health.server.closeAllConnections();
    });
  };
  return {
    get lastSeq() {
      return replica.lastSeq;
    },
    get broken() {
      return broken;
    },
    healthUrl: health?.url ?? "",
    async takeOver() {
      await close();
      if (broken) return null;
      return (opts) => TradingService.promote(replica, history, target, opts);
    },
    close,
  };
}

/**
 * The standby's `/health` on the configured port (the gateway binds it on takeover, after this
 * closes); on a machine where the active holds that port, on any free one (logged).
 */
async function listenHealth(config: ServerConfig, answer: () => Promise<object>): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/health") {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ code: "404", msg: "a standby sequencer answers /health only" }));
      return;
    }
    answer().then(
      (body) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body)),
      () => res.writeHead(500).end(),
    );
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, config.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  try {
    await listen(config.port);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
    await listen(0);
  }
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://${config.host}:${port}` };
}
