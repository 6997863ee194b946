/**
 * The issuer's store on PostgreSQL (DATABASE_URL, the audit index's convention): the schema
 * and migrations of store.ts in PostgreSQL's types, behind the same IssuerStore interface.
 *
 * Transactions take one advisory lock for their duration, so they run one at a time as
 * SQLite's BEGIN IMMEDIATE makes them: the service's check-then-insert (one open application
 * per wallet, one person one identity) cannot interleave with another's. Single statements
 * (the compare-and-set updates) need no lock: each is atomic on its own.
 *
 * An erased or purged ciphertext is nulled in place; PostgreSQL keeps the old row version until
 * (auto)vacuum reclaims it, which is the closest it has to SQLite's secure_delete.
 */
import pg from "pg";
import type { Address, Hex } from "viem";
import { POSTGRES, schemaV1 } from "./schema.ts";
import type { ApplicationStatus } from "./types.ts";
import {
  fromRow, INSERT_COLUMNS, insertValues, PAST_RETENTION_WHERE, PATCH_COLUMNS, readFromRow,
  type ApplicationPatch, type IssuerStore, type IssuerStoreOps, type Migration, type PiiRead,
} from "./store.ts";

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    // seq is SQLite's implicit rowid made explicit: the insertion order that breaks ties.
    sql: schemaV1(POSTGRES),
  },
];

/** Advisory lock keys (any constants private to this store). */
const MIGRATION_LOCK = 0x5e1_0001;
const TRANSACTION_LOCK = 0x5e1_0002;

type Queryable = Pick<pg.Pool | pg.PoolClient, "query">;

/** `?` placeholders (store.ts's shared SQL) to PostgreSQL's numbered ones. */
function numbered(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

const param = (v: unknown) => (v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v);

function opsOn(q: Queryable): IssuerStoreOps {
  const all = async (sql: string, ...params: unknown[]) => (await q.query(numbered(sql), params.map(param))).rows.map(fromRow);
  return {
    async insert(a) {
      await q.query(`INSERT INTO applications (${INSERT_COLUMNS}) VALUES (${Array.from({ length: 20 }, (_, i) => `$${i + 1}`).join(", ")})`, insertValues(a).map(param));
    },
    get: async (id) => (await all("SELECT * FROM applications WHERE id = ?", id))[0],
    byRequestKey: async (key) => (await all("SELECT * FROM applications WHERE request_key = ?", key))[0],
    byWallet: (wallet: Address) => all("SELECT * FROM applications WHERE wallet = ? ORDER BY submitted_at, seq", wallet),
    byIdentity: (h: Hex) => all("SELECT * FROM applications WHERE identity_hash = ? ORDER BY submitted_at, seq", h),
    byStatus: (s: ApplicationStatus) => all("SELECT * FROM applications WHERE status = ? ORDER BY submitted_at, seq", s),
    expiring: (from, to) => all("SELECT * FROM applications WHERE status = 'issued' AND expires_at BETWEEN ? AND ? ORDER BY expires_at, seq", from, to),
    pastRetention: (decidedBy, lapsedBy) => all(`SELECT * FROM applications WHERE ${PAST_RETENTION_WHERE} ORDER BY submitted_at, seq`, decidedBy, lapsedBy),
    async update(id, from, patch: ApplicationPatch) {
      const keys = Object.keys(patch) as Array<keyof ApplicationPatch>;
      const sets = keys.map((k) => `${PATCH_COLUMNS[k]} = ?`);
      const values = keys.map((k) => patch[k] ?? null);
      const sql = `UPDATE applications SET ${sets.join(", ")} WHERE id = ? AND status IN (${from.map(() => "?").join(", ")})`;
      return (await q.query(numbered(sql), [...values, id, ...from].map(param))).rowCount === 1;
    },
    async recordRead(r: PiiRead) {
      await q.query("INSERT INTO pii_reads (application_id, reader, role, why, read_at) VALUES ($1, $2, $3, $4, $5)", [r.applicationId, r.reader, r.role, r.why, r.readAt]);
    },
    async reads(applicationId) {
      const r = applicationId === undefined
        ? await q.query("SELECT * FROM pii_reads ORDER BY seq")
        : await q.query("SELECT * FROM pii_reads WHERE application_id = $1 ORDER BY seq", [applicationId]);
      return r.rows.map(readFromRow);
    },
  };
}

async function runMigrations(pool: pg.Pool, migrations: readonly Migration[]): Promise<void> {
  const client = await pool.connect();
  try {
    // Two processes starting together: one migrates, the other then finds it done.
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    await client.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)");
    const applied = new Set((await client.query<{ version: number }>("SELECT version FROM schema_migrations")).rows.map((r) => Number(r.version)));
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      // PostgreSQL's DDL is transactional: a migration and its record land together or not at all.
      await client.query("BEGIN");
      try {
        await client.query(m.sql);
        await client.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", [m.version, Date.now()]);
        await client.query("COMMIT");
      } catch (err) {
        await client.query("ROLLBACK");
        throw err;
      }
    }
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => {});
    client.release();
  }
}

/** Opens the store at `connectionString` (postgres://…) and runs the migrations it has not run yet. */
export async function openPostgresIssuerStore(connectionString: string, migrations: readonly Migration[] = POSTGRES_MIGRATIONS): Promise<IssuerStore> {
  const pool = new pg.Pool({ connectionString, max: 4 });
  // An idle client's error (the server restarting) must not crash the process; the next query reports it.
  pool.on("error", () => {});
  try {
    await runMigrations(pool, migrations);
  } catch (err) {
    await pool.end();
    throw err;
  }
  return {
    kind: "postgres",
    ...opsOn(pool),
    async schemaVersion() {
      return Number((await pool.query<{ v: number }>("SELECT MAX(version) AS v FROM schema_migrations")).rows[0]!.v);
    },
    async transaction(fn) {
      const client = await pool.connect();
      // A connection whose ROLLBACK failed is in an unknown state: dropped, not reused.
      let broken: Error | undefined;
      try {
        await client.query("BEGIN");
        try {
          await client.query("SELECT pg_advisory_xact_lock($1)", [TRANSACTION_LOCK]);
          const result = await fn(opsOn(client));
          await client.query("COMMIT");
          return result;
        } catch (err) {
          await client.query("ROLLBACK").catch((e: Error) => (broken = e));
          throw err;
        }
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}
