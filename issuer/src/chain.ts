import { randomBytes } from "node:crypto";
import { getAddress, parseAbi, zeroHash, type Account, type Address, type Chain, type Hex, type PublicClient, type Transport, type WalletClient } from "viem";
import { describeChainError, revertOf } from "../../api/src/chain/contractErrors.ts";
import { ATTESTATION_TYPES } from "../../contracts/src/identity/attestationTypes.ts";
import { ISSUER_ERROR, IssuerError } from "./errors.ts";
import type { IssuancePort } from "./types.ts";

/** The registry functions the issuer calls (IdentityRegistry.sol). */
export const issuerRegistryAbi = parseAbi([
  "struct Attestation { bytes32 identityHash; address wallet; uint8 kycLevel; uint16 country; uint8 investorType; uint40 expiresAt; address issuer; uint256 identityVersion; uint256 nonce; uint256 deadline; }",
  "struct Identity { uint8 kycLevel; uint16 country; uint8 investorType; uint40 expiresAt; bool revoked; address issuer; }",
  "function attestBySig(Attestation a, bytes signature)",
  "function addWallet(bytes32 identityHash, address wallet)",
  "function revoke(bytes32 identityHash)",
  "function identityVersion(bytes32 identityHash) view returns (uint256)",
  "function identityOf(address wallet) view returns (bytes32 identityHash, Identity id)",
]);

/** How long a signed attestation may wait to be relayed. */
const SIGNATURE_TTL_SECONDS = 3600n;

export type Attestation = {
  identityHash: Hex;
  wallet: Address;
  kycLevel: number;
  country: number;
  investorType: number;
  expiresAt: number;
  issuer: Address;
  identityVersion: bigint;
  nonce: bigint;
  deadline: bigint;
};
export type SignedAttestation = { attestation: Attestation; signature: Hex };

/** The chain refused (reverted) or could not take an issuer transaction; `revert` names the contract error. */
export class IssuerChainError extends IssuerError {
  readonly revert: string | null;
  constructor(operation: string, cause: unknown) {
    const revert = revertOf(cause);
    super(ISSUER_ERROR.CHAIN_FAILED, undefined, `${operation}: ${describeChainError(cause)}`, { cause });
    this.revert = revert?.name ?? null;
  }
}

export type IssuancePortDeps = {
  publicClient: PublicClient;
  /** The issuer's key: signs the attestations, and relays them too (anyone may relay). */
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  registry: Address;
  chainId: number;
};

export type ChainIssuancePort = IssuancePort & {
  /** Signs an attestation under a fresh random nonce, valid for an hour (no transaction). */
  sign(a: Parameters<IssuancePort["attest"]>[0]): Promise<SignedAttestation>;
  /** Relays a signed attestation with attestBySig. */
  relay(signed: SignedAttestation): Promise<{ txHash: Hex }>;
};

export function createIssuancePort(deps: IssuancePortDeps): ChainIssuancePort {
  const { publicClient, walletClient, registry } = deps;
  const account = walletClient.account;
  const issuer = getAddress(account.address);
  // One key sends: transactions leave one at a time so their account nonces never collide;
  // waiting for the receipts is not serialised, so many relays can land in one block.
  let last: Promise<unknown> = Promise.resolve();
  const serially = <T>(send: () => Promise<T>): Promise<T> => {
    const sent = last.then(send);
    last = sent.catch(() => undefined);
    return sent;
  };

  async function transact(operation: string, call: { functionName: "attestBySig" | "addWallet" | "revoke"; args: readonly unknown[] }): Promise<{ txHash: Hex }> {
    let txHash: Hex;
    try {
      txHash = await serially(async () => {
        // Simulating first turns a refusal into the contract's named error, and nothing is mined.
        const { request } = await publicClient.simulateContract({ address: registry, abi: issuerRegistryAbi, account, ...call } as never);
        return walletClient.writeContract(request as never);
      });
    } catch (err) {
      throw new IssuerChainError(operation, err);
    }
    const receipt = await publicClient.waitForTransactionReceipt({ hash: txHash });
    if (receipt.status !== "success") throw new IssuerChainError(operation, new Error(`transaction ${txHash} reverted`));
    return { txHash };
  }

  async function sign(a: Parameters<IssuancePort["attest"]>[0]): Promise<SignedAttestation> {
    const [identityVersion, block] = await Promise.all([
      publicClient.readContract({ address: registry, abi: issuerRegistryAbi, functionName: "identityVersion", args: [a.identityHash] }),
      publicClient.getBlock(),
    ]);
    const attestation: Attestation = {
      identityHash: a.identityHash,
      wallet: getAddress(a.wallet),
      kycLevel: a.kycLevel,
      country: a.country,
      investorType: a.investorType,
      expiresAt: a.expiresAt,
      issuer,
      identityVersion,
      // Unordered nonces: a random one never collides with another pending signature.
      nonce: BigInt(`0x${randomBytes(32).toString("hex")}`),
      // The chain's clock decides the deadline, so measure from it.
      deadline: block.timestamp + SIGNATURE_TTL_SECONDS,
    };
    const signature = await walletClient.signTypedData({
      account,
      domain: { name: "Sen IdentityRegistry", version: "1", chainId: deps.chainId, verifyingContract: registry },
      types: ATTESTATION_TYPES,
      primaryType: "Attestation",
      message: attestation,
    });
    return { attestation, signature };
  }

  const relay = (signed: SignedAttestation) => transact("attestBySig", { functionName: "attestBySig", args: [signed.attestation, signed.signature] });

  return {
    sign,
    relay,
    async attest(a) {
      return relay(await sign(a));
    },
    addWallet: (identityHash, wallet) => transact("addWallet", { functionName: "addWallet", args: [identityHash, getAddress(wallet)] }),
    revoke: (identityHash) => transact("revoke", { functionName: "revoke", args: [identityHash] }),
    async identityOf(wallet) {
      const [identityHash, id] = await publicClient.readContract({ address: registry, abi: issuerRegistryAbi, functionName: "identityOf", args: [getAddress(wallet)] });
      if (identityHash === zeroHash) return null;
      return { identityHash, expiresAt: id.expiresAt, revoked: id.revoked };
    },
  };
}
