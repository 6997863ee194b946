/**
 * `npm run bench:issuer` (issue #15): the e-KYC issuer's two figures, each against a baseline
 * measured in the same run, on Hardhat's in-process chain with Sen deployed.
 *
 * 1. Applications processed per second to a signed attestation: fresh wallets with valid
 *    generated e-ID data go through the real IssuerService (development provider, node:sqlite
 *    store on disk with the production pragmas, AES-256-GCM vault, salted identity hash):
 *    `submit`, then an officer's `approve`, whose port signs the attestation with the real
 *    ChainIssuancePort `sign` but does not relay it (relaying is figure 2). Baseline: bare viem
 *    `signTypedData` of the same Attestation struct with the same key, the floor of the path.
 * 2. Attestations relayed per block: with automine off, the relayer (the issuer's key) sends
 *    `attestBySig` for the attestations signed in 1, more than a block holds, one block is mined,
 *    and its inclusions and gas are counted. Baseline: plain OpenZeppelin ERC-20 transfers
 *    (PlainERC20), sent and mined the same way.
 *
 * Sizes: BENCH_ISSUER_APPS (applications per round), BENCH_ISSUER_ROUNDS, BENCH_ISSUER_RELAY and
 * BENCH_ISSUER_TRANSFERS (transactions sent before the block is mined; by default enough to
 * overfill it). BENCH_WRITE=0 prints the section instead of writing BENCHMARKS.md.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createWalletClient, custom, keccak256, type Abi, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { hardhatAccount, startChain } from "../../api/test/support/chainFixture.ts";
import { LOCAL_ROLE_ACCOUNTS } from "../../contracts/ignition/roleHolders.ts";
import { ATTESTATION_TYPES } from "../../contracts/src/identity/attestationTypes.ts";
import { createIssuancePort, issuerRegistryAbi, type Attestation, type SignedAttestation } from "../../issuer/src/chain.ts";
import { centurySexDigit, PROVINCE_CODES } from "../../issuer/src/idNumber.ts";
import { createPiiVault } from "../../issuer/src/piiVault.ts";
import { DEVELOPMENT_PROVIDER_NAME, DevelopmentProvider } from "../../issuer/src/provider.ts";
import { IssuerService } from "../../issuer/src/service.ts";
import { openIssuerStore } from "../../issuer/src/store.ts";
import type { ApplicationInput, IssuancePort, Sex } from "../../issuer/src/types.ts";
import { machineLine, writeBenchmarkSection } from "./benchmarksFile.ts";

const APPS = Number(process.env.BENCH_ISSUER_APPS ?? 300);
const ROUNDS = Number(process.env.BENCH_ISSUER_ROUNDS ?? 5);
const RELAY = process.env.BENCH_ISSUER_RELAY === undefined ? undefined : Number(process.env.BENCH_ISSUER_RELAY);
const TRANSFERS = process.env.BENCH_ISSUER_TRANSFERS === undefined ? undefined : Number(process.env.BENCH_ISSUER_TRANSFERS);
const YEAR_S = 365 * 86_400;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

const chain = await startChain();
const rpc = chain.connection.provider;
const issuerAccount = hardhatAccount(LOCAL_ROLE_ACCOUNTS.kycIssuer);
// The issuer's key held locally and signing in process, as issuer/src/main.ts runs it.
const walletClient = createWalletClient({ account: issuerAccount, chain: chain.publicClient.chain, transport: custom(rpc) });
const registry = chain.deployment.contracts.IdentityRegistry;
const port = createIssuancePort({ publicClient: chain.publicClient as never, walletClient, registry, chainId: chain.deployment.chainId });

// ---- 1. applications -> signed attestation ---------------------------------------------------

const dir = mkdtempSync(path.join(tmpdir(), "sen-bench-issuer-"));
const store = openIssuerStore(path.join(dir, "issuer.sqlite"));
const officer = privateKeyToAccount(generatePrivateKey()).address;
const signed: SignedAttestation[] = [];
// The port's signing without the relay: approval ends with the signature in hand. The service
// then marks the application issued under a placeholder hash; the signatures are relayed in 2.
const signOnly: IssuancePort = {
  ...port,
  async attest(a) {
    const s = await port.sign(a);
    signed.push(s);
    return { txHash: keccak256(s.signature) };
  },
};
let auditEvents = 0;
const service = new IssuerService({
  store,
  vault: createPiiVault([`k1:${randomBytes(32).toString("hex")}`]),
  salt: randomBytes(32),
  provider: new DevelopmentProvider(),
  port: signOnly,
  officers: [officer],
  clock: Date.now,
  audit: () => void auditEvents++, // counted, not logged: logging is not what is measured
});

const provinces = Object.keys(PROVINCE_CODES);
let person = 0;
/** A distinct person with a structurally valid ID number (province, century/sex digit, year), aged 26-65. */
function applicant(): { wallet: Address; input: ApplicationInput; key: string } {
  const n = person++;
  const year = 1960 + (n % 40);
  const sex: Sex = n % 2 ? "female" : "male";
  const idNumber = `${provinces[n % provinces.length]}${centurySexDigit(year, sex)}${String(year % 100).padStart(2, "0")}${String(n).padStart(6, "0")}`;
  const input: ApplicationInput = {
    idNumber,
    fullName: "Nguyễn Văn An",
    dateOfBirth: `${year}-0${1 + (n % 9)}-1${n % 10}`,
    sex,
    nationality: 704,
    chipDataHash: `0x${randomBytes(32).toString("hex")}`,
    verification: { provider: DEVELOPMENT_PROVIDER_NAME, sessionId: `bench-${n}` },
    investorType: "retail",
  };
  return { wallet: privateKeyToAccount(generatePrivateKey()).address, input, key: `bench-req-${n}` };
}

const expiresAt = Number((await chain.publicClient.getBlock()).timestamp) + YEAR_S;
const decision = { kycLevel: 2, investorType: "retail" as const, expiresAt };
const domain = { name: "Sen IdentityRegistry", version: "1", chainId: chain.deployment.chainId, verifyingContract: registry } as const;

/** One application through the service, timed in its two steps. */
async function throughService(a: ReturnType<typeof applicant>): Promise<{ submitMs: number; approveMs: number }> {
  const t0 = performance.now();
  const app = await service.submit(a.wallet, a.input, a.key);
  const t1 = performance.now();
  const done = await service.approve(officer, app.id, decision);
  const t2 = performance.now();
  if (done.status !== "issued") throw new Error(`bench: application ended ${done.status}`);
  return { submitMs: t1 - t0, approveMs: t2 - t1 };
}

// Warm-up (JIT, SQLite pages, viem's caches), not counted.
for (let i = 0; i < Math.min(20, APPS); i++) await throughService(applicant());
signed.length = 0;

type Round = { servicePerS: number; submitMs: number; approveMs: number; basePerS: number };
const rounds: Round[] = [];
for (let r = 0; r < ROUNDS; r++) {
  // Inputs and wallets are made before the clock starts: they are the applicants' side.
  const apps = Array.from({ length: APPS }, applicant);
  let submitMs = 0;
  let approveMs = 0;
  const s0 = performance.now();
  for (const a of apps) {
    const t = await throughService(a);
    submitMs += t.submitMs;
    approveMs += t.approveMs;
  }
  const serviceS = (performance.now() - s0) / 1000;

  // Baseline, interleaved round by round: the same struct (fields as the port fills them), signed bare.
  const messages: Attestation[] = apps.map((a) => ({
    identityHash: keccak256(a.wallet),
    wallet: a.wallet,
    kycLevel: 2,
    country: 704,
    investorType: 1,
    expiresAt,
    issuer: issuerAccount.address,
    identityVersion: 0n,
    nonce: BigInt(`0x${randomBytes(32).toString("hex")}`),
    deadline: BigInt(expiresAt),
  }));
  const b0 = performance.now();
  for (const message of messages) await issuerAccount.signTypedData({ domain, types: ATTESTATION_TYPES, primaryType: "Attestation", message });
  const baseS = (performance.now() - b0) / 1000;

  const round = { servicePerS: APPS / serviceS, submitMs: submitMs / APPS, approveMs: approveMs / APPS, basePerS: APPS / baseS };
  rounds.push(round);
  console.log(`round ${r + 1}: service ${round.servicePerS.toFixed(0)} applications/s (submit ${round.submitMs.toFixed(2)} ms + approve ${round.approveMs.toFixed(2)} ms each); bare signTypedData ${round.basePerS.toFixed(0)}/s`);
}
if (signed.length !== APPS * ROUNDS) throw new Error(`bench: ${signed.length} signatures for ${APPS * ROUNDS} applications`);
const servicePerS = median(rounds.map((r) => r.servicePerS));
const basePerS = median(rounds.map((r) => r.basePerS));
const submitMs = median(rounds.map((r) => r.submitMs));
const approveMs = median(rounds.map((r) => r.approveMs));

// ---- 2. attestations relayed per block -------------------------------------------------------

const publicClient = chain.publicClient;
const plain = await chain.connection.viem.deployContract("PlainERC20"); // its supply goes to account #0
const holder = hardhatAccount(0);
const holderClient = createWalletClient({ account: holder, chain: publicClient.chain, transport: custom(rpc) });
const gasLimit = (await publicClient.getBlock()).gasLimit;
const fresh = () => privateKeyToAccount(generatePrivateKey()).address;

type Call = { address: Address; abi: Abi; functionName: string; args: readonly unknown[] };
const attestCall = (s: SignedAttestation): Call => ({ address: registry, abi: issuerRegistryAbi, functionName: "attestBySig", args: [s.attestation, s.signature] });
const transferCall = (to: Address): Call => ({ address: plain.address, abi: plain.abi, functionName: "transfer", args: [to, 1n] });

/**
 * Puts `calls` in the mempool with automine off, mines one block and reports what it took;
 * then mines the rest out (the base fee held at that block's, so a full block does not price
 * the leftovers out) and checks every receipt. The nonces are numbered here: Hardhat's
 * "pending" nonce counts only what fits the pending block, so viem's own would collide once
 * the mempool holds more than a block. Each gas limit is its own estimate on the latest state
 * (the calls are independent), as a relayer sets it.
 */
async function oneBlock(client: typeof walletClient, calls: Call[]) {
  const from = client.account.address;
  await rpc.request({ method: "evm_setAutomine", params: [false] });
  const first = await publicClient.getTransactionCount({ address: from, blockTag: "latest" });
  const hashes: Hex[] = [];
  for (const [i, call] of calls.entries()) {
    const gas = await publicClient.estimateContractGas({ ...call, account: client.account, blockTag: "latest" } as never);
    // Resolves once the node has taken the transaction into its mempool.
    hashes.push(await client.writeContract({ ...call, gas, nonce: first + i } as never));
  }
  await rpc.request({ method: "evm_mine", params: [] });
  const block = await publicClient.getBlock();
  const gas = await Promise.all(block.transactions.map(async (hash) => Number((await publicClient.getTransactionReceipt({ hash })).gasUsed)));
  for (let guard = 0; (await publicClient.getTransactionCount({ address: from, blockTag: "latest" })) < first + calls.length; guard++) {
    if (guard > calls.length) throw new Error("bench: the mempool did not drain");
    await rpc.request({ method: "hardhat_setNextBlockBaseFeePerGas", params: [`0x${(block.baseFeePerGas ?? 0n).toString(16)}`] });
    await rpc.request({ method: "evm_mine", params: [] });
  }
  await rpc.request({ method: "evm_setAutomine", params: [true] });
  for (const hash of hashes) {
    if ((await publicClient.getTransactionReceipt({ hash })).status !== "success") throw new Error(`bench: ${hash} reverted`);
  }
  return { sent: calls.length, included: block.transactions.length, blockGas: Number(block.gasUsed), gasPerTx: median(gas), minGas: Math.min(...gas), maxGas: Math.max(...gas) };
}

// How many overfill a block: the gas of one of each, mined alone first (automine on); the
// attestation goes through the port's own relay (simulate, then send).
const probe = await port.relay(signed.pop()!);
const attestGas = Number((await publicClient.getTransactionReceipt({ hash: probe.txHash })).gasUsed);
const probeTransfer = await holderClient.writeContract(transferCall(fresh()) as never);
const transferGas = Number((await publicClient.waitForTransactionReceipt({ hash: probeTransfer })).gasUsed);
const overfill = (gas: number) => Math.ceil((Number(gasLimit) / gas) * 1.1) + 5;
const relayCount = RELAY ?? overfill(attestGas);
const transferCount = TRANSFERS ?? overfill(transferGas);

while (signed.length < relayCount) signed.push(await port.sign({ identityHash: keccak256(randomBytes(32)), wallet: fresh(), kycLevel: 2, country: 704, investorType: 1, expiresAt }));
const toRelay = signed.slice(0, relayCount);
const attest = await oneBlock(walletClient, toRelay.map(attestCall));
const unverified = (await Promise.all(toRelay.map((s) => chain.registry.read.isVerified([s.attestation.wallet])))).filter((v) => !v).length;
if (unverified > 0) throw new Error(`bench: ${unverified} relayed attestations did not verify their wallets`);
console.log(`attestBySig: sent ${attest.sent}, block took ${attest.included}, ${attest.gasPerTx} gas each (${attest.minGas}-${attest.maxGas})`);

// Fresh recipients, as each attestation binds a fresh wallet: both write new storage slots.
const transfer = await oneBlock(holderClient, Array.from({ length: transferCount }, () => transferCall(fresh())));
console.log(`ERC-20 transfer: sent ${transfer.sent}, block took ${transfer.included}, ${transfer.gasPerTx} gas each (${transfer.minGas}-${transfer.maxGas})`);

const capacity = (gas: number) => Math.floor(Number(gasLimit) / gas);
const attestCap = capacity(attest.gasPerTx);
const transferCap = capacity(transfer.gasPerTx);

const markdown = `## e-KYC issuer (\`npm run bench:issuer\`)

${machineLine()} Hardhat's in-process chain with Sen deployed; block gas limit ${fmt(Number(gasLimit))}.

**Applications processed per second to a signed attestation.** Each application is a fresh wallet with
valid generated e-ID data (ID number structure agreeing with birth year and sex, adult, development
provider) taken one at a time through the real \`IssuerService\`: \`submit\` (zod checks, ID number rules,
replay/duplicate lookups, an \`identityOf\` read on chain, the provider, HMAC-SHA-256 identity hash,
AES-256-GCM sealing, SQLite insert) then an officer's \`approve\` (decision checks, compare-and-set
claim, the port's \`sign\`: \`identityVersion\` and block reads on chain and the EIP-712 signature with the
issuer's local key, then the issued update). The relay is left out here (it is the next table): the
port signs and returns, and the application is marked issued under a placeholder hash. SQLite is a file
in the temp directory with the production pragmas (WAL, synchronous FULL: one fsync per write);
audit events are counted, not logged. The baseline, interleaved round by round, is bare viem
\`signTypedData\` of the same Attestation struct with the same key: the floor of the path, so the ratio is
what the service adds. ${ROUNDS} rounds of ${fmt(APPS)} applications (after ${Math.min(20, APPS)} warm-up), median shown.

| path | per second | ms each | vs baseline |
|---|---:|---:|---:|
| baseline: bare \`signTypedData\` of the Attestation struct | ${fmt(basePerS)} | ${(1000 / basePerS).toFixed(2)} | 1.00× |
| Sen issuer: \`submit\` → \`approve\` to a signed attestation | ${fmt(servicePerS)} | ${(1000 / servicePerS).toFixed(2)} | **${(servicePerS / basePerS).toFixed(2)}×** |
| of which \`submit\` | — | ${submitMs.toFixed(2)} | — |
| of which \`approve\` (incl. signing) | — | ${approveMs.toFixed(2)} | — |

**Attestations relayed per block.** Automine off; the relayer (the issuer's key, signing locally)
sent \`attestBySig\` for ${fmt(attest.sent)} of the attestations signed above (by default about 10% more than a
block holds), each with its own gas estimate, all in the mempool before one block was mined
(\`evm_mine\`); the table counts that block's transactions, with gas from their receipts (including
the 21k base). The rest were then mined and every one verified its wallet. The baseline, sent and
mined the same way by one key: ${fmt(transfer.sent)} plain OpenZeppelin ERC-20 transfers (\`PlainERC20\`), each to
a fresh address, as each attestation binds a fresh wallet. Capacity by gas is the block gas limit
over the median gas per transaction. Nonces are numbered by the script, not by the port's \`relay\`:
Hardhat's "pending" nonce counts only what fits the pending block, so more than a block's worth
sent through \`relay\` would collide (one attestation went through \`relay\` first, to size the run).

| transaction | sent | included in the block | gas each (median, range) | capacity by gas | vs baseline |
|---|---:|---:|---:|---:|---:|
| baseline: ERC-20 \`transfer\` to a fresh address | ${fmt(transfer.sent)} | ${fmt(transfer.included)} | ${fmt(transfer.gasPerTx)} (${fmt(transfer.minGas)}–${fmt(transfer.maxGas)}) | ${fmt(transferCap)} | 1.00× |
| IdentityRegistry \`attestBySig\` | ${fmt(attest.sent)} | ${fmt(attest.included)} | ${fmt(attest.gasPerTx)} (${fmt(attest.minGas)}–${fmt(attest.maxGas)}) | ${fmt(attestCap)} | **${(attestCap / transferCap).toFixed(2)}×** |
`;
if (process.env.BENCH_WRITE === "0") console.log(markdown);
else writeBenchmarkSection("issuer", markdown);
await store.close();
rmSync(dir, { recursive: true, force: true });
await chain.close();
process.exit(0);
