/**
 * Struct-of-arrays storage for orders and price levels, addressed by small
 * integer handles, with free lists: no object per order, no GC pressure from
 * the resting book. Prices and quantities live in Float64Array, which holds
 * every integer up to 2^53 exactly (the engine rejects anything larger).
 */

/** Order flags (bit set in `flags`). */
export const OrderFlag = {
  POST_ONLY: 1,
  ICEBERG: 2,
  STOP: 4,
  STOP_LIMIT: 8,
  /** Time in force: IOC / FOK (GTC when neither). */
  IOC: 16,
  FOK: 32,
  /** Placed through the string-id API: the client id is in `byId`. */
  INDEXED: 64,
} as const;

/** STP mode codes stored per order. */
export const StpCode = { cancelNewest: 0, cancelOldest: 1, cancelBoth: 2, decrement: 3 } as const;
export const STP_NAMES = ["cancelNewest", "cancelOldest", "cancelBoth", "decrement"] as const;

/** Owner table size below which unused owners are not swept (see sweepOwners). */
const OWNER_SWEEP_MIN = 4096;
const FORGOTTEN = 2;

export const BUY = 0;
export const SELL = 1;

/**
 * Public order handles pack the pool slot (low 24 bits) with the slot's
 * generation (7 bits), so a handle stays a positive small integer (no heap
 * number) and a stale handle (its order finished, the slot reused) is
 * recognised: the generation is odd while the slot is live and moves on at
 * every alloc and release (it wraps after 64 reuses of one slot).
 */
export const SLOT_BITS = 24;
export const SLOT_MASK = (1 << SLOT_BITS) - 1;
/** Returned by the numeric entry points for an order that did not stay live. */
export const NO_HANDLE = -1;

export class OrderPool {
  cap: number;
  /** Limit price (0 for market / stop-market). */
  price: Float64Array;
  /** Open quantity (iceberg: displayed slice only). */
  qty: Float64Array;
  /** Iceberg hidden reserve. */
  hidden: Float64Array;
  /** Iceberg displayed slice size (0 = not an iceberg). */
  peak: Float64Array;
  stopPrice: Float64Array;
  /** Engine-wide arrival number: orders stops and snapshots deterministically. */
  arrival: Float64Array;
  /** Level FIFO links (-1 = none). */
  next: Int32Array;
  prev: Int32Array;
  /** Per-owner list links, for cancelAll (-1 = none); orders placed through `apply` only. */
  oNext: Int32Array;
  oPrev: Int32Array;
  level: Int32Array;
  owner: Int32Array;
  /** Interned beneficial owner, -1 = none. */
  ben: Int32Array;
  book: Int32Array;
  side: Uint8Array;
  flags: Uint8Array;
  stp: Uint8Array;
  /** Slot generation (odd = live), see SLOT_BITS. */
  gen: Uint8Array;
  ids: string[];
  private free: Int32Array;
  private freeTop = 0;
  private top = 0;
  live = 0;

  /** id -> handle, for live (resting or stop) orders only. */
  readonly byId = new Map<string, number>();
  /** Owner interning (owner and beneficialOwner strings share one table). */
  readonly ownerNames: string[] = [];
  readonly ownerIndex = new Map<string, number>();
  /** Head of each owner's live-order list (-1 = none), indexed by owner id. */
  ownerHead: Int32Array = new Int32Array(1024).fill(-1);
  /** Live string-id orders naming each owner (as owner or beneficial owner), see holdOwners. */
  private ownerRefs: Int32Array = new Int32Array(1024);
  /** 1 = never forgotten (handed out by ownerIndex, or owner of a restored numeric-core order); FORGOTTEN = id free. */
  private ownerPinned: Uint8Array = new Uint8Array(1024);
  private sweepAt = OWNER_SWEEP_MIN;
  private freeOwners: Int32Array = new Int32Array(64);
  private freeOwnerTop = 0;

  constructor(cap = 1024) {
    this.cap = cap;
    this.price = new Float64Array(cap);
    this.qty = new Float64Array(cap);
    this.hidden = new Float64Array(cap);
    this.peak = new Float64Array(cap);
    this.stopPrice = new Float64Array(cap);
    this.arrival = new Float64Array(cap);
    this.next = new Int32Array(cap);
    this.prev = new Int32Array(cap);
    this.oNext = new Int32Array(cap);
    this.oPrev = new Int32Array(cap);
    this.level = new Int32Array(cap);
    this.owner = new Int32Array(cap);
    this.ben = new Int32Array(cap);
    this.book = new Int32Array(cap);
    this.side = new Uint8Array(cap);
    this.flags = new Uint8Array(cap);
    this.stp = new Uint8Array(cap);
    this.gen = new Uint8Array(cap);
    this.ids = new Array<string>(cap).fill("");
    this.free = new Int32Array(cap);
  }

  intern(name: string): number {
    let i = this.ownerIndex.get(name);
    if (i === undefined) {
      if (this.freeOwnerTop > 0) {
        i = this.freeOwners[--this.freeOwnerTop];
        this.ownerNames[i] = name;
        this.ownerPinned[i] = 0;
      } else {
        i = this.ownerNames.length;
        this.ownerNames.push(name);
        if (i >= this.ownerHead.length) this.growOwners();
      }
      this.ownerIndex.set(name, i);
    }
    return i;
  }

  /**
   * A fresh owner id with no name, pinned: for a caller that keeps its own owner table (the
   * byte-level replay) and only needs ids the numeric entry points accept. Never found by name.
   */
  anonymous(): number {
    const i = this.ownerNames.length;
    this.ownerNames.push("");
    if (i >= this.ownerHead.length) this.growOwners();
    this.ownerPinned[i] = 1;
    return i;
  }

  /** Keeps owner `i` interned for good: the numeric entry points hold owner ids. */
  pin(i: number): void {
    this.ownerPinned[i] = 1;
  }

  /** Counts a live string-id order (slot h) on its owner and beneficial owner. */
  holdOwners(h: number): void {
    this.ownerRefs[this.owner[h]]++;
    const b = this.ben[h];
    if (b >= 0) this.ownerRefs[b]++;
  }

  /**
   * Forgets the owners no live string-id order names any more (and that were never pinned),
   * so a stream of one-off owners keeps the table near the size of the book. Run only when
   * the table has doubled since the last sweep (amortised O(1) per owner, and an owner whose
   * orders come and go is not deleted and re-added each time), and only between commands
   * (from `place`, before the command's own owners are interned): a forgotten name stays
   * readable until a later `intern` reuses its id.
   */
  sweepOwners(): void {
    const n = this.ownerNames.length - this.freeOwnerTop;
    if (n < this.sweepAt) return;
    const refs = this.ownerRefs;
    const pinned = this.ownerPinned;
    for (let i = 0; i < this.ownerNames.length; i++) {
      if (refs[i] !== 0 || pinned[i] !== 0) continue;
      pinned[i] = FORGOTTEN;
      this.ownerIndex.delete(this.ownerNames[i]);
      if (this.freeOwnerTop === this.freeOwners.length) {
        const f = new Int32Array(this.freeOwners.length * 2);
        f.set(this.freeOwners);
        this.freeOwners = f;
      }
      this.freeOwners[this.freeOwnerTop++] = i;
    }
    this.sweepAt = Math.max(OWNER_SWEEP_MIN, 2 * (this.ownerNames.length - this.freeOwnerTop));
  }

  private growOwners(): void {
    const n = this.ownerHead.length * 2;
    const h = new Int32Array(n).fill(-1);
    h.set(this.ownerHead);
    this.ownerHead = h;
    const r = new Int32Array(n);
    r.set(this.ownerRefs);
    this.ownerRefs = r;
    const p = new Uint8Array(n);
    p.set(this.ownerPinned);
    this.ownerPinned = p;
  }

  alloc(): number {
    this.live++;
    const h = this.freeTop > 0 ? this.free[--this.freeTop] : this.top === this.cap ? this.grow() : this.top++;
    this.gen[h] = (this.gen[h] + 1) & 0x7f;
    return h;
  }

  release(h: number): void {
    this.live--;
    if (this.flags[h] & OrderFlag.INDEXED) this.releaseOwners(h);
    this.gen[h] = (this.gen[h] + 1) & 0x7f;
    this.ids[h] = "";
    this.free[this.freeTop++] = h;
  }

  private releaseOwners(h: number): void {
    this.ownerRefs[this.owner[h]]--;
    if (this.ben[h] >= 0) this.ownerRefs[this.ben[h]]--;
  }

  /** Public handle of live slot h. */
  handle(h: number): number {
    return (this.gen[h] << SLOT_BITS) | h;
  }

  /** Slot of a public handle if it names a live order, else -1. */
  slotOf(handle: number): number {
    if (!(handle >= 0 && handle <= 0x7fffffff) || handle !== (handle | 0)) return -1;
    const h = handle & SLOT_MASK;
    const g = handle >>> SLOT_BITS;
    return h < this.top && this.gen[h] === g && (g & 1) === 1 ? h : -1;
  }

  /**
   * Puts a live order in the client-id index and its owner's list (for cancelAll) if it came
   * through the string-id API; orders of the numeric entry points are in neither (their caller
   * holds the handles). Only the flag test is here and the work out of line: this and `untrack`
   * and `release` run on every order inside the hot paths, and V8 inlines by bytecode size.
   */
  track(h: number): void {
    if (this.flags[h] & OrderFlag.INDEXED) this.trackIndexed(h);
  }

  /** Takes a live order out of the client-id index and its owner's list (see `track`). */
  untrack(h: number): void {
    if (this.flags[h] & OrderFlag.INDEXED) this.untrackIndexed(h);
  }

  private trackIndexed(h: number): void {
    this.byId.set(this.ids[h], h);
    const o = this.owner[h];
    const head = this.ownerHead[o];
    this.oPrev[h] = -1;
    this.oNext[h] = head;
    if (head >= 0) this.oPrev[head] = h;
    this.ownerHead[o] = h;
  }

  private untrackIndexed(h: number): void {
    this.byId.delete(this.ids[h]);
    const p = this.oPrev[h];
    const n = this.oNext[h];
    if (p >= 0) this.oNext[p] = n;
    else this.ownerHead[this.owner[h]] = n;
    if (n >= 0) this.oPrev[n] = p;
  }

  /** Doubles the arrays; returns the next fresh slot. */
  private grow(): number {
    const cap = this.cap * 2;
    if (cap > SLOT_MASK + 1) throw new RangeError(`order pool full: more than ${SLOT_MASK + 1} live orders`);
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    const u8 = (a: Uint8Array) => {
      const b = new Uint8Array(cap);
      b.set(a);
      return b;
    };
    this.price = f64(this.price);
    this.qty = f64(this.qty);
    this.hidden = f64(this.hidden);
    this.peak = f64(this.peak);
    this.stopPrice = f64(this.stopPrice);
    this.arrival = f64(this.arrival);
    this.next = i32(this.next);
    this.prev = i32(this.prev);
    this.oNext = i32(this.oNext);
    this.oPrev = i32(this.oPrev);
    this.level = i32(this.level);
    this.owner = i32(this.owner);
    this.ben = i32(this.ben);
    this.book = i32(this.book);
    this.side = u8(this.side);
    this.flags = u8(this.flags);
    this.stp = u8(this.stp);
    this.gen = u8(this.gen);
    this.free = i32(this.free);
    for (let i = this.cap; i < cap; i++) this.ids.push("");
    this.cap = cap;
    return this.top++;
  }
}

/** Price levels: FIFO head/tail, aggregated displayed qty, order count. */
export class LevelPool {
  cap: number;
  price: Float64Array;
  qty: Float64Array;
  head: Int32Array;
  tail: Int32Array;
  count: Int32Array;
  private free: Int32Array;
  private freeTop = 0;
  private top = 0;

  constructor(cap = 256) {
    this.cap = cap;
    this.price = new Float64Array(cap);
    this.qty = new Float64Array(cap);
    this.head = new Int32Array(cap);
    this.tail = new Int32Array(cap);
    this.count = new Int32Array(cap);
    this.free = new Int32Array(cap);
  }

  alloc(price: number): number {
    let l: number;
    if (this.freeTop > 0) l = this.free[--this.freeTop];
    else {
      if (this.top === this.cap) this.grow();
      l = this.top++;
    }
    this.price[l] = price;
    this.qty[l] = 0;
    this.head[l] = -1;
    this.tail[l] = -1;
    this.count[l] = 0;
    return l;
  }

  release(l: number): void {
    this.free[this.freeTop++] = l;
  }

  private grow(): void {
    const cap = this.cap * 2;
    const p = new Float64Array(cap);
    p.set(this.price);
    this.price = p;
    const q = new Float64Array(cap);
    q.set(this.qty);
    this.qty = q;
    const h = new Int32Array(cap);
    h.set(this.head);
    this.head = h;
    const t = new Int32Array(cap);
    t.set(this.tail);
    this.tail = t;
    const c = new Int32Array(cap);
    c.set(this.count);
    this.count = c;
    const f = new Int32Array(cap);
    f.set(this.free);
    this.free = f;
    this.cap = cap;
  }
}
