import { CodedError } from "../errors/SenError.ts";

/** Failures of Sen's own chain writers (settlement, anchoring); each writer retries after one. */
export const ChainCode = {
  /** A transaction was mined but reverted. */
  TX_REVERTED: "CHAIN_TX_REVERTED",
  /** A market's base currency has no token address, so its trades cannot settle on chain. */
  NO_TOKEN: "CHAIN_NO_TOKEN",
} as const;
export type ChainCode = (typeof ChainCode)[keyof typeof ChainCode];

export class ChainError extends CodedError<ChainCode> {
  override name = "ChainError" as const;
}
