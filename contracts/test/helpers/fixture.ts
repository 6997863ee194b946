import { network } from "hardhat";
import { keccak256, toHex, type Address, type Hex } from "viem";

export const VIET_NAM = 704;
export const SINGAPORE = 702;
export const RETAIL = 1;
export const PROFESSIONAL = 2;
export const INSTITUTIONAL = 3;
export const ONE_YEAR = 365n * 24n * 3600n;

/** A salted e-ID hash as an e-KYC issuer would compute it off chain (test data only). */
export function identityHash(label: string): Hex {
  return keccak256(toHex(`sen-test-salt:${label}`));
}

/**
 * One chain with the whole Sen set deployed and wired, roles on distinct accounts so that
 * role checks are meaningful: 0 governance/admin, 1 e-KYC issuer, 2 payment bank,
 * 3 agent, 4 settler, 5 withdrawer, 6 auditor, 7 fee account, 8 tax account (withheld income
 * tax), 9.. traders.
 */
export async function deploySen() {
  const connection = await network.create();
  const { viem, networkHelpers } = connection;
  const publicClient = await viem.getPublicClient();
  const wallets = await viem.getWalletClients();
  const [gov, issuer, bank, agent, settler, withdrawer, auditor, fees, taxes] = wallets;
  const traders = wallets.slice(9);
  const as = (w: (typeof wallets)[number]) => ({ account: w.account });

  const registry = await viem.deployContract("IdentityRegistry", [gov.account.address]);
  await registry.write.addIssuer([issuer.account.address]);
  const cash = await viem.deployContract("CashToken", [registry.address, gov.account.address]);
  const vault = await viem.deployContract("SettlementVault", [
    registry.address,
    cash.address,
    gov.account.address,
    fees.account.address,
    taxes.account.address,
  ]);
  const bond = await viem.deployContract("AssetToken", [
    "Bond",
    "BND",
    0,
    registry.address,
    gov.account.address,
    keccak256(toHex("prospectus")),
    "ipfs://bond",
    false,
  ]);
  const fund = await viem.deployContract("AssetToken", [
    "Fund",
    "FND",
    0,
    registry.address,
    gov.account.address,
    keccak256(toHex("fund prospectus")),
    "ipfs://fund",
    true,
  ]);
  const anchor = await viem.deployContract("AuditAnchor", [gov.account.address, auditor.account.address]);

  await cash.write.grantRole([await cash.read.PAYMENT_BANK_ROLE(), bank.account.address]);
  await cash.write.grantRole([await cash.read.AGENT_ROLE(), agent.account.address]);
  await cash.write.setCustodian([vault.address, true]);
  for (const token of [bond, fund]) {
    await token.write.grantRole([await token.read.ISSUER_ROLE(), issuer.account.address]);
    await token.write.grantRole([await token.read.AGENT_ROLE(), agent.account.address]);
    await token.write.setCustodian([vault.address, true]);
    await vault.write.setAssetListed([token.address, true]);
  }
  await vault.write.grantRole([await vault.read.SETTLER_ROLE(), settler.account.address]);
  await vault.write.grantRole([await vault.read.WITHDRAWER_ROLE(), withdrawer.account.address]);
  await vault.write.grantRole([await vault.read.PAUSER_ROLE(), agent.account.address]);

  const now = async () => (await publicClient.getBlock()).timestamp;

  /** Attests `wallet` as a fresh identity (by the trusted issuer) and returns its hash. */
  async function attest(
    wallet: Address,
    opts: { label?: string; kyc?: number; country?: number; investor?: number; ttl?: bigint } = {},
  ): Promise<Hex> {
    const id = identityHash(opts.label ?? wallet);
    await registry.write.attest(
      [id, opts.kyc ?? 2, opts.country ?? VIET_NAM, opts.investor ?? RETAIL, Number((await now()) + (opts.ttl ?? ONE_YEAR)), wallet],
      as(issuer),
    );
    return id;
  }

  return {
    connection,
    viem,
    networkHelpers,
    publicClient,
    wallets,
    gov,
    issuer,
    bank,
    agent,
    settler,
    withdrawer,
    auditor,
    fees,
    taxes,
    traders,
    registry,
    cash,
    vault,
    bond,
    fund,
    anchor,
    as,
    attest,
    now,
  };
}

export type Sen = Awaited<ReturnType<typeof deploySen>>;
