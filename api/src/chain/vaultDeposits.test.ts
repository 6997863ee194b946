import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { getAddress, type Address, type Hex, type PublicClient } from "viem";
import { prospectusHash } from "../listing/launchListings.ts";
import { hardhatAccount, startChain, type ChainFixture } from "../../test/support/chainFixture.ts";
import { loginAndCreateKey, startTestChainServices, startTestGateway, type ApiCredentials, type GatewayFixture } from "../../test/support/gatewayFixture.ts";
import { signedClient } from "../../test/support/httpProbe.ts";
import type { ChainServices } from "./chainServices.ts";

const DAY = 86_400_000;
const VIET_NAM = 704;
const SINGAPORE = 702;
const PROSPECTUS = "PHO RECEIVABLES (PHO) - test prospectus. Issuer: Saigon Pho JSC, Ho Chi Minh City, Viet Nam. Each token is a claim on the receivables of restaurant supply contracts held in trust. Offered to foreign investors only.";
/** A funded Hardhat account that holds no role (#12 is the tax account). */
const DEPOSITOR = 17;

type Logged = { level: number; msg: string; ref?: string };

function capture() {
  const lines: Logged[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as Logged) });
  return { logger, lines };
}

/**
 * The listing flow requires a token to be listed in the settlement vault before Sen lists it, and
 * the vault takes deposits of any token it lists: a trader may deposit in between. Such a deposit
 * must be credited once Sen lists the token, exactly once, also across restarts, without the
 * chain poll reading old blocks again on every tick. Real chain (Hardhat), real gateway and
 * journal, the real operator listing route.
 */
describe("vault deposits of a token the vault lists before Sen does", { timeout: 180_000 }, () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let operator: ApiCredentials;
  let dataDir: string;
  let services: ChainServices | undefined;
  const op = hardhatAccount(30);
  const env = { SEN_OPERATORS: op.address.toLowerCase() };

  before(async () => {
    chain = await startChain();
    dataDir = mkdtempSync(path.join(tmpdir(), "sen-vault-deposits-"));
    gw = await startTestGateway(chain, { dataDir, env });
    await chain.attest(op.address, "deposits-operator");
    operator = await loginAndCreateKey(gw.url, op);
  });
  after(async () => {
    await services?.stop();
    await gw?.close();
    await chain?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** The vault's events the chain watcher reads for the ledger, sorted. */
  const LEDGER_EVENTS = ["CustodyReturned", "CustodySeized", "Deposited", "FeeAccountChanged", "TaxPolicySet"];

  /** Chain services whose reads of the vault's Deposited events are recorded, so the test sees which blocks each tick reads. */
  async function startServices() {
    const { logger, lines } = capture();
    const depositReads: bigint[] = [];
    const vaultReads: string[][] = [];
    const publicClient = {
      ...chain.publicClient,
      getLogs: ((args: { event?: { name?: string }; events?: { name?: string }[]; fromBlock?: bigint }) => {
        const names = (args.events ?? [args.event]).map((e) => e?.name ?? "");
        if (names.includes("Deposited")) depositReads.push(args.fromBlock!);
        if (names.some((n) => ["CustodyReturned", "CustodySeized", "Deposited"].includes(n))) vaultReads.push(names.sort());
        return chain.publicClient.getLogs(args as never);
      }) as PublicClient["getLogs"],
    } as PublicClient;
    // Only the test's polls tick: each assertion follows a known number of ticks.
    services = await startTestChainServices(chain, { ...gw.ctx, logger }, { publicClient, pollMs: 3_600_000 });
    const waitingWarnings = () => lines.filter((l) => l.level === 40 && /has not listed/.test(l.msg));
    return { services, depositReads, vaultReads, waitingWarnings };
  }

  async function restart() {
    await services?.stop();
    services = undefined;
    await gw.close();
    gw = await startTestGateway(chain, { dataDir, env });
    return startServices();
  }

  /** A token governance lists in the vault, as the listing flow requires, and the depositor's deposit of it. */
  async function vaultListedTokenDeposited(symbol: string, amount: bigint): Promise<{ token: Address; block: bigint }> {
    const governance = chain.wallets.governance;
    const as = { account: governance.account };
    const wait = async (hash: Hex) => chain.publicClient.waitForTransactionReceipt({ hash });
    const token = await chain.connection.viem.deployContract(
      "AssetToken",
      [`${symbol} test asset`, symbol, 0, chain.deployment.contracts.IdentityRegistry, governance.account.address, prospectusHash(PROSPECTUS), `ipfs://test/${symbol}`, false],
      { client: { wallet: governance } },
    );
    await wait(await token.write.setCustodian([chain.deployment.contracts.SettlementVault, true], as));
    await wait(await token.write.setTransferRules([1, 0, 2, 0n], as));
    await wait(await token.write.setCountriesListed([[VIET_NAM], true], as));
    await wait(await token.write.grantRole([await token.read.ISSUER_ROLE(), governance.account.address], as));
    const vault = await chain.connection.viem.getContractAt("SettlementVault", chain.deployment.contracts.SettlementVault, { client: { wallet: governance } });
    await wait(await vault.write.setAssetListed([token.address, true], as));

    const depositor = (await chain.connection.viem.getWalletClients())[DEPOSITOR];
    await wait(await token.write.mint([depositor.account.address, amount], as));
    await wait(await token.write.approve([vault.address, amount], { account: depositor.account }));
    const receipt = await wait(await vault.write.deposit([token.address, amount], { account: depositor.account }));
    assert.equal(receipt.status, "success");
    return { token: token.address, block: receipt.blockNumber };
  }

  const application = (base: string, token: Address) => ({
    base,
    token,
    name: "Saigon Pho Receivables",
    assetClass: "vn-tokenised-real-asset",
    underlying: { type: "receivables", description: "restaurant supply contract receivables" },
    issuer: { name: "Saigon Pho JSC", country: VIET_NAM, registration: "0301234567" },
    custodian: { name: "Lotus Trust Bank", proofOfBacking: "trust deed 2026/118" },
    decimals: 0,
    prospectus: { uri: `ipfs://test/${base}`, document: PROSPECTUS },
    offeringOpensAt: new Date(Date.now() + 15 * DAY + 3_600_000).toISOString().replace(/\.\d+Z$/, "Z"),
    market: { tickSize: 100, lotSize: 1, minQty: 1, maxQty: 1_000_000, referencePrice: 10_000 },
  });

  it("is credited once Sen lists the token, exactly once, also after restarts", async () => {
    const depositor = hardhatAccount(DEPOSITOR);
    const account = depositor.address.toLowerCase();
    // Foreign: the token's rule refuses Vietnamese receivers, as the asset class requires.
    await chain.attest(depositor.address, "pho-depositor", 2, SINGAPORE);
    const { token, block } = await vaultListedTokenDeposited("PHO", 40n);
    // A deposit Sen knows, in a later block: the tick reads past the waiting one.
    await chain.fundAndDeposit(DEPOSITOR, { vnd: 1_000_000n });
    const ref = `vault:${getAddress(chain.deployment.contracts.SettlementVault)}:`;
    const phoDeposits = () => gw.ctx.queries.deposits(account).filter((d) => d.currency === "PHO");

    let s = await startServices();
    await s.services.poll();
    assert.equal(gw.ctx.queries.balance(account, "VND").available, 1_000_000n, "the known token's deposit is credited in the same tick");
    assert.equal(gw.ctx.catalog.currency("PHO"), undefined);
    await s.services.poll();
    const warnedBeforeListing = s.waitingWarnings().length;

    // Nothing is kept on disk: a start before the listing must find the deposit again.
    s = await restart();
    await s.services.poll();
    assert.equal(gw.ctx.queries.balance(account, "VND").available, 1_000_000n, "the restart credits the known deposit once");
    const readsBeforeListing = s.depositReads.length;
    // A block after the deposit's, so that the next tick reads the chain and not only the waiting deposit.
    await chain.attest(hardhatAccount(31).address, "pho-later-block");

    const listed = await signedClient(gw.url, operator)("POST", "/api/v1/sen/operator/listings", application("PHO", token));
    assert.equal(listed.code, "200000", `${listed.senCode} ${listed.msg}`);
    await s.services.poll();
    assert.equal(gw.ctx.queries.balance(account, "PHO").available, 40n, "the deposit made before Sen's listing is credited after it");
    await s.services.poll();
    assert.equal(gw.ctx.queries.balance(account, "PHO").available, 40n);
    assert.equal(phoDeposits().length, 1);
    assert.ok(phoDeposits()[0].ref.startsWith(ref), phoDeposits()[0].ref);

    assert.equal(warnedBeforeListing, 1, "one warning for the waiting deposit over two ticks, not one per tick");
    assert.equal(s.waitingWarnings().length, 1, "warned once again after the restart, before the listing");
    assert.equal(s.waitingWarnings()[0].ref, phoDeposits()[0].ref);
    // One read per confirmed range: the deposits and the custody taken out together.
    assert.ok(s.vaultReads.length > 0);
    for (const events of s.vaultReads) assert.deepEqual(events, LEDGER_EVENTS);
    const readsAfterListing = s.depositReads.slice(readsBeforeListing);
    assert.ok(readsAfterListing.length >= 1, "the tick after the listing read the new block");
    assert.ok(readsAfterListing.every((from) => from > block), `no tick after the first reads the deposit's block ${block} again: ${readsAfterListing}`);

    // A start after the crediting reads every block again and credits nothing twice.
    s = await restart();
    await s.services.poll();
    assert.equal(s.depositReads[0], BigInt(chain.deployment.startBlock), "the restart read the deposit's block again");
    assert.equal(gw.ctx.queries.balance(account, "PHO").available, 40n);
    assert.equal(gw.ctx.queries.balance(account, "VND").available, 1_000_000n);
    assert.equal(phoDeposits().length, 1);
    assert.equal(s.waitingWarnings().length, 0, "nothing waits once the token is listed");
    assert.deepEqual(s.services.waitingDeposits(), []);

    await gw.ctx.audit.flush();
    const audited: string[] = [];
    const waited: Array<{ ref?: unknown; token?: unknown; amount?: unknown; txHash?: string }> = [];
    for await (const { line } of gw.ctx.audit.log.read()) {
      const e = JSON.parse(line) as { type: string; currency?: string; account?: string; txHash?: string; detail?: Record<string, unknown> };
      if (e.type === "deposit" && e.account === account) audited.push(e.currency!);
      if (e.type === "deposit.waiting" && e.account === account) waited.push({ ...e.detail, txHash: e.txHash });
    }
    assert.deepEqual(audited.sort(), ["PHO", "VND"], "one audited deposit each");
    // Compliance saw the money in custody before any balance showed it: once per start that found it waiting.
    assert.equal(waited.length, 2, "the first start and the restart before the listing, not once per tick");
    for (const w of waited) {
      assert.equal(w.ref, phoDeposits()[0].ref);
      assert.equal(getAddress(w.token as string), getAddress(token));
      assert.equal(w.amount, "40");
      assert.match(w.txHash ?? "", /^0x[0-9a-f]{64}$/);
    }
  });
});
