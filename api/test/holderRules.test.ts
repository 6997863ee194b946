import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { keccak256, toHex, type Address, type Hex } from "viem";
import type { ChainServices } from "../src/chain/chainServices.ts";
import { startHolderRulesView } from "../src/chain/holderRulesView.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { openExchange, type ExchangeFixture, type Trader } from "./support/exchangeFixture.ts";
import { loginAndCreateKey, startTestChainServices } from "./support/gatewayFixture.ts";
import { signedClient } from "./support/httpProbe.ts";
import { until } from "./support/until.ts";

const RIVER = "RIVER-VND";
const GOLD = "GOLD-VND";
const RETAIL = 1;
const PROFESSIONAL = 2;
const INSTITUTIONAL = 3;
const HOUR = 3600n;
/** e-ID countries: RIVER, a real asset tokenised in Viet Nam, is for foreign investors only. */
const VIET_NAM = 704;
const SINGAPORE = 702;
/** PermissionedToken.COUNTRY_RULE_*. */
const ANY_COUNTRY = 0;
const ALLOW_LIST = 1;
const BLOCK_LIST = 2;
const PRO_AND_INSTITUTIONAL = (1 << 2) | (1 << 3);

type Attributes = { kyc?: number; country?: number; type?: number; expiresIn?: bigint };
type HolderTrader = Trader & { identity: Hex };
type Eligibility = { checked: boolean; items: Array<{ symbol: string; canBuy: boolean; canSell: boolean; buyRefusal: { senCode: string; code: string; reason: string } | null; sellRefusal: { senCode: string; code: string } | null; buyCapacity: string | null }> };

/** Signs a fresh e-ID for `wallet` with the given attributes (issuer: the deployer). */
async function attest(chain: ChainFixture, wallet: Address, label: string, a: Attributes = {}): Promise<Hex> {
  const id = keccak256(toHex(`holder-rules:${label}`));
  const now = (await chain.publicClient.getBlock()).timestamp;
  const hash = await chain.registry.write.attest([id, a.kyc ?? 2, a.country ?? 704, a.type ?? PROFESSIONAL, Number(now + (a.expiresIn ?? 365n * 24n * HOUR)), wallet]);
  await chain.publicClient.waitForTransactionReceipt({ hash });
  return id;
}

/** The contracts, each as the role holder that acts on it: governance sets rules, the agent freezes and pauses, the issuer mints. */
async function contracts(chain: ChainFixture) {
  const d = chain.deployment.contracts;
  const as = (role: keyof ChainFixture["wallets"]) => ({ client: { wallet: chain.wallets[role] } });
  const tokens = async (role: keyof ChainFixture["wallets"]) => ({
    river: await chain.connection.viem.getContractAt("AssetToken", d.RiverToken, as(role)),
    gold: await chain.connection.viem.getContractAt("AssetToken", d.GoldToken, as(role)),
    cash: await chain.connection.viem.getContractAt("CashToken", d.CashToken, as(role)),
  });
  return {
    admin: await tokens("governance"),
    agent: await tokens("agent"),
    issuer: await tokens("assetIssuer"),
    river: await chain.connection.viem.getContractAt("AssetToken", d.RiverToken),
    vault: await chain.connection.viem.getContractAt("SettlementVault", d.SettlementVault),
  };
}

describe("holder rules: an order or withdrawal the chain would refuse is refused before matching", () => {
  let chain: ChainFixture;
  let ex: ExchangeFixture;
  let c: Awaited<ReturnType<typeof contracts>>;

  before(async () => {
    chain = await startChain();
    ex = await openExchange(chain);
    c = await contracts(chain);
  });
  after(async () => {
    await ex?.close();
    await chain?.close();
  });

  const view = () => ex.gw.ctx.holderView!;
  /** Waits for `hash` to be mined, then for the view to have read that block. */
  async function onChain(hash: Hex): Promise<bigint> {
    const { blockNumber } = await chain.publicClient.waitForTransactionReceipt({ hash });
    await view().sync();
    assert.ok(view().states()[0].block >= blockNumber);
    return blockNumber;
  }

  async function trader(index: number, a: Attributes, deposits: Record<string, bigint> = {}): Promise<HolderTrader> {
    const account = hardhatAccount(index);
    const identity = await attest(chain, account.address, `t${index}`, a);
    const creds = await loginAndCreateKey(ex.gw.url, account, ["General", "Trade", "Withdraw"]);
    for (const [currency, amount] of Object.entries(deposits)) {
      const r = await ex.op("POST", "/api/v1/sen/operator/deposits", { accountId: creds.accountId, currency, amount: amount.toString(), ref: `${creds.accountId}-${currency}` });
      assert.equal(r.code, "200000", JSON.stringify(r));
    }
    return { creds, api: signedClient(ex.gw.url, creds), accountId: creds.accountId, wallet: account.address, identity };
  }

  async function eligibility(t: Trader, symbol: string) {
    const r = await t.api<Eligibility>("GET", "/api/v1/sen/eligibility");
    assert.equal(r.code, "200000", JSON.stringify(r));
    assert.equal(r.data.checked, true);
    return r.data.items.find((i) => i.symbol === symbol)!;
  }

  async function auditRules(account: string, type: "order.rejected" | "withdrawal.failed"): Promise<Array<string | undefined>> {
    await ex.gw.ctx.audit.flush();
    const page = await ex.gw.ctx.audit.index.query({ account, types: [type], limit: 50, order: "asc" });
    return page.items.map((e) => e.ruleId);
  }

  it("a verified retail trader's RIVER buy is refused (investor type), changes nothing and is on the audit trail; a professional's is matched", async () => {
    const seller = await trader(101, { type: INSTITUTIONAL, country: SINGAPORE }, { RIVER: 100n });
    const retail = await trader(102, { type: RETAIL, country: SINGAPORE }, { VND: 10_000_000n });
    const pro = await trader(103, { type: PROFESSIONAL, country: SINGAPORE }, { VND: 10_000_000n });
    await ex.placeOk(seller, { side: "sell", symbol: RIVER, price: "10000", size: "10" });
    const book = await ex.book(RIVER);

    const refusal = { status: 403, code: "400303", senCode: "RISK_HOLDER_INVESTOR_TYPE", msg: /professional and institutional investors only; this e-ID is retail/ };
    await ex.refused(retail, { side: "buy", symbol: RIVER, price: "10000", size: "1" }, refusal);
    await ex.refused(retail, { side: "buy", symbol: RIVER, type: "market", funds: "10000" }, refusal);
    assert.deepEqual(await ex.book(RIVER), book, "nothing reached the engine");
    assert.deepEqual(await auditRules(retail.accountId, "order.rejected"), ["RISK_HOLDER_INVESTOR_TYPE", "RISK_HOLDER_INVESTOR_TYPE"]);
    // gold is open to every investor type.
    await ex.cancel(retail, await ex.placeOk(retail, { side: "buy", symbol: GOLD, price: "9000", size: "1" }));

    await ex.placeOk(pro, { side: "buy", symbol: RIVER, price: "10000", size: "3" });
    assert.deepEqual((await ex.fills(pro, RIVER)).map((f) => f.size), ["3"]);

    // Traders see it before they try.
    const r = await eligibility(retail, RIVER);
    assert.deepEqual([r.canBuy, r.buyRefusal?.senCode, r.buyRefusal?.code, r.canSell], [false, "RISK_HOLDER_INVESTOR_TYPE", "400303", true], "a holder may always exit");
    assert.equal((await eligibility(retail, GOLD)).canBuy, true);
    const p = await eligibility(pro, RIVER);
    assert.deepEqual([p.canBuy, p.buyRefusal, p.buyCapacity], [true, null, String(1_000_000 - 3)], "the unsettled 3 count against the project's cap");
  });

  it("an e-ID revoked on chain: once the view has polled that block, orders and withdrawals are refused", async () => {
    const t = await trader(104, {}, { VND: 10_000_000n, GOLD: 50n });
    await ex.placeOk(t, { side: "buy", symbol: GOLD, price: "9000", size: "1" });
    const { blockNumber } = await chain.publicClient.waitForTransactionReceipt({ hash: await chain.registry.write.revoke([t.identity]) });
    // The view's own polling, not a nudge from the test.
    await until("the view has read the revocation's block", async () => view().states().every((s) => s.block >= blockNumber));
    const refused = { status: 403, code: "400303", senCode: "RISK_IDENTITY_REVOKED" };
    await ex.refused(t, { side: "buy", symbol: GOLD, price: "9000", size: "1" }, refused);
    await ex.refused(t, { side: "sell", symbol: GOLD, price: "11000", size: "1" }, refused);
    const w = await t.api("POST", "/api/v3/withdrawals", { currency: "GOLD", toAddress: t.wallet, amount: "5" });
    assert.deepEqual([w.code, w.senCode], ["400303", "RISK_IDENTITY_REVOKED"]);
    assert.deepEqual(await auditRules(t.accountId, "withdrawal.failed"), ["RISK_IDENTITY_REVOKED"]);
  });

  it("an e-ID expiring before the settlement horizon (1 h) can neither buy nor sell; one expiring after it can", async () => {
    const soon = await trader(105, { expiresIn: HOUR / 2n }, { VND: 10_000_000n, GOLD: 10n });
    const later = await trader(106, { expiresIn: 2n * HOUR }, { VND: 10_000_000n, GOLD: 10n });
    const refused = { status: 403, code: "400303", senCode: "RISK_IDENTITY_EXPIRES", msg: /expires at .* before .*the latest this may settle/ };
    await ex.refused(soon, { side: "buy", symbol: GOLD, price: "9000", size: "1" }, refused);
    await ex.refused(soon, { side: "sell", symbol: GOLD, price: "11000", size: "1" }, refused);
    const e = await eligibility(soon, GOLD);
    assert.deepEqual([e.canBuy, e.canSell, e.buyRefusal?.senCode, e.sellRefusal?.senCode], [false, false, "RISK_IDENTITY_EXPIRES", "RISK_IDENTITY_EXPIRES"]);
    await ex.cancel(later, await ex.placeOk(later, { side: "buy", symbol: GOLD, price: "9000", size: "1" }));
    await ex.cancel(later, await ex.placeOk(later, { side: "sell", symbol: GOLD, price: "11000", size: "1" }));
  });

  it("the per-identity cap counts wallet and vault custody, unsettled trades and open buys of every wallet of the identity", async () => {
    // The project admits at most 100 units per identity.
    await onChain(await c.admin.river.write.setTransferRules([1, PRO_AND_INSTITUTIONAL, BLOCK_LIST, 100n]));
    try {
      const idx = 11; // funded: it deposits into the vault itself
      const main = hardhatAccount(idx);
      const id = await attest(chain, main.address, "cap-main", { country: SINGAPORE });
      // 30 units on chain: 10 in the wallet, 20 in the vault's custody.
      const wallet = (await chain.connection.viem.getWalletClients())[idx];
      await chain.publicClient.waitForTransactionReceipt({ hash: await c.issuer.river.write.mint([main.address, 30n]) });
      await chain.publicClient.waitForTransactionReceipt({ hash: await c.river.write.approve([c.vault.address, 20n], { account: wallet.account }) });
      await chain.publicClient.waitForTransactionReceipt({ hash: await c.vault.write.deposit([c.river.address, 20n], { account: wallet.account }) });
      // A second wallet of the same e-ID.
      const second = hardhatAccount(107);
      await onChain(await chain.registry.write.addWallet([id, second.address]));
      assert.equal(await c.river.read.identityBalance([id]), 30n);

      const login = async (account: typeof main) => {
        const creds = await loginAndCreateKey(ex.gw.url, account);
        assert.equal((await ex.op("POST", "/api/v1/sen/operator/deposits", { accountId: creds.accountId, currency: "VND", amount: "10000000", ref: `cap-${creds.accountId}` })).code, "200000");
        return { creds, api: signedClient(ex.gw.url, creds), accountId: creds.accountId, wallet: account.address };
      };
      const a = await login(main);
      const b = await login(second);
      const seller = await trader(108, { type: INSTITUTIONAL, country: SINGAPORE }, { RIVER: 500n });

      // 40 bought and not yet settled, 5 in an open buy of the other wallet: 30 + 40 + 5 = 75.
      await ex.placeOk(seller, { side: "sell", symbol: RIVER, price: "10000", size: "40" });
      await ex.placeOk(a, { side: "buy", symbol: RIVER, price: "10000", size: "40" });
      assert.equal((await ex.fills(a, RIVER)).reduce((sum, f) => sum + Number(f.size), 0), 40);
      const other = await ex.placeOk(b, { side: "buy", symbol: RIVER, price: "9000", size: "5" });
      const cap = { status: 400, code: "400200", senCode: "RISK_HOLDER_CAP", msg: /at most 25 more/ };
      await ex.refused(a, { side: "buy", symbol: RIVER, price: "9000", size: "26" }, cap);
      await ex.refused(b, { side: "buy", symbol: RIVER, price: "9000", size: "26" }, cap);
      await ex.refused(a, { side: "buy", symbol: RIVER, type: "market", size: "26" }, cap);
      assert.equal((await eligibility(a, RIVER)).buyCapacity, "25");
      const last = await ex.placeOk(a, { side: "buy", symbol: RIVER, price: "9000", size: "25" });
      const full = await eligibility(b, RIVER);
      assert.deepEqual([full.canBuy, full.buyRefusal?.senCode, full.buyCapacity], [false, "RISK_HOLDER_CAP", "0"]);
      // Cancelling an open buy frees its room.
      await ex.cancel(b, other);
      assert.equal((await eligibility(a, RIVER)).buyCapacity, "5");
      await ex.cancel(a, last);
      // Units leaving the identity's wallet on chain free room too.
      await onChain(await c.issuer.river.write.burn([main.address, 10n]));
      assert.equal((await eligibility(b, RIVER)).buyCapacity, String(100 - 20 - 40));
    } finally {
      await onChain(await c.admin.river.write.setTransferRules([1, PRO_AND_INSTITUTIONAL, BLOCK_LIST, 1_000_000n]));
    }
  });

  it("a wallet frozen on a token can neither buy nor sell it; a partial freeze covers wallet and custody together", async () => {
    const t = await trader(109, { country: SINGAPORE }, { VND: 10_000_000n, GOLD: 30n });
    await onChain(await c.agent.gold.write.setAddressFrozen([t.wallet, true]));
    const frozen = { status: 403, code: "400200", senCode: "RISK_HOLDER_FROZEN" };
    await ex.refused(t, { side: "buy", symbol: GOLD, price: "9000", size: "1" }, frozen);
    await ex.refused(t, { side: "sell", symbol: GOLD, price: "11000", size: "1" }, frozen);
    const w = await t.api("POST", "/api/v3/withdrawals", { currency: "GOLD", toAddress: t.wallet, amount: "5" });
    assert.deepEqual([w.code, w.senCode], ["400200", "RISK_HOLDER_FROZEN"]);
    assert.deepEqual(await auditRules(t.accountId, "withdrawal.failed"), ["RISK_HOLDER_FROZEN"]);
    // Other tokens are not affected: the RIVER buy pays in VND.
    await ex.cancel(t, await ex.placeOk(t, { side: "buy", symbol: RIVER, price: "9000", size: "1" }));
    await onChain(await c.agent.gold.write.setAddressFrozen([t.wallet, false]));

    // 20 of 30 (all in custody) frozen: 10 can be sold, not 11.
    await onChain(await c.agent.gold.write.setFrozenTokens([t.wallet, 20n]));
    try {
      const part = { status: 400, code: "200004", senCode: "RISK_HOLDER_FROZEN_AMOUNT", msg: /at most 10 can be sold/ };
      await ex.refused(t, { side: "sell", symbol: GOLD, price: "11000", size: "11" }, part);
      await ex.placeOk(t, { side: "sell", symbol: GOLD, price: "11000", size: "10" });
      await ex.refused(t, { side: "sell", symbol: GOLD, price: "11000", size: "1" }, { ...part, msg: /at most 0 can be sold/ });
      assert.equal((await eligibility(t, GOLD)).canSell, false);
      // Units in the wallet itself count towards the frozen amount as well.
      await onChain(await c.issuer.gold.write.mint([t.wallet, 5n]));
      assert.equal((await eligibility(t, GOLD)).canSell, true);
      await ex.placeOk(t, { side: "sell", symbol: GOLD, price: "11000", size: "5" });
      // Buying is not limited by a partial freeze.
      await ex.cancel(t, await ex.placeOk(t, { side: "buy", symbol: GOLD, price: "9000", size: "1" }));
    } finally {
      await onChain(await c.agent.gold.write.setFrozenTokens([t.wallet, 0n]));
      await ex.cancelAll(t);
    }
  });

  it("custody the token's agent seizes leaves the view's copy of the holder's custody and identity holdings", async () => {
    const idx = 15; // funded: it deposits into the vault itself
    const holder = hardhatAccount(idx).address;
    const holderId = await attest(chain, holder, "seized-holder", { country: SINGAPORE });
    await chain.fundAndDeposit(idx, { river: 30n });
    const court = hardhatAccount(118).address; // where a court order sends the units
    const courtId = await attest(chain, court, "court-escrow", { country: SINGAPORE });
    // A partial freeze is what makes the view keep the holder's custody.
    await onChain(await c.agent.river.write.setFrozenTokens([holder, 10n]));
    const river = c.river.address.toLowerCase();
    const state = () => view().states()[0];
    assert.equal(state().custodyOf(river, holder.toLowerCase()), 30n);
    assert.equal(state().identityBalance(river, holderId), 30n);
    try {
      // 20 of the 20 unfrozen: the freeze does not change, so no Frozen event says so; the
      // token's Transfer names the vault and the receiver, not the holder.
      await onChain(await c.agent.river.write.forcedCustodyTransfer([c.vault.address, holder, court, 20n]));
      assert.equal(await chain.vaultBalance("RiverToken", holder), 10n);
      assert.equal(state().custodyOf(river, holder.toLowerCase()), 10n);
      assert.equal(state().identityBalance(river, holderId), 10n);
      assert.equal(state().identityBalance(river, courtId), 20n);
      assert.equal(state().balanceOf(river, court.toLowerCase()), 20n);
    } finally {
      await onChain(await c.agent.river.write.setFrozenTokens([holder, 0n]));
    }
  });

  it("a paused token: its market is refused; a paused cash token stops every market", async () => {
    const t = await trader(110, { country: SINGAPORE }, { VND: 10_000_000n, GOLD: 10n, RIVER: 10n });
    await onChain(await c.agent.gold.write.pause());
    try {
      const paused = { status: 400, code: "400200", senCode: "RISK_TOKEN_PAUSED", msg: /GOLD is paused/ };
      await ex.refused(t, { side: "buy", symbol: GOLD, price: "9000", size: "1" }, paused);
      await ex.refused(t, { side: "sell", symbol: GOLD, price: "11000", size: "1" }, paused);
      await ex.cancel(t, await ex.placeOk(t, { side: "buy", symbol: RIVER, price: "9000", size: "1" }));
      const w = await t.api("POST", "/api/v3/withdrawals", { currency: "GOLD", toAddress: t.wallet, amount: "1" });
      assert.equal(w.senCode, "RISK_TOKEN_PAUSED");
    } finally {
      await onChain(await c.agent.gold.write.unpause());
    }
    await onChain(await c.agent.cash.write.pause());
    try {
      for (const symbol of [GOLD, RIVER]) await ex.refused(t, { side: "sell", symbol, price: "11000", size: "1" }, { status: 400, code: "400200", senCode: "RISK_TOKEN_PAUSED", msg: /VND is paused/ });
    } finally {
      await onChain(await c.agent.cash.write.unpause());
    }
    await ex.cancel(t, await ex.placeOk(t, { side: "sell", symbol: GOLD, price: "11000", size: "1" }));
  });

  it("RIVER is for foreign investors only: a domestic investor's buy is refused before matching, a foreign one's trades; GOLD is open to both", async () => {
    const seller = await trader(115, { type: INSTITUTIONAL, country: SINGAPORE }, { RIVER: 10n });
    const domestic = await trader(116, { country: VIET_NAM }, { VND: 10_000_000n, GOLD: 5n });
    const foreign = await trader(117, { country: SINGAPORE }, { VND: 10_000_000n });
    await ex.placeOk(seller, { side: "sell", symbol: RIVER, price: "10000", size: "5" });
    const book = await ex.book(RIVER);

    const country = { status: 403, code: "400500", senCode: "RISK_HOLDER_COUNTRY", msg: /RIVER may not be received by holders from country 704 \(the token's country rule\)/ };
    await ex.refused(domestic, { side: "buy", symbol: RIVER, price: "10000", size: "1" }, country);
    await ex.refused(domestic, { side: "buy", symbol: RIVER, type: "market", funds: "10000" }, country);
    assert.deepEqual(await ex.book(RIVER), book, "nothing reached the engine");
    assert.deepEqual(await auditRules(domestic.accountId, "order.rejected"), ["RISK_HOLDER_COUNTRY", "RISK_HOLDER_COUNTRY"]);
    const e = await eligibility(domestic, RIVER);
    assert.deepEqual([e.canBuy, e.buyRefusal?.senCode, e.buyRefusal?.code], [false, "RISK_HOLDER_COUNTRY", "400500"]);

    await ex.placeOk(foreign, { side: "buy", symbol: RIVER, price: "10000", size: "2" });
    assert.deepEqual((await ex.fills(foreign, RIVER)).map((f) => f.size), ["2"]);
    assert.equal((await eligibility(foreign, RIVER)).canBuy, true);
    // The domestic investor trades GOLD, the crypto-asset it deposited, either way.
    await ex.cancel(domestic, await ex.placeOk(domestic, { side: "buy", symbol: GOLD, price: "9000", size: "1" }));
    await ex.cancel(domestic, await ex.placeOk(domestic, { side: "sell", symbol: GOLD, price: "11000", size: "1" }));

    // The list, not the gateway, decides: 704 taken off RIVER's block-list admits the domestic buy.
    await onChain(await c.admin.river.write.setCountriesListed([[VIET_NAM], false]));
    try {
      await ex.cancel(domestic, await ex.placeOk(domestic, { side: "buy", symbol: RIVER, price: "9000", size: "1" }));
    } finally {
      await onChain(await c.admin.river.write.setCountriesListed([[VIET_NAM], true]));
    }
    await ex.refused(domestic, { side: "buy", symbol: RIVER, price: "9000", size: "1" }, country);
  });

  it("country allow-list and e-ID level rules: refused until the token's admin changes them on chain", async () => {
    const us = await trader(111, { country: 840 }, { VND: 10_000_000n });
    await ex.cancel(us, await ex.placeOk(us, { side: "buy", symbol: GOLD, price: "9000", size: "1" }));
    const country = { status: 403, code: "400500", senCode: "RISK_HOLDER_COUNTRY", msg: /not open to holders from country 840/ };
    // GOLD restricted to an allow-list of Viet Nam, then 840 added and removed.
    await onChain(await c.admin.gold.write.setCountriesListed([[VIET_NAM], true]));
    await onChain(await c.admin.gold.write.setTransferRules([1, 0, ALLOW_LIST, 0n]));
    try {
      await ex.refused(us, { side: "buy", symbol: GOLD, price: "9000", size: "1" }, country);
      await onChain(await c.admin.gold.write.setCountriesListed([[840], true]));
      await ex.cancel(us, await ex.placeOk(us, { side: "buy", symbol: GOLD, price: "9000", size: "1" }));
      await onChain(await c.admin.gold.write.setCountriesListed([[840], false]));
      await ex.refused(us, { side: "buy", symbol: GOLD, price: "9000", size: "1" }, country);
    } finally {
      await onChain(await c.admin.gold.write.setTransferRules([1, 0, ANY_COUNTRY, 0n]));
      await onChain(await c.admin.gold.write.setCountriesListed([[VIET_NAM], false]));
    }
    await ex.cancel(us, await ex.placeOk(us, { side: "buy", symbol: GOLD, price: "9000", size: "1" }));

    const level1 = await trader(112, { kyc: 1 }, { VND: 10_000_000n });
    await ex.cancel(level1, await ex.placeOk(level1, { side: "buy", symbol: GOLD, price: "9000", size: "1" }));
    await onChain(await c.admin.gold.write.setTransferRules([2, 0, ANY_COUNTRY, 0n]));
    try {
      await ex.refused(level1, { side: "buy", symbol: GOLD, price: "9000", size: "1" }, { status: 403, code: "400303", senCode: "RISK_HOLDER_KYC_LEVEL" });
    } finally {
      await onChain(await c.admin.gold.write.setTransferRules([1, 0, ANY_COUNTRY, 0n]));
    }
  });

  it("a rules change that a reorganisation removes does not stay in the view, in either direction", async () => {
    const provider = chain.connection.provider;
    const retail = await trader(113, { type: RETAIL, country: SINGAPORE }, { VND: 10_000_000n, GOLD: 10n });
    const investorType = { status: 403, code: "400303", senCode: "RISK_HOLDER_INVESTOR_TYPE" };
    const buy = { side: "buy", symbol: RIVER, price: "9000", size: "1" };

    // A permitting change: the river opened to every investor type, then reorganised away.
    let snapshot = (await provider.request({ method: "evm_snapshot", params: [] })) as string;
    await onChain(await c.admin.river.write.setTransferRules([1, 0, BLOCK_LIST, 1_000_000n]));
    await ex.cancel(retail, await ex.placeOk(retail, buy));
    await provider.request({ method: "evm_revert", params: [snapshot] });
    await view().sync(); // the head is now below the block the view had read
    await ex.refused(retail, buy, investorType);
    await provider.request({ method: "hardhat_mine", params: ["0x3"] }); // other blocks at those heights
    await view().sync();
    await ex.refused(retail, buy, investorType);

    // A restricting change: the gold paused, then reorganised away.
    const sell = { side: "sell", symbol: GOLD, price: "11000", size: "1" };
    snapshot = (await provider.request({ method: "evm_snapshot", params: [] })) as string;
    await onChain(await c.agent.gold.write.pause());
    await ex.refused(retail, sell, { status: 400, code: "400200", senCode: "RISK_TOKEN_PAUSED" });
    await provider.request({ method: "evm_revert", params: [snapshot] });
    await provider.request({ method: "hardhat_mine", params: ["0x3"] });
    await view().sync();
    await ex.cancel(retail, await ex.placeOk(retail, sell));
  });

  it("with confirmations, a change that permits counts only once confirmed (and never if reorganised away); one that restricts counts at once", async () => {
    const provider = chain.connection.provider;
    const retail = await trader(114, { type: RETAIL, country: SINGAPORE }, { VND: 10_000_000n });
    const core = ex.gw.ctx.trading.core;
    const confirmed = await startHolderRulesView({
      publicClient: chain.publicClient,
      contracts: chain.deployment.contracts,
      catalog: ex.gw.ctx.catalog,
      queries: ex.gw.ctx.queries,
      startBlock: BigInt(chain.deployment.startBlock),
      confirmations: 2,
      pollMs: 60_000,
      horizonMs: 3_600_000,
    });
    try {
      const verdict = async () => {
        await confirmed.sync();
        return confirmed.rules.checkOrder({ accountId: retail.accountId, symbol: RIVER, side: "buy", type: "limit", price: 9000, size: 1 }, core, Date.now())?.code ?? null;
      };
      const mine = (n: number) => provider.request({ method: "hardhat_mine", params: [`0x${n.toString(16)}`] });
      // The trader's own attestation is confirmed only two blocks later.
      assert.equal(await verdict(), "RISK_HOLDER_INVESTOR_TYPE");
      assert.equal(confirmed.rules.checkOrder({ accountId: retail.accountId, symbol: GOLD, side: "buy", type: "limit", price: 9000, size: 1 }, core, Date.now())?.code, "RISK_IDENTITY_NOT_VERIFIED");
      await mine(2);
      await confirmed.sync();
      assert.equal(confirmed.rules.checkOrder({ accountId: retail.accountId, symbol: GOLD, side: "buy", type: "limit", price: 9000, size: 1 }, core, Date.now()), null);

      const snapshot = (await provider.request({ method: "evm_snapshot", params: [] })) as string;
      await chain.publicClient.waitForTransactionReceipt({ hash: await c.admin.river.write.setTransferRules([1, 0, BLOCK_LIST, 1_000_000n]) });
      assert.equal(await verdict(), "RISK_HOLDER_INVESTOR_TYPE", "at the head only");
      await mine(1);
      assert.equal(await verdict(), "RISK_HOLDER_INVESTOR_TYPE", "one block deep");
      await provider.request({ method: "evm_revert", params: [snapshot] });
      await mine(4);
      assert.equal(await verdict(), "RISK_HOLDER_INVESTOR_TYPE", "reorganised away before it was confirmed");

      await chain.publicClient.waitForTransactionReceipt({ hash: await c.admin.river.write.setTransferRules([1, 0, BLOCK_LIST, 1_000_000n]) });
      await mine(2);
      assert.equal(await verdict(), null, "two blocks deep: in force");
      await chain.publicClient.waitForTransactionReceipt({ hash: await c.admin.river.write.setTransferRules([1, PRO_AND_INSTITUTIONAL, BLOCK_LIST, 1_000_000n]) });
      assert.equal(await verdict(), "RISK_HOLDER_INVESTOR_TYPE", "a restriction counts from the head");
    } finally {
      confirmed.stop();
      await view().sync();
    }
  });
});

describe("holder rules with settlement: what was accepted settles, and settled units count once", () => {
  let chain: ChainFixture;
  let ex: ExchangeFixture;
  let services: ChainServices;

  before(async () => {
    chain = await startChain();
    ex = await openExchange(chain);
    services = await startTestChainServices(chain, ex.gw.ctx);
  });
  after(async () => {
    await services?.stop();
    await ex?.close();
    await chain?.close();
  });

  it("a buyer's cap room is the same before and after its trade settles on chain", async () => {
    const c = await contracts(chain);
    await chain.publicClient.waitForTransactionReceipt({ hash: await c.admin.river.write.setTransferRules([1, PRO_AND_INSTITUTIONAL, BLOCK_LIST, 100n]) });
    // The seller's units and the buyer's cash are in the vault, deposited on chain (#12 is the tax account).
    const [sellerIdx, buyerIdx] = [14, 13];
    const wallets = await chain.connection.viem.getWalletClients();
    const sellerAccount = hardhatAccount(sellerIdx);
    const buyerAccount = hardhatAccount(buyerIdx);
    // RIVER is minted to and bought by foreign investors only.
    await attest(chain, sellerAccount.address, "settle-seller", { type: INSTITUTIONAL, country: SINGAPORE });
    await attest(chain, buyerAccount.address, "settle-buyer", { type: PROFESSIONAL, country: SINGAPORE });
    await chain.publicClient.waitForTransactionReceipt({ hash: await c.issuer.river.write.mint([sellerAccount.address, 80n]) });
    await chain.publicClient.waitForTransactionReceipt({ hash: await c.river.write.approve([c.vault.address, 80n], { account: wallets[sellerIdx].account }) });
    await chain.publicClient.waitForTransactionReceipt({ hash: await c.vault.write.deposit([c.river.address, 80n], { account: wallets[sellerIdx].account }) });
    await chain.fundAndDeposit(buyerIdx, { vnd: 10_000_000n });
    const seller = await session(sellerAccount);
    const buyer = await session(buyerAccount);
    await until("deposits credited", async () => (await ex.balances(seller)).RIVER?.balance === "80" && (await ex.balances(buyer)).VND?.balance === "10000000");

    const room = async () => {
      const r = await buyer.api<Eligibility>("GET", "/api/v1/sen/eligibility");
      return r.data.items.find((i) => i.symbol === RIVER)!.buyCapacity;
    };
    await ex.placeOk(seller, { side: "sell", symbol: RIVER, price: "10000", size: "60" });
    const buy = await ex.placeOk(buyer, { side: "buy", symbol: RIVER, price: "10000", size: "60" });
    assert.equal(await room(), "40", "unsettled");
    await until("settled on chain", async () => {
      const fills = (await buyer.api<{ items: Array<{ settlementTxHash: string | null }> }>("GET", `/api/v1/fills?orderId=${buy}`)).data.items;
      return fills.length === 1 && fills[0].settlementTxHash !== null;
    });
    assert.equal(await c.river.read.identityBalance([keccak256(toHex("holder-rules:settle-buyer"))]), 60n);
    await ex.gw.ctx.holderView!.sync();
    assert.equal(await room(), "40", "settled: counted once, from the chain");
    await ex.refused(buyer, { side: "buy", symbol: RIVER, price: "10000", size: "41" }, { code: "400200", senCode: "RISK_HOLDER_CAP" });
  });

  async function session(account: ReturnType<typeof hardhatAccount>): Promise<Trader> {
    const creds = await loginAndCreateKey(ex.gw.url, account);
    return { creds, api: signedClient(ex.gw.url, creds), accountId: creds.accountId, wallet: account.address };
  }
});
