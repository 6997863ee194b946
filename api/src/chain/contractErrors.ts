import { BaseError, ContractFunctionRevertedError, decodeErrorResult, parseAbi, type Abi, type Hex } from "viem";

/**
 * Every custom error a settlement, a withdrawal or an identity call can revert with: the
 * vault's own and those bubbling up from the tokens and the registry. Kept equal to the
 * compiled contracts by contractErrors.test.ts (it prints the list to paste when they differ).
 */
export const CONTRACT_ERROR_SIGNATURES = [
  "error AccessControlBadConfirmation()",
  "error AccessControlUnauthorizedAccount(address account, bytes32 neededRole)",
  "error AddressEmptyCode(address target)",
  "error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)",
  "error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)",
  "error ERC20InvalidApprover(address approver)",
  "error ERC20InvalidReceiver(address receiver)",
  "error ERC20InvalidSender(address sender)",
  "error ERC20InvalidSpender(address spender)",
  "error ERC7943CannotReceive(address account)",
  "error ERC7943CannotSend(address account)",
  "error ERC7943CannotTransfer(address from, address to, uint256 amount)",
  "error ERC7943InsufficientUnfrozenBalance(address account, uint256 amount, uint256 unfrozen)",
  "error EnforcedPause()",
  "error ExpectedPause()",
  "error FailedCall()",
  "error IdentityExpiredSignature(uint256 deadline)",
  "error IdentityInvalidAttributes(uint8 kycLevel, uint16 country, uint8 investorType, uint40 expiresAt)",
  "error IdentityInvalidHash()",
  "error IdentityInvalidSignature(address issuer)",
  "error IdentityInvalidWallet(address wallet)",
  "error IdentityNonceUsed(address issuer, uint256 nonce)",
  "error IdentityNotFound(bytes32 identityHash)",
  "error IdentityNotIssuer(bytes32 identityHash, address caller)",
  "error IdentityRevokedByGovernance(bytes32 identityHash)",
  "error IdentityStaleSignature(bytes32 identityHash, uint256 signedVersion, uint256 currentVersion)",
  "error IdentityUntrustedIssuer(address issuer)",
  "error IdentityWalletAlreadyBound(address wallet, bytes32 identityHash)",
  "error IdentityWalletFormerlyBound(address wallet, bytes32 identityHash)",
  "error IdentityWalletNotBound(address wallet)",
  "error InvalidShortString()",
  "error ReentrancyGuardReentrantCall()",
  "error SafeERC20FailedOperation(address token)",
  "error SettlementDeductionsExceedProceeds(uint256 sellerFee, uint256 sellerTax, uint256 cashAmount)",
  "error SettlementFeeExceedsCap(uint256 fee, uint256 cashAmount, uint256 capBps)",
  "error SettlementIdReused(uint256 id, bytes16 settled, bytes16 submitted)",
  "error SettlementInsufficientBalance(address wallet, address token, uint256 balance, uint256 needed)",
  "error SettlementInvalidAccount(address account)",
  "error SettlementInvalidFeeCap(uint16 capBps)",
  "error SettlementInvalidPrice(uint256 assetAmount, uint256 cashAmount)",
  "error SettlementInvalidTaxRate(uint16 rateBps)",
  "error SettlementNotVerified(address wallet)",
  "error SettlementSelfTrade(address wallet)",
  "error SettlementSelfTradeIdentity(address seller, address buyer, bytes32 identityHash)",
  "error SettlementTaxMismatch(uint256 expected, uint256 submitted)",
  "error SettlementTokenNotListed(address token)",
  "error SettlementTradeFailed(uint256 tradeId, bytes reason)",
  "error SettlementZeroAmount()",
  "error StringTooLong(string str)",
  "error TokenCustodianNotAllowed(address custodian)",
  "error TokenIdentityCapExceeded(bytes32 identityHash, uint256 balance, uint256 cap)",
  "error TokenInvalidAccount(address account)",
  "error TokenInvalidFrozenAmount(address account, uint256 amount, uint256 max)",
  "error TokenInvalidRules()",
  "error TokenIsPaused()",
  "error TokenNotCustodian(address caller)",
  "error TokenRecoveryIdentityMismatch(address lostWallet, address newWallet)",
] as const;

export const contractErrorsAbi: Abi = parseAbi(CONTRACT_ERROR_SIGNATURES);

/** A decoded revert: the error's name, its arguments by name, and one line for people. */
export type DecodedRevert = { name: string; args: Record<string, unknown>; reason: string };

/** Finds the revert in a viem error (a simulation or a call); null when it was no revert (transport, timeout…). */
export function revertOf(err: unknown): DecodedRevert | null {
  const revert = err instanceof BaseError ? err.walk((e) => e instanceof ContractFunctionRevertedError) : null;
  if (!(revert instanceof ContractFunctionRevertedError)) return null;
  if (revert.raw) return decodeRevert(revert.raw);
  if (revert.data) return describe(revert.data.errorName, revert.data.abiItem && "inputs" in revert.data.abiItem ? revert.data.abiItem.inputs : [], revert.data.args ?? []);
  return { name: "Reverted", args: {}, reason: revert.reason ? `Reverted(${revert.reason})` : "reverted without a reason" };
}

/** The innermost revert of a wrapper (the vault's SettlementTradeFailed names the trade and carries the token's reason). */
export function rootCause(r: DecodedRevert): DecodedRevert {
  for (const v of Object.values(r.args)) {
    if (v && typeof v === "object" && "reason" in v && "name" in v) return rootCause(v as DecodedRevert);
  }
  return r;
}

/** Decodes revert data against Sen's contract errors (plus Error(string) and Panic(uint256)). */
export function decodeRevert(data: Hex): DecodedRevert {
  try {
    const d = decodeErrorResult({ abi: contractErrorsAbi, data });
    return describe(d.errorName, "inputs" in d.abiItem ? d.abiItem.inputs : [], d.args ?? []);
  } catch {
    return { name: "Unknown", args: { data }, reason: data === "0x" ? "reverted without a reason" : `unknown error ${data.slice(0, 10)}` };
  }
}

function describe(name: string, inputs: readonly { name?: string; type: string }[], values: readonly unknown[]): DecodedRevert {
  const args: Record<string, unknown> = {};
  const shown: string[] = [];
  inputs.forEach((input, i) => {
    const v = values[i];
    args[input.name || String(i)] = v;
    // A wrapper error (e.g. the vault naming the failing trade) carries the inner revert as bytes.
    if (input.type === "bytes" && typeof v === "string" && v.length >= 10) {
      const inner = decodeRevert(v as Hex);
      args[`${input.name || String(i)}Decoded`] = inner;
      shown.push(inner.reason);
    } else shown.push(typeof v === "bigint" ? v.toString() : String(v));
  });
  return { name, args, reason: `${name}(${shown.join(", ")})` };
}

/** One line for people about a failed chain call: the decoded custom error when it reverted, else viem's short message. */
export function describeChainError(err: unknown): string {
  const revert = revertOf(err);
  if (revert) return `reverted: ${revert.reason}`;
  if (err instanceof BaseError) return err.shortMessage;
  return err instanceof Error ? err.message : String(err);
}
