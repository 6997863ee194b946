import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { openReplayBarrier } from "./replayBarrier.ts";

const fresh = () => mkdtempSync(path.join(tmpdir(), "sen-barrier-"));

describe("replay barrier", () => {
  it("a fresh data directory holds nothing back", () => {
    const b = openReplayBarrier(fresh(), () => 1_000, 5_000);
    assert.equal(b.notBeforeMs, Number.NEGATIVE_INFINITY);
    b.close();
  });

  it("after a crash, everything up to the durable ceiling is refused; the ceiling is at most a second above the latest accepted", () => {
    const dir = fresh();
    const first = openReplayBarrier(dir, () => 1_000, 5_000);
    first.accepted(10_000);
    first.accepted(10_500); // under the ceiling: no write needed
    first.accepted(14_500); // a client 4.5 s ahead
    // no close(): a kill -9
    const second = openReplayBarrier(dir, () => 15_000, 5_000);
    assert.equal(second.notBeforeMs, 15_501, "ceiling 14,500 + 1,000, exclusive");
    second.close();
  });

  it("after a clean stop only the latest accepted timestamp is held back, and it carries over an idle run", () => {
    const dir = fresh();
    const a = openReplayBarrier(dir, () => 0, 5_000);
    a.accepted(20_000);
    a.close();
    const b = openReplayBarrier(dir, () => 21_000, 5_000);
    assert.equal(b.notBeforeMs, 20_001);
    b.close(); // accepted nothing
    const c = openReplayBarrier(dir, () => 22_000, 5_000);
    assert.equal(c.notBeforeMs, 20_001);
    c.close();
  });

  it("a damaged file holds back one whole window from the start", () => {
    const dir = fresh();
    writeFileSync(path.join(dir, "replay-barrier"), '{"state":"run');
    const b = openReplayBarrier(dir, () => 50_000, 5_000);
    assert.equal(b.notBeforeMs, 55_000);
    b.close();
  });
});
