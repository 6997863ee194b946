import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { DataDirBusyError, dataDirOwner, lockDataDir } from "./dataDirLock.ts";

const dir = () => mkdtempSync(path.join(tmpdir(), "sen-lock-"));

describe("data directory lock", () => {
  it("one owner at a time; released on close", () => {
    const d = dir();
    const lock = lockDataDir(d);
    assert.equal(dataDirOwner(d), process.pid);
    assert.throws(() => lockDataDir(d), DataDirBusyError, "a second owner in the same process is refused too");
    lock.release();
    assert.equal(dataDirOwner(d), null);
    lockDataDir(d).release();
  });

  it("takes over the lock of a dead owner", () => {
    const d = dir();
    writeFileSync(path.join(d, "LOCK"), "2147483646 12345\n"); // no such process
    const lock = lockDataDir(d);
    assert.match(readFileSync(path.join(d, "LOCK"), "utf8"), new RegExp(`^${process.pid}\\b`));
    lock.release();
  });

  it("takes over a lock naming a live pid with another start time (the pid came back, as pid 1 does in a container)", { skip: process.platform !== "linux" && "needs /proc" }, () => {
    const d = dir();
    writeFileSync(path.join(d, "LOCK"), `${process.pid} 1\n`); // this pid, but started at tick 1: another process
    const lock = lockDataDir(d);
    assert.equal(dataDirOwner(d), process.pid);
    lock.release();
  });
});
