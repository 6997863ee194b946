/** Bytes after the last entry's key: a word copy of a key reads up to 3 bytes past it. */
const PAD = 8;

/**
 * A set of short byte strings (client ids, owner names) keyed by their bytes, for the
 * byte-level replay: the key bytes live in one arena (a fixed stride per entry), the entry
 * number is chosen by the caller (an order's pool slot, an owner's table index), and lookups
 * hash the input bytes in place, so no JS string is made per record. Open addressing with
 * linear probing; removal shifts the following run back (no tombstones), so a table that sees
 * a million one-off keys stays the size of the live set.
 */
export class ByteKeys {
  /** Longest key, bytes (the caller checks before inserting). */
  readonly stride: number;
  /** Key bytes, entry e at e * stride, plus PAD bytes at the end so a reader may copy whole words (putAscii). */
  arena: Uint8Array;
  /** A view of `arena` for those word copies; replaced with it. */
  view: DataView;
  len: Int32Array;
  private hash: Int32Array;
  /** Bucket -> entry + 1 (0 = empty). */
  private table: Int32Array;
  private mask: number;
  size = 0;

  constructor(stride: number, entries = 1024) {
    this.stride = stride;
    this.arena = new Uint8Array(entries * stride + PAD);
    this.view = new DataView(this.arena.buffer);
    this.len = new Int32Array(entries);
    this.hash = new Int32Array(entries);
    this.table = new Int32Array(entries * 2);
    this.mask = entries * 2 - 1;
  }

  /** FNV-1a over buf[s, s+n): a caller that finds, then inserts, the same key hashes it once and passes it to both. */
  static hashOf(buf: Uint8Array, s: number, n: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = s; i < s + n; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    return h ^ (h >>> 15);
  }

  /** Entry holding the key buf[s, s+n) (`h`: its hashOf), or -1. */
  find(buf: Uint8Array, s: number, n: number, h = ByteKeys.hashOf(buf, s, n)): number {
    const t = this.table;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const x = t[i];
      if (x === 0) return -1;
      const e = x - 1;
      if (this.hash[e] === h && this.len[e] === n && this.same(e, buf, s, n)) return e;
    }
  }

  private same(e: number, buf: Uint8Array, s: number, n: number): boolean {
    const a = this.arena;
    const o = e * this.stride;
    for (let i = 0; i < n; i++) if (a[o + i] !== buf[s + i]) return false;
    return true;
  }

  /** Stores key buf[s, s+n) (absent, n <= stride; `h`: its hashOf) as entry `e` (not in use). */
  insert(e: number, buf: Uint8Array, s: number, n: number, h = ByteKeys.hashOf(buf, s, n)): void {
    if (e >= this.len.length) this.growEntries(e + 1);
    if ((this.size + 1) * 2 > this.table.length) this.rehash(this.table.length * 2);
    this.hash[e] = h;
    this.len[e] = n;
    // a byte loop: for keys this short, subarray + set (an object and a native call) costs more
    const a = this.arena;
    const o = e * this.stride;
    for (let i = 0; i < n; i++) a[o + i] = buf[s + i];
    const t = this.table;
    const mask = this.mask;
    let i = h & mask;
    while (t[i] !== 0) i = (i + 1) & mask;
    t[i] = e + 1;
    this.size++;
  }

  /** Removes entry `e` (in use). Its bytes stay readable until `e` is inserted again. */
  remove(e: number): void {
    const t = this.table;
    const mask = this.mask;
    let i = this.hash[e] & mask;
    while (t[i] !== e + 1) i = (i + 1) & mask;
    t[i] = 0;
    this.size--;
    // shift back the entries of the run after i whose home bucket is not in (i, j]
    for (let j = (i + 1) & mask; t[j] !== 0; j = (j + 1) & mask) {
      const k = this.hash[t[j] - 1] & mask;
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (!stays) {
        t[i] = t[j];
        t[j] = 0;
        i = j;
      }
    }
  }

  private growEntries(min: number): void {
    let n = this.len.length * 2;
    while (n < min) n *= 2;
    const a = new Uint8Array(n * this.stride + PAD);
    a.set(this.arena);
    this.arena = a;
    this.view = new DataView(a.buffer);
    const l = new Int32Array(n);
    l.set(this.len);
    this.len = l;
    const h = new Int32Array(n);
    h.set(this.hash);
    this.hash = h;
  }

  private rehash(buckets: number): void {
    const old = this.table;
    const t = new Int32Array(buckets);
    const mask = buckets - 1;
    for (let b = 0; b < old.length; b++) {
      const x = old[b];
      if (x === 0) continue;
      let i = this.hash[x - 1] & mask;
      while (t[i] !== 0) i = (i + 1) & mask;
      t[i] = x;
    }
    this.table = t;
    this.mask = mask;
  }
}
