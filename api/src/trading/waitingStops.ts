/**
 * One symbol's stop orders waiting for their trigger. `next` answers KuCoin's rule: of the stops
 * whose condition the last price meets ("loss": last <= stopPrice, "entry": last >= stopPrice),
 * the one accepted first.
 */
export interface WaitingStops {
  readonly size: number;
  /** Adds a stop after every stop already waiting; one already waiting keeps its place. */
  add(orderId: string, stop: { stopPrice: number; kind: "loss" | "entry" }): void;
  delete(orderId: string): void;
  next(lastPrice: number): string | undefined;
}

export type WaitingStopsFactory = () => WaitingStops;

type Node = {
  price: number;
  seq: number;
  orderId: string;
  prio: number;
  left: Node | null;
  right: Node | null;
  /** The node of this subtree accepted first. */
  first: Node;
};

/**
 * Each kind in a treap ordered by (stopPrice, acceptance); every node knows its subtree's
 * earliest stop. The stops a price meets are a prefix (entry) or a suffix (loss) of that order,
 * so the earliest of them is found in O(log n) instead of scanning every waiting stop, which
 * made a cascade through n stops O(n²). Priorities come from a hash of the acceptance number:
 * the shape is the same on every replay, and the answer does not depend on the shape anyway.
 */
export class IndexedWaitingStops implements WaitingStops {
  #loss: Node | null = null;
  #entry: Node | null = null;
  readonly #nodes = new Map<string, { node: Node; kind: "loss" | "entry" }>();
  #seq = 0;

  get size(): number {
    return this.#nodes.size;
  }

  add(orderId: string, stop: { stopPrice: number; kind: "loss" | "entry" }): void {
    const had = this.#nodes.get(orderId);
    const seq = had ? had.node.seq : ++this.#seq;
    if (had) this.delete(orderId);
    const node: Node = { price: stop.stopPrice, seq, orderId, prio: mix(seq), left: null, right: null, first: null! };
    node.first = node;
    const kind = stop.kind === "loss" ? "loss" : "entry";
    this.#nodes.set(orderId, { node, kind });
    if (kind === "loss") this.#loss = insert(this.#loss, node);
    else this.#entry = insert(this.#entry, node);
  }

  delete(orderId: string): void {
    const had = this.#nodes.get(orderId);
    if (!had) return;
    this.#nodes.delete(orderId);
    if (had.kind === "loss") this.#loss = remove(this.#loss, had.node);
    else this.#entry = remove(this.#entry, had.node);
  }

  next(lastPrice: number): string | undefined {
    const loss = firstAtOrAbove(this.#loss, lastPrice);
    const entry = firstAtOrBelow(this.#entry, lastPrice);
    if (!loss) return entry?.orderId;
    if (!entry) return loss.orderId;
    return loss.seq < entry.seq ? loss.orderId : entry.orderId;
  }
}

export const indexedWaitingStops: WaitingStopsFactory = () => new IndexedWaitingStops();

/** A 32-bit avalanche of the acceptance number (no random source in the core). */
function mix(n: number): number {
  let h = Math.imul(n ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const before = (a: Node, price: number, seq: number) => a.price < price || (a.price === price && a.seq < seq);

function earlier(a: Node | null | undefined, b: Node | null | undefined): Node | null {
  if (!a) return b ?? null;
  if (!b) return a;
  return a.seq < b.seq ? a : b;
}

function update(n: Node): Node {
  let f = n;
  if (n.left && n.left.first.seq < f.seq) f = n.left.first;
  if (n.right && n.right.first.seq < f.seq) f = n.right.first;
  n.first = f;
  return n;
}

/** [nodes before (price, seq), nodes from it on]. */
function split(t: Node | null, price: number, seq: number): [Node | null, Node | null] {
  if (!t) return [null, null];
  if (before(t, price, seq)) {
    const [l, r] = split(t.right, price, seq);
    t.right = l;
    return [update(t), r];
  }
  const [l, r] = split(t.left, price, seq);
  t.left = r;
  return [l, update(t)];
}

function merge(a: Node | null, b: Node | null): Node | null {
  if (!a) return b;
  if (!b) return a;
  if (a.prio > b.prio) {
    a.right = merge(a.right, b);
    return update(a);
  }
  b.left = merge(a, b.left);
  return update(b);
}

function insert(t: Node | null, n: Node): Node | null {
  const [l, r] = split(t, n.price, n.seq);
  return merge(merge(l, n), r);
}

function remove(t: Node | null, n: Node): Node | null {
  const [l, rest] = split(t, n.price, n.seq);
  const [, r] = split(rest, n.price, n.seq + 1);
  return merge(l, r);
}

/** The earliest stop with stopPrice >= price (loss stops the price meets). */
function firstAtOrAbove(t: Node | null, price: number): Node | null {
  let best: Node | null = null;
  while (t) {
    if (t.price >= price) {
      best = earlier(earlier(best, t), t.right?.first);
      t = t.left;
    } else t = t.right;
  }
  return best;
}

/** The earliest stop with stopPrice <= price (entry stops the price meets). */
function firstAtOrBelow(t: Node | null, price: number): Node | null {
  let best: Node | null = null;
  while (t) {
    if (t.price <= price) {
      best = earlier(earlier(best, t), t.left?.first);
      t = t.right;
    } else t = t.left;
  }
  return best;
}
