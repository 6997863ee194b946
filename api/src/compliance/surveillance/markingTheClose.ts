/**
 * MARKING_THE_CLOSE and MOMENTUM IGNITION: one identity pushing the price with aggressive orders.
 *
 * Marking the close (detail.pattern "close"): trading windows close at configured UTC times of
 * day (default 07:45 UTC = 14:45 ICT, the end of Vietnam's session). In the last 5 minutes
 * (default) before a close, in one symbol, one identity's aggressive (taker) buys account for
 * at least 50% (default) of the symbol's traded volume in that interval AND the last trade
 * price is at least 200 bps (default) above the price at the start of the interval (the last
 * trade before it, or the latest reference price if none); mirror image for sells. Evaluated
 * on every trade in the interval once it has 3 trades (default), so the alert comes before the
 * close, from the trades seen so far. Severity high.
 *
 * Momentum ignition (detail.pattern "momentumIgnition", any time of day): one identity's
 * aggressive fills on one side within 60 s (default; at least 2 fills, default) account for at
 * least 50% (default) of the symbol's volume since the burst began and move the price at least
 * 300 bps (default) from the last price before the burst; then, within 120 s (default) of the
 * last burst fill, the same identity trades on the opposite side (maker or taker). Severity
 * medium.
 *
 * Evidence: the identity's taker fills in the interval / burst, and for ignition the reversing
 * fill. Not alerted: the same price move with the volume spread over many identities; a large
 * taker at the close that does not move the price; a burst that is not reversed in time.
 */
import type { AuditEvent } from "../audit/auditEvent.ts";
import type { SurveillanceConfig } from "./config.ts";
import type { Alert, Detector } from "./types.ts";
import { parseTimeOfDay } from "./config.ts";
import { atLeastBps, fromUnits, moveBps, toUnits } from "./amounts.ts";
import { buildAlert, shortId } from "./alert.ts";
import { Cooldown } from "./cooldown.ts";
import { Deque } from "./deque.ts";
import { RecencyMap } from "./recencyMap.ts";
import { eventMicros, seconds } from "./time.ts";

const DAY = 86_400_000_000n;
const MAX_SEQS = 200;

type Taker = { buy: bigint; sell: bigint; buySeqs: number[]; sellSeqs: number[]; accounts: Set<string> };

type Interval = {
  closeAt: bigint;
  startPrice: bigint;
  volume: bigint;
  trades: number;
  byIdentity: Map<string, Taker>;
  leader: { buy?: string; sell?: string };
};

type SymbolState = { lastPrice?: bigint; lastRef?: bigint; cumVolume: bigint; interval?: Interval };

type BurstFill = { t: bigint; seq: number; qty: bigint; priceBefore: bigint; cumBefore: bigint; account?: string };

type Ignition = { side: "buy" | "sell"; t: bigint; startPrice: bigint; endPrice: bigint; qty: bigint; volume: bigint; fills: BurstFill[] };

type IdentityState = { side?: "buy" | "sell"; burst: Deque<BurstFill>; burstQty: bigint; ignition?: Ignition };

const sign = (side: "buy" | "sell") => (side === "buy" ? 1n : -1n);
const opposite = (side: "buy" | "sell") => (side === "buy" ? "sell" : "buy");

export function createMarkingTheCloseDetector(config: SurveillanceConfig, cooldown = new Cooldown(seconds(config.cooldownSeconds))): Detector {
  const closes = config.closeTimesUtc.map((t) => BigInt(parseTimeOfDay(t)) * 1_000_000n);
  const closeWindow = seconds(config.closeWindowMinutes * 60);
  const ignitionWindow = seconds(config.ignitionWindowSeconds);
  const reversal = seconds(config.ignitionReversalSeconds);
  const symbols = new Map<string, SymbolState>();
  const identities = new RecencyMap<string, IdentityState>();

  /** The close whose final interval contains `t`, if any. */
  const closeFor = (t: bigint): bigint | undefined => {
    const tod = ((t % DAY) + DAY) % DAY;
    for (const c of closes) {
      const delta = (((c - tod) % DAY) + DAY) % DAY;
      if (delta > 0n && delta <= closeWindow) return t + delta;
    }
    return undefined;
  };

  const onClose = (e: AuditEvent, s: SymbolState, now: bigint, price: bigint, qty: bigint, before: bigint): Alert[] => {
    const closeAt = closeFor(now);
    if (closeAt === undefined) {
      s.interval = undefined;
      return [];
    }
    let iv = s.interval;
    if (!iv || iv.closeAt !== closeAt) iv = s.interval = { closeAt, startPrice: before, volume: 0n, trades: 0, byIdentity: new Map(), leader: {} };
    iv.volume += qty;
    iv.trades++;
    const side = e.side!;
    const id = e.identityHash!;
    let tk = iv.byIdentity.get(id);
    if (!tk) iv.byIdentity.set(id, (tk = { buy: 0n, sell: 0n, buySeqs: [], sellSeqs: [], accounts: new Set() }));
    tk[side] += qty;
    const seqs = side === "buy" ? tk.buySeqs : tk.sellSeqs;
    if (seqs.length < MAX_SEQS) seqs.push(e.seq);
    if (e.account !== undefined && tk.accounts.size < 16) tk.accounts.add(e.account);
    const leaderId = iv.leader[side];
    if (leaderId === undefined || leaderId === id || iv.byIdentity.get(leaderId)![side] < tk[side]) iv.leader[side] = id;

    if (iv.trades < config.closeMinTrades || price === iv.startPrice) return [];
    const dir = price > iv.startPrice ? "buy" : "sell";
    const lead = iv.leader[dir];
    if (lead === undefined) return [];
    const l = iv.byIdentity.get(lead)!;
    const move = (price - iv.startPrice) * sign(dir);
    if (!atLeastBps(l[dir], iv.volume, config.closeMinShareBps) || !atLeastBps(move, iv.startPrice, config.closeMinMoveBps)) return [];
    if (!cooldown.acquire(Cooldown.key("MARKING_THE_CLOSE", "close", [lead], e.symbol), now)) return [];
    const shareBps = Number((l[dir] * 10000n) / iv.volume);
    const mBps = moveBps(iv.startPrice, price);
    const closeIso = new Date(Number(closeAt / 1000n)).toISOString();
    return [
      buildAlert({
        rule: "MARKING_THE_CLOSE",
        severity: "high",
        trigger: e,
        symbol: e.symbol,
        identityHashes: [lead],
        accounts: l.accounts,
        eventSeqs: dir === "buy" ? l.buySeqs : l.sellSeqs,
        maxEvidenceSeqs: config.maxEvidenceSeqs,
        summary: `In the ${config.closeWindowMinutes} min before the ${closeIso.slice(11, 19)} UTC close, identity ${shortId(lead)}'s aggressive ${dir}s were ${(shareBps / 100).toFixed(2)}% of ${e.symbol} volume (${fromUnits(l[dir])} of ${fromUnits(iv.volume)}) and the price moved ${mBps} bps from ${fromUnits(iv.startPrice)} to ${fromUnits(price)}.`,
        detail: { pattern: "close", closeAt: closeIso, side: dir, identityQty: fromUnits(l[dir]), intervalVolume: fromUnits(iv.volume), intervalTrades: iv.trades, shareBps, startPrice: fromUnits(iv.startPrice), lastPrice: fromUnits(price), moveBps: mBps, windowMinutes: config.closeWindowMinutes, minShareBps: config.closeMinShareBps, minMoveBps: config.closeMinMoveBps, minTrades: config.closeMinTrades },
      }),
    ];
  };

  const reversalAlert = (e: AuditEvent, id: string, st: IdentityState, now: bigint): Alert[] => {
    const ig = st.ignition;
    if (!ig) return [];
    if (now - ig.t > reversal) {
      st.ignition = undefined;
      return [];
    }
    if (e.side !== opposite(ig.side)) return [];
    st.ignition = undefined;
    if (!cooldown.acquire(Cooldown.key("MARKING_THE_CLOSE", "momentumIgnition", [id], e.symbol), now)) return [];
    const mBps = moveBps(ig.startPrice, ig.endPrice);
    const shareBps = Number((ig.qty * 10000n) / ig.volume);
    const burstSecs = Number((ig.fills[ig.fills.length - 1].t - ig.fills[0].t) / 1000n) / 1000;
    const afterSecs = Number((now - ig.t) / 1000n) / 1000;
    return [
      buildAlert({
        rule: "MARKING_THE_CLOSE",
        severity: "medium",
        trigger: e,
        symbol: e.symbol,
        identityHashes: [id],
        accounts: [...ig.fills.map((f) => f.account), e.account],
        eventSeqs: ig.fills.map((f) => f.seq),
        maxEvidenceSeqs: config.maxEvidenceSeqs,
        summary: `Momentum ignition: identity ${shortId(id)}'s ${ig.fills.length} aggressive ${ig.side} fills over ${burstSecs} s (${(shareBps / 100).toFixed(2)}% of ${e.symbol} volume) moved the price ${mBps} bps from ${fromUnits(ig.startPrice)} to ${fromUnits(ig.endPrice)}, then it ${e.side === "buy" ? "bought" : "sold"} ${e.qty ?? "?"} at ${e.price ?? "?"} ${afterSecs} s later.`,
        detail: { pattern: "momentumIgnition", side: ig.side, burstFills: ig.fills.length, burstQty: fromUnits(ig.qty), burstVolume: fromUnits(ig.volume), shareBps, startPrice: fromUnits(ig.startPrice), endPrice: fromUnits(ig.endPrice), moveBps: mBps, reversalSeq: e.seq, reversalQty: e.qty, reversalPrice: e.price, reversalAfterMs: Number((now - ig.t) / 1000n), windowSeconds: config.ignitionWindowSeconds, minMoveBps: config.ignitionMinMoveBps, minShareBps: config.ignitionMinShareBps, minTakerFills: config.ignitionMinTakerFills, reversalSeconds: config.ignitionReversalSeconds },
      }),
    ];
  };

  const onBurst = (e: AuditEvent, st: IdentityState, s: SymbolState, now: bigint, price: bigint, qty: bigint, before: bigint, cumBefore: bigint) => {
    const side = e.side!;
    if (st.side !== side) {
      st.side = side;
      st.burst.clear();
      st.burstQty = 0n;
    }
    for (let f = st.burst.peekFirst(); f && f.t < now - ignitionWindow; f = st.burst.peekFirst()) {
      st.burst.shift();
      st.burstQty -= f.qty;
    }
    st.burst.push({ t: now, seq: e.seq, qty, priceBefore: before, cumBefore, account: e.account });
    st.burstQty += qty;
    const first = st.burst.peekFirst()!;
    const volume = s.cumVolume - first.cumBefore;
    const move = (price - first.priceBefore) * sign(side);
    if (st.burst.length >= config.ignitionMinTakerFills && atLeastBps(st.burstQty, volume, config.ignitionMinShareBps) && atLeastBps(move, first.priceBefore, config.ignitionMinMoveBps)) {
      st.ignition = { side, t: now, startPrice: first.priceBefore, endPrice: price, qty: st.burstQty, volume, fills: [...st.burst].slice(-MAX_SEQS) };
    }
  };

  return {
    rule: "MARKING_THE_CLOSE",
    onEvent(e: AuditEvent): Alert[] {
      const symbol = e.symbol;
      if (symbol === undefined) return [];
      let s = symbols.get(symbol);
      if (!s) symbols.set(symbol, (s = { cumVolume: 0n }));
      if (e.type === "order.received") {
        const ref = toUnits(e.refPrice);
        if (ref !== undefined && ref > 0n) s.lastRef = ref;
        return [];
      }
      if (e.type !== "order.filled" || !e.identityHash || !e.side) return [];
      const now = eventMicros(e);
      identities.prune(now - ignitionWindow - reversal);
      const key = `${symbol}\n${e.identityHash}`;
      const alerts: Alert[] = [];
      const existing = identities.get(key);
      if (existing) alerts.push(...reversalAlert(e, e.identityHash, existing, now));
      if (e.liquidity !== "taker") return alerts;

      const price = toUnits(e.price);
      const qty = toUnits(e.qty);
      if (price === undefined || qty === undefined || price === 0n || qty === 0n) return alerts;
      const before = s.lastPrice ?? s.lastRef ?? price;
      const cumBefore = s.cumVolume;
      s.lastPrice = price;
      s.cumVolume += qty;
      alerts.push(...onClose(e, s, now, price, qty, before));
      const st = identities.touch(key, now, () => ({ burst: new Deque<BurstFill>(), burstQty: 0n }));
      onBurst(e, st, s, now, price, qty, before, cumBefore);
      return alerts;
    },
  };
}
