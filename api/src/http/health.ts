import type { AppContext } from "../context.ts";

export type Health = {
  status: "ok" | "degraded" | "failed";
  journal: "ok" | "failed";
  /** "halted": the sequencer stopped on a record it could not apply (the journal and disk are fine). */
  trading: "ok" | "halted";
  /** With "halted": which record and the error's code or class (the message is in the log). */
  haltReason?: string;
  audit: "ok" | "failed";
  chain: "ok" | "degraded" | "none";
};

/**
 * The state of the parts the exchange stands on. The journal failed, or trading halted on a
 * record it could not apply: stopped, each named apart (an operator looks at the disk or
 * Redis for the one, at the log and the record for the other). The audit log failed: no new
 * orders (cancels still work). The chain does not answer: trading goes on, but deposits,
 * identity sweeps and settlement wait.
 */
export function healthOf(ctx: AppContext): Health {
  const haltReason = ctx.trading.haltReason;
  const journal = ctx.trading.failed && haltReason === null ? "failed" : "ok";
  const trading = haltReason === null ? "ok" : "halted";
  const audit = ctx.audit.log.failed ? "failed" : "ok";
  const chain = ctx.chainHealth?.() ?? "none";
  const status = journal === "failed" || trading === "halted" ? "failed" : audit === "failed" || chain === "degraded" ? "degraded" : "ok";
  return haltReason === null ? { status, journal, trading, audit, chain } : { status, journal, trading, haltReason, audit, chain };
}

/** Whether this gateway can take no orders: 503 from /health. A slow chain delays settlement, not trading. */
export function healthUnavailable(h: Health): boolean {
  return h.status === "failed" || h.audit === "failed";
}
