import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { chronyTracking, findExecutable, measureUtcTraceability, NOT_MEASURED, parseChronyTracking, TIMESYNCD_SYNCHRONIZED_TEXT } from "./utcTraceability.ts";

const TRACKING = "A29FC87B,162.159.200.123,3,1764780000.123456789,-0.000012345,0.000003210,0.000021000,-12.345,0.001,0.020,0.012345678,0.000987654,1024.5,Normal";

describe("UTC traceability: what Sen can read, never invented", () => {
  it("quotes chronyc -c tracking's offsets and leap status", () => {
    assert.equal(
      parseChronyTracking(TRACKING),
      "chrony: system time offset -0.000012345 s, last offset 0.000003210 s, RMS offset 0.000021000 s, stratum 3, reference 162.159.200.123, leap status Normal (chronyc -c tracking)",
    );
    assert.equal(parseChronyTracking("506 Cannot talk to daemon"), undefined);
    assert.equal(parseChronyTracking("a,b,c,d,not-a-number,1,2,3,4,5,6,7,8,Normal"), undefined);
  });

  it("timesyncd's flag file, a chronyc that answers, one that hangs, none at all", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "sen-utc-"));
    try {
      const flag = path.join(dir, "synchronized");
      writeFileSync(flag, "");
      assert.equal(await measureUtcTraceability({ timesyncdFile: flag, chronyc: path.join(dir, "absent") }), TIMESYNCD_SYNCHRONIZED_TEXT);
      const noFlag = path.join(dir, "no-flag");
      assert.equal(await measureUtcTraceability({ timesyncdFile: noFlag, chronyc: path.join(dir, "absent") }), NOT_MEASURED);

      const answers = path.join(dir, "chronyc");
      writeFileSync(answers, `#!/bin/sh\necho '${TRACKING}'\n`);
      chmodSync(answers, 0o755);
      assert.match(await measureUtcTraceability({ timesyncdFile: noFlag, chronyc: answers }), /^chrony: system time offset -0\.000012345 s/);

      const hangs = path.join(dir, "chronyc-hangs");
      writeFileSync(hangs, `#!/bin/sh\nsleep 2\necho '${TRACKING}'\n`);
      chmodSync(hangs, 0o755);
      const t0 = performance.now();
      assert.equal(await measureUtcTraceability({ timesyncdFile: noFlag, chronyc: hangs }), NOT_MEASURED);
      assert.ok(performance.now() - t0 < 1_000, "gave up after its 200 ms");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an absent chronyc is found absent on PATH, without starting a child", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "sen-utc-"));
    try {
      const bin = path.join(dir, "chronyc");
      writeFileSync(bin, `#!/bin/sh\necho '${TRACKING}'\n`);
      assert.equal(findExecutable("chronyc", dir), undefined, "not executable");
      chmodSync(bin, 0o755);
      assert.equal(findExecutable("chronyc", `/nonexistent${path.delimiter}${dir}`), bin);
      assert.equal(findExecutable(bin, ""), bin, "a path is taken as it is");
      assert.equal(findExecutable("chronyc", "/nonexistent"), undefined);
      // Absent: answered without a child (synchronously settled, before any I/O could run).
      let settled = false;
      void chronyTracking(path.join(dir, "absent")).then(() => (settled = true));
      await Promise.resolve();
      assert.equal(settled, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
