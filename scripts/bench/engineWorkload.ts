/**
 * Seeded workload for the matching-engine benchmark (and the replay timing):
 * mulberry32(seed), 70% limit / 20% cancel of a random resting order /
 * 10% market, qty 1..100, prices around `center`. The price offset adapts
 * to the current depth so the book stays near `targetDepth` resting orders
 * per symbol: buys are priced at center - k and sells at center + k with
 * k uniform in [-halfSpread, halfSpread] shifted by a gap that grows when the
 * book is thin (fewer crossings) and shrinks when it is deep (more).
 * The generator tracks the resting orders by running Sen's engine untimed;
 * the timed runs then feed the identical command array to each engine.
 * Owners: buyers "b*", sellers "s*", so no order can meet its own owner
 * (no STP action, same trades in both engines); 997 per side, or one per
 * order with `ownerPerOrder` (the replay's many-owner, many-id workload).
 */
import type { Command } from "../../matching-engine/src/command.ts";
import { MatchingEngine } from "../../matching-engine/src/engine.ts";
import { mulberry32 } from "../../api/test/support/mulberry32.ts";

export interface WorkloadOptions {
  commands: number;
  seed?: number;
  symbols?: number;
  targetDepth?: number;
  center?: number;
  halfSpread?: number;
  /** Every order gets an owner of its own ("b<n>" / "s<n>") instead of one of 997 per side. */
  ownerPerOrder?: boolean;
}

export interface Workload {
  commands: Command[];
  /** Average resting orders per symbol over the run (sampled). */
  meanDepth: number;
  counts: { limit: number; cancel: number; market: number };
}

export function symbolName(i: number): string {
  return `SYM${i}`;
}

export function generateWorkload(o: WorkloadOptions): Workload {
  const rng = mulberry32(o.seed ?? 42);
  const nSym = o.symbols ?? 1;
  const target = o.targetDepth ?? 5000;
  const center = o.center ?? 10_000;
  const w = o.halfSpread ?? 50;
  const names = Array.from({ length: nSym }, (_, i) => symbolName(i));
  const engine = new MatchingEngine({ symbols: names.map((symbol) => ({ symbol })) });
  // resting ids per symbol: array + index map for O(1) random pick and removal
  const live = names.map(() => ({ ids: [] as string[], at: new Map<string, number>() }));
  const drop = (s: number, id: string) => {
    const L = live[s];
    const i = L.at.get(id);
    if (i === undefined) return;
    const last = L.ids.pop() as string;
    L.at.delete(id);
    if (last !== id) {
      L.ids[i] = last;
      L.at.set(last, i);
    }
  };
  let cur = 0;
  const sink = (e: { type: string; maker?: string; makerLeft?: number }) => {
    if (e.type === "trade" && e.makerLeft === 0) drop(cur, e.maker as string);
  };
  const out: Command[] = new Array(o.commands);
  const counts = { limit: 0, cancel: 0, market: 0 };
  let depthSum = 0;
  let depthN = 0;
  for (let n = 0; n < o.commands; n++) {
    const s = nSym === 1 ? 0 : Math.floor(rng() * nSym);
    cur = s;
    const symbol = nSym === 1 ? undefined : names[s];
    const L = live[s];
    const r = rng();
    const buy = rng() < 0.5;
    const qty = 1 + Math.floor(rng() * 100);
    const owner = (buy ? "b" : "s") + (o.ownerPerOrder ? n : n % 997);
    let cmd: Command;
    if (r < 0.2 && L.ids.length > 0) {
      const id = L.ids[Math.floor(rng() * L.ids.length)];
      cmd = { type: "cancel", id };
      counts.cancel++;
      engine.apply(cmd, sink);
      drop(s, id);
    } else if (r >= 0.2 && r < 0.3) {
      cmd = symbol === undefined ? { type: "market", id: `m${n}`, owner, side: buy ? "buy" : "sell", qty } : { type: "market", symbol, id: `m${n}`, owner, side: buy ? "buy" : "sell", qty };
      counts.market++;
      engine.apply(cmd, sink);
    } else {
      const depth = L.ids.length;
      const gap = Math.max(-w, Math.min(2 * w, Math.round((2 * w * (target - depth)) / target)));
      const k = Math.floor(rng() * (2 * w + 1)) - w + gap;
      const price = Math.max(1, buy ? center - k : center + k);
      const id = `o${n}`;
      cmd = symbol === undefined ? { type: "limit", id, owner, side: buy ? "buy" : "sell", price, qty } : { type: "limit", symbol, id, owner, side: buy ? "buy" : "sell", price, qty };
      counts.limit++;
      engine.apply(cmd, sink);
      if (engine.order(id) !== null) {
        L.at.set(id, L.ids.length);
        L.ids.push(id);
      }
    }
    out[n] = cmd;
    if ((n & 1023) === 0) {
      for (const x of live) depthSum += x.ids.length;
      depthN += nSym;
    }
  }
  return { commands: out, meanDepth: Math.round(depthSum / Math.max(1, depthN)), counts };
}
