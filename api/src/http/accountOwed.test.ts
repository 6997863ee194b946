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
const S = "0x00000000000000000000000000000000000000a1";
const COURT = "0x00000000000000000000000000000000000000c3";
const OPERATOR = "0x00000000000000000000000000000000000000d4";
const TX = `0x${"ab".repeat(32)}`;

/**
 * What the trader sees over real HTTP once the token's agent took custody the account could no
 * longer give (KuCoin's /api/v1/accounts plus Sen's `owed`): never a negative balance.
 */
describe("GET /api/v1/accounts after a custody debit the account could not cover", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "sen-owed-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("shows what is owed beside available 0, and nothing owed once a credit pays it; the operator's list shows it until then", async () => {
    const ctx = await createContext(envToConfig({ SEN_PORT: "0", SEN_DATA_DIR: dir, SEN_LOG_LEVEL: "silent", SEN_OPERATORS: OPERATOR }), { identity: NO_SIGN_IN });
    const gateway = await startGateway(ctx);
    try {
      const { token } = await ctx.sessions.issue({ accountId: S, wallet: S, identityHash: `0x${"11".repeat(32)}`, role: "trader", permissions: ["General", "Trade", "Withdraw"] });
      const gold = async () => {
        const res = await fetch(`${gateway.url}/api/v1/accounts?currency=GOLD`, { headers: { authorization: `Bearer ${token}` } });
        const body = (await res.json()) as { code: string; data: Array<Record<string, string>> };
        assert.equal(body.code, "200000", JSON.stringify(body));
        return body.data[0]!;
      };
      await ctx.trading.deposit(S, "GOLD", 15n, "d1");
      // A payout on its way holds all 15; the agent then seizes the 15 the vault books.
      await ctx.trading.requestWithdrawal(S, "GOLD", 15n);
      assert.equal(await ctx.trading.debitCustody({ accountId: S, currency: "GOLD", amount: 15n, ref: `vault:0xVault:${TX}:0`, kind: "seized", to: COURT, txHash: TX }), true);
      const owing = await gold();
      assert.deepEqual([owing.available, owing.holds, owing.owed], ["0", "15", "15"], JSON.stringify(owing));
      // The operator's list of what is owed (the role is the configuration's); a trader may not read it.
      const operator = await ctx.sessions.issue({ accountId: OPERATOR, wallet: OPERATOR, identityHash: `0x${"22".repeat(32)}`, role: "operator", permissions: ["General"] });
      const owedList = async (bearer: string) => {
        const res = await fetch(`${gateway.url}/api/v1/sen/operator/accounts/owed`, { headers: { authorization: `Bearer ${bearer}` } });
        return (await res.json()) as { code: string; data?: { items: Array<Record<string, unknown>> } };
      };
      assert.deepEqual((await owedList(operator.token)).data?.items, [{ accountId: S, currency: "GOLD", owed: "15", available: "0", holds: "15", openOrders: 0 }]);
      assert.notEqual((await owedList(token)).code, "200000", "operators only");
      await ctx.trading.deposit(S, "GOLD", 20n, "d2");
      const paid = await gold();
      assert.deepEqual([paid.available, paid.holds, paid.owed], ["5", "15", undefined], JSON.stringify(paid));
      assert.deepEqual((await owedList(operator.token)).data?.items, [], "paid: off the list");
    } finally {
      await gateway.close();
    }
  });
});
