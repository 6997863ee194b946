import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** What the journal gauges read (journal/types.ts JournalStats has these; named here so this ground floor imports nothing above it). */
export type JournalCounters = { readonly writes: number; readonly fsyncs: number; readonly records: number; readonly bytes: number; readonly commitMs: number };

/** Prometheus metrics of one gateway process (served at /metrics). */
export function createMetrics() {
  const registry = new Registry();
  // Read when scraped: set on every trading event it cost the sequencer's thread several µs per order.
  let journalEnd: () => number = () => 0;
  let journalStats: () => JournalCounters | undefined = () => undefined;
  collectDefaultMetrics({ register: registry });
  /** A gauge showing one of the journal's counters, read at each scrape. */
  const journalGauge = (name: string, help: string, counter: keyof JournalCounters, scale = 1) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set((journalStats()?.[counter] ?? 0) * scale);
      },
    });
  return {
    registry,
    httpDuration: new Histogram({
      name: "sen_http_request_duration_seconds",
      help: "HTTP request duration by route",
      labelNames: ["route", "method", "status"] as const,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    }),
    ordersAccepted: new Counter({ name: "sen_orders_accepted_total", help: "Orders accepted", labelNames: ["symbol"] as const, registers: [registry] }),
    ordersRejected: new Counter({ name: "sen_orders_rejected_total", help: "Orders refused, by rule", labelNames: ["code"] as const, registers: [registry] }),
    trades: new Counter({ name: "sen_trades_total", help: "Trades", labelNames: ["symbol"] as const, registers: [registry] }),
    journalSeq: new Gauge({
      name: "sen_journal_sequence",
      help: "Last durable journal sequence",
      registers: [registry],
      collect() {
        this.set(journalEnd());
      },
    }),
    /** Where sen_journal_sequence is read from at each scrape. */
    readJournalSeqFrom(source: () => number): void {
      journalEnd = source;
    },
    // Records ÷ writes is the group commit's size: how many orders share one durable write.
    journalWrites: journalGauge("sen_journal_writes", "Journal batches written since start (each made durable before any of its records is acknowledged, with SEN_JOURNAL_FSYNC=always)", "writes"),
    journalRecords: journalGauge("sen_journal_records_written", "Journal records written since start", "records"),
    journalBytes: journalGauge("sen_journal_bytes_written", "Journal bytes written since start", "bytes"),
    // ÷ sen_journal_writes: how long a batch takes to become durable, which every acknowledgement waits for.
    journalCommitSeconds: journalGauge(
      "sen_journal_commit_seconds",
      "Time journal batches took from their write starting until acknowledged, summed since start (with SEN_JOURNAL_FSYNC=always, until durable)",
      "commitMs",
      1 / 1000,
    ),
    journalSyncs: journalGauge("sen_journal_syncs", "Journal syncs since start (fdatasync calls, or writes made durable by O_DSYNC; 0 for the Redis journal, whose AOF policy syncs)", "fsyncs"),
    /** Where the journal gauges are read from at each scrape. */
    readJournalStatsFrom(source: () => JournalCounters | undefined): void {
      journalStats = source;
    },
    settledTrades: new Counter({ name: "sen_settled_trades_total", help: "Trades confirmed settled on chain", registers: [registry] }),
    settlementPending: new Gauge({ name: "sen_settlement_pending_trades", help: "Trades waiting for on-chain settlement", registers: [registry] }),
    settlementFailed: new Counter({ name: "sen_settlement_failed_trades_total", help: "Trades the settlement vault refused, by decoded error", labelNames: ["error"], registers: [registry] }),
    settlementFailedOpen: new Gauge({ name: "sen_settlement_failed_open_trades", help: "Refused trades waiting for an operator to retry or reverse them", registers: [registry] }),
    settlementLagMs: new Gauge({ name: "sen_settlement_lag_ms", help: "Age of the oldest trade in the last settled batch", registers: [registry] }),
    wsClients: new Gauge({ name: "sen_ws_clients", help: "Open websocket connections", registers: [registry] }),
    wsSlowConsumersDropped: new Counter({ name: "sen_ws_slow_consumers_dropped_total", help: "Websocket clients cut off for not keeping up", registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * `counter.inc({ [label]: value })` with the child of each label value made once: inc with a
 * labels object hashes them on every call, and the trading counters are counted per order.
 */
export function countBy<L extends string>(counter: Counter<L>, label: L): (value: string) => void {
  const children = new Map<string, Counter.Internal>();
  return (value) => {
    let child = children.get(value);
    if (child === undefined) {
      child = counter.labels({ [label]: value } as Partial<Record<L, string>>);
      children.set(value, child);
    }
    child.inc();
  };
}
