/**
 * QUOTE_STUFFING: flooding the book with order messages that do not trade.
 *
 * Counted per identity (all its accounts) per symbol: order messages are order.received,
 * order.amended, refused amendments (order.rejected with detail.amendment, as a refused
 * placement is counted by its order.received) and trader cancels (order.cancelled, except
 * operator cancels: kill switch, halt, identity revocation); trades are that identity's
 * order.filled events. The
 * order-to-trade ratio (OTR) is messages ÷ trades (infinite with no trade).
 *  - Burst: within a sliding 10 s (default) window, at least 500 messages (default) AND an
 *    OTR of at least 100:1 (default).
 *  - Sustained: within a sliding 5 min (default) window, at least 1,000 messages (default)
 *    AND an OTR of at least 250:1 (default).
 * Windows are counted in fixed slots (1/40 of the burst window, 1/60 of the sustained one), so
 * a window covers between (window − one slot) and the full window: counts never include
 * older messages, which errs towards not alerting. Evidence: the first audit sequence in the
 * window and the triggering one (the full list is the identity's order events between them).
 * Not alerted: a market maker with a high message rate and a reasonable fill rate (OTR below
 * the ratio); a burst below the message count.
 */
import type { AuditEvent } from "../audit/auditEvent.ts";
import type { SurveillanceConfig } from "./config.ts";
import type { Alert, Detector } from "./types.ts";
import { buildAlert, shortId } from "./alert.ts";
import { Cooldown } from "./cooldown.ts";
import { Deque } from "./deque.ts";
import { RecencyMap } from "./recencyMap.ts";
import { eventMicros, seconds } from "./time.ts";

type Slot = { idx: bigint; msgs: number; trades: number; firstSeq: number };

/** Message and trade counts over a sliding window, in `slots` fixed slots (O(1) amortised, bounded memory). */
class SlottedWindow {
  private readonly width: bigint;
  private readonly slots: bigint;
  private readonly q = new Deque<Slot>();
  msgs = 0;
  trades = 0;

  constructor(windowMicros: bigint, slots: number) {
    this.slots = BigInt(slots);
    this.width = windowMicros / this.slots > 0n ? windowMicros / this.slots : 1n;
  }

  add(t: bigint, seq: number, kind: "msg" | "trade"): void {
    const idx = t / this.width;
    this.expire(idx);
    let last = this.q.peekLast();
    if (!last || last.idx < idx) this.q.push((last = { idx, msgs: 0, trades: 0, firstSeq: seq }));
    if (kind === "msg") {
      last.msgs++;
      this.msgs++;
    } else {
      last.trades++;
      this.trades++;
    }
  }

  firstSeq(): number | undefined {
    return this.q.peekFirst()?.firstSeq;
  }

  private expire(idx: bigint): void {
    for (let f = this.q.peekFirst(); f && f.idx <= idx - this.slots; f = this.q.peekFirst()) {
      this.q.shift();
      this.msgs -= f.msgs;
      this.trades -= f.trades;
    }
  }
}

type State = { burst: SlottedWindow; sustained: SlottedWindow; accounts: Set<string> };

const OPERATOR_REASONS = new Set(["killSwitch", "halt", "identity"]);
const MAX_ACCOUNTS = 16;

export function createQuoteStuffingDetector(config: SurveillanceConfig, cooldown = new Cooldown(seconds(config.cooldownSeconds))): Detector {
  const burstWindow = seconds(config.stuffingBurstWindowSeconds);
  const sustainedWindow = seconds(config.stuffingSustainedWindowSeconds);
  const idle = burstWindow > sustainedWindow ? burstWindow : sustainedWindow;
  const states = new RecencyMap<string, State>();

  const variants = [
    { name: "burst", severity: "medium", windowSeconds: config.stuffingBurstWindowSeconds, minMessages: config.stuffingBurstMinMessages, minOtr: config.stuffingBurstMinOtr, pick: (s: State) => s.burst },
    { name: "sustained", severity: "low", windowSeconds: config.stuffingSustainedWindowSeconds, minMessages: config.stuffingSustainedMinMessages, minOtr: config.stuffingSustainedMinOtr, pick: (s: State) => s.sustained },
  ] as const;

  return {
    rule: "QUOTE_STUFFING",
    onEvent(e: AuditEvent): Alert[] {
      const isMsg =
        e.type === "order.received" ||
        e.type === "order.amended" ||
        (e.type === "order.rejected" && e.detail?.amendment === true) ||
        (e.type === "order.cancelled" && !(e.reason !== undefined && OPERATOR_REASONS.has(e.reason)));
      const isTrade = e.type === "order.filled";
      if ((!isMsg && !isTrade) || !e.identityHash || e.symbol === undefined) return [];
      const now = eventMicros(e);
      states.prune(now - idle);
      const s = states.touch(`${e.symbol}\n${e.identityHash}`, now, () => ({ burst: new SlottedWindow(burstWindow, 40), sustained: new SlottedWindow(sustainedWindow, 60), accounts: new Set() }));
      if (e.account !== undefined && s.accounts.size < MAX_ACCOUNTS) s.accounts.add(e.account);
      const kind = isMsg ? "msg" : "trade";
      s.burst.add(now, e.seq, kind);
      s.sustained.add(now, e.seq, kind);
      if (!isMsg) return [];
      for (const v of variants) {
        const w = v.pick(s);
        if (w.msgs < v.minMessages || w.msgs < v.minOtr * w.trades) continue;
        if (!cooldown.acquire(Cooldown.key("QUOTE_STUFFING", "", [e.identityHash], e.symbol), now)) return [];
        const otr = w.trades === 0 ? "no trades" : `${Math.floor(w.msgs / w.trades)}:1`;
        return [
          buildAlert({
            rule: "QUOTE_STUFFING",
            severity: v.severity,
            trigger: e,
            symbol: e.symbol,
            identityHashes: [e.identityHash],
            accounts: s.accounts,
            eventSeqs: [w.firstSeq() ?? e.seq],
            maxEvidenceSeqs: config.maxEvidenceSeqs,
            summary: `Identity ${shortId(e.identityHash)} sent ${w.msgs} order messages in ${e.symbol} within ${v.windowSeconds} s against ${w.trades} trade(s) (order-to-trade ${otr}; thresholds ${v.minMessages} messages, ${v.minOtr}:1).`,
            detail: { variant: v.name, messages: w.msgs, trades: w.trades, orderToTrade: w.trades === 0 ? null : Math.floor(w.msgs / w.trades), windowSeconds: v.windowSeconds, minMessages: v.minMessages, minOrderToTrade: v.minOtr, firstSeqInWindow: w.firstSeq(), lastSeqInWindow: e.seq },
          }),
        ];
      }
      return [];
    },
  };
}
