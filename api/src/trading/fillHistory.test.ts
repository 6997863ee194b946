import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FillHistory } from "./fillHistory.ts";
import type { Fill, SettlementTrade } from "../records/orders.ts";
import { formValue } from "../journal/jsonCodec.ts";

const fill = (accountId: string, i: number): Fill => ({
  tradeId: `t-${i}`,
  orderId: `o-${i}`,
  counterOrderId: `c-${i}`,
  accountId,
  symbol: "GOLD-VND",
  side: i % 2 ? "buy" : "sell",
  liquidity: "maker",
  price: 10_000,
  size: 1,
  funds: 10_000n,
  fee: 10n,
  feeRate: 10,
  tax: 0n,
  createdAt: 1_764_800_000_000 + i,
});
const trade = (i: number, seller: string, buyer: string) => ({ tradeId: `t-${i}`, sellerAccount: seller, buyerAccount: buyer }) as SettlementTrade;

describe("FillHistory", () => {
  it("keeps each account's latest perAccount fills, whatever number came before (the older ones are dropped in bulk)", () => {
    const h = new FillHistory(5);
    for (let n = 1; n <= 200; n++) {
      h.add(fill("a", n));
      const expected = Array.from({ length: Math.min(n, 5) }, (_, k) => `t-${n - Math.min(n, 5) + 1 + k}`);
      assert.deepEqual(h.list("a").map((f) => f.tradeId), expected, `after ${n} fills`);
      assert.deepEqual(h.snapshot(false)[0][1].map((f) => formValue(f).tradeId), expected, `snapshot after ${n} fills`);
      assert.deepEqual(h.snapshot(true)[0][1].map((f) => formValue(f).tradeId), expected, `full snapshot after ${n} fills`);
    }
    assert.deepEqual(h.list("nobody"), []);
  });

  it("never marks a fill past the cap: settlement and status changes reach only kept fills", () => {
    const h = new FillHistory(3);
    for (let i = 1; i <= 10; i++) h.add(fill("a", i)); // t-8..t-10 kept, some older ones still held for the bulk drop
    h.markSettled(trade(7, "a", "b"), "0xold");
    h.mark(trade(6, "a", "b"), { settlementStatus: "failed", settlementError: "refused" });
    h.markSettled(trade(9, "a", "b"), "0xnew");
    h.mark(trade(10, "a", "b"), { settlementStatus: "failed", settlementError: "refused" });
    const restored = new FillHistory(3);
    restored.restore({ fills: h.snapshot(false) });
    for (const x of [h, restored]) {
      assert.deepEqual(
        x.list("a").map((f) => [f.tradeId, f.settlementTxHash, f.settlementStatus]),
        [
          ["t-8", undefined, undefined],
          ["t-9", "0xnew", undefined],
          ["t-10", undefined, "failed"],
        ],
      );
    }
  });
});
