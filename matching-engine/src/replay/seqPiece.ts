import type { Piece } from "./outputBuffer.ts";

/** `,"seq":` + at most 16 digits (a safe integer) + `}\n`, in whole words. */
const WORDS = 4;
const PREFIX = ',"seq":';

/**
 * The end of a record, `,"seq":<n>}\n`, kept as one Piece (see outputBuffer.ts) for the seq last
 * asked for, so a record ends with one `putPiece` (two or three word stores) instead of a piece, a
 * number and a piece. The book numbers its events one after another, so the next seq is nearly
 * always the last one plus one: its digits are counted up in place (a carry past the first digit,
 * any other jump, re-renders them). Digits and punctuation are ASCII, so no word is a NaN (see Piece).
 */
export class SeqPiece {
  /** The piece for `value`: element 0 its byte length, then its bytes (outputBuffer's Piece layout). */
  readonly piece: Piece = new Float64Array(1 + WORDS);
  /** The same bytes, for counting in place. */
  private readonly bytes = new Uint8Array(this.piece.buffer, 8, WORDS * 8);

  constructor() {
    for (let i = 0; i < PREFIX.length; i++) this.bytes[i] = PREFIX.charCodeAt(i);
    this.render(0);
  }
  /** The seq the piece holds (-1: none yet). */
  private value = -1;
  /** Index in `bytes` of the `}` after the digits. */
  private end = 0;

  /** The piece for `seq` (a non-negative safe integer). */
  of(seq: number): Piece {
    if (seq !== this.value) {
      if (seq === this.value + 1 && this.bump()) this.value = seq;
      else this.render(seq);
    }
    return this.piece;
  }

  /** Adds one to the digits in place; false if that needs another digit (then the caller renders). */
  private bump(): boolean {
    const b = this.bytes;
    for (let i = this.end - 1; i >= PREFIX.length; i--) {
      if (b[i] !== 57) {
        b[i]++;
        return true;
      }
      b[i] = 48;
    }
    return false;
  }

  /** Writes the digits of `seq` after the prefix, then `}\n` and zeros to the last word. */
  private render(seq: number): void {
    const b = this.bytes;
    let len = 1;
    for (let x = seq; x >= 10; x = Math.floor(x / 10)) len++;
    const end = PREFIX.length + len;
    for (let i = end - 1, x = seq; i >= PREFIX.length; i--, x = Math.floor(x / 10)) b[i] = 48 + (x % 10);
    b[end] = 125;
    b[end + 1] = 10;
    b.fill(0, end + 2);
    this.piece[0] = end + 2;
    this.value = seq;
    this.end = end;
  }
}
