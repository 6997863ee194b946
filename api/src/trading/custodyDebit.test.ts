import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { createFileJournal } from "../journal/fileJournal.ts";
import { createFileSnapshotStore } from "../journal/fileSnapshotStore.ts";
import { defaultCatalog } from "../markets/marketCatalog.ts";
import type { CustodyDebitRecord, PlaceRecord } from "../records/tradingRecords.ts";
import { DEFAULT_RISK } from "../risk/types.ts";
import { TradingCode } from "./codes.ts";
import type { TradingEvent } from "./events.ts";
import { TradingCore } from "./tradingCore.ts";
import { TradingService } from "./tradingService.ts";
import { limitPlaceRecord } from "./testing/limitOrders.ts";

const FEES = "fees";
const TAX = "tax";
const options = () => ({ catalog: defaultCatalog(), feeAccount: FEES, taxAccount: TAX });
const S = "0x00000000000000000000000000000000000000a1";
const B = "0x00000000000000000000000000000000000000b2";
const COURT = "0x00000000000000000000000000000000000000c3";
const VAULT_REF = "vault:0x0000000000000000000000000000000000000Fee";

let ts = 1_000;
const debit = (accountId: string, currency: string, amount: bigint, n: number, kind: "seized" | "returned" = "seized"): CustodyDebitRecord => ({
  t: "custodyDebit",
  ts: ++ts,
  accountId,
  currency,
  amount: amount.toString(),
  ref: `${VAULT_REF}:0x${n.toString(16).padStart(64, "0")}:0`,
  kind,
  to: COURT,
  txHash: `0x${n.toString(16).padStart(64, "0")}`,
});
const place = (orderId: string, accountId: string, side: "buy" | "sell", price: number, size: number, stop?: PlaceRecord["stop"]): PlaceRecord =>
  limitPlaceRecord(++ts, orderId, { accountId, side, price, size, clientOid: orderId }, stop);
const deposit = (accountId: string, currency: string, amount: bigint, ref: string) => ({ t: "deposit" as const, ts: ++ts, accountId, currency, amount: amount.toString(), ref });

function recorded(core: TradingCore): TradingEvent[] {
  const events: TradingEvent[] = [];
  core.subscribe((e) => events.push(e));
  return events;
}

describe("custody that leaves the vault by the token agent's powers (custodyDebit)", () => {
  it("is taken from available when available covers it; open orders stay", () => {
    const core = new TradingCore(options());
    core.apply(deposit(S, "GOLD", 100n, "d1"));
    core.apply(place("01", S, "sell", 11_000, 40));
    const events = recorded(core);
    assert.deepEqual(core.apply(debit(S, "GOLD", 60n, 1)), { ok: true });
    assert.deepEqual(core.ledger.balance(S, "GOLD"), { available: 0n, hold: 40n });
    assert.equal(core.order("01")!.isActive, true);
    const e = events.find((x) => x.kind === "custodyDebited");
    assert.ok(e?.kind === "custodyDebited");
    assert.deepEqual([e.cancelled, e.owed], [[], 0n]);
    assert.equal(core.ledger.total("GOLD"), 40n, "the debit left the exchange");
  });

  it("cancels the account's orders holding the currency, newest first and stops too, only until their holds cover the rest", () => {
    const core = new TradingCore(options());
    core.apply(deposit(S, "GOLD", 100n, "d1"));
    core.apply(deposit(S, "VND", 10_000_000n, "d2"));
    core.apply(place("01", S, "sell", 11_000, 40)); // oldest: stays
    core.apply(place("02", S, "sell", 11_100, 30));
    core.apply(place("03", S, "buy", 9_000, 10)); // holds VND: never touched
    core.apply(place("04", S, "sell", 8_900, 20, { stopPrice: 9_000, kind: "loss" })); // a stop-limit still waiting: the newest GOLD order
    assert.equal(core.order("04")!.isActive, true);
    assert.deepEqual(core.ledger.balance(S, "GOLD"), { available: 10n, hold: 90n });
    const events = recorded(core);

    assert.deepEqual(core.apply(debit(S, "GOLD", 35n, 1)), { ok: true });
    // 10 available; the stop (20) then order 02 (30) cover the other 25; order 01 is not needed.
    assert.deepEqual(
      ["01", "02", "03", "04"].map((id) => [id, core.order(id)!.isActive, core.order(id)!.doneReason]),
      [
        ["01", true, undefined],
        ["02", false, TradingCode.CUSTODY_DEBITED],
        ["03", true, undefined],
        ["04", false, TradingCode.CUSTODY_DEBITED],
      ],
    );
    assert.deepEqual(core.ledger.balance(S, "GOLD"), { available: 10n + 20n + 30n - 35n, hold: 40n });
    assert.equal(core.ledger.balance(S, "VND").hold, core.order("03")!.holdRemaining);
    const e = events.find((x) => x.kind === "custodyDebited");
    assert.ok(e?.kind === "custodyDebited");
    assert.deepEqual([e.cancelled, e.owed], [["04", "02"], 0n]);
    // The cancels are reported before the debit, each once; the book no longer shows order 02.
    const cancels = events.filter((x) => x.kind === "order" && x.change === "canceled").map((x) => x.kind === "order" && x.order.orderId);
    assert.deepEqual(cancels, ["04", "02"]);
    assert.ok(events.findIndex((x) => x.kind === "order" && x.change === "canceled") < events.indexOf(e));
    assert.deepEqual(core.l2("GOLD-VND")!.asks, [[11_000, 40]]);
  });

  it("records what the account no longer has as owed: never negative available, nothing can be sold or withdrawn, and later credits pay it off first", () => {
    const core = new TradingCore(options());
    core.apply(deposit(S, "GOLD", 15n, "d1"));
    core.apply(deposit(B, "VND", 10_000_000n, "d2"));
    core.apply(place("01", S, "sell", 10_000, 10));
    core.apply(place("02", B, "buy", 10_000, 10)); // matched, not settled: the vault still books S's 15
    const tradeId = core.fills(S)[0].tradeId;
    assert.ok(core.apply({ t: "withdrawRequest", ts: ++ts, withdrawalId: "w1", accountId: S, currency: "GOLD", amount: "5" }).ok);
    assert.deepEqual(core.ledger.balance(S, "GOLD"), { available: 0n, hold: 5n });
    const events = recorded(core);

    // The agent seizes all 15 the vault books.
    assert.deepEqual(core.apply(debit(S, "GOLD", 15n, 1)), { ok: true });
    assert.deepEqual(core.ledger.balance(S, "GOLD"), { available: 0n, hold: 5n, owed: 15n }, "the pending withdrawal's hold is left alone");
    assert.deepEqual(core.ledger.owing().map((o) => [o.account, o.currency, o.balance.owed]), [[S, "GOLD", 15n]]);
    const e = events.find((x) => x.kind === "custodyDebited");
    assert.ok(e?.kind === "custodyDebited" && e.owed === 15n);
    assert.equal(core.ledger.total("GOLD"), 0n, "15 deposited, 15 left: B's 10 unsettled units are what S owes");
    assert.equal(core.apply(place("03", S, "sell", 10_000, 1)).ok, false, "nothing to sell");

    // The vault refuses the payout: the hold comes back and pays part of the debt.
    assert.ok(core.apply({ t: "withdrawFailed", ts: ++ts, withdrawalId: "w1", reason: "SettlementInsufficientBalance" }).ok);
    assert.deepEqual(core.ledger.balance(S, "GOLD"), { available: 0n, hold: 0n, owed: 10n });
    core.apply(deposit(S, "GOLD", 4n, "d3"));
    assert.deepEqual(core.ledger.balance(S, "GOLD"), { available: 0n, hold: 0n, owed: 6n });
    // The trade fails at the vault and the operator reverses it: the units coming back settle the rest.
    assert.ok(core.apply({ t: "settleFailed", ts: ++ts, tradeId, reason: "SettlementInsufficientBalance" }).ok);
    assert.ok(core.apply({ t: "settleResolve", ts: ++ts, tradeId, action: "reverse", by: "op" }).ok);
    assert.deepEqual(core.ledger.balance(S, "GOLD"), { available: 4n, hold: 0n }, "what the vault books now: 15 - 15 + 4");
    assert.deepEqual(core.ledger.owing(), [], "paid off: no longer listed");
    assert.equal(core.ledger.total("GOLD"), 4n);
  });

  it("applies a reference once: the same event again changes nothing and says so", () => {
    const core = new TradingCore(options());
    core.apply(deposit(S, "GOLD", 100n, "d1"));
    assert.deepEqual(core.apply(debit(S, "GOLD", 30n, 7, "returned")), { ok: true });
    const before = JSON.stringify(core.snapshot());
    const events = recorded(core);
    assert.deepEqual(core.apply(debit(S, "GOLD", 30n, 7, "returned")), { ok: false, code: TradingCode.CUSTODY_DEBIT_DUPLICATE });
    assert.equal(JSON.stringify(core.snapshot()), before);
    assert.deepEqual(events, []);
    assert.equal(core.custodyDebitApplied(debit(S, "GOLD", 30n, 7).ref), true);
    assert.equal(core.depositApplied(debit(S, "GOLD", 30n, 7).ref), false, "deposit references are apart");
    // Restored from a snapshot (through JSON, as on disk) it still knows it, and the owed part too.
    core.apply(debit(S, "GOLD", 100n, 8));
    const restored = TradingCore.restore(JSON.parse(JSON.stringify(core.snapshot())), options());
    assert.deepEqual(restored.ledger.balance(S, "GOLD"), { available: 0n, hold: 0n, owed: 30n });
    assert.deepEqual(restored.ledger.owing().map((o) => [o.account, o.currency, o.balance.owed]), [[S, "GOLD", 30n]], "the list of debts is restored with them");
    assert.deepEqual(restored.apply(debit(S, "GOLD", 30n, 7)), { ok: false, code: TradingCode.CUSTODY_DEBIT_DUPLICATE });
    assert.deepEqual(restored.apply(debit(S, "GOLD", 100n, 8)), { ok: false, code: TradingCode.CUSTODY_DEBIT_DUPLICATE });
  });

  describe("through the sequencer, across restarts", () => {
    const dirs: string[] = [];
    after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

    async function open(dir: string, withSnapshots: boolean) {
      const { service } = await TradingService.open({
        core: options(),
        journal: createFileJournal({ dir: path.join(dir, "journal"), fsync: "none" }),
        ...(withSnapshots ? { snapshots: createFileSnapshotStore({ dir: path.join(dir, "snapshots") }) } : {}),
        risk: structuredClone(DEFAULT_RISK),
        now: () => ++ts,
      });
      return service;
    }

    for (const withSnapshots of [true, false]) {
      it(`a restart (${withSnapshots ? "snapshot + journal tail" : "journal replay"}) keeps each debit applied once`, async () => {
        const dir = mkdtempSync(path.join(tmpdir(), "sen-custody-debit-"));
        dirs.push(dir);
        const seized = { accountId: S, currency: "GOLD", amount: 30n, ref: `${VAULT_REF}:0x${"1".repeat(64)}:3`, kind: "seized" as const, to: COURT, txHash: `0x${"1".repeat(64)}` };
        let service = await open(dir, withSnapshots);
        await service.deposit(S, "GOLD", 100n, "d1");
        const sell = await service.placeOrder({ accountId: S, identityHash: "id-s", symbol: "GOLD-VND", side: "sell", type: "limit", price: 11_000, size: 90, tif: "GTC", postOnly: false, stp: "CN", clientOid: "s1" });
        assert.equal(await service.debitCustody(seized), true);
        assert.equal(service.core.order(sell.orderId)!.isActive, false, "the sell held what was seized");
        assert.equal(await service.debitCustody(seized), false, "the same event again");
        await service.close(); // writes a snapshot when a store is given

        service = await open(dir, withSnapshots);
        assert.deepEqual(service.core.ledger.balance(S, "GOLD"), { available: 70n, hold: 0n });
        assert.equal(service.core.order(sell.orderId)!.doneReason, TradingCode.CUSTODY_DEBITED);
        assert.equal(await service.debitCustody(seized), false, "the chain watcher reads the block again after a restart");
        assert.equal(await service.debitCustody({ ...seized, ref: `${VAULT_REF}:0x${"1".repeat(64)}:4` }), true, "another log of the same transaction is another debit");
        assert.deepEqual(service.core.ledger.balance(S, "GOLD"), { available: 40n, hold: 0n });
        await service.close();

        service = await open(dir, withSnapshots);
        assert.deepEqual(service.core.ledger.balance(S, "GOLD"), { available: 40n, hold: 0n });
        await service.close();
      });
    }
  });
});
