import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readChunks } from "./readChunks.ts";

test("readChunks: a file's bytes in order, in chunks of one reused buffer", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sen-read-"));
  try {
    const data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 9)) & 0xff;
    const file = join(dir, "in");
    writeFileSync(file, data);
    const fd = openSync(file, "r");
    const parts: Buffer[] = [];
    const memory = new Set<ArrayBufferLike>();
    try {
      for await (const c of readChunks(fd, () => assert.fail("no fallback for a file"))) {
        parts.push(Buffer.from(c));
        memory.add(c.buffer);
      }
    } finally {
      closeSync(fd);
    }
    assert.ok(parts.length >= 4, `chunks: ${parts.length}`);
    assert.equal(memory.size, 1);
    assert.ok(Buffer.concat(parts).equals(data));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("readChunks: a non-blocking pipe with nothing to read yet goes on through the fallback stream", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sen-read-"));
  try {
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    const rd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const wr = openSync(fifo, constants.O_WRONLY);
    const first = Buffer.from("first part\n");
    const second = Buffer.from("second part, written once the reader has switched\n");
    writeSync(wr, first);
    const parts: Buffer[] = [];
    let fellBack = false;
    const stream = () => {
      fellBack = true;
      // the pipe is empty now (the sync read said EAGAIN): the rest arrives while the stream waits
      setTimeout(() => {
        writeSync(wr, second);
        closeSync(wr);
      }, 20);
      return new Socket({ fd: rd, readable: true, writable: false });
    };
    for await (const c of readChunks(rd, stream)) parts.push(Buffer.from(c));
    assert.ok(fellBack);
    assert.equal(Buffer.concat(parts).toString(), first.toString() + second.toString());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
