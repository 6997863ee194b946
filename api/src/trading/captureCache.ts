import { keepEncoded } from "../journal/jsonCodec.ts";
import type { Order } from "../records/orders.ts";

/**
 * Snapshot forms of open orders, reused while the order is unchanged, so a state capture
 * converts (bigints to strings, copies) only the open orders that changed since the last
 * capture. (Finished orders, fills and unsettled trades need no comparing: their owners know
 * when they change, see orderStore.ts, fillHistory.ts and settlementBook.ts.)
 *
 * "Unchanged" is checked, not tracked: an open order is changed in many places of the core, so
 * the cache keeps a copy of the order as it was when its form was made and compares every
 * field, and no mutation site has to remember to mark anything dirty. The comparator is
 * written out (a generic for-in compare cost more than building the forms afresh); the key
 * table below makes the compiler reject a field added to `Order` until it is listed here, and
 * `captureCache.test.ts` changes each listed field in turn and expects a new form. The forms
 * handed out are shared between captures and deep-frozen: the snapshot store encodes each one
 * once (journal/jsonCodec.ts keepEncoded) and reuses that text in later snapshots.
 */
export class CaptureCache<T extends object, S extends object> {
  #seen = new WeakMap<T, { from: T; form: S }>();
  readonly #same: (a: T, b: T) => boolean;
  readonly #copy: (a: T) => T;
  /** What the last capture did: forms reused, and made anew. */
  reused = 0;
  made = 0;

  constructor(same: (a: T, b: T) => boolean, copy: (a: T) => T) {
    this.#same = same;
    this.#copy = copy;
  }

  /** Starts a capture (resets the counters). */
  begin(): void {
    this.reused = 0;
    this.made = 0;
  }

  form(record: T, make: (record: T) => S): S {
    const c = this.#seen.get(record);
    if (c !== undefined && this.#same(record, c.from)) {
      this.reused++;
      return c.form;
    }
    this.made++;
    const form = keepEncoded(make(record));
    this.#seen.set(record, { from: this.#copy(record), form });
    return form;
  }
}

/** Every field of Order, compared by sameOrder (the compiler keeps this list complete). */
export const ORDER_FIELDS = {
  orderId: 1,
  clientOid: 1,
  accountId: 1,
  identityHash: 1,
  symbol: 1,
  side: 1,
  type: 1,
  price: 1,
  size: 1,
  funds: 1,
  tif: 1,
  postOnly: 1,
  visibleSize: 1,
  stp: 1,
  stop: 1,
  createdAt: 1,
  updatedAt: 1,
  isActive: 1,
  cancelExist: 1,
  doneReason: 1,
  dealSize: 1,
  dealFunds: 1,
  fee: 1,
  feeBasis: 1,
  holdCurrency: 1,
  holdRemaining: 1,
  apiKeyId: 1,
} as const satisfies Record<keyof Order, 1>;

/** Every field of an order's stop. */
export const STOP_FIELDS = { stopPrice: 1, kind: 1, triggered: 1, triggeredAt: 1 } as const satisfies Record<keyof NonNullable<Order["stop"]>, 1>;

export function sameOrder(a: Order, b: Order): boolean {
  return (
    a.updatedAt === b.updatedAt &&
    a.isActive === b.isActive &&
    a.dealSize === b.dealSize &&
    a.dealFunds === b.dealFunds &&
    a.fee === b.fee &&
    a.feeBasis === b.feeBasis &&
    a.holdRemaining === b.holdRemaining &&
    a.price === b.price &&
    a.size === b.size &&
    a.funds === b.funds &&
    a.cancelExist === b.cancelExist &&
    a.doneReason === b.doneReason &&
    a.type === b.type &&
    a.visibleSize === b.visibleSize &&
    a.tif === b.tif &&
    a.postOnly === b.postOnly &&
    a.stp === b.stp &&
    a.side === b.side &&
    a.orderId === b.orderId &&
    a.clientOid === b.clientOid &&
    a.accountId === b.accountId &&
    a.identityHash === b.identityHash &&
    a.symbol === b.symbol &&
    a.createdAt === b.createdAt &&
    a.holdCurrency === b.holdCurrency &&
    a.apiKeyId === b.apiKeyId &&
    sameStop(a.stop, b.stop)
  );
}

function sameStop(a: Order["stop"], b: Order["stop"]): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.stopPrice === b.stopPrice && a.kind === b.kind && a.triggered === b.triggered && a.triggeredAt === b.triggeredAt;
}

/** A copy for sameOrder to compare against later (the stop is an object of its own, mutated in place). */
export function copyOrder(o: Order): Order {
  return { ...o, stop: o.stop ? { ...o.stop } : undefined };
}
