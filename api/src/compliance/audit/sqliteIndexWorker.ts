/**
 * Worker-thread host of the SQLite audit index (see workerAuditIndex.ts). node:sqlite is
 * synchronous: run on the gateway's thread, every insert batch and every compliance query
 * would hold up order handling and market data for as long as SQLite works.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { AuditEvent } from "./auditEvent.ts";
import type { AuditIndex } from "./auditIndex.ts";
import { openSqliteAuditIndex } from "./sqliteAuditIndex.ts";

/**
 * `insertText`: insert with only the stored lines sent over, joined by "\n" into one string
 * (the events are parsed back here): a string crosses the thread boundary as one copy, an
 * event object as a structured clone of every field, and one string per batch costs the
 * gateway's thread one message instead of one per line.
 */
export type IndexCall = { id: number; method: Exclude<keyof AuditIndex, "kind"> | "insertText"; args: unknown[] };
export type IndexReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: { name: string; message: string; code?: string } };

const port = parentPort!;
let index: AuditIndex;
try {
  index = openSqliteAuditIndex((workerData as { file: string }).file);
  port.postMessage({ ready: true });
} catch (err) {
  port.postMessage({ ready: false, error: (err as Error).message });
  throw err;
}

port.on("message", async (call: IndexCall) => {
  let reply: IndexReply;
  try {
    if (call.method === "insertText") {
      const text = call.args[0] as string;
      const lines = text === "" ? [] : text.split("\n");
      reply = { id: call.id, ok: true, value: await index.insert(lines.map((line) => ({ event: JSON.parse(line) as AuditEvent, line }))) };
    } else {
      const fn = index[call.method] as (...args: unknown[]) => Promise<unknown>;
      reply = { id: call.id, ok: true, value: await fn.apply(index, call.args) };
    }
  } catch (err) {
    const e = err as { name?: string; message?: string; code?: string };
    reply = { id: call.id, ok: false, error: { name: e.name ?? "Error", message: e.message ?? String(err), code: typeof e.code === "string" ? e.code : undefined } };
  }
  port.postMessage(reply);
});
