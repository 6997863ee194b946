import { execFile } from "node:child_process";
import { accessSync, constants, existsSync, statSync } from "node:fs";
import path from "node:path";

/**
 * What Sen itself can say about the system clock's traceability to UTC, never more: the
 * business clock follows the system clock, so comparing the two says nothing about UTC. One of
 * - "synchronized per systemd-timesyncd": its flag file exists (systemd-timesyncd.service(8));
 * - "chrony: …": chronyc answered `-c tracking` within 200 ms; its figures quoted as chrony
 *   reports them (system time offset, last offset and RMS offset in seconds, leap status);
 * - "not measured by Sen": neither could be read (ntpd, PTP or a stopped daemon look the same).
 */
export type UtcTraceability = string;

export const NOT_MEASURED = "not measured by Sen";
export const TIMESYNCD_SYNCHRONIZED_TEXT = "synchronized per systemd-timesyncd";

/** systemd-timesyncd creates this file once it has synchronised the system clock (systemd-timesyncd.service(8)). */
export const TIMESYNCD_SYNCHRONIZED = "/run/systemd/timesync/synchronized";

const CHRONYC_TIMEOUT_MS = 200;

/**
 * `chronyc -c tracking` fields (chronyc(1), tracking): reference ID, reference name, stratum,
 * reference time, system time, last offset, RMS offset, frequency, residual frequency, skew,
 * root delay, root dispersion, update interval, leap status. undefined when the line is not that.
 */
export function parseChronyTracking(line: string): string | undefined {
  const f = line.trim().split(",");
  if (f.length < 14) return undefined;
  const num = (s: string) => (/^-?\d+(\.\d+)?$/.test(s) ? s : undefined);
  const [system, last, rms] = [num(f[4]), num(f[5]), num(f[6])];
  if (system === undefined || last === undefined || rms === undefined) return undefined;
  return `chrony: system time offset ${system} s, last offset ${last} s, RMS offset ${rms} s, stratum ${f[2]}, reference ${f[1]}, leap status ${f[13]} (chronyc -c tracking)`;
}

/** Where `bin` would run from (a path, or a name looked up on PATH as execvp does); undefined when there is no such executable. */
export function findExecutable(bin: string, searchPath = process.env.PATH ?? ""): string | undefined {
  const candidates = bin.includes("/") ? [bin] : searchPath.split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, bin));
  for (const file of candidates) {
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not there, or not executable: the next one
    }
  }
  return undefined;
}

/**
 * Asks chronyc in a child process (off the event loop); undefined when it is absent, slow or
 * says nothing usable. Starting a child is not free for the process starting it: Node forks,
 * and copying the page tables of a gateway's heap holds its event loop for ~7-15 ms (measured:
 * 257 MB heap, 2 cores), so an absent chronyc is found on PATH first, without a child.
 */
export function chronyTracking(bin = "chronyc"): Promise<string | undefined> {
  if (findExecutable(bin) === undefined) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    try {
      execFile(bin, ["-c", "tracking"], { timeout: CHRONYC_TIMEOUT_MS, killSignal: "SIGKILL", windowsHide: true }, (err, stdout) => {
        resolve(err ? undefined : parseChronyTracking(String(stdout).split("\n")[0] ?? ""));
      });
    } catch {
      resolve(undefined);
    }
  });
}

export async function measureUtcTraceability(o: { timesyncdFile?: string; chronyc?: string } = {}): Promise<UtcTraceability> {
  if (existsSync(o.timesyncdFile ?? TIMESYNCD_SYNCHRONIZED)) return TIMESYNCD_SYNCHRONIZED_TEXT;
  return (await chronyTracking(o.chronyc)) ?? NOT_MEASURED;
}
