import { EngineCode, EngineFault, EngineFaultCode } from "../codes.ts";
import type { MatchingEngine } from "../engine.ts";
import { EventBuffer, EventKind, OrderTypeCode } from "../eventBuffer.ts";
import { SLOT_MASK } from "../orderPool.ts";
import { ByteKeys } from "./byteKeys.ts";
import type { OutputBuffer } from "./outputBuffer.ts";
import { FastType, fastLine } from "./scanFast.ts";
import { canonicalLine } from "./scanCanonical.ts";
import { latin1 } from "./scanCommand.ts";
import { encodePiece, putAscii, putNum, putPiece } from "./outputBuffer.ts";
import type { Piece } from "./outputBuffer.ts";
import { SeqPiece } from "./seqPiece.ts";

/** Longest client id the engine accepts (engine.ts MAX_ID_LENGTH); longer is ENGINE_INVALID_ID. */
const MAX_ID = 128;
/** Longest owner the byte path keeps; a longer one hands the stream over to the string path. */
const MAX_OWNER = 128;
const BOOK = 0;
/**
 * The constant runs of each output line, the quotes around the ids and owners between them folded
 * in (the same bytes as writeEvent.ts's pieces plus `str`'s quotes), so a record is a few piece
 * copies, byte copies and numbers.
 */
const P_TRADE = encodePiece('{"type":"trade","maker":"');
const P_TAKER = encodePiece('","taker":"');
const P_PRICE_Q = encodePiece('","price":');
const P_QTY = encodePiece(',"qty":');
const P_BUY_MAKEROWNER = encodePiece(',"side":"buy","makerOwner":"');
const P_SELL_MAKEROWNER = encodePiece(',"side":"sell","makerOwner":"');
const P_TAKEROWNER = encodePiece('","takerOwner":"');
const P_MAKERLEFT_Q = encodePiece('","makerLeft":');
const P_TAKERLEFT = encodePiece(',"takerLeft":');
const P_ACCEPTED = encodePiece('{"type":"accepted","id":"');
/** Accepted around the spans a canonical line gives (see `canonicalLine`), by [market ? 1 : 0]. */
const P_ACCEPTED_OPEN = encodePiece('{"type":"accepted",');
const P_ORDER_TYPE = [encodePiece(',"orderType":"limit"'), encodePiece(',"orderType":"market","price":0')];
const P_OWNER_Q = encodePiece('","owner":"');
/** Accepted's side and order type, by [side * 2 + (market ? 1 : 0)]. */
const P_SIDE_TYPE = [
  encodePiece('","side":"buy","orderType":"limit","price":'),
  encodePiece('","side":"buy","orderType":"market","price":'),
  encodePiece('","side":"sell","orderType":"limit","price":'),
  encodePiece('","side":"sell","orderType":"market","price":'),
];
const P_CANCELLED = encodePiece('{"type":"cancelled","id":"');
const P_QTY_Q = encodePiece('","qty":');
const P_LEFT = encodePiece(',"left":');
const P_REJECTED = encodePiece('{"type":"rejected","id":"');
const P_LINE = encodePiece(',"line":');
const P_L2_BUY = encodePiece('{"type":"l2","side":"buy","price":');
const P_L2_SELL = encodePiece('{"type":"l2","side":"sell","price":');
/** Largest record: constant runs (< 200 bytes), two ids and two owners (MAX_ID, MAX_OWNER), six numbers, a reason. */
const MAX_RECORD = 1024;

/** `","reason":"<code>"` for rejected (after the id) and `,"reason":"<code>"` for cancelled (after a number), made on first use. */
const rejectedReasons = new Map<string, Piece>();
const cancelledReasons = new Map<string, Piece>();
function reasonPiece(cache: Map<string, Piece>, prefix: string, reason: string): Piece {
  let k = cache.get(reason);
  if (k === undefined) {
    k = encodePiece(prefix + JSON.stringify(reason));
    cache.set(reason, k);
  }
  return k;
}

/**
 * The replay's byte-level path for the three fast-path shapes (limit GTC, market by qty,
 * cancel; see scanFast.ts): ids and owners stay bytes. Client ids of resting orders are kept in
 * a ByteKeys table keyed by pool slot, owners in one of their own (interned to anonymous engine
 * owner ids, counted on the resting orders and the order in flight, forgotten at zero), orders
 * go through the numeric core (`placeLimit` / `placeMarket` / `cancelHandle`) into an
 * EventBuffer, and each record is written by copying the id/owner bytes from the input line or
 * the tables. The output is byte-identical to `apply` + `writeEvent` (property-tested in
 * byteReplay.test.ts, and by the golden test).
 *
 * Anything else (another command kind, an owner longer than MAX_OWNER) cannot go on here,
 * because `apply` must see every live order by id: `run` returns false, and after
 * `handOver()` (every resting order adopted into the engine's string-id index) the caller
 * continues with `apply` for the rest of the stream.
 */
export class ByteReplay {
  private readonly engine: MatchingEngine;
  private readonly out: OutputBuffer;
  private readonly ev = new EventBuffer();
  /** Resting orders' client ids, entry = pool slot. */
  private readonly ids = new ByteKeys(MAX_ID);
  /** Hash of the order in flight's id (found absent, inserted if it rests). */
  private idHash = 0;
  /** Per pool slot: handle of the resting order whose id is in `ids` (-1 = none), its owner entry. */
  private slotHandle = new Int32Array(1024).fill(-1);
  private slotOwner = new Int32Array(1024);
  private readonly owners = new ByteKeys(MAX_OWNER);
  /** Per owner entry: engine owner id, orders holding it. */
  private ownerId = new Int32Array(1024).fill(-1);
  private ownerRefs = new Int32Array(1024);
  private ownerTop = 0;
  private freeOwners: number[] = [];
  /** The line being run: its buffer, a view of that buffer (for putAscii) and 1-based number. */
  private buf: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private line = 0;
  /** The line is in JSON.stringify's form (scanCanonical took it): `canonicalLine` holds its spans. */
  private canonical = false;
  /** Every record's `,"seq":N}\n`. */
  private readonly seqs = new SeqPiece();

  constructor(engine: MatchingEngine, out: OutputBuffer) {
    this.engine = engine;
    this.out = out;
  }

  /**
   * Runs the line just scanned (in `fastLine`, bytes in buf) by `scanCanonical` (`canonical`) or
   * `scanSpans`; false: not here (see class doc).
   */
  run(buf: Uint8Array, line: number, canonical: boolean): boolean {
    const f = fastLine;
    if (f.type !== FastType.cancel && f.ownerLen > MAX_OWNER) return false;
    if (buf !== this.buf) {
      this.buf = buf;
      this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    this.line = line;
    this.canonical = canonical;
    const engine = this.engine;
    const ev = this.ev;
    if (f.type === FastType.cancel) {
      const e = f.idLen > 0 && f.idLen <= MAX_ID ? this.ids.find(buf, f.idStart, f.idLen) : -1;
      if (e < 0) {
        // as apply: an unknown id is rejected without a book (seq 0)
        this.writeRejected(EngineCode.UNKNOWN_ORDER, 0);
        return true;
      }
      engine.cancelHandle(this.slotHandle[e], ev);
      this.writeRecords();
      return true;
    }
    // apply's order of checks: id, duplicate id, owner, then the core's (side, price, qty)
    if (f.idLen === 0 || f.idLen > MAX_ID) engine.rejectOrder(BOOK, EngineCode.INVALID_ID, ev);
    else if (this.ids.find(buf, f.idStart, f.idLen, (this.idHash = ByteKeys.hashOf(buf, f.idStart, f.idLen))) >= 0) engine.rejectOrder(BOOK, EngineCode.DUPLICATE_ID, ev);
    else if (f.ownerLen === 0) engine.rejectOrder(BOOK, EngineCode.INVALID_OWNER, ev);
    else {
      const o = this.holdOwner(buf, f.ownerStart, f.ownerLen);
      const side = f.buy ? 0 : 1;
      const r = f.type === FastType.limit ? engine.placeLimit(BOOK, this.ownerId[o], side, f.price, f.qty, 0, "", ev) : engine.placeMarket(BOOK, this.ownerId[o], side, f.qty, "", ev);
      this.writeRecords();
      if (r >= 0) this.rest(r, o);
      else this.dropOwner(o);
      return true;
    }
    this.writeRecords();
    return true;
  }

  /** Adopts every resting order into the engine's string-id index (returns how many): from here on the caller uses `apply`. */
  handOver(): number {
    let n = 0;
    const ids = this.ids;
    const owners = this.owners;
    for (let s = 0; s < this.slotHandle.length; s++) {
      const h = this.slotHandle[s];
      if (h < 0) continue;
      const o = this.slotOwner[s];
      const id = latin1(Buffer.from(ids.arena.buffer, ids.arena.byteOffset + s * ids.stride, ids.len[s]), 0, ids.len[s]);
      const owner = latin1(Buffer.from(owners.arena.buffer, owners.arena.byteOffset + o * owners.stride, owners.len[o]), 0, owners.len[o]);
      if (this.engine.adoptOrder(h, id, owner)) n++;
      this.slotHandle[s] = -1;
    }
    return n;
  }

  private holdOwner(buf: Uint8Array, s: number, n: number): number {
    const h = ByteKeys.hashOf(buf, s, n);
    let o = this.owners.find(buf, s, n, h);
    if (o < 0) {
      o = this.freeOwners.length > 0 ? (this.freeOwners.pop() as number) : this.ownerTop++;
      if (o >= this.ownerId.length) {
        const id = new Int32Array(this.ownerId.length * 2).fill(-1);
        id.set(this.ownerId);
        this.ownerId = id;
        const r = new Int32Array(id.length);
        r.set(this.ownerRefs);
        this.ownerRefs = r;
      }
      if (this.ownerId[o] < 0) this.ownerId[o] = this.engine.anonymousOwner();
      this.owners.insert(o, buf, s, n, h);
    }
    this.ownerRefs[o]++;
    return o;
  }

  private dropOwner(o: number): void {
    if (--this.ownerRefs[o] === 0) {
      this.owners.remove(o);
      this.freeOwners.push(o);
    }
  }

  private rest(handle: number, o: number): void {
    const s = handle & SLOT_MASK;
    if (s >= this.slotHandle.length) {
      let n = this.slotHandle.length * 2;
      while (n <= s) n *= 2;
      const h = new Int32Array(n).fill(-1);
      h.set(this.slotHandle);
      this.slotHandle = h;
      const so = new Int32Array(n);
      so.set(this.slotOwner);
      this.slotOwner = so;
    }
    this.slotHandle[s] = handle;
    this.slotOwner[s] = o;
    this.ids.insert(s, this.buf, fastLine.idStart, fastLine.idLen, this.idHash);
  }

  /** Pool slot of `handle` if it is a resting order of this path, else -1 (then it is the order in flight). */
  private resting(handle: number): number {
    const s = handle & SLOT_MASK;
    return s < this.slotHandle.length && this.slotHandle[s] === handle ? s : -1;
  }

  /** A resting order finished (traded out or cancelled): forget its id and release its owner. */
  private finished(s: number): void {
    this.slotHandle[s] = -1;
    this.ids.remove(s);
    this.dropOwner(this.slotOwner[s]);
  }

  private writeRejected(reason: EngineCode, seq: number): void {
    const o = this.out;
    let p = o.reserve(MAX_RECORD);
    p = this.putRejected(o.buf, o.dv, p, reason, seq);
    o.pos = p;
  }

  private putRejected(b: Uint8Array, dv: DataView, p: number, reason: EngineCode, seq: number): number {
    const f = fastLine;
    p = putPiece(dv, p, P_REJECTED);
    p = putAscii(b, dv, p, this.buf, this.view, f.idStart, f.idLen);
    p = putPiece(dv, p, reasonPiece(rejectedReasons, '","reason":', reason));
    p = putPiece(dv, p, P_LINE);
    p = putNum(b, dv, p, this.line);
    return putPiece(dv, p, this.seqs.of(seq));
  }

  /** Writes the EventBuffer's records as writeEvent would write the same events. */
  private writeRecords(): void {
    const ev = this.ev;
    const o = this.out;
    const f = fastLine;
    const line = this.buf;
    const lv = this.view;
    const ids = this.ids;
    const owners = this.owners;
    for (let i = 0; i < ev.count; i++) {
      let p = o.reserve(MAX_RECORD);
      const b = o.buf;
      const dv = o.dv;
      switch (ev.kind[i]) {
        case EventKind.trade: {
          const m = this.resting(ev.order[i]);
          p = putPiece(dv, p, P_TRADE);
          p = m >= 0 ? putAscii(b, dv, p, ids.arena, ids.view, m * MAX_ID, ids.len[m]) : putAscii(b, dv, p, line, lv, f.idStart, f.idLen);
          p = putPiece(dv, p, P_TAKER);
          p = putAscii(b, dv, p, line, lv, f.idStart, f.idLen);
          p = putPiece(dv, p, P_PRICE_Q);
          p = putNum(b, dv, p, ev.price[i]);
          p = putPiece(dv, p, P_QTY);
          p = putNum(b, dv, p, ev.qty[i]);
          p = putPiece(dv, p, ev.side[i] === 0 ? P_BUY_MAKEROWNER : P_SELL_MAKEROWNER);
          const mo = this.slotOwner[m];
          p = putAscii(b, dv, p, owners.arena, owners.view, mo * MAX_OWNER, owners.len[mo]);
          p = putPiece(dv, p, P_TAKEROWNER);
          p = putAscii(b, dv, p, line, lv, f.ownerStart, f.ownerLen);
          p = putPiece(dv, p, P_MAKERLEFT_Q);
          p = putNum(b, dv, p, ev.left[i]);
          p = putPiece(dv, p, P_TAKERLEFT);
          p = putNum(b, dv, p, ev.takerLeft[i]);
          if (ev.left[i] === 0) this.finished(m);
          break;
        }
        case EventKind.accepted: {
          const market = ev.flag[i] === OrderTypeCode.limit ? 0 : 1;
          if (this.canonical && ev.qty[i] === f.qty && ev.price[i] === (market === 0 ? f.price : 0)) {
            // the line's own `"id":"…","owner":"…","side":"…"` and `,"price":N,"qty":N` (or `,"qty":N`)
            const c = canonicalLine;
            const from = f.idStart - 6;
            p = putPiece(dv, p, P_ACCEPTED_OPEN);
            p = putAscii(b, dv, p, line, lv, from, c.sideEnd - from);
            p = putPiece(dv, p, P_ORDER_TYPE[market]);
            p = putAscii(b, dv, p, line, lv, c.sideEnd, c.close - c.sideEnd);
            break;
          }
          p = putPiece(dv, p, P_ACCEPTED);
          p = putAscii(b, dv, p, line, lv, f.idStart, f.idLen);
          p = putPiece(dv, p, P_OWNER_Q);
          p = putAscii(b, dv, p, line, lv, f.ownerStart, f.ownerLen);
          p = putPiece(dv, p, P_SIDE_TYPE[ev.side[i] * 2 + market]);
          p = putNum(b, dv, p, ev.price[i]);
          p = putPiece(dv, p, P_QTY);
          p = putNum(b, dv, p, ev.qty[i]);
          break;
        }
        case EventKind.cancelled: {
          const m = this.resting(ev.order[i]);
          p = putPiece(dv, p, P_CANCELLED);
          p = m >= 0 ? putAscii(b, dv, p, ids.arena, ids.view, m * MAX_ID, ids.len[m]) : putAscii(b, dv, p, line, lv, f.idStart, f.idLen);
          p = putPiece(dv, p, P_QTY_Q);
          p = putNum(b, dv, p, ev.qty[i]);
          p = putPiece(dv, p, P_LEFT);
          p = putNum(b, dv, p, ev.left[i]);
          p = putPiece(dv, p, reasonPiece(cancelledReasons, ',"reason":', ev.reason[i]));
          if (m >= 0 && ev.left[i] === 0) this.finished(m);
          break;
        }
        case EventKind.rejected:
          // writes its own seq and end
          o.pos = this.putRejected(b, dv, p, ev.reason[i], ev.seq[i]);
          continue;
        case EventKind.l2:
          p = putPiece(dv, p, ev.side[i] === 0 ? P_L2_BUY : P_L2_SELL);
          p = putNum(b, dv, p, ev.price[i]);
          p = putPiece(dv, p, P_QTY);
          p = putNum(b, dv, p, ev.qty[i]);
          break;
        default:
          // amended / triggered need commands this path never runs
          throw new EngineFault(EngineFaultCode.UNEXPECTED_EVENT, `byte replay: unexpected event kind ${ev.kind[i]}`);
      }
      o.pos = putPiece(dv, p, this.seqs.of(ev.seq[i]));
    }
  }
}
