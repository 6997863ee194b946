import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import path from "node:path";

/**
 * One process owns a data directory: its journal, audit log, keys and master key must never
 * have two writers, and nothing may move or delete them while their owner runs. The lock is a
 * file holding the owner's pid, created exclusively; a lock whose pid no longer runs (the
 * owner was killed) is taken over.
 */
export type DataDirLock = { readonly file: string; release(): void };

export class DataDirBusyError extends Error {
  override name = "DataDirBusyError" as const;
  readonly pid: number;
  constructor(dir: string, pid: number) {
    super(`data directory ${dir} is in use by process ${pid}; stop it first (or use another SEN_DATA_DIR)`);
    this.pid = pid;
  }
}

const LOCK = "LOCK";

/** The pid of the live process holding `dir`, or null when nobody does. */
export function dataDirOwner(dir: string): number | null {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(path.join(dir, LOCK), "utf8"), 10);
  } catch {
    return null;
  }
  return Number.isSafeInteger(pid) && pid > 0 && isRunning(pid) ? pid : null;
}

export function lockDataDir(dir: string): DataDirLock {
  const file = path.join(dir, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx", 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return {
        file,
        release() {
          if (released) return;
          released = true;
          try {
            if (readFileSync(file, "utf8").trim() === String(process.pid)) unlinkSync(file);
          } catch {
            // already gone
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = dataDirOwner(dir);
      if (owner !== null) throw new DataDirBusyError(dir, owner);
      unlinkSync(file); // a dead owner's lock
    }
  }
  throw new Error(`cannot lock data directory ${dir}`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // alive, someone else's
  }
}
