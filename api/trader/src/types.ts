/** Shapes of the gateway's replies the trader app reads (KuCoin's, plus Sen's fields). */
export type SymbolInfo = { symbol: string; name: string; baseCurrency: string; quoteCurrency: string; baseMinSize: string; baseIncrement: string; priceIncrement: string; enableTrading: boolean };
export type Ticker = { symbol: string; last: string | null; changeRate: string | null; changePrice: string | null; high: string | null; low: string | null; vol: string | null; volValue: string | null; buy: string | null; sell: string | null };
export type Level = [string, string];
export type Trade = { tradeId: string; price: string; size: string; side: "buy" | "sell"; time: string };
export type Order = {
  id: string;
  clientOid: string;
  symbol: string;
  type: string;
  side: "buy" | "sell";
  price: string;
  size: string;
  funds: string;
  dealSize: string;
  dealFunds: string;
  timeInForce: string;
  postOnly: boolean;
  isActive: boolean;
  cancelExist: boolean;
  createdAt: number;
  stop?: string;
  stopPrice?: string;
};
export type StopOrder = { id: string; symbol: string; side: "buy" | "sell"; type: string; price?: string; size?: string; funds?: string; stop: string; stopPrice: string; status?: string; createdAt?: number };
export type Fill = {
  tradeId: string;
  orderId: string;
  symbol: string;
  side: "buy" | "sell";
  liquidity: "maker" | "taker";
  price: string;
  size: string;
  funds: string;
  fee: string;
  createdAt: number;
  settlementTxHash: string | null;
  settlementStatus: "pending" | "settled" | "failed" | "reversed";
  settlementError: string | null;
};
export type Balance = { currency: string; balance: string; available: string; holds: string };
export type WalletHoldings = { wallet: string; vault: string; items: Array<{ currency: string; token: string; wallet: string; custody: string }> };
export type Withdrawal = { id: string; currency: string; amount: string; status: "PROCESSING" | "SUCCESS" | "FAILURE"; walletTxId: string | null; remark: string; createdAt: number };
export type ApiKey = { apiKeyId: string; label: string; permissions: string[]; ipWhitelist: string[]; createdAt: string; revokedAt?: string; disabledReason?: string };
/** The holder rule that would refuse: Sen's code, KuCoin's, and the rule's own words (e.g. NQ05-FOREIGN-ONLY: …). */
export type EligibilityRefusal = { senCode: string; code: string; reason: string };
export type Eligibility = { checked: boolean; items: Array<{ symbol: string; canBuy: boolean; canSell: boolean; buyRefusal: EligibilityRefusal | null; sellRefusal: EligibilityRefusal | null; buyCapacity: string | null }> };
/** GET /api/v1/sen/trader-settings. confirmOrderVnd: orders worth this many đồng or more ask first (SEN_CONFIRM_ORDER_VND). */
export type Settings = { chainId: number; onboardingUrl: string; explorerTxUrl: string | null; vault: string | null; confirmOrderVnd?: string };
export type Paged<T> = { items: T[] };
