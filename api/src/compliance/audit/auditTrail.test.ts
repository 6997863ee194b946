import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Writable } from "node:stream";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import type { AuditEvent, AuditEventInput } from "./auditEvent.ts";
import type { AuditIndex, StoredAlert } from "./auditIndex.ts";
import { openAuditLog } from "./auditLog.ts";
import { AuditTrail, type AuditTrailOptions } from "./auditTrail.ts";
import { openSqliteAuditIndex } from "./sqliteAuditIndex.ts";
import { openWorkerSqliteAuditIndex } from "./workerAuditIndex.ts";

/**
 * The trail between the durable log and what acts on it: the index and the detectors get only
 * durable events, an alert reaches its listeners and the compliance queue only once its line is
 * durable, and an index that fails is fed again, with a growing pause, from where it stopped
 * (never left with a hole). The index faults are real SQLite errors: a trigger that RAISEs while
 * a flag is set, flipped from a second connection. The one wrapped index only watches what it
 * is handed (against the log's durable size at that moment) and passes it on.
 */
const tmp = mkdtempSync(join(tmpdir(), "sen-audit-trail-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(tmp, `t${++dirs}`);
const signingKey = generateKeyPairSync("ed25519");

/** The log lines the trail writes, kept for the assertions. */
function capturingLogger() {
  const lines: Array<{ level: number; msg: string; [k: string]: unknown }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split("\n")) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { logger: pino({ level: "info" }, stream), lines };
}

/** Makes the index's own SQLite file refuse inserts on demand (what a full disk or a broken database does). */
function installFaults(file: string) {
  const db = new DatabaseSync(file);
  db.exec(`
    CREATE TABLE test_fault (events INTEGER NOT NULL, alerts INTEGER NOT NULL);
    INSERT INTO test_fault VALUES (0, 0);
    CREATE TRIGGER test_fail_events BEFORE INSERT ON audit_events WHEN (SELECT events FROM test_fault) BEGIN SELECT RAISE(ABORT, 'injected: audit_events refuses inserts'); END;
    CREATE TRIGGER test_fail_alerts BEFORE INSERT ON audit_alerts WHEN (SELECT alerts FROM test_fault) BEGIN SELECT RAISE(ABORT, 'injected: audit_alerts refuses inserts'); END;
  `);
  return {
    events: (on: boolean) => db.prepare("UPDATE test_fault SET events = ?").run(on ? 1 : 0),
    alerts: (on: boolean) => db.prepare("UPDATE test_fault SET alerts = ?").run(on ? 1 : 0),
    seqs: () => (db.prepare("SELECT seq FROM audit_events ORDER BY seq").all() as Array<{ seq: number }>).map((r) => r.seq),
    close: () => db.close(),
  };
}

const KINDS = {
  "SQLite on this thread (detectors here)": (file: string) => Promise.resolve(openSqliteAuditIndex(file)),
  "SQLite in its worker (detectors there)": (file: string) => openWorkerSqliteAuditIndex(file),
} satisfies Record<string, (file: string) => Promise<AuditIndex>>;

async function openTrail(dir: string, openIndex: (file: string) => Promise<AuditIndex>, o: Partial<AuditTrailOptions> = {}) {
  const log = await openAuditLog({ dir, signingKey, fsync: "batch", checkpointEvery: { events: 1_000_000, ms: 3_600_000 } });
  const index = await openIndex(join(dir, "index.sqlite"));
  const trail = await AuditTrail.open({ log, index, logger: capturingLogger().logger, flushEveryMs: 3_600_000, ...o });
  return trail;
}

function order(i: number): AuditEventInput {
  return { type: "order.received", account: `acc-${i % 5}`, symbol: "VNM-VND", side: i % 2 ? "buy" : "sell", price: "25000", qty: "1", detail: { i } };
}

/** One event that the SETTLEMENT_FAILED detector turns into an alert. */
function settlementFailed(tradeId: string): AuditEventInput {
  return { type: "settlement.failed", tradeId, symbol: "VNM-VND", account: "acc-buyer", identityHash: "id-buyer", counterpartyAccount: "acc-seller", counterpartyIdentityHash: "id-seller", qty: "1", amount: "25000", currency: "VND", reason: "IdentityRevoked" };
}

async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`timed out waiting for: ${what}`);
    await sleep(5);
  }
}

/** flush() until it succeeds (a failing index is retried only once its pause is over). */
const flushed = (trail: AuditTrail) =>
  until("the trail to flush", () =>
    trail.flush().then(
      () => true,
      () => false,
    ),
  );

async function alertLines(trail: AuditTrail): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const { line } of trail.log.read(0, trail.log.size)) {
    const e = JSON.parse(line) as AuditEvent;
    if (e.type === "alert.raised") out.push(e);
  }
  return out;
}

for (const [kind, openIndex] of Object.entries(KINDS)) {
  describe(`audit trail: nothing acts on an event or an alert before it is durable (${kind})`, () => {
    it("indexes and screens only durable events (an index ahead of the log is rebuilt after a crash)", async () => {
      const dir = freshDir();
      const real = await openIndex(join(dir, "index.sqlite"));
      let trail: AuditTrail | undefined;
      const ahead: number[] = [];
      // Watches what the index is handed, against what the log holds durably at that moment.
      const watch = (last: number) => {
        if (trail && last >= trail.log.durableSize) ahead.push(last);
      };
      const watched: AuditIndex = Object.create(real, {
        insert: { value: (rows: Array<{ event: AuditEvent; line: string }>) => (watch(rows.at(-1)?.event.seq ?? -1), real.insert(rows)) },
        screening: {
          value: real.screening && {
            ...real.screening,
            insertAndScreen: (stored: Uint8Array) => {
              const lines = Buffer.from(stored).toString().trimEnd().split("\n");
              watch((JSON.parse(lines.at(-1)!) as AuditEvent).seq);
              return real.screening!.insertAndScreen(stored);
            },
          },
        },
      });
      trail = await openTrail(dir, () => Promise.resolve(watched));
      let n = 0;
      for (let round = 0; round < 40; round++) {
        for (let i = 0; i < 20; i++) trail.record(order(n++));
        const flushing = trail.flush();
        // Appended while the log's write of the first ones is under way.
        await new Promise((r) => setImmediate(r));
        for (let i = 0; i < 20; i++) trail.record(order(n++));
        await flushing;
      }
      await trail.flush();
      assert.deepEqual(ahead, [], "events handed to the index before the log had them durably");
      assert.equal(trail.indexedThrough, n - 1);
      await trail.close();
    });

    it("a listener sees an alert only once its alert.raised line is durable (a crash then keeps it)", async () => {
      const dir = freshDir();
      const trail = await openTrail(dir, openIndex);
      const seen: Array<{ alert: StoredAlert; durable: number; copy: string }> = [];
      trail.onAlert((alert) => {
        // What a power cut at this instant would leave on disk.
        const copy = `${dir}-crash-${seen.length}`;
        cpSync(dir, copy, { recursive: true, filter: (src) => !src.includes("index.sqlite") });
        seen.push({ alert, durable: trail.log.durableSize, copy });
      });
      for (let i = 0; i < 5; i++) trail.record(order(i));
      trail.record(settlementFailed("t-1"));
      await trail.flush();

      assert.equal(seen.length, 1);
      const { alert, durable, copy } = seen[0];
      assert.equal(alert.rule, "SETTLEMENT_FAILED");
      assert.ok(durable > alert.seq, `the alert's line (seq ${alert.seq}) was not durable (${durable} events) when a listener was told`);
      const reopened = await openAuditLog({ dir: copy, signingKey, fsync: "batch", checkpointEvery: { events: 1_000_000, ms: 3_600_000 } });
      const line = await reopened.event(alert.seq);
      await reopened.close();
      assert.equal(line?.type, "alert.raised");
      assert.equal(line?.detail?.alertId, alert.alertId);
      // The queue holds it under the same seq.
      assert.equal((await trail.index.alert(alert.alertId))?.seq, alert.seq);
      await trail.close();
    });

    it("an alert the index could not store is stored and pushed once it can, with one alert.raised line", async () => {
      const dir = freshDir();
      const trail = await openTrail(dir, openIndex, { indexRetry: { firstMs: 5, maxMs: 20 } });
      const faults = installFaults(join(dir, "index.sqlite"));
      const seen: StoredAlert[] = [];
      trail.onAlert((a) => seen.push(a));
      faults.alerts(true);
      trail.record(settlementFailed("t-2"));
      await assert.rejects(trail.flush());
      assert.equal(seen.length, 0);
      faults.alerts(false);
      await flushed(trail);

      assert.equal(seen.length, 1);
      const lines = await alertLines(trail);
      assert.equal(lines.length, 1, "the alert was recorded twice");
      assert.equal(lines[0].seq, seen[0].seq);
      assert.equal((await trail.index.alert(seen[0].alertId))?.seq, seen[0].seq);
      faults.close();
      await trail.close();
    });

    it("a restart after the alert's line became durable but before it was stored stores it under that line, not a second one", async () => {
      const dir = freshDir();
      const first = await openTrail(dir, openIndex);
      const faults = installFaults(join(dir, "index.sqlite"));
      faults.alerts(true);
      first.record(settlementFailed("t-3"));
      await assert.rejects(first.flush());
      faults.close();
      await first.close().catch(() => undefined); // its flush fails again: the index still refuses

      const db = new DatabaseSync(join(dir, "index.sqlite"));
      db.exec("DROP TRIGGER test_fail_alerts");
      db.close();
      const trail = await openTrail(dir, openIndex);
      await trail.flush();
      const lines = await alertLines(trail);
      assert.equal(lines.length, 1, "the alert was recorded twice");
      const stored = await trail.index.alert(lines[0].detail!.alertId as string);
      assert.equal(stored?.seq, lines[0].seq);
      await trail.close();
    });
  });

  describe(`audit trail: a failing index is fed again, never left with a hole (${kind})`, () => {
    it("a batch the index refused is indexed once it accepts again, before later ones", async () => {
      const dir = freshDir();
      const trail = await openTrail(dir, openIndex, { indexRetry: { firstMs: 5, maxMs: 20 } });
      const faults = installFaults(join(dir, "index.sqlite"));
      for (let i = 0; i < 10; i++) trail.record(order(i));
      await trail.flush();

      faults.events(true);
      for (let i = 10; i < 20; i++) trail.record(order(i));
      await assert.rejects(trail.flush());
      // The log does not wait for its index.
      assert.equal(trail.log.durableSize, 20);
      assert.equal(trail.indexedThrough, 9);

      faults.events(false);
      for (let i = 20; i < 30; i++) trail.record(order(i));
      await flushed(trail);
      assert.deepEqual(faults.seqs(), Array.from({ length: 30 }, (_, i) => i));
      assert.equal(trail.indexedThrough, 29);
      assert.equal(trail.indexFailure, undefined);
      faults.close();
      await trail.close();

      // And a restart finds nothing to catch up on.
      const again = await openTrail(dir, openIndex);
      assert.equal(await again.index.lastSeq(), 29);
      await again.close();
    });

    it("while the index stays down it retries on its own with a growing pause, says so, and catches up when it is back", async () => {
      const dir = freshDir();
      const { logger, lines } = capturingLogger();
      const trail = await openTrail(dir, openIndex, { logger, flushEveryMs: 5, indexRetry: { firstMs: 10, maxMs: 80 } });
      const faults = installFaults(join(dir, "index.sqlite"));
      faults.events(true);
      const started = Date.now();
      let n = 0;
      while (Date.now() - started < 600) {
        for (let i = 0; i < 20; i++) trail.record(order(n++));
        await sleep(5);
      }
      const failure = trail.indexFailure;
      assert.ok(failure, "the failure is not reported");
      assert.equal(failure.fromSeq, 0);
      assert.match(failure.error, /injected/);
      // 10, 20, 40, 80, 80, ... ms apart: about 10 attempts in 600 ms, not one per 5 ms tick.
      assert.ok(failure.attempts >= 3 && failure.attempts <= 20, `attempts: ${failure.attempts}`);
      const logged = lines.filter((l) => /audit index/.test(l.msg));
      assert.ok(logged.length >= 1 && logged.length <= failure.attempts, `logged ${logged.length} times for ${failure.attempts} attempts`);
      assert.equal(lines.filter((l) => l.msg === "audit flush failed").length, 0, "the timer repeats what the trail already reported");
      assert.equal(trail.log.durableSize >= n - 20, true);

      faults.events(false);
      await until("the index to catch up", () => trail.indexedThrough === n - 1);
      assert.deepEqual(faults.seqs(), Array.from({ length: n }, (_, i) => i));
      assert.equal(trail.indexFailure, undefined);
      assert.ok(lines.some((l) => /audit index caught up/.test(l.msg)));
      faults.close();
      await trail.close();
    });

    it("alerts of events the index refused are raised once it takes them", async () => {
      const dir = freshDir();
      const trail = await openTrail(dir, openIndex, { indexRetry: { firstMs: 5, maxMs: 20 } });
      const faults = installFaults(join(dir, "index.sqlite"));
      const seen: StoredAlert[] = [];
      trail.onAlert((a) => seen.push(a));
      faults.events(true);
      trail.record(settlementFailed("t-4"));
      await assert.rejects(trail.flush());
      faults.events(false);
      await flushed(trail);
      assert.deepEqual(
        seen.map((a) => a.rule),
        ["SETTLEMENT_FAILED"],
      );
      assert.equal((await alertLines(trail)).length, 1);
      faults.close();
      await trail.close();
    });
  });
}
