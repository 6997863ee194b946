import { BlockNotFoundError, keccak256, parseAbi, toHex, zeroAddress, zeroHash, type Address, type Hex, type PublicClient } from "viem";
import type { MarketCatalog } from "../markets/marketCatalog.ts";
import { createHolderRules, type HolderRules, type HolderState, type IdentityRecord, type TokenRules } from "../risk/holderRules.ts";
import type { TradingQueries } from "../trading/queries.ts";

export const holderStateAbi = parseAbi([
  "struct Identity { uint8 kycLevel; uint16 country; uint8 investorType; uint40 expiresAt; bool revoked; address issuer; }",
  "struct TransferRules { bool paused; uint8 minKycLevel; uint8 investorTypeMask; uint8 countryRule; uint128 maxBalancePerIdentity; }",
  "function identityOf(address wallet) view returns (bytes32 identityHash, Identity identity)",
  "function identity(bytes32 identityHash) view returns (Identity)",
  "function hasRole(bytes32 role, address account) view returns (bool)",
  "function transferRules() view returns (TransferRules)",
  "function tracksIdentityBalances() view returns (bool)",
  "function isCountryListed(uint16 country) view returns (bool)",
  "function isAddressFrozen(address account) view returns (bool)",
  "function getFrozenTokens(address account) view returns (uint256)",
  "function balanceOf(address account) view returns (uint256)",
  "function identityBalance(bytes32 identityHash) view returns (uint256)",
]);

const custodyAbi = parseAbi(["function balanceOf(address token, address wallet) view returns (uint256)"]);

/** Events that say which part of the holder state changed; the state itself is re-read. */
const changeEvents = parseAbi([
  "event IdentityAttested(bytes32 indexed identityHash, address indexed issuer, uint8 kycLevel, uint16 country, uint8 investorType, uint40 expiresAt)",
  "event IdentityRevoked(bytes32 indexed identityHash, address indexed by)",
  "event GovernanceRevocationLifted(bytes32 indexed identityHash)",
  "event WalletAdded(bytes32 indexed identityHash, address indexed wallet)",
  "event WalletRemoved(bytes32 indexed identityHash, address indexed wallet)",
  "event TrustedIssuerAdded(address indexed issuer)",
  "event TrustedIssuerRemoved(address indexed issuer)",
  "event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender)",
  "event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender)",
  "event Transfer(address indexed from, address indexed to, uint256 value)",
  "event AddressFrozen(address indexed account, bool frozen, address indexed agent)",
  "event Frozen(address indexed account, uint256 amount)",
  "event BalanceRecovered(address indexed lostWallet, address indexed newWallet, bytes32 indexed identityHash, uint256 amount)",
  "event TokenPaused(address indexed by)",
  "event TokenUnpaused(address indexed by)",
  "event TransferRulesSet(uint8 minKycLevel, uint8 investorTypeMask, uint8 countryRule, uint128 maxBalancePerIdentity)",
  "event CountryListed(uint16 indexed country, bool listed)",
  "event TradeSettled(uint256 indexed tradeId, address indexed seller, address indexed buyer, address asset, uint256 assetAmount, uint256 cashAmount, uint256 sellerFee, uint256 buyerFee, uint256 sellerTax)",
  "event Deposited(uint256 indexed depositId, address indexed wallet, address indexed token, uint256 amount)",
  "event Withdrawn(uint256 indexed withdrawalId, address indexed wallet, address indexed token, uint256 amount)",
  "event CustodyReturned(address indexed token, address indexed fromWallet, address indexed toWallet, uint256 amount)",
  "event CustodySeized(address indexed token, address indexed fromWallet, address indexed toWallet, uint256 amount)",
]);

const ISSUER_ROLE = keccak256(toHex("ISSUER_ROLE"));
/** Synced blocks remembered to find where a reorganisation forked. */
const CHECKPOINTS = 64;
const READ_CONCURRENCY = 16;

type Client = Pick<PublicClient, "getBlockNumber" | "getBlock" | "getLogs" | "readContract">;

export type HolderRulesViewOptions = {
  publicClient: Client;
  contracts: { IdentityRegistry: Address; SettlementVault: Address };
  catalog: MarketCatalog;
  /** Its trades count against a buyer's cap until the view sees them settled on chain. */
  queries: Pick<TradingQueries, "unsettledTrades" | "failedSettlements" | "onApplied" | "order">;
  /** The deployment block: events are read from here on start. */
  startBlock: bigint;
  /** A change that permits counts once this many blocks deep; one that restricts, at once. */
  confirmations: number;
  pollMs: number;
  horizonMs: number;
  /** Blocks per eth_getLogs request (providers cap the range). */
  logRange?: bigint;
  onError?: (err: unknown) => void;
};

export type HolderRulesView = {
  rules: HolderRules;
  /** Brings every state up to the chain's current head (confirmed state: head - confirmations). */
  sync(): Promise<void>;
  /** The chain states verdicts are taken in: the head first, then the confirmed block. */
  states(): readonly HolderState[];
  stop(): void;
};

/**
 * The gateway's copy of the holder rules on chain: every listed token's rules, pause flag,
 * country list, freezes, balances and per-identity holdings, and every bound wallet's e-ID.
 * Read in full at start, then kept current from the contracts' events. Events only say what
 * changed: the state is read again from the contracts at the synced block, so an event that a
 * reorganisation removed cannot leave a wrong value (a reorg re-reads everything).
 */
export async function startHolderRulesView(o: HolderRulesViewOptions): Promise<HolderRulesView> {
  const tokens = [...o.catalog.currencies.values()].flatMap((c) => (c.token ? [c.token.toLowerCase()] : []));
  const pending = new PendingSettlements();
  // Lowered once per token, as in risk/holderRules.ts: two per trade otherwise.
  const lowered = new Map<string, string>();
  const tokenOf = (currency: string) => {
    const token = o.catalog.currency(currency)?.token;
    if (token === undefined || token === null) return undefined;
    let lower = lowered.get(token);
    if (lower === undefined) lowered.set(token, (lower = token.toLowerCase()));
    return lower;
  };
  const addTrade = (tradeId: string, symbol: string, buyer: string, seller: string, size: bigint, funds: bigint) => {
    const m = o.catalog.market(symbol);
    const base = m && tokenOf(m.base);
    const quote = m && tokenOf(m.quote);
    if (base && quote) pending.add(tradeId, [[base, buyer, size], [quote, seller, funds]]);
  };
  for (const t of o.queries.unsettledTrades()) addTrade(t.tradeId, t.symbol, t.buyerAccount, t.sellerAccount, BigInt(t.size), t.funds);
  for (const t of o.queries.failedSettlements()) addTrade(t.tradeId, t.symbol, t.buyerAccount, t.sellerAccount, BigInt(t.size), t.funds);
  const unsubscribe = o.queries.onApplied((e) => {
    if (e.kind === "trade") {
      const maker = o.queries.order(e.makerOrderId);
      const taker = o.queries.order(e.takerOrderId);
      if (!maker || !taker) return;
      const [buyer, seller] = e.side === "buy" ? [taker, maker] : [maker, taker];
      const m = o.catalog.market(e.symbol)!;
      addTrade(e.tradeId, e.symbol, buyer.accountId, seller.accountId, BigInt(e.size), o.catalog.notional(m, e.price, e.size));
    } else if (e.kind === "settlementResolved" && e.action === "reverse") pending.remove(e.trade.tradeId);
    else if (e.kind === "listed" && e.listing.token && !tokens.includes(e.listing.token.toLowerCase())) {
      // A token listed while running: read its whole state at the next sync, then follow its events.
      tokens.push(e.listing.token.toLowerCase());
      for (const m of mirrors) m.refreshAll();
      void sync().catch((err: unknown) => o.onError?.(err));
    }
  });

  const shared: MirrorShared = {
    client: o.publicClient,
    registry: o.contracts.IdentityRegistry.toLowerCase() as Address,
    vault: o.contracts.SettlementVault.toLowerCase() as Address,
    tokens,
    tracks: new Map(),
    startBlock: o.startBlock,
    logRange: o.logRange ?? 10_000n,
    pending,
  };
  const mirrors = [new ChainMirror(shared, 0n)];
  if (o.confirmations > 0) mirrors.push(new ChainMirror(shared, BigInt(o.confirmations)));

  let running: Promise<void> | null = null;
  let queued: Promise<void> | null = null;
  const run = async () => {
    const head = await o.publicClient.getBlockNumber({ cacheTime: 0 });
    const untracked = tokens.filter((t) => !shared.tracks.has(t));
    if (untracked.length > 0) {
      const flags = await Promise.all(untracked.map((t) => o.publicClient.readContract({ address: t as Address, abi: holderStateAbi, functionName: "tracksIdentityBalances", blockNumber: head })));
      untracked.forEach((t, i) => shared.tracks.set(t, flags[i]));
    }
    for (const m of mirrors) await m.sync(head);
    // A trade is forgotten once every state has seen it settled, so only those the head state
    // has seen are candidates: walking every pending trade instead cost each poll time in
    // proportion to the unsettled trades (~10 ms at 30,000 on the gateway's thread).
    for (const id of mirrors[0].settledIds()) {
      if (!pending.has(id) || !mirrors.every((m) => m.settled(id))) continue;
      pending.remove(id);
      for (const m of mirrors) m.forget(id);
    }
  };
  /** One sync at a time; a request during one runs once more after it (callers share it). */
  const sync = (): Promise<void> => {
    if (queued) return queued;
    if (running) {
      queued = running.catch(() => undefined).then(() => {
        queued = null;
        return sync();
      });
      return queued;
    }
    running = run().finally(() => {
      running = null;
    });
    return running;
  };

  await sync();
  let stopped = false;
  const timer = setInterval(() => {
    if (!stopped) sync().catch((err: unknown) => o.onError?.(err));
  }, o.pollMs);
  timer.unref();

  return {
    rules: createHolderRules({ catalog: o.catalog, horizonMs: o.horizonMs, states: () => mirrors }),
    sync,
    states: () => mirrors,
    stop() {
      stopped = true;
      clearInterval(timer);
      unsubscribe();
    },
  };
}

/**
 * Trades the exchange matched that the chain may not have settled yet: what each brings its
 * receivers (asset to the buyer, cash to the seller). Each state counts those it has not seen
 * a TradeSettled event for by its block; a trade is forgotten once every state has seen it.
 */
class PendingSettlements {
  /** tradeId -> what it brings: one `${token}|${wallet}` key and amount per receipt. */
  readonly #trades = new Map<string, Array<[key: string, amount: bigint]>>();
  /**
   * `${token}|${wallet}` -> what every pending trade brings it, and in how many receipts. A
   * running total per receiver instead of a map of its trades: adding a trade touches no map
   * as large as the unsettled trades, and a state's sum subtracts only the few trades it has
   * seen settled instead of walking all of the wallet's unsettled ones (per order, under a cap).
   */
  readonly #totals = new Map<string, { amount: bigint; receipts: number }>();

  add(tradeId: string, receipts: Array<[token: string, wallet: string, amount: bigint]>): void {
    if (this.#trades.has(tradeId)) return;
    const entries: Array<[string, bigint]> = [];
    for (const [token, wallet, amount] of receipts) {
      const key = `${token}|${wallet.toLowerCase()}`;
      const total = this.#totals.get(key);
      if (total) {
        total.amount += amount;
        total.receipts += 1;
      } else this.#totals.set(key, { amount, receipts: 1 });
      entries.push([key, amount]);
    }
    this.#trades.set(tradeId, entries);
  }

  has(tradeId: string): boolean {
    return this.#trades.has(tradeId);
  }

  remove(tradeId: string): void {
    const entries = this.#trades.get(tradeId);
    if (!entries) return;
    this.#trades.delete(tradeId);
    for (const [key, amount] of entries) {
      const total = this.#totals.get(key)!;
      total.amount -= amount;
      total.receipts -= 1;
      if (total.receipts === 0) this.#totals.delete(key);
    }
  }

  /** What the pending trades not in `settled` bring `wallet` of `token`. */
  receivable(token: string, wallet: string, settled: ReadonlyMap<string, unknown>): bigint {
    const key = `${token}|${wallet}`;
    const total = this.#totals.get(key);
    if (!total) return 0n;
    let sum = total.amount;
    for (const id of settled.keys()) {
      const entries = this.#trades.get(id);
      if (entries) for (const [k, amount] of entries) if (k === key) sum -= amount;
    }
    return sum;
  }
}

type MirrorShared = {
  client: Client;
  registry: Address;
  vault: Address;
  tokens: string[];
  /** PermissionedToken.tracksIdentityBalances (immutable). */
  tracks: Map<string, boolean>;
  startBlock: bigint;
  logRange: bigint;
  pending: PendingSettlements;
};

/** What to read again: keys are lower-case addresses/hashes, pairs joined by "|". */
type Dirty = {
  wallets: Set<string>;
  identities: Set<string>;
  tokens: Set<string>;
  countries: Set<string>;
  issuers: Set<string>;
  freezes: Set<string>;
  balances: Set<string>;
  idBalances: Set<string>;
  /** token|wallet whose identity's holdings changed; resolved once the wallet's identity is read. */
  idBalanceWallets: Set<string>;
  /** token|wallet whose custody changed; read only where the wallet has a frozen amount. */
  custody: Set<string>;
};

const emptyDirty = (): Dirty => ({
  wallets: new Set(),
  identities: new Set(),
  tokens: new Set(),
  countries: new Set(),
  issuers: new Set(),
  freezes: new Set(),
  balances: new Set(),
  idBalances: new Set(),
  idBalanceWallets: new Set(),
  custody: new Set(),
});

type ChangeLog = { address: Address; blockNumber: bigint | null; eventName: string; args: Record<string, unknown> };

/** The holder state as of one block (the head minus `lag`), and how it follows the chain. */
class ChainMirror implements HolderState {
  #refresh = false;
  block = -1n;
  timestamp = 0;
  #hash: Hex = zeroHash;
  readonly #s: MirrorShared;
  readonly #lag: bigint;
  #checkpoints: Array<{ number: bigint; hash: Hex }> = [];
  /** Pending trades this state has seen settled: tradeId -> block of its TradeSettled. */
  readonly #settled = new Map<string, bigint>();

  readonly #rules = new Map<string, TokenRules>();
  readonly #listed = new Map<string, boolean>();
  readonly #countries = new Set<number>();
  readonly #walletIdentity = new Map<string, string>();
  readonly #identities = new Map<string, IdentityRecord>();
  readonly #identityWallets = new Map<string, Set<string>>();
  readonly #issuers = new Map<string, boolean>();
  readonly #freeze = new Map<string, { frozen: boolean; amount: bigint }>();
  readonly #balances = new Map<string, bigint>();
  readonly #custody = new Map<string, bigint>();
  readonly #idBalances = new Map<string, bigint>();

  constructor(shared: MirrorShared, lag: bigint) {
    this.#s = shared;
    this.#lag = lag;
  }

  // ---------------------------------------------------------------- HolderState

  rules(token: string): TokenRules | undefined {
    return this.#rules.get(token);
  }
  countryListed(token: string, country: number): boolean {
    return this.#listed.get(`${token}|${country}`) ?? false;
  }
  identityOf(wallet: string): IdentityRecord | undefined {
    const hash = this.#walletIdentity.get(wallet);
    return hash === undefined ? undefined : this.#identities.get(hash);
  }
  issuerTrusted(issuer: string): boolean {
    return this.#issuers.get(issuer) ?? false;
  }
  walletsOf(identityHash: string): Iterable<string> {
    return this.#identityWallets.get(identityHash) ?? [];
  }
  addressFrozen(token: string, wallet: string): boolean {
    return this.#freeze.get(`${token}|${wallet}`)?.frozen ?? false;
  }
  frozenTokens(token: string, wallet: string): bigint {
    return this.#freeze.get(`${token}|${wallet}`)?.amount ?? 0n;
  }
  balanceOf(token: string, wallet: string): bigint {
    return this.#balances.get(`${token}|${wallet}`) ?? 0n;
  }
  custodyOf(token: string, wallet: string): bigint {
    return this.#custody.get(`${token}|${wallet}`) ?? 0n;
  }
  identityBalance(token: string, identityHash: string): bigint {
    return this.#idBalances.get(`${token}|${identityHash}`) ?? 0n;
  }
  pendingReceipts(token: string, identityHash: string): bigint {
    let sum = 0n;
    for (const w of this.walletsOf(identityHash)) sum += this.#s.pending.receivable(token, w, this.#settled);
    return sum;
  }

  settled(tradeId: string): boolean {
    return this.#settled.has(tradeId);
  }

  /** The pending trades this state has seen settled and not yet forgotten (a copy: forgetting edits the set). */
  settledIds(): string[] {
    return [...this.#settled.keys()];
  }

  forget(tradeId: string): void {
    this.#settled.delete(tradeId);
  }

  // ---------------------------------------------------------------- following the chain

  /** The next sync reads every token's state again (a token was added). */
  refreshAll(): void {
    this.#refresh = true;
  }

  async sync(head: bigint): Promise<void> {
    const s = this.#s;
    let target = head - this.#lag;
    if (target < s.startBlock) target = s.startBlock;
    let from: bigint;
    let full = this.#refresh;
    this.#refresh = false;
    if (this.block < 0n) {
      from = s.startBlock;
      full = true;
    } else if (await this.#canonical(this.block, this.#hash)) {
      if (target <= this.block) {
        if (!full) return;
        target = this.block; // a refresh reads the block already synced
      }
      from = this.block + 1n;
    } else {
      // Reorganised: everything after the newest block still on the chain is read again.
      let base = s.startBlock - 1n;
      for (const c of [...this.#checkpoints].reverse()) {
        if (await this.#canonical(c.number, c.hash)) {
          base = c.number;
          break;
        }
      }
      this.#checkpoints = this.#checkpoints.filter((c) => c.number <= base);
      for (const [id, block] of this.#settled) if (block > base) this.#settled.delete(id);
      from = base + 1n;
      full = true;
    }
    const at = await s.client.getBlock({ blockNumber: target });
    const logs = from <= target ? await this.#logs(from, target) : [];
    const dirty = emptyDirty();
    if (full) this.#markAll(dirty);
    const settled: Array<[string, bigint]> = [];
    for (const log of logs) {
      this.#mark(log, dirty);
      if (log.eventName === "TradeSettled" && log.address.toLowerCase() === s.vault) {
        settled.push([toHex(log.args.tradeId as bigint, { size: 12 }).slice(2), log.blockNumber ?? target]);
      }
    }
    const apply = await this.#read(dirty, target);
    // From here to the end nothing awaits: a check sees the state of one block or the next.
    apply();
    for (const [id, block] of settled) if (s.pending.has(id)) this.#settled.set(id, block);
    this.block = target;
    this.#hash = at.hash!;
    this.timestamp = Number(at.timestamp);
    this.#checkpoints.push({ number: target, hash: at.hash! });
    if (this.#checkpoints.length > CHECKPOINTS) this.#checkpoints.shift();
  }

  async #canonical(number: bigint, hash: Hex): Promise<boolean> {
    try {
      return (await this.#s.client.getBlock({ blockNumber: number })).hash === hash;
    } catch (err) {
      if (err instanceof BlockNotFoundError) return false; // past the head: the chain went back
      throw err;
    }
  }

  async #logs(from: bigint, to: bigint): Promise<ChangeLog[]> {
    const s = this.#s;
    const out: ChangeLog[] = [];
    for (let lo = from; lo <= to; lo += s.logRange) {
      const hi = lo + s.logRange - 1n < to ? lo + s.logRange - 1n : to;
      const logs = await s.client.getLogs({ address: [s.registry, s.vault, ...(s.tokens as Address[])], events: changeEvents, fromBlock: lo, toBlock: hi });
      for (const l of logs) if (l.args) out.push(l as unknown as ChangeLog);
    }
    return out;
  }

  #markAll(d: Dirty): void {
    const s = this.#s;
    for (const t of s.tokens) {
      d.tokens.add(t);
      for (const c of this.#countries) d.countries.add(`${t}|${c}`);
      for (const w of this.#walletIdentity.keys()) {
        d.freezes.add(`${t}|${w}`);
        d.balances.add(`${t}|${w}`);
      }
      if (s.tracks.get(t)) for (const h of this.#identities.keys()) d.idBalances.add(`${t}|${h}`);
    }
    for (const [key, f] of this.#freeze) if (f.amount !== 0n) d.custody.add(key);
    for (const w of this.#walletIdentity.keys()) d.wallets.add(w);
    for (const h of this.#identities.keys()) d.identities.add(h);
    for (const i of this.#issuers.keys()) d.issuers.add(i);
  }

  #mark(log: ChangeLog, d: Dirty): void {
    const s = this.#s;
    const from = log.address.toLowerCase();
    const a = log.args;
    const lc = (v: unknown) => String(v).toLowerCase();
    const wallet = (w: string) => {
      if (w === zeroAddress) return;
      d.wallets.add(w);
      if (this.#walletIdentity.has(w)) return;
      // First seen: its freezes and balances on every token too.
      for (const t of s.tokens) {
        d.freezes.add(`${t}|${w}`);
        d.balances.add(`${t}|${w}`);
      }
    };
    if (from === s.registry) {
      switch (log.eventName) {
        case "IdentityAttested":
        case "IdentityRevoked":
        case "GovernanceRevocationLifted":
          d.identities.add(lc(a.identityHash));
          return;
        case "WalletAdded":
        case "WalletRemoved":
          d.identities.add(lc(a.identityHash));
          wallet(lc(a.wallet));
          return;
        case "TrustedIssuerAdded":
        case "TrustedIssuerRemoved":
          d.issuers.add(lc(a.issuer));
          return;
        case "RoleGranted":
        case "RoleRevoked":
          if (a.role === ISSUER_ROLE) d.issuers.add(lc(a.account));
          return;
      }
      return;
    }
    if (from === s.vault) {
      switch (log.eventName) {
        case "TradeSettled": {
          const asset = lc(a.asset);
          for (const w of [lc(a.seller), lc(a.buyer)]) {
            if (s.tracks.get(asset)) d.idBalanceWallets.add(`${asset}|${w}`);
            for (const t of s.tokens) d.custody.add(`${t}|${w}`);
          }
          return;
        }
        case "Deposited":
        case "Withdrawn":
          d.custody.add(`${lc(a.token)}|${lc(a.wallet)}`);
          return;
        case "CustodyReturned":
          d.custody.add(`${lc(a.token)}|${lc(a.fromWallet)}`);
          d.custody.add(`${lc(a.token)}|${lc(a.toWallet)}`);
          return;
        case "CustodySeized": {
          // The token's Transfer names the vault, not the holder whose custody (and, for a
          // tracked token, whose identity's holdings) the agent's forced transfer took.
          const token = lc(a.token);
          const from = lc(a.fromWallet);
          d.custody.add(`${token}|${from}`);
          if (s.tracks.get(token)) d.idBalanceWallets.add(`${token}|${from}`);
          return;
        }
      }
      return;
    }
    const token = from;
    switch (log.eventName) {
      case "Transfer":
        for (const w of [lc(a.from), lc(a.to)]) {
          if (w === zeroAddress) continue;
          d.balances.add(`${token}|${w}`);
          if (s.tracks.get(token)) d.idBalanceWallets.add(`${token}|${w}`);
        }
        return;
      case "AddressFrozen":
      case "Frozen":
        d.freezes.add(`${token}|${lc(a.account)}`);
        d.custody.add(`${token}|${lc(a.account)}`);
        return;
      case "BalanceRecovered":
        // Recovery moves freezes and custody: read both wallets' again.
        for (const w of [lc(a.lostWallet), lc(a.newWallet)]) {
          d.freezes.add(`${token}|${w}`);
          d.balances.add(`${token}|${w}`);
          d.custody.add(`${token}|${w}`);
        }
        if (s.tracks.get(token)) d.idBalances.add(`${token}|${lc(a.identityHash)}`);
        return;
      case "TokenPaused":
      case "TokenUnpaused":
      case "TransferRulesSet":
        d.tokens.add(token);
        return;
      case "CountryListed":
        d.countries.add(`${token}|${Number(a.country)}`);
        return;
    }
  }

  /**
   * Reads everything `d` names at block `at` and returns the function that installs it. Two
   * rounds: what the first one finds (an identity's issuer and country, a wallet's identity)
   * decides what else the second one reads.
   */
  async #read(d: Dirty, at: bigint): Promise<() => void> {
    const s = this.#s;
    const call = <T>(address: string, functionName: string, args: readonly unknown[]) =>
      s.client.readContract({ address: address as Address, abi: holderStateAbi, functionName: functionName as never, args: args as never, blockNumber: at }) as Promise<T>;
    const walletIdentity = new Map<string, string | null>();
    const identities = new Map<string, IdentityRecord | null>();
    const rules = new Map<string, TokenRules>();
    const listed = new Map<string, boolean>();
    const issuers = new Map<string, boolean>();
    const freezes = new Map<string, { frozen: boolean; amount: bigint }>();
    const balances = new Map<string, bigint>();
    const custody = new Map<string, bigint>();
    const idBalances = new Map<string, bigint>();
    type Raw = { kycLevel: number; country: number; investorType: number; expiresAt: number; revoked: boolean; issuer: string };
    const record = (hash: string, r: Raw): IdentityRecord | null =>
      r.issuer === zeroAddress ? null : { identityHash: hash, kycLevel: r.kycLevel, country: r.country, investorType: r.investorType, expiresAt: Number(r.expiresAt), revoked: r.revoked, issuer: r.issuer.toLowerCase() };
    const split = (key: string) => key.split("|") as [string, string];

    const round1: Array<() => Promise<void>> = [
      ...[...d.wallets].map((w) => async () => {
        const [hash, raw] = await call<[Hex, Raw]>(s.registry, "identityOf", [w]);
        const h = hash.toLowerCase();
        walletIdentity.set(w, hash === zeroHash ? null : h);
        if (hash !== zeroHash) identities.set(h, record(h, raw));
      }),
      ...[...d.identities].map((h) => async () => {
        identities.set(h, record(h, await call<Raw>(s.registry, "identity", [h])));
      }),
      ...[...d.tokens].map((t) => async () => {
        // setTransferRules refuses any country rule but 0, 1 and 2 (TokenInvalidRules).
        const r = await call<Omit<TokenRules, "tracksIdentityBalances">>(t, "transferRules", []);
        rules.set(t, { ...r, tracksIdentityBalances: s.tracks.get(t) ?? false });
      }),
      ...[...d.freezes].map((key) => async () => {
        const [t, w] = split(key);
        const [frozen, amount] = await Promise.all([call<boolean>(t, "isAddressFrozen", [w]), call<bigint>(t, "getFrozenTokens", [w])]);
        freezes.set(key, { frozen, amount });
      }),
      ...[...d.balances].map((key) => async () => {
        const [t, w] = split(key);
        balances.set(key, await call<bigint>(t, "balanceOf", [w]));
      }),
    ];
    await runAll(round1);

    for (const [key, f] of freezes) if (f.amount !== 0n) d.custody.add(key);
    const identityOfWallet = (w: string) => (walletIdentity.has(w) ? walletIdentity.get(w) : this.#walletIdentity.get(w));
    for (const key of d.idBalanceWallets) {
      const [t, w] = split(key);
      const h = identityOfWallet(w);
      if (h) d.idBalances.add(`${t}|${h}`);
    }
    for (const [h, r] of identities) {
      if (!r) continue;
      if (!this.#identities.has(h)) for (const t of s.tokens) if (s.tracks.get(t)) d.idBalances.add(`${t}|${h}`);
      if (!this.#issuers.has(r.issuer)) d.issuers.add(r.issuer);
      if (!this.#countries.has(r.country)) for (const t of s.tokens) d.countries.add(`${t}|${r.country}`);
    }
    const round2: Array<() => Promise<void>> = [
      ...[...d.issuers].map((i) => async () => {
        issuers.set(i, await call<boolean>(s.registry, "hasRole", [ISSUER_ROLE, i]));
      }),
      ...[...d.countries].map((key) => async () => {
        const [t, c] = split(key);
        listed.set(key, await call<boolean>(t, "isCountryListed", [Number(c)]));
      }),
      ...[...d.idBalances].map((key) => async () => {
        const [t, h] = split(key);
        idBalances.set(key, await call<bigint>(t, "identityBalance", [h]));
      }),
      ...[...d.custody]
        .filter((key) => (freezes.get(key) ?? this.#freeze.get(key))?.amount)
        .map((key) => async () => {
          const [t, w] = split(key);
          custody.set(key, (await s.client.readContract({ address: s.vault, abi: custodyAbi, functionName: "balanceOf", args: [t as Address, w as Address], blockNumber: at })) as bigint);
        }),
    ];
    await runAll(round2);

    return () => {
      for (const [w, h] of walletIdentity) {
        const old = this.#walletIdentity.get(w);
        if (old !== undefined && old !== h) this.#identityWallets.get(old)?.delete(w);
        if (h === null) this.#walletIdentity.delete(w);
        else {
          this.#walletIdentity.set(w, h);
          let set = this.#identityWallets.get(h);
          if (!set) this.#identityWallets.set(h, (set = new Set()));
          set.add(w);
        }
      }
      for (const [h, r] of identities) {
        if (r) this.#identities.set(h, r);
        else this.#identities.delete(h);
      }
      for (const [k, v] of rules) this.#rules.set(k, v);
      for (const [k, v] of listed) {
        this.#listed.set(k, v);
        this.#countries.add(Number(split(k)[1]));
      }
      for (const [k, v] of issuers) this.#issuers.set(k, v);
      for (const [k, v] of freezes) {
        this.#freeze.set(k, v);
        if (v.amount === 0n) this.#custody.delete(k); // not looked at without a frozen amount
      }
      for (const [k, v] of custody) this.#custody.set(k, v);
      for (const [k, v] of balances) this.#balances.set(k, v);
      for (const [k, v] of idBalances) this.#idBalances.set(k, v);
    };
  }
}

async function runAll(tasks: Array<() => Promise<void>>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]();
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, tasks.length) }, worker));
}
