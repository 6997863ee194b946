import type { Side, StpMode } from "./command.ts";
import type { SymbolConfig } from "./symbolConfig.ts";

export const SNAPSHOT_VERSION = 1;

/** One live order. Numbers are safe integers; JSON-serialisable as is. */
export interface OrderSnapshot {
  id: string;
  owner: string;
  beneficialOwner: string | null;
  side: Side;
  /** Limit price (0 for a stop-market). */
  price: number;
  /** Displayed open qty (stops: ordered qty). */
  qty: number;
  /** Iceberg hidden reserve. */
  hidden: number;
  /** Iceberg slice size, 0 if not an iceberg. */
  peak: number;
  stopPrice: number;
  /** OrderFlag bits (post-only, iceberg, stop, stop-limit, IOC, FOK). */
  flags: number;
  stp: StpMode;
  arrival: number;
}

export interface BookSnapshot {
  config: Required<Omit<SymbolConfig, "bandTicks" | "bandBps">> & { bandTicks: number | null; bandBps: number | null };
  seq: number;
  lastPrice: number;
  /** Resting orders: bids best to worst, then asks best to worst, FIFO within a level. */
  orders: OrderSnapshot[];
  /** Stop orders in arrival order. */
  stops: OrderSnapshot[];
}

export interface EngineSnapshot {
  version: typeof SNAPSHOT_VERSION;
  /** Next arrival number. */
  arrival: number;
  l2: boolean;
  books: BookSnapshot[];
}

/** The best level of each side (price and displayed qty; 0 and 0 for an empty side) at book sequence `seq`. */
export interface TopOfBook {
  bid: number;
  bidQty: number;
  ask: number;
  askQty: number;
  seq: number;
}

/** Aggregated depth; `seq` is the book sequence the picture belongs to. */
export interface L2Snapshot {
  symbol: string;
  seq: number;
  /** [price, displayed qty], best first. */
  bids: [number, number][];
  asks: [number, number][];
}
