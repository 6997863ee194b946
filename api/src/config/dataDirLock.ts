import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import path from "node:path";
import { ConfigCode, ConfigError } from "./errors.ts";

/**
 * One process owns a data directory: its journal, audit log, keys and master key must never
 * have two writers, and nothing may move or delete them while their owner runs. The lock is a
 * file holding the owner's pid and that process's start time, created exclusively. A lock
 * whose owner is gone is taken over; "gone" compares the start time too, because a pid comes
 * back (a container's gateway is pid 1 after every restart, another process may reuse it).
 */
export type DataDirLock = { readonly file: string; release(): void };

export class DataDirBusyError extends ConfigError {
  override name = "DataDirBusyError" as const;
  readonly pid: number;
  constructor(dir: string, pid: number) {
    super(ConfigCode.DATA_DIR_BUSY, `data directory ${dir} is in use by process ${pid}; stop it first (or use another SEN_DATA_DIR)`);
    this.pid = pid;
  }
}

const LOCK = "LOCK";

/** The pid of the live process holding `dir`, or null when nobody does. */
export function dataDirOwner(dir: string): number | null {
  return ownerOf(path.join(dir, LOCK));
}

/** Takes `dir` for this process; `DataDirBusyError` if a live process holds it. */
export function lockDataDir(dir: string): DataDirLock {
  const file = path.join(dir, LOCK);
  const me = `${process.pid} ${startTimeOf(process.pid) ?? ""}`.trim();
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, "wx", 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = ownerOf(file);
      if (owner !== null) throw new DataDirBusyError(dir, owner);
      // A dead owner's lock. Renaming it away is atomic: of two contenders only one moves it,
      // the other finds it gone and tries the exclusive create again.
      try {
        renameSync(file, `${file}.stale-${process.pid}-${attempt}`);
        unlinkSync(`${file}.stale-${process.pid}-${attempt}`);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      }
      continue;
    }
    writeSync(fd, `${me}\n`);
    closeSync(fd);
    let released = false;
    return {
      file,
      release() {
        if (released) return;
        released = true;
        try {
          if (readFileSync(file, "utf8").trim() === me) unlinkSync(file);
        } catch {
          // already gone
        }
      },
    };
  }
  throw new ConfigError(ConfigCode.DATA_DIR_BUSY, `cannot lock data directory ${dir}: the lock keeps changing hands`);
}

function ownerOf(file: string): number | null {
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch {
    return null;
  }
  const [pidText, started] = text.split(" ");
  const pid = Number.parseInt(pidText ?? "", 10);
  if (!Number.isSafeInteger(pid) || pid <= 0 || !isRunning(pid)) return null;
  // The same pid but another start time: the owner died and the pid was given again.
  const now = startTimeOf(pid);
  if (started !== undefined && now !== undefined && started !== now) return null;
  return pid;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // alive, someone else's
  }
}

/** A process's start time in clock ticks since boot (Linux /proc), or undefined where there is none. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start after the last ')'.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}
