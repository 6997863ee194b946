import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { writevAllSync } from "./segmentStore.ts";

describe("writevAllSync", () => {
  it("writes every buffer back to back, past one writev's 1,024 buffers, empty ones and views of one buffer included", () => {
    const dir = mkdtempSync(join(tmpdir(), "sen-writev-"));
    try {
      const shared = Buffer.from("abcdefghijklmnopqrstuvwxyz".repeat(200));
      const bufs = Array.from({ length: 3_000 }, (_, i) => (i % 7 === 0 ? Buffer.alloc(0) : i % 3 === 0 ? shared.subarray(i % 50, (i % 50) + (i % 97)) : Buffer.from(`line ${i} ₫\n`)));
      const expected = Buffer.concat(bufs);
      const file = join(dir, "out");
      const fd = openSync(file, "a");
      try {
        writevAllSync(fd, bufs.slice());
      } finally {
        closeSync(fd);
      }
      assert.ok(readFileSync(file).equals(expected));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
