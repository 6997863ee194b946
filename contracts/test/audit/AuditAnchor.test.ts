import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getAddress, keccak256, parseEventLogs, toHex, zeroAddress, zeroHash } from "viem";
import { deploySen } from "../helpers/fixture.ts";

describe("AuditAnchor", async () => {
  const { anchor, viem, networkHelpers, publicClient, auditor, gov, traders, as } = await deploySen();
  const MAX_RANGE = 1n << 32n;
  const [mallory] = traders;
  const root = (n: number) => keccak256(toHex(`root-${n}`));
  const base = await networkHelpers.takeSnapshot();

  it("appends contiguous ranges, readable by tree size and from events", async () => {
    await base.restore();
    await anchor.write.anchor([0n, 100n, root(1)], as(auditor));
    const hash = await anchor.write.anchor([100n, 250n, root(2)], as(auditor));
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    const [ev] = parseEventLogs({ abi: anchor.abi, logs: receipt.logs, eventName: "RootAnchored" });
    const block = await publicClient.getBlock({ blockNumber: receipt.blockNumber });
    assert.deepEqual(ev.args, { fromSeq: 100n, toSeq: 250n, root: root(2), timestamp: block.timestamp });
    assert.equal(await anchor.read.rootAt([100n]), root(1));
    assert.equal(await anchor.read.rootAt([250n]), root(2));
    const [size, latestRoot, at] = await anchor.read.latest();
    assert.deepEqual([size, latestRoot, BigInt(at)], [250n, root(2), block.timestamp]);
    await viem.assertions.revertWithCustomError(anchor.read.rootAt([101n]), anchor, "AnchorUnknownTreeSize");
  });

  it("roots can never be rewritten: gaps, overlaps and repeats are refused", async () => {
    await base.restore();
    await anchor.write.anchor([0n, 100n, root(1)], as(auditor));
    await viem.assertions.revertWithCustomErrorWithArgs(anchor.write.anchor([0n, 100n, root(9)], as(auditor)), anchor, "AnchorNotContiguous", [100n, 0n]);
    await viem.assertions.revertWithCustomError(anchor.write.anchor([101n, 200n, root(2)], as(auditor)), anchor, "AnchorNotContiguous");
    await viem.assertions.revertWithCustomError(anchor.write.anchor([100n, 100n, root(2)], as(auditor)), anchor, "AnchorEmptyRange");
    await viem.assertions.revertWithCustomError(anchor.write.anchor([100n, 200n, zeroHash], as(auditor)), anchor, "AnchorZeroRoot");
    assert.equal(await anchor.read.rootAt([100n]), root(1));
  });

  it("only the auditor anchors; only the admin changes the auditor", async () => {
    await base.restore();
    await viem.assertions.revertWithCustomError(anchor.write.anchor([0n, 1n, root(1)], as(mallory)), anchor, "AnchorNotAuditor");
    await viem.assertions.revertWithCustomError(anchor.write.setAuditor([mallory.account.address], as(auditor)), anchor, "AccessControlUnauthorizedAccount");
    await anchor.write.setAuditor([mallory.account.address], as(gov));
    await viem.assertions.revertWithCustomError(anchor.write.anchor([0n, 1n, root(1)], as(auditor)), anchor, "AnchorNotAuditor");
    await anchor.write.anchor([0n, 1n, root(1)], as(mallory));
  });

  it("an anchor covers at most MAX_ANCHOR_RANGE records, so no anchor can use up the sequence space", async () => {
    await base.restore();
    assert.equal(await anchor.read.MAX_ANCHOR_RANGE(), MAX_RANGE);
    const end = (1n << 64n) - 1n;
    await viem.assertions.revertWithCustomErrorWithArgs(anchor.write.anchor([0n, end, root(1)], as(auditor)), anchor, "AnchorRangeTooLarge", [0n, end, MAX_RANGE]);
    await viem.assertions.revertWithCustomError(anchor.write.anchor([0n, MAX_RANGE + 1n, root(1)], as(auditor)), anchor, "AnchorRangeTooLarge");
    await anchor.write.anchor([0n, MAX_RANGE, root(1)], as(auditor));
    await anchor.write.anchor([MAX_RANGE, MAX_RANGE + 5n, root(2)], as(auditor));
    assert.equal(await anchor.read.rootAt([MAX_RANGE + 5n]), root(2));
  });

  it("the auditor is never the zero address (anchoring would stop for good)", async () => {
    await base.restore();
    await viem.assertions.revertWithCustomErrorWithArgs(anchor.write.setAuditor([zeroAddress], as(gov)), anchor, "AnchorInvalidAuditor", [zeroAddress]);
    assert.equal(await anchor.read.auditor(), getAddress(auditor.account.address));
    await assert.rejects(viem.deployContract("AuditAnchor", [gov.account.address, zeroAddress]), /AnchorInvalidAuditor/);
  });
});
