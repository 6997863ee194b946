import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { INDEX_WORKER_NICE_STEPS, lowerThreadPriority } from "./threadPriority.ts";
import { openWorkerSqliteAuditIndex } from "./workerAuditIndex.ts";

/** Each thread of this process with its nice value (Linux /proc: stat field 19). */
function niceByThread(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      out.set(tid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("the audit index's worker thread runs below the sequencer's priority", () => {
  it("is left alone off Linux, where a nice value would be the whole process's", () => {
    assert.equal(lowerThreadPriority(INDEX_WORKER_NICE_STEPS, "darwin"), null);
    assert.equal(lowerThreadPriority(INDEX_WORKER_NICE_STEPS, "win32"), null);
  });

  it("lowers only the worker's thread: the main thread and the others keep the process's", { skip: !existsSync("/proc/self/task") && "needs Linux /proc" }, async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), "sen-thread-priority-"));
    dirs.push(dir);
    const before = niceByThread();
    const main = before.get(String(process.pid))!;
    const expected = Math.min(19, main + INDEX_WORKER_NICE_STEPS);
    if (expected === main) return t.skip("the process already runs at the lowest priority");
    const index = await openWorkerSqliteAuditIndex(path.join(dir, "index.sqlite"));
    try {
      const now = niceByThread();
      const lowered = [...now].filter(([tid, nice]) => !before.has(tid) && nice === expected);
      assert.equal(lowered.length, 1, `one new thread at nice ${expected}: ${JSON.stringify([...now])}`);
      assert.equal(now.get(String(process.pid)), main, "the main thread's priority is unchanged");
      for (const [tid, nice] of before) if (now.has(tid)) assert.equal(now.get(tid), nice, `thread ${tid} kept its priority`);
      // The worker still indexes at its lower priority.
      assert.equal(await index.lastSeq(), -1);
    } finally {
      await index.close();
    }
  });
});
