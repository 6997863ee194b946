import { SenError } from "../../errors/SenError.ts";
import type { AuditEvent, AuditEventType } from "./auditEvent.ts";
import { parseIsoMicros } from "./auditEvent.ts";
import type { Alert } from "../surveillance/types.ts";

/**
 * The queryable copy of the audit log. The log is the source of truth; an index is fed from
 * it in sequence order and can be dropped and rebuilt from it at any time (`reset` + replay).
 * Two implementations pass the same test suite: embedded SQLite (default, a file under the
 * data directory) and PostgreSQL (when DATABASE_URL is set).
 */
export interface AuditIndex {
  readonly kind: "sqlite" | "postgres";
  /** Highest audit seq indexed, -1 when empty. */
  lastSeq(): Promise<number>;
  /** Adds events in seq order (idempotent: events at or below lastSeq are ignored). */
  insert(rows: ReadonlyArray<{ event: AuditEvent; line: string }>): Promise<void>;
  query(q: AuditQuery): Promise<AuditPage>;
  /** The events with these seqs (primary-key lookups), in seq order; missing ones are skipped. */
  eventsBySeq(seqs: readonly number[]): Promise<AuditEvent[]>;
  saveAlert(alert: Alert, seq: number): Promise<void>;
  setAlertStatus(alertId: string, status: AlertStatus, by: string, note?: string): Promise<StoredAlert | undefined>;
  alerts(q: AlertQuery): Promise<{ items: StoredAlert[]; nextCursor?: string }>;
  alert(alertId: string): Promise<StoredAlert | undefined>;
  /** Drops everything (before a rebuild from the log). */
  reset(): Promise<void>;
  close(): Promise<void>;
  /**
   * Present when the index also runs the market-abuse detectors (surveillance.ts) on what it is
   * given, on its own thread (workerAuditIndex.ts): the audit trail then screens there instead
   * of on the sequencer's thread.
   */
  readonly screening?: AuditScreening;
}

/**
 * What the detectors made of a batch: alerts in event order, and the events a detector threw
 * on. `leafHashes`: from insertAndScreen of a screening that `hashesLeaves`, the RFC 9162 leaf
 * hash of each line of the batch (32 bytes each, in order).
 */
export type ScreenOutcome = { alerts: Alert[]; failures: Array<{ seq: number; message: string }>; leafHashes?: Uint8Array };

export interface AuditScreening {
  /**
   * `insert` of the events stored as `stored` (their "\n"-terminated lines back to back, in seq
   * order: the bytes the log wrote), then each through the detectors. The bytes are handed
   * over: the caller must not use them afterwards.
   */
  insertAndScreen(stored: Uint8Array): Promise<ScreenOutcome>;
  /** insertAndScreen also gives the lines' leaf hashes: the audit log then leaves its leaf hashing to this thread. */
  readonly hashesLeaves?: boolean;
  /**
   * `size` bytes to gather the next batch in for insertAndScreen: memory an earlier batch
   * used, given back once the index had read it, or new. Reused memory is already mapped:
   * a fresh buffer per batch faulted in every page of it on the sequencer's thread.
   */
  bytes?(size: number): Uint8Array;
  /** The events through the detectors only (warming them up from recent history at start). */
  screen(lines: readonly string[]): Promise<ScreenOutcome>;
}

export type AuditQuery = {
  identityHash?: string;
  account?: string;
  wallet?: string;
  symbol?: string;
  orderId?: string;
  types?: AuditEventType[];
  /** ISO 8601 UTC, inclusive. */
  from?: string;
  /** ISO 8601 UTC, exclusive. */
  to?: string;
  /** Inclusive. */
  fromSeq?: number;
  /** Exclusive (a tree size), like every `toSeq` in Sen. */
  toSeq?: number;
  /**
   * "time" (default): (event time, seq), what a search shows. "seq": log order, what an export
   * needs: event times are not monotonic in seq (an event is stamped before it is appended),
   * and only seq order matches the log a verifier hashes.
   */
  orderBy?: "time" | "seq";
  /** Opaque cursor from a previous page (of the same orderBy). */
  cursor?: string;
  limit: number;
  order: "asc" | "desc";
};

export type AuditPage = { items: AuditEvent[]; nextCursor?: string };

export type AlertStatus = "open" | "acknowledged" | "closed";
export type StoredAlert = Alert & { seq: number; status: AlertStatus; statusBy?: string; statusNote?: string };
export type AlertQuery = { rule?: string; status?: AlertStatus; identityHash?: string; symbol?: string; cursor?: string; limit: number };

/** Columns extracted from an event for filtering; the event itself is stored as its log line. */
export function indexColumns(e: AuditEvent) {
  return {
    seq: e.seq,
    tsUs: parseIsoMicros(e.ts),
    type: e.type,
    account: e.account?.toLowerCase() ?? null,
    identity: e.identityHash?.toLowerCase() ?? null,
    wallet: e.wallet?.toLowerCase() ?? null,
    orderId: e.orderId ?? null,
    symbol: e.symbol ?? null,
  };
}

const INT64_MAX = 2n ** 63n - 1n;

/** Seq ranges up to this size are read by primary key and sorted (see buildEventQuery). */
const SEQ_RANGE_MAX = 100_000;

/** Event pages are ordered by (event time, seq); the cursor is the last row's pair. */
export const cursorOf = (tsUs: bigint | number | string, seq: number) => Buffer.from(`t:${tsUs}:${seq}`).toString("base64url");
export function positionOfCursor(cursor: string): { tsUs: bigint; seq: number } {
  const m = /^t:(\d{1,19}):(\d{1,15})$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!m || BigInt(m[1]) > INT64_MAX) throw new SenError("VALIDATION", "cursor: not one this API gave out");
  return { tsUs: BigInt(m[1]), seq: Number(m[2]) };
}
/** Alert pages are ordered by seq alone. */
export const alertCursorOf = (seq: number) => Buffer.from(`s:${seq}`).toString("base64url");
export function seqOfCursor(cursor: string): number {
  const m = /^s:(\d{1,15})$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!m) throw new SenError("VALIDATION", "cursor: not one this API gave out");
  return Number(m[1]);
}

/**
 * Builds the event query shared by both stores. `p(i)` renders the i-th placeholder (`?` for
 * SQLite, `$i` for PostgreSQL). Results are ordered by (event time, seq), and every filter
 * column has a (column, ts_us, seq) index, so the first page of any query — one key, a time
 * window, or both — is one index range scan of at most a page of rows, whatever the log's
 * size. With `hint`, the most selective filter's index is named (SQLite's INDEXED BY), so
 * the plan never depends on statistics. With `orderBy: "seq"` rows come in seq order and the
 * cursor's seq alone positions the next page: a key filter uses that key's (column, seq) index
 * (`<name>_seq`), so a page is one range scan from the cursor; without a key filter (or with
 * several types) the table is walked by its primary key (seq) from the cursor, filtering time
 * and type as it goes.
 */
export function buildEventQuery(q: AuditQuery, p: (i: number) => string, hint = false): { sql: string; params: Array<string | number | bigint> } {
  const where: string[] = [];
  const params: Array<string | number | bigint> = [];
  const add = (clause: (ph: string) => string, v: string | number | bigint) => {
    params.push(v);
    where.push(clause(p(params.length)));
  };
  let index = "audit_events_time";
  const use = (name: string) => {
    if (index === "audit_events_time") index = name;
  };
  const keyed = () => index !== "audit_events_time";
  if (q.orderId) (add((x) => `order_id = ${x}`, q.orderId), use("audit_events_order"));
  if (q.identityHash) (add((x) => `identity = ${x}`, q.identityHash.toLowerCase()), use("audit_events_identity"));
  if (q.wallet) (add((x) => `wallet = ${x}`, q.wallet.toLowerCase()), use("audit_events_wallet"));
  if (q.account) (add((x) => `account = ${x}`, q.account.toLowerCase()), use("audit_events_account"));
  if (q.symbol) (add((x) => `symbol = ${x}`, q.symbol), use("audit_events_symbol"));
  // One type, or only rare ones: the type index. Several common (order.*) types are dense in
  // time, so walking the time index finds a page quickly.
  if (q.types?.length === 1 || (q.types?.length && q.types.every((t) => !t.startsWith("order.")))) use("audit_events_type");
  // A bounded seq range with no other key is a primary-key range (then sorted by time): walking
  // the time index could cross the whole log before it reached the range.
  const seqRange = !keyed() && !q.from && !q.to && q.fromSeq !== undefined && q.toSeq !== undefined && q.toSeq - q.fromSeq <= SEQ_RANGE_MAX;
  if (q.from) add((x) => `ts_us >= ${x}`, parseIsoMicros(q.from));
  if (q.to) add((x) => `ts_us < ${x}`, parseIsoMicros(q.to));
  if (q.fromSeq !== undefined) add((x) => `seq >= ${x}`, q.fromSeq);
  if (q.toSeq !== undefined) add((x) => `seq < ${x}`, q.toSeq);
  const bySeq = q.orderBy === "seq";
  if (q.cursor) {
    const c = positionOfCursor(q.cursor);
    if (bySeq) add((x) => `seq ${q.order === "asc" ? ">" : "<"} ${x}`, c.seq);
    else {
      params.push(c.tsUs, c.seq);
      where.push(`(ts_us, seq) ${q.order === "asc" ? ">" : "<"} (${p(params.length - 1)}, ${p(params.length)})`);
    }
  }
  if (q.types?.length) {
    const phs = q.types.map((t) => {
      params.push(t);
      return p(params.length);
    });
    where.push(`type IN (${phs.join(", ")})`);
  }
  params.push(q.limit + 1);
  const dir = q.order === "asc" ? "ASC" : "DESC";
  // In seq order a key's (column, seq) index gives the rows already sorted and lets the cursor
  // start the range: its (column, ts_us, seq) twin would read and sort all the key's rows on
  // every page. Several types are several seq ranges: the primary key walk is linear over an export.
  const multiType = index === "audit_events_type" && q.types!.length > 1;
  const byPrimaryKey = seqRange || (bySeq && (!keyed() || multiType));
  if (bySeq) index = `${index}_seq`;
  const from = !hint ? "audit_events" : byPrimaryKey ? "audit_events NOT INDEXED" : `audit_events INDEXED BY ${index}`;
  const order = bySeq ? `seq ${dir}` : `ts_us ${dir}, seq ${dir}`;
  const sql = `SELECT seq, ts_us, line FROM ${from}${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY ${order} LIMIT ${p(params.length)}`;
  return { sql, params };
}

export function buildAlertQuery(q: AlertQuery, p: (i: number) => string): { sql: string; params: Array<string | number> } {
  const where: string[] = [];
  const params: Array<string | number> = [];
  const add = (clause: (ph: string) => string, v: string | number) => {
    params.push(v);
    where.push(clause(p(params.length)));
  };
  if (q.rule) add((x) => `rule = ${x}`, q.rule);
  if (q.status) add((x) => `status = ${x}`, q.status);
  if (q.symbol) add((x) => `symbol = ${x}`, q.symbol);
  if (q.identityHash) add((x) => `identities LIKE ${x}`, `%${q.identityHash.toLowerCase()}%`);
  if (q.cursor) add((x) => `seq < ${x}`, seqOfCursor(q.cursor));
  params.push(q.limit + 1);
  return { sql: `SELECT seq, body, status, status_by, status_note FROM audit_alerts${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ${p(params.length)}`, params };
}

export function pageOf<T>(rows: T[], limit: number, cursorOfRow: (r: T) => string): { items: T[]; nextCursor?: string } {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, nextCursor: cursorOfRow(items[items.length - 1]) };
}

export function storedAlert(row: { seq: number | string; body: string; status: string; status_by: string | null; status_note: string | null }): StoredAlert {
  return { ...(JSON.parse(row.body) as Alert), seq: Number(row.seq), status: row.status as AlertStatus, statusBy: row.status_by ?? undefined, statusNote: row.status_note ?? undefined };
}
