import { closeSync, existsSync, fdatasyncSync, openSync, readFileSync, writeSync } from "node:fs";
import path from "node:path";
import { fsyncDirSync } from "../fs/fsyncDir.ts";

/**
 * Keeps signed requests single-use across a restart. The replay guard remembers signatures in
 * memory, so after a crash a request the previous process accepted could be sent again while
 * its timestamp is still inside the window. So every process keeps, durably, a ceiling above
 * every KC-API-TIMESTAMP of a state-changing request it accepted, raised a second at a time
 * (one fdatasync per second at most, before the request that needs it acts), and the next
 * process refuses state-changing requests signed at or below that ceiling (503: sign again).
 * A clean stop records the latest timestamp itself, so nothing is held back; after a crash
 * requests signed in the last second before it wait out that second. Reads are not held
 * back: replaying one changes nothing. A data directory without the file has never accepted
 * anything; an unreadable one (torn by a crash) holds back one whole window.
 * Several processes behind one sequencer would share a guard instead (Redis), not this file.
 */
export type ReplayBarrier = {
  /** State-changing signed requests with a KC-API-TIMESTAMP before this are refused. */
  readonly notBeforeMs: number;
  /** Notes the timestamp of an accepted state-changing request (durably, before it may act). */
  accepted(timestampMs: number): void;
  /** Records a clean stop: call once nothing is accepted any more. */
  close(): void;
};

/** How far above an accepted timestamp the durable ceiling is raised (bounds the fsync rate). */
const STEP_MS = 1_000;
/** Fixed-size record written in place: one write and one fdatasync, no rename. */
const RECORD_BYTES = 64;

type Record_ = { state: "running" | "stopped"; ceiling: number };

export function openReplayBarrier(dataDir: string, now: () => number, windowMs: number): ReplayBarrier {
  const file = path.join(dataDir, "replay-barrier");
  let notBeforeMs = Number.NEGATIVE_INFINITY;
  if (existsSync(file)) {
    try {
      const ceiling = (JSON.parse(readFileSync(file, "utf8").trim()) as Partial<Record_> | null)?.ceiling;
      if (typeof ceiling === "number" && Number.isSafeInteger(ceiling)) notBeforeMs = ceiling + 1;
    } catch {
      // unparsable: handled as damaged below
    }
    // Torn or damaged: anything the last process accepted is older than this.
    if (!Number.isFinite(notBeforeMs)) notBeforeMs = now() + windowMs;
  }
  const fd = openSync(file, existsSync(file) ? "r+" : "w+", 0o600);
  let ceiling = Number.isFinite(notBeforeMs) ? notBeforeMs - 1 : 0;
  let latest = ceiling;
  const write = (state: Record_["state"], value: number) => {
    const text = JSON.stringify({ state, ceiling: value }).padEnd(RECORD_BYTES - 1, " ") + "\n";
    writeSync(fd, text, 0);
    fdatasyncSync(fd);
  };
  write("running", ceiling);
  fsyncDirSync(dataDir); // the file's own entry survives a crash too
  let closed = false;
  return {
    notBeforeMs,
    accepted(timestampMs) {
      if (timestampMs > latest) latest = timestampMs;
      if (timestampMs <= ceiling || closed) return;
      // Durable first: if the write throws, the request fails and the ceiling stays where it is.
      write("running", timestampMs + STEP_MS);
      ceiling = timestampMs + STEP_MS;
    },
    close() {
      if (closed) return;
      closed = true;
      write("stopped", latest);
      closeSync(fd);
    },
  };
}
