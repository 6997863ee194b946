/**
 * Worker-thread host of the SQLite audit index (see workerAuditIndex.ts). node:sqlite is
 * synchronous: run on the gateway's thread, every insert batch and every compliance query
 * would hold up order handling and market data for as long as SQLite works.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { AuditIndex } from "./auditIndex.ts";
import { openSqliteAuditIndex } from "./sqliteAuditIndex.ts";

export type IndexCall = { id: number; method: Exclude<keyof AuditIndex, "kind">; args: unknown[] };
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
    const fn = index[call.method] as (...args: unknown[]) => Promise<unknown>;
    reply = { id: call.id, ok: true, value: await fn.apply(index, call.args) };
  } catch (err) {
    const e = err as { name?: string; message?: string; code?: string };
    reply = { id: call.id, ok: false, error: { name: e.name ?? "Error", message: e.message ?? String(err), code: typeof e.code === "string" ? e.code : undefined } };
  }
  port.postMessage(reply);
});
