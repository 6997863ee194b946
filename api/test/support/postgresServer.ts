import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./freePort.ts";

/**
 * A real, throw-away PostgreSQL server for tests (Debian's `postgresql` package): its own
 * cluster in a temp dir on a free port, trust auth for the `sen` user. initdb refuses to run
 * as root, so as root the cluster is created and run by the package's `postgres` user.
 */
export type PostgresServer = { url: string; stop(): Promise<void> };

const BIN_DIRS = ["/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/14/bin"];

/** Why PostgreSQL tests cannot run here, or null when they can. */
export function postgresUnavailable(): string | null {
  if (!BIN_DIRS.some((d) => existsSync(join(d, "initdb")))) return "PostgreSQL server binaries not installed (Debian package `postgresql`)";
  if (process.getuid?.() === 0) {
    try {
      execFileSync("id", ["postgres"], { stdio: "ignore" });
    } catch {
      return "running as root without a `postgres` user to run initdb";
    }
  }
  return null;
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = BIN_DIRS.find((d) => existsSync(join(d, "initdb")));
  if (!bin) throw new Error("PostgreSQL not installed");
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "sen-pg-"));
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) => {
    if (asRoot) execFileSync("su", ["postgres", "-s", "/bin/sh", "-c", [join(bin, cmd), ...args.map((a) => `'${a}'`)].join(" ")], { stdio: "pipe" });
    else execFileSync(join(bin, cmd), args, { stdio: "pipe" });
  };
  if (asRoot) {
    chmodSync(dir, 0o777);
    execFileSync("chown", ["postgres", dir]);
  }
  run("initdb", ["-D", join(dir, "db"), "-A", "trust", "-U", "sen", "--no-sync"]);
  run("pg_ctl", ["-D", join(dir, "db"), "-w", "-t", "30", "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, "-l", join(dir, "log"), "start"]);
  return {
    url: `postgres://sen@127.0.0.1:${port}/postgres`,
    async stop() {
      try {
        run("pg_ctl", ["-D", join(dir, "db"), "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
