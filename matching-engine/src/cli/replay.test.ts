import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const CLI = fileURLToPath(new URL("./replay.ts", import.meta.url));

test("replay CLI: a reader that closes the pipe early (| head) ends it quietly, exit 0", async () => {
  // the warning flag: a Node that still calls type stripping experimental says so on stderr
  const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", CLI], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  // far more output than a pipe holds, so the replay is still writing when the reader goes
  const lines: string[] = [];
  for (let i = 0; i < 200_000; i++) lines.push(`{"type":"limit","id":"o${i}","owner":"u${i % 97}","side":"${i % 2 ? "sell" : "buy"}","price":${10_000 + (i % 50)},"qty":${1 + (i % 9)}}`);
  // the replay exits before it has read all of this: its stdin closes under the write (EPIPE or
  // ECONNRESET, by timing), which is what this test causes, not what it checks
  child.stdin.on("error", () => undefined);
  child.stdin.end(lines.join("\n") + "\n");
  let first = "";
  for await (const chunk of child.stdout) {
    first += (chunk as Buffer).toString();
    if (first.includes("\n")) break; // leaving the loop destroys the stream: the read end closes
  }
  assert.match(first.slice(0, first.indexOf("\n")), /^\{"type":"accepted","id":"o0",/);
  // "close": the exit and all of stderr, so a stack trace written on the way out is seen
  const [code, signal] = (await once(child, "close")) as [number | null, NodeJS.Signals | null];
  assert.equal(stderr, "");
  assert.deepEqual({ code, signal }, { code: 0, signal: null });
});
