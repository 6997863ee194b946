import type { MarketCatalog } from "../markets/marketCatalog.ts";
import type { Market } from "../markets/types.ts";
import type { PlaceRecord } from "../records/tradingRecords.ts";
import type { RiskView } from "./riskView.ts";
import { HolderCode, RiskCode, type RiskRejection } from "./types.ts";

/** PermissionedToken.COUNTRY_RULE_*: how the token's country list binds receivers. */
export const COUNTRY_RULE = { any: 0, allowList: 1, blockList: 2 } as const;
export type CountryRule = (typeof COUNTRY_RULE)[keyof typeof COUNTRY_RULE];

/** PermissionedToken.TransferRules plus the token's fixed identity tracking. */
export type TokenRules = {
  paused: boolean;
  minKycLevel: number;
  /** Bit (1 << investorType); 0 admits every type. */
  investorTypeMask: number;
  /** 0: every country receives; 1: only the listed ones; 2: all but the listed ones. */
  countryRule: CountryRule;
  /** 0n: no cap. */
  maxBalancePerIdentity: bigint;
  tracksIdentityBalances: boolean;
};

/** IIdentityRegistry.Identity with its hash. */
export type IdentityRecord = {
  identityHash: string;
  kycLevel: number;
  country: number;
  investorType: number;
  /** Unix seconds; the attestation is void from this second on. */
  expiresAt: number;
  revoked: boolean;
  issuer: string;
};

/**
 * The chain's state as of one block, as the gateway's view caches it (chain/holderRulesView.ts).
 * Addresses and hashes are lower-case hex. Nothing here is configured by the gateway: every
 * value is read from the contracts, so the rules below are the contracts' rules.
 */
export interface HolderState {
  readonly block: bigint;
  /** The block's timestamp, unix seconds. */
  readonly timestamp: number;
  rules(token: string): TokenRules | undefined;
  /** PermissionedToken.isCountryListed: what the listing means follows the token's country rule. */
  countryListed(token: string, country: number): boolean;
  /** The identity bound to `wallet`, valid or not; undefined when the wallet is bound to none. */
  identityOf(wallet: string): IdentityRecord | undefined;
  issuerTrusted(issuer: string): boolean;
  walletsOf(identityHash: string): Iterable<string>;
  addressFrozen(token: string, wallet: string): boolean;
  frozenTokens(token: string, wallet: string): bigint;
  /** Tokens in the wallet itself (custody balances are in the vault's books). */
  balanceOf(token: string, wallet: string): bigint;
  /**
   * What the vault books for the wallet. Kept only where the wallet has a frozen amount on the
   * token: the only place the token looks at custody (a freeze covers wallet + custody).
   */
  custodyOf(token: string, wallet: string): bigint;
  /** PermissionedToken.identityBalance: wallets plus custody, for tokens that track it. */
  identityBalance(token: string, identityHash: string): bigint;
  /** What trades the exchange matched, not yet settled as of this block, bring the identity. */
  pendingReceipts(token: string, identityHash: string): bigint;
}

export type HolderRefusal = { code: RiskCode; message: string };

const INVESTOR_TYPES: Record<number, string> = { 1: "retail", 2: "professional", 3: "institutional" };

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/**
 * IdentityRegistry.verifiedIdentityOf at time `at` (unix seconds): null when the wallet's e-ID
 * is valid then, otherwise why it is not.
 */
export function identityRefusal(s: HolderState, wallet: string, at: number): HolderRefusal | null {
  const id = s.identityOf(wallet);
  if (!id) return { code: HolderCode.IDENTITY_NOT_VERIFIED, message: `wallet ${wallet} is bound to no e-ID in the IdentityRegistry (as of block ${s.block})` };
  if (id.revoked) return { code: HolderCode.IDENTITY_REVOKED, message: "the wallet's e-ID attestation is revoked" };
  if (!s.issuerTrusted(id.issuer)) return { code: HolderCode.IDENTITY_NOT_VERIFIED, message: `the e-ID's issuer ${id.issuer} is no longer trusted` };
  if (id.expiresAt <= at) return { code: HolderCode.IDENTITY_EXPIRES, message: `the e-ID expires at ${iso(id.expiresAt)}, before ${iso(at)}, the latest this may settle` };
  return null;
}

/**
 * PermissionedToken._eligible for `wallet` on `token` (and _checkIdentity when it receives):
 * not frozen, a valid e-ID at time `at`, and for a receiver the token's level, investor-type
 * and country rules.
 */
export function eligibilityRefusal(s: HolderState, token: string, wallet: string, receiving: boolean, at: number, label = `token ${token}`): HolderRefusal | null {
  if (s.addressFrozen(token, wallet)) return { code: HolderCode.HOLDER_FROZEN, message: `the wallet is frozen on ${label} by its transfer agent` };
  const bad = identityRefusal(s, wallet, at);
  if (bad || !receiving) return bad;
  const r = s.rules(token);
  if (!r) return { code: HolderCode.TOKEN_PAUSED, message: `the rules of ${label} are not known to the gateway` };
  const id = s.identityOf(wallet)!;
  if (id.kycLevel < r.minKycLevel) return { code: HolderCode.HOLDER_KYC_LEVEL, message: `${label} needs an e-ID of level ${r.minKycLevel}; this one is level ${id.kycLevel}` };
  if (r.investorTypeMask !== 0 && (r.investorTypeMask & (1 << id.investorType)) === 0) {
    const open = Object.entries(INVESTOR_TYPES).filter(([t]) => (r.investorTypeMask & (1 << Number(t))) !== 0).map(([, name]) => name);
    return { code: HolderCode.HOLDER_INVESTOR_TYPE, message: `${label} is open to ${open.join(" and ") || "no"} investors only; this e-ID is ${INVESTOR_TYPES[id.investorType] ?? `type ${id.investorType}`}` };
  }
  if (r.countryRule === COUNTRY_RULE.allowList && !s.countryListed(token, id.country)) return { code: HolderCode.HOLDER_COUNTRY, message: `${label} is not open to holders from country ${id.country}` };
  if (r.countryRule === COUNTRY_RULE.blockList && s.countryListed(token, id.country)) {
    return { code: HolderCode.HOLDER_COUNTRY, message: `${label} may not be received by holders from country ${id.country} (the token's country rule)` };
  }
  return null;
}

/** PermissionedToken.canSend: eligible to send, and not everything it holds (wallet + custody) frozen. */
export function sendRefusal(s: HolderState, token: string, wallet: string, at: number, label = `token ${token}`): HolderRefusal | null {
  const bad = eligibilityRefusal(s, token, wallet, false, at, label);
  if (bad) return bad;
  const frozen = s.frozenTokens(token, wallet);
  if (frozen !== 0n && s.balanceOf(token, wallet) + s.custodyOf(token, wallet) <= frozen) {
    return { code: HolderCode.HOLDER_FROZEN_AMOUNT, message: `everything the wallet holds of ${label} is frozen by its transfer agent` };
  }
  return null;
}

/** PermissionedToken.canTransfer between two wallets (neither a custodian) at time `at`. */
export function transferRefusal(s: HolderState, token: string, from: string, to: string, amount: bigint, at: number): HolderRefusal | null {
  const r = s.rules(token);
  if (!r || r.paused) return { code: HolderCode.TOKEN_PAUSED, message: `token ${token} is paused` };
  const bad = eligibilityRefusal(s, token, to, true, at);
  if (bad) return bad;
  const balance = s.balanceOf(token, from);
  if (amount > balance) return { code: RiskCode.INSUFFICIENT_FUNDS, message: `the wallet holds ${balance}` };
  const badFrom = eligibilityRefusal(s, token, from, false, at);
  if (badFrom) return badFrom;
  // PermissionedToken._spendable: what its holdings (wallet + custody) hold above the frozen amount, at most the wallet.
  const frozen = s.frozenTokens(token, from);
  if (frozen !== 0n) {
    const held = balance + s.custodyOf(token, from);
    const free = held > frozen ? held - frozen : 0n;
    if (amount > (free < balance ? free : balance)) return { code: HolderCode.HOLDER_FROZEN_AMOUNT, message: `${frozen} of what the wallet holds (${held}) are frozen` };
  }
  if (r.tracksIdentityBalances && r.maxBalancePerIdentity !== 0n) {
    const toId = s.identityOf(to)!.identityHash;
    if (s.identityOf(from)!.identityHash !== toId && s.identityBalance(token, toId) + amount > r.maxBalancePerIdentity) {
      return { code: HolderCode.HOLDER_CAP, message: `the receiver's identity would hold more than ${r.maxBalancePerIdentity}` };
    }
  }
  return null;
}

export type HolderOrder = Pick<PlaceRecord, "accountId" | "symbol" | "side" | "type" | "price" | "size" | "funds" | "stop">;

export type MarketEligibility = {
  symbol: string;
  canBuy: boolean;
  canSell: boolean;
  buyRefusal?: RiskRejection;
  sellRefusal?: RiskRejection;
  /** Base units the identity may still acquire under the asset's per-identity cap (absent: no cap). */
  buyCapacity?: bigint;
};

/** The chain's rules on an order or a withdrawal, checked before it reaches the engine. */
export interface HolderRules {
  /** Why the vault would refuse to settle this order's trades, or null. */
  checkOrder(order: HolderOrder, view: RiskView, now: number): RiskRejection | null;
  /** Why the vault would refuse to pay this withdrawal out to the account's wallet, or null. */
  checkWithdrawal(accountId: string, currency: string, amount: bigint, view: RiskView, now: number): RiskRejection | null;
  /** Per market: whether the account may buy and sell its smallest size now, and why not. */
  eligibility(accountId: string, view: RiskView, now: number): MarketEligibility[];
}

export type HolderRulesOptions = {
  catalog: MarketCatalog;
  /**
   * The latest a trade accepted now may settle, ms: an e-ID must still be valid then, since the
   * vault checks it at settlement (SEN_SETTLEMENT_HORIZON_MS).
   */
  horizonMs: number;
  /**
   * The chain states a verdict must hold in: the head (a change that restricts counts at once)
   * and, with confirmations, the confirmed block (a change that permits counts only once it
   * cannot be reorganised away).
   */
  states: () => readonly HolderState[];
};

/**
 * Settlement (SettlementVault.settleBatch → custodyTransfer on both tokens) asks: the asset
 * and the cash token not paused; the seller can send the asset and receive cash; the buyer
 * can receive the asset and send cash; the buyer's identity stays under the asset's cap.
 * A payout (SettlementVault.withdraw) asks that the wallet be verified and able to receive.
 */
export function createHolderRules(o: HolderRulesOptions): HolderRules {
  const { catalog } = o;
  // The view keys tokens in lower case. Each lowered once: a check looks several up, and a fresh
  // string is converted again, and hashed again by every Map it meets.
  const lowered = new Map<string, string>();
  const tokenOf = (currency: string) => {
    const token = catalog.currency(currency)?.token;
    if (token === undefined || token === null) return undefined;
    let lower = lowered.get(token);
    if (lower === undefined) lowered.set(token, (lower = token.toLowerCase()));
    return lower;
  };
  const settleBy = (s: HolderState, now: number) => Math.floor((Math.max(now, s.timestamp * 1000) + o.horizonMs) / 1000);
  const scale = (m: Market) => 10n ** BigInt(catalog.currency(m.base)!.decimals);

  const paused = (s: HolderState, token: string, currency: string): HolderRefusal | null => {
    const r = s.rules(token);
    if (!r) return { code: HolderCode.TOKEN_PAUSED, message: `the rules of ${currency} are not known to the gateway` };
    return r.paused ? { code: HolderCode.TOKEN_PAUSED, message: `${currency} is paused on chain by its transfer agent` } : null;
  };

  type Remaining = { symbol: string; side: "buy" | "sell"; size: bigint; funds: bigint; price: number };
  /** The most of `token` an order can still bring its owner (a buy: base units; a sell: quote). */
  const incoming = (view: RiskView, r: Remaining, token: string): bigint => {
    const m = catalog.market(r.symbol)!;
    const best = view.bestPrices(r.symbol);
    if (r.side === "buy" && tokenOf(m.base) === token) {
      if (r.size > 0n) return r.size;
      // By funds: the lowest price it can pay gives the most units.
      const price = r.price || best.ask;
      return price > 0 ? (r.funds * scale(m)) / BigInt(price) : 0n;
    }
    if (r.side === "sell" && tokenOf(m.quote) === token) {
      const price = r.price || best.bid;
      return (r.size * BigInt(price)) / scale(m);
    }
    return 0n;
  };
  const remainingOf = (order: HolderOrder): Remaining => ({
    symbol: order.symbol,
    side: order.side,
    size: BigInt(order.size ?? 0),
    funds: BigInt(order.funds ?? 0),
    price: order.price ?? order.stop?.stopPrice ?? 0,
  });

  /** The per-identity cap (PermissionedToken._moveIdentityBalance) after everything pending. */
  const capRefusal = (s: HolderState, view: RiskView, token: string, currency: string, wallet: string, more: bigint): { refusal: HolderRefusal | null; room?: bigint } => {
    const r = s.rules(token)!;
    if (!r.tracksIdentityBalances || r.maxBalancePerIdentity === 0n) return { refusal: null };
    const id = s.identityOf(wallet)!.identityHash;
    let held = s.identityBalance(token, id) + s.pendingReceipts(token, id);
    for (const w of new Set([wallet, ...s.walletsOf(id)])) {
      for (const orderId of view.openOrderIds(w)) {
        const ord = view.order(orderId);
        if (!ord?.isActive) continue;
        const size = ord.size > 0 ? BigInt(ord.size - ord.dealSize) : 0n;
        held += incoming(view, { symbol: ord.symbol, side: ord.side, size, funds: ord.funds - ord.dealFunds, price: ord.price || (ord.stop?.stopPrice ?? 0) }, token);
      }
    }
    const cap = r.maxBalancePerIdentity;
    const room = held >= cap ? 0n : cap - held;
    if (more <= room) return { refusal: null, room };
    return { refusal: { code: HolderCode.HOLDER_CAP, message: `${currency} allows ${cap} per identity; with holdings, unsettled trades and open orders this identity may acquire at most ${room} more` }, room };
  };

  const buyRefusal = (s: HolderState, view: RiskView, m: Market, wallet: string, more: bigint, pay: bigint, now: number) => {
    const base = tokenOf(m.base);
    const quote = tokenOf(m.quote);
    if (!base || !quote) return { refusal: null };
    const at = settleBy(s, now);
    const refusal =
      paused(s, base, m.base) ??
      eligibilityRefusal(s, base, wallet, true, at, m.base) ??
      paused(s, quote, m.quote) ??
      eligibilityRefusal(s, quote, wallet, false, at, m.quote) ??
      frozenAmountRefusal(s, view, quote, m.quote, wallet, pay, "spent");
    return refusal ? { refusal } : capRefusal(s, view, base, m.base, wallet, more);
  };

  const sellRefusal = (s: HolderState, view: RiskView, m: Market, wallet: string, size: bigint, cash: bigint, now: number): HolderRefusal | null => {
    const base = tokenOf(m.base);
    const quote = tokenOf(m.quote);
    if (!base || !quote) return null;
    const at = settleBy(s, now);
    return (
      paused(s, base, m.base) ??
      eligibilityRefusal(s, base, wallet, false, at, m.base) ??
      frozenAmountRefusal(s, view, base, m.base, wallet, size, "sold") ??
      paused(s, quote, m.quote) ??
      eligibilityRefusal(s, quote, wallet, true, at, m.quote) ??
      capRefusal(s, view, quote, m.quote, wallet, cash).refusal
    );
  };

  /**
   * A partial freeze covers the wallet and its custody together: what the wallet holds plus
   * what the ledger has available (custody once everything pending settles) must stay at
   * least the frozen amount after this sale.
   */
  const frozenAmountRefusal = (s: HolderState, view: RiskView, token: string, currency: string, wallet: string, amount: bigint, verb: string): HolderRefusal | null => {
    const frozen = s.frozenTokens(token, wallet);
    if (frozen === 0n) return null;
    const held = s.balanceOf(token, wallet) + view.ledger.balance(wallet, currency).available;
    if (held - amount >= frozen) return null;
    const free = held > frozen ? held - frozen : 0n;
    return { code: HolderCode.HOLDER_FROZEN_AMOUNT, message: `${frozen} ${currency} of this wallet are frozen by the transfer agent; at most ${free} can be ${verb}` };
  };

  return {
    checkOrder(order, view, now) {
      const m = catalog.market(order.symbol);
      if (!m) return null;
      const r = remainingOf(order);
      for (const s of o.states()) {
        const refusal =
          order.side === "buy"
            ? buyRefusal(s, view, m, order.accountId, incoming(view, r, tokenOf(m.base) ?? ""), view.holdFor(order)?.amount ?? 0n, now).refusal
            : sellRefusal(s, view, m, order.accountId, r.size, incoming(view, r, tokenOf(m.quote) ?? ""), now);
        if (refusal) return refusal;
      }
      return null;
    },

    checkWithdrawal(accountId, currency, _amount, _view, now) {
      const token = tokenOf(currency);
      if (!token) return null;
      // The payout moves custody to the wallet: the identity's holdings (and a partial
      // freeze's cover) stay the same, so only verification and the receiver rules apply.
      for (const s of o.states()) {
        const refusal = paused(s, token, currency) ?? eligibilityRefusal(s, token, accountId, true, settleBy(s, now), currency);
        if (refusal) return refusal;
      }
      return null;
    },

    eligibility(accountId, view, now) {
      return [...catalog.markets.values()].map((m) => {
        const minQty = BigInt(m.minQty);
        let buy: HolderRefusal | null = null;
        let sell: HolderRefusal | null = null;
        let buyCapacity: bigint | undefined;
        for (const s of o.states()) {
          const b = buyRefusal(s, view, m, accountId, minQty, 0n, now);
          buy ??= b.refusal;
          if (b.room !== undefined) buyCapacity = buyCapacity === undefined || b.room < buyCapacity ? b.room : buyCapacity;
          sell ??= sellRefusal(s, view, m, accountId, minQty, 0n, now);
        }
        return {
          symbol: m.symbol,
          canBuy: buy === null,
          canSell: sell === null,
          ...(buy ? { buyRefusal: buy } : {}),
          ...(sell ? { sellRefusal: sell } : {}),
          ...(buyCapacity !== undefined ? { buyCapacity } : {}),
        };
      });
    },
  };
}
