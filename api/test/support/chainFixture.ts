import { mkdtempSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import { getAddress, keccak256, toHex, type Address, type Hex } from "viem";
import { mnemonicToAccount, type HDAccount } from "viem/accounts";
import { LOCAL_ROLE_ACCOUNTS, ROLE_HOLDERS, type RoleHolder } from "../../../contracts/ignition/roleHolders.ts";
import { deploySen, type SenDeployment } from "../../../scripts/deploy.ts";
import { serveProvider } from "../../../scripts/chain/serveProvider.ts";
import { freePort } from "./freePort.ts";

/** Hardhat's well-known development mnemonic: its accounts are funded on the local chain. */
const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

export function hardhatAccount(index: number): HDAccount {
  return mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: index });
}

export type ChainFixture = Awaited<ReturnType<typeof startChain>>;

/**
 * A real EVM for gateway tests: Hardhat's in-process chain with Sen deployed through the
 * Ignition modules, optionally served over JSON-RPC for child processes. Each role is held by
 * its own Hardhat account, as on a public network, and used through that account: the e-KYC
 * issuer attests, the payment bank and the asset issuer mint, the agent freezes; the gateway
 * signs with the settler's key (`operatorWallet`, `operatorKey`), never the deployer's.
 */
export async function startChain(options: { serve?: boolean } = {}) {
  const connection = await hre.network.create();
  const deployment: SenDeployment = await deploySen(connection);
  const publicClient = await connection.viem.getPublicClient({ cacheTime: 0 });
  const walletClients = await connection.viem.getWalletClients();
  const walletOf = (address: Address) => {
    const wallet = walletClients.find((w) => getAddress(w.account.address) === getAddress(address));
    if (!wallet) throw new Error(`no local wallet for ${address}`);
    return wallet;
  };
  const roles = deployment.roles;
  const wallets = Object.fromEntries(ROLE_HOLDERS.map((name) => [name, walletOf(roles[name])])) as Record<RoleHolder, (typeof walletClients)[number]>;
  const operatorAccount = hardhatAccount(LOCAL_ROLE_ACCOUNTS.settler);
  if (operatorAccount.address !== roles.settler || roles.withdrawer !== roles.settler || roles.auditor !== roles.settler) {
    throw new Error("the gateway's key must hold the settler, withdrawer and auditor roles");
  }
  const signedBy = (role: RoleHolder) => ({ client: { wallet: wallets[role] } });
  const registry = await connection.viem.getContractAt("IdentityRegistry", deployment.contracts.IdentityRegistry, signedBy("kycIssuer"));
  let server: Server | undefined;
  let rpcUrl: string | undefined;
  let deploymentFile: string | undefined;
  if (options.serve) {
    const port = await freePort();
    server = await serveProvider(connection.provider, port);
    rpcUrl = `http://127.0.0.1:${port}`;
    const dir = mkdtempSync(path.join(tmpdir(), "sen-deploy-"));
    deploymentFile = path.join(dir, `${deployment.chainId}.json`);
    writeFileSync(deploymentFile, JSON.stringify(deployment));
  }
  const wait = async (hash: Hex) => {
    await publicClient.waitForTransactionReceipt({ hash });
  };

  return {
    connection,
    deployment,
    publicClient,
    registry,
    rpcUrl,
    deploymentFile,
    /** The wallet of each role holder (registry: the e-KYC issuer's). */
    wallets,
    /** The gateway's chain key: settler, withdrawer and auditor. */
    operatorWallet: wallets.settler,
    operatorKey: toHex(operatorAccount.getHdKey().privateKey!),
    /**
     * Attests a fresh identity (by the e-KYC issuer) for `wallet`; returns its hash. Country 704
     * (Viet Nam) by default: a domestic investor, whom RIVER's rule refuses as a receiver; a
     * foreign one (e.g. 702, Singapore) may buy it.
     */
    async attest(wallet: Address, label: string = wallet, investorType = 2, country = 704): Promise<Hex> {
      const id = keccak256(toHex(`sen-test:${label}`));
      const now = (await publicClient.getBlock()).timestamp;
      await wait(await registry.write.attest([id, 2, country, investorType, Number(now + 365n * 86400n), wallet]));
      return id;
    },
    /**
     * Mints VND and asset units to a funded Hardhat wallet that holds no role (#8-#11, #13 and up:
     * #0-#7 deploy and hold the roles, #12 is the tax account) and deposits them in the vault.
     * RIVER can only be minted to a wallet its rules admit (a foreign investor).
     */
    async fundAndDeposit(accountIndex: number, amounts: { vnd?: bigint; gold?: bigint; river?: bigint }): Promise<void> {
      const wallet = walletClients[accountIndex];
      const holder = [deployment.deployer, ...Object.values(roles)].some((a) => getAddress(a) === getAddress(wallet.account.address));
      if (holder) throw new Error(`account #${accountIndex} deploys or holds a role: trade with another`);
      const as = { account: wallet.account };
      const c = deployment.contracts;
      const cash = await connection.viem.getContractAt("CashToken", c.CashToken, signedBy("paymentBank"));
      const vault = await connection.viem.getContractAt("SettlementVault", c.SettlementVault);
      if (amounts.vnd) {
        await wait(await cash.write.mint([wallet.account.address, amounts.vnd, keccak256(toHex(`fiat-${accountIndex}`))]));
        await wait(await cash.write.approve([c.SettlementVault, amounts.vnd], as));
        await wait(await vault.write.deposit([c.CashToken, amounts.vnd], as));
      }
      for (const [name, amount] of [["GoldToken", amounts.gold], ["RiverToken", amounts.river]] as const) {
        if (!amount) continue;
        const asset = await connection.viem.getContractAt("AssetToken", c[name], signedBy("assetIssuer"));
        await wait(await asset.write.mint([wallet.account.address, amount]));
        await wait(await asset.write.approve([c.SettlementVault, amount], as));
        await wait(await vault.write.deposit([c[name], amount], as));
      }
    },
    async vaultBalance(token: "CashToken" | "GoldToken" | "RiverToken", wallet: Address): Promise<bigint> {
      const vault = await connection.viem.getContractAt("SettlementVault", deployment.contracts.SettlementVault);
      return vault.read.balanceOf([deployment.contracts[token], wallet]);
    },
    /** Revokes an identity as its issuer. */
    async revoke(identityHash: Hex): Promise<void> {
      await wait(await registry.write.revoke([identityHash]));
    },
    async close(): Promise<void> {
      server?.close();
      await connection.close();
    },
  };
}
