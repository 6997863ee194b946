import { closeSync, fsyncSync, openSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { fsyncDirSync } from "./fsyncDir.ts";

/**
 * Replaces `file` with `contents` so that after a crash it holds the old or the new contents,
 * never a part: written to a temporary file beside it, synced, renamed over it, and the rename
 * itself synced. `suffix` keeps concurrent writers' temporary files apart (e.g. the pid).
 */
export function writeFileAtomic(file: string, contents: string, suffix: string, mode = 0o600): void {
  const tmp = `${file}.${suffix}.tmp`;
  const fd = openSync(tmp, "w", mode);
  try {
    writeSync(fd, contents);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  // Make the rename itself durable.
  try {
    fsyncDirSync(dirname(file));
  } catch {
    // Directory fsync is unsupported on some platforms; the rename is still atomic.
  }
}
