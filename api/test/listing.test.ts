import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Address, Hex } from "viem";
import { PILOT_RULES } from "../src/listing/pilotRules.ts";
import { prospectusHash } from "../src/listing/launchListings.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { rawRequest, signedClient, type Envelope } from "./support/httpProbe.ts";
import { until } from "./support/until.ts";

const DAY = 86_400_000;
const VIET_NAM = 704;
const PROSPECTUS = `ORCHARD RECEIVABLES (ORCH) — test prospectus. Issuer: Mekong Orchard JSC, Can Tho, Viet Nam. Each token is a claim on the receivables of durian export contracts held in trust. Offered to foreign investors only.`;

/**
 * The listing flow on the real stack: the pilot's rules refuse what Resolution 05 excludes
 * (securities and fiat underlyings, a non-Vietnamese issuer of a Vietnamese tokenised asset, a
 * prospectus public for less than 15 days), the token on chain must carry the prospectus's hash
 * and enforce the class's holder rule itself, the market does not trade before its offering
 * opens, and a listing survives a restart (it is journaled).
 */
describe("listing: the pilot's rules at listing, on chain and before matching", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let operator: ApiCredentials;
  let dataDir: string;
  const op = hardhatAccount(30);
  const env = { SEN_OPERATORS: op.address.toLowerCase() };
  const opApi = () => signedClient(gw.url, operator);

  /** An AssetToken deployed and configured by governance as a listing needs it. */
  async function deployToken(symbol: string, o: { hash: Hex; countryRule: number; countries?: number[]; listInVault?: boolean }): Promise<Address> {
    const governance = chain.wallets.governance;
    const as = { client: { wallet: governance } };
    const token = await chain.connection.viem.deployContract(
      "AssetToken",
      [`${symbol} test asset`, symbol, 0, chain.deployment.contracts.IdentityRegistry, governance.account.address, o.hash, `ipfs://test/${symbol}`, false],
      as,
    );
    const wait = async (hash: Hex) => void (await chain.publicClient.waitForTransactionReceipt({ hash }));
    await wait(await token.write.setCustodian([chain.deployment.contracts.SettlementVault, true], { account: governance.account }));
    await wait(await token.write.setTransferRules([1, 0, o.countryRule, 0n], { account: governance.account }));
    if (o.countries?.length) await wait(await token.write.setCountriesListed([o.countries, true], { account: governance.account }));
    if (o.listInVault !== false) {
      const vault = await chain.connection.viem.getContractAt("SettlementVault", chain.deployment.contracts.SettlementVault, as);
      await wait(await vault.write.setAssetListed([token.address, true], { account: governance.account }));
    }
    return token.address;
  }

  const application = (over: Record<string, unknown> = {}) => ({
    base: "ORCH",
    name: "Mekong Orchard Receivables",
    assetClass: "vn-tokenised-real-asset",
    underlying: { type: "receivables", description: "durian export contract receivables" },
    issuer: { name: "Mekong Orchard JSC", country: VIET_NAM, registration: "1801234567" },
    custodian: { name: "Lotus Trust Bank", proofOfBacking: "trust deed 2026/117" },
    decimals: 0,
    prospectus: { uri: "ipfs://test/ORCH", document: PROSPECTUS },
    offeringOpensAt: new Date(Date.now() + 15 * DAY + 3_600_000).toISOString().replace(/\.\d+Z$/, "Z"),
    market: { tickSize: 100, lotSize: 1, minQty: 1, maxQty: 1_000_000, referencePrice: 10_000 },
    ...over,
  });

  const refusedBy = (r: Envelope, senCode: string, rule: RegExp) => {
    assert.equal(r.status, senCode === "LISTING_CHAIN" ? 409 : 400, `${r.code} ${r.senCode} ${r.msg}`);
    assert.equal(r.senCode, senCode);
    assert.match(r.msg ?? "", rule);
  };

  before(async () => {
    chain = await startChain();
    dataDir = mkdtempSync(path.join(tmpdir(), "sen-listing-"));
    gw = await startTestGateway(chain, { dataDir, env });
    await chain.attest(op.address, "listing-operator");
    operator = await loginAndCreateKey(gw.url, op);
  });

  after(async () => {
    await gw?.close();
    await chain?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("refuses securities and fiat underlyings, a foreign issuer of a Vietnamese tokenised asset and a prospectus public for less than 15 days, each by its rule and on the audit trail", async () => {
    const token = await deployToken("ORCH", { hash: prospectusHash(PROSPECTUS), countryRule: 2, countries: [VIET_NAM] });
    refusedBy(await opApi()("POST", "/api/v1/sen/operator/listings", application({ token, underlying: { type: "securities", description: "government bonds" } })), "LISTING_RULE", /NQ05-UNDERLYING/);
    refusedBy(await opApi()("POST", "/api/v1/sen/operator/listings", application({ token, underlying: { type: "fiat", description: "VND deposits" } })), "LISTING_RULE", /NQ05-UNDERLYING/);
    refusedBy(await opApi()("POST", "/api/v1/sen/operator/listings", application({ token, issuer: { name: "Orchard Ltd", country: 702, registration: "2026X" } })), "LISTING_RULE", /NQ05-ISSUER-VN/);
    const early = new Date(Date.now() + 14 * DAY).toISOString().replace(/\.\d+Z$/, "Z");
    refusedBy(await opApi()("POST", "/api/v1/sen/operator/listings", application({ token, offeringOpensAt: early })), "LISTING_RULE", /NQ05-PROSPECTUS-15D.*15 days/);
    // A trader is not an operator.
    const trader = await loginAndCreateKey(gw.url, await (async () => {
      const t = hardhatAccount(31);
      await chain.attest(t.address, "listing-trader");
      return t;
    })());
    const denied = await signedClient(gw.url, trader)("POST", "/api/v1/sen/operator/listings", application({ token }));
    assert.equal(denied.status, 403);

    assert.deepEqual((await rawRequest(gw.url, { method: "GET", path: "/api/v1/sen/listings" })).json, { code: "200000", data: [] }, "nothing refused was listed");
    await gw.ctx.audit.flush();
    const refusals = await gw.ctx.audit.index.query({ types: ["listing.refused"], limit: 50, order: "asc" });
    assert.deepEqual(refusals.items.map((e) => e.ruleId), ["NQ05-UNDERLYING", "NQ05-UNDERLYING", "NQ05-ISSUER-VN", "NQ05-PROSPECTUS-15D"]);
    assert.ok(refusals.items.every((e) => e.actor === operator.accountId));
  });

  it("refuses a token that does not carry the prospectus's hash or does not enforce the class's holder rule on chain", async () => {
    const wrongHash = await deployToken("ORCX", { hash: `0x${"ab".repeat(32)}`, countryRule: 2, countries: [VIET_NAM] });
    refusedBy(await opApi()("POST", "/api/v1/sen/operator/listings", application({ base: "ORCX", token: wrongHash })), "LISTING_CHAIN", /document hash/);
    const openToAll = await deployToken("ORCY", { hash: prospectusHash(PROSPECTUS), countryRule: 0 });
    refusedBy(await opApi()("POST", "/api/v1/sen/operator/listings", application({ base: "ORCY", token: openToAll })), "LISTING_CHAIN", /NQ05-FOREIGN-ONLY/);
    const notInVault = await deployToken("ORCZ", { hash: prospectusHash(PROSPECTUS), countryRule: 2, countries: [VIET_NAM], listInVault: false });
    refusedBy(await opApi()("POST", "/api/v1/sen/operator/listings", application({ base: "ORCZ", token: notInVault })), "LISTING_CHAIN", /vault does not list/);
  });

  it("lists an admitted asset: its prospectus page shows the hash the chain holds, and no order is accepted before the offering opens, also after a restart", async () => {
    const token = (await chain.connection.viem.getContractAt("AssetToken", (await deployToken("ORCH2", { hash: prospectusHash(PROSPECTUS), countryRule: 2, countries: [VIET_NAM] })))).address;
    const r = await opApi()("POST", "/api/v1/sen/operator/listings", application({ base: "ORCH2", token }));
    assert.equal(r.code, "200000", `${r.senCode} ${r.msg}`);
    assert.equal(r.data.prospectus.hash, prospectusHash(PROSPECTUS));
    assert.equal(r.data.holderRule.ruleId, "NQ05-FOREIGN-ONLY");
    assert.equal(r.data.open, false);

    const symbols = (await rawRequest(gw.url, { method: "GET", path: "/api/v2/symbols" })).json as { data: Array<{ symbol: string }> };
    assert.ok(symbols.data.some((s) => s.symbol === "ORCH2-VND"), "the market exists");
    const detail = (await rawRequest(gw.url, { method: "GET", path: "/api/v1/sen/listings/ORCH2-VND" })).json as { data: { onChainDocumentHash: string; hashMatches: boolean } };
    assert.deepEqual([detail.data.onChainDocumentHash, detail.data.hashMatches], [prospectusHash(PROSPECTUS), true]);
    const page = await rawRequest(gw.url, { method: "GET", path: "/listings/ORCH2-VND" });
    assert.equal(page.status, 200);
    assert.match(page.contentType, /html/);
    assert.match(page.text, new RegExp(`id="chain-hash">${prospectusHash(PROSPECTUS)}<`), "the page shows the hash the chain holds");
    assert.match(page.text, /the same document/);
    assert.match(page.text, /durian export contracts/, "the prospectus itself is on Sen's page");
    const text = await rawRequest(gw.url, { method: "GET", path: "/listings/ORCH2-VND/prospectus.txt" });
    assert.equal(prospectusHash(text.text), prospectusHash(PROSPECTUS), "Sen serves exactly the document whose hash the token holds");

    // A second listing of the same market is refused.
    refusedBy(await opApi()("POST", "/api/v1/sen/operator/listings", application({ base: "ORCH2", token })), "LISTING_RULE", /exists/);

    const buyer = hardhatAccount(32);
    await chain.attest(buyer.address, "listing-buyer", 2, 702);
    const creds = await loginAndCreateKey(gw.url, buyer);
    await gw.ctx.trading.deposit(creds.accountId, "VND", 1_000_000n, "listing-buyer-vnd");
    const order = { clientOid: "early-1", side: "buy", symbol: "ORCH2-VND", type: "limit", price: "10000", size: "1" };
    const early = await signedClient(gw.url, creds)("POST", "/api/v1/orders", order);
    assert.deepEqual([early.status, early.senCode], [400, "RISK_OFFERING_NOT_OPEN"]);
    const before = (await signedClient(gw.url, creds)("GET", "/api/v1/sen/eligibility")).data.items.find((i: { symbol: string }) => i.symbol === "ORCH2-VND");
    assert.deepEqual([before.canBuy, before.canSell, before.buyRefusal.senCode], [false, false, "RISK_OFFERING_NOT_OPEN"], "eligibility says the offering is not open");
    assert.match(early.msg ?? "", /NQ05-OFFERING-WINDOW.*opens at/);

    // Journaled: the listing, its market and its window survive a restart.
    await gw.close();
    gw = await startTestGateway(chain, { dataDir, env });
    const listed = (await rawRequest(gw.url, { method: "GET", path: "/api/v1/sen/listings" })).json as { data: Array<{ symbol: string; open: boolean; prospectus: { hash: string } }> };
    assert.deepEqual(listed.data.map((l) => [l.symbol, l.open, l.prospectus.hash]), [["ORCH2-VND", false, prospectusHash(PROSPECTUS)]]);
    const again = await signedClient(gw.url, creds)("POST", "/api/v1/orders", { ...order, clientOid: "early-2" });
    assert.equal(again.senCode, "RISK_OFFERING_NOT_OPEN");
    await gw.ctx.audit.flush();
    const created = await gw.ctx.audit.index.query({ types: ["listing.created"], limit: 10, order: "asc" });
    assert.deepEqual(created.items.map((e) => [e.symbol, e.actor]), [["ORCH2-VND", operator.accountId]]);
  });

  it("the rules are configuration: a rule file replaces the shipped rules, is validated before anything starts, and is recorded with its hash", async () => {
    const file = path.join(dataDir, "..", `rules-${process.pid}.json`);
    const changed = { ...PILOT_RULES, version: "test-amendment", listing: { ...PILOT_RULES.listing, prospectus: { ...PILOT_RULES.listing.prospectus, leadDays: 0 } } };
    writeFileSync(file, JSON.stringify(changed));
    await gw.close();
    gw = await startTestGateway(chain, { dataDir, env: { ...env, SEN_PILOT_RULES: file } });
    const rules = (await rawRequest(gw.url, { method: "GET", path: "/api/v1/sen/rules" })).json as { data: { version: string; listing: { prospectus: { leadDays: number } } } };
    assert.deepEqual([rules.data.version, rules.data.listing.prospectus.leadDays], ["test-amendment", 0]);
    await gw.ctx.audit.flush();
    const loaded = await gw.ctx.audit.index.query({ types: ["rules.loaded"], limit: 10, order: "desc" });
    assert.equal((loaded.items[0].detail as { version: string }).version, "test-amendment");
    assert.equal((loaded.items[0].detail as { file: string }).file, file);

    // Under the amended rules an offering may open at once; trading starts when it does.
    operator = await loginAndCreateKey(gw.url, op);
    const token = await deployToken("ORCH3", { hash: prospectusHash(PROSPECTUS), countryRule: 2, countries: [VIET_NAM] });
    const opens = new Date(Math.ceil((Date.now() + 2_000) / 1000) * 1000);
    const r = await opApi()("POST", "/api/v1/sen/operator/listings", application({ base: "ORCH3", token, offeringOpensAt: opens.toISOString().replace(/\.\d+Z$/, "Z") }));
    assert.equal(r.code, "200000", `${r.senCode} ${r.msg}`);
    await until("the offering to open", async () => Date.now() >= opens.getTime(), 10_000);
    const listed = (await rawRequest(gw.url, { method: "GET", path: "/api/v1/sen/listings/ORCH3-VND" })).json as { data: { open: boolean } };
    assert.equal(listed.data.open, true);

    // Listed while running: the holder rules view follows the new token at once, and its on-chain
    // rule is the pilot's rule in words for the domestic investor.
    const foreign = hardhatAccount(33);
    const domestic = hardhatAccount(34);
    await chain.attest(foreign.address, "listing-foreign", 2, 702);
    await chain.attest(domestic.address, "listing-domestic", 2, VIET_NAM);
    const f = await loginAndCreateKey(gw.url, foreign);
    const dm = await loginAndCreateKey(gw.url, domestic);
    await gw.ctx.trading.deposit(f.accountId, "VND", 1_000_000n, "listing-foreign-vnd");
    await gw.ctx.trading.deposit(dm.accountId, "VND", 1_000_000n, "listing-domestic-vnd");
    const buy = { side: "buy", symbol: "ORCH3-VND", type: "limit", price: "10000", size: "1" };
    const ok = await signedClient(gw.url, f)("POST", "/api/v1/orders", { ...buy, clientOid: "foreign-1" });
    assert.equal(ok.code, "200000", `${ok.senCode} ${ok.msg}`);
    const no = await signedClient(gw.url, dm)("POST", "/api/v1/orders", { ...buy, clientOid: "domestic-1" });
    assert.deepEqual([no.status, no.code, no.senCode], [403, "400500", "RISK_HOLDER_COUNTRY"]);
    assert.match(no.msg ?? "", /NQ05-FOREIGN-ONLY: tokenised assets issued in Viet Nam are offered to and traded among foreign investors only/);
    // The eligibility view says the same before any order is sent.
    const seen = (await signedClient(gw.url, dm)("GET", "/api/v1/sen/eligibility")).data.items.find((i: { symbol: string }) => i.symbol === "ORCH3-VND");
    assert.equal(seen.canBuy, false);
    assert.equal(seen.buyRefusal.senCode, "RISK_HOLDER_COUNTRY");
    assert.match(seen.buyRefusal.reason, /^NQ05-FOREIGN-ONLY: /);

    // A bad rule file stops the start with the reason, before the data directory is touched.
    writeFileSync(file, JSON.stringify({ ...changed, tax: { ...changed.tax, rateBps: 5_000 } }));
    await gw.close();
    await assert.rejects(startTestGateway(chain, { dataDir, env: { ...env, SEN_PILOT_RULES: file } }), /SEN_PILOT_RULES: .*tax\.rateBps/);
    gw = await startTestGateway(chain, { dataDir, env });
    rmSync(file, { force: true });
  });
});
