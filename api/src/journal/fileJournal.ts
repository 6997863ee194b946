import { constants, fdatasync as fdatasyncCallback, write as writeCallback } from "node:fs";
import { mkdir, open, readdir, stat, truncate, writeFile } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { JournalCode, JournalError } from "../errors/SenError.ts";
import { fsyncDir } from "../fs/fsyncDir.ts";
import { GroupCommit } from "../fs/groupCommit.ts";
import { decodeJson, encodeJson } from "./jsonCodec.ts";
import { readLines } from "./readLines.ts";
import { maxRecordLineBytes, parseRecordLine, writeRecordLine } from "./recordLine.ts";
import type { FsyncPolicy, Journal, JournalEntry, JournalRecord, JournalStats } from "./types.ts";

/**
 * An embedded append-only journal in a directory of segment files.
 *
 * - Segment files are named `<first seq, 20 digits>.journal` and hold one record per line
 *   (format and rationale in recordLine.ts). A new segment starts when the current one would
 *   grow past `segmentBytes` (default 64 MiB); a batch never spans two segments.
 * - `append` only buffers; `flush` writes everything buffered with one write() and, per the
 *   policy, one fdatasync (group commit: flush() calls made while a write is in flight share
 *   the next write).
 * - `open` verifies every record's checksum and the gap-free sequence. A damaged LAST record
 *   of the last segment is a torn write (never acknowledged): its bytes are kept in
 *   `<segment>.torn-<offset>` for forensics, then cut off. Damage followed by any valid record
 *   is corruption and raises JOURNAL_CORRUPT naming the segment, offset and seq.
 *
 * One writer per directory: nothing here locks the directory against a second process.
 */
export type FileJournalOptions = {
  dir: string;
  fsync: FsyncPolicy;
  /** For fsync "interval": the most time between a write and its fsync (default 50 ms). */
  fsyncIntervalMs?: number;
  /** Roll to a new segment past this size (default 64 MiB). */
  segmentBytes?: number;
  /** Called when open() cut a torn tail away. */
  onRepair?: (info: { segment: string; offset: number; bytes: number; savedAs: string }) => void;
};

export type FileJournal = Journal & { stats(): JournalStats };

type Segment = { firstSeq: bigint; path: string };

const SEGMENT_NAME = /^(\d{20})\.journal$/;
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** A batch buffer's starting size, and the largest one kept for reuse after a burst. */
const BATCH_BYTES = 64 * 1024;
const BATCH_BYTES_KEPT = 4 * 1024 * 1024;

function fdWrite(fd: number, buf: Buffer, offset: number, length: number): Promise<number> {
  return new Promise((resolve, reject) => writeCallback(fd, buf, offset, length, null, (err, written) => (err ? reject(err) : resolve(written))));
}

function fdDatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasyncCallback(fd, (err) => (err ? reject(err) : resolve())));
}

function segmentName(firstSeq: bigint): string {
  return `${firstSeq.toString().padStart(20, "0")}.journal`;
}

export function createFileJournal(options: FileJournalOptions): FileJournal {
  const { dir, fsync: policy } = options;
  const intervalMs = options.fsyncIntervalMs ?? 50;
  const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  // With fsync "always" the segment is opened O_DSYNC: each write returns once its bytes are
  // durable, as write + fdatasync would make them, in one trip to libuv's pool instead of two
  // (the sequencer thread pays each trip's hand-off). Where O_DSYNC is missing, write + fdatasync.
  const dsyncWrites = policy === "always" && typeof constants.O_DSYNC === "number";
  const appendFlags = dsyncWrites ? constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_DSYNC : "a";

  let state: "new" | "open" | "closed" = "new";
  let failure: JournalError | null = null;
  const segments: Segment[] = [];
  let handle: FileHandle | null = null;
  let segmentSize = 0;

  let lastSeq = 0n; // appended (maybe only buffered)
  let ackedSeq = 0n; // written, and fsynced when the policy is "always"
  // The records buffered since the last write, as lines back to back in one buffer (each
  // encoded straight into it: no buffer per record, no concatenation per batch), and the
  // previous batch's buffer, free again once its write completed (null while it is in flight).
  let batchBuf: Buffer = Buffer.allocUnsafe(BATCH_BYTES);
  let spareBuf: Buffer | null = Buffer.allocUnsafe(BATCH_BYTES);
  let pendingBytes = 0;
  let pendingCount = 0;
  let fsyncDue = false;
  let lastFsyncAt = 0;
  let fsyncTimer: NodeJS.Timeout | null = null;
  const stats: JournalStats = { writes: 0, fsyncs: 0, records: 0, bytes: 0, commitMs: 0 };

  function ioError(message: string, cause: unknown): JournalError {
    return new JournalError(JournalCode.IO, `${message}: ${(cause as Error)?.message ?? cause}`, { cause, details: { dir } });
  }

  function corrupt(segment: string, offset: number, seq: bigint, reason: string): JournalError {
    return new JournalError(JournalCode.CORRUPT, `journal corrupt in ${segment} at byte ${offset} (seq ${seq}): ${reason}`, {
      details: { segment, offset, seq: seq.toString(), reason },
    });
  }

  function assertWritable(): void {
    if (failure) throw failure;
    if (state !== "open") throw new JournalError(JournalCode.CLOSED, `journal ${dir} is ${state === "new" ? "not open" : "closed"}`);
  }

  /** Verifies one segment; returns the last seq in it and the end of its last good record. */
  async function scanSegment(segment: Segment, isLast: boolean): Promise<{ last: bigint; goodEnd: number; size: number }> {
    let expected = segment.firstSeq;
    let goodEnd = 0;
    let bad: { offset: number; seq: bigint; reason: string } | null = null;
    for await (const line of readLines(segment.path)) {
      const parsed = parseRecordLine(line.bytes);
      if (bad === null) {
        if (parsed === null || !line.terminated) {
          bad = { offset: line.offset, seq: expected, reason: line.terminated ? "checksum or format mismatch" : "incomplete record" };
        } else if (parsed.seq !== expected) {
          // A checksum-valid record with the wrong seq is never a torn write.
          throw corrupt(segment.path, line.offset, expected, `found seq ${parsed.seq}, expected ${expected}`);
        } else {
          expected += 1n;
          goodEnd = line.offset + line.bytes.length + 1;
        }
      } else if (parsed !== null && line.terminated) {
        throw corrupt(segment.path, bad.offset, bad.seq, `${bad.reason}, followed by valid record seq ${parsed.seq} at byte ${line.offset}`);
      }
    }
    const size = (await stat(segment.path)).size;
    if (bad !== null && !isLast) throw corrupt(segment.path, bad.offset, bad.seq, `${bad.reason} in a sealed segment`);
    return { last: expected - 1n, goodEnd, size };
  }

  async function repairTail(segment: Segment, goodEnd: number, size: number): Promise<void> {
    const savedAs = `${segment.path}.torn-${goodEnd}`;
    const source = await open(segment.path, "r");
    try {
      const tail = Buffer.alloc(size - goodEnd);
      await source.read(tail, 0, tail.length, goodEnd);
      await writeFile(savedAs, tail, { flush: true });
    } finally {
      await source.close();
    }
    await truncate(segment.path, goodEnd);
    const h = await open(segment.path, "r+");
    try {
      await h.sync();
    } finally {
      await h.close();
    }
    await fsyncDir(dir);
    options.onRepair?.({ segment: segment.path, offset: goodEnd, bytes: size - goodEnd, savedAs });
  }

  async function startSegment(firstSeq: bigint): Promise<void> {
    const path = join(dir, segmentName(firstSeq));
    handle = await open(path, appendFlags);
    await fsyncDir(dir);
    segments.push({ firstSeq, path });
    segmentSize = 0;
  }

  // The descriptor's callback API, not the FileHandle's promises: the same syscalls on libuv's
  // pool, with less bookkeeping on the sequencer's thread per batch.
  async function writeAll(buf: Buffer): Promise<void> {
    let done = 0;
    while (done < buf.length) done += await fdWrite(handle!.fd, buf, done, buf.length - done);
  }

  async function datasync(): Promise<void> {
    await fdDatasync(handle!.fd);
    stats.fsyncs += 1;
    lastFsyncAt = Date.now();
    fsyncDue = false;
  }

  function scheduleIntervalFsync(): void {
    if (Date.now() - lastFsyncAt >= intervalMs) {
      fsyncDue = true;
    } else if (fsyncTimer === null && state === "open") {
      fsyncTimer = setTimeout(() => {
        fsyncTimer = null;
        fsyncDue = true;
        kick();
      }, intervalMs - (Date.now() - lastFsyncAt));
      fsyncTimer.unref();
    }
  }

  function kick(): void {
    // Once closed, only close() itself runs the loop (a late fsync timer must not touch the handle).
    if (failure !== null || handle === null || state !== "open") return;
    group.start();
  }

  /** One round of the writer loop: everything buffered in one write, then the fsync the policy asks for. */
  async function commitBatch(settle: (durable: bigint) => void): Promise<void> {
    if (pendingCount > 0) {
      const full = batchBuf;
      const batch = full.subarray(0, pendingBytes);
      const count = pendingCount;
      const batchLast = lastSeq; // every buffered record is in this batch
      const batchFirst = batchLast - BigInt(count) + 1n;
      // Appends made while this batch is written go to the other buffer.
      batchBuf = spareBuf ?? Buffer.allocUnsafe(BATCH_BYTES);
      spareBuf = null;
      pendingBytes = 0;
      pendingCount = 0;
      // Its records wait for a segment roll-over too: counted in the batch's time.
      const started = performance.now();
      if (segmentSize > 0 && segmentSize + batch.length > segmentBytes) {
        await datasync();
        await handle!.close();
        handle = null;
        await startSegment(batchFirst);
      }
      await writeAll(batch);
      spareBuf = full.length <= BATCH_BYTES_KEPT ? full : null;
      segmentSize += batch.length;
      stats.writes += 1;
      stats.records += count;
      stats.bytes += batch.length;
      if (dsyncWrites) {
        stats.fsyncs += 1; // the O_DSYNC write was the sync
      } else if (policy === "always") await datasync();
      else if (policy === "interval") scheduleIntervalFsync();
      stats.commitMs += performance.now() - started;
      ackedSeq = batchLast;
      settle(ackedSeq);
    }
    if (fsyncDue) await datasync();
  }

  // At most one write + fsync in flight; everything buffered meanwhile goes in the next write.
  // A failed one refuses everything after it; reopening repairs the tail.
  const group = new GroupCommit<bigint>({
    hasWork: () => pendingCount > 0 || fsyncDue,
    commit: commitBatch,
    failed: (cause) => (failure = ioError(`journal write failed in ${dir}`, cause)),
  });

  return {
    async open() {
      if (state !== "new") throw new JournalError(JournalCode.CLOSED, `journal ${dir} was already opened`);
      try {
        await mkdir(dir, { recursive: true });
        const names = (await readdir(dir)).filter((n) => SEGMENT_NAME.test(n)).sort();
        for (const name of names) segments.push({ firstSeq: BigInt(SEGMENT_NAME.exec(name)![1]), path: join(dir, name) });
      } catch (cause) {
        throw ioError(`cannot open journal ${dir}`, cause);
      }
      if (segments.length === 0) {
        await startSegment(1n);
      } else {
        let previousLast: bigint | null = null;
        for (let i = 0; i < segments.length; i++) {
          const segment = segments[i];
          if (previousLast !== null && segment.firstSeq !== previousLast + 1n) {
            throw corrupt(segment.path, 0, previousLast + 1n, `segment starts at seq ${segment.firstSeq}, expected ${previousLast + 1n}`);
          }
          const isLast = i === segments.length - 1;
          const { last, goodEnd, size } = await scanSegment(segment, isLast);
          if (isLast && goodEnd < size) await repairTail(segment, goodEnd, size);
          previousLast = last;
          if (isLast) segmentSize = goodEnd;
        }
        lastSeq = ackedSeq = previousLast!;
        handle = await open(segments[segments.length - 1].path, appendFlags);
      }
      lastFsyncAt = Date.now();
      state = "open";
      return { lastSeq };
    },

    append(record: JournalRecord): bigint {
      assertWritable();
      const seq = lastSeq + 1n;
      const json = encodeJson(record); // throws before the seq is taken
      const room = pendingBytes + maxRecordLineBytes(json);
      if (room > batchBuf.length) {
        const grown = Buffer.allocUnsafe(Math.max(room, batchBuf.length * 2));
        batchBuf.copy(grown, 0, 0, pendingBytes);
        batchBuf = grown;
      }
      pendingBytes = writeRecordLine(batchBuf, pendingBytes, seq, json);
      pendingCount++;
      lastSeq = seq;
      return seq;
    },

    flush(): Promise<void> {
      if (failure) return Promise.reject(failure);
      if (state === "new") return Promise.reject(new JournalError(JournalCode.CLOSED, `journal ${dir} is not open`));
      const target = lastSeq;
      if (ackedSeq >= target) return Promise.resolve();
      const durable = group.wait(target);
      kick();
      return durable;
    },

    read(fromSeq = 1n): AsyncIterable<JournalEntry> {
      if (state !== "open") throw new JournalError(JournalCode.CLOSED, `journal ${dir} is not open`);
      const upTo = ackedSeq;
      const snapshot = segments.slice();
      return {
        async *[Symbol.asyncIterator]() {
          if (fromSeq > upTo) return;
          let start = 0;
          for (let i = 0; i < snapshot.length; i++) if (snapshot[i].firstSeq <= fromSeq) start = i;
          for (let i = start; i < snapshot.length; i++) {
            for await (const line of readLines(snapshot[i].path)) {
              const parsed = line.terminated ? parseRecordLine(line.bytes) : null;
              if (parsed === null) throw corrupt(snapshot[i].path, line.offset, 0n, "checksum or format mismatch while reading");
              if (parsed.seq < fromSeq) continue;
              yield { seq: parsed.seq, record: decodeJson(parsed.json) as JournalRecord };
              if (parsed.seq >= upTo) return;
            }
          }
        },
      };
    },

    async close() {
      if (state !== "open") {
        state = "closed";
        return;
      }
      state = "closed";
      if (failure === null && pendingCount > 0) group.start();
      while (group.running) await group.idle();
      if (fsyncTimer !== null) clearTimeout(fsyncTimer);
      fsyncTimer = null;
      if (handle !== null) {
        try {
          if (failure === null && policy !== "none") await datasync();
        } finally {
          await handle.close();
          handle = null;
        }
      }
      if (failure) throw failure;
    },

    stats: () => ({ ...stats }),
  };
}

