import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AuthCode, AuthError } from "../errors/SenError.ts";
import { createRoleResolver, requirePermission, requireRole } from "./roles.ts";
import type { Principal } from "./types.ts";

const OP = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
const CO = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";
const TR = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";

const principal = (over: Partial<Principal> = {}): Principal => ({
  accountId: TR.toLowerCase(),
  wallet: TR,
  identityHash: "0x01",
  role: "trader",
  permissions: ["General"],
  ...over,
});
const is = (code: string) => (e: unknown) => e instanceof AuthError && e.code === code;

describe("roles", () => {
  it("resolves roles from configured wallet lists, case-insensitively", () => {
    const roleOf = createRoleResolver({ operatorWallets: [OP.toLowerCase()], complianceWallets: [CO] });
    assert.equal(roleOf(OP), "operator");
    assert.equal(roleOf(CO.toLowerCase() as `0x${string}`), "compliance");
    assert.equal(roleOf(TR), "trader");
    // Asked again (answers are remembered per wallet text), in every spelling, and past the
    // memo's bound: the same answers, and a malformed wallet still throws every time.
    for (let round = 0; round < 2; round++) {
      assert.equal(roleOf(OP), "operator");
      assert.equal(roleOf(OP.toLowerCase() as `0x${string}`), "operator");
      assert.equal(roleOf(CO.toLowerCase() as `0x${string}`), "compliance");
      assert.equal(roleOf(TR.toLowerCase() as `0x${string}`), "trader");
      assert.throws(() => roleOf("0x1234"));
    }
    for (let i = 0; i < 10_050; i++) roleOf(`0x${i.toString(16).padStart(40, "0")}`);
    assert.equal(roleOf(OP), "operator");
    assert.equal(roleOf(CO), "compliance");
  });

  it("refuses a bad configuration", () => {
    assert.throws(() => createRoleResolver({ operatorWallets: [OP], complianceWallets: [OP] }), is(AuthCode.INVALID_INPUT));
    assert.throws(() => createRoleResolver({ operatorWallets: ["0x1234"], complianceWallets: [] }), is(AuthCode.INVALID_INPUT));
  });

  it("requireRole", () => {
    requireRole(principal({ role: "operator" }), "operator", "compliance");
    assert.throws(() => requireRole(principal(), "operator", "compliance"), is(AuthCode.ROLE_FORBIDDEN));
  });

  it("requirePermission", () => {
    requirePermission(principal({ permissions: ["General", "Trade"] }), "Trade");
    assert.throws(() => requirePermission(principal(), "Withdraw"), is(AuthCode.PERMISSION_DENIED));
    // Roles do not imply permissions: an operator key without Trade cannot trade.
    assert.throws(() => requirePermission(principal({ role: "operator" }), "Trade"), is(AuthCode.PERMISSION_DENIED));
  });
});
