import { EngineCode, EngineFault, EngineFaultCode } from "../codes.ts";
import type { MatchingEngine } from "../engine.ts";
import { EventBuffer, EventKind, OrderTypeCode } from "../eventBuffer.ts";
import { SLOT_MASK } from "../orderPool.ts";
import { ByteKeys } from "./byteKeys.ts";
import type { OutputBuffer } from "./outputBuffer.ts";
import { FastType, fastLine } from "./scanFast.ts";
import { latin1 } from "./scanCommand.ts";
import {
  K_ACCEPTED_ID,
  K_CANCELLED_ID,
  K_END,
  K_L2_SIDE_BUY_PRICE,
  K_L2_SIDE_SELL_PRICE,
  K_LEFT,
  K_LINE,
  K_MAKERLEFT,
  K_OWNER,
  K_PRICE,
  K_QTY,
  K_REASON,
  K_REJECTED_ID,
  K_SEQ,
  K_SIDE_BUY_MAKEROWNER,
  K_SIDE_BUY_ORDERTYPE,
  K_SIDE_SELL_MAKEROWNER,
  K_SIDE_SELL_ORDERTYPE,
  K_TAKER,
  K_TAKERLEFT,
  K_TAKEROWNER,
  K_TRADE_MAKER,
} from "./writeEvent.ts";
import { encodePiece } from "./outputBuffer.ts";

/** Longest client id the engine accepts (engine.ts MAX_ID_LENGTH); longer is ENGINE_INVALID_ID. */
const MAX_ID = 128;
/** Longest owner the byte path keeps; a longer one hands the stream over to the string path. */
const MAX_OWNER = 128;
const BOOK = 0;
const Q_LIMIT = encodePiece('"limit"');
const Q_MARKET = encodePiece('"market"');
/** Reason codes as quoted pieces, made on first use (a handful of codes). */
const reasonPieces = new Map<string, Uint32Array>();
function reasonPiece(reason: string): Uint32Array {
  let k = reasonPieces.get(reason);
  if (k === undefined) {
    k = encodePiece(JSON.stringify(reason));
    reasonPieces.set(reason, k);
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
  /** Per pool slot: handle of the resting order whose id is in `ids` (-1 = none), its owner entry. */
  private slotHandle = new Int32Array(1024).fill(-1);
  private slotOwner = new Int32Array(1024);
  private readonly owners = new ByteKeys(MAX_OWNER);
  /** Per owner entry: engine owner id, orders holding it. */
  private ownerId = new Int32Array(1024).fill(-1);
  private ownerRefs = new Int32Array(1024);
  private ownerTop = 0;
  private freeOwners: number[] = [];
  /** The line being run: its buffer and 1-based number. */
  private buf: Uint8Array = new Uint8Array(0);
  private line = 0;

  constructor(engine: MatchingEngine, out: OutputBuffer) {
    this.engine = engine;
    this.out = out;
  }

  /** Runs the line just scanned by `scanSpans` (in `fastLine`, bytes in buf); false: not here (see class doc). */
  run(buf: Uint8Array, line: number): boolean {
    const f = fastLine;
    if (f.type !== FastType.cancel && f.ownerLen > MAX_OWNER) return false;
    this.buf = buf;
    this.line = line;
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
    else if (this.ids.find(buf, f.idStart, f.idLen) >= 0) engine.rejectOrder(BOOK, EngineCode.DUPLICATE_ID, ev);
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
    let o = this.owners.find(buf, s, n);
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
      this.owners.insert(o, buf, s, n);
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
    this.ids.insert(s, this.buf, fastLine.idStart, fastLine.idLen);
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

  private writeId(s: number): void {
    if (s >= 0) this.out.quoted(this.ids.arena, s * MAX_ID, this.ids.len[s]);
    else this.out.quoted(this.buf, fastLine.idStart, fastLine.idLen);
  }

  private writeRejected(reason: EngineCode, seq: number): void {
    const o = this.out;
    o.piece(K_REJECTED_ID);
    const f = fastLine;
    o.quoted(this.buf, f.idStart, f.idLen);
    o.piece(K_REASON);
    o.piece(reasonPiece(reason));
    o.piece(K_LINE);
    o.num(this.line);
    o.piece(K_SEQ);
    o.num(seq);
    o.piece(K_END);
  }

  /** Writes the EventBuffer's records as writeEvent would write the same events. */
  private writeRecords(): void {
    const ev = this.ev;
    const o = this.out;
    const f = fastLine;
    for (let i = 0; i < ev.count; i++) {
      switch (ev.kind[i]) {
        case EventKind.trade: {
          const m = this.resting(ev.order[i]);
          o.piece(K_TRADE_MAKER);
          this.writeId(m);
          o.piece(K_TAKER);
          o.quoted(this.buf, f.idStart, f.idLen);
          o.piece(K_PRICE);
          o.num(ev.price[i]);
          o.piece(K_QTY);
          o.num(ev.qty[i]);
          o.piece(ev.side[i] === 0 ? K_SIDE_BUY_MAKEROWNER : K_SIDE_SELL_MAKEROWNER);
          const mo = this.slotOwner[m];
          o.quoted(this.owners.arena, mo * MAX_OWNER, this.owners.len[mo]);
          o.piece(K_TAKEROWNER);
          o.quoted(this.buf, f.ownerStart, f.ownerLen);
          o.piece(K_MAKERLEFT);
          o.num(ev.left[i]);
          o.piece(K_TAKERLEFT);
          o.num(ev.takerLeft[i]);
          if (ev.left[i] === 0) this.finished(m);
          break;
        }
        case EventKind.accepted:
          o.piece(K_ACCEPTED_ID);
          o.quoted(this.buf, f.idStart, f.idLen);
          o.piece(K_OWNER);
          o.quoted(this.buf, f.ownerStart, f.ownerLen);
          o.piece(ev.side[i] === 0 ? K_SIDE_BUY_ORDERTYPE : K_SIDE_SELL_ORDERTYPE);
          o.piece(ev.flag[i] === OrderTypeCode.limit ? Q_LIMIT : Q_MARKET);
          o.piece(K_PRICE);
          o.num(ev.price[i]);
          o.piece(K_QTY);
          o.num(ev.qty[i]);
          break;
        case EventKind.cancelled: {
          const m = this.resting(ev.order[i]);
          o.piece(K_CANCELLED_ID);
          this.writeId(m);
          o.piece(K_QTY);
          o.num(ev.qty[i]);
          o.piece(K_LEFT);
          o.num(ev.left[i]);
          o.piece(K_REASON);
          o.piece(reasonPiece(ev.reason[i]));
          if (m >= 0 && ev.left[i] === 0) this.finished(m);
          break;
        }
        case EventKind.rejected:
          // writes its own K_SEQ / K_END
          this.writeRejected(ev.reason[i], ev.seq[i]);
          continue;
        case EventKind.l2:
          o.piece(ev.side[i] === 0 ? K_L2_SIDE_BUY_PRICE : K_L2_SIDE_SELL_PRICE);
          o.num(ev.price[i]);
          o.piece(K_QTY);
          o.num(ev.qty[i]);
          break;
        default:
          // amended / triggered need commands this path never runs
          throw new EngineFault(EngineFaultCode.UNEXPECTED_EVENT, `byte replay: unexpected event kind ${ev.kind[i]}`);
      }
      o.piece(K_SEQ);
      o.num(ev.seq[i]);
      o.piece(K_END);
    }
  }
}
