import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { postgresUnavailable, startPostgres, type PostgresServer } from "../../../api/test/support/postgresServer.ts";
import { openPostgresIssuerStore, POSTGRES_MIGRATIONS } from "../../src/postgresStore.ts";
import { MIGRATIONS, openIssuerStore, type IssuerStore, type Migration } from "../../src/store.ts";

/**
 * Both issuer stores, for suites that run against each: SQLite in a temp dir, and a real
 * PostgreSQL (api/test/support/postgresServer.ts) started once per file on first use, with a
 * fresh database per `fresh()`. `skip` says why a backend cannot run here (the server
 * binaries missing), as the audit index's suite does.
 */
export type StoreBackend = {
  name: "sqlite" | "postgres";
  skip: string | false;
  migrations: readonly Migration[];
  /** A new, empty location: a file path or a postgres:// URL. */
  fresh(): Promise<string>;
  open(location: string, migrations?: readonly Migration[]): Promise<IssuerStore>;
  /** Closes every store opened and removes what fresh() made. */
  cleanup(): Promise<void>;
};

export function storeBackends(): StoreBackend[] {
  const opened: IssuerStore[] = [];
  const track = (s: IssuerStore) => (opened.push(s), s);
  const closeAll = async () => {
    await Promise.all(opened.splice(0).map((s) => s.close().catch(() => {})));
  };

  const dirs: string[] = [];
  const sqlite: StoreBackend = {
    name: "sqlite",
    skip: false,
    migrations: MIGRATIONS,
    async fresh() {
      const dir = mkdtempSync(path.join(tmpdir(), "issuer-store-"));
      dirs.push(dir);
      return path.join(dir, "issuer.sqlite");
    },
    open: async (file, migrations = MIGRATIONS) => track(openIssuerStore(file, migrations)),
    async cleanup() {
      await closeAll();
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };

  const pgSkip = postgresUnavailable();
  let server: Promise<PostgresServer> | undefined;
  let admin: pg.Pool | undefined;
  let n = 0;
  const postgres: StoreBackend = {
    name: "postgres",
    skip: pgSkip ?? false,
    migrations: POSTGRES_MIGRATIONS,
    async fresh() {
      server ??= startPostgres();
      const { url } = await server;
      admin ??= new pg.Pool({ connectionString: url, max: 1 });
      const db = `issuer_${process.pid}_${++n}`;
      await admin.query(`CREATE DATABASE ${db}`);
      return url.replace(/\/postgres$/, `/${db}`);
    },
    open: async (url, migrations = POSTGRES_MIGRATIONS) => track(await openPostgresIssuerStore(url, migrations)),
    async cleanup() {
      await closeAll();
      await admin?.end();
      if (server) await (await server).stop();
    },
  };
  return [sqlite, postgres];
}
