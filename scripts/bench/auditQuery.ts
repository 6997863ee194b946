/**
 * npm run bench:audit-query   (SEN_BENCH_QUICK=1: 200k events, BENCHMARKS.md untouched)
 *
 * The compliance queries' first page over a large audit index: 10,000,000 events in the
 * embedded SQLite index (api/src/compliance/audit/sqliteAuditIndex.ts), then the first page (100 rows)
 * of the queries a compliance officer runs, each answered by `AuditIndex.query` exactly as
 * the HTTP route calls it. Baseline in the same run: the same filter evaluated by a scan of
 * the table without its indexes (what a store without the (column, ts_us, seq) indexes would do).
 * Each query is run 21 times on random keys; the median is reported.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { encodeAuditEvent, isoMicros, type AuditEvent, type AuditEventType } from "../../api/src/compliance/audit/auditEvent.ts";
import type { AuditQuery } from "../../api/src/compliance/audit/auditIndex.ts";
import { openSqliteAuditIndex } from "../../api/src/compliance/audit/sqliteAuditIndex.ts";
import { mulberry32 } from "../../api/test/support/mulberry32.ts";
import { machineLine, writeBenchmarkSection } from "./benchmarksFile.ts";

const QUICK = process.env.SEN_BENCH_QUICK === "1";
const N = QUICK ? 200_000 : 10_000_000;
const RUNS = 21;
const WRITE = !QUICK && process.env.BENCH_WRITE !== "0";
const T0 = 1_795_000_000_000_000n;

const IDENTITIES = 20_000;
const SYMBOLS = ["GOLD-VND", "RIVER-VND", "VNM-VND", "FPT-VND", "HPG-VND"];
const TYPES: AuditEventType[] = ["order.received", "order.accepted", "order.filled", "order.cancelled"];
const identity = (i: number) => `0x${i.toString(16).padStart(64, "0")}`;
const wallet = (i: number, k: number) => `0x${(i * 2 + k).toString(16).padStart(40, "0")}`;

function event(seq: number, rnd: () => number): AuditEvent {
  const who = Math.floor(rnd() * IDENTITIES);
  const w = wallet(who, seq % 2);
  return {
    seq,
    id: `e${seq}`,
    ts: isoMicros(T0 + BigInt(seq) * 2_000n), // 500 events/s for 5.5 hours at 10M
    type: TYPES[seq % 4],
    jseq: seq,
    account: w,
    identityHash: identity(who),
    wallet: w,
    orderId: `o${Math.floor(seq / 4)}`,
    clientOid: `c${seq}`,
    symbol: SYMBOLS[Math.floor(rnd() * SYMBOLS.length)],
    side: rnd() < 0.5 ? "buy" : "sell",
    price: `${24_000 + Math.floor(rnd() * 2_000)}`,
    qty: `${1 + Math.floor(rnd() * 100)}`,
    orderType: "limit",
    tif: "GTC",
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "sen-bench-audit-query-"));
  const file = join(dir, "index.sqlite");
  const index = openSqliteAuditIndex(file);
  const rnd = mulberry32(11);
  console.log(`building an index of ${N.toLocaleString("en")} events…`);
  const t0 = performance.now();
  const BATCH = 50_000;
  for (let from = 0; from < N; from += BATCH) {
    const rows = [];
    for (let seq = from; seq < Math.min(N, from + BATCH); seq++) {
      const e = event(seq, rnd);
      rows.push({ event: e, line: encodeAuditEvent(e) });
    }
    await index.insert(rows);
    if ((from / BATCH) % 20 === 0) console.log(`  ${(from + BATCH).toLocaleString("en")}`);
  }
  const buildS = (performance.now() - t0) / 1000;
  const sizeMb = statSync(file).size / 1e6;

  const pick = mulberry32(5);
  const rid = () => Math.floor(pick() * IDENTITIES);
  const midTs = (span: bigint) => {
    const at = T0 + BigInt(Math.floor(pick() * N)) * 2_000n;
    return { from: isoMicros(at), to: isoMicros(at + span) };
  };
  const queries: Array<[string, () => Omit<AuditQuery, "limit" | "order">, "asc" | "desc"]> = [
    ["all activity of one e-ID, newest first", () => ({ identityHash: identity(rid()) }), "desc"],
    ["one wallet, one symbol", () => ({ wallet: wallet(rid(), 0), symbol: SYMBOLS[Math.floor(pick() * 5)] }), "desc"],
    ["one order's lifecycle", () => ({ orderId: `o${Math.floor(pick() * (N / 4))}` }), "asc"],
    ["fills of a symbol in a 10-minute window", () => ({ symbol: SYMBOLS[Math.floor(pick() * 5)], types: ["order.filled"], ...midTs(600_000_000n) }), "asc"],
    ["everything in a 1-hour window", () => midTs(3_600_000_000n), "asc"],
    ["one e-ID's cancels in a day", () => ({ identityHash: identity(rid()), types: ["order.cancelled"], ...midTs(86_400_000_000n) }), "desc"],
  ];

  // The baseline: the same SQL against the same rows with no secondary index.
  const db = new DatabaseSync(file);
  const scan = (q: Omit<AuditQuery, "limit" | "order">, order: "asc" | "desc") => {
    const where: string[] = [];
    const params: Array<string | number | bigint> = [];
    const add = (sql: string, v: string | number | bigint) => {
      where.push(sql);
      params.push(v);
    };
    if (q.identityHash) add("identity = ?", q.identityHash);
    if (q.wallet) add("wallet = ?", q.wallet);
    if (q.symbol) add("symbol = ?", q.symbol);
    if (q.orderId) add("order_id = ?", q.orderId);
    if (q.types?.length) add("type = ?", q.types[0]);
    const timeFilters: string[] = [];
    if (q.from) timeFilters.push(`+ts_us >= ${BigInt(Date.parse(q.from)) * 1000n}`);
    if (q.to) timeFilters.push(`+ts_us < ${BigInt(Date.parse(q.to)) * 1000n}`);
    // NOT INDEXED and the unary + keep SQLite from using any secondary index.
    const sql = `SELECT seq, line FROM audit_events NOT INDEXED WHERE ${[...where.map((w) => `+${w}`), ...timeFilters].join(" AND ") || "1"} ORDER BY seq ${order === "asc" ? "ASC" : "DESC"} LIMIT 101`;
    return db.prepare(sql).all(...params).length;
  };

  const rows: string[] = [];
  for (const [name, make, order] of queries) {
    const ours: number[] = [];
    const base: number[] = [];
    let returned = 0;
    for (let r = 0; r < RUNS; r++) {
      const q = make();
      const a = performance.now();
      const page = await index.query({ ...q, limit: 100, order });
      ours.push(performance.now() - a);
      returned += page.items.length;
      if (r < 5) {
        const b = performance.now();
        scan(q, order);
        base.push(performance.now() - b);
      }
    }
    const m = median(ours);
    const mb = median(base);
    rows.push(`| ${name} | ${m.toFixed(2)} ms | ${mb.toFixed(0)} ms | **${(mb / m).toFixed(0)}×** | ${Math.round(returned / RUNS)} |`);
    console.log(`  ${name}: ${m.toFixed(2)} ms (scan ${mb.toFixed(0)} ms)`);
  }
  db.close();
  await index.close();
  rmSync(dir, { recursive: true, force: true });

  const body = `## Audit queries at ${(N / 1e6).toFixed(0)}M events (\`npm run bench:audit-query\`)

${machineLine()}

${N.toLocaleString("en")} order events (${IDENTITIES.toLocaleString("en")} identities, two wallets each, 5 symbols, 5.5 hours at 500 events/s) in the embedded SQLite index (\`node:sqlite\`, WAL; built in ${buildS.toFixed(0)} s, ${sizeMb.toFixed(0)} MB). Each row is the first page (100 events) of a compliance query through \`AuditIndex.query\`, as the HTTP route runs it; median of ${RUNS} runs on random keys. Baseline, same run, same rows: the same filter with SQLite told not to use the secondary indexes (a table scan in seq order, median of 5).

| query | first page (Sen index) | baseline (scan) | speed-up | rows |
|---|---:|---:|---:|---:|
${rows.join("\n")}

Every filter column has an index on (column, ts_us, seq), so a first page is an index range scan in event-time order whatever the log's size; a time window alone uses the (ts_us, seq) index, and the planner is told which index to use by the filter's selectivity. The cursor of the next page is the last (ts_us, seq), so later pages cost the same.
`;
  console.log(`\n${body}`);
  if (WRITE) {
    writeBenchmarkSection("audit-query", body);
    console.log("BENCHMARKS.md: audit-query section written");
  }
}

await main();
