import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { AuditEventInput } from "./auditEvent.ts";
import { encodeAuditEvent } from "./auditEvent.ts";
import { openAuditLog, segmentFileName } from "./auditLog.ts";
import type { AuditLog, AuditLogOptions } from "./auditLog.ts";
import type { Checkpoint } from "./checkpoint.ts";
import { verifyCheckpoint } from "./checkpoint.ts";
import { AuditError } from "./errors.ts";
import { fromHex, leafHash, rootOf, verifyConsistency, verifyInclusion } from "./merkle.ts";

const tmp = mkdtempSync(join(tmpdir(), "sen-auditlog-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(tmp, `log${++dirs}`);
const signingKey = generateKeyPairSync("ed25519");

/** A fixed clock: 1 µs per call from 2026-11-23T10:00:00Z. */
function testClock(): () => bigint {
  let t = BigInt(Date.parse("2026-11-23T10:00:00Z")) * 1000n;
  return () => ++t;
}

function order(i: number): AuditEventInput {
  return {
    type: i % 3 === 0 ? "order.filled" : "order.received",
    account: `acc-${i % 17}`,
    symbol: "VNM-VND",
    side: i % 2 ? "buy" : "sell",
    price: `${10_000 + (i % 50)}.5`,
    qty: `${1 + (i % 9)}`,
    orderId: `o-${i}`,
    detail: { note: "héllo ✓", i },
  };
}

function options(dir: string, extra: Partial<AuditLogOptions> = {}): AuditLogOptions {
  return { dir, signingKey, now: testClock(), checkpointEvery: { events: 1_000_000, ms: 3_600_000 }, ...extra };
}

async function fill(log: AuditLog, n: number, flushEvery = 50): Promise<void> {
  for (let i = 0; i < n; i++) {
    log.append(order(log.size));
    if ((i + 1) % flushEvery === 0) await log.flush();
  }
  await log.flush();
}

async function lines(log: AuditLog, from?: number, to?: number): Promise<string[]> {
  const out: string[] = [];
  for await (const { line } of log.read(from, to)) out.push(line);
  return out;
}

/** The checkpoints a log reports through onCheckpoint, awaited as they come (with a deadline). */
function checkpointFeed() {
  const seen: Checkpoint[] = [];
  let wake = () => {};
  return {
    seen,
    onCheckpoint(cp: Checkpoint) {
      seen.push(cp);
      wake();
    },
    async atLeast(n: number, timeoutMs = 10_000): Promise<Checkpoint[]> {
      const deadline = Date.now() + timeoutMs;
      while (seen.length < n) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out waiting for checkpoint #${n} (have ${seen.map((c) => c.treeSize).join(",") || "none"})`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
      return seen;
    },
  };
}

/**
 * Resolves once the log's checkpoint timer (period `ms`, armed before this call) has fired
 * and whatever it queued has run: Node runs expired timers in expiry order, so a longer
 * timer set now fires after the log's, and one setImmediate turn later the checkpoint the
 * log's timer may have queued (with setImmediate, then an already settled flush) is done.
 * This is how "nothing happened" is observed without hoping a sleep was long enough.
 */
async function afterLogTimerFired(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms + 1));
  await new Promise((r) => setImmediate(r));
}

const segmentFiles = (dir: string) => readdirSync(dir).filter((f) => /^events-\d{12}\.jsonl$/.test(f)).sort();

describe("audit log", () => {
  it("append, flush, reopen: same events, same bytes, same root", async () => {
    const dir = freshDir();
    const log = await openAuditLog(options(dir));
    const e0 = log.append({ type: "auth.login", account: "a1", ip: "10.0.0.1" });
    assert.equal(e0.seq, 0);
    assert.match(e0.id, /^[0-9a-f-]{36}$/);
    assert.equal(e0.ts, "2026-11-23T10:00:00.000001Z");
    const given = log.append({ type: "deposit", account: "a1", currency: "VND", amount: "1000000", ts: "2026-01-01T00:00:00.000000Z" });
    assert.equal(given.ts, "2026-01-01T00:00:00.000000Z");
    assert.equal(log.size, 2);
    assert.equal(log.durableSize, 0);
    await fill(log, 300);
    assert.equal(log.durableSize, 302);
    const before = await lines(log);
    assert.equal(before.length, 302);
    assert.equal(before[0], encodeAuditEvent(e0));
    const root = log.inclusionProof(0).root;
    assert.equal(root, `0x${rootOf(before.map((l) => leafHash(Buffer.from(l)))).toString("hex")}`);
    await log.close();
    assert.throws(() => log.append(order(0)), (e: unknown) => e instanceof AuditError && e.code === "AUDIT_CLOSED");

    const again = await openAuditLog(options(dir));
    assert.equal(again.size, 302);
    assert.equal(again.durableSize, 302);
    assert.deepEqual(await lines(again), before);
    assert.equal(again.inclusionProof(0).root, root);
    assert.deepEqual(await again.event(1), given);
    assert.equal(await again.event(302), undefined);
    assert.deepEqual(await lines(again, 100, 103), before.slice(100, 103));
    // close() signed a final checkpoint of the whole log
    assert.equal(again.latestCheckpoint()?.treeSize, 302);
    const next = again.append(order(1));
    assert.equal(next.seq, 302);
    await again.close();
    assert.equal(readFileSync(join(dir, segmentFileName(0)), "utf8").split("\n").length, 304);
  });

  it("gives every event a distinct random version-4 UUID, past the batch of random bytes drawn at once", async () => {
    const log = await openAuditLog(options(freshDir()));
    const ids = new Set<string>();
    for (let i = 0; i < 600; i++) {
      const { id } = log.append(order(i));
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      ids.add(id);
    }
    assert.equal(ids.size, 600);
    await log.close();
  });

  it("appendStored writes the line append would, interleaved with append, in one seq order", async () => {
    const log = await openAuditLog(options(freshDir()));
    const stored: string[] = [];
    for (let i = 0; i < 40; i++) {
      if (i % 3 === 0) stored.push(encodeAuditEvent(log.append(order(i))) + "\n");
      else stored.push(log.appendStored({ ...order(i), ...(i % 2 ? { ts: "2026-11-23T10:00:00.000001Z" } : {}) }).toString("utf8"));
    }
    assert.equal(log.size, 40);
    const back = await lines(log);
    assert.deepEqual(back.map((l) => l + "\n"), stored);
    for (const [seq, line] of back.entries()) {
      const e = JSON.parse(line) as { seq: number; id: string; ts: string; orderId: string };
      assert.equal(e.seq, seq);
      assert.equal(e.orderId, `o-${seq}`);
      assert.equal(encodeAuditEvent(JSON.parse(line)), line, "canonical field order");
      if (seq % 3 !== 0 && seq % 2) assert.equal(e.ts, "2026-11-23T10:00:00.000001Z", "a given ts is kept");
    }
    await log.close();
  });

  it("read() of events not yet flushed flushes first", async () => {
    const log = await openAuditLog(options(freshDir()));
    log.append(order(0));
    log.append(order(1));
    assert.equal(log.durableSize, 0);
    assert.equal((await lines(log)).length, 2);
    assert.equal(log.durableSize, 2);
    await log.close();
  });

  it("concurrent flushes share writes and all resolve", async () => {
    const log = await openAuditLog(options(freshDir()));
    const waits: Promise<void>[] = [];
    for (let i = 0; i < 500; i++) {
      log.append(order(i));
      if (i % 7 === 0) waits.push(log.flush());
    }
    waits.push(log.flush());
    await Promise.all(waits);
    assert.equal(log.durableSize, 500);
    await log.close();
  });

  it("fsync 'always' makes each append durable before it returns", async () => {
    const dir = freshDir();
    const log = await openAuditLog(options(dir, { fsync: "always", segmentEvents: 4 }));
    for (let i = 0; i < 10; i++) {
      log.append(order(i));
      assert.equal(log.durableSize, i + 1);
    }
    assert.equal(segmentFiles(dir).length, 3);
    await log.close();
    const again = await openAuditLog(options(dir));
    assert.equal(again.size, 10);
    await again.close();
  });

  it("a torn last line is cut away and reported; appends continue at the right seq", async () => {
    const dir = freshDir();
    const log = await openAuditLog(options(dir));
    await fill(log, 20);
    await log.close();
    const seg = join(dir, segmentFileName(0));
    const good = readFileSync(seg).length;
    appendFileSync(seg, '{"seq":20,"id":"torn-wri');
    const repairs: unknown[] = [];
    const again = await openAuditLog(options(dir, { onRepair: (r) => repairs.push(r) }));
    assert.equal(repairs.length, 1);
    assert.deepEqual(repairs[0], { file: seg, offset: good, bytes: 24, savedAs: `${seg}.torn-${good}` });
    assert.equal(readFileSync(`${seg}.torn-${good}`, "utf8"), '{"seq":20,"id":"torn-wri');
    assert.equal(again.size, 20);
    assert.equal(again.append(order(20)).seq, 20);
    await again.close();
    const reopened = await openAuditLog(options(dir));
    assert.equal(reopened.size, 21);
    await reopened.close();
  });

  it("an edited, deleted or reordered stored event is detected at open", async () => {
    const dir = freshDir();
    const log = await openAuditLog(options(dir));
    await fill(log, 40);
    await log.close(); // checkpoint at 40
    const seg = join(dir, segmentFileName(0));
    const original = readFileSync(seg, "utf8");
    const rows = original.split("\n");

    rows[7] = rows[7].replace(/"qty":"(\d)"/, (_, d: string) => `"qty":"${Number(d) + 1}"`);
    assert.notEqual(rows.join("\n"), original);
    writeFileSync(seg, rows.join("\n"));
    await assert.rejects(openAuditLog(options(dir)), (e: unknown) => e instanceof AuditError && e.code === "AUDIT_TAMPERED" && /modified on disk: the first 40 events hash to/.test(e.message));

    const deleted = original.split("\n");
    deleted.splice(5, 1);
    writeFileSync(seg, deleted.join("\n"));
    await assert.rejects(openAuditLog(options(dir)), /expected the line of seq 5, found seq 6/);

    writeFileSync(seg, original);
    const ok = await openAuditLog(options(dir));
    assert.equal(ok.size, 40);
    await ok.close();
  });

  it("truncated signed events and an edited or foreign checkpoint are refused at open", async () => {
    const dir = freshDir();
    const log = await openAuditLog(options(dir));
    await fill(log, 30);
    await log.close();
    const seg = join(dir, segmentFileName(0));
    const original = readFileSync(seg, "utf8");
    writeFileSync(seg, original.split("\n").slice(0, 25).join("\n") + "\n");
    await assert.rejects(openAuditLog(options(dir)), /a checkpoint covers 30 events but only 25 are stored/);
    writeFileSync(seg, original);

    const cpPath = join(dir, "checkpoints.jsonl");
    const cps = readFileSync(cpPath, "utf8");
    const cp = JSON.parse(cps.trim().split("\n").at(-1)!) as Checkpoint;
    writeFileSync(cpPath, `${JSON.stringify({ ...cp, time: "2030-01-01T00:00:00.000000Z" })}\n`);
    await assert.rejects(openAuditLog(options(dir)), (e: unknown) => e instanceof AuditError && e.code === "AUDIT_KEY_MISMATCH");
    writeFileSync(cpPath, cps);
    await assert.rejects(openAuditLog(options(dir, { signingKey: generateKeyPairSync("ed25519") })), /does not verify with the configured signing key/);
    const ok = await openAuditLog(options(dir));
    await ok.close();
  });

  it("checkpoints by count: only durable events, signed, consistent with each other", async () => {
    const seen: Array<[number, number]> = [];
    const feed = checkpointFeed();
    const log = await openAuditLog(
      options(freshDir(), {
        checkpointEvery: { events: 100, ms: 3_600_000 },
        onCheckpoint: (cp, prev) => {
          seen.push([prev, cp.treeSize]);
          feed.onCheckpoint(cp);
        },
      }),
    );
    await fill(log, 450, 25);
    await feed.atLeast(4); // the one queued at 400 events may still be signing
    const cps = log.checkpoints();
    assert.ok(cps.length >= 4, `checkpoints: ${cps.map((c) => c.treeSize).join(",")}`);
    let prev = 0;
    for (const cp of cps) {
      assert.ok(verifyCheckpoint(cp, signingKey.publicKey));
      assert.ok(cp.treeSize - prev >= 100 && cp.treeSize - prev < 200, `gap ${prev} -> ${cp.treeSize}`);
      assert.equal(cp.root, log.inclusionProof(0, cp.treeSize).root);
      if (prev > 0) {
        const p = log.consistencyProof(prev, cp.treeSize);
        assert.ok(verifyConsistency(prev, cp.treeSize, fromHex(p.firstRoot), fromHex(cp.root), p.proof.map(fromHex)));
      }
      prev = cp.treeSize;
    }
    assert.deepEqual(seen[0], [0, cps[0].treeSize]);
    await log.close();
  });

  /**
   * A scheduled checkpoint's line is written before its fdatasync goes to libuv's pool, which
   * completes in a later turn of the loop than the one that wrote the line: looking after every
   * turn catches the moment the line is in the file and the checkpoint not yet listed.
   */
  async function atScheduledLine(dir: string): Promise<void> {
    const cpLines = () => {
      try {
        return readFileSync(join(dir, "checkpoints.jsonl"), "utf8").split("\n").filter(Boolean).length;
      } catch {
        return 0;
      }
    };
    for (let turns = 0; cpLines() === 0; turns++) {
      assert.ok(turns < 100_000, "the scheduled checkpoint's line never came");
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  const settle = async (log: AuditLog, n: number) => {
    for (let i = 0; i < 1000 && log.checkpoints().length < n; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  };

  it("a scheduled checkpoint is listed once its line is fdatasynced; one signed on demand meanwhile keeps the order", async () => {
    const dir = freshDir();
    const reported: Array<[number, number]> = [];
    // fsync "always": an append is durable when it returns, so the on-demand checkpoint below covers more than the scheduled one.
    const log = await openAuditLog(options(dir, { fsync: "always", checkpointEvery: { events: 100, ms: 3_600_000 }, onCheckpoint: (cp, prev) => reported.push([prev, cp.treeSize]) }));
    for (let i = 0; i < 100; i++) log.append(order(i));
    await atScheduledLine(dir);
    assert.equal(log.checkpoints().length, 0, "listed before its line was durable");
    assert.deepEqual(reported, []);
    log.append(order(100));
    log.append(order(101));
    assert.equal(log.checkpoint().treeSize, 102);
    assert.deepEqual(reported, [[0, 102]]);
    await settle(log, 2);
    assert.deepEqual(
      log.checkpoints().map((c) => c.treeSize),
      [100, 102],
    );
    assert.deepEqual(reported, [[0, 102]], "the overtaken checkpoint is listed, not reported again");
    await log.close();
    const again = await openAuditLog(options(dir));
    assert.deepEqual(
      again.checkpoints().map((c) => c.treeSize),
      [100, 102],
    );
    await again.close();
  });

  it("an on-demand checkpoint of the events a scheduled one is syncing returns that one, made durable", async () => {
    const dir = freshDir();
    const reported: Array<[number, number]> = [];
    const log = await openAuditLog(options(dir, { checkpointEvery: { events: 100, ms: 3_600_000 }, onCheckpoint: (cp, prev) => reported.push([prev, cp.treeSize]) }));
    await fill(log, 100);
    await atScheduledLine(dir);
    assert.equal(log.checkpoints().length, 0);
    const cp = log.checkpoint();
    assert.equal(cp.treeSize, 100);
    assert.deepEqual(log.checkpoints(), [cp]);
    assert.deepEqual(reported, [[0, 100]]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(log.checkpoints(), [cp], "not listed twice");
    assert.deepEqual(reported, [[0, 100]], "not reported twice");
    await log.close();
    assert.equal(readFileSync(join(dir, "checkpoints.jsonl"), "utf8").trim().split("\n").length, 1, "one line, not two of the same size");
  });

  it("checkpoints by time, and none while the log does not grow", async () => {
    const MS = 40;
    const feed = checkpointFeed();
    const log = await openAuditLog(options(freshDir(), { checkpointEvery: { events: 1_000_000, ms: MS }, onCheckpoint: feed.onCheckpoint }));
    await afterLogTimerFired(MS); // armed at open, fired on an empty log
    assert.equal(log.checkpoints().length, 0);
    for (let i = 0; i < 5; i++) log.append(order(i)); // not flushed: the timer flushes first
    const [timed] = await feed.atLeast(1);
    assert.equal(timed.treeSize, 5);
    assert.deepEqual(log.checkpoints(), [timed]);
    assert.equal(log.durableSize, 5);
    await afterLogTimerFired(MS); // re-armed by that checkpoint, fired on an unchanged log
    assert.equal(log.checkpoints().length, 1);
    await log.close();
    assert.equal(log.checkpoints().length, 1); // nothing new to close over
  });

  it("checkpoint() covers only durable events; checkpointNow() covers all", async () => {
    const log = await openAuditLog(options(freshDir()));
    await fill(log, 10);
    log.append(order(10));
    assert.equal(log.checkpoint().treeSize, 10);
    assert.equal((await log.checkpointNow()).treeSize, 11);
    await log.close();
  });

  it("proofs served by the log verify with the standalone verifiers", async () => {
    const log = await openAuditLog(options(freshDir()));
    await fill(log, 157);
    const all = await lines(log);
    for (const n of [1, 2, 3, 64, 100, 157]) {
      for (let seq = 0; seq < n; seq += 1 + (seq % 5)) {
        const p = log.inclusionProof(seq, n);
        assert.equal(p.leafHash, `0x${leafHash(Buffer.from(all[seq])).toString("hex")}`);
        assert.ok(verifyInclusion(fromHex(p.leafHash), p.leafIndex, p.treeSize, p.proof.map(fromHex), fromHex(p.root)));
      }
      for (const m of [1, 5, 64, n]) {
        if (m > n) continue;
        const c = log.consistencyProof(m, n);
        assert.ok(verifyConsistency(c.first, c.second, fromHex(c.firstRoot), fromHex(c.secondRoot), c.proof.map(fromHex)));
      }
    }
    assert.throws(() => log.inclusionProof(157, 157), /not below tree size/);
    assert.throws(() => log.consistencyProof(5, 158), (e: unknown) => e instanceof AuditError && e.code === "AUDIT_BAD_RANGE");
    await log.close();
  });

  it("segments roll over and everything reads across them", async () => {
    const dir = freshDir();
    const log = await openAuditLog(options(dir, { segmentEvents: 7 }));
    await fill(log, 30, 4);
    assert.deepEqual(segmentFiles(dir), [0, 7, 14, 21, 28].map(segmentFileName));
    const all = await lines(log);
    assert.deepEqual(
      all.map((l) => (JSON.parse(l) as { seq: number }).seq),
      Array.from({ length: 30 }, (_, i) => i),
    );
    assert.deepEqual(await lines(log, 5, 16), all.slice(5, 16));
    const root = log.inclusionProof(0).root;
    await log.close();
    const again = await openAuditLog(options(dir, { segmentEvents: 7 }));
    assert.equal(again.inclusionProof(0).root, root);
    await fill(again, 6);
    assert.deepEqual(segmentFiles(dir), [0, 7, 14, 21, 28, 35].map(segmentFileName));
    assert.deepEqual((await lines(again, 33, 36)).map((l) => (JSON.parse(l) as { seq: number }).seq), [33, 34, 35]);
    await again.close();

    rmSync(join(dir, segmentFileName(14)));
    await assert.rejects(openAuditLog(options(dir, { segmentEvents: 7 })), /segment events-000000000021.jsonl starts at seq 21 but 14 events precede it/);
  });

  it("anchors are recorded append-only and survive a restart", async () => {
    const dir = freshDir();
    const log = await openAuditLog(options(dir));
    await fill(log, 12);
    const cp = await log.checkpointNow();
    const anchor = { chainId: 31337, contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3", txHash: `0x${"ab".repeat(32)}`, blockNumber: 7 };
    log.recordAnchor(cp.treeSize, anchor);
    assert.deepEqual(log.latestCheckpoint()?.anchor, anchor);
    assert.throws(() => log.recordAnchor(5, anchor), /no checkpoint at tree size 5/);
    await log.close();
    const again = await openAuditLog(options(dir));
    assert.deepEqual(again.checkpoints().find((c) => c.treeSize === 12)?.anchor, anchor);
    await again.close();
  });

  it("exports end at a checkpoint and are written byte for byte", async () => {
    const dir = freshDir();
    const log = await openAuditLog(options(dir, { segmentEvents: 50 }));
    await fill(log, 120);
    const first = await log.checkpointNow();
    await fill(log, 30);
    const out = join(tmp, `export${dirs}`);
    const r = await log.exportTo(out);
    assert.equal(r.events, 150);
    const stored = segmentFiles(dir)
      .map((f) => readFileSync(join(dir, f), "utf8"))
      .join("");
    assert.equal(readFileSync(join(out, "events.jsonl"), "utf8"), stored);
    assert.equal(readFileSync(join(out, "leaves.bin")).length, 150 * 32);
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as { events: number; origin: string; retentionYears: number };
    assert.equal(manifest.events, 150);
    assert.equal(manifest.origin, "sen.exchange/audit");
    assert.equal(manifest.retentionYears, 10);
    const partial = join(tmp, `export${dirs}-partial`);
    assert.equal((await log.exportTo(partial, { toSeq: 140 })).events, first.treeSize);
    assert.equal(readFileSync(join(partial, "events.jsonl"), "utf8").split("\n").length, 121);
    // toSeq is exclusive (a tree size): the checkpoint at exactly toSeq is the end; one seq less has none.
    assert.equal((await log.exportTo(join(tmp, `export${dirs}-exact`), { toSeq: first.treeSize })).events, first.treeSize);
    await assert.rejects(log.exportTo(join(tmp, `export${dirs}-none`), { toSeq: first.treeSize - 1 }), /no checkpoint at or below tree size 119/);
    await assert.rejects(log.exportTo(partial), /not empty/);
    await log.close();
  });
});
