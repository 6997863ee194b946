import { randomUUID } from "node:crypto";
import type { AuditEventInput } from "../../api/src/compliance/audit/auditEvent.ts";
import { mulberry32 } from "../../api/test/support/mulberry32.ts";

/** The audit benchmarks' workload (bench:audit, bench:audit-bundle): one definition, so their figures are of the same events. */

/** Order-lifecycle and fill events shaped like the trading recorder's (tradingRecorder.ts), seeded: the same n events every run. */
export function workload(n: number): AuditEventInput[] {
  const rnd = mulberry32(42);
  const hex = (bytes: number) => Array.from({ length: bytes }, () => Math.floor(rnd() * 256).toString(16).padStart(2, "0")).join("");
  const accounts = Array.from({ length: 500 }, (_, i) => ({ account: `acc-${i}`, identityHash: `0x${hex(32)}`, wallet: `0x${hex(20)}`, apiKeyId: randomUUID() }));
  const symbols = ["VNM-VND", "FPT-VND", "VIC-VND", "HPG-VND", "GOLD-VND"];
  const out: AuditEventInput[] = [];
  for (let i = 0; out.length < n; i++) {
    const a = accounts[Math.floor(rnd() * accounts.length)];
    const symbol = symbols[i % symbols.length];
    const side = rnd() < 0.5 ? "buy" : "sell";
    const price = `${60_000 + Math.floor(rnd() * 2_000)}.${Math.floor(rnd() * 10)}`;
    const qty = `${1 + Math.floor(rnd() * 500)}`;
    const orderId = `${(1_000_000 + i).toString(16)}${hex(4)}`;
    const base = { account: a.account, identityHash: a.identityHash, wallet: a.wallet, apiKeyId: a.apiKeyId, symbol, side, price, qty, orderId } as const;
    out.push({ type: "order.received", ...base, clientOid: randomUUID(), orderType: "limit", tif: "GTC", refPrice: price, ip: `10.1.${i % 250}.${(i * 7) % 250}` });
    out.push({ type: "order.accepted", ...base, jseq: i });
    if (rnd() < 0.4) {
      const c = accounts[Math.floor(rnd() * accounts.length)];
      out.push({
        type: "order.filled",
        ...base,
        jseq: i,
        tradeId: `tr-${i}`,
        liquidity: "taker",
        counterpartyAccount: c.account,
        counterpartyIdentityHash: c.identityHash,
        counterpartyOrderId: `${i.toString(16)}${hex(4)}`,
      });
    } else if (rnd() < 0.3) {
      out.push({ type: "order.cancelled", ...base, jseq: i, reason: "user" });
    }
  }
  return out.slice(0, n);
}
