import { Redis } from "ioredis";
import type { ServerConfig } from "../config/config.ts";
import type { AppContext } from "../context.ts";
import { ClusterCode, SenError } from "../errors/SenError.ts";
import type { SnapshotStore } from "../journal/types.ts";
import type { Logger } from "../observability/logger.ts";
import { publishAlerts } from "./alertRelay.ts";
import { readLease } from "./lease.ts";
import { publishingSnapshotStore } from "./snapshotRelay.ts";

/**
 * What the active sequencer publishes for its edges besides the journal: its snapshots
 * (`sen:snapshot`, so an edge starts from one) and its surveillance alerts (`sen:alerts`, for
 * the compliance topic on an edge's websocket). Opened once the process holds the lease
 * (main.ts, inside the sequencer's open), before the exchange's context.
 */
export type SequencerFeeds = {
  /** For ContextDeps.publishSnapshots. */
  publishSnapshots(local: SnapshotStore): SnapshotStore;
  /** Once the context is open: alerts from its audit trail, logs to its logger. */
  attach(ctx: Pick<AppContext, "audit" | "logger">): void;
  close(): Promise<void>;
};

export async function openSequencerFeeds(config: ServerConfig): Promise<SequencerFeeds> {
  if (config.journal.kind !== "redis") throw new SenError(ClusterCode.BUS_IO, "the sequencer's feeds need REDIS_URL");
  const redis = new Redis(config.journal.url, { lazyConnect: true, maxRetriesPerRequest: 1, commandTimeout: 10_000 });
  let logger: Logger | undefined;
  redis.on("error", (err: Error) => logger?.warn({ err: err.message }, "sequencer feeds: Redis connection error"));
  await redis.connect();
  // The lease was just taken by this process (the sequencer role opens only then): its token fences the snapshot publishing.
  const lease = await readLease(redis);
  if (lease === null || lease.node !== config.nodeId) {
    redis.disconnect();
    throw new SenError(ClusterCode.LEASE_LOST, `the sequencer lease is held by ${lease?.node ?? "no one"}, not by ${config.nodeId}`);
  }
  let stopAlerts: (() => void) | undefined;
  return {
    publishSnapshots: (local) =>
      publishingSnapshotStore(local, {
        redis,
        token: lease.token,
        onError: (err) => logger?.warn({ err }, "snapshot not published for edges (they replay a longer journal tail)"),
        onPublished: (seq, bytes) => logger?.info({ seq: seq.toString(), bytes }, "snapshot published for edges"),
      }),
    attach(ctx) {
      logger = ctx.logger;
      stopAlerts = publishAlerts(ctx.audit, redis, (err) => ctx.logger.warn({ err }, "alert not published to the edges"));
    },
    async close() {
      stopAlerts?.();
      redis.disconnect();
    },
  };
}
