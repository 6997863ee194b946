import { mkdirSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Alert } from "../surveillance/types.ts";
import type { AuditEvent } from "./auditEvent.ts";
import { alertCursorOf, buildAlertQuery, cursorOf, buildEventQuery, indexColumns, pageOf, storedAlert, type AlertQuery, type AlertStatus, type AuditIndex, type AuditPage, type AuditQuery, type StoredAlert } from "./auditIndex.ts";
import { AUDIT_EVENT_COLUMNS, AUDIT_INDEX_LAYOUT, auditIndexSchema, DROP_AUDIT_INDEX } from "./auditIndexSchema.ts";

/** Rows per insert statement: one call into SQLite per 32 rows instead of per row (about a quarter of the index thread's insert CPU). */
const INSERT_ROWS = 32;

/**
 * The default audit index: Node's built-in SQLite (nothing to install), one file under the
 * data directory, WAL mode so compliance reads never block the feeder.
 */
export function openSqliteAuditIndex(file: string): AuditIndex {
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new DatabaseSync(file);
  // 16 KiB pages (SQLite's default is 4): each row goes into 13 B-trees, and bigger pages split
  // less often. Inserting a bench log's 90,000 rows took about 27% less CPU per row (13.4 ->
  // 9.7 us; 8 and 32 KiB were between, 64 KiB four times worse). It only takes effect when the
  // file is created: an existing index keeps its page size, and works as before.
  db.exec("PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
  const meta = db.prepare("SELECT name FROM sqlite_master WHERE name = 'audit_index_meta'").get()
    ? (db.prepare("SELECT layout FROM audit_index_meta").get() as { layout: number } | undefined)
    : undefined;
  if (meta?.layout !== AUDIT_INDEX_LAYOUT) db.exec(DROP_AUDIT_INDEX);
  db.exec(auditIndexSchema("INTEGER"));
  if (meta?.layout !== AUDIT_INDEX_LAYOUT) db.prepare("INSERT INTO audit_index_meta (layout) VALUES (?)").run(AUDIT_INDEX_LAYOUT);
  const tuple = `(${AUDIT_EVENT_COLUMNS.map(() => "?").join(", ")})`;
  const insertSql = (rows: number) => `INSERT OR IGNORE INTO audit_events (${AUDIT_EVENT_COLUMNS.join(", ")}) VALUES ${Array(rows).fill(tuple).join(", ")}`;
  const insertEvent = db.prepare(insertSql(1));
  const insertEvents = db.prepare(insertSql(INSERT_ROWS));
  const params: Array<string | number | bigint | null> = [];
  /** A row's values, in AUDIT_EVENT_COLUMNS order, onto `params`. */
  const pushRow = ({ event, line }: { event: AuditEvent; line: string }) => {
    const c = indexColumns(event);
    params.push(c.seq, c.tsUs, c.type, c.account, c.identity, c.wallet, c.orderId, c.symbol, line);
  };
  const q = () => "?";

  return {
    kind: "sqlite",
    async lastSeq() {
      const row = db.prepare("SELECT MAX(seq) AS s FROM audit_events").get() as { s: number | null };
      return row.s ?? -1;
    },
    async insert(rows) {
      if (rows.length === 0) return;
      db.exec("BEGIN");
      try {
        let i = 0;
        for (; i + INSERT_ROWS <= rows.length; i += INSERT_ROWS) {
          params.length = 0;
          for (let k = i; k < i + INSERT_ROWS; k++) pushRow(rows[k]);
          insertEvents.run(...params);
        }
        for (; i < rows.length; i++) {
          params.length = 0;
          pushRow(rows[i]);
          insertEvent.run(...params);
        }
        db.exec("COMMIT");
      } catch (err) {
        db.exec("ROLLBACK");
        throw err;
      }
    },
    async query(query: AuditQuery): Promise<AuditPage> {
      const { sql, params } = buildEventQuery(query, q, true);
      const rows = db.prepare(sql).all(...params) as Array<{ seq: number; ts_us: number | bigint; line: string }>;
      const page = pageOf(rows, query.limit, (r) => cursorOf(r.ts_us, r.seq));
      return { items: page.items.map((r) => JSON.parse(r.line) as AuditEvent), nextCursor: page.nextCursor };
    },
    async eventsBySeq(seqs: readonly number[]) {
      if (seqs.length === 0) return [];
      const rows = db.prepare(`SELECT line FROM audit_events WHERE seq IN (${seqs.map(() => "?").join(",")}) ORDER BY seq`).all(...seqs) as Array<{ line: string }>;
      return rows.map((r) => JSON.parse(r.line) as AuditEvent);
    },
    async saveAlert(alert: Alert, seq: number) {
      db.prepare("INSERT OR IGNORE INTO audit_alerts (alert_id, seq, rule, severity, symbol, identities, body) VALUES (?, ?, ?, ?, ?, ?, ?)").run(
        alert.alertId,
        seq,
        alert.rule,
        alert.severity,
        alert.symbol ?? null,
        alert.identityHashes.map((h) => h.toLowerCase()).join(","),
        JSON.stringify(alert),
      );
    },
    async setAlertStatus(alertId: string, status: AlertStatus, by: string, note?: string) {
      db.prepare("UPDATE audit_alerts SET status = ?, status_by = ?, status_note = ? WHERE alert_id = ?").run(status, by, note ?? null, alertId);
      return this.alert(alertId);
    },
    async alerts(query: AlertQuery) {
      const { sql, params } = buildAlertQuery(query, q);
      const rows = db.prepare(sql).all(...params) as Array<{ seq: number; body: string; status: string; status_by: string | null; status_note: string | null }>;
      const page = pageOf(rows, query.limit, (r) => alertCursorOf(r.seq));
      return { items: page.items.map(storedAlert), nextCursor: page.nextCursor };
    },
    async alert(alertId: string): Promise<StoredAlert | undefined> {
      const row = db.prepare("SELECT seq, body, status, status_by, status_note FROM audit_alerts WHERE alert_id = ?").get(alertId) as
        | { seq: number; body: string; status: string; status_by: string | null; status_note: string | null }
        | undefined;
      return row ? storedAlert(row) : undefined;
    },
    async reset() {
      db.exec("DELETE FROM audit_events; DELETE FROM audit_alerts;");
    },
    async close() {
      db.close();
    },
  };
}
