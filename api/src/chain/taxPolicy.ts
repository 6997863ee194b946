import { getAddress, parseAbi, parseAbiItem, type Address, type PublicClient } from "viem";

export const taxPolicySetEvent = parseAbiItem("event TaxPolicySet(address indexed account, uint16 rateBps)");
export const taxPolicyAbi = [...parseAbi(["struct TaxPolicy { address account; uint16 rateBps; }", "function taxPolicy() view returns (TaxPolicy)"]), taxPolicySetEvent] as const;

/**
 * SettlementVault.TaxPolicy: the account whose vault book receives the income tax withheld
 * from sales, and the rate in basis points of each sale's cash amount. The vault admits a
 * trade only if its `sellerTax` is floor(cashAmount * rateBps / 10,000) at the rate in force
 * when the batch settles.
 */
export type TaxPolicy = { account: Address; rateBps: number };

type Client = Pick<PublicClient, "readContract" | "getBlockNumber" | "getLogs">;

/** The vault's tax policy as of `blockNumber` (default: the latest block). */
export async function readTaxPolicy(client: Pick<PublicClient, "readContract">, vault: Address, blockNumber?: bigint): Promise<TaxPolicy> {
  const p = await client.readContract({ address: vault, abi: taxPolicyAbi, functionName: "taxPolicy", ...(blockNumber === undefined ? {} : { blockNumber }) });
  return { account: getAddress(p.account), rateBps: p.rateBps };
}

export type TaxPolicyFollowerOptions = {
  publicClient: Client;
  vault: Address;
  /** How often to look for TaxPolicySet events; 0: only when `poll()` is called. */
  pollMs: number;
  /** Called with each new policy, with the block that set it, in chain order. */
  onChange: (policy: TaxPolicy, blockNumber: bigint) => void | Promise<void>;
  onError?: (err: unknown) => void;
  /** Blocks per eth_getLogs request (providers cap the range). */
  logRange?: bigint;
};

export type TaxPolicyFollower = {
  /** The policy as of the last block looked at. */
  current(): TaxPolicy;
  /** Looks at the blocks since the last look now; resolves once `onChange` has run for what it found. */
  poll(): Promise<void>;
  stop(): void;
};

/**
 * Follows the vault's tax policy: read once at start, then changed by its TaxPolicySet events
 * (each carries the whole policy, so no read is needed per change). One look at a time: a
 * `poll()` during another waits for it and then looks again. Delivery is at least once: when
 * `onChange` throws, the changes of that range of blocks are delivered again by the next look.
 */
export async function followTaxPolicy(o: TaxPolicyFollowerOptions): Promise<TaxPolicyFollower> {
  const range = o.logRange ?? 10_000n;
  let seen = await o.publicClient.getBlockNumber({ cacheTime: 0 });
  let policy = await readTaxPolicy(o.publicClient, o.vault, seen);

  const look = async () => {
    const head = await o.publicClient.getBlockNumber({ cacheTime: 0 });
    for (let from = seen + 1n; from <= head; from += range) {
      const to = from + range - 1n < head ? from + range - 1n : head;
      const logs = await o.publicClient.getLogs({ address: o.vault, event: taxPolicySetEvent, fromBlock: from, toBlock: to });
      for (const log of logs) {
        policy = { account: getAddress(log.args.account!), rateBps: log.args.rateBps! };
        await o.onChange(policy, log.blockNumber!);
      }
      seen = to;
    }
  };
  let running: Promise<void> = Promise.resolve();
  const poll = () => (running = running.catch(() => undefined).then(look));

  let stopped = false;
  const timer = o.pollMs > 0 ? setInterval(() => {
    if (!stopped) poll().catch((err: unknown) => o.onError?.(err));
  }, o.pollMs) : undefined;
  timer?.unref();

  return {
    current: () => policy,
    poll,
    stop() {
      stopped = true;
      if (timer) clearInterval(timer);
    },
  };
}
