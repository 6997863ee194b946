import { createHash, hash } from "node:crypto";

/**
 * The audit log's Merkle tree, RFC 9162 §2.1 (Certificate Transparency v2): SHA-256, leaf
 * hash H(0x00 || leaf), node hash H(0x01 || left || right), MTH defined for any size by
 * splitting at the largest power of two below it. The tree sees only bytes; what a leaf
 * means is the audit "personality" (auditEvent.ts).
 *
 * Two halves that must stay independent:
 * - `MerkleTree` (the log's side) stores every complete subtree and serves roots and proofs
 *   for any earlier size;
 * - `verifyInclusion` / `verifyConsistency` / `rootOf` (anyone's side) are pure functions of
 *   the RFC text, so an offline verifier does not trust the code that built the log.
 */

export const HASH_BYTES = 32;

// One-shot hashing of a reused scratch buffer (synchronous, so never shared mid-use) costs
// about a third less than a Hash object per call; appends hash a leaf and about one node each.
const NODE_SCRATCH = Buffer.allocUnsafe(1 + 2 * HASH_BYTES);
const LEAF_SCRATCH = Buffer.allocUnsafe(16 * 1024);

export function leafHash(data: Uint8Array): Buffer {
  if (data.length >= LEAF_SCRATCH.length) return createHash("sha256").update(Buffer.from([0x00])).update(data).digest();
  LEAF_SCRATCH[0] = 0x00;
  LEAF_SCRATCH.set(data, 1);
  return hash("sha256", LEAF_SCRATCH.subarray(0, data.length + 1), "buffer");
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== HASH_BYTES || right.length !== HASH_BYTES) return createHash("sha256").update(Buffer.from([0x01])).update(left).update(right).digest();
  NODE_SCRATCH[0] = 0x01;
  NODE_SCRATCH.set(left, 1);
  NODE_SCRATCH.set(right, 1 + HASH_BYTES);
  return hash("sha256", NODE_SCRATCH, "buffer");
}

// hash() with a "binary" (latin1) string result, written into a caller's buffer, costs about half a
// "buffer" result (no new backing store per hash): the log hashes about two per event.
/** Leaf hash of data[0..end) written at out[offset..offset+32). */
export function leafHashInto(data: Buffer, out: Buffer, offset: number, end = data.length): void {
  if (end >= LEAF_SCRATCH.length) {
    leafHash(data.subarray(0, end)).copy(out, offset);
    return;
  }
  LEAF_SCRATCH[0] = 0x00;
  data.copy(LEAF_SCRATCH, 1, 0, end);
  out.write(hash("sha256", LEAF_SCRATCH.subarray(0, end + 1), "binary"), offset, HASH_BYTES, "latin1");
}

/** Node hash of the two 32-byte hashes at src[left..] and src[right..], written at out[offset..]. */
export function nodeHashInto(src: Buffer, left: number, right: number, out: Buffer, offset: number): void {
  NODE_SCRATCH[0] = 0x01;
  if (right === left + HASH_BYTES) src.copy(NODE_SCRATCH, 1, left, right + HASH_BYTES); // siblings side by side, as in a tile: one copy
  else {
    src.copy(NODE_SCRATCH, 1, left, left + HASH_BYTES);
    src.copy(NODE_SCRATCH, 1 + HASH_BYTES, right, right + HASH_BYTES);
  }
  out.write(hash("sha256", NODE_SCRATCH, "binary"), offset, HASH_BYTES, "latin1");
}

/** MTH({}) = SHA-256(""). */
export function emptyRoot(): Buffer {
  return createHash("sha256").digest();
}

/** Largest power of two strictly below n (n >= 2): the RFC's split point k. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Reference MTH (RFC 9162 §2.1.1), recursive over leaf hashes. For tests and small trees. */
export function rootOf(leafHashes: readonly Uint8Array[]): Buffer {
  const n = leafHashes.length;
  if (n === 0) return emptyRoot();
  if (n === 1) return Buffer.from(leafHashes[0]);
  const k = splitPoint(n);
  return nodeHash(rootOf(leafHashes.slice(0, k)), rootOf(leafHashes.slice(k)));
}

// Bit operations on plain numbers are 32-bit in JS; tree sizes may exceed 2^32 over a
// retention period, so the verifiers use exact integer arithmetic below 2^53 instead.
const isOdd = (x: number): boolean => x % 2 === 1;
const half = (x: number): number => (x - (x % 2)) / 2;

function validSize(x: number): boolean {
  return Number.isSafeInteger(x) && x >= 0;
}

/**
 * RFC 9162 §2.1.3.2: does `proof` show that `leaf` (a leaf hash) is at `index` in the tree
 * of `treeSize` leaves whose root is `root`?
 */
export function verifyInclusion(leaf: Uint8Array, index: number, treeSize: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!validSize(index) || !validSize(treeSize) || index >= treeSize) return false;
  let fn = index;
  let sn = treeSize - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && r.equals(root);
}

/**
 * RFC 9162 §2.1.4.2: does `proof` show that the tree of size `m` with root `rootM` is a
 * prefix of the tree of size `n` with root `rootN`? Equal sizes need an empty proof and
 * equal roots; size 0 (the empty tree, a prefix of everything) needs an empty proof and the
 * empty root — both outside the RFC's algorithm, which starts at 0 < m < n.
 */
export function verifyConsistency(m: number, n: number, rootM: Uint8Array, rootN: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (!validSize(m) || !validSize(n) || m > n) return false;
  if (m === n) return proof.length === 0 && Buffer.from(rootM).equals(rootN);
  if (m === 0) return proof.length === 0 && emptyRoot().equals(rootM);
  if (proof.length === 0) return false;
  const path: readonly Uint8Array[] = isPowerOfTwo(m) ? [rootM, ...proof] : proof;
  let fn = m - 1;
  let sn = n - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Buffer = Buffer.from(path[0]);
  let sr: Buffer = Buffer.from(path[0]);
  for (let i = 1; i < path.length; i++) {
    const c = path[i];
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && fr.equals(rootM) && sr.equals(rootN);
}

function isPowerOfTwo(x: number): boolean {
  if (x < 1) return false;
  while (x % 2 === 0) x /= 2;
  return x === 1;
}

/**
 * An append-only array of 32-byte hashes in fixed-size chunks: no copying as it grows and
 * at most one partly used chunk, so 10M leaves cost 320 MB for level 0 rather than twice
 * that during a doubling copy.
 */
class HashArray {
  static readonly #CHUNK_HASHES = 1 << 15; // 1 MiB per chunk
  readonly #chunks: Buffer[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(hash: Uint8Array): void {
    if (hash.length !== HASH_BYTES) fail(`a tree hash has ${HASH_BYTES} bytes, got ${hash.length}`);
    const i = this.#length % HashArray.#CHUNK_HASHES;
    if (i === 0) this.#chunks.push(Buffer.allocUnsafe(HashArray.#CHUNK_HASHES * HASH_BYTES));
    this.#chunks[this.#chunks.length - 1].set(hash, i * HASH_BYTES);
    this.#length++;
  }

  /** A view (no copy) of hash `i`; callers must not mutate it. */
  at(i: number): Buffer {
    const c = Math.floor(i / HashArray.#CHUNK_HASHES);
    const o = (i % HashArray.#CHUNK_HASHES) * HASH_BYTES;
    return this.#chunks[c].subarray(o, o + HASH_BYTES);
  }
}

function fail(message: string): never {
  throw new RangeError(message);
}

/**
 * The log's tree. Level 0 holds the leaf hashes, level k the hashes of the complete
 * subtrees of 2^k leaves (floor(size / 2^k) of them). Appending costs amortised one node
 * hash; any subtree that is not complete (the right edge of an earlier or current size) is
 * rebuilt from complete ones, so a root costs O(log n) hashes and a proof O(log² n) at most.
 * Memory: about 64 bytes per leaf.
 */
export class MerkleTree {
  readonly #levels: HashArray[] = [new HashArray()];

  get size(): number {
    return this.#levels[0].length;
  }

  /** Appends a leaf hash; returns its index. */
  append(leaf: Uint8Array): number {
    const index = this.size;
    this.#levels[0].push(leaf);
    // Each time a level's count becomes even, its last two nodes complete a parent.
    let level = 0;
    let count = index + 1;
    while (count % 2 === 0) {
      const nodes = this.#levels[level];
      const parent = nodeHash(nodes.at(count - 2), nodes.at(count - 1));
      if (this.#levels.length === level + 1) this.#levels.push(new HashArray());
      this.#levels[level + 1].push(parent);
      level++;
      count /= 2;
    }
    return index;
  }

  /** Leaf hash `i` (a copy). */
  leaf(i: number): Buffer {
    this.#checkIndex(i, this.size);
    return Buffer.from(this.#levels[0].at(i));
  }

  /** Copies leaf hashes [start, end) into `out` at `offset`; for streaming exports. */
  copyLeaves(start: number, end: number, out: Buffer, offset = 0): void {
    const leaves = this.#levels[0];
    for (let i = start; i < end; i++) out.set(leaves.at(i), offset + (i - start) * HASH_BYTES);
  }

  /** MTH of the first `treeSize` leaves. */
  root(treeSize: number = this.size): Buffer {
    this.#checkSize(treeSize);
    if (treeSize === 0) return emptyRoot();
    return Buffer.from(this.#range(0, treeSize));
  }

  /** PATH(index, D[treeSize]) of RFC 9162 §2.1.3.1, leaf-side first. */
  inclusionProof(index: number, treeSize: number = this.size): Buffer[] {
    this.#checkSize(treeSize);
    this.#checkIndex(index, treeSize);
    const proof: Buffer[] = [];
    this.#path(index, 0, treeSize, proof);
    return proof;
  }

  /** PROOF(m, D[n]) of RFC 9162 §2.1.4.1; empty when m = n or m = 0. */
  consistencyProof(m: number, n: number = this.size): Buffer[] {
    this.#checkSize(n);
    if (!Number.isSafeInteger(m) || m < 0 || m > n) fail(`consistency proof needs 0 <= m <= n, got m=${m} n=${n}`);
    const proof: Buffer[] = [];
    if (m > 0 && m < n) this.#subproof(m, 0, n, true, proof);
    return proof;
  }

  #checkSize(treeSize: number): void {
    if (!Number.isSafeInteger(treeSize) || treeSize < 0 || treeSize > this.size) fail(`tree size ${treeSize} outside 0..${this.size}`);
  }

  #checkIndex(index: number, treeSize: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= treeSize) fail(`leaf index ${index} outside 0..${treeSize - 1}`);
  }

  /** The stored hash of the complete subtree of 2^level leaves starting at leaf index * 2^level. */
  #node = (level: number, index: number): Buffer => this.#levels[level].at(index);

  #range(start: number, end: number): Buffer {
    return subtreeHash(this.#node, start, end);
  }

  #path(m: number, start: number, end: number, out: Buffer[]): void {
    inclusionPath(this.#node, m, start, end, out);
  }

  #subproof(m: number, start: number, end: number, b: boolean, out: Buffer[]): void {
    consistencySubproof(this.#node, m, start, end, b, out);
  }
}

/**
 * Complete subtrees of a tree, by height and index: the one hash of leaves
 * [index * 2^height, (index + 1) * 2^height). How they are stored (memory, tiles) is the
 * caller's business; the RFC's recursions below only ever ask for complete ones.
 */
export type NodeSource = (height: number, index: number) => Buffer;

/**
 * MTH(D[start:end]). `start` is always a multiple of the largest power of two not above
 * end - start (the RFC's splits keep it so), hence a perfect range is one stored node.
 */
export function subtreeHash(node: NodeSource, start: number, end: number): Buffer {
  const n = end - start;
  let level = 0;
  let width = 1;
  while (width < n) {
    width *= 2;
    level++;
  }
  if (width === n) return node(level, start / width);
  const k = splitPoint(n);
  return nodeHash(subtreeHash(node, start, start + k), subtreeHash(node, start + k, end));
}

/** PATH(m, D[start:end]) of RFC 9162 §2.1.3.1, appended to `out` leaf-side first. */
export function inclusionPath(node: NodeSource, m: number, start: number, end: number, out: Buffer[]): void {
  const n = end - start;
  if (n === 1) return;
  const k = splitPoint(n);
  if (m < start + k) {
    inclusionPath(node, m, start, start + k, out);
    out.push(Buffer.from(subtreeHash(node, start + k, end)));
  } else {
    inclusionPath(node, m, start + k, end, out);
    out.push(Buffer.from(subtreeHash(node, start, start + k)));
  }
}

/** SUBPROOF(m, D[start:end], b) of RFC 9162 §2.1.4.1; m counts leaves from `start`. */
export function consistencySubproof(node: NodeSource, m: number, start: number, end: number, b: boolean, out: Buffer[]): void {
  const n = end - start;
  if (m === n) {
    if (!b) out.push(Buffer.from(subtreeHash(node, start, end)));
    return;
  }
  const k = splitPoint(n);
  if (m <= k) {
    consistencySubproof(node, m, start, start + k, b, out);
    out.push(Buffer.from(subtreeHash(node, start + k, end)));
  } else {
    consistencySubproof(node, m - k, start + k, end, false, out);
    out.push(Buffer.from(subtreeHash(node, start, start + k)));
  }
}

export function toHex(h: Uint8Array): string {
  return `0x${Buffer.from(h).toString("hex")}`;
}

/** Parses a 0x-prefixed (or bare) 64-digit hex hash; throws on anything else. */
export function fromHex(s: string): Buffer {
  const hex = s.startsWith("0x") || s.startsWith("0X") ? s.slice(2) : s;
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new RangeError(`not a 32-byte hex hash: ${s.slice(0, 80)}`);
  return Buffer.from(hex, "hex");
}
