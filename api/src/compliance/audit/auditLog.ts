import { randomFillSync } from "node:crypto";
import type { KeyObject } from "node:crypto";
import type { AuditEvent, AuditEventInput } from "./auditEvent.ts";
import { encodeAuditLine, isoMicros } from "./auditEvent.ts";
import { exportAuditLog, leafHashChunks } from "./auditExport.ts";
import type { AnchoredCheckpoint, Checkpoint, CheckpointAnchor } from "./checkpoint.ts";
import type { ConsistencyProofResult, InclusionProofResult } from "./checkpointer.ts";
import { Checkpointer } from "./checkpointer.ts";
import { AuditCode, AuditError } from "./errors.ts";
import type { SegmentRepair } from "./segmentStore.ts";
import { SegmentStore } from "./segmentStore.ts";

export type { ConsistencyProofResult, InclusionProofResult } from "./checkpointer.ts";
export { CHECKPOINTS_FILE } from "./checkpointer.ts";
export { segmentFileName } from "./segmentStore.ts";

/**
 * The append-only audit log: one canonical JSON line per event (auditEvent.ts), line i being
 * the event with seq i and Merkle leaf i (merkle.ts), with signed checkpoints of the tree
 * (checkpoint.ts). Storage, in `dir`:
 *
 * - `events-<first seq, 12 digits>.jsonl`: segments of `segmentEvents` (1,000,000) lines,
 *   with their `.offsets` (segmentStore.ts);
 * - `tiles/`: the Merkle tree's hash tiles (tileTree.ts, through checkpointer.ts);
 * - `checkpoints.jsonl`: one Checkpoint JSON per line, and `{"anchorFor":treeSize,...}` lines
 *   recording where a checkpoint's root went on chain (append-only: nothing is rewritten);
 * - `checkpoint-key.pem` / `checkpoint.pub` (written by loadOrCreateSigningKey).
 *
 * This file is the log as callers see it (`AuditLog`, `openAuditLog`), composed of the byte
 * store (segmentStore.ts), the tree and checkpoints (checkpointer.ts) and the export
 * (auditExport.ts).
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
  /** Run before each write to the directory; throws to refuse it (SegmentStoreOptions.writeFence). */
  writeFence?: () => void;
};

/** A torn last line cut away, or a cache (tiles, offsets) rebuilt from the events. */
export type AuditRepair = SegmentRepair;

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
  /**
   * `append`, also giving the event's stored line (without "\n") and its stored bytes (with
   * it; not to be modified): the index takes the line as it is, not encoded twice.
   */
  appendEncoded(input: AuditEventInput): { event: AuditEvent; line: string; stored: Buffer };
  /** `append` for a caller that needs only the stored bytes: no event object is made. */
  appendStored(input: AuditEventInput): Buffer;
  /** Everything appended so far is written and fsynced; concurrent callers share one fsync. */
  flush(): Promise<void>;
  /**
   * Leaf hashes of appended lines will come through `addLeafHashes` (from the thread that
   * indexes the lines): not hashed on this thread unless a root, proof or checkpoint needs
   * them first, or too many wait.
   */
  deferLeafHashing(): void;
  /** The leaf hashes (32 bytes each, RFC 9162) of the stored lines from seq `from` on, in order. */
  addLeafHashes(from: number, hashes: Uint8Array): void;
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
const DEFAULT_SEGMENT_EVENTS = 1_000_000;

/** Random UUIDs drawn per batch, as node:crypto's randomUUID draws them. */
const UUID_BATCH = 256;
const uuidRandom = Buffer.allocUnsafeSlow(16 * UUID_BATCH);
let uuidNext = UUID_BATCH;
const uuidText = Buffer.allocUnsafeSlow(36);
const HEX_DIGITS = Buffer.from("0123456789abcdef", "latin1");

/**
 * A random (version 4) UUID, as crypto.randomUUID makes it (the same CSPRNG, format and
 * bits), written as one flat string: randomUUID concatenates it from 20 pieces, about 600
 * bytes of short-lived strings per event, several events per order.
 */
function randomUuid(): string {
  if (uuidNext === UUID_BATCH) {
    randomFillSync(uuidRandom);
    uuidNext = 0;
  }
  const r = uuidRandom;
  const o = uuidNext++ * 16;
  r[o + 6] = (r[o + 6] & 0x0f) | 0x40; // version 4
  r[o + 8] = (r[o + 8] & 0x3f) | 0x80; // variant 10
  let p = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) uuidText[p++] = 0x2d; // "-"
    const b = r[o + i];
    uuidText[p++] = HEX_DIGITS[b >> 4];
    uuidText[p++] = HEX_DIGITS[b & 15];
  }
  return uuidText.toString("latin1", 0, 36);
}

/**
 * Stored lines are written back to back into chunks of this size (a new one when a line may
 * not fit), each line a view of its chunk: Buffer.from per line would first flatten
 * `${line}\n` (a copy of the line) and take a fresh 8 KiB pool every few lines.
 */
const LINE_CHUNK = 64 * 1024;
let lineChunk = Buffer.allocUnsafeSlow(LINE_CHUNK);
let lineChunkUsed = 0;

/** `Buffer.from(`${line}\n`)`. */
function storedLine(line: string): Buffer {
  const most = line.length * 3 + 1; // UTF-8 bytes per UTF-16 unit: at most 3
  if (most > lineChunk.length - lineChunkUsed) {
    lineChunk = Buffer.allocUnsafeSlow(Math.max(LINE_CHUNK, most));
    lineChunkUsed = 0;
  }
  const start = lineChunkUsed;
  const end = start + lineChunk.write(line, start, "utf8");
  lineChunk[end] = 0x0a;
  lineChunkUsed = end + 1;
  return lineChunk.subarray(start, end + 1);
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

class FileAuditLog implements AuditLog {
  readonly origin: string;
  readonly retentionYears: number;
  readonly #dir: string;
  readonly #o: AuditLogOptions;
  readonly #now: () => bigint;
  readonly #store: SegmentStore;
  readonly #cp: Checkpointer;
  #state: "open" | "closing" | "closed" = "open";

  constructor(o: AuditLogOptions) {
    this.#o = o;
    this.#dir = o.dir;
    this.origin = o.origin ?? AUDIT_DEFAULT_ORIGIN;
    this.retentionYears = o.retentionYears ?? 10;
    this.#now = o.now ?? monotonicMicros();
    const onRepair = (info: AuditRepair) => this.#o.onRepair?.(info);
    this.#store = new SegmentStore({
      dir: o.dir,
      segmentEvents: o.segmentEvents ?? DEFAULT_SEGMENT_EVENTS,
      fsync: o.fsync,
      onRepair,
      whileSyncing: (upTo) => this.#cp.written(upTo),
      onDurable: (upTo) => this.#cp.writeTiles(upTo),
      writeFence: o.writeFence,
    });
    this.#cp = new Checkpointer({
      dir: o.dir,
      origin: this.origin,
      signingKey: o.signingKey,
      every: o.checkpointEvery ?? { events: 10_000, ms: 10_000 },
      now: this.#now,
      store: this.#store,
      state: () => this.#state,
      flush: () => this.flush(),
      onCheckpoint: o.onCheckpoint && ((cp, previous) => this.#o.onCheckpoint?.(cp, previous)),
      onRepair,
      onError: (error) => this.#o.onError?.(error),
    });
  }

  get size(): number {
    return this.#store.size;
  }

  /** True once a write failed: the log refuses appends until the process restarts. */
  get failed(): boolean {
    return this.#store.failure !== null;
  }

  get durableSize(): number {
    return this.#store.durable;
  }

  async load(): Promise<void> {
    const full = this.#o.verify === "full";
    await this.#store.load(full);
    await this.#cp.load(full);
  }

  append(input: AuditEventInput): AuditEvent {
    return this.appendEncoded(input).event;
  }

  appendEncoded(input: AuditEventInput): { event: AuditEvent; line: string; stored: Buffer } {
    const seq = this.#store.size;
    const id = randomUuid();
    const ts = input.ts ?? isoMicros(this.#now());
    const line = encodeAuditLine(input, seq, id, ts);
    const stored = this.#appendLine(line);
    return { event: { ...input, seq, id, ts }, line, stored };
  }

  appendStored(input: AuditEventInput): Buffer {
    return this.#appendLine(encodeAuditLine(input, this.#store.size, randomUuid(), input.ts ?? isoMicros(this.#now())));
  }

  /** Appends the line of the next seq (the caller encoded it with `this.#store.size`). */
  #appendLine(line: string): Buffer {
    const failure = this.#store.failure;
    if (failure) throw failure;
    if (this.#state !== "open") throw new AuditError(AuditCode.CLOSED, `audit log ${this.#dir} is closed`);
    const seq = this.#store.size;
    const stored = storedLine(line);
    this.#cp.toHash(stored);
    this.#store.append(stored);
    this.#cp.grew(seq + 1);
    return stored;
  }

  flush(): Promise<void> {
    return this.#store.flush();
  }

  deferLeafHashing(): void {
    this.#cp.deferLeafHashing();
  }

  addLeafHashes(from: number, hashes: Uint8Array): void {
    this.#cp.addLeafHashes(from, hashes);
  }

  checkpoint(): Checkpoint {
    return this.#cp.checkpointAt(this.#store.durable);
  }

  async checkpointNow(): Promise<Checkpoint> {
    await this.flush();
    return this.checkpoint();
  }

  checkpoints(): readonly AnchoredCheckpoint[] {
    return this.#cp.checkpoints();
  }

  latestCheckpoint(): AnchoredCheckpoint | undefined {
    return this.#cp.checkpoints().at(-1);
  }

  recordAnchor(treeSize: number, anchor: CheckpointAnchor): void {
    this.#cp.recordAnchor(treeSize, anchor);
  }

  read(fromSeq?: number, toSeq?: number): AsyncIterable<{ seq: number; line: string }> {
    return this.#store.read(fromSeq, toSeq);
  }

  async event(seq: number): Promise<AuditEvent | undefined> {
    if (!Number.isSafeInteger(seq) || seq < 0 || seq >= this.#store.size) return undefined;
    for await (const { line } of this.read(seq, seq + 1)) return JSON.parse(line) as AuditEvent;
    return undefined;
  }

  inclusionProof(seq: number, treeSize?: number): InclusionProofResult {
    return this.#cp.inclusionProof(seq, treeSize);
  }

  consistencyProof(m: number, n: number): ConsistencyProofResult {
    return this.#cp.consistencyProof(m, n);
  }

  exportTo(dir: string, opts?: { toSeq?: number }): Promise<{ events: number; checkpoint: Checkpoint }> {
    return exportAuditLog(
      {
        origin: this.origin,
        retentionYears: this.retentionYears,
        now: this.#now,
        publicKey: this.#o.signingKey.publicKey,
        store: this.#store,
        checkpointer: this.#cp,
        checkpointNow: () => this.checkpointNow(),
      },
      dir,
      opts,
    );
  }

  storedBytes(n: number): { length: number; chunks: () => AsyncIterable<Buffer> } {
    return this.#store.storedBytes(n);
  }

  async *leafHashes(n: number): AsyncGenerator<Buffer> {
    yield* leafHashChunks(this.#cp, this.#store.size, n);
  }

  async close(): Promise<void> {
    if (this.#state !== "open") return;
    this.#state = "closing";
    this.#cp.stopTimer();
    try {
      await this.flush();
      await this.#cp.settled(); // its failure went to onError; the checkpoint below syncs again
      if (this.#store.durable > this.#cp.lastCheckpointSize) this.checkpoint();
    } finally {
      this.#state = "closed";
      this.#cp.close();
      this.#store.close();
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
