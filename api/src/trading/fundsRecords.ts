import type { Ledger } from "../ledger/ledger.ts";
import type { MarketCatalog } from "../markets/marketCatalog.ts";
import type {
  DepositRecord,
  SettledRecord,
  SettleFailedRecord,
  SettleResolveRecord,
  WithdrawDoneRecord,
  WithdrawFailedRecord,
  WithdrawRequestRecord,
} from "../records/tradingRecords.ts";
import { TradingCode } from "./codes.ts";
import type { TradingEvent } from "./events.ts";
import type { FillHistory } from "./fillHistory.ts";
import type { Funding } from "./funding.ts";
import type { HouseAccounts, SettlementBook } from "./settlementBook.ts";

/**
 * The records that move money after the order book has done its part: deposits and withdrawals
 * (Funding), and the chain's answers about trades (SettlementBook, reflected on the fills). They
 * touch no order and no book, so they are applied here, apart from the order lifecycle that
 * TradingCore runs; the core still decides when (inside its `apply`, between #begin and its
 * events' flush), so a replay repeats the same changes and events in the same order.
 */
export type FundsRecord = DepositRecord | WithdrawRequestRecord | WithdrawDoneRecord | WithdrawFailedRecord | SettledRecord | SettleFailedRecord | SettleResolveRecord;

/** What applying one needs of the core: its parts, read at call time (a restore replaces the ledger), and its per-apply outlets. */
export type FundsScope = {
  readonly catalog: MarketCatalog;
  readonly house: HouseAccounts;
  readonly ledger: Ledger;
  readonly funding: Funding;
  readonly settlements: SettlementBook;
  readonly fills: FillHistory;
  /** The record's time. */
  readonly ts: number;
  emit(e: TradingEvent): void;
  balanceChanged(accountId: string, currency: string, relationEvent: string): void;
};

export function applyFundsRecord(s: FundsScope, r: FundsRecord): { ok: true } | { ok: false; code: string } {
  switch (r.t) {
    case "deposit":
      if (!s.funding.credit(r, s.ledger)) return { ok: false, code: TradingCode.DEPOSIT_DUPLICATE };
      s.balanceChanged(r.accountId, r.currency, "deposit");
      return { ok: true };
    case "withdrawRequest": {
      const w = s.funding.request(r, s.ledger);
      if (w === undefined) return { ok: false, code: "RISK_INSUFFICIENT_FUNDS" };
      s.balanceChanged(r.accountId, r.currency, "trade.hold");
      s.emit({ kind: "withdrawal", withdrawal: { ...w }, ts: s.ts });
      return { ok: true };
    }
    case "withdrawDone":
    case "withdrawFailed": {
      const w = s.funding.conclude(r, s.ledger);
      if (w === undefined) return { ok: false, code: TradingCode.WITHDRAWAL_NOT_PENDING };
      s.balanceChanged(w.accountId, w.currency, "trade.hold");
      s.emit({ kind: "withdrawal", withdrawal: { ...w }, ts: s.ts });
      return { ok: true };
    }
    case "settled":
      for (const id of r.tradeIds) {
        const t = s.settlements.settle(id);
        if (t !== undefined) s.fills.markSettled(t, r.txHash);
      }
      s.emit({ kind: "settled", tradeIds: r.tradeIds, txHash: r.txHash, ts: s.ts });
      return { ok: true };
    case "settleFailed": {
      const failed = s.settlements.fail(r.tradeId, r.reason, r.ts);
      if (failed === undefined) return { ok: false, code: TradingCode.SETTLEMENT_NOT_PENDING };
      s.fills.mark(failed, { settlementStatus: "failed", settlementError: r.reason });
      s.emit({ kind: "settlementFailed", trade: { ...failed }, ts: s.ts });
      return { ok: true };
    }
    case "settleResolve":
      return resolveSettlement(s, r);
  }
}

/** An operator's decision on a trade the vault refused: send it again, or undo it on the ledger (fees and tax included). */
function resolveSettlement(s: FundsScope, r: SettleResolveRecord): { ok: true } | { ok: false; code: string } {
  const f = s.settlements.failed(r.tradeId);
  if (!f) return { ok: false, code: TradingCode.SETTLEMENT_NOT_FAILED };
  if (r.action === "retry") {
    s.settlements.retry(f);
    s.fills.mark(f, { settlementStatus: undefined, settlementError: undefined });
  } else {
    const market = s.catalog.market(f.symbol)!;
    if (!s.settlements.reverse(f, market, s.ledger, s.house)) return { ok: false, code: TradingCode.SETTLEMENT_REVERSE_INSUFFICIENT };
    s.fills.mark(f, { settlementStatus: "reversed", settlementError: f.reason });
    for (const [account, currency] of [
      [f.sellerAccount, market.quote],
      [f.sellerAccount, market.base],
      [f.buyerAccount, market.quote],
      [f.buyerAccount, market.base],
      [s.house.feeAccount, market.quote],
      [s.house.taxAccount, market.quote],
    ] as const) s.balanceChanged(account, currency, "trade.reversed");
  }
  s.emit({ kind: "settlementResolved", trade: { ...f }, action: r.action, by: r.by, note: r.note, ts: s.ts });
  return { ok: true };
}
