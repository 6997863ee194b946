import type { AuditEvent } from "../audit/auditEvent.ts";
import { parseIsoMicros } from "../audit/auditEvent.ts";

export const MICROS_PER_SECOND = 1_000_000n;

let lastTs = "";
let lastMicros = 0n;

/** Epoch microseconds of an event's `ts` (one-entry memo: every detector asks for the same event). */
export function eventMicros(e: AuditEvent): bigint {
  if (e.ts !== lastTs) {
    lastMicros = parseIsoMicros(e.ts);
    lastTs = e.ts;
  }
  return lastMicros;
}

export function seconds(n: number): bigint {
  return BigInt(Math.round(n * 1_000_000));
}
