import { balance, connectWallet, depositToVault, readDeployment, requestWithdrawal, signIn, tokenAddress, waitFor, waitUntilPaid } from "./sen.ts";

/**
 * Sign in, deposit into the settlement vault, wait for the credit, withdraw, wait for the
 * payout. Usage (Node 22.18 or later, which strips the types):
 *
 *   SEN_URL=http://127.0.0.1:8080 SEN_RPC=http://127.0.0.1:8545 \
 *   SEN_DEPLOYMENT=deployments/31337.json PRIVATE_KEY=0x... \
 *   node examples/ethers/run.ts [CURRENCY] [AMOUNT]
 *
 * The wallet needs a verified e-ID on chain, the tokens to deposit, and gas.
 */
export async function depositAndWithdraw(env: { url: string; rpc: string; deploymentFile: string; privateKey: string }, currency: string, amount: bigint, log: (line: string) => void = console.log): Promise<void> {
  const deployment = readDeployment(env.deploymentFile);
  const wallet = connectWallet(env.rpc, env.privateKey, deployment.chainId);
  const { token } = await signIn(env.url, wallet);
  log(`signed in as ${wallet.address}`);

  const before = await balance(env.url, token, currency);
  const depositId = await depositToVault(wallet, deployment.contracts.SettlementVault, await tokenAddress(env.url, currency), amount);
  log(`deposited ${amount} ${currency} into the vault (depositId ${depositId})`);
  const credited = await waitFor("the deposit to be credited", async () => {
    const now = await balance(env.url, token, currency);
    return now >= before + amount ? now : undefined;
  });
  log(`credited: ${currency} balance ${credited}`);

  const withdrawalId = await requestWithdrawal(env.url, token, wallet.address, currency, amount);
  const paid = await waitUntilPaid(env.url, token, withdrawalId);
  log(`withdrawn ${paid.amount} ${currency} to ${wallet.address} (tx ${paid.walletTxId})`);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const need = (name: string) => {
    const v = process.env[name];
    if (!v) throw new Error(`${name} is required`);
    return v;
  };
  const [currency = "VND", amount = "1000000"] = process.argv.slice(2);
  if (!/^\d+$/.test(amount)) throw new Error("AMOUNT is a whole number of the token's smallest unit");
  await depositAndWithdraw({ url: need("SEN_URL"), rpc: need("SEN_RPC"), deploymentFile: need("SEN_DEPLOYMENT"), privateKey: need("PRIVATE_KEY") }, currency, BigInt(amount));
}
