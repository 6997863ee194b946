import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import hre from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { createPublicClient, createWalletClient, encodeErrorResult, getAddress, http, keccak256, toHex, type Abi, type Address, type PublicClient } from "viem";
import { LOCAL_ROLE_ACCOUNTS, ROLE_HOLDERS, type RoleHolders } from "../../ignition/roleHolders.ts";
import { roleIds, roleMembers } from "../../../scripts/chain/roles.ts";
import { deploySen, type SenDeployment } from "../../../scripts/deploy.ts";
import { DEMO_FUNDING, seedDemo } from "../../../scripts/seed.ts";

const ROOT = path.resolve(import.meta.dirname, "../../..");

type ContractName = keyof SenDeployment["contracts"];
const ARTIFACT: Record<ContractName, string> = {
  IdentityRegistry: "IdentityRegistry",
  CashToken: "CashToken",
  SettlementVault: "SettlementVault",
  AuditAnchor: "AuditAnchor",
  GoldToken: "AssetToken",
  RiverToken: "AssetToken",
};

/** Every role of every contract and who alone must hold it after the deploy. */
function expectedRoles(h: RoleHolders): Record<ContractName, Record<string, Address[]>> {
  const asset = { DEFAULT_ADMIN_ROLE: [h.governance], ISSUER_ROLE: [h.assetIssuer], AGENT_ROLE: [h.agent] };
  return {
    IdentityRegistry: { DEFAULT_ADMIN_ROLE: [h.governance], GOVERNANCE_ROLE: [h.governance], ISSUER_ROLE: [h.kycIssuer] },
    CashToken: { DEFAULT_ADMIN_ROLE: [h.governance], PAYMENT_BANK_ROLE: [h.paymentBank], AGENT_ROLE: [h.agent] },
    SettlementVault: { DEFAULT_ADMIN_ROLE: [h.governance], SETTLER_ROLE: [h.settler], WITHDRAWER_ROLE: [h.withdrawer], PAUSER_ROLE: [h.agent] },
    AuditAnchor: { DEFAULT_ADMIN_ROLE: [h.governance] },
    GoldToken: asset,
    RiverToken: asset,
  };
}

const abiOf = async (name: ContractName) => (await hre.artifacts.readArtifact(ARTIFACT[name])).abi as Abi;

/**
 * The roles on chain are exactly the configured ones: every role constant each contract
 * declares has an expected holder list, the RoleGranted/RoleRevoked history since the deploy
 * leaves exactly those holders (so nobody else, and not the deployer), and hasRole agrees for
 * every (role, candidate) pair. Returns how many role memberships it checked.
 */
async function assertRoles(client: PublicClient, d: SenDeployment, holders: RoleHolders, candidates: Address[]): Promise<number> {
  assert.deepEqual(d.roles, holders, "the deployment file records the role holders");
  const expected = expectedRoles(holders);
  let checked = 0;
  for (const name of Object.keys(ARTIFACT) as ContractName[]) {
    const address = d.contracts[name];
    const abi = await abiOf(name);
    const ids = await roleIds(client, abi, address);
    assert.deepEqual(Object.keys(ids).sort(), Object.keys(expected[name]).sort(), `${name}: every role it declares has a configured holder`);
    const members = await roleMembers(client, address, BigInt(d.startBlock));
    const names = new Map(Object.entries(ids).map(([role, id]) => [id, role]));
    for (const id of members.keys()) assert.ok(names.has(id), `${name}: a role it does not declare was granted: ${id}`);
    const actual = Object.fromEntries(Object.entries(ids).map(([role, id]) => [role, [...(members.get(id) ?? [])].sort()]));
    const wanted = Object.fromEntries(Object.entries(expected[name]).map(([role, list]) => [role, [...new Set(list)].sort()]));
    assert.deepEqual(actual, wanted, `${name}: role holders replayed from its events`);
    for (const [role, id] of Object.entries(ids)) {
      // Every holder too: the fee and tax accounts hold none, and each holder only its own.
      for (const who of new Set([...candidates, d.deployer, ...Object.values(holders)])) {
        const has = await client.readContract({ address, abi, functionName: "hasRole", args: [id, who] });
        assert.equal(has, wanted[role].includes(who), `${name}.hasRole(${role}, ${who})`);
        checked++;
      }
      assert.equal(await client.readContract({ address, abi, functionName: "hasRole", args: [id, d.deployer] }), false, `the deployer holds ${role} on ${name}`);
    }
  }
  const anchorAbi = await abiOf("AuditAnchor");
  assert.equal(await client.readContract({ address: d.contracts.AuditAnchor, abi: anchorAbi, functionName: "auditor" }), holders.auditor, "AuditAnchor's auditor");
  const vaultAbi = await abiOf("SettlementVault");
  assert.equal(await client.readContract({ address: d.contracts.SettlementVault, abi: vaultAbi, functionName: "feeAccount" }), holders.feeAccount, "the vault's fee account");
  assert.deepEqual(await client.readContract({ address: d.contracts.SettlementVault, abi: vaultAbi, functionName: "taxPolicy" }), { account: holders.taxAccount, rateBps: 10 }, "the vault withholds 0.1% for the tax account");
  return checked;
}

/** PermissionedToken.COUNTRY_RULE_*. */
const COUNTRY_RULE = { any: 0, allowList: 1, blockList: 2 } as const;
const VIET_NAM = 704;
const SINGAPORE = 702;

/** The pilot's rules on the two assets, as deployed (Resolution 05/2025/NQ-CP). */
async function assertAssetRules(client: PublicClient, d: SenDeployment): Promise<void> {
  const abi = await abiOf("GoldToken");
  const read = (token: "GoldToken" | "RiverToken", functionName: string, args: unknown[] = []) => client.readContract({ address: d.contracts[token], abi, functionName, args });
  // GOLD, an "other crypto-asset" issued abroad: every verified investor, domestic or foreign.
  assert.deepEqual(await read("GoldToken", "transferRules"), { paused: false, minKycLevel: 1, investorTypeMask: 0, countryRule: COUNTRY_RULE.any, maxBalancePerIdentity: 0n });
  assert.equal(await read("GoldToken", "tracksIdentityBalances"), false);
  assert.equal(await read("GoldToken", "symbol"), "GOLD");
  // RIVER, a real asset tokenised in Viet Nam: foreign professional and institutional investors only.
  assert.deepEqual(await read("RiverToken", "transferRules"), {
    paused: false,
    minKycLevel: 1,
    investorTypeMask: (1 << 2) | (1 << 3),
    countryRule: COUNTRY_RULE.blockList,
    maxBalancePerIdentity: 1_000_000n,
  });
  assert.equal(await read("RiverToken", "isCountryListed", [VIET_NAM]), true);
  assert.equal(await read("RiverToken", "isCountryListed", [SINGAPORE]), false);
  assert.equal(await read("RiverToken", "tracksIdentityBalances"), true);
  assert.equal(await read("RiverToken", "symbol"), "RIVER");
}

describe("deployment on the in-process chain: every role with its holder, none with the deployer", () => {
  let connection: NetworkConnection;
  let d: SenDeployment;
  let accounts: Address[];

  before(async () => {
    connection = await hre.network.create();
    accounts = (await connection.viem.getWalletClients()).map((w) => getAddress(w.account.address));
    d = await deploySen(connection);
  });
  after(async () => {
    await connection?.close();
  });

  it("gives each holder its own Hardhat account (the gateway's key settles, withdraws and anchors)", async () => {
    const holders = Object.fromEntries(ROLE_HOLDERS.map((name) => [name, accounts[LOCAL_ROLE_ACCOUNTS[name]]])) as RoleHolders;
    assert.equal(d.deployer, accounts[0]);
    const distinct = new Set([d.deployer, holders.governance, holders.kycIssuer, holders.paymentBank, holders.agent, holders.settler, holders.assetIssuer, holders.feeAccount, holders.taxAccount]);
    assert.equal(distinct.size, 9, "deployer, governance, issuer, bank, agent, gateway key, asset issuer, fee and tax accounts differ");
    assert.equal(holders.taxAccount, accounts[12]);
    // The local dev chain only: the gateway's one key (SEN_CHAIN_KEY) also anchors there. A public
    // deployment gives the auditor its own key (the example parameters, tested below).
    assert.equal(holders.withdrawer, holders.settler);
    assert.equal(holders.auditor, holders.settler);
    const client = await connection.viem.getPublicClient();
    const checked = await assertRoles(client, d, holders, accounts);
    assert.ok(checked >= 16 * accounts.length, `checked ${checked} memberships`);
    await assertAssetRules(client, d);
  });

  it("the chain itself keeps RIVER from domestic investors, at issue and at settlement, and withholds the tax", async () => {
    const { viem } = connection;
    const wallets = await viem.getWalletClients();
    const as = (holder: Address) => ({ account: wallets.find((w) => getAddress(w.account.address) === holder)!.account });
    const publicClient = await viem.getPublicClient();
    const wait = async (hash: Promise<`0x${string}`>) => publicClient.waitForTransactionReceipt({ hash: await hash });
    const registry = await viem.getContractAt("IdentityRegistry", d.contracts.IdentityRegistry);
    const river = await viem.getContractAt("AssetToken", d.contracts.RiverToken);
    const cash = await viem.getContractAt("CashToken", d.contracts.CashToken);
    const vault = await viem.getContractAt("SettlementVault", d.contracts.SettlementVault);
    const [domestic, foreignSeller, foreignBuyer] = [accounts[14], accounts[15], accounts[16]];
    const expires = Number((await publicClient.getBlock()).timestamp) + 365 * 86_400;
    for (const [wallet, country] of [[domestic, VIET_NAM], [foreignSeller, SINGAPORE], [foreignBuyer, SINGAPORE]] as const) {
      await wait(registry.write.attest([keccak256(toHex(`deploy-test:${wallet}`)), 2, country, 2, expires, wallet], as(d.roles.kycIssuer)));
      await wait(cash.write.mint([wallet, 1_000_000n, keccak256(toHex("fiat"))], as(d.roles.paymentBank)));
      await wait(cash.write.approve([vault.address, 1_000_000n], as(wallet)));
      await wait(vault.write.deposit([cash.address, 1_000_000n], as(wallet)));
    }
    await viem.assertions.revertWithCustomErrorWithArgs(river.write.mint([domestic, 10n], as(d.roles.assetIssuer)), river, "ERC7943CannotReceive", [domestic]);
    await wait(river.write.mint([foreignSeller, 10n], as(d.roles.assetIssuer)));
    await wait(river.write.approve([vault.address, 10n], as(foreignSeller)));
    await wait(vault.write.deposit([river.address, 10n], as(foreignSeller)));

    // The settler signs what the gateway would have refused: the vault asks the token and fails the trade.
    const trade = (tradeId: bigint, buyer: Address) => ({ tradeId, asset: river.address, seller: foreignSeller, buyer, assetAmount: 1n, cashAmount: 123_456n, sellerFee: 0n, buyerFee: 0n, sellerTax: 123n });
    const refused = encodeErrorResult({ abi: river.abi, errorName: "ERC7943CannotReceive", args: [domestic] });
    await viem.assertions.revertWithCustomErrorWithArgs(vault.write.settleBatch([[trade(1n, domestic)]], as(d.roles.settler)), vault, "SettlementTradeFailed", [1n, refused]);
    await wait(vault.write.settleBatch([[trade(1n, foreignBuyer)]], as(d.roles.settler)));
    assert.equal(await vault.read.balanceOf([river.address, foreignBuyer]), 1n);
    assert.equal(await vault.read.balanceOf([cash.address, foreignSeller]), 1_000_000n + 123_456n - 123n, "the seller's proceeds net of 0.1% (123.456 rounded down)");
    assert.equal(await vault.read.balanceOf([cash.address, d.roles.taxAccount]), 123n, "the tax account's book");
  });

  it("the deployer can no longer trust an issuer or grant a role; governance can", async () => {
    const { viem } = connection;
    const [deployer] = await viem.getWalletClients();
    const governance = (await viem.getWalletClients()).find((w) => getAddress(w.account.address) === d.roles.governance)!;
    const rogue = accounts[19];
    const registry = await viem.getContractAt("IdentityRegistry", d.contracts.IdentityRegistry);
    const governanceRole = await registry.read.GOVERNANCE_ROLE();
    await viem.assertions.revertWithCustomErrorWithArgs(
      registry.write.addIssuer([rogue], { account: deployer.account }),
      registry,
      "AccessControlUnauthorizedAccount",
      [d.deployer, governanceRole],
    );
    for (const name of ["CashToken", "SettlementVault", "GoldToken", "RiverToken"] as const) {
      // AccessControl's grantRole and its error are the same on each of them.
      const contract = await viem.getContractAt("CashToken", d.contracts[name]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        contract.write.grantRole([governanceRole, rogue], { account: deployer.account }),
        contract,
        "AccessControlUnauthorizedAccount",
        [d.deployer, `0x${"00".repeat(32)}`],
      );
    }
    await viem.assertions.emitWithArgs(registry.write.addIssuer([rogue], { account: governance.account }), registry, "TrustedIssuerAdded", [rogue]);
  });

  it("refuses, before any transaction, a holder that is the deployer or a role holder given per module", async () => {
    const client = await connection.viem.getPublicClient();
    const height = await client.getBlockNumber();
    await assert.rejects(deploySen(connection, { $global: { governance: d.deployer } }), /"governance" is the deployer/);
    await assert.rejects(deploySen(connection, { SenCore: { settler: accounts[12] } }), /"settler" is a role holder: set it under "\$global"/);
    await assert.rejects(deploySen(connection, { $global: { agent: "0x1234" } }), /"agent" is not an address/);
    assert.equal(await client.getBlockNumber(), height, "nothing was sent");
  });

  it("seeds the demo under the pilot's rules: the domestic investor holds GOLD, only the foreign one RIVER", async () => {
    const traders = await seedDemo(connection, d);
    assert.deepEqual(traders.map((t) => [t.name, t.country]), [["an", VIET_NAM], ["emma", SINGAPORE]]);
    const { viem } = connection;
    const vault = await viem.getContractAt("SettlementVault", d.contracts.SettlementVault);
    const river = await viem.getContractAt("AssetToken", d.contracts.RiverToken);
    const registry = await viem.getContractAt("IdentityRegistry", d.contracts.IdentityRegistry);
    const [an, emma] = traders.map((t) => t.address);
    const held = async (token: Address, wallet: Address) => [await vault.read.balanceOf([token, wallet]), await river.read.balanceOf([wallet])];
    assert.equal(await vault.read.balanceOf([d.contracts.GoldToken, an]), DEMO_FUNDING.assetDeposited, "an deposited the GOLD it holds");
    assert.equal(await vault.read.balanceOf([d.contracts.GoldToken, emma]), DEMO_FUNDING.assetDeposited);
    assert.equal(await vault.read.balanceOf([d.contracts.CashToken, an]), DEMO_FUNDING.vndDeposited);
    assert.deepEqual(await held(d.contracts.RiverToken, an), [0n, 0n], "no RIVER for a domestic investor");
    assert.deepEqual(await held(d.contracts.RiverToken, emma), [DEMO_FUNDING.assetDeposited, DEMO_FUNDING.assetUnits - DEMO_FUNDING.assetDeposited]);
    assert.equal(await river.read.canReceive([an]), false);
    assert.equal(await registry.read.isVerified([d.roles.taxAccount]), true, "the tax account can be paid out");
  });
});

describe("the public testnet's example parameters", () => {
  it("name every holder, each its own key except settler and withdrawer (the gateway's); the auditor is not theirs", () => {
    const file = path.join(ROOT, "contracts/ignition/parameters.sepolia.example.json");
    const holders = (JSON.parse(readFileSync(file, "utf8")) as { $global: Record<string, string> }).$global;
    assert.deepEqual(Object.keys(holders).sort(), [...ROLE_HOLDERS].sort(), "every role holder under $global, nothing else");
    for (const [name, address] of Object.entries(holders)) {
      assert.equal(address, getAddress(address), `${name}: a checksummed address`);
      assert.notEqual(BigInt(address), 0n, `${name}: not the zero address`);
    }
    // The auditor's anchors are what make the audit log's roots evidence against the exchange's
    // own keys: a key that also settles and pays out could anchor a log rewritten to match.
    assert.notEqual(holders.auditor, holders.settler, "auditor and settler are separate keys");
    assert.notEqual(holders.auditor, holders.withdrawer, "auditor and withdrawer are separate keys");
    const { withdrawer: _sharedWithSettler, ...own } = holders;
    assert.equal(new Set(Object.values(own)).size, Object.keys(own).length, "every other holder is its own key");
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => resolve({ code, out }));
  });
}

/**
 * The public-testnet path cannot be reached from here, so this proves the same path
 * (Ignition modules over JSON-RPC, via scripts/deploy.ts with a parameters file) against a
 * `hardhat node`, with holders that are none of the node's accounts, like a testnet's.
 */
describe("deployment over JSON-RPC (hardhat node + Ignition)", () => {
  let node: ChildProcess;
  let rpc: string;
  const out = mkdtempSync(path.join(tmpdir(), "sen-deploy-"));
  const deploymentId = `test-${process.pid}`;

  before(async () => {
    const port = await freePort();
    rpc = `http://127.0.0.1:${port}`;
    node = spawn(process.execPath, [path.join(ROOT, "node_modules/hardhat/dist/src/cli.js"), "node", "--port", String(port), "--hostname", "127.0.0.1"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("hardhat node did not start")), 60_000);
      node.stdout!.on("data", (d: Buffer) => {
        if (d.toString().includes("Started HTTP")) {
          clearTimeout(timer);
          resolve();
        }
      });
      node.once("exit", (code) => reject(new Error(`hardhat node exited with ${code}`)));
    });
  });

  after(() => {
    node?.kill("SIGKILL");
    rmSync(out, { recursive: true, force: true });
    rmSync(path.join(hre.config.paths.ignition, "deployments", deploymentId), { recursive: true, force: true });
  });

  it("deploys the whole set, wired, each role with its configured holder, and writes deployments/<chainId>.json", async () => {
    const holders = Object.fromEntries(ROLE_HOLDERS.map((name) => [name, getAddress(keccak256(toHex(`sen-deploy-test:${name}`)).slice(0, 42))])) as RoleHolders;
    assert.equal(new Set(Object.values(holders)).size, ROLE_HOLDERS.length, "every holder distinct");
    const parameters = path.join(out, "parameters.json");
    writeFileSync(parameters, JSON.stringify({ $global: holders, SenAssets: { goldDocumentURI: "ipfs://sen-test/gold.pdf" } }));
    const deploy = ["scripts/deploy.ts", "--network", "localhost", "--rpc", rpc, "--out", out, "--deployment-id", deploymentId, "--parameters", parameters];
    const r = await run(process.execPath, deploy);
    assert.equal(r.code, 0, r.out);
    const d = JSON.parse(readFileSync(path.join(out, "31337.json"), "utf8")) as SenDeployment;
    assert.equal(d.chainId, 31337);
    const client = createPublicClient({ transport: http(rpc) });
    for (const address of Object.values(d.contracts)) {
      assert.ok(((await client.getCode({ address })) ?? "0x").length > 2, `no code at ${address}`);
    }
    const read = async (contract: ContractName, functionName: string, args: unknown[]) =>
      client.readContract({ address: d.contracts[contract], abi: await abiOf(contract), functionName, args });
    assert.equal(await read("SettlementVault", "isListed", [d.contracts.GoldToken]), true);
    assert.equal(await read("SettlementVault", "isListed", [d.contracts.RiverToken]), true);
    assert.equal(await read("CashToken", "isCustodian", [d.contracts.SettlementVault]), true);
    assert.equal(await read("RiverToken", "isCustodian", [d.contracts.SettlementVault]), true);
    assert.equal(await read("GoldToken", "documentURI", []), "ipfs://sen-test/gold.pdf", "module parameters still apply");
    assert.equal(await read("RiverToken", "documentURI", []), "ipfs://sen-demo/river-prospectus.pdf");
    await assertAssetRules(client, d);

    const nodeAccounts = (await createWalletClient({ transport: http(rpc) }).getAddresses()).map((a) => getAddress(a));
    assert.equal(d.deployer, nodeAccounts[0]);
    await assertRoles(client, d, holders, nodeAccounts);

    // Re-running resumes the journaled deployment: same addresses, nothing redeployed.
    const again = await run(process.execPath, deploy);
    assert.equal(again.code, 0, again.out);
    const d2 = JSON.parse(readFileSync(path.join(out, "31337.json"), "utf8")) as SenDeployment;
    assert.deepEqual(d2.contracts, d.contracts);
    assert.deepEqual(d2.roles, holders);
  });
});
