import { closeSync, fdatasync, fdatasyncSync, fsyncSync, openSync, readSync, writeSync, writevSync } from "node:fs";
import { mkdir, open, readdir, readFile, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fsyncDirSync } from "../../fs/fsyncDir.ts";
import { GroupCommit } from "../../fs/groupCommit.ts";
import { readLines } from "../../journal/readLines.ts";
import { AuditCode, AuditError } from "./errors.ts";

/**
 * The audit log's bytes (the byte-only core of auditLog.ts): segment files of lines, line i
 * holding seq i, their offsets files, append with group commit, reads, and at open the
 * segments checked in order and a torn last line cut away. It knows nothing of events (it
 * only checks a line starts with its own seq), trees or checkpoints: the checkpointer hashes
 * the lines through the hooks, the export reads the stored bytes.
 *
 * - `events-<first seq, 12 digits>.jsonl`: segments of `segmentEvents` lines;
 * - `events-<first seq>.offsets`: where each line ends, float64 little-endian, appended once
 *   the lines are durable (an untrusted cache: rebuilt from the segment when it disagrees).
 */
export type SegmentStoreOptions = {
  dir: string;
  segmentEvents: number;
  fsync?: "always" | "batch";
  onRepair?: (info: SegmentRepair) => void;
  /** Lines up to `upTo` (exclusive) were written; called while their fdatasync runs (to hash them meanwhile). */
  whileSyncing: (upTo: number) => void;
  /** Lines up to `upTo` are durable; called before they are counted durable (to write what they complete). */
  onDurable: (upTo: number) => void;
  /**
   * Run before each write to the directory (lines, offsets, and the checkpointer's tiles and
   * checkpoints through checkFence); throws to refuse it. A split's sequencer ends its process
   * here once its lease ran out: the next holder owns these files (cluster/sequencerRole.ts).
   */
  writeFence?: () => void;
};

export type SegmentRepair = { file: string; offset: number; bytes: number; savedAs: string } | { file: string; rebuilt: string };

const SEGMENT_NAME = /^events-(\d{12})\.jsonl$/;
/** Bytes per read or write of stored lines. */
export const IO_CHUNK = 1 << 20;
/** Lines per read of a completed segment's offsets file (512 KiB). */
const OFFSETS_BLOCK = 1 << 16;

export function segmentFileName(firstSeq: number): string {
  return `events-${String(firstSeq).padStart(12, "0")}.jsonl`;
}

type Segment = {
  firstSeq: number;
  path: string;
  /** `events-<first seq>.offsets`: where each line ends, float64 little-endian, appended once durable. */
  idxPath: string;
  count: number;
  /** Bytes of the segment's complete lines. */
  end: number;
  /**
   * offsets[i] is where line i starts; offsets[count] is the end of the last line. Held only
   * while the segment is written to; a completed one reads its offsets file when needed.
   */
  offsets: Float64Array | null;
  /** Lines whose end is in the offsets file. */
  idxWritten: number;
  idxFd: number;
  /** Writes to the offsets file, and how many of them an fdatasync has covered. */
  idxWrites: number;
  idxSynced: number;
};

/**
 * Lines of one segment waiting for the next commit: `bufs`, then the run of lines written back
 * to back in one buffer that the latest lines extend (kept as bounds, made a view once it ends).
 */
type PendingGroup = { seg: Segment; bufs: Buffer[]; run: ArrayBufferLike; runStart: number; runEnd: number; bytes: number; lastSeq: number };

/** The group's views, its open run closed. */
function viewsOf(g: PendingGroup): Buffer[] {
  if (g.runEnd > g.runStart) g.bufs.push(Buffer.from(g.run, g.runStart, g.runEnd - g.runStart));
  g.runStart = g.runEnd;
  return g.bufs;
}

function pushOffset(seg: Segment, end: number): void {
  let offsets = seg.offsets!;
  if (seg.count + 1 >= offsets.length) {
    const grown = new Float64Array(offsets.length * 2);
    grown.set(offsets);
    seg.offsets = offsets = grown;
  }
  seg.count++;
  offsets[seg.count] = end;
  seg.end = end;
}

function newSegment(dir: string, firstSeq: number): Segment {
  const path = join(dir, segmentFileName(firstSeq));
  return { firstSeq, path, idxPath: path.replace(/\.jsonl$/, ".offsets"), count: 0, end: 0, offsets: new Float64Array(1024), idxWritten: 0, idxFd: -1, idxWrites: 0, idxSynced: 0 };
}

export function writeAllSync(fd: number, buf: Buffer): void {
  let done = 0;
  while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done);
}

/** The most buffers one writev takes (Linux IOV_MAX). */
const IOV_MAX = 1024;

/** Writes `bufs` back to back, with as few writev calls as it takes (it may shorten the array's buffers). */
export function writevAllSync(fd: number, bufs: Buffer[]): void {
  let i = 0;
  while (i < bufs.length) {
    let written = writevSync(fd, i === 0 && bufs.length <= IOV_MAX ? bufs : bufs.slice(i, i + IOV_MAX));
    while (i < bufs.length && written >= bufs[i].length) written -= bufs[i++].length;
    if (written > 0) bufs[i] = bufs[i].subarray(written); // a short write stopped inside this one
  }
}

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

/** BAD_RANGE unless 0 <= from <= to <= limit (safe integers). */
export function checkRange(from: number, to: number, limit: number, what: string): void {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || from > to || to > limit) {
    throw new AuditError(AuditCode.BAD_RANGE, `${what}: need 0 <= ${from} <= ${to} <= ${limit}`);
  }
}

const SEQ_PREFIX = Buffer.from('{"seq":');

/** The seq a canonical line starts with, or -1: a cheap order check that needs no JSON parse. */
function leadingSeq(line: Buffer): number {
  if (line.length < SEQ_PREFIX.length + 2 || line.compare(SEQ_PREFIX, 0, SEQ_PREFIX.length, 0, SEQ_PREFIX.length) !== 0) return -1;
  let v = 0;
  let i = SEQ_PREFIX.length;
  for (; i < line.length && i < SEQ_PREFIX.length + 16; i++) {
    const c = line[i];
    if (c === 0x2c) break;
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + (c - 0x30);
  }
  return i > SEQ_PREFIX.length && line[i] === 0x2c ? v : -1;
}

/** Keeps the bytes of `path` from `goodEnd` on in `<path>.torn-<goodEnd>`, then cuts them (a write a crash cut short, never acknowledged). */
export async function cutTornTail(path: string, goodEnd: number, size: number, onRepair: ((info: SegmentRepair) => void) | undefined): Promise<void> {
  const savedAs = `${path}.torn-${goodEnd}`;
  const h = await open(path, "r");
  try {
    const tail = Buffer.alloc(size - goodEnd);
    await h.read(tail, 0, tail.length, goodEnd);
    await writeFile(savedAs, tail, { flush: true });
  } finally {
    await h.close();
  }
  await truncate(path, goodEnd);
  const fd = openSync(path, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  onRepair?.({ file: path, offset: goodEnd, bytes: size - goodEnd, savedAs });
}

export class SegmentStore {
  readonly #dir: string;
  readonly #o: SegmentStoreOptions;
  readonly #segments: Segment[] = [];
  readonly #group: GroupCommit<number>;

  #failure: AuditError | null = null;
  /** Lines appended, including those not yet flushed. */
  #size = 0;
  #durable = 0;
  #pending: PendingGroup[] = [];
  #fd = -1;
  #fdSeg: Segment | null = null;
  /** Segments with offsets written but not yet fdatasynced. */
  #idxDirty: Segment[] = [];
  #dirDirty = false;
  /** Segments whose offsets open had to rebuild by reading them. */
  #rescanned: Segment[] = [];

  constructor(o: SegmentStoreOptions) {
    this.#o = o;
    this.#dir = o.dir;
    if (!Number.isSafeInteger(o.segmentEvents) || o.segmentEvents < 1) throw new AuditError(AuditCode.BAD_RANGE, "segmentEvents must be a positive integer");
    this.#group = new GroupCommit<number>({
      hasWork: () => this.#pending.length > 0,
      commit: (settle) => this.#commit(settle),
      failed: (cause) => this.fail(cause),
    });
  }

  get size(): number {
    return this.#size;
  }

  get durable(): number {
    return this.#durable;
  }

  /** The first write failure (or one reported through fail()): the log refuses appends after it. */
  get failure(): AuditError | null {
    return this.#failure;
  }

  /** Throws (and fails the store) when the write fence refuses a write. */
  checkFence(): void {
    if (!this.#o.writeFence) return;
    try {
      this.#o.writeFence();
    } catch (cause) {
      throw this.fail(cause);
    }
  }

  /** Records a write failure (the first one sticks) and returns it. */
  fail(cause: unknown): AuditError {
    if (!this.#failure) {
      this.#failure =
        cause instanceof AuditError
          ? cause
          : new AuditError(AuditCode.IO, `audit log ${this.#dir}: write failed, refusing further appends: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    }
    return this.#failure;
  }

  // ---- open ---------------------------------------------------------------------------

  /** Reads the segments in order: offsets from their files where they can be believed (not with `full`), else from the lines. */
  async load(full: boolean): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const names = (await readdir(this.#dir)).filter((f) => SEGMENT_NAME.test(f)).sort();
    for (let s = 0; s < names.length; s++) {
      const firstSeq = Number(SEGMENT_NAME.exec(names[s])![1]);
      if (firstSeq !== this.#size) {
        throw new AuditError(AuditCode.TAMPERED, `audit log ${this.#dir}: segment ${names[s]} starts at seq ${firstSeq} but ${this.#size} events precede it (a segment is missing, renamed or truncated)`, {
          details: { segment: names[s], firstSeq, expected: this.#size },
        });
      }
      const seg = newSegment(this.#dir, firstSeq);
      const isLast = s === names.length - 1;
      const indexed = !full && (isLast ? await this.#loadOpenSegmentIndex(seg) : await this.#loadSegmentIndex(seg));
      if (!indexed) {
        await this.#scanSegment(seg, isLast);
        if (!full) this.#rescanned.push(seg);
      }
      this.#segments.push(seg);
      this.#size += seg.count;
    }
    this.#durable = this.#size;
  }

  /** The seq range of the last completed segment (the one before the segment written to), if any. */
  lastCompletedSegment(): { firstSeq: number; count: number } | undefined {
    return this.#segments.at(-2);
  }

  /** The seq ranges of segments whose offsets open had to rebuild by reading them (each reported once). */
  takeRescanned(): Array<{ firstSeq: number; count: number }> {
    const out = this.#rescanned;
    this.#rescanned = [];
    return out;
  }

  /** A completed segment: its offsets file is believed when it is whole and ends where the segment ends (reads check each line again). */
  async #loadSegmentIndex(seg: Segment): Promise<boolean> {
    const idx = await stat(seg.idxPath).catch(() => null);
    if (!idx || idx.size === 0 || idx.size % 8 !== 0) return false;
    const last = Buffer.alloc(8);
    const h = await open(seg.idxPath, "r");
    try {
      await h.read(last, 0, 8, idx.size - 8);
    } finally {
      await h.close();
    }
    const end = last.readDoubleLE(0);
    if (end !== (await stat(seg.path)).size) return false;
    seg.count = idx.size / 8;
    seg.end = end;
    seg.offsets = null;
    seg.idxWritten = seg.count;
    return true;
  }

  /**
   * The last segment: its offsets, checked to increase and to end on the line they claim,
   * then the lines written after them (offsets are written after the lines, so a crash can
   * leave some out), and a torn last line cut away.
   */
  async #loadOpenSegmentIndex(seg: Segment): Promise<boolean> {
    const raw = await readFile(seg.idxPath).catch(() => null);
    if (!raw) return false;
    const c = Math.floor(raw.length / 8);
    const offsets = new Float64Array(Math.max(1024, 2 ** Math.ceil(Math.log2(c + 2))));
    Buffer.from(offsets.buffer).set(raw.subarray(0, c * 8), 8);
    for (let i = 1; i <= c; i++) if (!(offsets[i] > offsets[i - 1]) || !Number.isSafeInteger(offsets[i])) return false;
    const size = (await stat(seg.path)).size;
    if (offsets[c] > size) return false;
    if (c > 0) {
      const line = Buffer.alloc(offsets[c] - offsets[c - 1]);
      const h = await open(seg.path, "r");
      try {
        await h.read(line, 0, line.length, offsets[c - 1]);
      } finally {
        await h.close();
      }
      if (line[line.length - 1] !== 0x0a || leadingSeq(line) !== seg.firstSeq + c - 1) return false;
    }
    if (raw.length !== c * 8) await truncate(seg.idxPath, c * 8);
    seg.offsets = offsets;
    seg.count = c;
    seg.end = offsets[c];
    seg.idxWritten = c;
    if (offsets[c] < size) {
      for await (const line of readLines(seg.path, offsets[c])) if (!(await this.#takeLine(seg, line, true))) break;
    }
    return true;
  }

  /** Reads a segment line by line, checking every line's seq, and writes its offsets file anew if it differs. */
  async #scanSegment(seg: Segment, isLast: boolean): Promise<void> {
    seg.count = 0;
    seg.end = 0;
    seg.offsets = new Float64Array(1024);
    for await (const line of readLines(seg.path)) if (!(await this.#takeLine(seg, line, isLast))) break;
    const computed = Buffer.from(seg.offsets.buffer, 8, seg.count * 8);
    const stored = await readFile(seg.idxPath).catch(() => null);
    if (!stored || !stored.equals(computed)) {
      await writeFile(seg.idxPath, computed, { flush: true });
      this.#dirDirty = true;
      this.#o.onRepair?.({ file: seg.idxPath, rebuilt: stored ? "line offsets did not match the segment: rewritten" : "line offsets were missing: written" });
    }
    seg.idxWritten = seg.count;
    if (!isLast) seg.offsets = null;
  }

  /** One line read at open: false once a torn last line was cut away. */
  async #takeLine(seg: Segment, line: { offset: number; bytes: Buffer; terminated: boolean }, isLast: boolean): Promise<boolean> {
    const seq = seg.firstSeq + seg.count;
    if (!line.terminated) {
      if (!isLast) throw new AuditError(AuditCode.TAMPERED, `audit log: ${seg.path} ends without a newline at byte ${line.offset} but is not the last segment`, { details: { file: seg.path, offset: line.offset, seq } });
      await cutTornTail(seg.path, line.offset, line.offset + line.bytes.length, this.#o.onRepair);
      return false;
    }
    const found = leadingSeq(line.bytes);
    if (found !== seq) {
      throw new AuditError(AuditCode.TAMPERED, `audit log: ${seg.path} byte ${line.offset}: expected the line of seq ${seq}, found ${found < 0 ? "a line that is not a canonical event" : `seq ${found}`}`, {
        details: { file: seg.path, offset: line.offset, seq, found },
      });
    }
    pushOffset(seg, line.offset + line.bytes.length + 1);
    return true;
  }

  // ---- append and flush ---------------------------------------------------------------

  /**
   * Appends one "\n"-terminated line (the line of seq `size`). With fsync "always" it is
   * written and fdatasynced before this returns; else it waits for flush().
   */
  append(buf: Buffer): void {
    const seq = this.#size;
    let seg = this.#segments.at(-1);
    if (!seg || seg.count >= this.#o.segmentEvents) {
      seg = newSegment(this.#dir, seq);
      this.#segments.push(seg);
    }
    pushOffset(seg, seg.end + buf.length);
    this.#size = seq + 1;

    if (this.#o.fsync === "always") {
      this.checkFence();
      try {
        const fd = this.#fdFor(seg);
        writeAllSync(fd, buf);
        fsyncSync(fd);
        this.#o.whileSyncing(seq + 1);
        this.#o.onDurable(seq + 1);
        this.writeOffsets(seq + 1);
      } catch (cause) {
        throw this.fail(cause);
      }
      this.#durable = seq + 1;
    } else {
      const g = this.#pending.at(-1);
      // Lines written back to back in one buffer (auditLog.ts writes them so) become one view,
      // made at the commit: it writes a few views with one writev, without first copying them
      // together, and no view is made per line meanwhile.
      if (g && g.seg === seg) {
        if (g.run === buf.buffer && g.runEnd === buf.byteOffset) g.runEnd += buf.length;
        else {
          viewsOf(g);
          g.run = buf.buffer;
          g.runStart = buf.byteOffset;
          g.runEnd = buf.byteOffset + buf.length;
        }
        g.bytes += buf.length;
        g.lastSeq = seq;
      } else {
        this.#pending.push({ seg, bufs: [], run: buf.buffer, runStart: buf.byteOffset, runEnd: buf.byteOffset + buf.length, bytes: buf.length, lastSeq: seq });
      }
    }
  }

  /** Everything appended so far is written and fdatasynced; concurrent callers share one fdatasync (fs/groupCommit.ts). */
  flush(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    const target = this.#size;
    if (this.#durable >= target) return Promise.resolve();
    const durable = this.#group.wait(target);
    this.#group.start();
    return durable;
  }

  /**
   * One round of the single writer: one write + fdatasync per segment touched; later appends
   * wait for the next round. The lines are hashed (whileSyncing) while the fdatasync runs on
   * libuv's pool, and the tiles and offsets they complete are written once the lines are
   * durable (fdatasynced themselves before the next checkpoint, see syncOffsets).
   */
  async #commit(settle: (durable: number) => void): Promise<void> {
    const groups = this.#pending;
    this.#pending = [];
    for (const g of groups) {
      // Checked per write, not per round: the fdatasync below yields, and a pause may come there.
      this.checkFence();
      const fd = this.#fdFor(g.seg);
      writevAllSync(fd, viewsOf(g));
      const synced = fdatasyncAsync(fd);
      try {
        this.#o.whileSyncing(g.lastSeq + 1);
      } finally {
        await synced;
      }
      this.#o.onDurable(g.lastSeq + 1);
      this.writeOffsets(g.lastSeq + 1);
      this.#durable = g.lastSeq + 1;
    }
    settle(this.#durable);
  }

  /** The append descriptor for `seg`, rolling from the previous segment (already synced) when needed. */
  #fdFor(seg: Segment): number {
    if (this.#fdSeg === seg) return this.#fd;
    if (this.#fd >= 0) {
      fsyncSync(this.#fd);
      closeSync(this.#fd);
      this.#fd = -1;
    }
    this.#fd = openSync(seg.path, "a", 0o644);
    this.#fdSeg = seg;
    fsyncDirSync(this.#dir); // the new file's directory entry must survive a crash too
    return this.#fd;
  }

  /** Writes the line offsets of lines durable up to `upTo` (page cache; syncOffsets makes them durable). */
  writeOffsets(upTo: number): void {
    for (let s = this.#segments.length - 1; s >= 0; s--) {
      const seg = this.#segments[s];
      if (seg.idxWritten === seg.count) break;
      const count = Math.min(seg.count, upTo - seg.firstSeq);
      if (count <= seg.idxWritten) continue;
      this.checkFence();
      if (seg.idxFd < 0) {
        seg.idxFd = openSync(seg.idxPath, "a", 0o644);
        this.#dirDirty = true;
      }
      const o = seg.offsets!;
      writeAllSync(seg.idxFd, Buffer.from(o.buffer, o.byteOffset + (seg.idxWritten + 1) * 8, (count - seg.idxWritten) * 8));
      seg.idxWritten = count;
      seg.idxWrites++;
      if (!this.#idxDirty.includes(seg)) this.#idxDirty.push(seg);
    }
  }

  /** fdatasyncs the offsets written so far; a completed segment then drops its offsets from memory. */
  syncOffsets(): void {
    for (const seg of this.#idxDirty) {
      if (seg.idxWrites !== seg.idxSynced) fdatasyncSync(seg.idxFd);
      seg.idxSynced = seg.idxWrites;
    }
    this.#settleOffsets();
  }

  /** syncOffsets off the event loop. */
  async syncOffsetsAsync(): Promise<void> {
    const segs = this.#idxDirty.filter((s) => s.idxWrites !== s.idxSynced).map((seg) => ({ seg, writes: seg.idxWrites }));
    await Promise.all(segs.map(({ seg }) => fdatasyncAsync(seg.idxFd)));
    for (const { seg, writes } of segs) seg.idxSynced = Math.max(seg.idxSynced, writes);
    this.#settleOffsets();
  }

  /** Completed segments whose offsets are all durable close their offsets file and drop their offsets from memory. */
  #settleOffsets(): void {
    this.#idxDirty = this.#idxDirty.filter((seg) => {
      if (seg.idxWrites !== seg.idxSynced) return true;
      if (seg !== this.#segments.at(-1) && seg.idxWritten === seg.count && seg.idxFd >= 0) {
        closeSync(seg.idxFd);
        seg.idxFd = -1;
        seg.offsets = null;
      }
      return false;
    });
    if (this.#dirDirty) {
      fsyncDirSync(this.#dir);
      this.#dirDirty = false;
    }
  }

  // ---- reads --------------------------------------------------------------------------

  /** Index of the segment holding `seq` (segments are sorted by first seq). */
  #segmentOf(seq: number): number {
    let lo = 0;
    let hi = this.#segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#segments[mid].firstSeq <= seq) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The stored lines (without "\n") of seqs [fromSeq, toSeq); flushes first when the range is not durable yet. */
  async *read(fromSeq = 0, toSeq: number = this.#size): AsyncGenerator<{ seq: number; line: string }> {
    checkRange(fromSeq, toSeq, this.#size, "read");
    if (toSeq > this.#durable) await this.flush();
    for await (const { seq, bytes } of this.lines(fromSeq, toSeq)) yield { seq, line: bytes.toString("utf8") };
  }

  /** offsets[a..b] of a segment (from memory, or its offsets file: at most 512 KiB, read at once); undefined when the file is short. */
  #offsetsRange(seg: Segment, a: number, b: number): Float64Array | undefined {
    if (seg.offsets) return seg.offsets.subarray(a, b + 1);
    const out = new Float64Array(b - a + 1);
    const view = Buffer.from(out.buffer);
    const skip = a === 0 ? 1 : 0; // offsets[0] = 0 is not stored
    const bytes = (b - a + 1 - skip) * 8;
    const fd = openSync(seg.idxPath, "r");
    try {
      return readSync(fd, view, skip * 8, bytes, (a - 1 + skip) * 8) === bytes ? out : undefined;
    } finally {
      closeSync(fd);
    }
  }

  /** The lines of [from, to), read synchronously (a leaf tile rebuilt while a proof is served). */
  readLinesSync(from: number, to: number): Buffer[] {
    const out: Buffer[] = [];
    for (let s = this.#segmentOf(from); s < this.#segments.length && this.#segments[s].firstSeq < to; s++) {
      const seg = this.#segments[s];
      const a = Math.max(from, seg.firstSeq) - seg.firstSeq;
      const b = Math.min(to, seg.firstSeq + seg.count) - seg.firstSeq;
      const offs = this.#offsetsRange(seg, a, b);
      if (!offs) throw new AuditError(AuditCode.TAMPERED, `audit log: ${seg.idxPath} is shorter than its segment`);
      const buf = Buffer.allocUnsafe(offs[b - a] - offs[0]);
      const fd = openSync(seg.path, "r");
      try {
        if (readSync(fd, buf, 0, buf.length, offs[0]) !== buf.length) throw new AuditError(AuditCode.TAMPERED, `audit log: ${seg.path} is shorter than its offsets say`);
      } finally {
        closeSync(fd);
      }
      for (let i = a; i < b; i++) {
        const end = offs[i + 1 - a] - offs[0];
        const line = buf.subarray(offs[i - a] - offs[0], end - 1);
        if (buf[end - 1] !== 0x0a || leadingSeq(line) !== seg.firstSeq + i) {
          throw new AuditError(AuditCode.TAMPERED, `audit log: ${seg.path}: the line of seq ${seg.firstSeq + i} is not where the offsets say`, { details: { seq: seg.firstSeq + i } });
        }
        out.push(line);
      }
    }
    return out;
  }

  /**
   * The stored lines of [fromSeq, toSeq) as views of a read buffer (valid until the next
   * step), each checked to end with a newline and to start with its own seq: an offsets file
   * that disagrees with its segment is rebuilt from it (it is a cache), an event line that
   * does not is tampering.
   */
  async *lines(fromSeq: number, toSeq: number): AsyncGenerator<{ seq: number; bytes: Buffer }> {
    if (fromSeq >= toSeq) return;
    for (let s = this.#segmentOf(fromSeq); s < this.#segments.length; s++) {
      const seg = this.#segments[s];
      if (seg.firstSeq >= toSeq) break;
      const b = Math.min(toSeq, seg.firstSeq + seg.count) - seg.firstSeq;
      let i = Math.max(fromSeq, seg.firstSeq) - seg.firstSeq;
      let rescanned = false;
      while (i < b) {
        const stop = Math.min(b, i + OFFSETS_BLOCK);
        const offs = this.#offsetsRange(seg, i, stop);
        let bad = offs === undefined;
        if (offs) {
          const first = i;
          const at = (k: number): number => offs[k - first];
          const h = await open(seg.path, "r");
          try {
            while (i < stop && !bad) {
              // Whole lines per read, about IO_CHUNK bytes (at least one line, however long).
              const base = at(i);
              let j = i + 1;
              while (j < stop && at(j + 1) - base <= IO_CHUNK) j++;
              const buf = Buffer.allocUnsafe(at(j) - base);
              const { bytesRead } = await h.read(buf, 0, buf.length, base);
              if (bytesRead !== buf.length) {
                bad = true;
                break;
              }
              for (; i < j; i++) {
                const end = at(i + 1) - base;
                const line = buf.subarray(at(i) - base, end - 1);
                if (buf[end - 1] !== 0x0a || leadingSeq(line) !== seg.firstSeq + i) {
                  bad = true;
                  break;
                }
                yield { seq: seg.firstSeq + i, bytes: line };
              }
            }
          } finally {
            await h.close();
          }
        }
        if (!bad) continue;
        if (rescanned || seg.offsets) {
          throw new AuditError(AuditCode.TAMPERED, `audit log: ${seg.path}: the line of seq ${seg.firstSeq + i} is not where the segment's offsets say, even after re-reading the segment (modified while open?)`, {
            details: { file: seg.path, seq: seg.firstSeq + i },
          });
        }
        const count = seg.count;
        await this.#scanSegment(seg, false);
        if (seg.count !== count) throw new AuditError(AuditCode.TAMPERED, `audit log: ${seg.path} now holds ${seg.count} lines, not ${count} (modified while open?)`);
        rescanned = true;
      }
    }
  }

  /** Where seq n ends in each segment holding seqs below it: [segment, end byte offset]. */
  #segmentEnds(n: number): Array<[Segment, number]> {
    checkRange(0, n, this.#durable, "storedBytes");
    const ends: Array<[Segment, number]> = [];
    for (let s = 0; s < this.#segments.length && this.#segments[s].firstSeq < n; s++) {
      const seg = this.#segments[s];
      const last = Math.min(n - seg.firstSeq, seg.count);
      const end = last === seg.count ? seg.end : this.#offsetsRange(seg, last, last)?.[0];
      if (end === undefined) throw new AuditError(AuditCode.TAMPERED, `audit log: ${seg.idxPath} is shorter than its segment`);
      ends.push([seg, end]);
    }
    return ends;
  }

  /** The stored bytes of seqs [0, n) ("\n"-terminated lines, as on disk): the length first, the bytes in chunks. n must be durable. */
  storedBytes(n: number): { length: number; chunks: () => AsyncIterable<Buffer> } {
    const ends = this.#segmentEnds(n);
    return {
      length: ends.reduce((sum, [, end]) => sum + end, 0),
      // A fresh buffer per chunk: a consumer such as a tar stream may still hold the previous one.
      chunks: async function* () {
        for (const [seg, end] of ends) {
          const h = await open(seg.path, "r");
          try {
            for (let pos = 0; pos < end; ) {
              const buf = Buffer.allocUnsafe(Math.min(IO_CHUNK, end - pos));
              const { bytesRead } = await h.read(buf, 0, buf.length, pos);
              if (bytesRead === 0) throw new AuditError(AuditCode.TAMPERED, `audit log: ${seg.path} is shorter than its indexed length`);
              yield buf.subarray(0, bytesRead);
              pos += bytesRead;
            }
          } finally {
            await h.close();
          }
        }
      },
    };
  }

  /** Closes the segment and offsets files (flush first: what is pending is not written). */
  close(): void {
    for (const seg of this.#segments) {
      if (seg.idxFd >= 0) closeSync(seg.idxFd);
      seg.idxFd = -1;
    }
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
    this.#fdSeg = null;
  }
}
