import type { EngineSnapshot } from "../../../matching-engine/src/index.ts";
import type { LedgerSnapshot } from "../ledger/ledger.ts";
import type { Listing } from "../listing/listing.ts";
import type { FillHistorySnapshot } from "./fillHistory.ts";
import type { FundingSnapshot } from "./funding.ts";
import type { OrderStoreSnapshot } from "./orderStore.ts";
import type { SettlementBookSnapshot } from "./settlementBook.ts";
import type { TradingHaltsSnapshot } from "./tradingHalts.ts";

/**
 * A trading core's whole state as saved on disk: each part's own snapshot, side by side in one
 * flat object (the shape snapshots have always had, so every snapshot ever saved still restores).
 * TradingCore.snapshot writes the keys in this order; fields marked optional are absent in
 * snapshots from before they existed, and each part restores those with the old meaning.
 */
export type TradingCoreSnapshot = {
  version: 1;
  engine: EngineSnapshot;
  ledger: LedgerSnapshot;
  orders: OrderStoreSnapshot["orders"];
  /** `order`: the order store's id counter; `trade`: trades made so far (the core's). */
  counters: { order: number; trade: number };
  deposits: FundingSnapshot["deposits"];
  frozen: TradingHaltsSnapshot["frozen"];
  markets: TradingHaltsSnapshot["markets"];
  fills: FillHistorySnapshot["fills"];
  unsettled: SettlementBookSnapshot["unsettled"];
  withdrawals: FundingSnapshot["withdrawals"];
  settlementTx?: FillHistorySnapshot["settlementTx"];
  failedSettlements?: SettlementBookSnapshot["failedSettlements"];
  /** Markets added by the listing flow (absent in older snapshots). */
  listings?: Listing[];
  /** The tax rate in force (absent in snapshots from before tax: 0). */
  taxRateBps?: number;
  finished?: OrderStoreSnapshot["finished"];
  depositHistory?: FundingSnapshot["depositHistory"];
  custodyDebits?: FundingSnapshot["custodyDebits"];
};
