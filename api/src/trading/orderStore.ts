import { formValue, keepText, type Form, type KeptText } from "../journal/jsonCodec.ts";
import { CaptureCache, copyOrder, sameOrder } from "./captureCache.ts";
import type { Order } from "../records/orders.ts";

export type SnapshotOrder = Omit<Order, "funds" | "dealFunds" | "fee" | "feeBasis" | "holdRemaining"> & Record<"funds" | "dealFunds" | "fee" | "feeBasis" | "holdRemaining", string>;

/** The order store's part of a trading core snapshot (see TradingCoreSnapshot for the whole). */
export type OrderStoreSnapshot = {
  /**
   * Every retained order: the open ones in placement order, then the finished ones in the order
   * they finished (older snapshots: all in placement order). Restore puts them back in placement
   * order (by id: ids are a counter), which waiting stops are rebuilt from in trigger order.
   * A capture holds the finished ones as their kept text (decoded, every one is a SnapshotOrder).
   */
  orders: Array<Form<SnapshotOrder>>;
  /** `order`: the highest order id seen (ids are that counter in hex). */
  counters: { order: number };
  /** Finished orders in the order they finished: the eviction queue (absent in older snapshots). */
  finished?: string[];
};

/**
 * Every order the trading API can still show: open ones, and finished ones for the retention
 * (KuCoin's order list covers the last 7 days; older ones live in the audit trail), indexed by
 * id, by client oid and by account. Orders are the core's live records: the core changes their
 * fields as the engine reports, and tells the store when one is placed and when it ends.
 */
export class OrderStore {
  /** Every retained order by id. The core reads it directly on every engine event (hot path). */
  readonly byId = new Map<string, Order>();
  /** accountId -> clientOid -> orderId (two levels: a joined key was a new string to build and hash twice per order). */
  readonly #clientOids = new Map<string, Map<string, string>>();
  readonly #openByAccount = new Map<string, Set<string>>();
  /**
   * Every retained order of an account, in placement order: an id is pushed when its order is
   * placed, and one dropped after the retention stays in the list (it is no longer in byId)
   * until dead ids outnumber `live` ones and the list is compacted. An array push instead of
   * a third large hash table written per order (the store's add was its costliest line).
   */
  readonly #byAccount = new Map<string, { ids: string[]; live: number }>();
  /** Open orders in placement order. */
  readonly #openIds = new Set<string>();
  /** Finished orders in finishing order, from #finishedHead on: the next to be dropped first. */
  #finished: string[] = [];
  #finishedHead = 0;
  /**
   * Snapshot forms of the finished orders, index for index with #finished (made ahead of the
   * capture by formAhead, or by the first capture that sees them, up to #finished.length). A
   * finished order never changes again (it is frozen when it ends, so a write would throw
   * rather than leave this form stale): a capture reuses these without looking at the orders,
   * whatever their number. Each is kept as its text alone: the store holds the order itself
   * already (see KeptText for what a second object cost).
   */
  #finishedForms: Array<KeptText<SnapshotOrder>> = [];
  /** Measured in record time, so live apply and replay drop the same orders at the same record. */
  readonly #retentionMs: number;
  #counter = 0;
  /** Snapshot forms from earlier captures, reused while an order is unchanged. */
  readonly #forms = new CaptureCache<Order, SnapshotOrder>(sameOrder, copyOrder);

  constructor(retentionMs: number) {
    this.#retentionMs = retentionMs;
  }

  byClientOid(accountId: string, clientOid: string): Order | undefined {
    const id = this.#clientOids.get(accountId)?.get(clientOid);
    return id === undefined ? undefined : this.byId.get(id);
  }

  /** An account's retained orders, newest first. */
  accountOrders(accountId: string): Order[] {
    const ids = this.#byAccount.get(accountId)?.ids;
    if (!ids) return [];
    const out: Order[] = [];
    for (let i = ids.length - 1; i >= 0; i--) {
      const o = this.byId.get(ids[i]);
      if (o !== undefined) out.push(o);
    }
    return out;
  }

  openIds(accountId: string): ReadonlySet<string> {
    return this.#openByAccount.get(accountId) ?? new Set();
  }

  /** The id the next order gets. */
  nextOrderId(): string {
    return (this.#counter + 1).toString(16).padStart(24, "0");
  }

  /** An order id was journaled: later ids follow it, whether or not the order is accepted. */
  sawOrderId(orderId: string): void {
    const n = Number.parseInt(orderId, 16);
    // Ids the service makes are hex counters; any other (a test's, an import's) never moves it.
    if (n > this.#counter) this.#counter = n;
  }

  /** An accepted order: open from now on. */
  add(o: Order): void {
    this.byId.set(o.orderId, o);
    this.#openIds.add(o.orderId);
    this.#oidsOf(o.accountId).set(o.clientOid, o.orderId);
    this.#open(o.accountId).add(o.orderId);
    this.#placed(o.accountId, o.orderId);
  }

  /** An order that ended (filled, cancelled or rejected): no longer open, dropped after the retention. */
  ended(o: Order): void {
    this.#open(o.accountId).delete(o.orderId);
    this.#openIds.delete(o.orderId);
    this.#finished.push(o.orderId);
    freezeOrder(o);
  }

  /** Forgets finished orders older than the retention at `now` (the audit trail keeps them). */
  dropExpired(now: number): void {
    const cutoff = now - this.#retentionMs;
    const q = this.#finished;
    let h = this.#finishedHead;
    while (h < q.length) {
      const o = this.byId.get(q[h]);
      if (o && o.updatedAt > cutoff) break;
      h++;
      if (!o) continue;
      this.byId.delete(o.orderId);
      const oids = this.#clientOids.get(o.accountId);
      if (oids?.get(o.clientOid) === o.orderId) {
        oids.delete(o.clientOid);
        if (oids.size === 0) this.#clientOids.delete(o.accountId);
      }
      const mine = this.#byAccount.get(o.accountId);
      if (mine === undefined) continue;
      if (--mine.live === 0) this.#byAccount.delete(o.accountId);
      else if (mine.ids.length > 64 && mine.live * 2 < mine.ids.length) mine.ids = mine.ids.filter((id) => this.byId.has(id));
    }
    // Compact now and then so the queue's array does not keep every id ever finished.
    if (h > 4096 && h * 2 > q.length) {
      this.#finished = q.slice(h);
      this.#finishedForms = this.#finishedForms.slice(h);
      h = 0;
    }
    this.#finishedHead = h;
  }

  get orderCounter(): number {
    return this.#counter;
  }

  /**
   * Retained orders, open ones first (placement order), then finished ones (finishing order).
   * Incremental unless `full`: an open order unchanged since the last capture keeps its form
   * (see CaptureCache); a finished order's form is made once, so a capture costs what the open
   * orders and the orders finished since the last one cost, not every retained order.
   */
  snapshotOrders(full: boolean): Array<Form<SnapshotOrder>> {
    const open: Array<Form<SnapshotOrder>> = [];
    const forms = this.#forms;
    forms.begin();
    for (const id of this.#openIds) {
      const o = this.byId.get(id)!;
      open.push(full ? orderForm(o) : forms.form(o, orderForm));
    }
    const q = this.#finished;
    const h = this.#finishedHead;
    if (full) {
      for (let i = h; i < q.length; i++) open.push(orderForm(this.byId.get(q[i])!));
      return open;
    }
    const made = this.#formFinished(q.length);
    return open.concat(h === 0 ? made : made.slice(h));
  }

  /**
   * Makes up to `budget` forms of the finished orders still without one while more than `keep`
   * wait: a capture then makes at most about `keep`, however many orders finished since the
   * last one. Returns how many it made.
   */
  formAhead(keep: number, budget: number): number {
    const from = Math.max(this.#finishedForms.length, this.#finishedHead);
    const until = Math.min(this.#finished.length - keep, from + budget);
    if (from >= until) return 0;
    this.#formFinished(until);
    return until - from;
  }

  /** #finishedForms made up to index `until` of #finished. */
  #formFinished(until: number): Array<KeptText<SnapshotOrder>> {
    const q = this.#finished;
    const h = this.#finishedHead;
    const made = this.#finishedForms;
    // Forms of orders dropped before any capture saw them are never made: placeholders keep the index.
    for (let i = made.length; i < h; i++) made.push(undefined as never);
    for (let i = Math.max(made.length, h); i < until; i++) made.push(keepText(orderForm(this.byId.get(q[i])!)));
    return made;
  }

  snapshotFinished(): string[] {
    return this.#finished.slice(this.#finishedHead);
  }

  restore(s: OrderStoreSnapshot): void {
    const orders: Order[] = s.orders.map(formValue).map((so) => ({
      ...so,
      // Its own copy: a snapshot taken in memory shares its forms' (frozen) stop, which a trigger mutates.
      stop: so.stop ? { ...so.stop } : undefined,
      funds: BigInt(so.funds),
      dealFunds: BigInt(so.dealFunds),
      fee: BigInt(so.fee),
      feeBasis: BigInt(so.feeBasis),
      holdRemaining: BigInt(so.holdRemaining),
    }));
    // Placement order, whatever order the snapshot lists them in: ids are a counter (fixed-width
    // hex here; a prefix and a number in tests), so a shorter id is older, then the lower one.
    orders.sort((a, b) => a.orderId.length - b.orderId.length || (a.orderId < b.orderId ? -1 : a.orderId > b.orderId ? 1 : 0));
    for (const o of orders) {
      this.byId.set(o.orderId, o);
      this.#oidsOf(o.accountId).set(o.clientOid, o.orderId);
      this.#placed(o.accountId, o.orderId);
      if (o.isActive) {
        this.#open(o.accountId).add(o.orderId);
        this.#openIds.add(o.orderId);
      }
    }
    // Snapshots from before retention existed: finished orders in the order they finished. An
    // inactive order the list misses is queued after it, so no retained order is left out.
    const listed = s.finished?.filter((id) => this.byId.has(id)) ?? [];
    const inList = new Set(listed);
    const rest = orders.filter((o) => !o.isActive && !inList.has(o.orderId)).sort((a, b) => a.updatedAt - b.updatedAt);
    this.#finished = [...listed, ...rest.map((o) => o.orderId)];
    for (const id of this.#finished) freezeOrder(this.byId.get(id)!);
    this.#finishedForms = [];
    this.#finishedHead = 0;
    this.#counter = s.counters.order;
  }

  #oidsOf(accountId: string): Map<string, string> {
    let oids = this.#clientOids.get(accountId);
    if (oids === undefined) {
      oids = new Map();
      this.#clientOids.set(accountId, oids);
    }
    return oids;
  }

  #open(accountId: string): Set<string> {
    let set = this.#openByAccount.get(accountId);
    if (set === undefined) {
      set = new Set();
      this.#openByAccount.set(accountId, set);
    }
    return set;
  }

  #placed(accountId: string, orderId: string): void {
    const mine = this.#byAccount.get(accountId);
    if (mine === undefined) this.#byAccount.set(accountId, { ids: [orderId], live: 1 });
    else {
      mine.ids.push(orderId);
      mine.live++;
    }
  }
}

/** A finished order's record is final: frozen, so a stray write throws instead of going unsaved. */
function freezeOrder(o: Order): void {
  if (o.stop) Object.freeze(o.stop);
  Object.freeze(o);
}

function orderForm(o: Order): SnapshotOrder {
  return {
    ...o,
    // Its own copy: the state is captured now and saved later, while a trigger mutates the live one.
    stop: o.stop ? { ...o.stop } : undefined,
    funds: o.funds.toString(),
    dealFunds: o.dealFunds.toString(),
    fee: o.fee.toString(),
    feeBasis: o.feeBasis.toString(),
    holdRemaining: o.holdRemaining.toString(),
  };
}
