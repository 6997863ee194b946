/**
 * Worker-thread host of the SQLite audit index (see workerAuditIndex.ts). node:sqlite is
 * synchronous: run on the gateway's thread, every insert batch and every compliance query
 * would hold up order handling and market data for as long as SQLite works.
 */
import { parentPort, workerData } from "node:worker_threads";
import { createSurveillance } from "../surveillance/surveillance.ts";
import type { AuditEvent } from "./auditEvent.ts";
import type { AuditIndex, ScreenOutcome } from "./auditIndex.ts";
import { HASH_BYTES, leafHashInto } from "./merkle.ts";
import { openSqliteAuditIndex } from "./sqliteAuditIndex.ts";
import { INDEX_WORKER_NICE_STEPS, lowerThreadPriority } from "./threadPriority.ts";

/**
 * `insertText`: insert with only the stored lines sent over, joined by "\n" into one string
 * (the events are parsed back here): a string crosses the thread boundary as one copy, an
 * event object as a structured clone of every field, and one string per batch costs the
 * gateway's thread one message instead of one per line. `insertAndScreenStored`: the same
 * from the stored bytes ("\n"-terminated lines), decoded here.
 */
export type IndexCall = { id: number; method: Exclude<keyof AuditIndex, "kind" | "screening"> | "insertText" | "insertAndScreenStored" | "screenText"; args: unknown[] };
/** `returned`: the batch memory of an insertAndScreenStored, given back for the next batch once read. */
export type IndexReply = { id: number; ok: true; value: unknown; returned?: ArrayBuffer } | { id: number; ok: false; error: { name: string; message: string; code?: string } };

const port = parentPort!;
let index: AuditIndex;
// The market-abuse detectors, fed here (in log order, as the trail sends the lines) so that
// screening each event does not run on the sequencer's thread.
const surveillance = createSurveillance();

function rowsOf(text: string): Array<{ event: AuditEvent; line: string }> {
  return text === "" ? [] : text.split("\n").map((line) => ({ event: JSON.parse(line) as AuditEvent, line }));
}

function screen(events: readonly AuditEvent[]): ScreenOutcome {
  const out: ScreenOutcome = { alerts: [], failures: [] };
  for (const e of events) {
    if (e.type === "alert.raised" || e.type === "audit.query") continue;
    try {
      for (const a of surveillance.onEvent(e)) out.alerts.push(a);
    } catch (err) {
      out.failures.push({ seq: e.seq, message: (err as Error)?.message ?? String(err) });
    }
  }
  return out;
}

/** The leaf hash of each "\n"-terminated line of `bytes` (the audit log's tree, RFC 9162), 32 bytes each. */
function leafHashesOf(bytes: Buffer, lines: number): Uint8Array {
  const out = Buffer.allocUnsafeSlow(lines * HASH_BYTES);
  let start = 0;
  for (let i = 0; i < lines; i++) {
    const end = bytes.indexOf(0x0a, start);
    leafHashInto(bytes.subarray(start, end), out, i * HASH_BYTES);
    start = end + 1;
  }
  return out;
}

// Below the journal's writes and the sequencer thread when cores are short (threadPriority.ts).
lowerThreadPriority(INDEX_WORKER_NICE_STEPS);
try {
  index = openSqliteAuditIndex((workerData as { file: string }).file);
  port.postMessage({ ready: true });
} catch (err) {
  port.postMessage({ ready: false, error: (err as Error).message });
  throw err;
}

port.on("message", async (call: IndexCall) => {
  let reply: IndexReply;
  // Moved, not copied: the batch memory given back and the leaf hashes.
  const transfer: ArrayBuffer[] = [];
  try {
    if (call.method === "insertText") {
      reply = { id: call.id, ok: true, value: await index.insert(rowsOf(call.args[0] as string)) };
    } else if (call.method === "insertAndScreenStored") {
      // "\n"-terminated lines: the text without its last "\n" is the lines joined by "\n".
      const stored = call.args[0] as Uint8Array;
      const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
      const rows = rowsOf(bytes.toString("utf8", 0, Math.max(0, bytes.length - 1)));
      await index.insert(rows);
      const leafHashes = leafHashesOf(bytes, rows.length);
      const returned = stored.buffer instanceof ArrayBuffer ? stored.buffer : undefined;
      reply = { id: call.id, ok: true, value: { ...screen(rows.map((r) => r.event)), leafHashes }, returned };
      transfer.push(leafHashes.buffer as ArrayBuffer);
      if (returned) transfer.push(returned);
    } else if (call.method === "screenText") {
      reply = { id: call.id, ok: true, value: screen(rowsOf(call.args[0] as string).map((r) => r.event)) };
    } else {
      const fn = index[call.method] as (...args: unknown[]) => Promise<unknown>;
      reply = { id: call.id, ok: true, value: await fn.apply(index, call.args) };
    }
  } catch (err) {
    const e = err as { name?: string; message?: string; code?: string };
    reply = { id: call.id, ok: false, error: { name: e.name ?? "Error", message: e.message ?? String(err), code: typeof e.code === "string" ? e.code : undefined } };
  }
  port.postMessage(reply, transfer);
});
