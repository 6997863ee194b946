import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type GatewayFixture } from "./support/gatewayFixture.ts";
import { signedClient } from "./support/httpProbe.ts";

/**
 * Roles come from the gateway's configuration (SEN_OPERATORS, SEN_COMPLIANCE). A wallet taken
 * off a list must lose the role everywhere, also on the API keys it made while it had it:
 * keys are stored with the data and outlive the restart that applies the new list.
 */
describe("a wallet taken off the operator and compliance lists", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture | undefined;
  const dataDir = mkdtempSync(path.join(tmpdir(), "sen-roles-"));
  const op = hardhatAccount(23);
  const officer = hardhatAccount(24);

  before(async () => {
    chain = await startChain();
    await chain.attest(op.address, "roles-operator");
    await chain.attest(officer.address, "roles-officer");
  });
  after(async () => {
    await gw?.close();
    await chain?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("loses the role on its existing API keys after the restart that removes it", async () => {
    gw = await startTestGateway(chain, { dataDir, env: { SEN_OPERATORS: op.address.toLowerCase(), SEN_COMPLIANCE: officer.address.toLowerCase() } });
    const opKey = await loginAndCreateKey(gw.url, op, ["General"]);
    const officerKey = await loginAndCreateKey(gw.url, officer, ["General"]);
    const limits = "/api/v1/sen/operator/risk-limits";
    const events = "/api/v1/compliance/events?type=deposit";
    assert.equal((await signedClient(gw.url, opKey)("GET", limits)).code, "200000");
    assert.equal((await signedClient(gw.url, officerKey)("GET", events)).code, "200000");
    await gw.close();

    gw = await startTestGateway(chain, { dataDir, env: {} }); // both lists now empty
    for (const [key, route] of [[opKey, limits], [officerKey, events]] as const) {
      const r: { status: number; code: string; senCode?: string } = await signedClient(gw.url, key)("GET", route);
      assert.deepEqual([r.status, r.code, r.senCode], [403, "400007", "AUTH_ROLE_FORBIDDEN"], route);
    }
    // the refused look at the audit trail is on record, with who tried it
    await gw.ctx.audit.flush();
    const refused = (await gw.ctx.audit.index.query({ types: ["audit.query"], limit: 20, order: "desc" })).items.filter((e) => e.reason === "refused");
    assert.deepEqual(
      refused.map((e) => [e.account, (e.detail as { path: string }).path]),
      [[officerKey.accountId, "/api/v1/compliance/events"]],
    );
    // the keys themselves still work for what any verified trader may do
    assert.equal((await signedClient(gw.url, opKey)("GET", "/api/v1/accounts")).code, "200000");
  });
});
