import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createPublicClient, getAddress, http, keccak256, toHex, type Hex } from "viem";
import type { ChainServices } from "../src/chain/chainServices.ts";
import { withoutUrls } from "../src/observability/logger.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { freePort } from "./support/freePort.ts";
import { loginAndCreateKey, startTestChainServices, startTestGateway, type GatewayFixture } from "./support/gatewayFixture.ts";
import { sessionClient, siweLogin, type SessionClient } from "./support/httpProbe.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { until } from "./support/until.ts";

const SYMBOL = "GOLD-VND";
type Book = { journalSeq: string; asks: string[][]; bids: string[][]; changedAt: string | null; prevSeq: string | null; nextSeq: string | null; nextSearchedTo: string | null; journalEnd: string; depth: number };

/**
 * The compliance routes behind the console's past books, e-ID attributes and settlement queue,
 * over HTTP on the real gateway and chain: what they return against the journal and the
 * registry, who may call them, and how bad input is refused.
 */
describe("compliance records: past books with steps, e-ID attributes from the registry, settlement failures", { timeout: 90_000 }, () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let services: ChainServices;
  let officer: SessionClient;
  let operator: SessionClient;
  let trader: SessionClient;
  const acct = { officer: hardhatAccount(40), operator: hardhatAccount(41), seller: hardhatAccount(11), buyer: hardhatAccount(16), spare: hardhatAccount(42) };
  let ids: { seller: Hex; buyer: Hex };
  /** Journal records of the book changes: s1 ask 5 @ 10000, s2 ask 3 @ 10100 (behind it), s3 a buy of 2 trading with s1. */
  const s = { s1: 0n, s2: 0n, s3: 0n };
  let tradeId = "";

  const book = async (q: string) => {
    const r = await officer<Book>("GET", `/api/v1/compliance/books/${SYMBOL}?${q}`);
    assert.equal(r.code, "200000", JSON.stringify(r));
    return r.data;
  };

  before(async () => {
    chain = await startChain();
    gw = await startTestGateway(chain, {
      env: { SEN_COMPLIANCE: acct.officer.address.toLowerCase(), SEN_OPERATORS: acct.operator.address.toLowerCase(), SEN_JOURNAL_FSYNC: "none", SEN_AUDIT_CHECKPOINT_MS: "3600000" },
    });
    // Batches wait for flushAll(), so a revocation can land between match and settlement.
    services = await startTestChainServices(chain, gw.ctx, { settlement: { maxDelayMs: 3_600_000 } });
    await chain.attest(acct.officer.address, "cr-officer");
    await chain.attest(acct.operator.address, "cr-operator");
    ids = { seller: await chain.attest(acct.seller.address, "cr-seller"), buyer: await chain.attest(acct.buyer.address, "cr-buyer") };
    await chain.fundAndDeposit(11, { gold: 100n });
    await chain.fundAndDeposit(16, { vnd: 10_000_000n });
    await services.poll();
    await until("deposits credited", () => gw.ctx.trading.core.ledger.balance(acct.buyer.address.toLowerCase(), "VND").available === 10_000_000n);
    officer = sessionClient(gw.url, (await siweLogin(gw.url, acct.officer)).data.token);
    operator = sessionClient(gw.url, (await siweLogin(gw.url, acct.operator)).data.token);
    const sellerCreds = await loginAndCreateKey(gw.url, acct.seller);
    trader = sessionClient(gw.url, sellerCreds.token);
    const ks = kucoinClient(() => gw.url, sellerCreds);
    const kb = kucoinClient(() => gw.url, await loginAndCreateKey(gw.url, acct.buyer));
    const place = async (k: typeof ks, side: "buy" | "sell", price: string, size: string) => {
      const r = await k<{ orderId: string }>("POST", "/api/v1/orders", { clientOid: `cr-${side}-${price}-${size}`, side, symbol: SYMBOL, type: "limit", price, size });
      assert.equal(r.code, "200000", JSON.stringify(r));
      await gw.ctx.audit.flush();
      const accepted = await gw.ctx.audit.index.query({ orderId: r.data.orderId, types: ["order.accepted"], limit: 1, order: "asc" });
      return BigInt(accepted.items[0].jseq!);
    };
    s.s1 = await place(ks, "sell", "10000", "5");
    s.s2 = await place(ks, "sell", "10100", "3");
    s.s3 = await place(kb, "buy", "10000", "2");
    tradeId = [...gw.ctx.trading.core.unsettledTrades()][0].tradeId;
  });

  after(async () => {
    await services?.stop();
    await gw?.close();
    await chain?.close();
  });

  it("a past book names the records before and after it that changed it, at the depth shown", async () => {
    const at2 = await book(`seq=${s.s2}`);
    assert.deepEqual(at2.asks, [["10000", "5"], ["10100", "3"]]);
    assert.deepEqual(at2.bids, []);
    assert.equal(at2.changedAt, String(s.s2));
    assert.equal(at2.prevSeq, String(s.s1));
    assert.equal(at2.nextSeq, String(s.s3));

    // Step back: the earlier state.
    const at1 = await book(`seq=${at2.prevSeq}`);
    assert.deepEqual(at1.asks, [["10000", "5"]]);
    assert.equal(at1.nextSeq, String(s.s2));
    // Before the first order the book was empty; that is the first state.
    const empty = await book(`seq=${at1.prevSeq}`);
    assert.equal(BigInt(empty.journalSeq), s.s1 - 1n);
    assert.deepEqual([empty.asks, empty.bids], [[], []]);
    assert.equal(empty.prevSeq, null);
    assert.equal(empty.changedAt, null);
    assert.equal(empty.nextSeq, String(s.s1));

    // Step forward from the middle: the trade took 2 of the best ask; nothing changed it since.
    const at3 = await book(`seq=${at2.nextSeq}`);
    assert.deepEqual(at3.asks, [["10000", "3"], ["10100", "3"]]);
    assert.equal(at3.nextSeq, null);
    assert.equal(at3.nextSearchedTo, null, "the search reached the journal's end");
    assert.equal(at3.journalEnd, String(gw.ctx.trading.lastSeq));

    // At depth 1 the ask behind the best is not shown, so its record is no step: back from the trade is the first ask.
    const top = await book(`seq=${s.s3}&depth=1`);
    assert.deepEqual(top.asks, [["10000", "3"]]);
    assert.equal(top.prevSeq, String(s.s1));
    const topBack = await book(`seq=${top.prevSeq}&depth=1`);
    assert.deepEqual(topBack.asks, [["10000", "5"]]);
    assert.equal(topBack.nextSeq, String(s.s3));

    // A record in between that did not change the book shows the state of the last one that did.
    const between = await book(`seq=${s.s2}&depth=1`);
    assert.equal(between.changedAt, String(s.s1));
    assert.deepEqual(between.asks, [["10000", "5"]]);

    // By time (microseconds allowed): now is the latest state.
    const now = await book(`time=${new Date(Date.now() + 1000).toISOString().replace("Z", "123Z")}`);
    assert.equal(now.journalSeq, String(gw.ctx.trading.lastSeq));
    assert.deepEqual(now.asks, at3.asks);
  });

  it("the search for a past book's next change is bounded and continues where it stopped; a query inside the last unchanged stretch replays nothing", async () => {
    const t = gw.ctx.pastBooks;
    // At depth 1 the ask behind the best (s2) changes nothing shown: after s1 the next change is s3.
    const first = await t.bookAt(SYMBOL, { seq: s.s1 }, 1);
    assert.deepEqual([first.changedAt, first.nextSeq, first.nextSearchedTo], [s.s1, s.s3, null]);
    // Between s1 and the change it found: the same book, from the stretch, with no record replayed.
    const replayed = t.historyReplayed;
    const mid = await t.bookAt(SYMBOL, { seq: s.s2 }, 1);
    assert.equal(t.historyReplayed, replayed, "answered without replaying");
    assert.deepEqual([mid.seq, mid.changedAt, mid.prevSeq, mid.nextSeq, mid.asks], [s.s2, s.s1, first.prevSeq, s.s3, first.asks]);
    const fresh = await t.bookAt(SYMBOL, { seq: s.s2 }, 2); // another depth: a real replay, to compare times
    assert.deepEqual([mid.ts, mid.us], [fresh.ts, fresh.us], "the record's own time");
    const byTime = await t.bookAt(SYMBOL, { us: mid.us }, 2);
    assert.equal(byTime.seq, s.s2);

    // A search limited to one record finds no change after s1: it says how far it looked.
    assert.ok(s.s3 - s.s1 >= 2n);
    let at = await t.bookAt(SYMBOL, { seq: s.s1 }, 1, undefined, 1n);
    assert.deepEqual([at.nextSeq, at.nextSearchedTo], [null, s.s1 + 1n]);
    // "Search further" asks again at that record: it continues from there, one record at a time, to the change.
    const before = t.historyReplayed;
    while (at.nextSeq === null && at.nextSearchedTo !== null) at = await t.bookAt(SYMBOL, { seq: at.nextSearchedTo }, 1, undefined, 1n);
    assert.deepEqual([at.seq, at.changedAt, at.nextSeq], [s.s3 - 1n, s.s1, s.s3]);
    assert.equal(t.historyReplayed - before, Number(s.s3 - s.s1 - 1n), "each record replayed once, none from the journal's start");
  });

  it("an e-ID's attributes come from the registry on chain, its bound wallets from the chain-fed holder view, and a revocation shows", async () => {
    // A second wallet bound to the buyer's e-ID, and a third bound then unbound (a lost key).
    const wait = async (hash: Hex) => void (await chain.publicClient.waitForTransactionReceipt({ hash }));
    await wait(await chain.registry.write.addWallet([ids.buyer, acct.spare.address]));
    const lost = hardhatAccount(43);
    await wait(await chain.registry.write.addWallet([ids.buyer, lost.address]));
    await wait(await chain.registry.write.removeWallet([lost.address]));

    const r = await officer("GET", `/api/v1/compliance/identities/${ids.buyer}`);
    assert.equal(r.code, "200000", JSON.stringify(r));
    const a = r.data;
    const onChain = await chain.registry.read.identity([ids.buyer]);
    assert.equal(a.identityHash, ids.buyer.toLowerCase());
    assert.equal(a.kycLevel.level, onChain.kycLevel);
    assert.equal(a.kycLevel.name, "level 2 (full e-ID)");
    assert.deepEqual(a.country, { code: 704, alpha2: "VN", name: "Vietnam" });
    assert.deepEqual(a.investorType, { code: 2, name: "professional" });
    assert.equal(a.expiresAt, new Date(Number(onChain.expiresAt) * 1000).toISOString());
    assert.equal(a.expired, false);
    assert.deepEqual(a.issuer, { address: getAddress(onChain.issuer), trusted: true });
    assert.equal(getAddress(a.issuer.address), getAddress(chain.deployment.roles.kycIssuer));
    assert.equal(a.verified, true);
    assert.equal(a.revoked, false);
    // The wallets bound at the block read; an unbound one is no longer listed (the view does not keep it).
    const wallets = Object.fromEntries((a.wallets as Array<{ wallet: string; bound: boolean }>).map((w) => [w.wallet, w.bound]));
    assert.deepEqual(wallets, { [acct.buyer.address.toLowerCase()]: true, [acct.spare.address.toLowerCase()]: true });
    const [boundHash] = await chain.registry.read.identityOf([acct.spare.address], { blockNumber: BigInt(a.block) });
    assert.equal(boundHash.toLowerCase(), ids.buyer.toLowerCase(), "the spare wallet is bound at the block the route names");
    // No log scan from the deployment block: the route's catch-up covers only the blocks since
    // the view's last poll. The gateway's pollers (holder view, tax policy, deposits) may run
    // their own catch-up meanwhile, so calls are judged by the blocks they ask for, not counted.
    const client = gw.ctx.chain!.publicClient as { getLogs: (...a: unknown[]) => Promise<unknown> };
    const getLogs = client.getLogs;
    const ranges: Array<{ fromBlock?: bigint; toBlock?: bigint }> = [];
    const viewBlock = gw.ctx.holderView!.states()[0].block;
    client.getLogs = (...args) => (ranges.push(args[0] as { fromBlock?: bigint }), getLogs.apply(client, args));
    try {
      assert.equal((await officer("GET", `/api/v1/compliance/identities/${ids.buyer}`)).code, "200000");
    } finally {
      client.getLogs = getLogs;
    }
    const start = gw.ctx.chain!.startBlock;
    assert.ok(viewBlock > start + 8n, `the chain has moved past the deployment (block ${start}) before the query (view at ${viewBlock})`);
    for (const r of ranges) assert.ok(r.fromBlock !== undefined && r.fromBlock > start && r.fromBlock >= viewBlock - 8n, `eth_getLogs from block ${r.fromBlock} (view at ${viewBlock}, deployment ${start})`);
    assert.ok(ranges.length <= 4, `${ranges.length} eth_getLogs calls`);

    // The buyer's e-ID is revoked between the match and the settlement: the registry says so, and so does the route.
    await chain.revoke(ids.buyer);
    const after = (await officer("GET", `/api/v1/compliance/identities/${ids.buyer}`)).data;
    assert.equal(after.revoked, true);
    assert.equal(after.verified, false);
    assert.deepEqual(after.notVerifiedBecause, ["revoked"]);
    // Who revoked it and when are only in the registry's events, which the route no longer scans.
    assert.equal(after.revokedBy, null);
    assert.equal(after.revokedByGovernance, null);
    assert.equal(after.revokedAt, null);

    // The query is on the audit trail.
    await gw.ctx.audit.flush();
    const q = await gw.ctx.audit.index.query({ types: ["audit.query"], account: acct.officer.address.toLowerCase(), limit: 100, order: "desc" });
    assert.ok(q.items.some((e) => e.reason === "identityAttributes" && (e.detail as { identityHash?: string }).identityHash === ids.buyer.toLowerCase()));
  });

  it("a failed settlement is in the open queue with the decoded reason and both sides, then resolved with who, what and the note", async () => {
    await services.batcher.flushAll();
    const open = await officer("GET", "/api/v1/compliance/settlements?status=open");
    assert.equal(open.code, "200000", JSON.stringify(open));
    assert.equal(open.data.items.length, 1);
    const f = open.data.items[0];
    assert.equal(f.tradeId, tradeId);
    assert.equal(f.symbol, SYMBOL);
    assert.equal(f.size, "2");
    assert.equal(f.amount, "20000");
    assert.equal(f.buyer.account, acct.buyer.address.toLowerCase());
    assert.equal(f.buyer.identityHash, ids.buyer.toLowerCase());
    assert.equal(f.seller.identityHash, ids.seller.toLowerCase());
    assert.match(f.reason, /^(SettlementNotVerified|ERC7943CannotReceive|ERC7943CannotTransfer|SettlementTradeFailed)\(/);
    assert.notEqual(f.reasonText, "Refused by the settlement vault", f.reason);
    assert.ok(Date.parse(f.failedAt) >= Date.parse(f.tradedAt));
    assert.equal(typeof f.auditSeq, "number");
    assert.deepEqual((await officer("GET", "/api/v1/compliance/settlements?status=resolved")).data.items, []);

    await until("the revoked buyer frozen", () => gw.ctx.trading.core.isFrozen(acct.buyer.address.toLowerCase()) !== undefined);
    const rev = await operator("POST", `/api/v1/sen/operator/settlements/${tradeId}/reverse`, { note: "buyer's e-ID revoked after the match" });
    assert.equal(rev.code, "200000", JSON.stringify(rev));
    await gw.ctx.audit.flush();
    assert.deepEqual((await officer("GET", "/api/v1/compliance/settlements")).data.items, [], "status=open is the default");
    const resolved = (await officer("GET", "/api/v1/compliance/settlements?status=resolved")).data.items;
    assert.equal(resolved.length, 1);
    assert.equal(resolved[0].tradeId, tradeId);
    assert.equal(resolved[0].action, "reverse");
    assert.equal(resolved[0].by, acct.operator.address.toLowerCase());
    assert.equal(resolved[0].note, "buyer's e-ID revoked after the match");
    assert.equal(resolved[0].reason, f.reason);
    assert.equal(resolved[0].buyer.identityHash, ids.buyer.toLowerCase());
  });

  it("only compliance officers may call them; bad input is refused in the envelope", async () => {
    const paths = [`/api/v1/compliance/books/${SYMBOL}?seq=1`, `/api/v1/compliance/identities/${ids.seller}`, "/api/v1/compliance/settlements?status=open"];
    for (const [who, client] of [["trader", trader], ["operator", operator]] as const) {
      for (const p of paths) {
        const r = await client("GET", p);
        assert.equal(r.status, 403, `${who} ${p}: ${JSON.stringify(r)}`);
        assert.equal(r.senCode, "AUTH_ROLE_FORBIDDEN");
      }
    }
    const bad: Array<[string, number, string]> = [
      [`/api/v1/compliance/books/${SYMBOL}?seq=abc`, 400, "VALIDATION"],
      [`/api/v1/compliance/books/${SYMBOL}?seq=1&time=2026-01-01T00:00:00Z`, 400, "VALIDATION"],
      [`/api/v1/compliance/books/${SYMBOL}`, 400, "VALIDATION"],
      [`/api/v1/compliance/books/${SYMBOL}?seq=1&depth=0`, 400, "VALIDATION"],
      [`/api/v1/compliance/books/${SYMBOL}?time=2026-02-30T00:00:00Z`, 400, "VALIDATION"],
      ["/api/v1/compliance/books/gold?seq=1", 400, "VALIDATION"],
      ["/api/v1/compliance/identities/0x1234", 400, "VALIDATION"],
      ["/api/v1/compliance/settlements?status=pending", 400, "VALIDATION"],
      ["/api/v1/compliance/settlements?status=open&limit=0", 400, "VALIDATION"],
      ["/api/v1/compliance/settlements?what=1", 400, "VALIDATION"],
    ];
    for (const [p, status, senCode] of bad) {
      const r = await officer("GET", p);
      assert.equal(r.status, status, `${p}: ${JSON.stringify(r)}`);
      assert.equal(r.senCode, senCode, p);
      assert.equal(r.code, "400100", p);
      assert.ok(r.msg && r.msg.length > 10, p);
    }
    // A hash the registry never attested: not found, in words.
    const none = await officer("GET", `/api/v1/compliance/identities/${keccak256(toHex("never attested"))}`);
    assert.equal(none.status, 404, JSON.stringify(none));
    assert.match(none.msg ?? "", /No e-ID 0x[0-9a-f]{64} in the IdentityRegistry/);
  });

  it("a gateway without a chain, or whose chain does not answer, says the registry cannot be read", async () => {
    const bare = await startTestGateway(chain, { holderRules: false, env: { SEN_COMPLIANCE: acct.officer.address.toLowerCase(), SEN_JOURNAL_FSYNC: "none" } });
    try {
      const c = sessionClient(bare.url, (await siweLogin(bare.url, acct.officer)).data.token);
      const r = await c("GET", `/api/v1/compliance/identities/${ids.seller}`);
      assert.equal(r.status, 503, JSON.stringify(r));
      assert.equal(r.senCode, "COMPLIANCE_NO_CHAIN");
      assert.match(r.msg ?? "", /without a chain.*e-ID registry cannot be read/);
      // The settlement queue is the gateway's own: it still answers.
      assert.equal((await c("GET", "/api/v1/compliance/settlements")).code, "200000");
      // A chain that does not answer: said so, without the RPC's address.
      const port = await freePort();
      bare.ctx.chain = { ...gw.ctx.chain!, publicClient: createPublicClient({ transport: http(`http://127.0.0.1:${port}`, { retryCount: 0, timeout: 2_000 }) }) };
      const logged: unknown[] = [];
      const warn = bare.ctx.logger.warn;
      bare.ctx.logger.warn = ((...args: unknown[]) => void logged.push(args)) as typeof warn;
      const down = await c("GET", `/api/v1/compliance/identities/${ids.seller}`);
      bare.ctx.logger.warn = warn;
      assert.equal(down.status, 503, JSON.stringify(down));
      // Logged as one line without the RPC's URL (a provider's may hold its API key).
      assert.equal(logged.length, 1, JSON.stringify(logged));
      const [fields] = logged[0] as [{ error: string }];
      assert.equal(withoutUrls("fetch failed: https://eth.example/v2/SECRETKEY?x=1 (wss://a.example/k)"), "fetch failed: <url> (<url>");
      assert.ok(fields.error && !fields.error.includes("\n") && !fields.error.includes(String(port)) && !/https?:\/\//.test(fields.error), fields.error);
      assert.equal(down.senCode, "COMPLIANCE_CHAIN_UNAVAILABLE");
      assert.match(down.msg ?? "", /chain did not answer/);
      assert.ok(!JSON.stringify(down).includes(String(port)), "the RPC address is not in the reply");
    } finally {
      await bare.close();
    }
  });
});
