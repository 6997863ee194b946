import { closeSync, existsSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";
import { fsyncDirSync } from "../../fs/fsyncDir.ts";
import { AuditCode, AuditError } from "./errors.ts";
import type { NodeSource } from "./merkle.ts";
import { consistencySubproof, emptyRoot, HASH_BYTES, inclusionPath, leafHashInto, nodeHash, nodeHashInto, subtreeHash } from "./merkle.ts";

/**
 * The log's Merkle tree (RFC 9162, the same as merkle.ts `MerkleTree`) kept on disk as hash
 * tiles, after C2SP tlog-tiles: a tile of level L and index N holds the 256 hashes at tree
 * height 8·L with indices 256·N .. 256·N + 255 (level 0: leaf hashes; level L+1: the roots of
 * the level-L tiles). Every node of the tree is either one of those hashes or the root of a
 * few of them, so tiles alone give any root and any proof for any earlier size.
 *
 * Storage: one append-only file per level, `tiles/level-<L>.tiles`, tile N at byte N·8192.
 * (tlog-tiles serves one file per tile over HTTP; here that would be 390,000 files and as
 * many directory entries per 100M events, so the tiles are concatenated per level instead;
 * the bytes of a tile are the same.) A tile is written once, when complete; the incomplete
 * right edge of each level lives in memory only and is recomputed on open (from the last
 * lines of the log for level 0, from the level below for the others).
 *
 * The tiles are a cache of what the events hash to: the log checks the top of them against
 * the signed checkpoint on open (rebuilding them from the events when that fails), and every
 * stored tile read afterwards is checked against its parent entry one level up, so a tile
 * corrupted on disk is found when first used and rebuilt (from the events for level 0, from
 * the level below otherwise) rather than served.
 *
 * Memory: the right edge (≤ 8 KiB per level) and a bounded cache of recently used tiles
 * with their inner nodes (16 KiB each), whatever the log's size.
 */

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 1 << TILE_HEIGHT;
export const TILE_BYTES = TILE_WIDTH * HASH_BYTES;
export const TILES_DIR = "tiles";
/** Hashes in a full tile with all its inner nodes: heights 0..8. */
const NODES_PER_TILE = 2 * TILE_WIDTH - 1;
const CACHE_TILES = 512;

export function tileFileName(level: number): string {
  return `level-${level}.tiles`;
}

/** Where the nodes of height r (0..8) start, in hashes, in a tile's node buffer. */
function heightStart(r: number): number {
  return 2 * TILE_WIDTH - ((2 * TILE_WIDTH) >> r);
}

/** A full tile's 256 hashes followed by its inner nodes, height by height, up to its root. */
function tileNodes(tile: Buffer): Buffer {
  const out = Buffer.allocUnsafe(NODES_PER_TILE * HASH_BYTES);
  tile.copy(out, 0, 0, TILE_BYTES);
  let src = 0;
  let dst = TILE_WIDTH;
  for (let width = TILE_WIDTH; width > 1; width /= 2) {
    for (let i = 0; i < width; i += 2) nodeHashInto(out, (src + i) * HASH_BYTES, (src + i + 1) * HASH_BYTES, out, (dst + i / 2) * HASH_BYTES);
    src = dst;
    dst += width / 2;
  }
  return out;
}

type Level = {
  fd: number;
  /** Full tiles in the file. */
  stored: number;
  /** Full tiles not yet written (tile `stored + i` is queued[i]). */
  queued: Buffer[];
  /** The incomplete tile: `edgeCount` hashes. */
  edge: Buffer;
  edgeCount: number;
  /** Subtrees of the edge already hashed ("start:span"): complete ones never change until the tile completes. */
  edgeNodes: Map<string, Buffer>;
  /** Writes to the file, and how many of them an fdatasync has covered. */
  writes: number;
  synced: number;
};

export type TileRepair = { level: number; fromTile: number; toTile: number };

export type TiledTreeOptions = {
  /** The bytes of leaves [from, to), read synchronously: to rebuild a leaf tile found corrupt while open. */
  readLeaves: (from: number, to: number) => Buffer[];
  /** A tile found corrupt and rebuilt. */
  onRepair: (what: string) => void;
};

export class TiledTree {
  readonly #dir: string;
  readonly #o: TiledTreeOptions;
  #levels: Level[] = [];
  #size = 0;
  #cache = new Map<string, Buffer>();
  #dirDirty = false;
  /** Off while open() derives the right edges from the stored tiles (their parents do not exist yet). */
  #checkParents = false;

  constructor(logDir: string, options: TiledTreeOptions) {
    this.#dir = join(logDir, TILES_DIR);
    this.#o = options;
  }

  /** Leaves in the tree (hashed), including those whose tiles are not written yet. */
  get size(): number {
    return this.#size;
  }

  /**
   * Loads the tiles on disk for a log of `leaves` leaves, trusting at most `maxLeafTiles`
   * level-0 tiles (and with `upper` false, no tile above level 0): the rest of the files is
   * cut, the levels above are completed from the level below, and the caller must then feed
   * the leaves from the returned index on (`pushLeaf`). Reports which tiles will be rebuilt.
   */
  open(leaves: number, maxLeafTiles = Number.MAX_SAFE_INTEGER, upper = true): { feedFrom: number; rebuilt: TileRepair[] } {
    this.close();
    mkdirSync(this.#dir, { recursive: true });
    this.#checkParents = false;
    this.#cache.clear();
    this.#levels = [];
    const rebuilt: TileRepair[] = [];
    let available = Math.floor(leaves / TILE_WIDTH);
    for (let L = 0; ; L++) {
      const path = join(this.#dir, tileFileName(L));
      const exists = existsSync(path);
      // a level exists once the one below has a full tile (its root is this level's first hash)
      if (!exists && available === 0 && (L === 0 || this.#levels[L - 1].stored === 0)) break;
      const fd = openSync(path, "a+", 0o644);
      if (!exists) this.#dirDirty = true;
      const inFile = Math.floor(fstatSync(fd).size / TILE_BYTES);
      let keep = Math.min(inFile, available, L === 0 ? maxLeafTiles : upper ? Number.MAX_SAFE_INTEGER : 0);
      if (L > 0) keep = Math.min(keep, Math.floor(this.#levels[L - 1].stored / TILE_WIDTH));
      if (fstatSync(fd).size !== keep * TILE_BYTES) ftruncateSync(fd, keep * TILE_BYTES);
      if (keep < available) rebuilt.push({ level: L, fromTile: keep, toTile: available });
      this.#levels.push({ fd, stored: keep, queued: [], edge: Buffer.alloc(TILE_BYTES), edgeCount: 0, edgeNodes: new Map(), writes: keep !== inFile ? 1 : 0, synced: 0 });
      available = Math.floor(available / TILE_WIDTH);
    }
    // Levels above 0 get the roots of the stored tiles below that their own files lack: from
    // the top down, so a tile completed here adds the next entry of the level above.
    for (let L = this.#levels.length - 1; L >= 1; L--) {
      const lv = this.#levels[L];
      const below = this.#levels[L - 1];
      for (let j = lv.stored * TILE_WIDTH; j < below.stored; j++) {
        this.#pushHash(L, this.#tile(L - 1, j), heightStart(TILE_HEIGHT) * HASH_BYTES);
      }
    }
    const feedFrom = (this.#levels[0]?.stored ?? 0) * TILE_WIDTH;
    this.#size = feedFrom;
    this.#cache.clear(); // tiles read above were not checked against their parents
    this.#checkParents = true;
    return { feedFrom, rebuilt };
  }

  /** Appends the leaf whose bytes are data[0..end) (the line without its newline). */
  pushLeaf(data: Buffer, end = data.length): void {
    const lv = this.#level(0);
    leafHashInto(data, lv.edge, lv.edgeCount * HASH_BYTES, end);
    this.#size++;
    if (++lv.edgeCount === TILE_WIDTH) this.#complete(0);
  }

  /**
   * Appends a leaf whose hash was made elsewhere (the audit index's thread hashes the lines it
   * is given): the 32 bytes at hashes[offset..], which the caller vouches is the leaf hash of
   * the next line (leafHashInto over the same stored bytes).
   */
  pushLeafHash(hashes: Uint8Array, offset: number): void {
    const lv = this.#level(0);
    lv.edge.set(hashes.subarray(offset, offset + HASH_BYTES), lv.edgeCount * HASH_BYTES);
    this.#size++;
    if (++lv.edgeCount === TILE_WIDTH) this.#complete(0);
  }

  /** Leaf hashes of tile `n` of level 0 as stored (or queued): for checks against the events. */
  storedLeafTile(n: number): Buffer | undefined {
    const lv = this.#levels[0];
    if (!lv || n >= lv.stored + lv.queued.length) return undefined;
    return this.#tile(0, n).subarray(0, TILE_BYTES);
  }

  #level(L: number): Level {
    while (this.#levels.length <= L) {
      const fd = openSync(join(this.#dir, tileFileName(this.#levels.length)), "a+", 0o644);
      this.#dirDirty = true;
      this.#levels.push({ fd, stored: 0, queued: [], edge: Buffer.alloc(TILE_BYTES), edgeCount: 0, edgeNodes: new Map(), writes: 0, synced: 0 });
    }
    return this.#levels[L];
  }

  #pushHash(L: number, src: Buffer, offset: number): void {
    const lv = this.#level(L);
    src.copy(lv.edge, lv.edgeCount * HASH_BYTES, offset, offset + HASH_BYTES);
    if (++lv.edgeCount === TILE_WIDTH) this.#complete(L);
  }

  #complete(L: number): void {
    const lv = this.#levels[L];
    const nodes = tileNodes(lv.edge);
    const index = lv.stored + lv.queued.length;
    lv.queued.push(nodes.subarray(0, TILE_BYTES));
    lv.edgeCount = 0;
    lv.edgeNodes.clear();
    this.#remember(`${L}:${index}`, nodes);
    this.#pushHash(L + 1, nodes, heightStart(TILE_HEIGHT) * HASH_BYTES);
  }

  #remember(key: string, nodes: Buffer): void {
    this.#cache.delete(key);
    this.#cache.set(key, nodes);
    if (this.#cache.size > CACHE_TILES) this.#cache.delete(this.#cache.keys().next().value as string);
  }

  /** Full tile `n` of level `L` with its inner nodes. */
  #tile(L: number, n: number): Buffer {
    const key = `${L}:${n}`;
    const hit = this.#cache.get(key);
    if (hit) {
      this.#cache.delete(key);
      this.#cache.set(key, hit);
      return hit;
    }
    const lv = this.#levels[L];
    let nodes = tileNodes(n >= lv.stored ? lv.queued[n - lv.stored] : this.#readTile(L, n));
    if (n < lv.stored && this.#checkParents && !this.#matchesParent(L, n, nodes)) nodes = this.#rebuildTile(L, n);
    this.#remember(key, nodes);
    return nodes;
  }

  #readTile(L: number, n: number): Buffer {
    const tile = Buffer.allocUnsafe(TILE_BYTES);
    if (readSync(this.#levels[L].fd, tile, 0, TILE_BYTES, n * TILE_BYTES) !== TILE_BYTES) {
      throw new AuditError(AuditCode.IO, `audit tiles: ${tileFileName(L)} is shorter than its ${this.#levels[L].stored} tiles (cut while open?)`);
    }
    return tile;
  }

  /** Does the tile's root equal its entry one level up (itself checked the same way, up to what open() checked against the signed root)? */
  #matchesParent(L: number, n: number, nodes: Buffer): boolean {
    const at = heightStart(TILE_HEIGHT) * HASH_BYTES;
    return this.#node((L + 1) * TILE_HEIGHT, n).equals(nodes.subarray(at, at + HASH_BYTES));
  }

  /** A stored tile that does not hash to its parent: recomputed (leaf hashes from the events, or roots of the tiles below), checked, rewritten in place. */
  #rebuildTile(L: number, n: number): Buffer {
    const fresh = Buffer.allocUnsafe(TILE_BYTES);
    if (L === 0) {
      const lines = this.#o.readLeaves(n * TILE_WIDTH, (n + 1) * TILE_WIDTH);
      for (let i = 0; i < TILE_WIDTH; i++) leafHashInto(lines[i], fresh, i * HASH_BYTES);
    } else {
      const root = heightStart(TILE_HEIGHT) * HASH_BYTES;
      for (let i = 0; i < TILE_WIDTH; i++) tileNodes(this.#readTile(L - 1, n * TILE_WIDTH + i)).copy(fresh, i * HASH_BYTES, root, root + HASH_BYTES);
    }
    const nodes = tileNodes(fresh);
    if (!this.#matchesParent(L, n, nodes)) {
      throw new AuditError(
        AuditCode.TAMPERED,
        L === 0
          ? `audit log: the events ${n * TILE_WIDTH}..${(n + 1) * TILE_WIDTH - 1} do not hash to the tree verified at open (leaf tile ${n}): an event was modified on disk`
          : `audit tiles: level ${L} tile ${n} and tiles below it are corrupt; reopen the log to rebuild them from the events`,
        { details: { level: L, tile: n } },
      );
    }
    const fd = openSync(join(this.#dir, tileFileName(L)), "r+");
    try {
      writeSync(fd, fresh, 0, TILE_BYTES, n * TILE_BYTES);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.#o.onRepair(`level ${L} tile ${n} did not hash to its parent: rebuilt from ${L === 0 ? "the events" : "the level below"}`);
    return nodes;
  }

  /** The complete subtree of 2^height leaves number `index`. */
  readonly #node: NodeSource = (height, index) => {
    const L = Math.floor(height / TILE_HEIGHT);
    const r = height % TILE_HEIGHT;
    const span = 2 ** r;
    const first = index * span; // first hash of the subtree at height 8L
    const n = Math.floor(first / TILE_WIDTH);
    const lv = this.#levels[L];
    const within = first - n * TILE_WIDTH;
    if (n < lv.stored + lv.queued.length) {
      const at = (heightStart(r) + within / span) * HASH_BYTES;
      return this.#tile(L, n).subarray(at, at + HASH_BYTES);
    }
    if (within + span > lv.edgeCount) throw new RangeError(`tree node ${height}/${index} is not complete`);
    return edgeSubtree(lv, within, span);
  };

  root(treeSize: number = this.#size): Buffer {
    this.#checkSize(treeSize);
    if (treeSize === 0) return emptyRoot();
    return Buffer.from(subtreeHash(this.#node, 0, treeSize));
  }

  leaf(i: number): Buffer {
    return Buffer.from(this.#node(0, i));
  }

  inclusionProof(index: number, treeSize: number = this.#size): Buffer[] {
    this.#checkSize(treeSize);
    if (!Number.isSafeInteger(index) || index < 0 || index >= treeSize) throw new RangeError(`leaf index ${index} outside 0..${treeSize - 1}`);
    const proof: Buffer[] = [];
    inclusionPath(this.#node, index, 0, treeSize, proof);
    return proof;
  }

  consistencyProof(m: number, n: number = this.#size): Buffer[] {
    this.#checkSize(n);
    if (!Number.isSafeInteger(m) || m < 0 || m > n) throw new RangeError(`consistency proof needs 0 <= m <= n, got m=${m} n=${n}`);
    const proof: Buffer[] = [];
    if (m > 0 && m < n) consistencySubproof(this.#node, m, 0, n, true, proof);
    return proof;
  }

  /** Copies leaf hashes [start, end) into `out` at 0; reads whole tiles from the file without caching them. */
  copyLeaves(start: number, end: number, out: Buffer): void {
    const lv = this.#levels[0];
    let i = start;
    while (i < end) {
      const n = Math.floor(i / TILE_WIDTH);
      const within = i - n * TILE_WIDTH;
      const take = Math.min(end - i, TILE_WIDTH - within);
      const dst = (i - start) * HASH_BYTES;
      if (n < lv.stored) {
        // Contiguous tiles in the file: one read for the whole stored part of the range.
        const stop = Math.min(end, lv.stored * TILE_WIDTH);
        const bytes = (stop - i) * HASH_BYTES;
        if (readSync(lv.fd, out, dst, bytes, i * HASH_BYTES) !== bytes) throw new AuditError(AuditCode.IO, `tiles: ${tileFileName(0)} is shorter than its ${lv.stored} tiles`);
        i = stop;
        continue;
      }
      const src = n < lv.stored + lv.queued.length ? lv.queued[n - lv.stored] : lv.edge;
      src.copy(out, dst, within * HASH_BYTES, (within + take) * HASH_BYTES);
      i += take;
    }
  }

  /**
   * Writes the tiles completed since the last call whose leaves all lie below `upTo` (the
   * durable events): each once, appended to its level's file.
   */
  writeCompleted(upTo: number): void {
    let leavesPerTile = TILE_WIDTH;
    for (let L = 0; L < this.#levels.length; L++, leavesPerTile *= TILE_WIDTH) {
      const lv = this.#levels[L];
      const ready = Math.min(lv.queued.length, Math.floor(upTo / leavesPerTile) - lv.stored);
      if (ready <= 0) continue;
      const tiles = lv.queued.slice(0, ready);
      const buf = ready === 1 ? tiles[0] : Buffer.concat(tiles);
      for (let done = 0; done < buf.length; ) done += writeSync(lv.fd, buf, done, buf.length - done);
      lv.stored += ready;
      lv.queued = lv.queued.slice(ready);
      lv.writes++;
    }
  }

  /** Makes the written tiles durable (before a checkpoint that covers them is signed). */
  sync(): void {
    for (const lv of this.#levels) {
      if (lv.writes === lv.synced) continue;
      fdatasyncSync(lv.fd);
      lv.synced = lv.writes;
    }
    this.#syncDir();
  }

  /** sync() off the event loop: covers every tile written before the call. */
  async syncAsync(): Promise<void> {
    const pending = this.#levels.filter((lv) => lv.writes !== lv.synced).map((lv) => ({ lv, writes: lv.writes, fd: lv.fd }));
    await Promise.all(pending.map(({ fd }) => new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())))));
    for (const { lv, writes } of pending) lv.synced = Math.max(lv.synced, writes);
    this.#syncDir();
  }

  #syncDir(): void {
    if (this.#dirDirty) {
      fsyncDirSync(this.#dir);
      this.#dirDirty = false;
    }
  }

  close(): void {
    for (const lv of this.#levels) if (lv.fd >= 0) closeSync(lv.fd);
    for (const lv of this.#levels) lv.fd = -1;
  }

  #checkSize(treeSize: number): void {
    if (!Number.isSafeInteger(treeSize) || treeSize < 0 || treeSize > this.#size) throw new RangeError(`tree size ${treeSize} outside 0..${this.#size}`);
  }
}

/** Root of the `span` (a power of two) edge hashes from `start`, remembered: each inner node of the edge is hashed once. */
function edgeSubtree(lv: Level, start: number, span: number): Buffer {
  if (span === 1) return lv.edge.subarray(start * HASH_BYTES, (start + 1) * HASH_BYTES);
  const key = `${start}:${span}`;
  let h = lv.edgeNodes.get(key);
  if (!h) {
    const half = span / 2;
    h = nodeHash(edgeSubtree(lv, start, half), edgeSubtree(lv, start + half, half));
    lv.edgeNodes.set(key, h);
  }
  return h;
}
