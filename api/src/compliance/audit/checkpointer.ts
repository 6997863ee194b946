import type { KeyObject } from "node:crypto";
import { closeSync, fdatasync, fsyncSync, openSync } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { fsyncDirSync } from "../../fs/fsyncDir.ts";
import { readLines } from "../../journal/readLines.ts";
import { isoMicros } from "./auditEvent.ts";
import type { AnchoredCheckpoint, Checkpoint, CheckpointAnchor } from "./checkpoint.ts";
import { CHECKPOINTS_FILE, signCheckpoint, verifyCheckpoint } from "./checkpoint.ts";
import { AuditCode, AuditError } from "./errors.ts";
import { HASH_BYTES, leafHashInto, toHex } from "./merkle.ts";
import type { SegmentRepair, SegmentStore } from "./segmentStore.ts";
import { checkRange, cutTornTail, writeAllSync } from "./segmentStore.ts";
import { TiledTree, TILE_WIDTH, TILES_DIR } from "./tileTree.ts";

/**
 * The audit log's tree and signed checkpoints: the lines of the segment store hashed into the
 * tiled Merkle tree (tileTree.ts) as they become durable, the tree checked against the latest
 * signed checkpoint at open, checkpoints signed (on a schedule of events or time, on demand,
 * at close) only over durable events whose tiles and offsets are durable too, anchors
 * recorded, and proofs served from the tiles.
 *
 * `checkpoints.jsonl`: one Checkpoint JSON per line, and `{"anchorFor":treeSize,...}` lines
 * recording where a checkpoint's root went on chain (append-only: nothing is rewritten).
 */
export type CheckpointerOptions = {
  dir: string;
  origin: string;
  signingKey: { privateKey: KeyObject; publicKey: KeyObject };
  every: { events: number; ms: number };
  now: () => bigint;
  store: SegmentStore;
  /** The log's state: timed checkpoints run only while open; none is signed once closed. */
  state: () => "open" | "closing" | "closed";
  /** Everything appended written and fdatasynced (the log's flush). */
  flush: () => Promise<void>;
  onCheckpoint?: (cp: Checkpoint, previousTreeSize: number) => void;
  onRepair?: (info: SegmentRepair) => void;
  onError?: (error: unknown) => void;
};

export type InclusionProofResult = { leafIndex: number; treeSize: number; leafHash: string; proof: string[]; root: string };
export type ConsistencyProofResult = { first: number; second: number; proof: string[]; firstRoot: string; secondRoot: string };

export { CHECKPOINTS_FILE } from "./checkpoint.ts";

type AnchorLine = CheckpointAnchor & { anchorFor: number };

const EMPTY = Buffer.alloc(0);
/** Lines left waiting for leaf hashes from elsewhere at most (about a second of a busy exchange's events). */
const MAX_UNHASHED = 1 << 15;

export class Checkpointer {
  readonly #o: CheckpointerOptions;
  readonly #dir: string;
  readonly #store: SegmentStore;
  readonly #tree: TiledTree;
  readonly #checkpoints: AnchoredCheckpoint[] = [];

  #cpFd = -1;
  #lastCheckpointSize = 0;
  #checkpointQueued = false;
  /** The queued checkpoint's fdatasyncs in flight (caches, then its line): close() waits for them before closing the files they use. */
  #cacheSync: Promise<number> | null = null;
  /** The scheduled checkpoint whose line is written and whose fdatasync is in flight. */
  #pending: Checkpoint | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** Appended lines (with their newline) not hashed yet, from #unhashedHead on: the tree may lag, lines are hashed in batches, at flush or when a root or proof needs them. */
  #unhashed: Buffer[] = [];
  #unhashedHead = 0;
  /** Leaf hashes come from elsewhere (deferLeafHashing). */
  #deferred = false;
  /** Tiles and offsets of the events below this are durable. */
  #cachesSyncedTo = 0;

  constructor(o: CheckpointerOptions) {
    this.#o = o;
    this.#dir = o.dir;
    this.#store = o.store;
    this.#tree = new TiledTree(o.dir, {
      readLeaves: (from, to) => this.#store.readLinesSync(from, to),
      onRepair: (rebuilt) => this.#o.onRepair?.({ file: join(this.#dir, TILES_DIR), rebuilt }),
    });
    if (o.every.events < 1 || o.every.ms < 1) throw new AuditError(AuditCode.BAD_RANGE, "checkpointEvery needs events >= 1 and ms >= 1");
  }

  /** Tree size of the latest checkpoint (0 before the first). */
  get lastCheckpointSize(): number {
    return this.#lastCheckpointSize;
  }

  // ---- open ---------------------------------------------------------------------------

  /** After the store's load: the checkpoints, then the tree checked against the latest one, then the schedule. */
  async load(full: boolean): Promise<void> {
    await this.#loadCheckpoints();
    await this.#loadTree(full);
    this.armTimer();
  }

  /**
   * The tree from its tiles: levels and right edges from the files, the leaves after the last
   * stored tile hashed from the lines, the root at the latest checkpoint compared with the
   * signed one, and the most recent stored leaf tiles compared with the lines they hash.
   * Tiles are a cache: missing or not matching, they are rebuilt from the events (level 0
   * kept first, then everything); only events that do not hash to the signed root refuse.
   */
  async #loadTree(full: boolean): Promise<void> {
    const n = this.#store.size;
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
    for await (const { bytes } of this.#store.lines(from, to)) {
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
    const size = this.#store.size;
    const stored = Math.floor(size / TILE_WIDTH);
    const tiles = new Set<number>();
    if (stored > 0) tiles.add(stored - 1);
    const completed = this.#store.lastCompletedSegment();
    if (completed) tiles.add(Math.min(stored - 1, Math.floor((completed.firstSeq + completed.count - 1) / TILE_WIDTH)));
    for (const seg of this.#store.takeRescanned()) {
      for (let t = Math.floor(seg.firstSeq / TILE_WIDTH); t * TILE_WIDTH < seg.firstSeq + seg.count && t < stored; t++) tiles.add(t);
    }
    const scratch = Buffer.allocUnsafe(HASH_BYTES);
    for (const t of [...tiles].sort((a, b) => a - b)) {
      if (t < 0 || t >= fromDisk) continue;
      const tile = Buffer.from(this.#tree.storedLeafTile(t)!);
      let bad = -1;
      for await (const { seq, bytes } of this.#store.lines(t * TILE_WIDTH, (t + 1) * TILE_WIDTH)) {
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
      this.#tree.open(size, t, true);
      await this.#feed(t * TILE_WIDTH, size);
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
          await cutTornTail(path, line.offset, line.offset + line.bytes.length, this.#o.onRepair);
          break;
        }
        this.#addCheckpointLine(line.bytes.toString("utf8"), line.offset);
      }
    }
    const last = this.#checkpoints.at(-1);
    if (last) {
      if (last.origin !== this.#o.origin) {
        throw new AuditError(AuditCode.KEY_MISMATCH, `audit log ${this.#dir} was checkpointed as origin "${last.origin}", now configured as "${this.#o.origin}"`);
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
    const stored = this.#store.size;
    if (o.treeSize < prev || o.treeSize > stored) {
      throw new AuditError(
        AuditCode.TAMPERED,
        o.treeSize > stored
          ? `audit log ${this.#dir}: a checkpoint covers ${o.treeSize} events but only ${stored} are stored: signed events were deleted`
          : `audit log: ${CHECKPOINTS_FILE} byte ${offset}: checkpoint tree sizes go backwards (${prev} then ${o.treeSize})`,
        { details: { treeSize: o.treeSize, stored } },
      );
    }
    const { origin, treeSize, root, time, keyId, signature } = o as Checkpoint;
    this.#checkpoints.push({ origin, treeSize, root, time, keyId, signature });
  }

  // ---- hashing ------------------------------------------------------------------------

  /** A line about to be appended to the store (with its "\n"), to hash once written. */
  toHash(line: Buffer): void {
    this.#unhashed.push(line);
  }

  /** The log grew to `size` events: a checkpoint is due every `every.events`. */
  grew(size: number): void {
    if (size - this.#lastCheckpointSize >= this.#o.every.events) this.#queueCheckpoint();
  }

  /** Hashes appended lines into the tree up to seq `n` (exclusive). */
  hashUpTo(n: number): void {
    const lines = this.#unhashed;
    let head = this.#unhashedHead;
    while (this.#tree.size < n) {
      const buf = lines[head];
      lines[head++] = EMPTY;
      this.#tree.pushLeaf(buf, buf.length - 1);
    }
    this.#hashedThrough(head);
  }

  /**
   * From now on the leaf hashes of appended lines come from elsewhere (`addLeafHashes`): the
   * audit index's thread hashes the lines it indexes anyway, which takes the leaf hashing off
   * the sequencer's thread. Lines are still hashed here when a root, a proof or a checkpoint
   * needs them first, and once more than MAX_UNHASHED wait (the other thread failing or
   * falling behind must not hold their bytes without bound).
   */
  deferLeafHashing(): void {
    this.#deferred = true;
  }

  /** The lines up to `upTo` (exclusive) were written: hashed now, unless their leaf hashes come from elsewhere. */
  written(upTo: number): void {
    if (!this.#deferred || upTo - this.#tree.size > MAX_UNHASHED) this.hashUpTo(upTo);
  }

  /**
   * Leaf hashes made elsewhere of lines [from, from + hashes.length / 32): those of lines the
   * tree lacks are added; the tiles they complete are written once their lines are durable.
   */
  addLeafHashes(from: number, hashes: Uint8Array): void {
    const end = from + Math.floor(hashes.length / HASH_BYTES);
    if (!Number.isSafeInteger(from) || from < 0 || end > this.#store.size) throw new AuditError(AuditCode.BAD_RANGE, `leaf hashes of ${from}..${end} are not of appended lines (log size ${this.#store.size})`);
    // Lines before `from` whose hashes never came (a batch the other thread failed) are hashed
    // here; lines hashed here meanwhile (a checkpoint, a proof) are skipped.
    if (from > this.#tree.size) this.hashUpTo(from);
    const lines = this.#unhashed;
    let head = this.#unhashedHead;
    for (let seq = this.#tree.size; seq < end; seq++) {
      lines[head++] = EMPTY;
      this.#tree.pushLeafHash(hashes, (seq - from) * HASH_BYTES);
    }
    this.#hashedThrough(head);
    this.#tree.writeCompleted(this.#store.durable);
  }

  /** Drops the lines before `head`, now hashed, from the queue. */
  #hashedThrough(head: number): void {
    const lines = this.#unhashed;
    if (head === lines.length) {
      this.#unhashed = [];
      head = 0;
    } else if (head > 4096) {
      lines.splice(0, head);
      head = 0;
    }
    this.#unhashedHead = head;
  }

  /** Writes the tiles completed by the events durable up to `upTo` (page cache; fdatasynced before a checkpoint covers them). */
  writeTiles(upTo: number): void {
    this.#store.checkFence();
    this.#tree.writeCompleted(upTo);
  }

  /** Writes the tiles and line offsets of events durable up to `upTo` (page cache; #syncCaches makes them durable). */
  #persistCaches(upTo: number): void {
    this.#store.checkFence();
    this.#tree.writeCompleted(upTo);
    this.#store.writeOffsets(upTo);
  }

  /** fdatasyncs the tiles and offsets written so far. */
  #syncCaches(): void {
    this.#tree.sync();
    this.#store.syncOffsets();
  }

  /**
   * #syncCaches off the event loop, for the checkpoints the log takes by itself (a blocking
   * fdatasync of each cache file per checkpoint was a tenth of the append cost): resolves
   * with the size whose tiles and offsets are then durable.
   */
  async #syncCachesAsync(): Promise<number> {
    const upTo = this.#store.durable; // the store writes the offsets of events before counting them durable
    // Tiles too, once their leaves are hashed: those still waiting for hashes from elsewhere are hashed here.
    this.hashUpTo(upTo);
    this.#tree.writeCompleted(upTo);
    await Promise.all([this.#tree.syncAsync(), this.#store.syncOffsetsAsync()]);
    return upTo;
  }

  // ---- checkpoints --------------------------------------------------------------------

  /** Signs a checkpoint of the first `n` (durable) events. */
  checkpointAt(n: number): Checkpoint {
    const pending = this.#pending;
    if (pending?.treeSize === n) {
      // The scheduled checkpoint of these very events waits for its line's fdatasync: made
      // durable here and published now instead of signing a second one of the same size.
      try {
        fsyncSync(this.#cpFd);
      } catch (cause) {
        throw this.#store.fail(cause);
      }
      this.#publish(pending);
      return pending;
    }
    const cp = this.#sign(n);
    this.#appendCheckpointsLine(JSON.stringify(cp), true);
    this.#publish(cp);
    return cp;
  }

  /**
   * checkpointAt for the log's own schedule, with the checkpoint line's fdatasync on libuv's
   * pool: a synchronous one held up order handling for a disk flush every 10,000 events. The
   * line is written at once (the file keeps the order lines were written in); the checkpoint is
   * published (listed, reported, handed to the anchor) only once the fdatasync returns.
   */
  async #checkpointAtAsync(n: number): Promise<void> {
    const cp = this.#sign(n);
    this.#appendCheckpointsLine(JSON.stringify(cp), false);
    this.#pending = cp;
    const fd = this.#cpFd;
    try {
      await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
    } catch (cause) {
      throw this.#store.fail(cause);
    } finally {
      this.#pending = null;
    }
    this.#publish(cp);
  }

  /** The checks, the tree hashed up to `n`, its tiles and offsets made durable, the checkpoint signed. */
  #sign(n: number): Checkpoint {
    const failure = this.#store.failure;
    if (failure) throw failure;
    if (this.#o.state() === "closed") throw new AuditError(AuditCode.CLOSED, `audit log ${this.#dir} is closed`);
    this.hashUpTo(n);
    if (n > this.#cachesSyncedTo) {
      try {
        // Nothing is signed over tiles or offsets a crash could lose.
        this.#persistCaches(n);
        this.#syncCaches();
      } catch (cause) {
        throw this.#store.fail(cause);
      }
      this.#cachesSyncedTo = n;
    }
    return signCheckpoint({ origin: this.#o.origin, treeSize: n, root: toHex(this.#tree.root(n)), time: isoMicros(this.#o.now()) }, this.#o.signingKey.privateKey);
  }

  /**
   * A durable checkpoint joins the list and goes to the listener. One that a later checkpoint
   * overtook (an on-demand one signed while this one's fdatasync ran) is listed in its place
   * but not reported: the later one's report already covers its events.
   */
  #publish(cp: Checkpoint): void {
    const previous = this.#lastCheckpointSize;
    if (cp.treeSize <= previous) {
      const at = this.#checkpoints.findIndex((c) => c.treeSize >= cp.treeSize);
      if (at >= 0 && this.#checkpoints[at] !== cp) this.#checkpoints.splice(at, 0, cp);
      return;
    }
    this.#checkpoints.push(cp);
    this.#lastCheckpointSize = cp.treeSize;
    this.armTimer();
    if (this.#o.onCheckpoint) {
      try {
        this.#o.onCheckpoint(cp, previous);
      } catch (err) {
        // The checkpoint is signed and stored; a failing listener must not undo that.
        this.#o.onError?.(err);
      }
    }
  }

  /**
   * Checkpoint and anchor lines are rare (seconds apart), written synchronously so the file
   * keeps their order; `sync`: fdatasynced here too (else the caller does it).
   */
  #appendCheckpointsLine(line: string, sync: boolean): void {
    this.#store.checkFence();
    try {
      if (this.#cpFd < 0) {
        this.#cpFd = openSync(join(this.#dir, CHECKPOINTS_FILE), "a", 0o644);
        fsyncDirSync(this.#dir);
      }
      writeAllSync(this.#cpFd, Buffer.from(`${line}\n`));
      if (sync) fsyncSync(this.#cpFd);
    } catch (cause) {
      throw this.#store.fail(cause);
    }
  }

  #queueCheckpoint(): void {
    if (this.#checkpointQueued) return;
    this.#checkpointQueued = true;
    setImmediate(() => {
      this.#o
        .flush()
        .then(() => {
          if (this.#o.state() !== "open") return this.#store.durable; // close() takes its own checkpoint
          this.#cacheSync = this.#syncCachesAsync().then(async (synced) => {
            this.#cachesSyncedTo = Math.max(this.#cachesSyncedTo, synced);
            if (this.#o.state() === "open" && synced > this.#lastCheckpointSize) await this.#checkpointAtAsync(synced);
            return synced;
          });
          return this.#cacheSync;
        })
        .then(() => {
          this.#cacheSync = null;
          this.#checkpointQueued = false;
        })
        .catch((err: unknown) => {
          this.#cacheSync = null;
          this.#checkpointQueued = false;
          this.#o.onError?.(err);
        });
    });
  }

  armTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#o.state() !== "open") return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#store.size > this.#lastCheckpointSize) this.#queueCheckpoint();
      else this.armTimer();
    }, this.#o.every.ms);
    this.#timer.unref();
  }

  checkpoints(): readonly AnchoredCheckpoint[] {
    return this.#checkpoints;
  }

  recordAnchor(treeSize: number, anchor: CheckpointAnchor): void {
    const failure = this.#store.failure;
    if (failure) throw failure;
    if (!this.#checkpoints.some((c) => c.treeSize === treeSize)) throw new AuditError(AuditCode.BAD_RANGE, `no checkpoint at tree size ${treeSize} to anchor`);
    const record: AnchorLine = { anchorFor: treeSize, chainId: anchor.chainId, contract: anchor.contract, txHash: anchor.txHash, blockNumber: anchor.blockNumber };
    this.#appendCheckpointsLine(JSON.stringify(record), true);
    for (let i = 0; i < this.#checkpoints.length; i++) {
      if (this.#checkpoints[i].treeSize === treeSize) this.#checkpoints[i] = { ...this.#checkpoints[i], anchor: { ...anchor } };
    }
  }

  // ---- proofs -------------------------------------------------------------------------

  inclusionProof(seq: number, treeSize: number = this.#store.size): InclusionProofResult {
    checkRange(0, treeSize, this.#store.size, "inclusion proof tree size");
    this.hashUpTo(treeSize);
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
    checkRange(m, n, this.#store.size, "consistency proof");
    this.hashUpTo(n);
    return { first: m, second: n, proof: this.#tree.consistencyProof(m, n).map(toHex), firstRoot: toHex(this.#tree.root(m)), secondRoot: toHex(this.#tree.root(n)) };
  }

  /** The leaf hashes of [start, end) into `out` (32 bytes each), from the tiles. */
  copyLeaves(start: number, end: number, out: Buffer): void {
    this.#tree.copyLeaves(start, end, out);
  }

  // ---- close --------------------------------------------------------------------------

  stopTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Waits for the fdatasyncs of a queued checkpoint (its failure went to onError). */
  async settled(): Promise<void> {
    await this.#cacheSync?.catch(() => {});
  }

  close(): void {
    this.#tree.close();
    if (this.#cpFd >= 0) closeSync(this.#cpFd);
    this.#cpFd = -1;
  }
}
