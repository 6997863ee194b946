/**
 * The issuer's storage: Node's built-in SQLite, versioned migrations. Applications keep their
 * attributes in clear and the personal data only as the vault's ciphertext (pii_kid, pii_blob);
 * pii_reads is the audit of every decryption. Every write is one statement or one transaction,
 * so nothing is stored half-way.
 *
 * TODO(#15): PostgreSQL via DATABASE_URL (the audit index's convention) is not implemented;
 * this interface is synchronous because node:sqlite is, and a PostgreSQL store would need an
 * async one.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import type { Address, Hex } from "viem";
import type { Application, ApplicationStatus, InvestorType, VerificationResult } from "./types.ts";

export type Migration = { version: number; sql: string };

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE applications (
  id TEXT PRIMARY KEY,
  wallet TEXT NOT NULL,
  identity_hash TEXT NOT NULL,
  status TEXT NOT NULL,
  kind TEXT NOT NULL,
  submitted_at INTEGER NOT NULL,
  provider TEXT NOT NULL,
  provider_production INTEGER NOT NULL,
  verification TEXT NOT NULL,
  investor_type TEXT NOT NULL,
  nationality INTEGER NOT NULL,
  decided_at INTEGER,
  decided_by TEXT,
  reason TEXT,
  kyc_level INTEGER,
  expires_at INTEGER,
  tx_hash TEXT,
  pii_kid TEXT,
  pii_blob BLOB,
  request_key TEXT NOT NULL UNIQUE
);
CREATE INDEX applications_wallet ON applications(wallet, submitted_at);
CREATE INDEX applications_identity ON applications(identity_hash, status);
CREATE INDEX applications_status ON applications(status, submitted_at);
CREATE INDEX applications_expiry ON applications(status, expires_at);
CREATE TABLE pii_reads (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  application_id TEXT NOT NULL REFERENCES applications(id),
  reader TEXT NOT NULL,
  role TEXT NOT NULL,
  why TEXT NOT NULL,
  read_at INTEGER NOT NULL
);
CREATE INDEX pii_reads_application ON pii_reads(application_id, seq);
`,
  },
];

/** An application as stored: the service's Application plus the ciphertext and the idempotency key. */
export type StoredApplication = Application & { requestKey: string; piiKid: string | null; piiBlob: Uint8Array | null };
export type PiiRead = { applicationId: string; reader: Address; role: "officer" | "applicant"; why: string; readAt: number };
/** What a decision or erasure may change. */
export type ApplicationPatch = Partial<Pick<StoredApplication, "status" | "decidedAt" | "decidedBy" | "reason" | "kycLevel" | "expiresAt" | "txHash" | "investorType" | "piiKid" | "piiBlob">>;

export type IssuerStore = {
  schemaVersion(): number;
  insert(app: StoredApplication): void;
  get(id: string): StoredApplication | undefined;
  byRequestKey(requestKey: string): StoredApplication | undefined;
  byWallet(wallet: Address): StoredApplication[];
  byIdentity(identityHash: Hex): StoredApplication[];
  byStatus(status: ApplicationStatus): StoredApplication[];
  /** Issued applications whose expiry falls in [from, to] (unix seconds). */
  expiring(from: number, to: number): StoredApplication[];
  /** Changes the application only if its status is one of `from`; false when it was not. */
  update(id: string, from: readonly ApplicationStatus[], patch: ApplicationPatch): boolean;
  recordRead(read: PiiRead): void;
  reads(applicationId?: string): PiiRead[];
  /** Runs fn in one transaction: all of its writes or none. */
  transaction<T>(fn: () => T): T;
  close(): void;
};

type Row = Record<string, SQLInputValue>;

const COLUMNS: Record<keyof ApplicationPatch, string> = {
  status: "status", decidedAt: "decided_at", decidedBy: "decided_by", reason: "reason", kycLevel: "kyc_level",
  expiresAt: "expires_at", txHash: "tx_hash", investorType: "investor_type", piiKid: "pii_kid", piiBlob: "pii_blob",
};

function fromRow(r: Row): StoredApplication {
  const opt = <T>(v: SQLInputValue): T | undefined => (v === null ? undefined : (v as T));
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
    decidedAt: r.decided_at === null ? undefined : Number(r.decided_at),
    decidedBy: opt<Address>(r.decided_by),
    reason: opt<string>(r.reason),
    kycLevel: r.kyc_level === null ? undefined : Number(r.kyc_level),
    expiresAt: r.expires_at === null ? undefined : Number(r.expires_at),
    txHash: opt<Hex>(r.tx_hash),
    requestKey: r.request_key as string,
    piiKid: r.pii_kid as string | null,
    piiBlob: r.pii_blob === null ? null : new Uint8Array(r.pii_blob as Uint8Array),
  };
}

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

/** Opens (creating if needed) the store at `file` (":memory:" for a throwaway one) and runs the migrations it has not run yet. */
export function openIssuerStore(file: string, migrations: readonly Migration[] = MIGRATIONS): IssuerStore {
  if (file !== ":memory:") mkdirSync(path.dirname(file), { recursive: true });
  const db = new DatabaseSync(file);
  // secure_delete: an erased record's ciphertext is overwritten, not left in a free page.
  db.exec("PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;");
  if (file !== ":memory:") db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
  runMigrations(db, migrations);

  const insertApp = db.prepare(`INSERT INTO applications (id, wallet, identity_hash, status, kind, submitted_at, provider, provider_production,
    verification, investor_type, nationality, decided_at, decided_by, reason, kyc_level, expires_at, tx_hash, pii_kid, pii_blob, request_key)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const all = (sql: string, ...params: SQLInputValue[]) => (db.prepare(sql).all(...params) as Row[]).map(fromRow);
  let depth = 0;

  const store: IssuerStore = {
    schemaVersion: () => Number((db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as { v: number }).v),
    insert(a) {
      insertApp.run(a.id, a.wallet, a.identityHash, a.status, a.kind, a.submittedAt, a.provider, a.providerProduction ? 1 : 0,
        JSON.stringify(a.verification), a.investorType, a.nationality, a.decidedAt ?? null, a.decidedBy ?? null, a.reason ?? null,
        a.kycLevel ?? null, a.expiresAt ?? null, a.txHash ?? null, a.piiKid, a.piiBlob, a.requestKey);
    },
    get: (id) => all("SELECT * FROM applications WHERE id = ?", id)[0],
    byRequestKey: (key) => all("SELECT * FROM applications WHERE request_key = ?", key)[0],
    byWallet: (wallet) => all("SELECT * FROM applications WHERE wallet = ? ORDER BY submitted_at, rowid", wallet),
    byIdentity: (h) => all("SELECT * FROM applications WHERE identity_hash = ? ORDER BY submitted_at, rowid", h),
    byStatus: (s) => all("SELECT * FROM applications WHERE status = ? ORDER BY submitted_at, rowid", s),
    expiring: (from, to) => all("SELECT * FROM applications WHERE status = 'issued' AND expires_at BETWEEN ? AND ? ORDER BY expires_at, rowid", from, to),
    update(id, from, patch) {
      const keys = Object.keys(patch) as Array<keyof ApplicationPatch>;
      const sets = keys.map((k) => `${COLUMNS[k]} = ?`);
      const values = keys.map((k) => (patch[k] ?? null) as SQLInputValue);
      const sql = `UPDATE applications SET ${sets.join(", ")} WHERE id = ? AND status IN (${from.map(() => "?").join(", ")})`;
      return Number(db.prepare(sql).run(...values, id, ...from).changes) === 1;
    },
    recordRead: (r) => void db.prepare("INSERT INTO pii_reads (application_id, reader, role, why, read_at) VALUES (?, ?, ?, ?, ?)").run(r.applicationId, r.reader, r.role, r.why, r.readAt),
    reads(applicationId) {
      const rows = (applicationId === undefined
        ? db.prepare("SELECT * FROM pii_reads ORDER BY seq").all()
        : db.prepare("SELECT * FROM pii_reads WHERE application_id = ? ORDER BY seq").all(applicationId)) as Row[];
      return rows.map((r) => ({ applicationId: r.application_id as string, reader: r.reader as Address, role: r.role as PiiRead["role"], why: r.why as string, readAt: Number(r.read_at) }));
    },
    transaction(fn) {
      // Nested calls join the outer transaction: the outermost one commits or rolls back everything.
      if (depth > 0) return fn();
      db.exec("BEGIN IMMEDIATE");
      depth++;
      try {
        const result = fn();
        db.exec("COMMIT");
        return result;
      } catch (err) {
        db.exec("ROLLBACK");
        throw err;
      } finally {
        depth--;
      }
    },
    close: () => db.close(),
  };
  return store;
}
