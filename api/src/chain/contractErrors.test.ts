import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { encodeErrorResult, type Abi } from "viem";
import { formatAbiItem } from "viem/utils";
import { CONTRACT_ERROR_SIGNATURES, contractErrorsAbi, decodeRevert, rootCause } from "./contractErrors.ts";

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
    // A wrapper's bytes argument carries another error: it is decoded too.
    const inner = encodeErrorResult({ abi: contractErrorsAbi, errorName: "ERC7943CannotReceive", args: ["0x00000000000000000000000000000000000000b2"] });
    let decoded = 0;
    for (const item of contractErrorsAbi) {
      if (item.type !== "error") continue;
      const args = item.inputs.map((i) => {
        if (i.type === "address") return "0x00000000000000000000000000000000000000a1";
        if (i.type.startsWith("uint") || i.type.startsWith("int")) return 7n;
        if (i.type === "bool") return true;
        if (i.type === "bytes") return inner;
        const fixed = /^bytes(\d+)$/.exec(i.type);
        if (fixed) return `0x${"ab".repeat(Number(fixed[1]))}`;
        return "x";
      });
      const r = decodeRevert(encodeErrorResult({ abi: [item], errorName: item.name, args }));
      assert.equal(r.name, item.name);
      assert.ok(item.inputs.every((input, i) => (input.name || String(i)) in r.args), `${item.name}: every argument by name`);
      assert.ok(r.reason.startsWith(`${item.name}(`));
      decoded++;
    }
    assert.ok(decoded >= 30, `decoded ${decoded} errors`);
    const wrapped = decodeRevert(encodeErrorResult({ abi: contractErrorsAbi, errorName: "SettlementTradeFailed", args: [12n, inner] }));
    assert.equal(wrapped.args.tradeId, 12n);
    assert.equal(wrapped.reason, "SettlementTradeFailed(12, ERC7943CannotReceive(0x00000000000000000000000000000000000000b2))");
    assert.equal(rootCause(wrapped).name, "ERC7943CannotReceive");
    // The vault's own reason inside the wrapper: a tax the gateway computed at another rate.
    const tax = encodeErrorResult({ abi: contractErrorsAbi, errorName: "SettlementTaxMismatch", args: [100n, 99n] });
    const taxed = decodeRevert(encodeErrorResult({ abi: contractErrorsAbi, errorName: "SettlementTradeFailed", args: [5n, tax] }));
    assert.equal(taxed.reason, "SettlementTradeFailed(5, SettlementTaxMismatch(100, 99))");
    assert.deepEqual(rootCause(taxed).args, { expected: 100n, submitted: 99n });
    assert.equal(decodeRevert("0x4e487b710000000000000000000000000000000000000000000000000000000000000011").reason, "Panic(17)");
    assert.equal(decodeRevert("0xdeadbeef").name, "Unknown");
    assert.equal(decodeRevert("0x").reason, "reverted without a reason");
  });
});
