import { execFileSync } from "node:child_process";
import { accessSync, chmodSync, constants, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { freePort } from "./freePort.ts";

/**
 * A real, throw-away PostgreSQL server for tests (Debian's `postgresql` package): its own
 * cluster in a temp dir on a free port, trust auth for the `sen` user. initdb refuses to run
 * as root, so as root the cluster is created and run by the package's `postgres` user.
 */
export type PostgresServer = { url: string; stop(): Promise<void> };

const DEBIAN_ROOT = "/usr/lib/postgresql";

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * The first directory holding both initdb and pg_ctl: Debian installs each major version
 * side by side under /usr/lib/postgresql/<version>/bin (the newest is preferred), other
 * installs put them on PATH.
 */
function serverBinDir(): string | undefined {
  let versions: string[] = [];
  try {
    versions = readdirSync(DEBIAN_ROOT).filter((v) => /^\d+(\.\d+)?$/.test(v));
  } catch {
    // no Debian-style install
  }
  versions.sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  const candidates = [...versions.map((v) => join(DEBIAN_ROOT, v, "bin")), ...(process.env.PATH ?? "").split(delimiter).filter((d) => d !== "")];
  return candidates.find((d) => executable(join(d, "initdb")) && executable(join(d, "pg_ctl")));
}

/** Why PostgreSQL tests cannot run here, or null when they can. */
export function postgresUnavailable(): string | null {
  if (!serverBinDir()) return "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin or on PATH (Debian package `postgresql`)";
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
  const bin = serverBinDir();
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
