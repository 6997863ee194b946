import type { KeyObject } from "node:crypto";
import { mkdir, open, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fsyncDirSync } from "../../fs/fsyncDir.ts";
import { isoMicros } from "./auditEvent.ts";
import type { AnchoredCheckpoint, Checkpoint } from "./checkpoint.ts";
import type { Checkpointer } from "./checkpointer.ts";
import { CHECKPOINTS_FILE } from "./checkpointer.ts";
import { AuditCode, AuditError } from "./errors.ts";
import { HASH_BYTES } from "./merkle.ts";
import type { SegmentStore } from "./segmentStore.ts";
import { checkRange, IO_CHUNK } from "./segmentStore.ts";

/**
 * The audit log's verifiable export (README.md, "Export layout"): the stored lines byte for
 * byte, the log's own leaf hashes, the checkpoints up to the export's end, the public key and
 * an unsigned manifest. The bundle (auditBundle.ts) streams the same bytes through
 * AuditLog.storedBytes and leafHashes.
 */
export type ExportSource = {
  origin: string;
  retentionYears: number;
  now: () => bigint;
  publicKey: KeyObject;
  store: SegmentStore;
  checkpointer: Checkpointer;
  /** A fresh checkpoint of everything appended (the log's checkpointNow). */
  checkpointNow: () => Promise<Checkpoint>;
};

/** The log's own leaf hashes of seqs [0, n), 32 bytes each, in chunks of about 1 MiB (leaves.bin). */
export async function* leafHashChunks(checkpointer: Checkpointer, size: number, n: number): AsyncGenerator<Buffer> {
  checkRange(0, n, size, "leafHashes");
  const per = IO_CHUNK / HASH_BYTES;
  for (let i = 0; i < n; i += per) {
    const j = Math.min(n, i + per);
    const buf = Buffer.allocUnsafe((j - i) * HASH_BYTES);
    checkpointer.copyLeaves(i, j, buf);
    yield buf;
  }
}

/**
 * Writes the export into `dir` (created, must be empty); it ends exactly at a checkpoint: a
 * fresh one without `toSeq`, else the latest with treeSize <= `toSeq` (exclusive).
 */
export async function exportAuditLog(src: ExportSource, dir: string, opts: { toSeq?: number } = {}): Promise<{ events: number; checkpoint: Checkpoint }> {
  let cp: AnchoredCheckpoint | undefined;
  if (opts.toSeq === undefined) {
    cp = await src.checkpointNow();
  } else {
    // toSeq is exclusive (seqs below it, i.e. a tree size, as everywhere): the export ends at the latest checkpoint with treeSize <= toSeq.
    for (const c of src.checkpointer.checkpoints()) if (c.treeSize <= opts.toSeq) cp = c;
    if (!cp) throw new AuditError(AuditCode.BAD_RANGE, `no checkpoint at or below tree size ${opts.toSeq} (toSeq is exclusive) to end an export at`);
  }
  const n = cp.treeSize;
  await mkdir(dir, { recursive: true });
  const existing = await readdir(dir);
  if (existing.length > 0) throw new AuditError(AuditCode.BAD_RANGE, `export directory ${dir} is not empty`);

  await writeFileStreamed(join(dir, "events.jsonl"), async (out) => {
    for await (const b of src.store.storedBytes(n).chunks()) await out(b);
  });
  await writeFileStreamed(join(dir, "leaves.bin"), async (out) => {
    for await (const b of leafHashChunks(src.checkpointer, src.store.size, n)) await out(b);
  });
  const included = src.checkpointer.checkpoints().filter((c) => c.treeSize <= n);
  await writeFileStreamed(join(dir, CHECKPOINTS_FILE), async (out) => {
    let chunk: string[] = [];
    let bytes = 0;
    for (const c of included) {
      const line = `${JSON.stringify(c)}\n`;
      chunk.push(line);
      bytes += line.length;
      if (bytes >= IO_CHUNK) {
        await out(Buffer.from(chunk.join("")));
        chunk = [];
        bytes = 0;
      }
    }
    if (chunk.length > 0) await out(Buffer.from(chunk.join("")));
  });
  const pem = src.publicKey.export({ type: "spki", format: "pem" }).toString();
  await writeFile(join(dir, "checkpoint.pub"), pem, { flush: true });
  const anchored = included.findLast((c) => c.anchor !== undefined)?.anchor;
  const manifest = {
    origin: src.origin,
    events: n,
    exportedAt: isoMicros(src.now()),
    retentionYears: src.retentionYears,
    checkpoint: { treeSize: cp.treeSize, root: cp.root, time: cp.time },
    ...(anchored ? { anchor: { chainId: anchored.chainId, contract: anchored.contract } } : {}),
  };
  await writeFile(join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`, { flush: true });
  fsyncDirSync(dir);
  return { events: n, checkpoint: cp };
}

async function writeFileStreamed(path: string, body: (out: (b: Buffer) => Promise<void>) => Promise<void>): Promise<void> {
  const h = await open(path, "wx", 0o644);
  try {
    await body(async (b) => {
      let done = 0;
      while (done < b.length) done += (await h.write(b, done, b.length - done)).bytesWritten;
    });
    await h.sync();
  } finally {
    await h.close();
  }
}
