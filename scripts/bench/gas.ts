/**
 * `npm run bench:gas`: gas used by Sen's on-chain operations, measured from transaction
 * receipts on Hardhat's in-process chain, next to a plain OpenZeppelin ERC-20 transfer
 * measured in the same run. Writes the "gas" section of BENCHMARKS.md.
 *
 * Gas is deterministic for a given compiler, optimizer setting and hardfork, so one run is
 * enough. Every measured transaction starts with cold storage (EIP-2929 warmth is per
 * transaction); "existing holder" means the balances written are non-zero before and after.
 */
import { ATTESTATION_TYPES } from "../../contracts/src/identity/attestationTypes.ts";
import hre, { network } from "hardhat";
import { getAddress, keccak256, toHex, type Address, type Hash, type Hex } from "viem";
import { machineLine, writeBenchmarkSection } from "./benchmarksFile.ts";

const VIET_NAM = 704;
const KYC_LEVEL_2 = 2;
const PROFESSIONAL = 2;
const PRO_AND_INSTITUTIONAL = (1 << 2) | (1 << 3);
const COUNTRY_ALLOW_LIST = 1; // PermissionedToken.COUNTRY_RULE_ALLOW_LIST
const FAR_FUTURE = 4_102_444_800; // 2100-01-01, as uint40 seconds
const TRADERS = 20;
const COLD_TRADERS = 200;

await hre.tasks.getTask("build").run({ quiet: true });
const conn = await network.create();
const { viem } = conn;
const publicClient = await viem.getPublicClient({ cacheTime: 0 });
const [deployerClient, issuerClient, relayerClient, holderA, holderB, feeClient, auditorClient, taxClient] =
  await viem.getWalletClients();
const deployer = deployerClient.account.address;
const issuer = issuerClient.account.address;

/** gasUsed of the receipt of `hash`; fails loudly if the transaction reverted. */
async function gasOf(hash: Promise<Hash>): Promise<bigint> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash });
  if (receipt.status !== "success") throw new Error(`benchmark transaction ${receipt.transactionHash} reverted`);
  return receipt.gasUsed;
}

function identityHashOf(label: string): Hex {
  return keccak256(toHex(`sen-bench:${label}`));
}

/** A fresh address nobody holds a key for; it sends through impersonation. */
async function makeTrader(label: string): Promise<Address> {
  const wallet = getAddress(keccak256(toHex(`sen-bench-wallet:${label}`)).slice(0, 42));
  await conn.provider.request({ method: "hardhat_impersonateAccount", params: [wallet] });
  await conn.provider.request({ method: "hardhat_setBalance", params: [wallet, toHex(10n ** 20n)] });
  return wallet;
}

// ------------------------------------------------------------------ deployment

const registry = await viem.deployContract("IdentityRegistry", [deployer]);
await registry.write.addIssuer([issuer]);

async function attest(wallet: Address, label: string): Promise<bigint> {
  return gasOf(
    registry.write.attest([identityHashOf(label), KYC_LEVEL_2, VIET_NAM, PROFESSIONAL, FAR_FUTURE, wallet], {
      account: issuerClient.account,
    }),
  );
}

const cash = await viem.deployContract("CashToken", [registry.address, deployer]);
const gold = await viem.deployContract("AssetToken", [
  "Bench Bond",
  "BBND",
  0,
  registry.address,
  deployer,
  identityHashOf("gold-prospectus"),
  "ipfs://bench/gold",
  false,
]);
const fund = await viem.deployContract("AssetToken", [
  "Bench Fund",
  "BFND",
  0,
  registry.address,
  deployer,
  identityHashOf("fund-prospectus"),
  "ipfs://bench/fund",
  true,
]);
const vault = await viem.deployContract("SettlementVault", [
  registry.address,
  cash.address,
  deployer,
  feeClient.account.address,
  taxClient.account.address,
]);
const anchor = await viem.deployContract("AuditAnchor", [deployer, auditorClient.account.address]);
const plain = await viem.deployContract("PlainERC20", []);

await cash.write.grantRole([await cash.read.PAYMENT_BANK_ROLE(), deployer]);
await cash.write.setCustodian([vault.address, true]);
for (const asset of [gold, fund]) {
  await asset.write.grantRole([await asset.read.ISSUER_ROLE(), deployer]);
  await asset.write.setCustodian([vault.address, true]);
  await asset.write.setCountriesListed([[VIET_NAM], true]);
  await vault.write.setAssetListed([asset.address, true]);
}
// Every holder rule on: level-2 e-ID only, professional or institutional, Viet Nam only.
await gold.write.setTransferRules([KYC_LEVEL_2, PRO_AND_INSTITUTIONAL, COUNTRY_ALLOW_LIST, 0n]);
// The fund adds the per-identity cap (needs per-identity holdings tracking).
await fund.write.setTransferRules([KYC_LEVEL_2, PRO_AND_INSTITUTIONAL, COUNTRY_ALLOW_LIST, 10n ** 15n]);
await vault.write.grantRole([await vault.read.SETTLER_ROLE(), deployer]);

// ------------------------------------------------------------------ identity

const attestDirect = await attest(holderA.account.address, "holder-a");
await attest(holderB.account.address, "holder-b");
await attest(feeClient.account.address, "fee-account");


let nextNonce = 0n;

/** The issuer signs an attestation off chain (EIP-712); a relayer submits it. */
async function attestBySig(label: string): Promise<bigint> {
  const wallet = await makeTrader(label);
  const identityHash = identityHashOf(label);
  const message = {
    identityHash,
    wallet,
    kycLevel: KYC_LEVEL_2,
    country: VIET_NAM,
    investorType: PROFESSIONAL,
    expiresAt: FAR_FUTURE,
    issuer,
    identityVersion: await registry.read.identityVersion([identityHash]),
    // Unordered nonces: consecutive ones share a bitmap word.
    nonce: nextNonce++,
    deadline: BigInt(FAR_FUTURE),
  };
  const signature = await issuerClient.signTypedData({
    account: issuerClient.account,
    domain: {
      name: "Sen IdentityRegistry",
      version: "1",
      chainId: await publicClient.getChainId(),
      verifyingContract: registry.address,
    },
    types: ATTESTATION_TYPES,
    primaryType: "Attestation",
    message,
  });
  return gasOf(registry.write.attestBySig([message, signature], { account: relayerClient.account }));
}

const attestSigFirst = await attestBySig("sig-1");
const attestSigNext = await attestBySig("sig-2");

// ------------------------------------------------------------------ transfers

await plain.write.transfer([holderA.account.address, 10n ** 24n]);
await plain.write.transfer([holderB.account.address, 10n ** 24n]);
const plainTransfer = await gasOf(
  plain.write.transfer([holderB.account.address, 1n], { account: holderA.account }),
);

for (const holder of [holderA, holderB]) {
  await gold.write.mint([holder.account.address, 1_000_000n]);
  await fund.write.mint([holder.account.address, 1_000_000n]);
  await cash.write.mint([holder.account.address, 10n ** 12n, identityHashOf("bank-ref")]);
}
const bondTransfer = await gasOf(gold.write.transfer([holderB.account.address, 1n], { account: holderA.account }));
const fundTransfer = await gasOf(fund.write.transfer([holderB.account.address, 1n], { account: holderA.account }));
const cashTransfer = await gasOf(cash.write.transfer([holderB.account.address, 1n], { account: holderA.account }));

// ------------------------------------------------------------------ settlement

type Trade = {
  tradeId: bigint;
  asset: Address;
  seller: Address;
  buyer: Address;
  assetAmount: bigint;
  cashAmount: bigint;
  sellerFee: bigint;
  buyerFee: bigint;
  sellerTax: bigint;
};

/** Attested wallets with asset and cash deposits in the vault (non-zero custody books). */
async function makeFundedTraders(prefix: string, count: number): Promise<Address[]> {
  const traders: Address[] = [];
  for (let i = 0; i < count; i++) {
    const wallet = await makeTrader(`${prefix}-${i}`);
    await attest(wallet, `${prefix}-${i}`);
    for (const asset of [gold, fund]) {
      await asset.write.mint([wallet, 1_000_000n]);
      await asset.write.approve([vault.address, 1_000_000n], { account: wallet });
      await vault.write.deposit([asset.address, 1_000_000n], { account: wallet });
    }
    await cash.write.mint([wallet, 10n ** 12n, identityHashOf("bank-ref")]);
    await cash.write.approve([vault.address, 10n ** 12n], { account: wallet });
    await vault.write.deposit([cash.address, 10n ** 12n], { account: wallet });
    traders.push(wallet);
  }
  return traders;
}

let nextTradeId = 1n;

/** `count` trades; trade k pairs traders 2k and 2k+1 (mod the pool), never one wallet with itself. */
function makeTrades(asset: Address, traders: Address[], count: number): Trade[] {
  return Array.from({ length: count }, (_, k) => ({
    tradeId: nextTradeId++,
    asset,
    seller: traders[(2 * k) % traders.length],
    buyer: traders[(2 * k + 1) % traders.length],
    assetAmount: 10n,
    cashAmount: 1_000_000n,
    sellerFee: 1_000n,
    buyerFee: 1_000n,
    sellerTax: 1_000n, // the vault's default 0.1%
  }));
}

async function settle(trades: Trade[]): Promise<bigint> {
  return gasOf(vault.write.settleBatch([trades]));
}

const pool = await makeFundedTraders("trader", TRADERS);
const coldPool = await makeFundedTraders("cold", COLD_TRADERS);
// Warm-up outside the measured pools: the fee and tax accounts' cash books become non-zero, as
// on any exchange that has settled once (settled ids are new slots whatever ran before).
const warmUp = await makeFundedTraders("warm-up", 2);
await settle(makeTrades(gold.address, warmUp, 1));

const settle1 = await settle(makeTrades(gold.address, pool, 1));
const settle10 = await settle(makeTrades(gold.address, pool, 10));
const settle100 = await settle(makeTrades(gold.address, pool, 100));
const settle100Cold = await settle(makeTrades(gold.address, coldPool, 100));
const settle100Fund = await settle(makeTrades(fund.address, pool, 100));

// ------------------------------------------------------------------ audit anchor

const anchorFirst = await gasOf(
  anchor.write.anchor([0n, 1_000n, identityHashOf("root-1")], { account: auditorClient.account }),
);
const anchorNext = await gasOf(
  anchor.write.anchor([1_000n, 2_000n, identityHashOf("root-2")], { account: auditorClient.account }),
);

// ------------------------------------------------------------------ report

const gas = (g: bigint): string => g.toLocaleString("en-US");
const ratio = (g: bigint): string => `${(Number(g) / Number(plainTransfer)).toFixed(2)}×`;
const verdict = (ok: boolean): string => (ok ? "met" : "**missed**");
const perTrade = (total: bigint, n: number): bigint => total / BigInt(n);
const twicePlain = 2n * plainTransfer;

const rows: string[][] = [
  ["Plain OpenZeppelin ERC-20 transfer (baseline, `PlainERC20`)", gas(plainTransfer), "1.00×", "—", "—", "plain ERC-20 ~34k"],
  [
    "AssetToken transfer, verified; KYC-level + investor-type + country rules",
    gas(bondTransfer),
    ratio(bondTransfer),
    `≤ 2× plain (${gas(twicePlain)})`,
    verdict(bondTransfer <= twicePlain),
    "T-REX ERC-3643 ~214k (1 claim topic), ~387k (3 topics + country)",
  ],
  [
    "AssetToken transfer, same rules + per-identity cap (identity holdings tracked)",
    gas(fundTransfer),
    ratio(fundTransfer),
    `≤ 2× plain (${gas(twicePlain)})`,
    verdict(fundTransfer <= twicePlain),
    "T-REX ERC-3643 ~387k",
  ],
  [
    "CashToken transfer, verified (no holder rules: as deployed by SenCore)",
    gas(cashTransfer),
    ratio(cashTransfer),
    `≤ 2× plain (${gas(twicePlain)})`,
    verdict(cashTransfer <= twicePlain),
    "T-REX ERC-3643 ~214k",
  ],
  ["IdentityRegistry.attest (new identity + wallet binding)", gas(attestDirect), ratio(attestDirect), "≤ 100,000", verdict(attestDirect <= 100_000n), "EAS attestation ~249k"],
  [
    "IdentityRegistry.attestBySig, issuer's first signature (its nonce bitmap word 0 → non-zero)",
    gas(attestSigFirst),
    ratio(attestSigFirst),
    "≤ 120,000",
    verdict(attestSigFirst <= 120_000n),
    "EAS attestation ~249k",
  ],
  [
    "IdentityRegistry.attestBySig, steady state (later signatures)",
    gas(attestSigNext),
    ratio(attestSigNext),
    "≤ 120,000",
    verdict(attestSigNext <= 120_000n),
    "EAS attestation ~249k",
  ],
  ["AuditAnchor.anchor, first anchor", gas(anchorFirst), ratio(anchorFirst), "≤ 46,000", verdict(anchorFirst <= 46_000n), "EAS timestamp ~46k"],
  ["AuditAnchor.anchor, steady state (second anchor)", gas(anchorNext), ratio(anchorNext), "≤ 46,000", verdict(anchorNext <= 46_000n), "EAS timestamp ~46k"],
];

const settlementRows: [string, bigint, number, boolean][] = [
  [`settleBatch, 1 trade (${TRADERS} traders)`, settle1, 1, false],
  [`settleBatch, 10 trades (${TRADERS} traders: every party distinct)`, settle10, 10, false],
  [`settleBatch, 100 trades (${TRADERS} traders: each appears 10×)`, settle100, 100, true],
  [`settleBatch, 100 trades (${COLD_TRADERS} traders: every party distinct, all storage cold)`, settle100Cold, 100, true],
  [`settleBatch, 100 trades of the identity-tracked fund (${TRADERS} traders)`, settle100Fund, 100, true],
];
for (const [label, total, n, targeted] of settlementRows) {
  const each = perTrade(total, n);
  rows.push([
    `${label}: total ${gas(total)}`,
    `${gas(each)} / trade`,
    ratio(each),
    targeted ? "≤ 60,000 / trade" : "—",
    targeted ? verdict(each <= 60_000n) : "—",
    "",
  ]);
}

// Where the gas goes when a target is missed (from opcode traces of these transactions).
const missNotes: string[] = [];
if (anchorNext > 46_000n) {
  missNotes.push(
    "- AuditAnchor.anchor: 21,000 base + a new storage slot per anchor for `_roots[toSeq]` (22,100) + the packed head slot (2,100 cold read, 2,900 rewrite) + the RootAnchored log (~2,000). A new slot per anchor alone puts it near 46k; meeting the target means keeping only the latest root in a rewritten slot (history in the events, e.g. chained by hash) instead of one slot per anchor.",
  );
}
if (fundTransfer > twicePlain) {
  missNotes.push(
    "- Identity-tracked AssetToken transfer: the per-identity holdings add two cold reads and two writes (~10,000) on top of the rules-on transfer, which is itself 13 cold reads (balances, `_custodians` ×2, `_rules`, `_freeze` ×2, the registry's wallet → identity and identity records for both parties, the issuer's role, the country word) and two calls into the registry.",
  );
}
if (perTrade(settle100Cold, 100) > 60_000n) {
  missNotes.push(
    "- Settlement with every party cold: per trade 12 cold reads (4 custody books, 4 freeze words, the registry's wallet and identity records of both parties: ~25,200), 4 book writes (11,600), the content fingerprint (~11,100: a new slot per two trade ids), the TradeSettled log (~3,150), ~1,850 calldata, and ~20,000 of other execution, mostly the 8 external calls per trade (the vault reading both parties' identities from the registry for the self-trade rule, two custodyTransfer calls, each token calling the registry once per party) with their ABI encoding, plus the fee-cap checks, mapping-slot hashing and memory growth. With traders appearing repeatedly in a batch (the 20-trader rows) most of those reads are warm.",
  );
}

const hardfork = conn.networkConfig.type === "edr-simulated" ? conn.networkConfig.hardfork : "unknown";
const markdown = [
  "## Gas (`npm run bench:gas`)",
  "",
  machineLine(),
  `Hardhat in-process chain (EDR, hardfork ${hardfork}), solc 0.8.28, optimizer 200 runs, evm cancun; gasUsed from receipts.`,
  "",
  "| Operation | Gas | vs plain ERC-20 | Target | Target met? | Reference |",
  "|---|---:|---:|---|---|---|",
  ...rows.map((r) => `| ${r.join(" | ")} |`),
  "",
  "Notes:",
  "- Every measured transaction starts with cold storage (EIP-2929 warmth is per transaction). Transfers are between two existing holders (non-zero balances before and after), as is the baseline.",
  `- Gas per trade is the settleBatch transaction's gasUsed divided by its number of trades: it includes the 21,000 transaction base cost and the calldata (about 288 bytes per trade), amortised over the batch, plus the role, pause and reentrancy checks and the fee and tax accounts' book writes paid once per batch. Trades pay fees (buyer and seller, 0.1% each: within the vault's default 1% caps), the seller's income tax is withheld (0.1%, checked to the đồng) and every trader already holds custody balances of both the asset and the cash token; the fee and tax accounts' books were already non-zero (a warm-up batch ran first). Each settled id records a 128-bit fingerprint of the trade's content, two ids per slot, so every two trades write one new slot: about 11,100 gas per trade, the price of refusing a reused id with other content.`,
  ...missNotes,
  "- Reference figures are published numbers for other designs, not measured here: T-REX ERC-3643 transfer ~214k gas with one claim topic and ~387k with three topics and a country rule; EAS attestation ~249k and timestamp ~46k; a plain ERC-20 transfer ~34k.",
];
// BENCH_WRITE=0: print only, for a measurement BENCHMARKS.md should not record.
if (process.env.BENCH_WRITE !== "0") writeBenchmarkSection("gas", markdown.join("\n"));
console.log(markdown.join("\n"));
await conn.close();
