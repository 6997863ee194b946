/**
 * Byte buffer for the replay output: events are written as ASCII/UTF-8 bytes
 * straight into a 64 KB chunk (no per-event strings), and `take()` hands the
 * filled part over for one `write` per chunk.
 */
const CHUNK = 1 << 16;
/** Largest single piece written without a bounds check (a formatted event fits). */
const SLACK = 1 << 12;

/**
 * A constant piece of output (a key, punctuation) pre-encoded for `piece()` / `putPiece`:
 * element 0 is the byte length, then the bytes eight to an element (zero padded), read back as
 * little-endian doubles, so a piece is copied eight bytes per store. Only bytes below 0x7f are
 * allowed: a double whose top byte (the eighth, little-endian) is 0x7f or 0xff could be a NaN,
 * whose bits an engine may change on the way through a double; with these bytes none is.
 */
export type Piece = Float64Array;

/** Encodes ASCII text (no escaping needed, no byte >= 0x7f) as a Piece. */
export function encodePiece(text: string): Piece {
  const b = Buffer.from(text, "latin1");
  const words = (b.length + 7) >> 3;
  const bytes = new DataView(new ArrayBuffer(words * 8));
  for (let i = 0; i < b.length; i++) {
    if (b[i] >= 0x7f) throw new RangeError(`encodePiece: byte ${b[i]} in ${JSON.stringify(text)}`);
    bytes.setUint8(i, b[i]);
  }
  const p = new Float64Array(1 + words);
  p[0] = b.length;
  for (let i = 0; i < words; i++) p[1 + i] = bytes.getFloat64(i * 8, true);
  return p;
}

export class OutputBuffer {
  buf: Buffer = Buffer.allocUnsafe(CHUNK + SLACK);
  /** A view of `buf` for the word writes (`piece`, `putPiece`); replaced with it. */
  dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  pos = 0;

  /** True once a chunk's worth is buffered. */
  full(): boolean {
    return this.pos >= CHUNK;
  }

  /** Chunk buffers handed back by `recycle`, ready for reuse. */
  private spares: ArrayBuffer[] = [];

  /**
   * The bytes written so far; writing goes on in a spare buffer (see `recycle`) or a fresh one.
   * The returned bytes are not touched again unless they are handed back to `recycle`.
   */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    const spare = this.spares.pop();
    this.setBuf(spare !== undefined ? Buffer.from(spare) : Buffer.allocUnsafe(CHUNK + SLACK));
    this.pos = 0;
    return out;
  }

  /**
   * Hands back a buffer returned by `take` once its consumer is done with it (a stream's write
   * callback), for a later `take` to fill again. Writing 200 MB of output into fresh buffers cost
   * the replay about 0.4 s per million lines on the 2-core bench VM (new memory is slow to touch
   * there); the few buffers in flight at a time are enough. Buffers grown past a chunk are dropped.
   */
  recycle(chunk: Uint8Array): void {
    const b = chunk.buffer;
    if (chunk.byteOffset === 0 && b.byteLength === CHUNK + SLACK && b instanceof ArrayBuffer && this.spares.length < 16) this.spares.push(b);
  }

  /**
   * Makes room for n more bytes and returns `pos`: a caller writing a record of known maximum size
   * does it with the put* functions below into `buf` / `dv`, then stores the end in `pos` (one bounds
   * check and one field write per record instead of one per piece).
   */
  reserve(n: number): number {
    this.room(n);
    return this.pos;
  }

  private room(n: number): void {
    if (this.pos + n > this.buf.length) {
      const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n + SLACK));
      this.buf.copy(b, 0, 0, this.pos);
      this.setBuf(b);
    }
  }

  private setBuf(b: Buffer): void {
    this.buf = b;
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  /** A pre-encoded constant piece (see Piece): eight bytes per store, so up to 7 bytes past it are scribbled and then overwritten. */
  piece(k: Piece): void {
    const n = k[0];
    this.room(n + 8);
    const dv = this.dv;
    const w = k.length;
    let p = this.pos;
    for (let i = 1; i < w; i++) {
      dv.setFloat64(p, k[i], true);
      p += 8;
    }
    this.pos += n;
  }

  /** A JSON string literal (quotes included), escaped exactly like JSON.stringify. */
  str(s: string): void {
    const n = s.length;
    this.room(n + 2);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = 34;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 32 || c === 34 || c === 92 || c > 126) {
        const j = JSON.stringify(s);
        this.room(Buffer.byteLength(j) + SLACK);
        this.pos += this.buf.write(j, this.pos, "utf8");
        return;
      }
      buf[p++] = c;
    }
    buf[p++] = 34;
    this.pos = p;
  }

  /**
   * A JSON string literal of bytes src[s, s+n) that need no escaping (printable ASCII without
   * `"` or `\\`, as the fast-path scanner guarantees): the same bytes `str` writes for them.
   */
  quoted(src: Uint8Array, s: number, n: number): void {
    this.room(n + 2);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = 34;
    for (let i = s; i < s + n; i++) buf[p++] = src[i];
    buf[p++] = 34;
    this.pos = p;
  }

  /** A number as JSON prints it (integers digit by digit). */
  num(x: number): void {
    if (x >= 0 && x <= 0x7fffffff && x === (x | 0)) {
      this.room(12);
      const buf = this.buf;
      if (x < 10) {
        buf[this.pos++] = 48 + x;
        return;
      }
      const len = x < 100 ? 2 : x < 1000 ? 3 : x < 10000 ? 4 : x < 100000 ? 5 : x < 1000000 ? 6 : x < 10000000 ? 7 : x < 100000000 ? 8 : x < 1000000000 ? 9 : 10;
      let p = this.pos + len;
      this.pos = p;
      while (x > 0) {
        const q = (x / 10) | 0;
        buf[--p] = 48 + (x - q * 10);
        x = q;
      }
      return;
    }
    this.text(String(x));
  }

  /** Latin-1 text that needs no escaping. */
  text(s: string): void {
    this.room(s.length + SLACK);
    this.pos += this.buf.write(s, this.pos, "latin1");
  }
}

/**
 * Record writers for callers that hold the position in a local (see `reserve`): each writes at
 * `p` and returns the end. No bounds checks: the caller reserved the record's maximum size.
 */

/** A constant piece, eight bytes per store (up to 7 bytes past its end are scribbled, then overwritten). */
export function putPiece(dv: DataView, p: number, k: Piece): number {
  const w = k.length;
  for (let i = 1, q = p; i < w; i++, q += 8) dv.setFloat64(q, k[i], true);
  return p + k[0];
}

/** Bytes src[s, s+n) as they are (ids and owners the scanner found printable, no quote or backslash). */
export function putBytes(buf: Uint8Array, p: number, src: Uint8Array, s: number, n: number): number {
  for (let i = 0; i < n; i++) buf[p + i] = src[s + i];
  return p + n;
}

/**
 * The same bytes as `putBytes` for a span of ASCII bytes (below 0x80: the replay's scanners take
 * no other bytes in ids and owners, so the byte path's spans and key tables hold only these),
 * when the source has the three bytes past the span that the last word reads (`sv` views the
 * source; up to 3 bytes past the copy in the output are scribbled, then overwritten): whole
 * eight-byte words through a double, the rest as int32 words. Eight ASCII bytes are never a NaN
 * (that needs an exponent of all ones: a top byte 0x7f or 0xff and the next >= 0xf0), so the
 * double carries them unchanged; bytes past the span are only ever read into int32 words, which
 * pass any value through.
 */
export function putAscii(buf: Uint8Array, dv: DataView, p: number, src: Uint8Array, sv: DataView, s: number, n: number): number {
  if (s + n + 3 > sv.byteLength) return putBytes(buf, p, src, s, n);
  let i = 0;
  for (; i + 8 <= n; i += 8) dv.setFloat64(p + i, sv.getFloat64(s + i, true), true);
  for (; i < n; i += 4) dv.setInt32(p + i, sv.getInt32(s + i, true), true);
  return p + n;
}

/** "00".."99" as little-endian 16-bit words: two digits per store. */
const PAIRS = new Uint16Array(100);
for (let i = 0; i < 100; i++) PAIRS[i] = (48 + ((i / 10) | 0)) | ((48 + (i % 10)) << 8);

/** A number as JSON prints it: integers in int32 range two digits at a time, anything else via String. */
export function putNum(buf: Uint8Array, dv: DataView, p: number, x: number): number {
  if (x >= 0 && x <= 0x7fffffff && x === (x | 0)) {
    if (x < 10) {
      buf[p] = 48 + x;
      return p + 1;
    }
    if (x < 100) {
      dv.setUint16(p, PAIRS[x], true);
      return p + 2;
    }
    const len = x < 1000 ? 3 : x < 10000 ? 4 : x < 100000 ? 5 : x < 1000000 ? 6 : x < 10000000 ? 7 : x < 100000000 ? 8 : x < 1000000000 ? 9 : 10;
    let q = p + len;
    while (x >= 100) {
      const h = (x / 100) | 0;
      q -= 2;
      dv.setUint16(q, PAIRS[x - h * 100], true);
      x = h;
    }
    if (x >= 10) dv.setUint16(q - 2, PAIRS[x], true);
    else buf[q - 1] = 48 + x;
    return p + len;
  }
  const t = String(x);
  for (let i = 0; i < t.length; i++) buf[p + i] = t.charCodeAt(i);
  return p + t.length;
}
