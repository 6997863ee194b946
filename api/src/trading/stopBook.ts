import { isWaitingStop, type Order } from "../records/orders.ts";
import type { WaitingStops, WaitingStopsFactory } from "./waitingStops.ts";

/**
 * Stop orders waiting for their trigger, per symbol, indexed by stop price and acceptance (of
 * those the last price meets, the earliest accepted is triggered first), and the symbols whose
 * stops must be looked at before the current apply ends. The engine never sees a stop before it
 * triggers: the core triggers it with KuCoin's loss/entry rule, then places it as an ordinary
 * order under the same id. Not in snapshots: rebuilt from the waiting orders.
 */
export class StopBook {
  readonly #bySymbol = new Map<string, WaitingStops>();
  readonly #make: WaitingStopsFactory;
  /** Symbols that traded (or got a stop) in this apply: their stops are checked before it ends. */
  readonly #dirty = new Set<string>();

  constructor(make: WaitingStopsFactory) {
    this.#make = make;
  }

  /** A stop order starts waiting, behind every stop of its symbol already waiting. */
  add(o: Readonly<Order>): void {
    let waiting = this.#bySymbol.get(o.symbol);
    if (waiting === undefined) {
      waiting = this.#make();
      this.#bySymbol.set(o.symbol, waiting);
    }
    waiting.add(o.orderId, o.stop!);
  }

  /** A waiting stop cancelled. */
  remove(o: Readonly<Order>): void {
    this.#bySymbol.get(o.symbol)?.delete(o.orderId);
  }

  /** The symbol's stops are checked against its last price before this apply ends. */
  check(symbol: string): void {
    this.#dirty.add(symbol);
  }

  /** The symbol traded: its stops, if it has any waiting, are checked. */
  traded(symbol: string): void {
    if (this.#bySymbol.get(symbol)?.size) this.#dirty.add(symbol);
  }

  /** The next symbol to check (it is taken off the list), or undefined when none is left. */
  nextToCheck(): string | undefined {
    if (this.#dirty.size === 0) return undefined;
    const symbol = this.#dirty.values().next().value!;
    this.#dirty.delete(symbol);
    return symbol;
  }

  waiting(symbol: string): WaitingStops | undefined {
    return this.#bySymbol.get(symbol);
  }

  /** After a restore: `orders` in placement order, so the stops keep their trigger order. */
  rebuild(orders: Iterable<Readonly<Order>>): void {
    for (const o of orders) if (o.isActive && isWaitingStop(o)) this.add(o);
  }
}
