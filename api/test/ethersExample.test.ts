import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { keccak256, toHex, type Address } from "viem";
import type { ChainServices } from "../src/chain/chainServices.ts";
import { balance, connectWallet, depositToVault, readDeployment, requestWithdrawal, signIn, tokenAddress, waitFor, waitUntilPaid } from "../../examples/ethers/sen.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { startTestGateway, startTestChainServices, type GatewayFixture } from "./support/gatewayFixture.ts";

/**
 * examples/ethers against a real chain (served over JSON-RPC, as an integrator reaches it) and
 * a real gateway with its chain services: the functions one by one, and run.ts as the script
 * an integrator runs.
 */

const RUN_SCRIPT = fileURLToPath(new URL("../../examples/ethers/run.ts", import.meta.url));
/** Hardhat funds accounts #0-#19 with gas; #0-#7 and #12 hold roles. */
const privateKeyOf = (index: number) => toHex(hardhatAccount(index).getHdKey().privateKey!);

describe("ethers v6 example (examples/ethers)", { timeout: 120_000 }, () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let services: ChainServices;

  /** Tokens in the wallet itself (not the vault), as a bank or issuer would have minted them. */
  const mint = async (wallet: Address, currency: "VND" | "GOLD", amount: bigint) => {
    const c = chain.deployment.contracts;
    const hash =
      currency === "VND"
        ? await (await chain.connection.viem.getContractAt("CashToken", c.CashToken, { client: { wallet: chain.wallets.paymentBank } })).write.mint([wallet, amount, keccak256(toHex(`ethers-example-${wallet}`))])
        : await (await chain.connection.viem.getContractAt("AssetToken", c.GoldToken, { client: { wallet: chain.wallets.assetIssuer } })).write.mint([wallet, amount]);
    await chain.publicClient.waitForTransactionReceipt({ hash });
  };
  const walletBalance = async (token: "CashToken" | "GoldToken", wallet: Address) =>
    (await chain.connection.viem.getContractAt("CashToken", chain.deployment.contracts[token])).read.balanceOf([wallet]);

  before(async () => {
    chain = await startChain({ serve: true });
    gw = await startTestGateway(chain, { env: { SEN_JOURNAL_FSYNC: "none" } });
    services = await startTestChainServices(chain, gw.ctx);
  });
  after(async () => {
    await services?.stop();
    await gw?.close();
    await chain?.close();
  });

  it("signs in, deposits into the vault, is credited, withdraws and is paid (the functions)", async () => {
    const account = hardhatAccount(17);
    await chain.attest(account.address, "ethers-example-1");
    await mint(account.address, "VND", 5_000_000n);
    const deployment = readDeployment(chain.deploymentFile!);
    const wallet = connectWallet(chain.rpcUrl!, privateKeyOf(17), deployment.chainId);

    const session = await signIn(gw.url, wallet);
    assert.equal(session.accountId, account.address.toLowerCase());
    assert.equal(await balance(gw.url, session.token, "VND"), 0n);

    const cash = await tokenAddress(gw.url, "VND");
    assert.equal(cash.toLowerCase(), deployment.contracts.CashToken.toLowerCase(), "the gateway lists the deployment's token");
    const depositId = await depositToVault(wallet, deployment.contracts.SettlementVault, cash, 3_000_000n);
    assert.equal(typeof depositId, "bigint");
    assert.equal(await chain.vaultBalance("CashToken", account.address), 3_000_000n);
    await waitFor("credit", async () => ((await balance(gw.url, session.token, "VND")) === 3_000_000n ? true : undefined), 20_000);

    // More than the account holds is refused before anything reaches the chain.
    await assert.rejects(requestWithdrawal(gw.url, session.token, wallet.address, "VND", 3_000_001n), /400100|Insufficient|balance/i);
    // To another wallet too: Sen pays out only to the account's own wallet.
    await assert.rejects(requestWithdrawal(gw.url, session.token, hardhatAccount(16).address, "VND", 1n), /own verified wallet/);

    const withdrawalId = await requestWithdrawal(gw.url, session.token, wallet.address, "VND", 1_000_000n);
    const paid = await waitUntilPaid(gw.url, session.token, withdrawalId, 20_000);
    assert.equal(paid.amount, "1000000");
    assert.match(paid.walletTxId!, /^0x[0-9a-f]{64}$/);
    assert.equal(await balance(gw.url, session.token, "VND"), 2_000_000n);
    assert.equal(await chain.vaultBalance("CashToken", account.address), 2_000_000n);
    assert.equal(await walletBalance("CashToken", account.address), 3_000_000n, "2 000 000 never deposited + 1 000 000 paid back");
  });

  it("refuses to sign in a wallet without a verified e-ID", async () => {
    const deployment = readDeployment(chain.deploymentFile!);
    const wallet = connectWallet(chain.rpcUrl!, privateKeyOf(19), deployment.chainId);
    await assert.rejects(signIn(gw.url, wallet), /auth\/login/);
  });

  it("runs as a script with SEN_URL, SEN_RPC, SEN_DEPLOYMENT and PRIVATE_KEY", async () => {
    const account = hardhatAccount(18);
    await chain.attest(account.address, "ethers-example-2");
    await mint(account.address, "GOLD", 7n);
    const env = { PATH: process.env.PATH, SEN_URL: gw.url, SEN_RPC: chain.rpcUrl!, SEN_DEPLOYMENT: chain.deploymentFile!, PRIVATE_KEY: privateKeyOf(18) };
    const { stdout } = await promisify(execFile)(process.execPath, [RUN_SCRIPT, "GOLD", "5"], { env, timeout: 60_000 });
    const lines = stdout.trim().split("\n");
    assert.equal(lines.length, 4, stdout);
    assert.equal(lines[0], `signed in as ${account.address}`);
    assert.match(lines[1], /^deposited 5 GOLD into the vault \(depositId \d+\)$/);
    assert.equal(lines[2], "credited: GOLD balance 5");
    assert.match(lines[3], new RegExp(`^withdrawn 5 GOLD to ${account.address} \\(tx 0x[0-9a-f]{64}\\)$`));
    assert.equal(await walletBalance("GoldToken", account.address), 7n, "all of it back in the wallet");
    assert.equal(await chain.vaultBalance("GoldToken", account.address), 0n);

    // A missing setting is named, not a stack trace from deep inside.
    const missing = await promisify(execFile)(process.execPath, [RUN_SCRIPT], { env: { PATH: process.env.PATH } }).catch((e: { code: number; stderr: string }) => e);
    assert.equal((missing as { code: number }).code, 1);
    assert.match((missing as { stderr: string }).stderr, /SEN_URL is required/);
  });
});
