import { parseAbi, type Abi, type Address, type Hex, type PublicClient } from "viem";

const accessControlEvents = parseAbi([
  "event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender)",
  "event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender)",
]);

/**
 * Every role a contract declares (its public `*_ROLE` constants, DEFAULT_ADMIN_ROLE
 * included), by name, read from the contract itself.
 */
export async function roleIds(client: PublicClient, abi: Abi, address: Address): Promise<Record<string, Hex>> {
  const constants = abi.filter(
    (item) => item.type === "function" && item.name.endsWith("_ROLE") && item.inputs.length === 0 && item.outputs.length === 1 && item.outputs[0].type === "bytes32",
  );
  const ids: Record<string, Hex> = {};
  for (const item of constants) {
    const name = (item as { name: string }).name;
    ids[name] = (await client.readContract({ address, abi, functionName: name })) as Hex;
  }
  return ids;
}

/**
 * Who holds each role of an AccessControl contract, replayed from its RoleGranted and
 * RoleRevoked events since `fromBlock` (a block before its deployment). AccessControl has
 * no enumeration; the events are the complete record, so this also shows that nobody else
 * holds a role.
 */
export async function roleMembers(client: PublicClient, address: Address, fromBlock: bigint): Promise<Map<Hex, Set<Address>>> {
  const logs = await client.getLogs({ address, events: accessControlEvents, fromBlock, toBlock: "latest", strict: true });
  logs.sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));
  const members = new Map<Hex, Set<Address>>();
  for (const log of logs) {
    const holders = members.get(log.args.role) ?? new Set<Address>();
    if (log.eventName === "RoleGranted") holders.add(log.args.account);
    else holders.delete(log.args.account);
    if (holders.size > 0) members.set(log.args.role, holders);
    else members.delete(log.args.role);
  }
  return members;
}
