import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import type { IdentityOracle } from "../auth/types.ts";
import { envToConfig } from "../config/config.ts";
import { createContext } from "../context.ts";
import { startGateway } from "../server.ts";

const NO_SIGN_IN: IdentityOracle = { verifiedIdentityOf: async () => null };
const ACCOUNT = "0x00000000000000000000000000000000000000c1";

/**
 * A gateway (one process, real HTTP) whose sequencer stopped on a record the trading core could
 * not apply (TRADING_HALTED): the journal and its disk are fine, and what the routes, /health
 * and /api/v1/status say must send an operator to the record and the log, not to the disk.
 */
describe("after TRADING_HALTED the gateway says trading halted, not journal failed", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "sen-halted-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("routes answer 503 TRADING_HALTED; /health and /api/v1/status name the halt and its reason, the journal ok", async () => {
    const ctx = await createContext(envToConfig({ SEN_PORT: "0", SEN_DATA_DIR: dir, SEN_LOG_LEVEL: "silent" }), { identity: NO_SIGN_IN });
    const gateway = await startGateway(ctx);
    try {
      await ctx.trading.deposit(ACCOUNT, "VND", 10n ** 12n, "halted-1");
      const healthy = await fetch(`${gateway.url}/health`);
      assert.equal(healthy.status, 200);
      assert.deepEqual(pick(await healthy.json(), "status", "journal"), { status: "ok", journal: "ok" });

      // The fault cannot be caused for real once the core's known invariant breaks are fixed
      // (as in trading/sequencer.test.ts): a core that changes its state and then throws.
      const core = ctx.trading.core;
      const apply = core.apply.bind(core);
      core.apply = (r) => {
        const result = apply(r);
        if (r.t === "deposit" && r.ref === "poison") throw new RangeError(`invariant broken half-way for ${ACCOUNT}`);
        return result;
      };
      await assert.rejects(ctx.trading.deposit(ACCOUNT, "VND", 1n, "poison"), (e: { code?: string }) => e.code === "TRADING_HALTED");

      for (const [method, route] of [
        ["POST", "/api/v1/orders"],
        ["GET", "/api/v1/accounts"],
        ["GET", "/api/v1/market/orderbook/level2_20?symbol=GOLD-VND"],
      ] as const) {
        const res = await fetch(`${gateway.url}${route}`, { method, headers: { "content-type": "application/json" }, body: method === "POST" ? "{}" : undefined });
        const body = (await res.json()) as { code: string; senCode: string; msg: string };
        assert.equal(res.status, 503, `${method} ${route}`);
        assert.equal(body.senCode, "TRADING_HALTED", `${method} ${route}: ${JSON.stringify(body)}`);
        assert.equal(body.code, "500000");
      }

      const health = await fetch(`${gateway.url}/health`);
      assert.equal(health.status, 503);
      const h = (await health.json()) as Record<string, unknown>;
      assert.deepEqual(pick(h, "status", "journal", "trading", "haltReason", "audit"), {
        status: "failed",
        journal: "ok",
        trading: "halted",
        haltReason: "a deposit record could not be applied (RangeError)",
        audit: "ok",
      });
      assert.ok(!JSON.stringify(h).includes(ACCOUNT), "the error's message (which may name accounts) stays in the log");

      const status = (await (await fetch(`${gateway.url}/api/v1/status`)).json()) as { data: { status: string; msg: string } };
      assert.deepEqual(status.data, { status: "close", msg: "trading halted: a deposit record could not be applied (RangeError)" });
    } finally {
      await gateway.close();
    }
  });
});

function pick(o: unknown, ...keys: string[]): Record<string, unknown> {
  const src = o as Record<string, unknown>;
  return Object.fromEntries(keys.filter((k) => k in src).map((k) => [k, src[k]]));
}
