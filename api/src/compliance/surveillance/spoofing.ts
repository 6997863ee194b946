/**
 * SPOOFING / LAYERING: a large order placed to be seen, not to trade.
 *
 * Rule: an identity places a LARGE limit order AWAY FROM THE TOUCH, then trades on the OTHER
 * side, then cancels the large order soon after. All three must hold:
 *  1. Large: its size is at least 5× (default) the median order size of the symbol over the
 *     last 200 accepted orders (once 20 have been seen), or its notional (price × qty) is at
 *     least 1,000,000,000 VND (default).
 *     Away from the touch: its limit price is at least 50 bps (default) below the reference
 *     price for a buy (above it for a sell). The reference is the symbol's latest known price:
 *     the `refPrice` of the latest order.received or the latest trade, whichever came last.
 *  2. The same identity (any of its accounts) then gets an order.filled on the opposite side
 *     of the same symbol while the large order rests.
 *  3. The large order is cancelled within 60 s (default) of being placed AND within 10 s
 *     (default) of that opposite-side fill. Operator cancels (kill switch, halt, identity
 *     revocation) do not count.
 * Other large same-side orders of the identity that also saw the opposite fill are reported
 * in the same alert as layers. Evidence: the large order(s)' order.accepted, the opposite
 * fill(s), the cancel.
 * Not alerted: a large away order that rests and is (even partly) filled; one cancelled with
 * no opposite-side trade; one cancelled after the window or long after the opposite trade.
 * Amendments count as the book shows them: an order amended into a large away one is placed
 * then; one amended so that it is no longer large and away is withdrawn then, as by a cancel.
 * Stop orders are not watched: waiting, they are not in the book; when one enters it, the
 * market's price put it there (a stop-limit that then rests is a known gap).
 */
import type { AuditEvent } from "../audit/auditEvent.ts";
import type { SurveillanceConfig } from "./config.ts";
import type { Alert, Detector } from "./types.ts";
import { fromUnits, moveBps, notional, toUnits } from "./amounts.ts";
import { buildAlert, shortId } from "./alert.ts";
import { Cooldown } from "./cooldown.ts";
import { RecencyMap } from "./recencyMap.ts";
import { eventMicros, seconds } from "./time.ts";

type Fill = { seq: number; t: bigint; qty: string | undefined; price: string | undefined };

type LargeOrder = {
  orderId: string;
  side: "buy" | "sell";
  t: bigint;
  seq: number;
  account?: string;
  price: bigint;
  qty: bigint;
  ref: bigint;
  median?: bigint;
  oppositeFills: Fill[];
};

type SymbolStats = { sizes: bigint[]; next: number; seen: number; median?: bigint; sinceRefresh: number; ref?: bigint };

const OPERATOR_REASONS = new Set(["killSwitch", "halt", "identity"]);
const MAX_FILLS_KEPT = 10;
const MAX_LARGE_PER_IDENTITY = 64;

export function createSpoofingDetector(config: SurveillanceConfig, cooldown = new Cooldown(seconds(config.cooldownSeconds))): Detector {
  const window = seconds(config.spoofWindowSeconds);
  const afterFill = seconds(config.spoofCancelAfterFillSeconds);
  const minNotional = toUnits(config.spoofMinNotional) ?? 0n;
  const multipleCents = BigInt(Math.round(config.spoofSizeMultiple * 100));
  const refreshEvery = Math.max(1, Math.floor(config.spoofSizeSampleWindow / 8));
  const symbols = new Map<string, SymbolStats>();
  // Large resting orders per (identity, symbol), by orderId.
  const books = new RecencyMap<string, Map<string, LargeOrder>>();

  const stats = (symbol: string) => {
    let s = symbols.get(symbol);
    if (!s) symbols.set(symbol, (s = { sizes: [], next: 0, seen: 0, sinceRefresh: 0 }));
    return s;
  };

  const addSample = (s: SymbolStats, qty: bigint) => {
    if (s.sizes.length < config.spoofSizeSampleWindow) s.sizes.push(qty);
    else s.sizes[s.next] = qty;
    s.next = (s.next + 1) % config.spoofSizeSampleWindow;
    s.seen++;
    s.sinceRefresh++;
    if (s.sizes.length >= config.spoofMinSamples && (s.median === undefined || s.sinceRefresh >= refreshEvery)) {
      const sorted = [...s.sizes].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      s.median = sorted[sorted.length >> 1];
      s.sinceRefresh = 0;
    }
  };

  const prune = (book: Map<string, LargeOrder>, cutoff: bigint) => {
    for (const [id, o] of book) if (o.t < cutoff) book.delete(id);
  };

  return {
    rule: "SPOOFING",
    onEvent(e: AuditEvent): Alert[] {
      const symbol = e.symbol;
      if (symbol === undefined) return [];
      const now = eventMicros(e);
      books.prune(now - window);
      switch (e.type) {
        case "order.received": {
          const ref = toUnits(e.refPrice);
          if (ref !== undefined && ref > 0n) stats(symbol).ref = ref;
          return [];
        }
        case "order.accepted": {
          // A stop waiting for its trigger is not in the book: no one sees it, so it cannot mislead.
          if (e.orderType?.startsWith("stop-")) return [];
          const qty = toUnits(e.qty);
          if (qty === undefined || qty === 0n) return [];
          const s = stats(symbol);
          const median = s.sizes.length >= config.spoofMinSamples ? s.median : undefined;
          addSample(s, qty);
          track(e, symbol, now, median);
          return [];
        }
        case "order.amended": {
          // On the book an amendment is a cancel and a new order: a large away order cut back
          // or moved to the touch after an opposite fill is withdrawn as surely as by a cancel,
          // and a small order amended into a large away one is placed now.
          if (!e.identityHash || !e.orderId) return [];
          const book = books.get(`${symbol}\n${e.identityHash}`);
          const o = book?.get(e.orderId);
          const s = stats(symbol);
          const tracked = track(e, symbol, now, s.sizes.length >= config.spoofMinSamples ? s.median : undefined, o);
          if (!o || tracked) return [];
          return withdrawn(e, o, book!, symbol, now);
        }
        case "order.filled": {
          const price = toUnits(e.price);
          if (price !== undefined && price > 0n) stats(symbol).ref = price;
          if (!e.identityHash) return [];
          const book = books.get(`${symbol}\n${e.identityHash}`);
          if (!book) return [];
          if (e.orderId && book.delete(e.orderId)) return []; // the large order traded: not a spoof
          for (const o of book.values()) {
            if (o.side !== e.side && now >= o.t && now - o.t <= window) {
              if (o.oppositeFills.length >= MAX_FILLS_KEPT) o.oppositeFills.shift();
              o.oppositeFills.push({ seq: e.seq, t: now, qty: e.qty, price: e.price });
            }
          }
          return [];
        }
        case "order.expired":
        case "order.stp":
        case "order.cancelled": {
          if (!e.identityHash || !e.orderId) return [];
          const book = books.get(`${symbol}\n${e.identityHash}`);
          const o = book?.get(e.orderId);
          if (!book || !o) return [];
          book.delete(e.orderId);
          if (e.type !== "order.cancelled" || (e.reason !== undefined && OPERATOR_REASONS.has(e.reason))) return [];
          return withdrawn(e, o, book, symbol, now);
        }
        default:
          return [];
      }
    },
  };

  /**
   * Tracks the order of `e` (an acceptance, or an amendment's new terms) when it is large and
   * away from the touch; an order already tracked (`was`) keeps its placement and opposite
   * fills. False when it is not (any longer) large and away.
   */
  function track(e: AuditEvent, symbol: string, now: bigint, median: bigint | undefined, was?: LargeOrder): boolean {
    const qty = toUnits(e.qty);
    const price = toUnits(e.price);
    const s = stats(symbol);
    if (qty === undefined || qty === 0n || price === undefined || price === 0n || !e.identityHash || !e.orderId || !e.side || s.ref === undefined) return false;
    const ref = was?.ref ?? s.ref;
    const big = (median !== undefined && median > 0n && qty * 100n >= multipleCents * median) || (minNotional > 0n && notional(price, qty) >= minNotional);
    const gap = e.side === "buy" ? ref - price : price - ref;
    const away = gap * 10000n >= BigInt(config.spoofAwayBps) * ref;
    if (!big || !away) return false;
    if (was) {
      was.price = price;
      was.qty = qty;
      return true;
    }
    const book = books.touch(`${symbol}\n${e.identityHash}`, now, () => new Map());
    prune(book, now - window);
    if (book.size >= MAX_LARGE_PER_IDENTITY) book.delete(book.keys().next().value as string);
    book.set(e.orderId, { orderId: e.orderId, side: e.side, t: now, seq: e.seq, account: e.account, price, qty, ref, median, oppositeFills: [] });
    return true;
  }

  /** Large order `o` left the book by `e` (a trader's cancel or amendment): an alert if it was a spoof. */
  function withdrawn(e: AuditEvent, o: LargeOrder, book: Map<string, LargeOrder>, symbol: string, now: bigint): Alert[] {
    book.delete(o.orderId);
    const identityHash = e.identityHash;
    if (!identityHash) return [];
    const last = o.oppositeFills[o.oppositeFills.length - 1];
    if (!last || now - o.t > window || now - last.t > afterFill) return [];
    if (!cooldown.acquire(Cooldown.key("SPOOFING", "", [identityHash], symbol), now)) return [];
    // Other large orders on the same side that also saw an opposite fill: layers.
    const layers = [o];
    for (const other of book.values()) if (other.side === o.side && other.oppositeFills.length > 0) layers.push(other);
    for (const l of layers) book.delete(l.orderId);
    const fills = new Map<number, Fill>();
    for (const l of layers) for (const f of l.oppositeFills) fills.set(f.seq, f);
    const totalQty = layers.reduce((a, l) => a + l.qty, 0n);
    const placedToCancel = Number((now - o.t) / 1000n);
    const fillToCancel = Number((now - last.t) / 1000n);
    return [
      buildAlert({
        rule: "SPOOFING",
        severity: "high",
        trigger: e,
        symbol,
        identityHashes: [identityHash],
        accounts: [e.account, ...layers.map((l) => l.account)],
        eventSeqs: [...layers.map((l) => l.seq), ...fills.keys()],
        maxEvidenceSeqs: config.maxEvidenceSeqs,
        summary: `Identity ${shortId(identityHash)} placed ${layers.length} large ${o.side} order(s) for ${fromUnits(totalQty)} ${symbol} ${Math.abs(moveBps(o.ref, o.price))} bps from the reference price ${fromUnits(o.ref)}, traded ${fills.size} time(s) on the ${o.side === "buy" ? "sell" : "buy"} side, and ${e.type === "order.amended" ? "amended away" : "cancelled"} ${fromUnits(o.qty)} ${placedToCancel / 1000} s after placing it (${fillToCancel / 1000} s after the opposite fill).`,
        detail: {
          side: o.side,
          orders: layers.map((l) => ({ orderId: l.orderId, price: fromUnits(l.price), qty: fromUnits(l.qty), refPrice: fromUnits(l.ref), awayBps: Math.abs(moveBps(l.ref, l.price)), medianOrderQty: l.median !== undefined ? fromUnits(l.median) : undefined, notional: fromUnits(notional(l.price, l.qty)) })),
          oppositeFills: [...fills.values()].map((f) => ({ seq: f.seq, qty: f.qty, price: f.price })),
          placedToCancelMs: placedToCancel,
          fillToCancelMs: fillToCancel,
          cancelReason: e.reason,
          sizeMultiple: config.spoofSizeMultiple,
          minNotional: config.spoofMinNotional,
          awayBps: config.spoofAwayBps,
          windowSeconds: config.spoofWindowSeconds,
          cancelAfterFillSeconds: config.spoofCancelAfterFillSeconds,
        },
      }),
    ];
  }
}
