/**
 * `npm run bench:settlement`: how fast matched trades become settled on chain through the
 * gateway's real pipeline (trading core -> journal -> SettlementBatcher -> settleBatch on
 * Hardhat's in-process chain), at batch sizes 1, 10 and 100, with gas per trade from the
 * receipts. Baseline in the same run: naive settlement with two plain OpenZeppelin ERC-20
 * transfers per trade (asset one way, cash the other), one transaction each.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startChainServices } from "../../api/src/chain/chainServices.ts";
import { DEFAULT_RISK } from "../../api/src/risk/types.ts";
import { hardhatAccount, startChain } from "../../api/test/support/chainFixture.ts";
import { startTestGateway } from "../../api/test/support/gatewayFixture.ts";
import { machineLine, writeBenchmarkSection } from "./benchmarksFile.ts";

const ROUNDS: Array<{ batch: number; trades: number }> = [
  { batch: 1, trades: Number(process.env.BENCH_TRADES_1 ?? 100) },
  { batch: 10, trades: Number(process.env.BENCH_TRADES_10 ?? 500) },
  { batch: 100, trades: Number(process.env.BENCH_TRADES_100 ?? 2000) },
];

const chain = await startChain();
const risk = structuredClone(DEFAULT_RISK);
risk.defaults.keyRate = { burst: 1e9, perSecond: 1e9 };
risk.defaults.accountRate = { burst: 1e9, perSecond: 1e9 };
risk.defaults.maxOpenOrders = 1e9;
const gw = await startTestGateway(chain, { risk, env: { SEN_JOURNAL_FSYNC: "none", SEN_DATA_DIR: mkdtempSync(path.join(tmpdir(), "sen-bench-settle-")) } });
const [sellerIdx, buyerIdx] = [16, 17];
const seller = hardhatAccount(sellerIdx).address.toLowerCase();
const buyer = hardhatAccount(buyerIdx).address.toLowerCase();
await chain.attest(hardhatAccount(sellerIdx).address, "bench-seller");
await chain.attest(hardhatAccount(buyerIdx).address, "bench-buyer");
await chain.fundAndDeposit(sellerIdx, { gold: 1_000_000n });
await chain.fundAndDeposit(buyerIdx, { vnd: 10n ** 13n });
const operator = chain.operatorWallet;
const t = gw.ctx.trading;
let oid = 0;
{
  const once = await startChainServices({ ctx: gw.ctx, publicClient: chain.publicClient, walletClient: operator, contracts: chain.deployment.contracts, startBlock: BigInt(chain.deployment.startBlock), confirmations: 0, pollMs: 100 });
  await once.poll(); // credits the deposits
  await once.stop();
  await gw.ctx.holderView?.sync(); // the traders' e-IDs, before their first order
}

type Row = { batch: number; trades: number; seconds: number; perSecond: number; gasPerTrade: number };
const rows: Row[] = [];
for (const round of ROUNDS) {
  // Trades first (settlement not running), then time only the settlement of the backlog.
  const tradeIds: string[] = [];
  const unsubscribe = t.subscribe((e) => {
    if (e.kind === "trade") tradeIds.push(e.tradeId);
  });
  for (let i = 0; i < round.trades; i++) {
    const common = { symbol: "GOLD-VND", type: "limit", price: 10_000, size: 1, tif: "GTC", postOnly: false, stp: "CN" } as const;
    await t.placeOrder({ ...common, accountId: seller, identityHash: "bench-s", side: "sell", clientOid: `s${++oid}` });
    await t.placeOrder({ ...common, accountId: buyer, identityHash: "bench-b", side: "buy", clientOid: `b${++oid}` });
  }
  unsubscribe();
  const started = performance.now();
  const services = await startChainServices({
    ctx: gw.ctx,
    publicClient: chain.publicClient,
    walletClient: operator,
    contracts: chain.deployment.contracts,
    startBlock: BigInt(chain.deployment.startBlock),
    confirmations: 0,
    pollMs: 100,
    settlement: { maxBatch: round.batch, maxDelayMs: 20 },
  });
  while (t.core.unsettledCount() > 0) await new Promise((r) => setTimeout(r, 5));
  const seconds = (performance.now() - started) / 1000;
  await services.stop();
  const settledBy = new Map(t.core.fills(buyer).map((f) => [f.tradeId, f.settlementTxHash]));
  const hashes = new Set(tradeIds.map((id) => settledBy.get(id)!));
  let gas = 0n;
  for (const hash of hashes) gas += (await chain.publicClient.getTransactionReceipt({ hash: hash as `0x${string}` })).gasUsed;
  rows.push({ batch: round.batch, trades: tradeIds.length, seconds, perSecond: tradeIds.length / seconds, gasPerTrade: Number(gas / BigInt(tradeIds.length)) });
  console.log(`batch ${round.batch}: ${tradeIds.length} trades settled in ${seconds.toFixed(2)} s (${(tradeIds.length / seconds).toFixed(0)}/s), ${hashes.size} transactions, ${gas / BigInt(tradeIds.length)} gas/trade`);
}

// Baseline: two plain ERC-20 transfers per trade, one transaction each, sequentially.
const plainTrades = ROUNDS[0].trades;
const plain = await chain.connection.viem.deployContract("PlainERC20");
const [a, b] = await chain.connection.viem.getWalletClients();
let baseGas = 0n;
const baseStart = performance.now();
for (let i = 0; i < plainTrades; i++) {
  for (const to of [b.account.address, a.account.address]) {
    const hash = await plain.write.transfer([to, 1n], { account: to === b.account.address ? a.account : b.account });
    baseGas += (await chain.publicClient.waitForTransactionReceipt({ hash })).gasUsed;
  }
  if (i === 0) await plain.write.transfer([b.account.address, 10n ** 18n]);
}
const baseSeconds = (performance.now() - baseStart) / 1000;
const basePerSecond = plainTrades / baseSeconds;
const baseGasPerTrade = Number(baseGas / BigInt(plainTrades));
console.log(`baseline: ${plainTrades} trades as 2 ERC-20 transfers each in ${baseSeconds.toFixed(2)} s (${basePerSecond.toFixed(0)}/s), ${baseGasPerTrade} gas/trade`);

const table = [
  "| settlement | batch size | trades | trades settled / s | vs baseline | gas per trade | vs baseline |",
  "|---|---:|---:|---:|---:|---:|---:|",
  `| baseline: 2 plain ERC-20 transfers per trade, 1 tx each | - | ${plainTrades} | ${basePerSecond.toFixed(0)} | 1.00× | ${baseGasPerTrade.toLocaleString("en-US")} | 1.00× |`,
  ...rows.map(
    (r) =>
      `| Sen gateway -> SettlementVault.settleBatch | ${r.batch} | ${r.trades} | ${r.perSecond.toFixed(0)} | ${(r.perSecond / basePerSecond).toFixed(2)}× | ${r.gasPerTrade.toLocaleString("en-US")} | ${(r.gasPerTrade / baseGasPerTrade).toFixed(2)}× |`,
  ),
].join("\n");

const markdown = `## Settlement throughput (\`npm run bench:settlement\`)

${machineLine()} Hardhat's in-process chain (automine: one block per transaction).

Trades are matched by the real gateway (orders placed in process through the same
sequencer REST uses, journal fsync off) and settled by its SettlementBatcher, one
\`settleBatch\` transaction in flight at a time, batches cut at the batch size.
"Trades settled / s" times only settlement: the trades are matched first, then the batcher
starts and the clock runs until the last one is confirmed (send, mine, receipt, journal). Gas per
trade is the batch transactions' gas (including the 21k base) divided by trades; the baseline
does naive settlement without DvP atomicity or identity checks: two plain OpenZeppelin ERC-20
transfers per trade, one transaction each. Every party is verified at settlement (both tokens'
holder rules), which the baseline does not do.

${table}
`;
if (process.env.BENCH_WRITE === "0") console.log(markdown);
else writeBenchmarkSection("settlement", markdown);
await gw.close();
await chain.close();
process.exit(0);
