/**
 * The issuer's storage, behind one asynchronous interface (IssuerStore) with two
 * implementations: Node's built-in SQLite (this file, the default) and PostgreSQL
 * (postgresStore.ts, chosen by DATABASE_URL as the exchange's audit index is). Both keep the
 * same schema under versioned migrations (schema_migrations). Applications keep their
 * attributes in clear and the personal data only as the vault's ciphertext (pii_kid,
 * pii_blob); pii_reads is the audit of every decryption. Every write is one statement or one
 * transaction, so nothing is stored half-way.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import type { Address, Hex } from "viem";
import { schemaV1, SQLITE } from "./schema.ts";
import type { Application, ApplicationStatus, InvestorType, VerificationResult } from "./types.ts";

export type Migration = { version: number; sql: string };

/** SQLite's migrations; postgresStore.ts runs the same schema (schema.ts) in PostgreSQL's types. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: schemaV1(SQLITE),
  },
];

/** An application as stored: the service's Application plus the ciphertext and the idempotency key. */
export type StoredApplication = Application & { requestKey: string; piiKid: string | null; piiBlob: Uint8Array | null };
export type PiiRead = { applicationId: string; reader: Address; role: "officer" | "applicant"; why: string; readAt: number };
/** What a decision or erasure may change. */
export type ApplicationPatch = Partial<Pick<StoredApplication, "status" | "decidedAt" | "decidedBy" | "reason" | "kycLevel" | "expiresAt" | "txHash" | "investorType" | "piiKid" | "piiBlob">>;

/** The reads and writes, inside a transaction or not. */
export type IssuerStoreOps = {
  insert(app: StoredApplication): Promise<void>;
  get(id: string): Promise<StoredApplication | undefined>;
  byRequestKey(requestKey: string): Promise<StoredApplication | undefined>;
  /** Oldest first (submission time, then insertion order). */
  byWallet(wallet: Address): Promise<StoredApplication[]>;
  byIdentity(identityHash: Hex): Promise<StoredApplication[]>;
  byStatus(status: ApplicationStatus): Promise<StoredApplication[]>;
  /** Issued applications whose expiry falls in [from, to] (unix seconds). */
  expiring(from: number, to: number): Promise<StoredApplication[]>;
  /**
   * Applications still holding personal data that stopped being needed before the cut-offs:
   * rejected or revoked at or before `decidedBy` (milliseconds), or issued with an attestation
   * that lapsed at or before `lapsedBy` (unix seconds).
   */
  pastRetention(decidedBy: number, lapsedBy: number): Promise<StoredApplication[]>;
  /** Changes the application only if its status is one of `from`; false when it was not. */
  update(id: string, from: readonly ApplicationStatus[], patch: ApplicationPatch): Promise<boolean>;
  recordRead(read: PiiRead): Promise<void>;
  reads(applicationId?: string): Promise<PiiRead[]>;
};

export type IssuerStore = IssuerStoreOps & {
  readonly kind: "sqlite" | "postgres";
  schemaVersion(): Promise<number>;
  /**
   * Runs fn in one transaction: all of its writes or none. Transactions run one at a time (a
   * check inside one holds until it commits); fn must use `tx`, not the store.
   */
  transaction<T>(fn: (tx: IssuerStoreOps) => Promise<T>): Promise<T>;
  close(): Promise<void>;
};

export const PATCH_COLUMNS: Record<keyof ApplicationPatch, string> = {
  status: "status", decidedAt: "decided_at", decidedBy: "decided_by", reason: "reason", kycLevel: "kyc_level",
  expiresAt: "expires_at", txHash: "tx_hash", investorType: "investor_type", piiKid: "pii_kid", piiBlob: "pii_blob",
};

export const INSERT_COLUMNS = "id, wallet, identity_hash, status, kind, submitted_at, provider, provider_production, verification, investor_type, nationality, decided_at, decided_by, reason, kyc_level, expires_at, tx_hash, pii_kid, pii_blob, request_key";

/** The insert's values in INSERT_COLUMNS order (booleans as 0/1, absent as null). */
export function insertValues(a: StoredApplication): Array<string | number | Uint8Array | null> {
  return [a.id, a.wallet, a.identityHash, a.status, a.kind, a.submittedAt, a.provider, a.providerProduction ? 1 : 0,
    JSON.stringify(a.verification), a.investorType, a.nationality, a.decidedAt ?? null, a.decidedBy ?? null, a.reason ?? null,
    a.kycLevel ?? null, a.expiresAt ?? null, a.txHash ?? null, a.piiKid, a.piiBlob, a.requestKey];
}

/** A row of either database (PostgreSQL returns BIGINT as a string and BYTEA as a Buffer). */
export function fromRow(r: Record<string, unknown>): StoredApplication {
  const opt = <T>(v: unknown): T | undefined => (v === null ? undefined : (v as T));
  const num = (v: unknown): number | undefined => (v === null ? undefined : Number(v));
  return {
    id: r.id as string,
    wallet: r.wallet as Address,
    identityHash: r.identity_hash as Hex,
    status: r.status as ApplicationStatus,
    kind: r.kind as Application["kind"],
    submittedAt: Number(r.submitted_at),
    provider: r.provider as string,
    providerProduction: Number(r.provider_production) === 1,
    verification: JSON.parse(r.verification as string) as VerificationResult,
    investorType: r.investor_type as InvestorType,
    nationality: Number(r.nationality),
    decidedAt: num(r.decided_at),
    decidedBy: opt<Address>(r.decided_by),
    reason: opt<string>(r.reason),
    kycLevel: num(r.kyc_level),
    expiresAt: num(r.expires_at),
    txHash: opt<Hex>(r.tx_hash),
    requestKey: r.request_key as string,
    piiKid: r.pii_kid as string | null,
    piiBlob: r.pii_blob === null ? null : new Uint8Array(r.pii_blob as Uint8Array),
  };
}

export function readFromRow(r: Record<string, unknown>): PiiRead {
  return { applicationId: r.application_id as string, reader: r.reader as Address, role: r.role as PiiRead["role"], why: r.why as string, readAt: Number(r.read_at) };
}

/** Statuses whose personal data may outlive the application's use (see IssuerService.purgeExpired). */
export const PAST_RETENTION_WHERE = "pii_blob IS NOT NULL AND ((status IN ('rejected', 'revoked') AND decided_at <= ?) OR (status = 'issued' AND expires_at <= ?))";

type Row = Record<string, SQLInputValue>;

function runMigrations(db: DatabaseSync, migrations: readonly Migration[]): void {
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  const applied = new Set((db.prepare("SELECT version FROM schema_migrations").all() as Array<{ version: number }>).map((r) => Number(r.version)));
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(m.version)) continue;
    // A migration and its record land together or not at all.
    db.exec("BEGIN");
    try {
      db.exec(m.sql);
      db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)").run(m.version, Date.now());
      db.exec("COMMIT");
    } catch (err) {
      db.exec("ROLLBACK");
      throw err;
    }
  }
}

/**
 * Opens (creating if needed) the SQLite store at `file` (":memory:" for a throwaway one) and
 * runs the migrations it has not run yet. The database itself is synchronous; the interface is
 * the asynchronous one both stores share.
 */
export function openIssuerStore(file: string, migrations: readonly Migration[] = MIGRATIONS): IssuerStore {
  if (file !== ":memory:") mkdirSync(path.dirname(file), { recursive: true });
  const db = new DatabaseSync(file);
  // secure_delete: an erased record's ciphertext is overwritten, not left in a free page.
  db.exec("PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;");
  if (file !== ":memory:") db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
  try {
    runMigrations(db, migrations);
  } catch (err) {
    db.close();
    throw err;
  }

  const insertApp = db.prepare(`INSERT INTO applications (${INSERT_COLUMNS}) VALUES (${Array(20).fill("?").join(", ")})`);
  const all = (sql: string, ...params: SQLInputValue[]) => (db.prepare(sql).all(...params) as Row[]).map(fromRow);

  // The one connection is shared: while a transaction is open (it may await between its
  // statements), every other call waits, or it would read the transaction's uncommitted
  // writes and its own writes would commit or roll back with it.
  let open: Promise<unknown> | null = null;

  const ops: IssuerStoreOps = {
    async insert(a) {
      insertApp.run(...insertValues(a));
    },
    get: async (id) => all("SELECT * FROM applications WHERE id = ?", id)[0],
    byRequestKey: async (key) => all("SELECT * FROM applications WHERE request_key = ?", key)[0],
    byWallet: async (wallet) => all("SELECT * FROM applications WHERE wallet = ? ORDER BY submitted_at, rowid", wallet),
    byIdentity: async (h) => all("SELECT * FROM applications WHERE identity_hash = ? ORDER BY submitted_at, rowid", h),
    byStatus: async (s) => all("SELECT * FROM applications WHERE status = ? ORDER BY submitted_at, rowid", s),
    expiring: async (from, to) => all("SELECT * FROM applications WHERE status = 'issued' AND expires_at BETWEEN ? AND ? ORDER BY expires_at, rowid", from, to),
    pastRetention: async (decidedBy, lapsedBy) => all(`SELECT * FROM applications WHERE ${PAST_RETENTION_WHERE} ORDER BY submitted_at, rowid`, decidedBy, lapsedBy),
    async update(id, from, patch) {
      const keys = Object.keys(patch) as Array<keyof ApplicationPatch>;
      const sets = keys.map((k) => `${PATCH_COLUMNS[k]} = ?`);
      const values = keys.map((k) => (patch[k] ?? null) as SQLInputValue);
      const sql = `UPDATE applications SET ${sets.join(", ")} WHERE id = ? AND status IN (${from.map(() => "?").join(", ")})`;
      return Number(db.prepare(sql).run(...values, id, ...from).changes) === 1;
    },
    async recordRead(r) {
      db.prepare("INSERT INTO pii_reads (application_id, reader, role, why, read_at) VALUES (?, ?, ?, ?, ?)").run(r.applicationId, r.reader, r.role, r.why, r.readAt);
    },
    async reads(applicationId) {
      const rows = (applicationId === undefined
        ? db.prepare("SELECT * FROM pii_reads ORDER BY seq").all()
        : db.prepare("SELECT * FROM pii_reads WHERE application_id = ? ORDER BY seq").all(applicationId)) as Row[];
      return rows.map(readFromRow);
    },
  };
  // The check and the call are in one synchronous step: nothing can open a transaction between them.
  const waiting = <A extends unknown[], R>(f: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    while (open) await open.catch(() => {});
    return f(...args);
  };

  return {
    kind: "sqlite",
    insert: waiting(ops.insert),
    get: waiting(ops.get),
    byRequestKey: waiting(ops.byRequestKey),
    byWallet: waiting(ops.byWallet),
    byIdentity: waiting(ops.byIdentity),
    byStatus: waiting(ops.byStatus),
    expiring: waiting(ops.expiring),
    pastRetention: waiting(ops.pastRetention),
    update: waiting(ops.update),
    recordRead: waiting(ops.recordRead),
    reads: waiting(ops.reads),
    schemaVersion: waiting(async () => Number((db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as { v: number }).v)),
    async transaction(fn) {
      // No await between the last check and claiming `open`: the next caller sees it taken.
      while (open) await open.catch(() => {});
      const run = (async () => {
        db.exec("BEGIN IMMEDIATE");
        try {
          const result = await fn(ops);
          db.exec("COMMIT");
          return result;
        } catch (err) {
          db.exec("ROLLBACK");
          throw err;
        }
      })();
      open = run;
      try {
        return await run;
      } finally {
        if (open === run) open = null;
      }
    },
    close: waiting(async () => db.close()),
  };
}
