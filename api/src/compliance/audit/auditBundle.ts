import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import type { AuditLog } from "./auditLog.ts";
import { CHECKPOINTS_FILE } from "./auditLog.ts";
import { isoMicros } from "./auditEvent.ts";
import type { AnchoredCheckpoint } from "./checkpoint.ts";
import { HASH_BYTES } from "./merkle.ts";
import { SenError } from "../../errors/SenError.ts";

/**
 * The verifiable bundle: the files of an export (README.md, "Export layout") as ONE tar stream,
 * written straight from the log with backpressure and no staging directory, so a download of
 * any size costs no disk and starts at once. `audit:verify` takes the .tar as it is.
 *
 * The files are exportTo's, byte for byte except the manifest's `exportedAt` (the time of the
 * bundle): events.jsonl is the log's stored bytes and leaves.bin its own leaf hashes, each read
 * once (AuditLog.storedBytes / leafHashes), so their sizes are known before the tar headers.
 * checkpoints.jsonl (one line per checkpoint: ~3M a year at one every 10 s) is never one
 * string: its size is summed per line, then the lines go out in chunks.
 */

/** Bytes per chunk handed to the tar entry: big enough to amortise the stream machinery. */
const CHUNK = 1 << 20;

export type BundleOptions = {
  /** Exclusive end (a tree size): the bundle ends at the latest checkpoint with treeSize <= toSeq. Absent: a fresh checkpoint of everything appended. */
  toSeq?: number;
  /** The log's Ed25519 public key, PEM (what exportTo writes as checkpoint.pub). */
  publicKeyPem: string;
};

export type BundleResult = { events: number; checkpoint: AnchoredCheckpoint };

/**
 * The checkpoint a bundle ends at. Throws a parameter error (400 in the envelope) when
 * `toSeq` is below the first checkpoint: there is nothing signed to end at.
 */
export async function bundleCheckpoint(log: AuditLog, toSeq?: number): Promise<AnchoredCheckpoint> {
  if (toSeq === undefined) {
    await log.checkpointNow();
    return log.latestCheckpoint()!;
  }
  let cp: AnchoredCheckpoint | undefined;
  for (const c of log.checkpoints()) if (c.treeSize <= toSeq) cp = c;
  if (!cp) {
    const first = log.checkpoints()[0]?.treeSize;
    throw new SenError(
      "VALIDATION",
      `toSeq ${toSeq}: no signed checkpoint at or below this tree size (toSeq is exclusive)${first === undefined ? "; the log has no checkpoint yet" : `; the first is at ${first}`}`,
    );
  }
  return cp;
}

export function bundleFileName(origin: string, treeSize: number): string {
  return `sen-audit-${origin.replace(/[^A-Za-z0-9._-]+/g, "_")}-${treeSize}.tar`;
}

/** The manifest exportTo writes (its `exportedAt` is the time of this bundle). */
export function bundleManifest(log: AuditLog, cp: AnchoredCheckpoint, included: readonly AnchoredCheckpoint[]): string {
  const anchored = included.findLast((c) => c.anchor !== undefined)?.anchor;
  const manifest = {
    origin: log.origin,
    events: cp.treeSize,
    exportedAt: isoMicros(BigInt(Date.now()) * 1000n),
    retentionYears: log.retentionYears,
    checkpoint: { treeSize: cp.treeSize, root: cp.root, time: cp.time },
    ...(anchored ? { anchor: { chainId: anchored.chainId, contract: anchored.contract } } : {}),
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** The byte length of checkpoints.jsonl for `included`, line by line (the tar header needs it first). */
function checkpointBytes(included: readonly AnchoredCheckpoint[]): number {
  let total = 0;
  for (const c of included) total += Buffer.byteLength(JSON.stringify(c)) + 1;
  return total;
}

/** Writes the bundle ending at `cp` (from bundleCheckpoint) to `out`; resolves when `out` has everything. */
export async function writeAuditBundle(log: AuditLog, cp: AnchoredCheckpoint, out: Writable, opts: BundleOptions): Promise<BundleResult> {
  const n = cp.treeSize;
  const pack = tar.pack();
  const piped = pipeline(pack, out);
  const mtime = new Date();
  const entry = (name: string, size: number) => pack.entry({ name, size, mode: 0o644, mtime });

  /** Writes chunks into one entry, waiting for "drain" when the tar stream is full. */
  async function fill(name: string, size: number, body: (put: (b: Buffer) => Promise<void>) => Promise<void>): Promise<void> {
    const w = entry(name, size);
    const gone = () => new Error("the bundle stream closed before it was complete");
    const done = new Promise<void>((resolve, reject) => {
      w.once("finish", resolve);
      w.once("error", reject);
      w.once("close", () => reject(gone()));
    });
    done.catch(() => {}); // observed below; a failure while filling surfaces from the write path first
    await body(async (b) => {
      if (w.destroyed) throw gone();
      if (!w.write(b)) {
        // A destroyed stream never drains: close ends the wait too.
        await new Promise<void>((resolve, reject) => {
          const drained = (): void => {
            w.off("close", closed);
            resolve();
          };
          const closed = (): void => {
            w.off("drain", drained);
            reject(gone());
          };
          w.once("drain", drained);
          w.once("close", closed);
        });
      }
    });
    w.end(undefined); // streamx types want an argument; none is written
    await done;
  }
  const small = (name: string, text: string) => fill(name, Buffer.byteLength(text), (put) => put(Buffer.from(text)));

  const producing = (async () => {
    const included = log.checkpoints().filter((c) => c.treeSize <= n);
    await small("checkpoint.pub", opts.publicKeyPem);
    await fill(CHECKPOINTS_FILE, checkpointBytes(included), async (put) => {
      let buf = Buffer.allocUnsafe(CHUNK);
      let at = 0;
      for (const c of included) {
        const line = `${JSON.stringify(c)}\n`;
        const most = line.length * 3;
        if (at + most > buf.length) {
          if (at > 0) await put(buf.subarray(0, at));
          buf = Buffer.allocUnsafe(Math.max(CHUNK, most));
          at = 0;
        }
        at += buf.write(line, at, "utf8");
      }
      if (at > 0) await put(buf.subarray(0, at));
    });
    await small("manifest.json", bundleManifest(log, cp, included));

    // The log's own leaves and stored bytes, as exportTo copies them: one read of each, no re-encoding or re-hashing.
    await fill("leaves.bin", n * HASH_BYTES, async (put) => {
      for await (const b of log.leafHashes(n)) await put(b);
    });
    const stored = log.storedBytes(n);
    await fill("events.jsonl", stored.length, async (put) => {
      for await (const b of stored.chunks()) await put(b);
    });
    pack.finalize();
  })();
  // Whichever fails first (the log, or the consumer going away) ends both.
  producing.catch((err: unknown) => pack.destroy(err as Error));
  await Promise.all([producing, piped]);
  return { events: n, checkpoint: cp };
}
