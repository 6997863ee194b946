import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { kucoinAt } from "./support/ccxtClients.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { rawRequest, signedClient, type SignedClient } from "./support/httpProbe.ts";

type Entry = { id: string; currency: string; amount: string; fee: string; balance?: string; accountType: string; bizType: string; direction: "in" | "out"; createdAt: number; context: string };
type Ledger = { currentPage: number; pageSize: number; totalNum: number; totalPage: number; items: Entry[] };
type Fill = { symbol: string; tradeId: string; orderId: string; side: "buy" | "sell"; size: string; funds: string; fee: string; tax: string; createdAt: number };
type Trader = { creds: ApiCredentials; api: SignedClient };

const PATH = "/api/v1/accounts/ledgers";


/**
 * KuCoin's account ledger through the real gateway on the real chain (issue #13: the tax
 * withheld is shown in the ledger): a seller and a buyer trade GOLD-VND twice; each ledger is
 * checked entry by entry against the trader's own fills, summed against its balances, filtered,
 * paged, kept to its owner, and read by stock ccxt's fetchLedger.
 */
describe("account ledger: trades with their fee, the tax withheld, deposits and withdrawals", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  const t = {} as Record<"seller" | "buyer" | "third", Trader>;
  let before1 = 0; // before the first sale
  let mid = 0; // between the two sales
  let after2 = 0; // after the second sale

  const ledger = async (trader: Trader, query = ""): Promise<Ledger> => {
    const r = await trader.api<Ledger>("GET", `${PATH}${query ? `?${query}` : ""}`);
    assert.equal(r.code, "200000", `${query}: ${r.code} ${r.msg}`);
    return r.data;
  };
  const all = (trader: Trader, query = "") => ledger(trader, `pageSize=500${query ? `&${query}` : ""}`);
  const fills = async (trader: Trader): Promise<Fill[]> => {
    const r = await trader.api<{ items: Fill[] }>("GET", "/api/v1/fills?pageSize=500");
    assert.equal(r.code, "200000", r.msg);
    return r.data.items;
  };
  const place = async (trader: Trader, order: Record<string, unknown>) => {
    const r = await trader.api("POST", "/api/v1/orders", { clientOid: `lg${Math.random().toString(36).slice(2, 12)}`, type: "limit", symbol: "GOLD-VND", ...order });
    assert.equal(r.code, "200000", `${JSON.stringify(order)}: ${r.code} ${r.msg}`);
  };
  /** The next millisecond has begun, so what happens from now on has a later timestamp. */
  const nextMs = async () => {
    const now = Date.now();
    while (Date.now() <= now) await new Promise((r) => setImmediate(r));
  };
  /** Σ in − Σ out of a currency's entries: what the ledger says the balance moved by. */
  const net = (items: Entry[], currency: string) => items.filter((x) => x.currency === currency).reduce((s, x) => s + (x.direction === "in" ? 1n : -1n) * BigInt(x.amount), 0n);
  const total = (trader: Trader, currency: string) => {
    const b = gw.ctx.trading.core.ledger.balance(trader.creds.accountId, currency);
    return b.available + b.hold;
  };

  before(async () => {
    chain = await startChain();
    gw = await startTestGateway(chain);
    assert.equal(gw.ctx.trading.core.taxRateBps, 10);
    const accounts = { seller: hardhatAccount(70), buyer: hardhatAccount(71), third: hardhatAccount(72) };
    for (const [name, a] of Object.entries(accounts)) await chain.attest(a.address, `ledger-${name}`);
    for (const name of ["seller", "buyer", "third"] as const) {
      const creds = await loginAndCreateKey(gw.url, accounts[name]);
      t[name] = { creds, api: signedClient(gw.url, creds) };
    }
    // Funds arrive the way the chain watcher credits them: one journaled deposit each.
    await gw.ctx.trading.deposit(t.seller.creds.accountId, "GOLD", 100n, "ledger-dep-seller");
    await gw.ctx.trading.deposit(t.buyer.creds.accountId, "VND", 10_000_000n, "ledger-dep-buyer");
    await gw.ctx.trading.deposit(t.third.creds.accountId, "VND", 5_000n, "ledger-dep-third");

    await nextMs();
    before1 = Date.now();
    await nextMs();
    // Sale 1, the seller as maker: 3 × 15,900 = 47,700, tax 47.7 rounded down to 47.
    await place(t.seller, { side: "sell", price: "15900", size: "3" });
    await place(t.buyer, { side: "buy", price: "15900", size: "3" });
    await nextMs();
    mid = Date.now();
    await nextMs();
    // Sale 2, the seller as taker: 2 × 16,000 = 32,000, tax 32.
    await place(t.buyer, { side: "buy", price: "16000", size: "2" });
    await place(t.seller, { side: "sell", price: "16000", size: "2" });
    await nextMs();
    after2 = Date.now();
  });

  after(async () => {
    await gw?.close();
    await chain?.close();
  });

  it("shows each sale as GOLD out and VND in with the fee, and the tax withheld as an entry of its own", async () => {
    const sales = await fills(t.seller);
    assert.equal(sales.length, 2);
    assert.deepEqual(sales.map((f) => f.tax).sort(), ["32", "47"]);
    const l = await all(t.seller);
    assert.equal(l.totalNum, l.items.length);
    assert.ok(l.items.every((x) => x.accountType === "TRADE" && x.balance === undefined));
    for (const f of sales) {
      const mine = l.items.filter((x) => JSON.parse(x.context).tradeId === f.tradeId);
      const context = { symbol: "GOLD-VND", orderId: f.orderId, tradeId: f.tradeId };
      const common = { accountType: "TRADE", createdAt: f.createdAt };
      assert.deepEqual(
        mine.map(({ id: _id, ...x }) => ({ ...x, context: JSON.parse(x.context) })),
        [
          { ...common, currency: "GOLD", amount: f.size, fee: "0", bizType: "Exchange", direction: "out", context },
          { ...common, currency: "VND", amount: (BigInt(f.funds) - BigInt(f.fee)).toString(), fee: f.fee, bizType: "Exchange", direction: "in", context },
          { ...common, currency: "VND", amount: f.tax, fee: "0", bizType: "Tax withholding", direction: "out", context: { ...context, taxRuleId: "PIT-SALE-0.1" } },
        ],
      );
      assert.ok(BigInt(f.fee) > 0n, "the fee is charged");
    }
    // Read from the audit trail, which records each side's fee (and the seller's tax) with the fill.
    const recorded = await gw.ctx.audit.index.query({ account: t.seller.creds.accountId, types: ["order.filled"], limit: 10, order: "asc" });
    assert.deepEqual(
      recorded.items.map((e) => [e.tradeId, e.detail]),
      sales.toReversed().map((f) => [f.tradeId, { fee: f.fee, tax: f.tax }]),
    );
    // The deposit, and nothing else: two sales, three entries each.
    const deposits = l.items.filter((x) => x.bizType === "Deposit");
    assert.deepEqual(deposits.map((x) => [x.currency, x.amount, x.direction, JSON.parse(x.context).orderId]), [["GOLD", "100", "in", "ledger-dep-seller"]]);
    assert.equal(l.items.length, 7);
    // Newest first, ids unique.
    for (let i = 1; i < l.items.length; i++) assert.ok(l.items[i - 1].createdAt >= l.items[i].createdAt);
    assert.equal(new Set(l.items.map((x) => x.id)).size, l.items.length);
    // The ledger accounts for the whole balance: 79,700 of sales less fees and tax.
    assert.equal(net(l.items, "VND"), total(t.seller, "VND"));
    assert.equal(net(l.items, "VND"), 79_700n - sales.reduce((s, f) => s + BigInt(f.fee) + BigInt(f.tax), 0n));
    assert.equal(net(l.items, "GOLD"), total(t.seller, "GOLD"));
    assert.equal(total(t.seller, "GOLD"), 95n);
  });

  it("shows the buyer its cost with the fee, and no tax", async () => {
    const buys = await fills(t.buyer);
    assert.equal(buys.length, 2);
    const l = await all(t.buyer);
    assert.ok(!l.items.some((x) => x.bizType === "Tax withholding"));
    for (const f of buys) {
      const mine = l.items.filter((x) => JSON.parse(x.context).tradeId === f.tradeId);
      assert.deepEqual(
        mine.map((x) => [x.currency, x.direction, x.amount, x.fee, x.bizType]),
        [
          ["GOLD", "in", f.size, "0", "Exchange"],
          ["VND", "out", (BigInt(f.funds) + BigInt(f.fee)).toString(), f.fee, "Exchange"],
        ],
      );
    }
    const recorded = await gw.ctx.audit.index.query({ account: t.buyer.creds.accountId, types: ["order.filled"], limit: 10, order: "asc" });
    assert.deepEqual(
      recorded.items.map((e) => [e.tradeId, e.detail]),
      buys.toReversed().map((f) => [f.tradeId, { fee: f.fee }]),
    );
    assert.deepEqual(l.items.filter((x) => x.bizType === "Deposit").map((x) => [x.currency, x.amount]), [["VND", "10000000"]]);
    assert.equal(net(l.items, "VND"), total(t.buyer, "VND"));
    assert.equal(net(l.items, "GOLD"), total(t.buyer, "GOLD"));
  });

  it("filters by currency, direction, business type and time, and pages", async () => {
    const full = (await all(t.seller)).items;
    const gold = await all(t.seller, "currency=GOLD");
    assert.deepEqual(gold.items, full.filter((x) => x.currency === "GOLD"));
    assert.equal(gold.totalNum, 3);
    assert.deepEqual((await all(t.seller, "currency=GOLD,VND")).items, full);
    const taxes = await all(t.seller, "direction=out&bizType=TAX_WITHHOLDING");
    assert.deepEqual(taxes.items, full.filter((x) => x.bizType === "Tax withholding"));
    assert.equal(taxes.totalNum, 2);
    assert.deepEqual((await all(t.seller, "direction=in")).items, full.filter((x) => x.direction === "in"));
    assert.deepEqual((await all(t.seller, "bizType=TRANSFER")).items, []);

    const [second, first] = (await fills(t.seller)).sort((a, b) => b.createdAt - a.createdAt);
    const tradeOf = (x: Entry) => JSON.parse(x.context).tradeId as string | undefined;
    const late = await all(t.seller, `startAt=${mid}`);
    assert.deepEqual(late.items.map(tradeOf), [second.tradeId, second.tradeId, second.tradeId]);
    const early = await all(t.seller, `startAt=${before1}&endAt=${mid}`);
    assert.deepEqual(early.items.map(tradeOf), [first.tradeId, first.tradeId, first.tradeId]);
    // Both ends are inclusive, to the millisecond.
    const exact = await all(t.seller, `startAt=${first.createdAt}&endAt=${first.createdAt}`);
    assert.deepEqual(exact.items.map(tradeOf), [first.tradeId, first.tradeId, first.tradeId]);
    assert.deepEqual((await all(t.seller, `startAt=${after2}`)).items, []);
    assert.deepEqual((await all(t.seller, `endAt=${before1}`)).items.map((x) => x.bizType), ["Deposit"]);

    const page2 = await ledger(t.seller, "pageSize=2&currentPage=2");
    assert.deepEqual([page2.currentPage, page2.pageSize, page2.totalNum, page2.totalPage], [2, 2, 7, 4]);
    assert.deepEqual(page2.items, full.slice(2, 4));
    assert.deepEqual((await ledger(t.seller, "pageSize=2&currentPage=5")).items, []);
    assert.equal((await ledger(t.seller)).pageSize, 50);
  });

  it("is the signed-in account's own: a third trader sees only its deposit", async () => {
    const sellerIds = new Set([...(await all(t.seller)).items, ...(await all(t.buyer)).items].map((x) => x.id));
    const l = await all(t.third);
    assert.deepEqual(l.items.map((x) => [x.bizType, x.currency, x.amount]), [["Deposit", "VND", "5000"]]);
    assert.ok(l.items.every((x) => !sellerIds.has(x.id)));
    assert.deepEqual((await all(t.third, "currency=GOLD")).items, []);
    const anon = await rawRequest(gw.url, { method: "GET", path: PATH });
    assert.equal(anon.status, 401);
  });

  it("refuses a bad query with the error envelope", async () => {
    for (const query of [
      "direction=sideways",
      "startAt=yesterday",
      "startAt=-1",
      `startAt=${mid}&endAt=${before1}`, // backwards
      "pageSize=0",
      "pageSize=501",
      "currentPage=0",
      "currency=vnd",
      "currency=NOPE", // not a currency of the venue
      "bizType=EXCHANGE",
    ]) {
      const r = await t.seller.api("GET", `${PATH}?${query}`);
      assert.equal(r.status, 400, `${query}: ${r.status} ${r.code} ${r.msg}`);
      assert.deepEqual([r.code, r.senCode], ["400100", "VALIDATION"], query);
    }
  });

  it("records a completed withdrawal and a reversed trade, and still adds up to the balances", async () => {
    const s = t.seller.creds.accountId;
    const withdrawalId = await gw.ctx.trading.requestWithdrawal(s, "VND", 10_000n);
    // Requested only: the money is held, still the seller's, and not yet in the ledger.
    assert.ok(!(await all(t.seller)).items.some((x) => x.bizType === "Withdrawal"));
    assert.equal(net((await all(t.seller)).items, "VND"), total(t.seller, "VND"));
    await gw.ctx.trading.withdrawalDone(withdrawalId, `0x${"ab".repeat(32)}`);
    const withdrawn = (await all(t.seller, "bizType=WITHDRAW")).items;
    assert.deepEqual(withdrawn.map((x) => [x.currency, x.direction, x.amount, JSON.parse(x.context)]), [["VND", "out", "10000", { orderId: withdrawalId, txId: `0x${"ab".repeat(32)}` }]]);

    // A third sale the vault refuses, and an operator undoes on the ledger.
    await place(t.seller, { side: "sell", price: "16000", size: "1" });
    await place(t.buyer, { side: "buy", price: "16000", size: "1" });
    const sale = (await fills(t.seller)).find((f) => f.size === "1")!;
    assert.equal(sale.tax, "16");
    await gw.ctx.trading.settlementFailed(sale.tradeId, "test: the vault refused it");
    await gw.ctx.trading.resolveSettlement(sale.tradeId, "reverse", "test-operator", "undone in a test");
    const buy = (await fills(t.buyer)).find((f) => f.tradeId === sale.tradeId)!;

    const reversal = (trader: Trader) => all(trader, "bizType=TRADE_REVERSAL");
    assert.deepEqual(
      (await reversal(t.seller)).items.map((x) => [x.currency, x.direction, x.amount]),
      [
        ["GOLD", "in", "1"],
        ["VND", "out", (BigInt(sale.funds) - BigInt(sale.fee) - BigInt(sale.tax)).toString()],
      ],
    );
    assert.deepEqual(
      (await reversal(t.buyer)).items.map((x) => [x.currency, x.direction, x.amount]),
      [
        ["GOLD", "out", "1"],
        ["VND", "in", (BigInt(buy.funds) + BigInt(buy.fee)).toString()],
      ],
    );
    assert.ok((await reversal(t.seller)).items.every((x) => JSON.parse(x.context).tradeId === sale.tradeId));
    for (const trader of [t.seller, t.buyer]) {
      const l = (await all(trader)).items;
      for (const c of ["VND", "GOLD"]) assert.equal(net(l, c), total(trader, c), `${c} of ${trader.creds.accountId}`);
    }
    assert.equal(total(t.seller, "GOLD"), 95n, "the reversed sale's unit is back");
    assert.deepEqual((await all(t.third)).items.length, 1);
  });

  it("is read by stock ccxt's fetchLedger, the tax entry included", async () => {
    const ex = kucoinAt(gw.url, t.seller.creds);
    const entries = await ex.fetchLedger("VND");
    const sales = (await fills(t.seller)).filter((f) => f.tax !== "0");
    const taxes = entries.filter((x) => x.type === "Tax withholding");
    assert.deepEqual(taxes.map((x) => [x.referenceId, x.direction, x.amount, x.currency, x.timestamp, x.account]).sort(), sales.map((f) => [f.tradeId, "out", Number(f.tax), "VND", f.createdAt, "TRADE"]).sort());
    const proceeds = entries.filter((x) => x.type === "Exchange" && x.direction === "in");
    assert.deepEqual(proceeds.map((x) => [x.referenceId, x.fee?.cost, x.fee?.currency]).sort(), (await fills(t.seller)).map((f) => [f.tradeId, Number(f.fee), "VND"]).sort());
    assert.ok(entries.every((x) => x.currency === "VND"));
    const everything = await ex.fetchLedger();
    assert.ok(everything.some((x) => x.currency === "GOLD" && x.type === "transaction" && x.direction === "in"), "the GOLD deposit, a ccxt transaction");
  });
});
