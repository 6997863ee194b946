import { mkdtempSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { mnemonicToAccount, type HDAccount } from "viem/accounts";
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
 * Ignition modules, optionally served over JSON-RPC for child processes.
 */
export async function startChain(options: { serve?: boolean } = {}) {
  const connection = await hre.network.create();
  const deployment: SenDeployment = await deploySen(connection);
  const publicClient = await connection.viem.getPublicClient({ cacheTime: 0 });
  const registry = await connection.viem.getContractAt("IdentityRegistry", deployment.contracts.IdentityRegistry);
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
    /** Attests a fresh identity (issuer = deployer) for `wallet`; returns its hash. */
    async attest(wallet: Address, label: string = wallet, investorType = 2): Promise<Hex> {
      const id = keccak256(toHex(`sen-test:${label}`));
      const now = (await publicClient.getBlock()).timestamp;
      await wait(await registry.write.attest([id, 2, 704, investorType, Number(now + 365n * 86400n), wallet]));
      return id;
    },
    /** Mints VND and bond units to a funded Hardhat wallet (0..19) and deposits them in the vault. */
    async fundAndDeposit(accountIndex: number, amounts: { vnd?: bigint; bond?: bigint }): Promise<void> {
      const wallet = (await connection.viem.getWalletClients())[accountIndex];
      const as = { account: wallet.account };
      const c = deployment.contracts;
      const cash = await connection.viem.getContractAt("CashToken", c.CashToken);
      const bond = await connection.viem.getContractAt("AssetToken", c.BondToken);
      const vault = await connection.viem.getContractAt("SettlementVault", c.SettlementVault);
      if (amounts.vnd) {
        await wait(await cash.write.mint([wallet.account.address, amounts.vnd, keccak256(toHex(`fiat-${accountIndex}`))]));
        await wait(await cash.write.approve([c.SettlementVault, amounts.vnd], as));
        await wait(await vault.write.deposit([c.CashToken, amounts.vnd], as));
      }
      if (amounts.bond) {
        await wait(await bond.write.mint([wallet.account.address, amounts.bond]));
        await wait(await bond.write.approve([c.SettlementVault, amounts.bond], as));
        await wait(await vault.write.deposit([c.BondToken, amounts.bond], as));
      }
    },
    async vaultBalance(token: "CashToken" | "BondToken" | "FundToken", wallet: Address): Promise<bigint> {
      const vault = await connection.viem.getContractAt("SettlementVault", deployment.contracts.SettlementVault);
      return vault.read.balanceOf([deployment.contracts[token], wallet]);
    },
    async revoke(identityHash: Hex): Promise<void> {
      await wait(await registry.write.revoke([identityHash]));
    },
    async close(): Promise<void> {
      server?.close();
      await connection.close();
    },
  };
}
