/**
 * WASH TRADES: trades that change no one's position.
 *
 * WASH_SAME_IDENTITY: a trade where the same person (e-ID `identityHash`) is on both sides,
 * even when the two sides are different wallets/accounts. The engine's self-trade prevention
 * already keeps one e-ID's orders apart (by beneficial owner), and the vault refuses such a
 * trade; this rule is the check after the fact, for whatever reaches the trade record anyway
 * (orders resting from before a wallet was bound to the identity). Evaluated on the taker side of each trade
 * (one alert per trade, not two); the same identity in the same symbol is alerted again only
 * after the cool-down (default 5 minutes). Severity high when the accounts differ (a deliberate
 * cross-wallet trade), medium when it is one account.
 *
 * WASH_RING: within a sliding window (default 10 minutes) in one symbol, a set of 2 to 4
 * (default) different identities whose trades among themselves number at least 6 (default)
 * and where every member's net position change within the ring is about zero: |bought − sold|
 * is at most 5% (500 bps, default) of what that member traded gross within the ring. In plain
 * words: a small group trading back and forth (or round a circle A→B→C→A) ending where it
 * started. The smallest such set containing the two sides of the latest trade is reported;
 * sets of 3–4 are searched among each side's 6 (default) most recent counterparties. Each
 * member must also do at least 50% (default) of its trading in the symbol within the window
 * inside the ring, so a market maker that happens to round-trip with a few of its many
 * counterparties is not a "ring". Evidence: the taker-side order.filled of every ring trade.
 * Not alerted: two identities trading a lot where one steadily accumulates (net change large);
 * an identity trading with many different counterparties (few trades inside any small set).
 */
import type { AuditEvent } from "../audit/auditEvent.ts";
import type { SurveillanceConfig } from "./config.ts";
import type { Detector } from "./types.ts";
import type { Alert } from "./types.ts";
import { abs, fromUnits, toUnits } from "./amounts.ts";
import { buildAlert, shortId } from "./alert.ts";
import { Cooldown } from "./cooldown.ts";
import { Deque } from "./deque.ts";
import { RecencyMap } from "./recencyMap.ts";
import { eventMicros, seconds } from "./time.ts";

export function createWashSameIdentityDetector(config: SurveillanceConfig, cooldown = new Cooldown(seconds(config.cooldownSeconds))): Detector {
  // The maker side of a trade, when it comes before the taker side (evidence only).
  let lastMaker: { tradeId: string; seq: number } | undefined;
  return {
    rule: "WASH_SAME_IDENTITY",
    onEvent(e: AuditEvent): Alert[] {
      if (e.type !== "order.filled") return [];
      if (e.liquidity === "maker") {
        lastMaker = e.tradeId !== undefined ? { tradeId: e.tradeId, seq: e.seq } : undefined;
        return [];
      }
      if (e.liquidity !== "taker" || !e.identityHash || e.identityHash !== e.counterpartyIdentityHash) return [];
      const now = eventMicros(e);
      if (!cooldown.acquire(Cooldown.key("WASH_SAME_IDENTITY", "", [e.identityHash], e.symbol), now)) return [];
      const seqs = [e.seq];
      if (lastMaker && lastMaker.tradeId === e.tradeId) seqs.push(lastMaker.seq);
      const sameAccount = e.account !== undefined && e.account === e.counterpartyAccount;
      return [
        buildAlert({
          rule: "WASH_SAME_IDENTITY",
          severity: sameAccount ? "medium" : "high",
          trigger: e,
          symbol: e.symbol,
          identityHashes: [e.identityHash],
          accounts: [e.account, e.counterpartyAccount],
          eventSeqs: seqs,
          maxEvidenceSeqs: config.maxEvidenceSeqs,
          summary: `Identity ${shortId(e.identityHash)} traded ${e.qty ?? "?"} ${e.symbol ?? ""} at ${e.price ?? "?"} with itself (trade ${e.tradeId ?? "?"}, ${sameAccount ? "same account" : `accounts ${e.account} and ${e.counterpartyAccount}`}).`,
          detail: { tradeId: e.tradeId, price: e.price, qty: e.qty, takerAccount: e.account, makerAccount: e.counterpartyAccount, takerOrderId: e.orderId, makerOrderId: e.counterpartyOrderId, sameAccount, cooldownSeconds: config.cooldownSeconds },
        }),
      ];
    },
  };
}

type RingTrade = { t: bigint; qty: bigint; loBuys: boolean; seq: number; loAccount?: string; hiAccount?: string };

/** Trades between two identities (lo < hi) in one symbol within the window, with running sums. */
type Pair = { lo: string; hi: string; trades: Deque<RingTrade>; loBought: bigint; loSold: bigint };

type Member = { bought: bigint; sold: bigint };

type TraderState = { neighbours: Map<string, true>; trades: Deque<{ t: bigint; qty: bigint }>; gross: bigint };

export function createWashRingDetector(config: SurveillanceConfig, cooldown = new Cooldown(seconds(config.cooldownSeconds))): Detector {
  const window = seconds(config.washRingWindowSeconds);
  const pairs = new RecencyMap<string, Pair>();
  // Per (symbol, identity): recent counterparties (most recent last, at most washRingNeighbourLimit)
  // and everything it traded in the symbol within the window.
  const traders = new RecencyMap<string, TraderState>();

  const pairKey = (symbol: string, a: string, b: string) => (a < b ? `${symbol}\n${a}\n${b}` : `${symbol}\n${b}\n${a}`);

  const expire = (p: Pair, cutoff: bigint) => {
    for (let f = p.trades.peekFirst(); f && f.t < cutoff; f = p.trades.peekFirst()) {
      p.trades.shift();
      if (f.loBuys) p.loBought -= f.qty;
      else p.loSold -= f.qty;
    }
  };

  const pairOf = (symbol: string, a: string, b: string, cutoff: bigint): Pair | undefined => {
    const p = pairs.get(pairKey(symbol, a, b));
    if (!p) return undefined;
    expire(p, cutoff);
    return p.trades.length > 0 ? p : undefined;
  };

  const expireTrader = (st: TraderState, cutoff: bigint) => {
    for (let f = st.trades.peekFirst(); f && f.t < cutoff; f = st.trades.peekFirst()) {
      st.trades.shift();
      st.gross -= f.qty;
    }
  };

  const noteTrade = (symbol: string, id: string, other: string, now: bigint, qty: bigint) => {
    const st = traders.touch(`${symbol}\n${id}`, now, () => ({ neighbours: new Map(), trades: new Deque(), gross: 0n }));
    expireTrader(st, now - window);
    st.trades.push({ t: now, qty });
    st.gross += qty;
    const n = st.neighbours;
    n.delete(other);
    n.set(other, true);
    if (n.size > config.washRingNeighbourLimit) n.delete(n.keys().next().value as string);
  };

  /** Pairs, trade count and members of `set` when it is a ring (else undefined). */
  const evaluate = (symbol: string, set: readonly string[], cutoff: bigint) => {
    const members = new Map<string, Member>(set.map((id) => [id, { bought: 0n, sold: 0n }]));
    const found: Pair[] = [];
    let count = 0;
    // Connectivity over at most 4 members: union-find by index.
    const parent = set.map((_, i) => i);
    const root = (i: number): number => (parent[i] === i ? i : (parent[i] = root(parent[i])));
    for (let i = 0; i < set.length; i++) {
      for (let j = i + 1; j < set.length; j++) {
        const p = pairOf(symbol, set[i], set[j], cutoff);
        if (!p) continue;
        found.push(p);
        count += p.trades.length;
        const lo = members.get(p.lo)!;
        const hi = members.get(p.hi)!;
        lo.bought += p.loBought;
        lo.sold += p.loSold;
        hi.bought += p.loSold;
        hi.sold += p.loBought;
        parent[root(i)] = root(j);
      }
    }
    if (count < config.washRingMinTrades) return undefined;
    for (let i = 1; i < set.length; i++) if (root(i) !== root(0)) return undefined;
    for (const [id, m] of members) {
      const gross = m.bought + m.sold;
      if (gross === 0n) return undefined;
      if (abs(m.bought - m.sold) * 10000n > BigInt(config.washRingNetToleranceBps) * gross) return undefined;
      const st = traders.get(`${symbol}\n${id}`);
      if (st) expireTrader(st, cutoff);
      if (st && gross * 10000n < BigInt(config.washRingMinShareBps) * st.gross) return undefined;
    }
    return { pairs: found, count, members };
  };

  return {
    rule: "WASH_RING",
    onEvent(e: AuditEvent): Alert[] {
      if (e.type !== "order.filled" || e.liquidity !== "taker") return [];
      const me = e.identityHash;
      const cp = e.counterpartyIdentityHash;
      const symbol = e.symbol;
      const qty = toUnits(e.qty);
      if (!me || !cp || me === cp || symbol === undefined || qty === undefined || qty === 0n) return [];
      const now = eventMicros(e);
      const cutoff = now - window;
      pairs.prune(cutoff);
      traders.prune(cutoff);

      const key = pairKey(symbol, me, cp);
      const pair = pairs.touch(key, now, () => ({ lo: me < cp ? me : cp, hi: me < cp ? cp : me, trades: new Deque<RingTrade>(), loBought: 0n, loSold: 0n }));
      expire(pair, cutoff);
      const meIsLo = pair.lo === me;
      const loBuys = (e.side === "buy") === meIsLo;
      pair.trades.push({ t: now, qty, loBuys, seq: e.seq, loAccount: meIsLo ? e.account : e.counterpartyAccount, hiAccount: meIsLo ? e.counterpartyAccount : e.account });
      if (loBuys) pair.loBought += qty;
      else pair.loSold += qty;
      noteTrade(symbol, me, cp, now, qty);
      noteTrade(symbol, cp, me, now, qty);

      // Smallest ring containing both sides of this trade.
      const candidates: string[] = [];
      if (config.washRingMaxIdentities > 2) {
        for (const id of [me, cp]) {
          for (const n of traders.get(`${symbol}\n${id}`)?.neighbours.keys() ?? []) if (n !== me && n !== cp && !candidates.includes(n)) candidates.push(n);
        }
      }
      const sets: string[][] = [[me, cp]];
      if (config.washRingMaxIdentities >= 3) for (const c of candidates) sets.push([me, cp, c]);
      if (config.washRingMaxIdentities >= 4) for (let i = 0; i < candidates.length; i++) for (let j = i + 1; j < candidates.length; j++) sets.push([me, cp, candidates[i], candidates[j]]);

      for (const set of sets) {
        const ring = evaluate(symbol, set, cutoff);
        if (!ring) continue;
        if (!cooldown.acquire(Cooldown.key("WASH_RING", "", set, symbol), now)) return [];
        const seqs: number[] = [];
        const accounts: (string | undefined)[] = [];
        let gross = 0n;
        for (const p of ring.pairs) {
          for (const t of p.trades) {
            seqs.push(t.seq);
            accounts.push(t.loAccount, t.hiAccount);
            gross += t.qty;
          }
        }
        const ids = [...set].sort();
        const members = ids.map((id) => {
          const m = ring.members.get(id)!;
          const total = traders.get(`${symbol}\n${id}`)?.gross ?? 0n;
          return { identityHash: id, tradedInSymbol: fromUnits(total), bought: fromUnits(m.bought), sold: fromUnits(m.sold), net: fromUnits(m.bought - m.sold), netBpsOfGross: Number((abs(m.bought - m.sold) * 10000n) / (m.bought + m.sold)) };
        });
        return [
          buildAlert({
            rule: "WASH_RING",
            severity: "high",
            trigger: e,
            symbol,
            identityHashes: ids,
            accounts,
            eventSeqs: seqs,
            maxEvidenceSeqs: config.maxEvidenceSeqs,
            summary: `${ids.length} identities (${ids.map(shortId).join(", ")}) traded ${symbol} ${ring.count} times among themselves (${fromUnits(gross)} gross) within ${config.washRingWindowSeconds / 60} min with each member's net change within ${config.washRingNetToleranceBps / 100}% of its gross.`,
            detail: {
              trades: ring.count,
              grossQty: fromUnits(gross),
              members,
              windowSeconds: config.washRingWindowSeconds,
              minTrades: config.washRingMinTrades,
              netToleranceBps: config.washRingNetToleranceBps,
              minShareBps: config.washRingMinShareBps,
              maxIdentities: config.washRingMaxIdentities,
            },
          }),
        ];
      }
      return [];
    },
  };
}

