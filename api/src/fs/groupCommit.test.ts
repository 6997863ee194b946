import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { GroupCommit } from "./groupCommit.ts";

const root = mkdtempSync(join(tmpdir(), "sen-group-commit-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

class WriteFailed extends Error {}

/** A minimal owner: lines buffered by append(), written and fdatasynced by the group commit. */
async function lineFile() {
  const path = join(root, `f${++n}.log`);
  const handle: FileHandle = await open(path, "a");
  let pending: string[] = [];
  let size = 0;
  let durable = 0;
  const commits: number[] = []; // lines per write + fdatasync
  const group = new GroupCommit<number>({
    hasWork: () => pending.length > 0,
    async commit(settle) {
      const batch = pending;
      pending = [];
      await handle.write(batch.join(""));
      await handle.datasync();
      commits.push(batch.length);
      durable += batch.length;
      settle(durable);
    },
    failed: (cause) => new WriteFailed(`write failed: ${(cause as Error).message}`, { cause }),
  });
  return {
    path,
    handle,
    group,
    commits,
    get durable() {
      return durable;
    },
    append(line: string) {
      pending.push(`${line}\n`);
      return ++size;
    },
    flush(): Promise<void> {
      if (durable >= size) return Promise.resolve();
      const done = group.wait(size);
      group.start();
      return done;
    },
  };
}

describe("group commit", () => {
  it("flushes made while a write is in flight share the next write and fdatasync", async () => {
    const f = await lineFile();
    f.append("0");
    const first = f.flush(); // starts the first commit, of line 0 alone
    const rest: Promise<void>[] = [];
    for (let i = 1; i < 100; i++) {
      f.append(String(i));
      rest.push(f.flush());
    }
    await Promise.all([first, ...rest]);
    assert.deepEqual(f.commits, [1, 99]);
    assert.equal(f.group.running, false);
    assert.deepEqual(readFileSync(f.path, "utf8").split("\n").slice(0, -1), Array.from({ length: 100 }, (_, i) => String(i)));
    await f.handle.close();
  });

  it("resolves a waiter only once its own position is durable", async () => {
    const f = await lineFile();
    f.append("a");
    const order: string[] = [];
    const a = f.flush().then(() => order.push(`a@${f.durable}`));
    f.append("b");
    const b = f.flush().then(() => order.push(`b@${f.durable}`));
    await Promise.all([a, b]);
    // a's commit had started when b was appended: a is served by the first, b waits for the second.
    assert.deepEqual(order, ["a@1", "b@2"]);
    assert.deepEqual(f.commits, [1, 1]);
    await f.handle.close();
  });

  it("a failed fdatasync rejects the waiters of its batch, keeps earlier ones resolved, and every later flush sees the failure", async () => {
    const f = await lineFile();
    f.append("ok");
    await f.flush();
    assert.equal(f.durable, 1);

    await f.handle.close(); // the next write fails for real (EBADF), as a dying disk would
    f.append("lost-1");
    const b = f.flush();
    f.append("lost-2");
    const c = f.flush();
    const failed = (e: unknown) => e instanceof WriteFailed && /write failed/.test(e.message);
    await assert.rejects(b, failed);
    await assert.rejects(c, failed);
    const failure = f.group.failure;
    assert.ok(failure instanceof WriteFailed);

    f.append("after");
    const d = f.flush();
    await assert.rejects(d, (e: unknown) => e === failure); // the same sticky error, no new write tried
    assert.deepEqual(f.commits, [1]);
    assert.equal(f.group.running, false);
    assert.equal(f.durable, 1);
    assert.equal(readFileSync(f.path, "utf8"), "ok\n");
  });

  it("idle() waits for the commit in flight", async () => {
    const f = await lineFile();
    f.append("x");
    const done = f.flush();
    assert.equal(f.group.running, true);
    await f.group.idle();
    assert.equal(f.group.running, false);
    assert.equal(f.durable, 1);
    await done;
    await f.handle.close();
  });
});
