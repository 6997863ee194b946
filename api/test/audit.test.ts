import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createPublicKey } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import type { AuditEvent } from "../src/compliance/audit/auditEvent.ts";
import { verifyCheckpoint, type AnchoredCheckpoint } from "../src/compliance/audit/checkpoint.ts";
import { auditAnchorAbi } from "../src/chain/auditAnchorer.ts";
import { verifyInclusion, verifyConsistency } from "../src/compliance/audit/merkle.ts";
import type { ChainServices } from "../src/chain/chainServices.ts";
import { hardhatAccount, type ChainFixture } from "./support/chainFixture.ts";
import { getJson, loginAndCreateKey, postJson, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { startAuditedExchange } from "./support/auditedExchange.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { until } from "./support/until.ts";

const SYMBOL = "GOLD-VND";
const run = promisify(execFile);


type Page = { items: AuditEvent[]; nextCursor?: string };

/**
 * The audit trail through the real gateway: what a trader does is recorded with the fields a
 * regulator asks for, compliance queries are for the compliance role only and are themselves
 * audited, checkpoints are anchored on chain, proofs verify, and an export verifies offline.
 */
describe("audit trail: recording, compliance queries, proofs, anchoring, export", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let services: ChainServices;
  let officer: ApiCredentials;
  let seller: ApiCredentials;
  let buyer: ApiCredentials;
  let sellerId: string;
  let buyerId: string;
  const accounts = { officer: hardhatAccount(45), seller: hardhatAccount(46), buyer: hardhatAccount(47), operator: hardhatAccount(48) };

  before(async () => {
    ({ chain, gw, services, officer, seller, buyer, sellerId, buyerId } = await startAuditedExchange({ name: "audit", accounts, gold: "1000" }));
  });
  after(async () => {
    await services?.stop();
    await gw?.close();
    await chain?.close();
  });

  const events = (query: string, token = officer.token) => getJson(`${gw.url}/api/v1/compliance/events?${query}`, token) as Promise<Page>;

  it("records an order's whole lifecycle with CAT-style fields", async () => {
    const s = kucoinClient(() => gw.url, seller);
    const b = kucoinClient(() => gw.url, buyer);
    const placed = await s("POST", "/api/v1/orders", { clientOid: "aud-s1", side: "sell", symbol: SYMBOL, type: "limit", price: "10000", size: "5" });
    assert.equal(placed.code, "200000", JSON.stringify(placed));
    const sellId = (placed.data as { orderId: string }).orderId;
    const took = await b("POST", "/api/v1/orders", { clientOid: "aud-b1", side: "buy", symbol: SYMBOL, type: "limit", price: "10000", size: "2" });
    const buyId = (took.data as { orderId: string }).orderId;
    // refused by a pre-trade rule: recorded with the rule id
    const refused = await b("POST", "/api/v1/orders", { clientOid: "aud-b2", side: "buy", symbol: SYMBOL, type: "limit", price: "1", size: "1" });
    assert.notEqual(refused.code, "200000");
    const cancelled = await s("DELETE", `/api/v1/orders/${sellId}`);
    assert.equal(cancelled.code, "200000");

    const lifecycle = await until("lifecycle recorded", async () => {
      const l = (await getJson(`${gw.url}/api/v1/compliance/orders/${sellId}/lifecycle`, officer.token).catch(() => undefined)) as { events: AuditEvent[] } | undefined;
      return l && l.events.some((e) => e.type === "order.cancelled") ? l : undefined;
    });
    assert.deepEqual(
      lifecycle.events.map((e) => e.type),
      ["order.received", "order.accepted", "order.filled", "order.cancelled"],
    );
    const [received, accepted, filled, cancel] = lifecycle.events;
    assert.equal(received.account, seller.accountId);
    assert.equal(received.identityHash, sellerId);
    assert.equal(received.apiKeyId, seller.apiKey);
    assert.equal(received.clientOid, "aud-s1");
    assert.ok(received.ip, "source IP recorded");
    assert.match(received.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.deepEqual([accepted.orderId, accepted.side, accepted.price, accepted.qty, accepted.orderType, accepted.tif], [sellId, "sell", "10000", "5", "limit", "GTC"]);
    assert.equal(typeof accepted.jseq, "number");
    assert.deepEqual([filled.liquidity, filled.qty, filled.counterpartyOrderId, filled.counterpartyIdentityHash], ["maker", "2", buyId, buyerId]);
    assert.deepEqual([cancel.reason, cancel.qty], ["user", "3"]);
    for (let i = 1; i < lifecycle.events.length; i++) assert.ok(lifecycle.events[i].seq > lifecycle.events[i - 1].seq, "lifecycle in recording order");

    const rejected = await until("rejection recorded", async () => (await events(`account=${buyer.accountId}&type=order.rejected`)).items[0]);
    assert.equal(rejected.clientOid, "aud-b2");
    assert.match(rejected.ruleId ?? "", /^RISK_/);
    // the buyer's fill: taker side, counterparty the seller's identity
    const buyerFill = (await events(`orderId=${buyId}&type=order.filled`)).items[0];
    assert.deepEqual([buyerFill.liquidity, buyerFill.counterpartyIdentityHash, buyerFill.counterpartyAccount], ["taker", sellerId, seller.accountId]);
  });

  it("records logins, API keys, deposits and operator controls", async () => {
    const types = new Set((await events(`limit=1000`)).items.map((e) => e.type));
    for (const t of ["auth.login", "apiKey.created", "deposit"]) assert.ok(types.has(t as AuditEvent["type"]), `${t} recorded`);
    const op = await loginAndCreateKey(gw.url, accounts.operator, ["General"]);
    await postJson(`${gw.url}/api/v1/sen/operator/markets/${SYMBOL}/halt`, { reason: "test halt" }, op.token);
    await postJson(`${gw.url}/api/v1/sen/operator/markets/${SYMBOL}/resume`, { reason: "test over" }, op.token);
    const halts = await until("halt recorded", async () => {
      const p = await events(`symbol=${SYMBOL}&type=market.halted,market.resumed&order=asc`);
      return p.items.length === 2 ? p.items : undefined;
    });
    assert.deepEqual(halts.map((e) => [e.type, e.reason, e.actor]), [
      ["market.halted", "test halt", op.accountId],
      ["market.resumed", "test over", op.accountId],
    ]);
  });

  it("serves compliance queries to the compliance role only, and audits each query", async () => {
    const traderTry = await fetch(`${gw.url}/api/v1/compliance/events`, { headers: { authorization: `Bearer ${seller.token}` } });
    const body = (await traderTry.json()) as { code: string };
    assert.notEqual(body.code, "200000");
    assert.ok(traderTry.status === 401 || traderTry.status === 403, `status ${traderTry.status}`);
    const anon = await fetch(`${gw.url}/api/v1/compliance/alerts`);
    assert.notEqual(((await anon.json()) as { code: string }).code, "200000");

    await events(`identityHash=${sellerId}`);
    const audited = await until("query audited", async () => {
      const p = await events(`type=audit.query&account=${officer.accountId}&limit=50`);
      return p.items.find((e) => (e.detail as { identityHash?: string } | undefined)?.identityHash === sellerId);
    });
    assert.equal(audited.actor, officer.accountId);
    assert.equal(audited.reason, "events");
  });

  it("pages with cursors and exports CSV and JSONL streams", async () => {
    const all: AuditEvent[] = [];
    let cursor: string | undefined;
    do {
      const p = await events(`order=asc&limit=7${cursor ? `&cursor=${cursor}` : ""}`);
      all.push(...p.items);
      cursor = p.nextCursor;
    } while (cursor);
    assert.ok(all.length > 10);
    // pages run in event-time order, seq breaking ties
    const byTime = [...all].sort((a, b) => (a.ts === b.ts ? a.seq - b.seq : a.ts < b.ts ? -1 : 1));
    assert.deepEqual(all.map((e) => e.seq), byTime.map((e) => e.seq));
    assert.equal(new Set(all.map((e) => e.seq)).size, all.length);

    const jsonl = await fetch(`${gw.url}/api/v1/compliance/events/export?format=jsonl&account=${seller.accountId}`, { headers: { authorization: `Bearer ${officer.token}` } });
    assert.equal(jsonl.status, 200);
    const lines = (await jsonl.text()).trim().split("\n").map((l) => JSON.parse(l) as AuditEvent);
    assert.ok(lines.length > 3 && lines.every((e) => e.account === seller.accountId));
    const csv = await fetch(`${gw.url}/api/v1/compliance/events/export?format=csv&identityHash=${sellerId}`, { headers: { authorization: `Bearer ${officer.token}` } });
    assert.match(csv.headers.get("content-type") ?? "", /text\/csv/);
    const rows = (await csv.text()).trim().split("\n");
    assert.ok(rows[0].startsWith("seq,id,ts,type,"));
    assert.ok(rows.length > 3);
    const bad = await fetch(`${gw.url}/api/v1/compliance/events/export?format=xml`, { headers: { authorization: `Bearer ${officer.token}` } });
    assert.notEqual(((await bad.json()) as { code: string }).code, "200000");
  });

  it("rebuilds the order book as it was at an earlier journal sequence", async () => {
    const s = kucoinClient(() => gw.url, seller);
    const r1 = await s("POST", "/api/v1/orders", { clientOid: "aud-book-1", side: "sell", symbol: SYMBOL, type: "limit", price: "10900", size: "3" });
    const id1 = (r1.data as { orderId: string }).orderId;
    const acceptedEv = await until("accepted", async () => (await events(`orderId=${id1}&type=order.accepted`)).items[0]);
    await s("DELETE", `/api/v1/orders/${id1}`);
    const then = (await getJson(`${gw.url}/api/v1/compliance/books/${SYMBOL}?seq=${acceptedEv.jseq}`, officer.token)) as { asks: string[][] };
    assert.ok(then.asks.some(([p, q]) => p === "10900" && q === "3"), JSON.stringify(then));
    const now = (await getJson(`${gw.url}/api/v1/compliance/books/${SYMBOL}?seq=${Number(gw.ctx.trading.lastSeq)}`, officer.token)) as { asks: string[][] };
    assert.ok(!now.asks.some(([p]) => p === "10900"));
    // Back in time (a fresh replay), forward again (continues from the kept one), and several at
    // once (queued): each answer is what a replay from the first record gives.
    const at = (seq: number | bigint) => getJson(`${gw.url}/api/v1/compliance/books/${SYMBOL}?seq=${seq}`, officer.token) as Promise<{ journalSeq: string; asks: string[][]; bids: string[][] }>;
    assert.deepEqual(await at(acceptedEv.jseq!), then);
    const seqs = [Number(acceptedEv.jseq), Number(gw.ctx.trading.lastSeq), Number(acceptedEv.jseq) + 1]; // at most 3 wait at once
    const together = await Promise.all(seqs.map(at));
    const oneByOne = [];
    for (const q of seqs) {
      await at(1); // so that each of these replays from the first record
      oneByOne.push(await at(q));
    }
    assert.deepEqual(together, oneByOne);
    // a replay whose requester has gone stops, and the next one is not affected
    await assert.rejects(gw.ctx.pastBooks.bookAt(SYMBOL, { seq: 2n }, 10, AbortSignal.abort()), { name: "AbortError" });
    assert.deepEqual(await at(acceptedEv.jseq!), then);
    assert.deepEqual(together[1], now);
  });

  it("signs checkpoints, anchors them on chain, and serves proofs that verify", async () => {
    await gw.ctx.audit.flush();
    const status = await until("anchored checkpoint", async () => {
      const st = (await getJson(`${gw.url}/api/v1/compliance/audit/status`, officer.token)) as {
        verified: boolean;
        latestCheckpoint: { treeSize: number; signatureOk: boolean; rootOk: boolean; anchor: { ok: boolean; anchoredTreeSize: number } | null } | null;
      };
      return st.latestCheckpoint?.anchor && st.latestCheckpoint.anchor.anchoredTreeSize > 0 ? st : undefined;
    });
    assert.equal(status.verified, true, JSON.stringify(status));
    assert.equal(status.latestCheckpoint!.signatureOk, true);

    const cp = (await getJson(`${gw.url}/api/v1/audit/checkpoint`)) as { treeSize: number; root: string; publicKeyPem: string };
    const leaf = (await getJson(`${gw.url}/api/v1/audit/proof/inclusion?seq=3&treeSize=${cp.treeSize}`)) as { leafIndex: number; treeSize: number; leafHash: string; proof: string[]; root: string };
    assert.equal(leaf.root, cp.root);
    const buf = (h: string) => Buffer.from(h.replace(/^0x/, ""), "hex");
    assert.ok(verifyInclusion(buf(leaf.leafHash), 3, cp.treeSize, leaf.proof.map(buf), buf(cp.root)));
    const first = Math.max(1, Math.floor(cp.treeSize / 2));
    const cons = (await getJson(`${gw.url}/api/v1/audit/proof/consistency?first=${first}&second=${cp.treeSize}`)) as { proof: string[]; firstRoot: string; secondRoot: string };
    assert.ok(verifyConsistency(first, cp.treeSize, buf(cons.firstRoot), buf(cons.secondRoot), cons.proof.map(buf)));

    // What is on chain must be the root the gateway signed at that size, not merely some root.
    const address = chain.deployment.contracts.AuditAnchor;
    const [anchoredSize, anchoredRoot] = await chain.publicClient.readContract({ address, abi: auditAnchorAbi, functionName: "latest" });
    const size = Number(anchoredSize);
    assert.ok(size > 0); // may already be past cp: checkpoints keep coming and are anchored as they do
    // The log records the anchor once the receipt is in, a moment after the chain shows it.
    const signed = await until("the anchor recorded with its checkpoint", async () => {
      const [c] = (await getJson(`${gw.url}/api/v1/audit/checkpoints?fromTreeSize=${size}&limit=1`)) as unknown as AnchoredCheckpoint[];
      return c?.anchor ? c : undefined;
    });
    assert.equal(signed.treeSize, size);
    assert.ok(verifyCheckpoint(signed, createPublicKey(cp.publicKeyPem)), "the anchored checkpoint is signed by the gateway's key");
    assert.equal(anchoredRoot.toLowerCase(), signed.root.toLowerCase());
    assert.equal((await chain.publicClient.readContract({ address, abi: auditAnchorAbi, functionName: "rootAt", args: [anchoredSize] })).toLowerCase(), signed.root.toLowerCase());
    assert.equal(signed.anchor!.contract.toLowerCase(), address.toLowerCase());
    // ...and the events the gateway serves proofs for hash to it.
    const atAnchor = (await getJson(`${gw.url}/api/v1/audit/proof/inclusion?seq=0&treeSize=${size}`)) as { root: string };
    assert.equal(atAnchor.root, signed.root);
  });

  it("exports the log and the offline verifier accepts it, anchors checked on chain", async () => {
    await gw.ctx.audit.flush();
    await services.anchorer!.anchorNow();
    const dir = mkdtempSync(path.join(tmpdir(), "sen-audit-export-"));
    try {
      const { events: n } = await gw.ctx.audit.log.exportTo(dir);
      // The gateway goes on logging and anchoring: the export is a snapshot ending at n, said so with --partial-to.
      assert.ok(n > 10);
      const { stdout } = await run(process.execPath, [path.resolve(import.meta.dirname, "../../scripts/auditVerify.ts"), dir, "--json", "--rpc", chain.rpcUrl!, "--deployment", chain.deploymentFile!, "--partial-to", String(n)]);
      const result = JSON.parse(stdout) as { ok: boolean; events: number; anchorsChecked: number };
      assert.equal(result.ok, true, stdout);
      assert.equal(result.events, n);
      assert.ok(result.anchorsChecked > 0, stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
