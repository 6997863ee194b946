import { randomUUID } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { closeSync, fdatasync, fsyncSync, openSync, write, writeSync } from "node:fs";
import { mkdir, open, readdir, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readLines } from "../journal/readLines.ts";
import type { AuditEvent, AuditEventInput } from "./auditEvent.ts";
import { encodeAuditEvent, isoMicros } from "./auditEvent.ts";
import type { AnchoredCheckpoint, Checkpoint, CheckpointAnchor } from "./checkpoint.ts";
import { signCheckpoint, verifyCheckpoint } from "./checkpoint.ts";
import { AuditCode, AuditError } from "./errors.ts";
import { HASH_BYTES, leafHash, MerkleTree, toHex } from "./merkle.ts";

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
  /** Called when open() cut a torn (never acknowledged) last line away. */
  onRepair?: (info: AuditRepair) => void;
  /** Background failures (timed checkpoints, a throwing onCheckpoint); the log also refuses further appends after an I/O failure. */
  onError?: (error: unknown) => void;
  /** Reported in exports and status; the log itself never deletes. Default 10. */
  retentionYears?: number;
  /** @internal Lines per segment file (tests use small values). Default 1,000,000. */
  segmentEvents?: number;
};

export type AuditRepair = { file: string; offset: number; bytes: number; savedAs: string };

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
  count: number;
  /** offsets[i] is where line i starts; offsets[count] is the end of the last line. */
  offsets: Float64Array;
};

type PendingGroup = { seg: Segment; bufs: Buffer[]; bytes: number; lastSeq: number };
type Waiter = { target: number; resolve: () => void; reject: (e: unknown) => void };
type AnchorLine = CheckpointAnchor & { anchorFor: number };

function pushOffset(seg: Segment, end: number): void {
  if (seg.count + 1 >= seg.offsets.length) {
    const grown = new Float64Array(seg.offsets.length * 2);
    grown.set(seg.offsets);
    seg.offsets = grown;
  }
  seg.count++;
  seg.offsets[seg.count] = end;
}

function newSegment(dir: string, firstSeq: number): Segment {
  return { firstSeq, path: join(dir, segmentFileName(firstSeq)), count: 0, offsets: new Float64Array(1024) };
}

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

function writeAsync(fd: number, buf: Buffer, offset: number): Promise<number> {
  return new Promise((resolve, reject) => write(fd, buf, offset, buf.length - offset, null, (err, n) => (err ? reject(err) : resolve(n))));
}

async function writeAllAsync(fd: number, buf: Buffer): Promise<void> {
  let done = 0;
  while (done < buf.length) done += await writeAsync(fd, buf, done);
}

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
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
  readonly #tree = new MerkleTree();
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
  #timer: NodeJS.Timeout | null = null;

  constructor(o: AuditLogOptions) {
    this.#o = o;
    this.#dir = o.dir;
    this.origin = o.origin ?? AUDIT_DEFAULT_ORIGIN;
    this.retentionYears = o.retentionYears ?? 10;
    this.#segmentEvents = o.segmentEvents ?? DEFAULT_SEGMENT_EVENTS;
    this.#every = o.checkpointEvery ?? { events: 10_000, ms: 10_000 };
    this.#now = o.now ?? monotonicMicros();
    if (!Number.isSafeInteger(this.#segmentEvents) || this.#segmentEvents < 1) throw new AuditError(AuditCode.BAD_RANGE, "segmentEvents must be a positive integer");
    if (this.#every.events < 1 || this.#every.ms < 1) throw new AuditError(AuditCode.BAD_RANGE, "checkpointEvery needs events >= 1 and ms >= 1");
  }

  get size(): number {
    return this.#tree.size;
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
    const names = (await readdir(this.#dir)).filter((f) => SEGMENT_NAME.test(f)).sort();
    for (let s = 0; s < names.length; s++) {
      const firstSeq = Number(SEGMENT_NAME.exec(names[s])![1]);
      if (firstSeq !== this.#tree.size) {
        throw new AuditError(AuditCode.TAMPERED, `audit log ${this.#dir}: segment ${names[s]} starts at seq ${firstSeq} but ${this.#tree.size} events precede it (a segment is missing, renamed or truncated)`, {
          details: { segment: names[s], firstSeq, expected: this.#tree.size },
        });
      }
      await this.#loadSegment(newSegment(this.#dir, firstSeq), s === names.length - 1);
    }
    this.#durable = this.#tree.size;
    await this.#loadCheckpoints();
    this.#armTimer();
  }

  async #loadSegment(seg: Segment, isLast: boolean): Promise<void> {
    for await (const line of readLines(seg.path)) {
      const seq = this.#tree.size;
      if (!line.terminated) {
        if (!isLast) throw new AuditError(AuditCode.TAMPERED, `audit log: ${seg.path} ends without a newline at byte ${line.offset} but is not the last segment`, { details: { file: seg.path, offset: line.offset, seq } });
        await saveAndCut(seg.path, line.offset, line.offset + line.bytes.length, this.#o.onRepair);
        break;
      }
      const found = leadingSeq(line.bytes);
      if (found !== seq) {
        throw new AuditError(AuditCode.TAMPERED, `audit log: ${seg.path} byte ${line.offset}: expected the line of seq ${seq}, found ${found < 0 ? "a line that is not a canonical event" : `seq ${found}`}`, {
          details: { file: seg.path, offset: line.offset, seq, found },
        });
      }
      this.#tree.append(leafHash(line.bytes));
      pushOffset(seg, line.offset + line.bytes.length + 1);
    }
    this.#segments.push(seg);
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
      const root = toHex(this.#tree.root(last.treeSize));
      if (root !== last.root) {
        throw new AuditError(
          AuditCode.TAMPERED,
          `audit log ${this.#dir} was modified on disk: the first ${last.treeSize} events hash to ${root}, but the signed checkpoint of ${last.time} says ${last.root}. Run the verifier on an export to find the first altered record.`,
          { details: { treeSize: last.treeSize, expected: last.root, actual: root } },
        );
      }
      this.#lastCheckpointSize = last.treeSize;
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
    if (o.treeSize < prev || o.treeSize > this.#tree.size) {
      throw new AuditError(
        AuditCode.TAMPERED,
        o.treeSize > this.#tree.size
          ? `audit log ${this.#dir}: a checkpoint covers ${o.treeSize} events but only ${this.#tree.size} are stored: signed events were deleted`
          : `audit log: ${CHECKPOINTS_FILE} byte ${offset}: checkpoint tree sizes go backwards (${prev} then ${o.treeSize})`,
        { details: { treeSize: o.treeSize, stored: this.#tree.size } },
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
    const seq = this.#tree.size;
    const event: AuditEvent = { ...input, seq, id: randomUUID(), ts: input.ts ?? isoMicros(this.#now()) };
    const buf = Buffer.from(`${encodeAuditEvent(event)}\n`);

    let seg = this.#segments.at(-1);
    if (!seg || seg.count >= this.#segmentEvents) {
      seg = newSegment(this.#dir, seq);
      this.#segments.push(seg);
    }
    pushOffset(seg, seg.offsets[seg.count] + buf.length);
    this.#tree.append(leafHash(buf.subarray(0, buf.length - 1)));

    if (this.#o.fsync === "always") {
      try {
        const fd = this.#fdFor(seg);
        writeAllSync(fd, buf);
        fsyncSync(fd);
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
    const target = this.#tree.size;
    if (this.#durable >= target) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#waiters.push({ target, resolve, reject });
      if (!this.#draining) {
        this.#draining = true;
        void this.#drain();
      }
    });
  }

  /** The single writer: one write + fdatasync per segment touched; later appends wait for the next round. */
  async #drain(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const groups = this.#pending;
        this.#pending = [];
        for (const g of groups) {
          const fd = this.#fdFor(g.seg);
          await writeAllAsync(fd, g.bufs.length === 1 ? g.bufs[0] : Buffer.concat(g.bufs, g.bytes));
          await fdatasyncAsync(fd);
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
    if (this.#failure) throw this.#failure;
    if (this.#state === "closed") throw new AuditError(AuditCode.CLOSED, `audit log ${this.#dir} is closed`);
    const n = this.#durable;
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
          this.#checkpointQueued = false;
          if (this.#state === "open" && this.#durable > this.#lastCheckpointSize) this.checkpoint();
        })
        .catch((err: unknown) => {
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
      if (this.#tree.size > this.#lastCheckpointSize) this.#queueCheckpoint();
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

  async *read(fromSeq = 0, toSeq: number = this.#tree.size): AsyncGenerator<{ seq: number; line: string }> {
    this.#checkRange(fromSeq, toSeq, this.#tree.size, "read");
    if (toSeq > this.#durable) await this.flush();
    if (fromSeq === toSeq) return;
    for (let s = this.#segmentOf(fromSeq); s < this.#segments.length; s++) {
      const seg = this.#segments[s];
      if (seg.firstSeq >= toSeq) break;
      const a = Math.max(fromSeq, seg.firstSeq) - seg.firstSeq;
      const b = Math.min(toSeq, seg.firstSeq + seg.count) - seg.firstSeq;
      const h = await open(seg.path, "r");
      try {
        let i = a;
        while (i < b) {
          // Whole lines per read, about IO_CHUNK bytes (at least one line, however long).
          let j = i + 1;
          while (j < b && seg.offsets[j + 1] - seg.offsets[i] <= IO_CHUNK) j++;
          const base = seg.offsets[i];
          const buf = Buffer.allocUnsafe(seg.offsets[j] - base);
          const { bytesRead } = await h.read(buf, 0, buf.length, base);
          if (bytesRead !== buf.length) throw new AuditError(AuditCode.TAMPERED, `audit log: ${seg.path} is shorter than its indexed length (truncated while open?)`);
          for (let k = i; k < j; k++) {
            yield { seq: seg.firstSeq + k, line: buf.toString("utf8", seg.offsets[k] - base, seg.offsets[k + 1] - base - 1) };
          }
          i = j;
        }
      } finally {
        await h.close();
      }
    }
  }

  async event(seq: number): Promise<AuditEvent | undefined> {
    if (!Number.isSafeInteger(seq) || seq < 0 || seq >= this.#tree.size) return undefined;
    for await (const { line } of this.read(seq, seq + 1)) return JSON.parse(line) as AuditEvent;
    return undefined;
  }

  inclusionProof(seq: number, treeSize: number = this.#tree.size): InclusionProofResult {
    this.#checkRange(0, treeSize, this.#tree.size, "inclusion proof tree size");
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
    this.#checkRange(m, n, this.#tree.size, "consistency proof");
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
      for (let s = 0; s < this.#segments.length && this.#segments[s].firstSeq < n; s++) {
        const seg = this.#segments[s];
        const end = seg.offsets[Math.min(n - seg.firstSeq, seg.count)];
        const h = await open(seg.path, "r");
        try {
          const buf = Buffer.allocUnsafe(IO_CHUNK);
          for (let pos = 0; pos < end; ) {
            const { bytesRead } = await h.read(buf, 0, Math.min(IO_CHUNK, end - pos), pos);
            if (bytesRead === 0) throw new AuditError(AuditCode.TAMPERED, `audit log: ${seg.path} is shorter than its indexed length`);
            await out(buf.subarray(0, bytesRead));
            pos += bytesRead;
          }
        } finally {
          await h.close();
        }
      }
    });
    await this.#writeFileStreamed(join(dir, "leaves.bin"), async (out) => {
      const per = IO_CHUNK / HASH_BYTES;
      const buf = Buffer.allocUnsafe(IO_CHUNK);
      for (let i = 0; i < n; i += per) {
        const j = Math.min(n, i + per);
        this.#tree.copyLeaves(i, j, buf);
        await out(buf.subarray(0, (j - i) * HASH_BYTES));
      }
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
      if (this.#durable > this.#lastCheckpointSize) this.checkpoint();
    } finally {
      this.#state = "closed";
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
