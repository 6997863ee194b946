import { Worker } from "node:worker_threads";
import { SenError } from "../../errors/SenError.ts";
import type { AuditIndex, ScreenOutcome } from "./auditIndex.ts";
import type { IndexCall, IndexReply } from "./sqliteIndexWorker.ts";

/** Batch buffers kept for reuse, and the smallest one made. */
const SPARE_BATCHES = 4;
const BATCH_BYTES = 1 << 20;

function joinLines(rows: ReadonlyArray<{ line: string }>): string {
  let text = "";
  for (let i = 0; i < rows.length; i++) text += i === 0 ? rows[i].line : `\n${rows[i].line}`;
  return text;
}

/**
 * The embedded SQLite audit index, run in a worker thread: the same store and the same
 * answers as `openSqliteAuditIndex`, but SQLite's work (index inserts, compliance queries,
 * WAL checkpoints) happens off the event loop that matches orders. Calls are answered in the
 * order they were made (one connection, one thread), so an insert is visible to every query
 * made after it resolved. If the worker dies, every pending and later call fails.
 */
export async function openWorkerSqliteAuditIndex(file: string): Promise<AuditIndex> {
  const worker = new Worker(new URL("./sqliteIndexWorker.ts", import.meta.url), { workerData: { file } });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let dead: Error | null = null;
  // Batch memory the worker gave back (insertAndScreenStored), reused for later batches.
  const spare: ArrayBuffer[] = [];
  const batchMemory = new WeakSet<ArrayBuffer>();

  await new Promise<void>((resolve, reject) => {
    worker.once("message", (m: { ready: boolean; error?: string }) => (m.ready ? resolve() : reject(new Error(`audit index: ${m.error}`))));
    // The worker posts its failure, then throws it: whichever arrives first says the same.
    worker.once("error", (err) => reject(new Error(`audit index: ${err.message}`, { cause: err })));
  });
  const fail = (err: Error) => {
    dead ??= err;
    for (const p of pending.values()) p.reject(dead);
    pending.clear();
  };
  worker.on("message", (r: IndexReply) => {
    const p = pending.get(r.id);
    if (!p) return;
    pending.delete(r.id);
    if (pending.size === 0) worker.unref();
    if (r.ok && r.returned && r.returned.byteLength >= BATCH_BYTES && spare.length < SPARE_BATCHES) spare.push(r.returned);
    if (r.ok) p.resolve(r.value);
    else p.reject(r.error.code ? new SenError(r.error.code, r.error.message) : Object.assign(new Error(r.error.message), { name: r.error.name }));
  });
  worker.on("error", (err) => fail(err));
  worker.on("exit", (code) => fail(new Error(`audit index worker exited (${code})`)));
  // The worker keeps the process alive only while a call waits for it: an idle index is never
  // what holds a stopping process (close() is the orderly way out). After the listeners:
  // adding a "message" listener refs the worker's port again.
  worker.unref();

  const callWith = <T>(transfer: ArrayBuffer[], method: IndexCall["method"], args: unknown[]): Promise<T> => {
    if (dead) return Promise.reject(dead);
    const id = nextId++;
    if (pending.size === 0) worker.ref();
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ id, method, args } satisfies IndexCall, transfer);
    });
  };
  const call = <T>(method: IndexCall["method"], ...args: unknown[]): Promise<T> => callWith<T>([], method, args);

  return {
    kind: "sqlite",
    lastSeq: () => call("lastSeq"),
    // The lines only, joined into one string (a canonical line holds no raw "\n"): one copy
    // across the thread boundary per batch instead of a structured clone per line; the worker
    // splits and parses them back (sqliteIndexWorker.ts, insertText).
    insert: (rows) => call("insertText", joinLines(rows)),
    query: (q) => call("query", q),
    eventsBySeq: (seqs) => call("eventsBySeq", seqs),
    saveAlert: (alert, seq) => call("saveAlert", alert, seq),
    setAlertStatus: (alertId, status, by, note) => call("setAlertStatus", alertId, status, by, note),
    alerts: (q) => call("alerts", q),
    alert: (alertId) => call("alert", alertId),
    reset: () => call("reset"),
    // The detectors run in the worker too: a batch is parsed there once, for the index and for
    // them. The stored bytes cross as they are: moved, not copied, when they fill their own
    // buffer (no string joined, cloned and UTF-8-decoded on this thread).
    screening: {
      // The worker hashes each line it parses (sqliteIndexWorker.ts): the log's leaf hashing moves off the sequencer's thread.
      hashesLeaves: true,
      insertAndScreen: (stored) => {
        const buffer = stored.buffer;
        const own = buffer instanceof ArrayBuffer && (batchMemory.has(buffer) || (stored.byteOffset === 0 && stored.byteLength === buffer.byteLength));
        return callWith<ScreenOutcome>(own ? [buffer as ArrayBuffer] : [], "insertAndScreenStored", [stored]);
      },
      bytes: (size) => {
        const i = spare.findIndex((b) => b.byteLength >= size);
        // Room to grow: the next batch is usually about as large.
        const buffer = i >= 0 ? spare.splice(i, 1)[0] : Buffer.allocUnsafeSlow(Math.max(BATCH_BYTES, size + (size >> 1))).buffer;
        batchMemory.add(buffer);
        return new Uint8Array(buffer, 0, size);
      },
      screen: (lines) => call<ScreenOutcome>("screenText", lines.join("\n")),
    },
    async close() {
      if (!dead) await call("close");
      await worker.terminate();
    },
  };
}
