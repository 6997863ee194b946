/**
 * Demo data on a freshly deployed Sen, under the pilot's rules (Resolution 05/2025/NQ-CP): a
 * domestic investor (an, Viet Nam) and a foreign one (emma, Singapore), both professional,
 * each with VND and GOLD, part of it deposited in the settlement vault (the domestic investor
 * already holds the crypto-asset and deposits it). Only emma gets RIVER: a real asset
 * tokenised in Viet Nam is for foreign investors only, and the token refuses a mint to an.
 * Each step is signed by the account holding its role in the deployment (e-KYC issuer,
 * payment bank, asset issuer), as it would be on a public network; the deployer holds none.
 */
import type { NetworkConnection } from "hardhat/types/network";
import { getAddress, keccak256, toHex, type Address, type Hex } from "viem";
import type { SenDeployment } from "./deploy.ts";

export type DemoTrader = { name: string; address: Address; identityHash: Hex; accountIndex: number; country: number };

/** ISO 3166 numeric country codes, as e-IDs carry them. */
export const VIET_NAM = 704;
export const SINGAPORE = 702;
const PROFESSIONAL = 2;
const INSTITUTIONAL = 3;
const ONE_YEAR = 365 * 24 * 3600;

/**
 * Hardhat's default accounts 8 and 9 play the demo traders (their keys are public test keys):
 * an, a domestic investor, and emma, a foreign one. RIVER is open to emma only.
 */
export const DEMO_TRADERS = [
  { name: "an", accountIndex: 8, country: VIET_NAM },
  { name: "emma", accountIndex: 9, country: SINGAPORE },
] as const;

/** Hardhat account 10 plays the compliance officer (attested too: every user of Sen has an e-ID). */
export const DEMO_OFFICER = { name: "chi", accountIndex: 10 } as const;

/** Hardhat account 11 plays the exchange's operator (halts, kill switches, failed settlements): it signs in like anyone, so it has an e-ID. */
export const DEMO_OPERATOR = { name: "dung", accountIndex: 11 } as const;

export const DEMO_FUNDING = {
  vnd: 2_000_000_000n, // đồng minted to each trader by the (simulated) payment bank
  vndDeposited: 1_000_000_000n,
  assetUnits: 10_000n,
  assetDeposited: 5_000n,
};

export async function seedDemo(connection: NetworkConnection, deployment: SenDeployment): Promise<DemoTrader[]> {
  const { viem } = connection;
  const publicClient = await viem.getPublicClient();
  const wallets = await viem.getWalletClients();
  const signedBy = (holder: Address) => {
    const wallet = wallets.find((w) => getAddress(w.account.address) === holder);
    if (!wallet) throw new Error(`seed: no local wallet for ${holder}`);
    return { client: { wallet } };
  };
  const c = deployment.contracts;
  const { kycIssuer, paymentBank, assetIssuer } = deployment.roles;
  const registry = await viem.getContractAt("IdentityRegistry", c.IdentityRegistry, signedBy(kycIssuer));
  const cash = await viem.getContractAt("CashToken", c.CashToken, signedBy(paymentBank));
  const vault = await viem.getContractAt("SettlementVault", c.SettlementVault);
  const gold = await viem.getContractAt("AssetToken", c.GoldToken, signedBy(assetIssuer));
  const river = await viem.getContractAt("AssetToken", c.RiverToken, signedBy(assetIssuer));
  const wait = async (hash: Hex) => {
    await publicClient.waitForTransactionReceipt({ hash });
  };
  const now = Number((await publicClient.getBlock()).timestamp);

  const traders: DemoTrader[] = [];
  for (const t of DEMO_TRADERS) {
    const wallet = wallets[t.accountIndex];
    const address = wallet.account.address;
    // Off chain, the e-KYC issuer salts and hashes the citizen's e-ID; here a demo label.
    const identityHash = keccak256(toHex(`sen-demo:${t.name}`));
    await wait(await registry.write.attest([identityHash, 2, t.country, PROFESSIONAL, now + ONE_YEAR, address]));
    await wait(await cash.write.mint([address, DEMO_FUNDING.vnd, keccak256(toHex(`demo-fiat-in:${t.name}`))]));
    await wait(await cash.write.approve([vault.address, DEMO_FUNDING.vndDeposited], { account: wallet.account }));
    await wait(await vault.write.deposit([cash.address, DEMO_FUNDING.vndDeposited], { account: wallet.account }));
    // RIVER's block-list of Viet Nam refuses the mint to a domestic investor on chain.
    for (const asset of t.country === VIET_NAM ? [gold] : [gold, river]) {
      await wait(await asset.write.mint([address, DEMO_FUNDING.assetUnits]));
      await wait(await asset.write.approve([vault.address, DEMO_FUNDING.assetDeposited], { account: wallet.account }));
      await wait(await vault.write.deposit([asset.address, DEMO_FUNDING.assetDeposited], { account: wallet.account }));
    }
    traders.push({ name: t.name, address, identityHash, accountIndex: t.accountIndex, country: t.country });
  }
  const officer = wallets[DEMO_OFFICER.accountIndex].account.address;
  await wait(await registry.write.attest([keccak256(toHex(`sen-demo:${DEMO_OFFICER.name}`)), 2, VIET_NAM, PROFESSIONAL, now + ONE_YEAR, officer]));
  const operator = wallets[DEMO_OPERATOR.accountIndex].account.address;
  await wait(await registry.write.attest([keccak256(toHex(`sen-demo:${DEMO_OPERATOR.name}`)), 2, VIET_NAM, PROFESSIONAL, now + ONE_YEAR, operator]));
  // The tax account needs an e-ID of its own: the vault pays custody out only to a verified
  // wallet, so without one the tax withheld could never leave for the State Treasury.
  await wait(await registry.write.attest([keccak256(toHex("sen-demo:tax-account")), 2, VIET_NAM, INSTITUTIONAL, now + ONE_YEAR, deployment.roles.taxAccount]));
  return traders;
}
