import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Journal } from "../types.ts";
import { collect } from "./journalBehaviour.ts";

export type Ack = { seq: bigint; client: number; i: number };

const WRITER = fileURLToPath(new URL("./journalWriter.ts", import.meta.url));

/** Runs journalWriter.ts, kill -9s it once it has acknowledged at least `minAcks` records, and returns the acks it printed. */
export function runWriterAndKill(args: string[], minAcks: number): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    const acks: Ack[] = [];
    let buffer = "";
    let stderr = "";
    let killed = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`writer acknowledged only ${acks.length} records in 20 s\n${stderr}`));
    }, 20_000);
    child.stderr.on("data", (d) => (stderr += d.toString()));
    child.stdout.on("data", (d) => {
      buffer += d.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop()!; // a partial last line is not an acknowledgement
      for (const line of lines) {
        const m = /^ack (\d+) (\d+) (\d+)$/.exec(line);
        if (m) acks.push({ seq: BigInt(m[1]), client: Number(m[2]), i: Number(m[3]) });
      }
      if (!killed && acks.length >= minAcks) {
        killed = true;
        child.kill("SIGKILL");
      }
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (signal === "SIGKILL" && killed) resolve(acks);
      else reject(new Error(`writer exited on its own (code ${code}, signal ${signal})\n${stderr}`));
    });
  });
}

/** Every acknowledged record is present at its seq; seqs are gap-free; no (client, i) appears twice. */
export async function assertAcksSurvived(journal: Journal, acks: Ack[]): Promise<void> {
  const { lastSeq } = await journal.open();
  const entries = await collect(journal.read());
  assert.equal(BigInt(entries.length), lastSeq);
  const seen = new Set<string>();
  entries.forEach((e, k) => {
    assert.equal(e.seq, BigInt(k + 1));
    const key = `${e.record.client}/${e.record.i}`;
    assert.ok(!seen.has(key), `record ${key} journaled twice`);
    seen.add(key);
    assert.equal(e.record.amount, BigInt(e.record.i as number) * 1000n);
  });
  for (const ack of acks) {
    assert.ok(ack.seq <= lastSeq, `acknowledged seq ${ack.seq} lost (journal ends at ${lastSeq})`);
    const record = entries[Number(ack.seq) - 1].record;
    assert.deepEqual([record.client, record.i], [ack.client, ack.i], `seq ${ack.seq} holds another record`);
  }
  // Each client's records are consecutive i = 0, 1, 2 ... (nothing skipped, nothing repeated).
  for (const client of new Set(entries.map((e) => e.record.client))) {
    const is = entries.filter((e) => e.record.client === client).map((e) => e.record.i);
    assert.deepEqual(is, is.map((_, k) => k));
  }
}
