/**
 * SETTLEMENT_FAILED: the settlement vault refused a matched trade (the buyer's e-ID was
 * revoked or expired after the match, a holder rule or a freeze refused it…). Not market
 * abuse, but compliance must see it: the trade is on the ledger and not on chain until an
 * operator retries or reverses it. One alert per failed trade, never cooled down: each one
 * needs its own resolution. Evidence: the failure event and the trade's two fills.
 */
import type { AuditEvent } from "../audit/auditEvent.ts";
import type { Alert, Detector } from "./types.ts";
import { buildAlert } from "./alert.ts";
import { RecencyMap } from "./recencyMap.ts";
import { eventMicros, seconds } from "./time.ts";

/** How long a trade's fills are remembered as evidence for a later failure (event time). */
const FILL_MEMORY = seconds(60 * 60);

export function createSettlementFailureDetector(maxEvidenceSeqs: number): Detector {
  const fills = new RecencyMap<string, { seqs: number[] }>();
  return {
    rule: "SETTLEMENT_FAILED",
    onEvent(e: AuditEvent): Alert[] {
      const now = eventMicros(e);
      if (e.type === "order.filled" && e.tradeId !== undefined) {
        fills.touch(e.tradeId, now, () => ({ seqs: [] })).seqs.push(e.seq);
        fills.prune(now - FILL_MEMORY);
        return [];
      }
      if (e.type !== "settlement.failed" || e.tradeId === undefined) return [];
      return [
        buildAlert({
          rule: "SETTLEMENT_FAILED",
          severity: "high",
          trigger: e,
          symbol: e.symbol,
          identityHashes: [e.identityHash, e.counterpartyIdentityHash].filter((h): h is string => h !== undefined),
          accounts: [e.account, e.counterpartyAccount],
          eventSeqs: fills.get(e.tradeId)?.seqs ?? [],
          maxEvidenceSeqs,
          summary: `trade ${e.tradeId} (${e.qty ?? "?"} ${e.symbol ?? ""} for ${e.amount ?? "?"} ${e.currency ?? ""}) was refused by the settlement vault: ${e.reason ?? "no reason"}; it waits for an operator to retry or reverse it`,
          detail: { tradeId: e.tradeId, reason: e.reason },
        }),
      ];
    },
  };
}
