/**
 * The audit index's tables and indexes, written once for both stores: SQLite and PostgreSQL
 * differ only in the integer type of seq and ts_us (SQLite's INTEGER is already 64-bit).
 */

/** Bumped when the layout changes: an index is derived data, so an old one is dropped and rebuilt from the log. */
export const AUDIT_INDEX_LAYOUT = 2;

/** The columns of audit_events an insert fills, in the order indexColumns() yields them. */
export const AUDIT_EVENT_COLUMNS = ["seq", "ts_us", "type", "account", "identity", "wallet", "order_id", "symbol", "line"] as const;

/** The lookup keys: each gets a (key, ts_us, seq) index for time-ordered pages and a (key, seq) one for exports. */
const KEYS = [
  ["identity", "identity"],
  ["account", "account"],
  ["wallet", "wallet"],
  ["order", "order_id"],
  ["symbol", "symbol"],
  ["type", "type"],
] as const;

export const DROP_AUDIT_INDEX = "DROP TABLE IF EXISTS audit_events; DROP TABLE IF EXISTS audit_alerts; DROP TABLE IF EXISTS audit_index_meta;";

export function auditIndexSchema(int64: "INTEGER" | "BIGINT"): string {
  const byTime = KEYS.map(([name, column]) => `CREATE INDEX IF NOT EXISTS audit_events_${name} ON audit_events(${column}, ts_us, seq);`);
  const bySeq = KEYS.map(([name, column]) => `CREATE INDEX IF NOT EXISTS audit_events_${name}_seq ON audit_events(${column}, seq);`);
  return `
CREATE TABLE IF NOT EXISTS audit_index_meta (layout INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit_events (
  seq ${int64} PRIMARY KEY, ts_us ${int64} NOT NULL, type TEXT NOT NULL,
  account TEXT, identity TEXT, wallet TEXT, order_id TEXT, symbol TEXT, line TEXT NOT NULL
);
${byTime.join("\n")}
CREATE INDEX IF NOT EXISTS audit_events_time ON audit_events(ts_us, seq);
-- Seq-ordered (export) pages of one key: rows in seq order from the cursor, no sort.
${bySeq.join("\n")}
CREATE TABLE IF NOT EXISTS audit_alerts (
  alert_id TEXT PRIMARY KEY, seq ${int64} NOT NULL, rule TEXT NOT NULL, severity TEXT NOT NULL, symbol TEXT,
  identities TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'open', status_by TEXT, status_note TEXT
);
CREATE INDEX IF NOT EXISTS audit_alerts_seq ON audit_alerts(seq);
`;
}
