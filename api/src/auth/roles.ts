import { getAddress, isAddress } from "viem";
import type { Address } from "viem";
import { AuthCode, AuthError } from "../errors/SenError.ts";
import type { Permission, Principal, Role } from "./types.ts";

/** Throws AUTH_ROLE_FORBIDDEN unless the principal has one of `roles`. */
export function requireRole(principal: Principal, ...roles: Role[]): void {
  if (!roles.includes(principal.role)) {
    throw new AuthError(AuthCode.ROLE_FORBIDDEN, `Requires role ${roles.join(" or ")}`, {
      details: { role: principal.role, required: roles },
    });
  }
}

/** Throws AUTH_PERMISSION_DENIED unless the principal (API key or session) carries `permission`. */
export function requirePermission(principal: Principal, permission: Permission): void {
  if (!principal.permissions.includes(permission)) {
    throw new AuthError(AuthCode.PERMISSION_DENIED, `Requires the ${permission} permission`, {
      details: { permission, apiKeyId: principal.apiKeyId },
    });
  }
}

export type RoleConfig = {
  operatorWallets: readonly string[];
  complianceWallets: readonly string[];
};

/**
 * Builds `(wallet) => Role` from configuration: operator and compliance wallet lists, trader
 * otherwise. Addresses compare case-insensitively. A wallet on both lists, or a malformed
 * address, is a configuration error (AUTH_INVALID_INPUT) rather than a silent precedence rule.
 */
export function createRoleResolver(config: RoleConfig): (wallet: Address) => Role {
  const normalise = (w: string) => {
    if (!isAddress(w, { strict: false })) {
      throw new AuthError(AuthCode.INVALID_INPUT, "Invalid wallet in role configuration", { details: { wallet: w } });
    }
    return getAddress(w);
  };
  const operators = new Set(config.operatorWallets.map(normalise));
  const compliance = new Set(config.complianceWallets.map(normalise));
  for (const w of operators) {
    if (compliance.has(w)) {
      throw new AuthError(AuthCode.INVALID_INPUT, "Wallet is both operator and compliance", { details: { wallet: w } });
    }
  }
  // Asked on every authenticated request: the answer per wallet text is remembered (the lists
  // are fixed for this resolver) instead of checksumming the address each time. Bounded: a
  // full memo starts over rather than growing with every wallet ever seen.
  const known = new Map<string, Role>();
  return (wallet) => {
    const remembered = known.get(wallet);
    if (remembered !== undefined) return remembered;
    const w = getAddress(wallet);
    const role: Role = operators.has(w) ? "operator" : compliance.has(w) ? "compliance" : "trader";
    if (known.size >= ROLE_MEMO_SIZE) known.clear();
    known.set(wallet, role);
    return role;
  };
}

const ROLE_MEMO_SIZE = 10_000;
