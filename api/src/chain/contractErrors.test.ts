import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { encodeErrorResult, type Abi } from "viem";
import { formatAbiItem } from "viem/utils";
import { CONTRACT_ERROR_SIGNATURES, contractErrorsAbi, decodeRevert } from "./contractErrors.ts";

/** The contracts whose reverts reach the gateway (the tokens' and registry's bubble up through the vault). */
type AbiError = Extract<Abi[number], { type: "error" }>;

const CONTRACTS = ["settlement/SettlementVault.sol/SettlementVault", "token/AssetToken.sol/AssetToken", "token/CashToken.sol/CashToken", "identity/IdentityRegistry.sol/IdentityRegistry"];

describe("contract errors", () => {
  it("lists exactly the custom errors of the compiled contracts", () => {
    const compiled = new Set<string>();
    for (const c of CONTRACTS) {
      const artifact = JSON.parse(readFileSync(new URL(`../../../artifacts/contracts/src/${c}.json`, import.meta.url), "utf8")) as { abi: Array<{ type: string }> };
      for (const item of artifact.abi) if (item.type === "error") compiled.add(`error ${formatAbiItem(item as AbiError, { includeName: true })}`);
    }
    const expected = [...compiled].sort();
    assert.deepEqual([...CONTRACT_ERROR_SIGNATURES], expected, `paste into contractErrors.ts:\n${expected.map((s) => `  "${s}",`).join("\n")}`);
  });

  it("decodes every listed error to its name and arguments, and says so when it cannot", () => {
    let decoded = 0;
    for (const item of contractErrorsAbi) {
      if (item.type !== "error") continue;
      const args = item.inputs.map((i) => (i.type === "address" ? "0x00000000000000000000000000000000000000a1" : i.type.startsWith("uint") ? 7n : i.type === "bytes32" ? `0x${"ab".repeat(32)}` : i.type === "bool" ? true : "x"));
      const r = decodeRevert(encodeErrorResult({ abi: [item], errorName: item.name, args }));
      assert.equal(r.name, item.name);
      assert.equal(Object.keys(r.args).length, item.inputs.length);
      assert.ok(r.reason.startsWith(`${item.name}(`));
      decoded++;
    }
    assert.ok(decoded >= 30, `decoded ${decoded} errors`);
    assert.equal(decodeRevert("0x4e487b710000000000000000000000000000000000000000000000000000000000000011").reason, "Panic(17)");
    assert.equal(decodeRevert("0xdeadbeef").name, "Unknown");
    assert.equal(decodeRevert("0x").reason, "reverted without a reason");
  });
});
