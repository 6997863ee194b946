/**
 * The issuer's tables, written once for both stores (store.ts on SQLite, postgresStore.ts on
 * PostgreSQL): they differ only in types, and in PostgreSQL's explicit insertion order (seq),
 * which SQLite has as its implicit rowid.
 */
export type SqlDialect = { int64: "INTEGER" | "BIGINT"; bytes: "BLOB" | "BYTEA"; insertionSeq: string; serialKey: string };

export const SQLITE: SqlDialect = { int64: "INTEGER", bytes: "BLOB", insertionSeq: "", serialKey: "INTEGER PRIMARY KEY AUTOINCREMENT" };
export const POSTGRES: SqlDialect = { int64: "BIGINT", bytes: "BYTEA", insertionSeq: "  seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,\n", serialKey: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY" };

/** Migration 1: applications (attributes in clear, personal data as the vault's ciphertext) and pii_reads (every decryption). */
export function schemaV1(d: SqlDialect): string {
  return `
CREATE TABLE applications (
${d.insertionSeq}  id TEXT PRIMARY KEY,
  wallet TEXT NOT NULL,
  identity_hash TEXT NOT NULL,
  status TEXT NOT NULL,
  kind TEXT NOT NULL,
  submitted_at ${d.int64} NOT NULL,
  provider TEXT NOT NULL,
  provider_production INTEGER NOT NULL,
  verification TEXT NOT NULL,
  investor_type TEXT NOT NULL,
  nationality INTEGER NOT NULL,
  decided_at ${d.int64},
  decided_by TEXT,
  reason TEXT,
  kyc_level INTEGER,
  expires_at ${d.int64},
  tx_hash TEXT,
  pii_kid TEXT,
  pii_blob ${d.bytes},
  request_key TEXT NOT NULL UNIQUE
);
CREATE INDEX applications_wallet ON applications(wallet, submitted_at);
CREATE INDEX applications_identity ON applications(identity_hash, status);
CREATE INDEX applications_status ON applications(status, submitted_at);
CREATE INDEX applications_expiry ON applications(status, expires_at);
CREATE TABLE pii_reads (
  seq ${d.serialKey},
  application_id TEXT NOT NULL REFERENCES applications(id),
  reader TEXT NOT NULL,
  role TEXT NOT NULL,
  why TEXT NOT NULL,
  read_at ${d.int64} NOT NULL
);
CREATE INDEX pii_reads_application ON pii_reads(application_id, seq);
`;
}
