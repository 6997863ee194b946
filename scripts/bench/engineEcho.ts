/**
 * Baseline for the replay tool in `npm run bench:engine`: the plainest JSON
 * lines filter, `JSON.parse` then `JSON.stringify` of every line, stdin to
 * stdout. It reads and writes the way the replay tool does (the replay CLI's
 * own reader, readChunks.ts: 64 KB synchronous reads into a reused buffer;
 * lines split out of each input chunk, one write per ~64 KB of output,
 * back-pressure honoured), so the comparison is the per-line work, not the
 * I/O pattern.
 *
 *   node scripts/bench/engineEcho.ts < commands.jsonl > /dev/null
 */
import { readChunks } from "../../matching-engine/src/replay/readChunks.ts";

const CHUNK = 64 * 1024;
let pending: string[] = [];
let pendingLen = 0;
let blocked = false;

function flush(): void {
  if (pending.length === 0) return;
  if (!process.stdout.write(pending.join(""))) blocked = true;
  pending = [];
  pendingLen = 0;
}

function echo(line: string): void {
  if (line.length === 0) return;
  const s = JSON.stringify(JSON.parse(line)) + "\n";
  pending.push(s);
  pendingLen += s.length;
  if (pendingLen >= CHUNK) flush();
}

let rest = "";
for await (const chunk of readChunks(0, () => process.stdin)) {
  const text = rest + chunk.toString("utf8");
  let s = 0;
  for (;;) {
    const nl = text.indexOf("\n", s);
    if (nl < 0) break;
    echo(text.slice(s, nl));
    s = nl + 1;
  }
  rest = text.slice(s);
  if (blocked) {
    await new Promise<void>((r) => process.stdout.once("drain", () => r()));
    blocked = false;
  }
}
echo(rest);
flush();
