import type { MarketUnits } from "../../markets/marketUnits.ts";
import type { MarketCatalog } from "../../markets/marketCatalog.ts";
import type { TradingEvent } from "../../trading/events.ts";
import type { Order } from "../../records/orders.ts";
import { IDENTITY_SWEEP, recordMicros, type PlaceRecord, type RecordTime, type TradingRecord } from "../../records/tradingRecords.ts";
import type { ApplyResult } from "../../trading/tradingCore.ts";
import type { CommandOrigin, PlaceInput, TradingObserver } from "../../trading/tradingService.ts";
import { isoMicros, type AuditEventInput } from "./auditEvent.ts";

export type TradingRecorderOptions = {
  catalog: MarketCatalog;
  format: MarketUnits;
  /** Appends one event to the audit log (synchronous; durability via `flush`). */
  append: (e: AuditEventInput) => void;
  flush: () => Promise<void>;
  /** Reference price of a symbol when an order arrives (engine units; 0 when there is none). */
  refPrice: (symbol: string) => number;
  /** Identity hash of an account not seen trading yet (e.g. a first deposit). */
  identityOf?: (accountId: string) => string | undefined;
  /** The log's position against the journal (AuditTrail.journalPosition): replay skips what it holds. */
  audited: { seq: bigint; eventsOfSeq: number };
};

/**
 * Turns the sequencer's commands and applied records into audit events (order lifecycle with
 * the risk/engine rule that refused an order, fills per side with the counterparty's
 * identity, money movements, controls). Events of a journaled record carry its journal
 * sequence (`jseq`), which is how a restart knows which records the audit log still lacks.
 */
export function createTradingRecorder(o: TradingRecorderOptions): TradingObserver {
  const { catalog, format } = o;
  const auditedThrough = o.audited.seq;
  // Events are derived deterministically, so the first `eventsOfSeq` of the last audited
  // record are exactly the ones already in the log.
  let skip = 0;
  const append = (e: AuditEventInput) => {
    if (skip > 0) skip--;
    else o.append(e);
  };
  // Orders carry the e-ID; money movements and controls name only the account.
  const identities = new Map<string, string>();
  const identityOf = (account: string) => identities.get(account) ?? o.identityOf?.(account);
  // The record's own time (journaled with its µs; older records have none: .xxx000Z), never a clock read here.
  const iso = (t: RecordTime) => isoMicros(recordMicros(t));
  const priceText = (symbol: string, units: number) => {
    const m = catalog.market(symbol);
    return m && units > 0 ? format.price(m, units) : undefined;
  };
  const sizeText = (symbol: string, units: number) => {
    const m = catalog.market(symbol);
    return m && units > 0 ? format.size(m, units) : undefined;
  };
  const orderType = (r: Pick<PlaceRecord, "type" | "stop">) => (r.stop ? `stop-${r.type}` : r.type);

  const orderFields = (input: PlaceInput) => ({
    account: input.accountId,
    identityHash: input.identityHash,
    wallet: input.accountId,
    apiKeyId: input.apiKeyId,
    clientOid: input.clientOid,
    symbol: input.symbol,
    side: input.side,
    price: input.price !== undefined ? priceText(input.symbol, input.price) : undefined,
    qty: input.size !== undefined ? sizeText(input.symbol, input.size) : undefined,
    orderType: orderType(input),
    tif: input.tif,
  });

  const orderDetail = (input: PlaceInput) => {
    const d: Record<string, unknown> = {};
    if (input.postOnly) d.postOnly = true;
    if (input.visibleSize !== undefined) d.visibleSize = sizeText(input.symbol, input.visibleSize);
    if (input.funds !== undefined) {
      const m = catalog.market(input.symbol);
      if (m) d.funds = format.amount(m.quote, BigInt(input.funds));
    }
    if (input.stop) d.stop = { kind: input.stop.kind, stopPrice: priceText(input.symbol, input.stop.stopPrice) };
    if (input.stp !== "CN") d.stp = input.stp;
    return Object.keys(d).length ? d : undefined;
  };

  const fromOrder = (ord: Readonly<Order>) => ({
    account: ord.accountId,
    identityHash: ord.identityHash,
    wallet: ord.accountId,
    apiKeyId: ord.apiKeyId,
    clientOid: ord.clientOid,
    orderId: ord.orderId,
    symbol: ord.symbol,
    side: ord.side,
  });

  /** Per record: the latest trade per symbol so far (what a stop triggers on; made at the first trade), and whether its amendment is recorded. */
  type RecordScope = { lastTrade: Map<string, { price: number; tradeId: string }> | undefined; amended: boolean };

  /** An accepted amendment, with the order's new terms. */
  const amendedEvent = (jseq: number, ts: string, record: Extract<TradingRecord, { t: "amend" }>, ord: Readonly<Order>): AuditEventInput => ({
    type: "order.amended",
    ts,
    jseq,
    ...fromOrder(ord),
    price: priceText(ord.symbol, ord.price),
    qty: sizeText(ord.symbol, ord.size),
    detail: { newPrice: record.price !== undefined ? priceText(ord.symbol, record.price) : undefined, newSize: record.size !== undefined ? sizeText(ord.symbol, record.size) : undefined },
  });

  function onOrderEvent(jseq: number, ts: string, record: TradingRecord, e: Extract<TradingEvent, { kind: "order" }>, orders: Map<string, Readonly<Order>>, scope: RecordScope): void {
    const ord = e.order;
    orders.set(ord.orderId, ord);
    switch (e.change) {
      case "open":
        // A stop the last price already meets opens twice in its own record: accepted (waiting),
        // then in the book once triggered; only the first is its acceptance.
        if (record.t === "place" && record.orderId === ord.orderId && !ord.stop?.triggered) {
          append({ type: "order.accepted", ts, jseq, ...fromOrder(ord), price: priceText(ord.symbol, ord.price), qty: sizeText(ord.symbol, ord.size), orderType: orderType(record), tif: ord.tif });
        }
        return;
      case "match":
        return; // fills are recorded from the trade, once per side, below
      case "triggered": {
        // The trade that reached the stop price; none when the last price met it at acceptance.
        const by = scope.lastTrade?.get(ord.symbol);
        const trigger = by ? { triggerPrice: priceText(ord.symbol, by.price), triggerTradeId: by.tradeId } : { atAcceptance: true };
        append({ type: "order.triggered", ts, jseq, ...fromOrder(ord), detail: { stopPrice: ord.stop ? priceText(ord.symbol, ord.stop.stopPrice) : undefined, kind: ord.stop?.kind, ...trigger, ...(ord.isActive ? {} : { refused: ord.doneReason }) } });
        return;
      }
      case "canceled": {
        const code = ord.doneReason ?? "";
        const reason = cancelReason(record, code);
        const left = ord.type === "market" ? undefined : sizeText(ord.symbol, ord.size - ord.dealSize);
        const type = code.startsWith("ENGINE_STP_") ? "order.stp" : code === "ENGINE_IOC_REMAINDER" || code === "ENGINE_FOK_NOT_FILLED" || code === "ENGINE_MARKET_NO_LIQUIDITY" ? "order.expired" : "order.cancelled";
        append({ type, ts, jseq, ...fromOrder(ord), qty: left, reason, ruleId: code || undefined, actor: record.t === "accountStatus" ? record.by : undefined });
        return;
      }
      case "rejected":
        append({ type: "order.rejected", ts, jseq, ...fromOrder(ord), ruleId: ord.doneReason, reason: "refused by the matching engine" });
        return;
      case "update":
        // The engine reports an amendment before the trades and cancels it causes: recorded
        // here, the order's lifecycle reads in the order things happened.
        if (record.t === "amend" && record.orderId === ord.orderId && !scope.amended) {
          scope.amended = true;
          append(amendedEvent(jseq, ts, record, ord));
        }
        return;
      case "filled":
        return;
    }
  }

  return {
    orderReceived(input: PlaceInput, origin: CommandOrigin | undefined, ts: RecordTime): void {
      identities.set(input.accountId, input.identityHash);
      const ref = o.refPrice(input.symbol);
      append({ type: "order.received", ts: iso(ts), ...orderFields(input), refPrice: ref > 0 ? priceText(input.symbol, ref) : undefined, ip: origin?.ip, detail: orderDetail(input) });
    },

    orderRefused(input: PlaceInput, code: string, message: string, origin: CommandOrigin | undefined, ts: RecordTime): void {
      append({ type: "order.rejected", ts: iso(ts), ...orderFields(input), ip: origin?.ip, ruleId: code, reason: message });
    },

    amendmentRefused(ord: Readonly<Order>, change: { price?: number; size?: number }, code: string, message: string, origin: CommandOrigin | undefined, ts: RecordTime): void {
      append({
        type: "order.rejected",
        ts: iso(ts),
        ...fromOrder(ord),
        price: priceText(ord.symbol, change.price ?? ord.price),
        qty: sizeText(ord.symbol, change.size ?? ord.size),
        ip: origin?.ip,
        ruleId: code,
        reason: `amendment refused: ${message}`,
        detail: { amendment: true, newPrice: change.price !== undefined ? priceText(ord.symbol, change.price) : undefined, newSize: change.size !== undefined ? sizeText(ord.symbol, change.size) : undefined },
      });
    },

    withdrawalRefused(accountId: string, currency: string, amount: bigint, code: string, message: string, ts: RecordTime): void {
      append({ type: "withdrawal.failed", ts: iso(ts), account: accountId, identityHash: identityOf(accountId), wallet: accountId, currency, amount: format.amount(currency, amount), ruleId: code, reason: message });
    },

    recordApplied(seq: bigint, record: TradingRecord, events: readonly TradingEvent[], result: ApplyResult, replay: boolean): void {
      if (record.t === "place") identities.set(record.accountId, record.identityHash);
      if (replay && seq < auditedThrough) return;
      skip = replay && seq === auditedThrough ? o.audited.eventsOfSeq : 0;
      const jseq = Number(seq);
      const ts = iso(record);
      const orders = new Map<string, Readonly<Order>>();
      // Each side's fee arrives on its order's fill, just before the trade: the fills seen so
      // far, newest last (a trade finds its two within the last few).
      const fills: Array<{ tradeId: string; orderId: string; fee: bigint }> = [];
      const feeOf = (tradeId: string, orderId: string): bigint | undefined => {
        for (let i = fills.length - 1; i >= 0; i--) if (fills[i].tradeId === tradeId && fills[i].orderId === orderId) return fills[i].fee;
        return undefined;
      };
      const scope: RecordScope = { lastTrade: undefined, amended: false };
      for (const e of events) {
        if (e.kind === "order") {
          if (e.fill) fills.push({ tradeId: e.fill.tradeId, orderId: e.order.orderId, fee: e.fill.fee });
          onOrderEvent(jseq, ts, record, e, orders, scope);
        } else if (e.kind === "trade") {
          (scope.lastTrade ??= new Map()).set(e.symbol, { price: e.price, tradeId: e.tradeId });
          const maker = orders.get(e.makerOrderId);
          const taker = orders.get(e.takerOrderId);
          if (!maker || !taker) continue;
          const price = priceText(e.symbol, e.price);
          const qty = sizeText(e.symbol, e.size);
          const market = catalog.market(e.symbol);
          // The sale value, each side's fee and, on the seller's side, the tax withheld from it:
          // the tax report and the account ledger read these.
          const amount = market ? format.amount(market.quote, e.funds) : undefined;
          for (let side = 0; side < 2; side++) {
            const me = side === 0 ? taker : maker;
            const other = side === 0 ? maker : taker;
            const fee = feeOf(e.tradeId, me.orderId);
            const detail: Record<string, string> = {};
            if (market && fee !== undefined) detail.fee = format.amount(market.quote, fee);
            if (market && me.side === "sell") detail.tax = format.amount(market.quote, e.sellerTax);
            // The fields of { ts, jseq, symbol, price, qty, tradeId, ...fromOrder(me), ... } in one literal (fromOrder's symbol is the order's).
            append({
              type: "order.filled",
              ts,
              jseq,
              symbol: me.symbol,
              price,
              qty,
              tradeId: e.tradeId,
              account: me.accountId,
              identityHash: me.identityHash,
              wallet: me.accountId,
              apiKeyId: me.apiKeyId,
              clientOid: me.clientOid,
              orderId: me.orderId,
              side: me.side,
              liquidity: side === 0 ? "taker" : "maker",
              counterpartyAccount: other.accountId,
              counterpartyIdentityHash: other.identityHash,
              counterpartyOrderId: other.orderId,
              currency: market?.quote,
              amount,
              detail: Object.keys(detail).length ? detail : undefined,
            });
          }
        }
      }
      switch (record.t) {
        case "place":
          // Engine refusals come back as a failed result with the order never opened.
          if (!result.ok && !events.some((e) => e.kind === "order" && e.change === "rejected" && e.order.orderId === record.orderId)) {
            append({ type: "order.rejected", ts, jseq, account: record.accountId, identityHash: record.identityHash, wallet: record.accountId, apiKeyId: record.apiKeyId, clientOid: record.clientOid, orderId: record.orderId, symbol: record.symbol, side: record.side, ruleId: result.code, reason: "refused by the matching engine" });
          }
          break;
        case "deposit":
          if (result.ok) append({ type: "deposit", ts, jseq, account: record.accountId, identityHash: identityOf(record.accountId), wallet: record.accountId, currency: record.currency, amount: format.amount(record.currency, BigInt(record.amount)), actor: record.by, detail: { ref: record.ref } });
          break;
        case "settled":
          append({ type: "settlement.batch", ts, jseq, txHash: record.txHash, detail: { tradeIds: record.tradeIds, trades: record.tradeIds.length } });
          break;
        case "settleFailed":
        case "settleResolve": {
          const e = events.find((x) => x.kind === "settlementFailed" || x.kind === "settlementResolved");
          if (!e || (e.kind !== "settlementFailed" && e.kind !== "settlementResolved")) break;
          const t = e.trade;
          const market = catalog.market(t.symbol);
          append({
            type: e.kind === "settlementFailed" ? "settlement.failed" : "settlement.resolved",
            ts,
            jseq,
            symbol: t.symbol,
            tradeId: t.tradeId,
            account: t.buyerAccount,
            identityHash: identityOf(t.buyerAccount),
            counterpartyAccount: t.sellerAccount,
            counterpartyIdentityHash: identityOf(t.sellerAccount),
            qty: sizeText(t.symbol, t.size),
            currency: market?.quote,
            amount: market ? format.amount(market.quote, t.funds) : undefined,
            reason: t.reason,
            actor: e.kind === "settlementResolved" ? e.by : "settlement",
            // What a reversal gives back besides the sale value (the account ledger reads these).
            detail: e.kind === "settlementResolved" ? { action: e.action, note: e.note, ...(market ? { buyerFee: format.amount(market.quote, t.buyerFee), sellerFee: format.amount(market.quote, t.sellerFee), sellerTax: format.amount(market.quote, t.sellerTax) } : {}) } : undefined,
          });
          break;
        }
        case "withdrawRequest":
          append({ type: result.ok ? "withdrawal.requested" : "withdrawal.failed", ts, jseq, account: record.accountId, identityHash: identityOf(record.accountId), wallet: record.accountId, currency: record.currency, amount: format.amount(record.currency, BigInt(record.amount)), reason: result.ok ? undefined : result.code, detail: { withdrawalId: record.withdrawalId } });
          break;
        case "withdrawDone":
        case "withdrawFailed": {
          const w = events.find((e) => e.kind === "withdrawal");
          const wd = w?.kind === "withdrawal" ? w.withdrawal : undefined;
          append({
            type: record.t === "withdrawDone" ? "withdrawal.completed" : "withdrawal.failed",
            ts,
            jseq,
            account: wd?.accountId,
            identityHash: wd ? identityOf(wd.accountId) : undefined,
            wallet: wd?.accountId,
            currency: wd?.currency,
            amount: wd ? format.amount(wd.currency, wd.amount) : undefined,
            txHash: record.t === "withdrawDone" ? record.txHash : undefined,
            reason: record.t === "withdrawFailed" ? record.reason : undefined,
            detail: { withdrawalId: record.withdrawalId },
          });
          break;
        }
        case "custodyDebit": {
          if (!result.ok) break;
          const e = events.find((x) => x.kind === "custodyDebited");
          const owed = e?.kind === "custodyDebited" ? e.owed : 0n;
          append({
            type: "custody.debited",
            ts,
            jseq,
            account: record.accountId,
            identityHash: identityOf(record.accountId),
            wallet: record.accountId,
            currency: record.currency,
            amount: format.amount(record.currency, BigInt(record.amount)),
            txHash: record.txHash,
            actor: "token-agent",
            reason: record.kind === "seized" ? "custody seized by the token's agent (forced transfer)" : "custody returned to another wallet of the identity (recovery)",
            detail: {
              ref: record.ref,
              kind: record.kind,
              to: record.to,
              cancelledOrders: e?.kind === "custodyDebited" ? e.cancelled : [],
              // What the account no longer had on the ledger: its unsettled trades will fail at the vault.
              owed: format.amount(record.currency, owed),
            },
          });
          break;
        }
        case "marketStatus":
          append({ type: record.halted ? "market.halted" : "market.resumed", ts, jseq, symbol: record.symbol, reason: record.reason, actor: record.by });
          break;
        case "accountStatus":
          append({ type: "killSwitch", ts, jseq, account: record.accountId, identityHash: identityOf(record.accountId), wallet: record.accountId, reason: record.reason, actor: record.by, detail: { frozen: record.frozen } });
          break;
        case "listing": {
          const l = record.listing;
          if (result.ok) append({ type: "listing.created", ts, jseq, symbol: l.symbol, actor: l.listedBy, reason: `${l.assetClass}: ${l.underlying.type}`, detail: { ...l, offeringOpensAt: new Date(l.offeringOpensAt).toISOString(), prospectus: { ...l.prospectus, publishedAt: new Date(l.prospectus.publishedAt).toISOString() } } });
          else append({ type: "listing.refused", ts, jseq, symbol: l.symbol, actor: l.listedBy, ruleId: result.code, reason: "the market exists or its sizes make fractional amounts" });
          break;
        }
        case "taxPolicy": {
          const e = events.find((x) => x.kind === "taxPolicy");
          append({ type: "tax.rateChanged", ts, jseq, actor: record.by, reason: `tax withheld from sales: ${record.rateBps} bps of the sale value`, detail: { rateBps: record.rateBps, previousBps: e?.kind === "taxPolicy" ? e.previousBps : undefined, source: record.source } });
          break;
        }
        case "riskLimits":
          append({ type: "risk.limitsChanged", ts, jseq, actor: record.by, reason: record.reason ?? `${record.scope}${record.key ? ` ${record.key}` : ""}`, detail: { scope: record.scope, key: record.key, limits: record.limits } });
          break;
        case "amend": {
          const ord = orders.get(record.orderId) ?? result.order;
          if (!ord) break;
          if (result.ok) {
            if (!scope.amended) append(amendedEvent(jseq, ts, record, ord));
          } else {
            append({ type: "order.rejected", ts, jseq, ...fromOrder(ord), ruleId: result.code, reason: "amendment refused", detail: { amendment: true, newPrice: record.price !== undefined ? priceText(ord.symbol, record.price) : undefined, newSize: record.size !== undefined ? sizeText(ord.symbol, record.size) : undefined } });
          }
          break;
        }
        case "cancel":
        case "cancelAll":
          break; // the cancelled orders were recorded above with the reason
      }
      // Volatility halts are decided inside the core (no record of their own).
      for (const e of events) {
        if (e.kind === "marketStatus" && record.t !== "marketStatus") append({ type: e.halted ? "market.halted" : "market.resumed", ts, jseq, symbol: e.symbol, reason: e.reason, actor: "volatility-guard" });
      }
    },

    flush: () => o.flush(),
  };
}

function cancelReason(record: TradingRecord, code: string): string {
  if (record.t === "cancel") return "user";
  if (record.t === "cancelAll") return record.reason;
  if (record.t === "accountStatus") return record.by === IDENTITY_SWEEP ? "identity" : "killSwitch";
  if (record.t === "marketStatus") return "halt";
  if (record.t === "custodyDebit") return "custody";
  switch (code) {
    case "ENGINE_IOC_REMAINDER":
      return "ioc";
    case "ENGINE_FOK_NOT_FILLED":
      return "fok";
    case "ENGINE_MARKET_NO_LIQUIDITY":
      return "noLiquidity";
    case "ENGINE_POST_ONLY_WOULD_TAKE":
      return "postOnly";
    default:
      return code.startsWith("ENGINE_STP_") ? "stp" : "engine";
  }
}
