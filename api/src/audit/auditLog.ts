import { randomUUID } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { closeSync, fdatasync, fdatasyncSync, fsyncSync, openSync, readSync, writeSync } from "node:fs";
import { mkdir, open, readdir, readFile, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fsyncDirSync } from "../fs/fsyncDir.ts";
import { readLines } from "../journal/readLines.ts";
import type { AuditEvent, AuditEventInput } from "./auditEvent.ts";
import { encodeAuditEvent, isoMicros } from "./auditEvent.ts";
import type { AnchoredCheckpoint, Checkpoint, CheckpointAnchor } from "./checkpoint.ts";
import { signCheckpoint, verifyCheckpoint } from "./checkpoint.ts";
import { AuditCode, AuditError } from "./errors.ts";
import { HASH_BYTES, leafHashInto, toHex } from "./merkle.ts";
import { TiledTree, TILE_WIDTH, TILES_DIR } from "./tileTree.ts";

/**
 * The append-only audit log: one canonical JSON line per event (auditEvent.ts), line i being
 * the event with seq i and Merkle leaf i (merkle.ts), with signed checkpoints of the tree
 * (checkpoint.ts). Storage, in `dir`:
 *
 * - `events-<first seq, 12 digits>.jsonl`: segments of `segmentEvents` (1,000,000) lines;
 * - `checkpoints.jsonl`: one Checkpoint JSON per line, and `{"anchorFor":treeSize,...}` lines
 *   recording where a checkpoint's root went on chain (append-only: nothing is rewritten);
 * - `checkpoint-key.pem` / `checkpoint.pub` (written by loadOrCreateSigningKey).
 *
 * Nothing is ever deleted: there is no delete API, and `retentionYears` is only reported.
 *
 * Durability: with fsync "batch" `append` only buffers and `flush` writes everything buffered
 * with one write and one fdatasync (callers arriving while one is in flight share the next);
 * with "always" every append is written and fdatasynced before it returns. A checkpoint only
 * ever covers durable events, so a signed root never refers to bytes a crash could lose.
 *
 * One writer per directory: nothing here locks the directory against a second process.
 */
export type AuditLogOptions = {
  dir: string;
  /** Checkpoint origin (C2SP): names the log. Default "sen.exchange/audit". */
  origin?: string;
  fsync?: "always" | "batch";
  /** Sign a checkpoint when this many events or this much time passed since the last, whichever first; only if the log grew. */
  checkpointEvery?: { events: number; ms: number };
  signingKey: { privateKey: KeyObject; publicKey: KeyObject };
  /** Epoch microseconds. Default: Date.now at start plus process.hrtime since, strictly increasing. */
  now?: () => bigint;
  onCheckpoint?: (cp: Checkpoint, previousTreeSize: number) => void;
  /** Called when open() cut a torn (never acknowledged) last line away, or rebuilt tiles or offsets (an untrusted cache) from the events. */
  onRepair?: (info: AuditRepair) => void;
  /** Background failures (timed checkpoints, a throwing onCheckpoint); the log also refuses further appends after an I/O failure. */
  onError?: (error: unknown) => void;
  /** Reported in exports and status; the log itself never deletes. Default 10. */
  retentionYears?: number;
  /** @internal Lines per segment file (tests use small values). Default 1,000,000. */
  segmentEvents?: number;
  /**
   * "fast" (default): open from the stored tiles and offsets, hashing only the recent lines.
   * "full": re-read and re-hash every event and rebuild the tiles and offsets (for auditors).
   */
  verify?: "fast" | "full";
};

/** A torn last line cut away, or a cache (tiles, offsets) rebuilt from the events. */
export type AuditRepair = { file: string; offset: number; bytes: number; savedAs: string } | { file: string; rebuilt: string };

export type InclusionProofResult = { leafIndex: number; treeSize: number; leafHash: string; proof: string[]; root: string };
export type ConsistencyProofResult = { first: number; second: number; proof: string[]; firstRoot: string; secondRoot: string };

export interface AuditLog {
  readonly origin: string;
  readonly retentionYears: number;
  /** Events appended, including those not yet flushed. */
  readonly size: number;
  /** Events written and fsynced. */
  readonly durableSize: number;
  /** True once a write failed: the log refuses appends until the process restarts. */
  readonly failed: boolean;
  /** Assigns seq, id and ts (unless given); synchronous; the tree includes the event at once. */
  append(input: AuditEventInput): AuditEvent;
  /** Everything appended so far is written and fsynced; concurrent callers share one fsync. */
  flush(): Promise<void>;
  /**
   * Signs a checkpoint of the DURABLE prefix now (events appended but not yet flushed are not
   * covered: `await flush()` first, or use `checkpointNow()`).
   */
  checkpoint(): Checkpoint;
  /** flush(), then checkpoint(): a checkpoint of everything appended so far. */
  checkpointNow(): Promise<Checkpoint>;
  /** Every checkpoint, oldest first, with its on-chain anchor once recorded. */
  checkpoints(): readonly AnchoredCheckpoint[];
  latestCheckpoint(): AnchoredCheckpoint | undefined;
  recordAnchor(treeSize: number, anchor: CheckpointAnchor): void;
  /** The stored lines (without "\n") of seqs [fromSeq, toSeq); flushes first when the range is not durable yet. */
  read(fromSeq?: number, toSeq?: number): AsyncIterable<{ seq: number; line: string }>;
  event(seq: number): Promise<AuditEvent | undefined>;
  /** Audit path of leaf `seq` in the tree of `treeSize` (default: the current size). Hashes are 0x hex. */
  inclusionProof(seq: number, treeSize?: number): InclusionProofResult;
  consistencyProof(m: number, n: number): ConsistencyProofResult;
  /**
   * Writes a verifiable export (README.md); it ends exactly at a checkpoint: a fresh one without
   * `toSeq`, else the latest with treeSize <= `toSeq` (exclusive: the seqs below it).
   */
  exportTo(dir: string, opts?: { toSeq?: number }): Promise<{ events: number; checkpoint: Checkpoint }>;
  /**
   * The stored bytes of seqs [0, n) as they are on disk ("\n"-terminated lines, no decoding): the
   * total length first (a tar header needs it) and the bytes in chunks. n must be durable.
   */
  storedBytes(n: number): { length: number; chunks: () => AsyncIterable<Buffer> };
  /** The log's own leaf hashes of seqs [0, n), 32 bytes each, in chunks (what exportTo writes as leaves.bin). */
  leafHashes(n: number): AsyncIterable<Buffer>;
  /** Flushes, signs a final checkpoint if the log grew, stops the timers. Idempotent. */
  close(): Promise<void>;
}

export const AUDIT_DEFAULT_ORIGIN = "sen.exchange/audit";
export const CHECKPOINTS_FILE = "checkpoints.jsonl";
const SEGMENT_NAME = /^events-(\d{12})\.jsonl$/;
const DEFAULT_SEGMENT_EVENTS = 1_000_000;
const IO_CHUNK = 1 << 20;

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

type PendingGroup = { seg: Segment; bufs: Buffer[]; bytes: number; lastSeq: number };
type Waiter = { target: number; resolve: () => void; reject: (e: unknown) => void };
type AnchorLine = CheckpointAnchor & { anchorFor: number };

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

/** Lines per read of a completed segment's offsets file (512 KiB). */
const OFFSETS_BLOCK = 1 << 16;

/** Default clock: wall time at start, advanced by the monotonic clock, never repeating. */
function monotonicMicros(): () => bigint {
  const wallAtStart = BigInt(Date.now()) * 1000n;
  const hrAtStart = process.hrtime.bigint();
  let last = 0n;
  return () => {
    let t = wallAtStart + (process.hrtime.bigint() - hrAtStart) / 1000n;
    if (t <= last) t = last + 1n;
    last = t;
    return t;
  };
}

function writeAllSync(fd: number, buf: Buffer): void {
  let done = 0;
  while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done);
}

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

const SEQ_PREFIX = Buffer.from('{"seq":');
const EMPTY = Buffer.alloc(0);

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

async function saveAndCut(path: string, goodEnd: number, size: number, onRepair: AuditLogOptions["onRepair"]): Promise<void> {
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

class FileAuditLog implements AuditLog {
  readonly origin: string;
  readonly retentionYears: number;
  readonly #dir: string;
  readonly #o: AuditLogOptions;
  readonly #segmentEvents: number;
  readonly #every: { events: number; ms: number };
  readonly #now: () => bigint;
  readonly #tree: TiledTree;
  readonly #segments: Segment[] = [];
  readonly #checkpoints: AnchoredCheckpoint[] = [];

  #state: "open" | "closing" | "closed" = "open";
  #failure: AuditError | null = null;
  #durable = 0;
  #pending: PendingGroup[] = [];
  #waiters: Waiter[] = [];
  #draining = false;
  #fd = -1;
  #fdSeg: Segment | null = null;
  #cpFd = -1;
  #lastCheckpointSize = 0;
  #checkpointQueued = false;
  /** The queued checkpoint's fdatasyncs in flight: close() waits for them before closing the files they use. */
  #cacheSync: Promise<number> | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** Events appended (the tree may lag: lines are hashed in batches, at flush or when a root or proof needs them). */
  #size = 0;
  /** Appended lines (with their newline) not hashed yet, from #unhashedHead on. */
  #unhashed: Buffer[] = [];
  #unhashedHead = 0;
  /** Segments with offsets written but not yet fdatasynced. */
  #idxDirty: Segment[] = [];
  #dirDirty = false;
  /** Tiles and offsets of the events below this are durable. */
  #cachesSyncedTo = 0;
  /** Segments whose offsets open had to rebuild by reading them: their lines are checked against the stored tiles too. */
  #rescanned: Segment[] = [];

  constructor(o: AuditLogOptions) {
    this.#o = o;
    this.#dir = o.dir;
    this.#tree = new TiledTree(o.dir, {
      readLeaves: (from, to) => this.#readLinesSync(from, to),
      onRepair: (rebuilt) => this.#o.onRepair?.({ file: join(this.#dir, TILES_DIR), rebuilt }),
    });
    this.origin = o.origin ?? AUDIT_DEFAULT_ORIGIN;
    this.retentionYears = o.retentionYears ?? 10;
    this.#segmentEvents = o.segmentEvents ?? DEFAULT_SEGMENT_EVENTS;
    this.#every = o.checkpointEvery ?? { events: 10_000, ms: 10_000 };
    this.#now = o.now ?? monotonicMicros();
    if (!Number.isSafeInteger(this.#segmentEvents) || this.#segmentEvents < 1) throw new AuditError(AuditCode.BAD_RANGE, "segmentEvents must be a positive integer");
    if (this.#every.events < 1 || this.#every.ms < 1) throw new AuditError(AuditCode.BAD_RANGE, "checkpointEvery needs events >= 1 and ms >= 1");
  }

  get size(): number {
    return this.#size;
  }

  /** True once a write failed: the log refuses appends until the process restarts. */
  get failed(): boolean {
    return this.#failure !== null;
  }

  get durableSize(): number {
    return this.#durable;
  }

  // ---- open ---------------------------------------------------------------------------

  async load(): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const full = this.#o.verify === "full";
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
    await this.#loadCheckpoints();
    await this.#loadTree(full);
    this.#armTimer();
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
      await saveAndCut(seg.path, line.offset, line.offset + line.bytes.length, this.#o.onRepair);
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

  /**
   * The tree from its tiles: levels and right edges from the files, the leaves after the last
   * stored tile hashed from the lines, the root at the latest checkpoint compared with the
   * signed one, and the most recent stored leaf tiles compared with the lines they hash.
   * Tiles are a cache: missing or not matching, they are rebuilt from the events (level 0
   * kept first, then everything); only events that do not hash to the signed root refuse.
   */
  async #loadTree(full: boolean): Promise<void> {
    const n = this.#size;
    const cp = this.#checkpoints.at(-1);
    const tilesDir = join(this.#dir, TILES_DIR);
    let fromDisk = Number.MAX_SAFE_INTEGER; // leaf tiles below this were read from disk, not just hashed from the lines
    const rebuild = async (maxLeafTiles: number, upper: boolean, why: string | null): Promise<void> => {
      const { feedFrom, rebuilt } = this.#tree.open(n, maxLeafTiles, upper);
      fromDisk = Math.min(fromDisk, feedFrom / TILE_WIDTH);
      if (why !== null && rebuilt.length > 0) {
        const what = rebuilt.map((r) => `level ${r.level} tiles ${r.fromTile}..${r.toTile - 1}`).join(", ");
        this.#o.onRepair?.({ file: tilesDir, rebuilt: `${why}: ${what} rebuilt from the events` });
      }
      await this.#feed(feedFrom, n);
    };
    const matches = () => !cp || toHex(this.#tree.root(cp.treeSize)) === cp.root;
    if (full) await rebuild(0, false, null);
    else {
      await rebuild(Number.MAX_SAFE_INTEGER, true, "tiles missing");
      if (!matches()) await rebuild(Number.MAX_SAFE_INTEGER, false, "tiles do not hash to the signed root");
      if (!matches()) await rebuild(0, false, "leaf tiles do not hash to the signed root");
    }
    if (cp && !matches()) {
      const root = toHex(this.#tree.root(cp.treeSize));
      throw new AuditError(
        AuditCode.TAMPERED,
        `audit log ${this.#dir} was modified on disk: the first ${cp.treeSize} events hash to ${root}, but the signed checkpoint of ${cp.time} says ${cp.root}. Run the verifier on an export to find the first altered record.`,
        { details: { treeSize: cp.treeSize, expected: cp.root, actual: root } },
      );
    }
    this.#lastCheckpointSize = cp?.treeSize ?? 0;
    if (!full) await this.#checkRecentTiles(cp?.treeSize ?? 0, fromDisk);
    this.#tree.writeCompleted(n);
    this.#syncCaches();
  }

  /** Hashes the lines [from, to) into the tree, writing tiles as they complete. */
  async #feed(from: number, to: number): Promise<void> {
    let k = 0;
    for await (const { bytes } of this.#lineBuffers(from, to)) {
      this.#tree.pushLeaf(bytes);
      if (++k % (1 << 16) === 0) this.#tree.writeCompleted(to);
    }
  }

  /**
   * The newest stored leaf tile, the one ending the last completed segment, and those of any
   * segment whose offsets had to be rebuilt (it was read anyway; a line whose length changed
   * moves the segment's end), against the lines they hash: within the signed tree a difference
   * is an edited event (the tiles just reproduced the signed root), beyond it a stale cache,
   * rebuilt. Tiles just hashed from the lines need no check.
   */
  async #checkRecentTiles(signed: number, fromDisk: number): Promise<void> {
    const stored = Math.floor(this.#size / TILE_WIDTH);
    const tiles = new Set<number>();
    if (stored > 0) tiles.add(stored - 1);
    const completed = this.#segments.at(-2);
    if (completed) tiles.add(Math.min(stored - 1, Math.floor((completed.firstSeq + completed.count - 1) / TILE_WIDTH)));
    for (const seg of this.#rescanned) {
      for (let t = Math.floor(seg.firstSeq / TILE_WIDTH); t * TILE_WIDTH < seg.firstSeq + seg.count && t < stored; t++) tiles.add(t);
    }
    this.#rescanned = [];
    const scratch = Buffer.allocUnsafe(HASH_BYTES);
    for (const t of [...tiles].sort((a, b) => a - b)) {
      if (t < 0 || t >= fromDisk) continue;
      const tile = Buffer.from(this.#tree.storedLeafTile(t)!);
      let bad = -1;
      for await (const { seq, bytes } of this.#lineBuffers(t * TILE_WIDTH, (t + 1) * TILE_WIDTH)) {
        leafHashInto(bytes, scratch, 0);
        const at = (seq - t * TILE_WIDTH) * HASH_BYTES;
        if (bad < 0 && !scratch.equals(tile.subarray(at, at + HASH_BYTES))) bad = seq;
      }
      if (bad < 0) continue;
      if (bad < signed) {
        throw new AuditError(AuditCode.TAMPERED, `audit log ${this.#dir} was modified on disk: the event of seq ${bad} does not hash to the tree of the signed checkpoint at ${signed}. Run the verifier on an export to find every altered record.`, {
          details: { seq: bad, treeSize: signed },
        });
      }
      this.#o.onRepair?.({ file: join(this.#dir, TILES_DIR), rebuilt: `leaf tile ${t} did not match the (unsigned) events after seq ${signed}: rebuilt from the events` });
      this.#tree.open(this.#size, t, true);
      await this.#feed(t * TILE_WIDTH, this.#size);
      fromDisk = t;
    }
  }

  async #loadCheckpoints(): Promise<void> {
    const path = join(this.#dir, CHECKPOINTS_FILE);
    const exists = await stat(path).then(
      () => true,
      () => false,
    );
    if (exists) {
      for await (const line of readLines(path)) {
        if (!line.terminated) {
          // A checkpoint write cut by a crash: it was never returned to anyone.
          await saveAndCut(path, line.offset, line.offset + line.bytes.length, this.#o.onRepair);
          break;
        }
        this.#addCheckpointLine(line.bytes.toString("utf8"), line.offset);
      }
    }
    const last = this.#checkpoints.at(-1);
    if (last) {
      if (last.origin !== this.origin) {
        throw new AuditError(AuditCode.KEY_MISMATCH, `audit log ${this.#dir} was checkpointed as origin "${last.origin}", now configured as "${this.origin}"`);
      }
      if (!verifyCheckpoint(last, this.#o.signingKey.publicKey)) {
        throw new AuditError(
          AuditCode.KEY_MISMATCH,
          `audit log ${this.#dir}: the latest checkpoint (tree size ${last.treeSize}, key id ${last.keyId}) does not verify with the configured signing key: the key changed (restore it, or rotate deliberately) or checkpoints.jsonl was edited`,
          { details: { treeSize: last.treeSize, keyId: last.keyId } },
        );
      }
    }
  }

  #addCheckpointLine(text: string, offset: number): void {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (cause) {
      throw new AuditError(AuditCode.TAMPERED, `audit log: ${CHECKPOINTS_FILE} byte ${offset} is not JSON`, { cause });
    }
    const o = v as Partial<AnchorLine & Checkpoint>;
    if (typeof o.anchorFor === "number") {
      const { anchorFor, ...anchor } = o as AnchorLine;
      let found = false;
      for (let i = 0; i < this.#checkpoints.length; i++) {
        if (this.#checkpoints[i].treeSize === anchorFor) {
          this.#checkpoints[i] = { ...this.#checkpoints[i], anchor };
          found = true;
        }
      }
      if (!found) throw new AuditError(AuditCode.TAMPERED, `audit log: ${CHECKPOINTS_FILE} byte ${offset} anchors tree size ${anchorFor}, which has no checkpoint before it`);
      return;
    }
    if (typeof o.treeSize !== "number" || typeof o.root !== "string" || typeof o.signature !== "string" || typeof o.origin !== "string" || typeof o.time !== "string" || typeof o.keyId !== "string") {
      throw new AuditError(AuditCode.TAMPERED, `audit log: ${CHECKPOINTS_FILE} byte ${offset} is neither a checkpoint nor an anchor record`);
    }
    const prev = this.#checkpoints.at(-1)?.treeSize ?? 0;
    if (o.treeSize < prev || o.treeSize > this.#size) {
      throw new AuditError(
        AuditCode.TAMPERED,
        o.treeSize > this.#size
          ? `audit log ${this.#dir}: a checkpoint covers ${o.treeSize} events but only ${this.#size} are stored: signed events were deleted`
          : `audit log: ${CHECKPOINTS_FILE} byte ${offset}: checkpoint tree sizes go backwards (${prev} then ${o.treeSize})`,
        { details: { treeSize: o.treeSize, stored: this.#size } },
      );
    }
    const { origin, treeSize, root, time, keyId, signature } = o as Checkpoint;
    this.#checkpoints.push({ origin, treeSize, root, time, keyId, signature });
  }

  // ---- append and flush ---------------------------------------------------------------

  #assertWritable(): void {
    if (this.#failure) throw this.#failure;
    if (this.#state !== "open") throw new AuditError(AuditCode.CLOSED, `audit log ${this.#dir} is closed`);
  }

  append(input: AuditEventInput): AuditEvent {
    this.#assertWritable();
    const seq = this.#size;
    const event: AuditEvent = { ...input, seq, id: randomUUID(), ts: input.ts ?? isoMicros(this.#now()) };
    const buf = Buffer.from(`${encodeAuditEvent(event)}\n`);

    let seg = this.#segments.at(-1);
    if (!seg || seg.count >= this.#segmentEvents) {
      seg = newSegment(this.#dir, seq);
      this.#segments.push(seg);
    }
    pushOffset(seg, seg.end + buf.length);
    this.#size = seq + 1;
    this.#unhashed.push(buf);

    if (this.#o.fsync === "always") {
      try {
        const fd = this.#fdFor(seg);
        writeAllSync(fd, buf);
        fsyncSync(fd);
        this.#hashUpTo(seq + 1);
        this.#persistCaches(seq + 1);
      } catch (cause) {
        throw this.#fail(cause);
      }
      this.#durable = seq + 1;
    } else {
      const g = this.#pending.at(-1);
      if (g && g.seg === seg) {
        g.bufs.push(buf);
        g.bytes += buf.length;
        g.lastSeq = seq;
      } else {
        this.#pending.push({ seg, bufs: [buf], bytes: buf.length, lastSeq: seq });
      }
    }
    if (seq + 1 - this.#lastCheckpointSize >= this.#every.events) this.#queueCheckpoint();
    return event;
  }

  flush(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    const target = this.#size;
    if (this.#durable >= target) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#waiters.push({ target, resolve, reject });
      if (!this.#draining) {
        this.#draining = true;
        void this.#drain();
      }
    });
  }

  /**
   * The single writer: one write + fdatasync per segment touched; later appends wait for the
   * next round. The lines are hashed while the fdatasync runs on libuv's pool, and the tiles
   * and offsets they complete are written once the lines are durable (fdatasynced themselves
   * before the next checkpoint, see #syncCaches).
   */
  async #drain(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const groups = this.#pending;
        this.#pending = [];
        for (const g of groups) {
          const fd = this.#fdFor(g.seg);
          writeAllSync(fd, g.bufs.length === 1 ? g.bufs[0] : Buffer.concat(g.bufs, g.bytes));
          const synced = fdatasyncAsync(fd);
          try {
            this.#hashUpTo(g.lastSeq + 1);
          } finally {
            await synced;
          }
          this.#persistCaches(g.lastSeq + 1);
          this.#durable = g.lastSeq + 1;
        }
        const still: Waiter[] = [];
        for (const w of this.#waiters) {
          if (w.target <= this.#durable) w.resolve();
          else still.push(w);
        }
        this.#waiters = still;
      }
    } catch (cause) {
      const err = this.#fail(cause);
      for (const w of this.#waiters) w.reject(err);
      this.#waiters = [];
    } finally {
      this.#draining = false;
    }
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

  /** Hashes appended lines into the tree up to seq `n` (exclusive). */
  #hashUpTo(n: number): void {
    const lines = this.#unhashed;
    let head = this.#unhashedHead;
    while (this.#tree.size < n) {
      const buf = lines[head];
      lines[head++] = EMPTY;
      this.#tree.pushLeaf(buf, buf.length - 1);
    }
    if (head === lines.length) {
      this.#unhashed = [];
      head = 0;
    } else if (head > 4096) {
      lines.splice(0, head);
      head = 0;
    }
    this.#unhashedHead = head;
  }

  /** Writes the tiles completed and the line offsets of events durable up to `upTo` (page cache; #syncCaches makes them durable). */
  #persistCaches(upTo: number): void {
    this.#tree.writeCompleted(upTo);
    for (let s = this.#segments.length - 1; s >= 0; s--) {
      const seg = this.#segments[s];
      if (seg.idxWritten === seg.count) break;
      const count = Math.min(seg.count, upTo - seg.firstSeq);
      if (count <= seg.idxWritten) continue;
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

  /** fdatasyncs the tiles and offsets written so far; a completed segment then drops its offsets from memory. */
  #syncCaches(): void {
    this.#tree.sync();
    for (const seg of this.#idxDirty) {
      if (seg.idxWrites !== seg.idxSynced) fdatasyncSync(seg.idxFd);
      seg.idxSynced = seg.idxWrites;
    }
    this.#settleCaches();
  }

  /**
   * #syncCaches off the event loop, for the checkpoints the log takes by itself (a blocking
   * fdatasync of each cache file per checkpoint was a tenth of the append cost): resolves
   * with the size whose tiles and offsets are then durable.
   */
  async #syncCachesAsync(): Promise<number> {
    const upTo = this.#durable; // #drain writes the caches of events before counting them durable
    const segs = this.#idxDirty.filter((s) => s.idxWrites !== s.idxSynced).map((seg) => ({ seg, writes: seg.idxWrites }));
    await Promise.all([
      this.#tree.syncAsync(),
      ...segs.map(({ seg }) => new Promise<void>((resolve, reject) => fdatasync(seg.idxFd, (err) => (err ? reject(err) : resolve())))),
    ]);
    for (const { seg, writes } of segs) seg.idxSynced = Math.max(seg.idxSynced, writes);
    this.#settleCaches();
    return upTo;
  }

  /** Completed segments whose offsets are all durable close their offsets file and drop their offsets from memory. */
  #settleCaches(): void {
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

  #fail(cause: unknown): AuditError {
    if (!this.#failure) {
      this.#failure =
        cause instanceof AuditError
          ? cause
          : new AuditError(AuditCode.IO, `audit log ${this.#dir}: write failed, refusing further appends: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    }
    return this.#failure;
  }

  // ---- checkpoints --------------------------------------------------------------------

  checkpoint(): Checkpoint {
    return this.#checkpointAt(this.#durable);
  }

  /** Signs a checkpoint of the first `n` (durable) events. */
  #checkpointAt(n: number): Checkpoint {
    if (this.#failure) throw this.#failure;
    if (this.#state === "closed") throw new AuditError(AuditCode.CLOSED, `audit log ${this.#dir} is closed`);
    this.#hashUpTo(n);
    if (n > this.#cachesSyncedTo) {
      try {
        // Nothing is signed over tiles or offsets a crash could lose.
        this.#persistCaches(n);
        this.#syncCaches();
      } catch (cause) {
        throw this.#fail(cause);
      }
      this.#cachesSyncedTo = n;
    }
    const cp = signCheckpoint({ origin: this.origin, treeSize: n, root: toHex(this.#tree.root(n)), time: isoMicros(this.#now()) }, this.#o.signingKey.privateKey);
    this.#appendCheckpointsLine(JSON.stringify(cp));
    const previous = this.#lastCheckpointSize;
    this.#checkpoints.push(cp);
    this.#lastCheckpointSize = n;
    this.#armTimer();
    if (this.#o.onCheckpoint) {
      try {
        this.#o.onCheckpoint(cp, previous);
      } catch (err) {
        // The checkpoint is signed and stored; a failing listener must not undo that.
        this.#o.onError?.(err);
      }
    }
    return cp;
  }

  async checkpointNow(): Promise<Checkpoint> {
    await this.flush();
    return this.checkpoint();
  }

  /** Checkpoint lines are rare (seconds apart): a synchronous write + fsync keeps them simple and ordered. */
  #appendCheckpointsLine(line: string): void {
    try {
      if (this.#cpFd < 0) {
        this.#cpFd = openSync(join(this.#dir, CHECKPOINTS_FILE), "a", 0o644);
        fsyncDirSync(this.#dir);
      }
      writeAllSync(this.#cpFd, Buffer.from(`${line}\n`));
      fsyncSync(this.#cpFd);
    } catch (cause) {
      throw this.#fail(cause);
    }
  }

  #queueCheckpoint(): void {
    if (this.#checkpointQueued) return;
    this.#checkpointQueued = true;
    setImmediate(() => {
      this.flush()
        .then(() => {
          if (this.#state !== "open") return this.#durable; // close() takes its own checkpoint
          this.#cacheSync = this.#syncCachesAsync();
          return this.#cacheSync;
        })
        .then((synced) => {
          this.#cacheSync = null;
          this.#checkpointQueued = false;
          this.#cachesSyncedTo = Math.max(this.#cachesSyncedTo, synced);
          if (this.#state === "open" && synced > this.#lastCheckpointSize) this.#checkpointAt(synced);
        })
        .catch((err: unknown) => {
          this.#cacheSync = null;
          this.#checkpointQueued = false;
          this.#o.onError?.(err);
        });
    });
  }

  #armTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#state !== "open") return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#size > this.#lastCheckpointSize) this.#queueCheckpoint();
      else this.#armTimer();
    }, this.#every.ms);
    this.#timer.unref();
  }

  checkpoints(): readonly AnchoredCheckpoint[] {
    return this.#checkpoints;
  }

  latestCheckpoint(): AnchoredCheckpoint | undefined {
    return this.#checkpoints.at(-1);
  }

  recordAnchor(treeSize: number, anchor: CheckpointAnchor): void {
    if (this.#failure) throw this.#failure;
    if (!this.#checkpoints.some((c) => c.treeSize === treeSize)) throw new AuditError(AuditCode.BAD_RANGE, `no checkpoint at tree size ${treeSize} to anchor`);
    const record: AnchorLine = { anchorFor: treeSize, chainId: anchor.chainId, contract: anchor.contract, txHash: anchor.txHash, blockNumber: anchor.blockNumber };
    this.#appendCheckpointsLine(JSON.stringify(record));
    for (let i = 0; i < this.#checkpoints.length; i++) {
      if (this.#checkpoints[i].treeSize === treeSize) this.#checkpoints[i] = { ...this.#checkpoints[i], anchor: { ...anchor } };
    }
  }

  // ---- reads and proofs ---------------------------------------------------------------

  #checkRange(from: number, to: number, limit: number, what: string): void {
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || from > to || to > limit) {
      throw new AuditError(AuditCode.BAD_RANGE, `${what}: need 0 <= ${from} <= ${to} <= ${limit}`);
    }
  }

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

  async *read(fromSeq = 0, toSeq: number = this.#size): AsyncGenerator<{ seq: number; line: string }> {
    this.#checkRange(fromSeq, toSeq, this.#size, "read");
    if (toSeq > this.#durable) await this.flush();
    for await (const { seq, bytes } of this.#lineBuffers(fromSeq, toSeq)) yield { seq, line: bytes.toString("utf8") };
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
  #readLinesSync(from: number, to: number): Buffer[] {
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
  async *#lineBuffers(fromSeq: number, toSeq: number): AsyncGenerator<{ seq: number; bytes: Buffer }> {
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

  async event(seq: number): Promise<AuditEvent | undefined> {
    if (!Number.isSafeInteger(seq) || seq < 0 || seq >= this.#size) return undefined;
    for await (const { line } of this.read(seq, seq + 1)) return JSON.parse(line) as AuditEvent;
    return undefined;
  }

  inclusionProof(seq: number, treeSize: number = this.#size): InclusionProofResult {
    this.#checkRange(0, treeSize, this.#size, "inclusion proof tree size");
    this.#hashUpTo(treeSize);
    if (!Number.isSafeInteger(seq) || seq < 0 || seq >= treeSize) throw new AuditError(AuditCode.BAD_RANGE, `inclusion proof: seq ${seq} is not below tree size ${treeSize}`);
    return {
      leafIndex: seq,
      treeSize,
      leafHash: toHex(this.#tree.leaf(seq)),
      proof: this.#tree.inclusionProof(seq, treeSize).map(toHex),
      root: toHex(this.#tree.root(treeSize)),
    };
  }

  consistencyProof(m: number, n: number): ConsistencyProofResult {
    this.#checkRange(m, n, this.#size, "consistency proof");
    this.#hashUpTo(n);
    return { first: m, second: n, proof: this.#tree.consistencyProof(m, n).map(toHex), firstRoot: toHex(this.#tree.root(m)), secondRoot: toHex(this.#tree.root(n)) };
  }

  // ---- export -------------------------------------------------------------------------

  async exportTo(dir: string, opts: { toSeq?: number } = {}): Promise<{ events: number; checkpoint: Checkpoint }> {
    let cp: AnchoredCheckpoint | undefined;
    if (opts.toSeq === undefined) {
      cp = await this.checkpointNow();
    } else {
      // toSeq is exclusive (seqs below it, i.e. a tree size, as everywhere): the export ends at the latest checkpoint with treeSize <= toSeq.
      for (const c of this.#checkpoints) if (c.treeSize <= opts.toSeq) cp = c;
      if (!cp) throw new AuditError(AuditCode.BAD_RANGE, `no checkpoint at or below tree size ${opts.toSeq} (toSeq is exclusive) to end an export at`);
    }
    const n = cp.treeSize;
    await mkdir(dir, { recursive: true });
    const existing = await readdir(dir);
    if (existing.length > 0) throw new AuditError(AuditCode.BAD_RANGE, `export directory ${dir} is not empty`);

    await this.#writeFileStreamed(join(dir, "events.jsonl"), async (out) => {
      for await (const b of this.storedBytes(n).chunks()) await out(b);
    });
    await this.#writeFileStreamed(join(dir, "leaves.bin"), async (out) => {
      for await (const b of this.leafHashes(n)) await out(b);
    });
    const included = this.#checkpoints.filter((c) => c.treeSize <= n);
    await this.#writeFileStreamed(join(dir, CHECKPOINTS_FILE), async (out) => {
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
    const pem = this.#o.signingKey.publicKey.export({ type: "spki", format: "pem" }).toString();
    await writeFile(join(dir, "checkpoint.pub"), pem, { flush: true });
    const anchored = included.findLast((c) => c.anchor !== undefined)?.anchor;
    const manifest = {
      origin: this.origin,
      events: n,
      exportedAt: isoMicros(this.#now()),
      retentionYears: this.retentionYears,
      checkpoint: { treeSize: cp.treeSize, root: cp.root, time: cp.time },
      ...(anchored ? { anchor: { chainId: anchored.chainId, contract: anchored.contract } } : {}),
    };
    await writeFile(join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`, { flush: true });
    fsyncDirSync(dir);
    return { events: n, checkpoint: cp };
  }

  /** Where seq n ends in each segment holding seqs below it: [segment, end byte offset]. */
  #segmentEnds(n: number): Array<[Segment, number]> {
    this.#checkRange(0, n, this.#durable, "storedBytes");
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

  async *leafHashes(n: number): AsyncGenerator<Buffer> {
    this.#checkRange(0, n, this.#size, "leafHashes");
    const per = IO_CHUNK / HASH_BYTES;
    for (let i = 0; i < n; i += per) {
      const j = Math.min(n, i + per);
      const buf = Buffer.allocUnsafe((j - i) * HASH_BYTES);
      this.#tree.copyLeaves(i, j, buf);
      yield buf;
    }
  }

  async #writeFileStreamed(path: string, body: (out: (b: Buffer) => Promise<void>) => Promise<void>): Promise<void> {
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

  // ---- close --------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.#state !== "open") return;
    this.#state = "closing";
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    try {
      await this.flush();
      await this.#cacheSync?.catch(() => {}); // its failure went to onError; the checkpoint below syncs again
      if (this.#durable > this.#lastCheckpointSize) this.checkpoint();
    } finally {
      this.#state = "closed";
      this.#tree.close();
      for (const seg of this.#segments) {
        if (seg.idxFd >= 0) closeSync(seg.idxFd);
        seg.idxFd = -1;
      }
      if (this.#fd >= 0) closeSync(this.#fd);
      if (this.#cpFd >= 0) closeSync(this.#cpFd);
      this.#fd = -1;
      this.#cpFd = -1;
      this.#fdSeg = null;
    }
  }
}

/**
 * Opens (or creates) the log in `options.dir`: reads every segment, rebuilds the tree, cuts a
 * torn last line, and throws AUDIT_TAMPERED if the stored events do not hash to the latest
 * signed checkpoint's root (or AUDIT_KEY_MISMATCH if that checkpoint is not ours).
 */
export async function openAuditLog(options: AuditLogOptions): Promise<AuditLog> {
  const log = new FileAuditLog(options);
  await log.load();
  return log;
}
