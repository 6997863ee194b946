import { createHmac } from "node:crypto";
import type { Hex } from "viem";
import { IssuerError, ISSUER_ERROR } from "./errors.ts";

export const MIN_SALT_BYTES = 32;

/** The issuer's secret salt from configuration (hex, with or without 0x): at least 32 bytes, else refused. */
export function parseIdentitySalt(hex: string): Buffer {
  const clean = hex.startsWith("0x") ? hex.slice(2) : hex;
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(clean) || clean.length / 2 < MIN_SALT_BYTES)
    throw new IssuerError(ISSUER_ERROR.CONFIG, "identitySalt", `identitySalt: must be at least ${MIN_SALT_BYTES} bytes of hex`);
  return Buffer.from(clean, "hex");
}

/**
 * The on-chain identity hash: HMAC-SHA-256 of the 12-digit ID number keyed by the issuer's
 * secret salt. The same person always gets the same hash (one person, one identity), and
 * without the salt the 10^12 possible numbers cannot be enumerated back to a person.
 */
export function identityHash(idNumber: string, salt: Uint8Array): Hex {
  if (salt.length < MIN_SALT_BYTES) throw new IssuerError(ISSUER_ERROR.CONFIG, "identitySalt", `identitySalt: must be at least ${MIN_SALT_BYTES} bytes`);
  return `0x${createHmac("sha256", salt).update(idNumber, "utf8").digest("hex")}`;
}
