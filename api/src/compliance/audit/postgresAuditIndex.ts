import pg from "pg";
import type { Alert } from "../surveillance/types.ts";
import type { AuditEvent } from "./auditEvent.ts";
import { alertCursorOf, buildAlertQuery, cursorOf, buildEventQuery, indexColumns, pageOf, storedAlert, type AlertQuery, type AlertStatus, type AuditIndex, type AuditPage, type AuditQuery, type StoredAlert } from "./auditIndex.ts";
import { AUDIT_EVENT_COLUMNS, AUDIT_INDEX_LAYOUT, auditIndexSchema, DROP_AUDIT_INDEX } from "./auditIndexSchema.ts";

type AlertRow = { seq: string; body: string; status: string; status_by: string | null; status_note: string | null };

/** The audit index on PostgreSQL (DATABASE_URL): the same schema and queries as the SQLite one. */
export async function openPostgresAuditIndex(connectionString: string): Promise<AuditIndex> {
  const pool = new pg.Pool({ connectionString, max: 4 });
  const meta = await pool.query<{ layout: number }>("SELECT layout FROM audit_index_meta").catch(() => ({ rows: [] as Array<{ layout: number }> }));
  if (meta.rows[0]?.layout !== AUDIT_INDEX_LAYOUT) await pool.query(DROP_AUDIT_INDEX);
  await pool.query(auditIndexSchema("BIGINT"));
  if (meta.rows[0]?.layout !== AUDIT_INDEX_LAYOUT) await pool.query("INSERT INTO audit_index_meta (layout) VALUES ($1)", [AUDIT_INDEX_LAYOUT]);
  const p = (i: number) => `$${i}`;
  const params = (xs: Array<string | number | bigint>) => xs.map((x) => (typeof x === "bigint" ? x.toString() : x));

  const index: AuditIndex = {
    kind: "postgres",
    async lastSeq() {
      const r = await pool.query<{ s: string | null }>("SELECT MAX(seq) AS s FROM audit_events");
      return r.rows[0].s === null ? -1 : Number(r.rows[0].s);
    },
    async insert(rows) {
      if (rows.length === 0) return;
      // One multi-row INSERT per chunk: a round trip per event would cap the feeder at ~1k/s.
      for (let i = 0; i < rows.length; i += 1000) {
        const chunk = rows.slice(i, i + 1000);
        const values: Array<string | number | null> = [];
        const tuples = chunk.map(({ event, line }: { event: AuditEvent; line: string }) => {
          const c = indexColumns(event);
          const base = values.length;
          values.push(c.seq, c.tsUs.toString(), c.type, c.account, c.identity, c.wallet, c.orderId, c.symbol, line);
          return `(${AUDIT_EVENT_COLUMNS.map((_, k) => `$${base + k + 1}`).join(", ")})`;
        });
        await pool.query(`INSERT INTO audit_events (${AUDIT_EVENT_COLUMNS.join(", ")}) VALUES ${tuples.join(", ")} ON CONFLICT (seq) DO NOTHING`, values);
      }
    },
    async query(query: AuditQuery): Promise<AuditPage> {
      const { sql, params: ps } = buildEventQuery(query, p);
      const r = await pool.query<{ seq: string; ts_us: string; line: string }>(sql, params(ps));
      const page = pageOf(r.rows, query.limit, (row) => cursorOf(row.ts_us, Number(row.seq)));
      return { items: page.items.map((row) => JSON.parse(row.line) as AuditEvent), nextCursor: page.nextCursor };
    },
    async eventsBySeq(seqs: readonly number[]) {
      if (seqs.length === 0) return [];
      const r = await pool.query<{ line: string }>("SELECT line FROM audit_events WHERE seq = ANY($1::bigint[]) ORDER BY seq", [seqs.map(String)]);
      return r.rows.map((row) => JSON.parse(row.line) as AuditEvent);
    },
    async saveAlert(alert: Alert, seq: number) {
      await pool.query("INSERT INTO audit_alerts (alert_id, seq, rule, severity, symbol, identities, body) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (alert_id) DO NOTHING", [
        alert.alertId,
        seq,
        alert.rule,
        alert.severity,
        alert.symbol ?? null,
        alert.identityHashes.map((h) => h.toLowerCase()).join(","),
        JSON.stringify(alert),
      ]);
    },
    async setAlertStatus(alertId: string, status: AlertStatus, by: string, note?: string) {
      await pool.query("UPDATE audit_alerts SET status = $1, status_by = $2, status_note = $3 WHERE alert_id = $4", [status, by, note ?? null, alertId]);
      return index.alert(alertId);
    },
    async alerts(query: AlertQuery) {
      const { sql, params: ps } = buildAlertQuery(query, p);
      const r = await pool.query<AlertRow>(sql, ps);
      const page = pageOf(r.rows, query.limit, (row) => alertCursorOf(Number(row.seq)));
      return { items: page.items.map(storedAlert), nextCursor: page.nextCursor };
    },
    async alert(alertId: string): Promise<StoredAlert | undefined> {
      const r = await pool.query<AlertRow>("SELECT seq, body, status, status_by, status_note FROM audit_alerts WHERE alert_id = $1", [alertId]);
      return r.rows[0] ? storedAlert(r.rows[0]) : undefined;
    },
    async reset() {
      await pool.query("TRUNCATE audit_events, audit_alerts");
    },
    async close() {
      await pool.end();
    },
  };
  return index;
}
