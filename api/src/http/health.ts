import type { AppContext } from "../context.ts";

/**
 * The state of the parts the exchange stands on. The journal failed: stopped. The audit log
 * failed: no new orders (cancels still work). The chain does not answer: trading goes on, but
 * deposits, identity sweeps and settlement wait.
 */
export function healthOf(ctx: AppContext): { status: "ok" | "degraded" | "failed"; journal: "ok" | "failed"; audit: "ok" | "failed"; chain: "ok" | "degraded" | "none" } {
  const journal = ctx.trading.failed ? "failed" : "ok";
  const audit = ctx.audit.log.failed ? "failed" : "ok";
  const chain = ctx.chainHealth?.() ?? "none";
  const status = journal === "failed" ? "failed" : audit === "failed" || chain === "degraded" ? "degraded" : "ok";
  return { status, journal, audit, chain };
}
