import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { AuditEventInput } from "./auditEvent.ts";
import { openAuditLog } from "./auditLog.ts";
import type { AuditLog } from "./auditLog.ts";
import type { Checkpoint } from "./checkpoint.ts";
import { signCheckpoint } from "./checkpoint.ts";
import { AuditError } from "./errors.ts";
import { leafHash, toHex } from "./merkle.ts";
import { verifyExport } from "./verifyExport.ts";
import { witnessCheck } from "./witness.ts";

const tmp = mkdtempSync(join(tmpdir(), "sen-verify-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const signingKey = generateKeyPairSync("ed25519");
/** Someone else's key: a forger's, or the exchange's staging log's. */
const otherKey = generateKeyPairSync("ed25519");
const pemOf = (k: { publicKey: KeyObject }) => k.publicKey.export({ type: "spki", format: "pem" }).toString();
const EVENTS = 3_000;
const CLI = fileURLToPath(new URL("../../../../scripts/auditVerify.ts", import.meta.url));

function fill(i: number): AuditEventInput {
  return { type: "order.filled", account: `acc-${i % 23}`, symbol: "VNM-VND", side: i % 2 ? "buy" : "sell", price: `${20_000 + (i % 40)}`, qty: `${1 + (i % 9)}`, tradeId: `t-${i}`, liquidity: "maker" };
}

let exported = "";
let copies = 0;
function copy(): string {
  const dir = join(tmp, `copy${++copies}`);
  cpSync(exported, dir, { recursive: true });
  return dir;
}
const readRows = (dir: string) => readFileSync(join(dir, "events.jsonl"), "utf8").split("\n").slice(0, -1);
const writeRows = (dir: string, rows: string[]) => writeFileSync(join(dir, "events.jsonl"), `${rows.join("\n")}\n`);
const readCheckpointLines = (dir: string) => readFileSync(join(dir, "checkpoints.jsonl"), "utf8").trim().split("\n");
const writeCheckpointLines = (dir: string, lines: string[]) => writeFileSync(join(dir, "checkpoints.jsonl"), `${lines.join("\n")}\n`);

describe("verifyExport", () => {
  let log: AuditLog;
  let checkpointSizes: number[] = [];

  before(async () => {
    let t = BigInt(Date.parse("2026-11-23T10:00:00Z")) * 1000n;
    log = await openAuditLog({ dir: join(tmp, "log"), signingKey, now: () => ++t, checkpointEvery: { events: 500, ms: 3_600_000 }, segmentEvents: 1_000 });
    for (let i = 0; i < EVENTS; i++) {
      log.append(fill(i));
      if (i % 100 === 99) await log.flush();
    }
    await log.flush();
    exported = join(tmp, "export");
    await log.exportTo(exported); // signs the checkpoint it ends at: nothing to wait for
    checkpointSizes = log.checkpoints().map((c) => c.treeSize);
    assert.ok(checkpointSizes.length >= 6, `checkpoints ${checkpointSizes.join(",")}`);
  });
  after(() => log.close());

  it("an untouched export verifies", async () => {
    const r = await verifyExport(exported);
    assert.deepEqual(r.problems, []);
    assert.equal(r.ok, true);
    assert.equal(r.events, EVENTS);
    assert.equal(r.checkpoints, checkpointSizes.length);
    assert.ok(r.notes.includes("anchors not checked (no --rpc)"));
  });

  it("an edited field is reported as edited at that exact seq", async () => {
    const dir = copy();
    const rows = readRows(dir);
    rows[1234] = rows[1234].replace(/"qty":"(\d)"/, '"qty":"99"');
    writeRows(dir, rows);
    const r = await verifyExport(dir);
    assert.equal(r.ok, false);
    assert.equal(r.problems[0].kind, "edited");
    assert.equal(r.problems[0].seq, 1234);
    assert.ok(r.problems.some((p) => p.kind === "rootMismatch"));
  });

  it("a deleted line is reported as missing at its seq", async () => {
    const dir = copy();
    const rows = readRows(dir);
    rows.splice(1500, 1);
    writeRows(dir, rows);
    const r = await verifyExport(dir);
    assert.equal(r.problems[0].kind, "missing");
    assert.equal(r.problems[0].seq, 1500);
  });

  it("deleting the last lines is reported as missing", async () => {
    const dir = copy();
    writeRows(dir, readRows(dir).slice(0, EVENTS - 3));
    const r = await verifyExport(dir);
    assert.equal(r.problems[0].kind, "missing");
    assert.equal(r.problems[0].seq, EVENTS - 3);
  });

  it("two swapped lines are reported as reordered", async () => {
    const dir = copy();
    const rows = readRows(dir);
    [rows[2000], rows[2001]] = [rows[2001], rows[2000]];
    writeRows(dir, rows);
    const r = await verifyExport(dir);
    assert.equal(r.problems[0].kind, "reordered");
    assert.equal(r.problems[0].seq, 2000);
  });

  it("a forged line is reported as inserted", async () => {
    const dir = copy();
    const rows = readRows(dir);
    const forged = rows[700].replace(/"qty":"\d"/, '"qty":"5000"');
    rows.splice(700, 0, forged);
    writeRows(dir, rows);
    const r = await verifyExport(dir);
    assert.equal(r.problems[0].kind, "inserted");
    assert.equal(r.problems[0].seq, 700);
  });

  it("a line appended after the last checkpoint is reported as inserted", async () => {
    const dir = copy();
    const rows = readRows(dir);
    rows.push(rows[rows.length - 1].replace(`"seq":${EVENTS - 1}`, `"seq":${EVENTS}`));
    writeRows(dir, rows);
    const r = await verifyExport(dir);
    assert.equal(r.problems[0].kind, "inserted");
    assert.equal(r.problems[0].seq, EVENTS);
  });

  it("an edit with leaves.bin recomputed to match is still caught, naming the checkpoint range", async () => {
    const dir = copy();
    const rows = readRows(dir);
    rows[1234] = rows[1234].replace(/"price":"(\d+)"/, '"price":"1"');
    writeRows(dir, rows);
    writeFileSync(join(dir, "leaves.bin"), Buffer.concat(rows.map((l) => leafHash(Buffer.from(l)))));
    const r = await verifyExport(dir);
    assert.equal(r.ok, false);
    const first = r.problems[0];
    assert.equal(first.kind, "rootMismatch");
    const after = checkpointSizes.find((s) => s > 1234)!;
    const before = checkpointSizes.filter((s) => s <= 1234).at(-1) ?? 0;
    assert.equal(first.treeSize, after);
    assert.match(first.message, new RegExp(`\\[${before}, ${after}\\)`));
  });

  it("a forged checkpoint root is a bad signature", async () => {
    const dir = copy();
    const lines = readFileSync(join(dir, "checkpoints.jsonl"), "utf8").trim().split("\n");
    const cp = JSON.parse(lines[2]) as Checkpoint;
    lines[2] = JSON.stringify({ ...cp, root: toHex(leafHash(Buffer.from("forged"))) });
    writeFileSync(join(dir, "checkpoints.jsonl"), `${lines.join("\n")}\n`);
    const r = await verifyExport(dir);
    assert.equal(r.problems[0].kind, "badSignature");
    assert.equal(r.problems[0].treeSize, cp.treeSize);
  });

  it("a renumbered seq field alone is caught by the seq check and by the hashes", async () => {
    const dir = copy();
    const rows = readRows(dir);
    rows[42] = rows[42].replace('"seq":42', '"seq":43');
    writeRows(dir, rows);
    const r = await verifyExport(dir);
    assert.equal(r.problems[0].kind, "edited");
    assert.equal(r.problems[0].seq, 42);
  });

  it("a pinned key: the genuine export verifies under it and not under another key", async () => {
    const pinned = await verifyExport(exported, { publicKeyPem: pemOf(signingKey) });
    assert.deepEqual(pinned.problems, []);
    assert.ok(!pinned.notes.some((n) => n.includes("checkpoint.pub")), "no trust-the-export note once pinned");

    const wrong = await verifyExport(exported, { publicKeyPem: pemOf(otherKey) });
    assert.equal(wrong.ok, false);
    assert.deepEqual(
      wrong.problems.map((p) => [p.kind, p.treeSize]),
      [...checkpointSizes.map((n) => ["badSignature", n]), ["badSignature", undefined]],
    );
    assert.match(wrong.problems.at(-1)!.message, /no valid signed checkpoint/);
  });

  it("a checkpoint with the right root signed by another key is refused under the pinned key", async () => {
    const dir = copy();
    const lines = readCheckpointLines(dir);
    const cp = JSON.parse(lines[3]) as Checkpoint;
    lines[3] = JSON.stringify(signCheckpoint({ origin: cp.origin, treeSize: cp.treeSize, root: cp.root, time: cp.time }, otherKey.privateKey));
    writeCheckpointLines(dir, lines);
    const r = await verifyExport(dir, { publicKeyPem: pemOf(signingKey) });
    assert.deepEqual(
      r.problems.map((p) => [p.kind, p.treeSize]),
      [["badSignature", cp.treeSize]],
    );
  });

  it("an export forged and re-signed with another key passes on its own checkpoint.pub, and fails under the pinned key", async () => {
    let t = BigInt(Date.parse("2026-11-23T10:00:00Z")) * 1000n;
    const forger = await openAuditLog({ dir: join(tmp, "forged-log"), signingKey: otherKey, now: () => ++t });
    for (let i = 0; i < 300; i++) forger.append(i === 123 ? { ...fill(i), qty: "9999" } : fill(i));
    await forger.checkpointNow();
    for (let i = 300; i < 400; i++) forger.append(fill(i));
    const dir = join(tmp, "forged-export");
    await forger.exportTo(dir); // signs the checkpoint at 400 it ends at
    await forger.close();

    // On its own word the forgery is consistent: only the key it carries betrays it.
    const unpinned = await verifyExport(dir);
    assert.deepEqual(unpinned.problems, []);
    assert.ok(unpinned.notes.some((n) => n.includes("checkpoint.pub")), "the verifier says it trusted the export's key");

    const pinned = await verifyExport(dir, { publicKeyPem: pemOf(signingKey) });
    assert.equal(pinned.ok, false);
    assert.deepEqual(
      pinned.problems.map((p) => [p.kind, p.treeSize]),
      [
        ["badSignature", 300],
        ["badSignature", 400],
        ["badSignature", undefined],
      ],
    );
  });

  it("a checkpoint validly signed for another origin (the same key's other log) is refused", async () => {
    const dir = copy();
    const lines = readCheckpointLines(dir);
    const cp = JSON.parse(lines[2]) as Checkpoint;
    lines[2] = JSON.stringify(signCheckpoint({ origin: "sen.exchange/audit-staging", treeSize: cp.treeSize, root: cp.root, time: cp.time }, signingKey.privateKey));
    writeCheckpointLines(dir, lines);
    const r = await verifyExport(dir, { publicKeyPem: pemOf(signingKey) });
    assert.deepEqual(
      r.problems.map((p) => [p.kind, p.treeSize]),
      [["badSignature", cp.treeSize]],
    );
    assert.match(r.problems[0].message, /for origin "sen.exchange\/audit-staging"/);
  });

  it("signed checkpoints out of order are reported", async () => {
    const dir = copy();
    const lines = readCheckpointLines(dir);
    [lines[2], lines[3]] = [lines[3], lines[2]];
    writeCheckpointLines(dir, lines);
    const r = await verifyExport(dir);
    assert.deepEqual(
      r.problems.map((p) => [p.kind, p.treeSize]),
      [["rootMismatch", checkpointSizes[2]]],
    );
    assert.match(r.problems[0].message, /go backwards/);
  });

  it("the CLI exits 0 on a good export, 1 on tampering, 2 on usage errors", () => {
    const good = spawnSync(process.execPath, [CLI, exported, "--json"], { encoding: "utf8" });
    assert.equal(good.status, 0, good.stderr);
    assert.equal((JSON.parse(good.stdout) as { ok: boolean }).ok, true);

    const dir = copy();
    const rows = readRows(dir);
    rows[10] = rows[10].replace(/"qty":"\d"/, '"qty":"0"');
    writeRows(dir, rows);
    const bad = spawnSync(process.execPath, [CLI, dir, "--json"], { encoding: "utf8" });
    assert.equal(bad.status, 1, bad.stderr);
    const result = JSON.parse(bad.stdout) as { ok: boolean; problems: Array<{ kind: string; seq?: number }> };
    assert.equal(result.ok, false);
    assert.equal(result.problems[0].seq, 10);

    const text = spawnSync(process.execPath, [CLI, dir], { encoding: "utf8" });
    assert.equal(text.status, 1);
    assert.match(text.stdout, /PROBLEM edited \(seq 10\)/);

    assert.equal(spawnSync(process.execPath, [CLI, join(tmp, "nope")], { encoding: "utf8" }).status, 2);
    assert.equal(spawnSync(process.execPath, [CLI], { encoding: "utf8" }).status, 2);
  });
});

describe("witnessCheck", () => {
  let t = 1n;
  const now = () => ++t;
  let logs = 0;
  const openLog = (opts: { key?: typeof signingKey; origin?: string } = {}) =>
    openAuditLog({ dir: join(tmp, `witnessed${++logs}`), signingKey: opts.key ?? signingKey, origin: opts.origin, now });
  async function logOf(events: number, opts: { key?: typeof signingKey; origin?: string; offset?: number } = {}): Promise<AuditLog> {
    const l = await openLog(opts);
    for (let i = 0; i < events; i++) l.append(fill(i + (opts.offset ?? 0)));
    await l.checkpointNow();
    return l;
  }

  /** What the fake gateway serves: a real log's checkpoint and proofs, optionally mixed up. */
  type Served = { log: AuditLog; pem: string; checkpoint?: Checkpoint; proofsFrom?: AuditLog; refuse?: boolean };
  let served: Served;
  let wlog: AuditLog;
  const opened: AuditLog[] = [];
  let url = "";
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    const q = (k: string) => Number(u.searchParams.get(k));
    const proofs = served.proofsFrom ?? served.log;
    res.setHeader("content-type", "application/json");
    try {
      if (served.refuse) throw new Error("refused");
      let data: unknown;
      if (u.pathname === "/api/v1/audit/checkpoint") data = { ...(served.checkpoint ?? served.log.latestCheckpoint()), publicKeyPem: served.pem };
      else if (u.pathname === "/api/v1/audit/proof/consistency") data = proofs.consistencyProof(q("first"), q("second"));
      else if (u.pathname === "/api/v1/audit/proof/inclusion") data = proofs.inclusionProof(q("seq"), q("treeSize"));
      res.end(JSON.stringify({ code: "200000", data }));
    } catch (e) {
      // As the gateway answers a bad range: an error envelope, never a hung request.
      res.statusCode = 400;
      res.end(JSON.stringify({ code: "400100", msg: (e as Error).message }));
    }
  });

  before(async () => {
    wlog = await logOf(50);
    served = { log: wlog, pem: pemOf(signingKey) };
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.close();
    await wlog.close();
    for (const l of opened) await l.close();
  });
  const keep = (l: AuditLog) => (opened.push(l), l);

  let states = 0;
  /** A state file pinned by a clean check of the genuine log as it is now. */
  async function pinnedState(): Promise<string> {
    served = { log: wlog, pem: pemOf(signingKey) };
    const state = join(tmp, `witness-state${++states}.json`);
    const r = await witnessCheck(url, state);
    assert.deepEqual(r.problems, []);
    assert.equal(JSON.parse(readFileSync(state, "utf8")).checkpoint.treeSize, wlog.size);
    return state;
  }
  /** Checks once against `state` and asserts the state file did not move. */
  async function checkRefused(state: string) {
    const before = readFileSync(state, "utf8");
    const r = await witnessCheck(url, state);
    assert.equal(r.ok, false);
    assert.equal(readFileSync(state, "utf8"), before, "state not advanced");
    return r;
  }

  it("pins the key on first use, accepts a grown log, rejects a rewritten one", async () => {
    const state = join(tmp, "witness-state.json");
    const first = await witnessCheck(url, state);
    assert.deepEqual(first.problems, []);
    assert.ok(first.notes.some((n) => /created at tree size 50 \(key pinned\)/.test(n)));
    assert.equal(JSON.parse(readFileSync(state, "utf8")).publicKeyPem, pemOf(signingKey));
    for (let i = 50; i < 90; i++) wlog.append(fill(i));
    await wlog.checkpointNow();
    const grown = await witnessCheck(url, state);
    assert.deepEqual(grown.problems, []);
    assert.equal(grown.events, 90);
    assert.equal(JSON.parse(readFileSync(state, "utf8")).checkpoint.treeSize, 90);

    // Another log with a different history at a larger size: not an extension.
    served = { log: keep(await logOf(120, { offset: 1 })), pem: pemOf(signingKey) };
    const r = await checkRefused(state);
    assert.deepEqual(
      r.problems.map((p) => [p.kind, p.treeSize]),
      [["rootMismatch", 120]],
    );
    assert.match(r.problems[0].message, /does not extend the one at 90/);
  });

  it("refuses a gateway that starts serving another key, even with checkpoints that key signed", async () => {
    const state = await pinnedState();
    served = { log: keep(await logOf(wlog.size + 10, { key: otherKey })), pem: pemOf(otherKey) };
    const r = await checkRefused(state);
    assert.deepEqual(
      r.problems.map((p) => p.kind),
      ["badSignature", "badSignature"],
    );
    assert.match(r.problems[0].message, /different public key than the one pinned/);
    assert.match(r.problems[1].message, /does not verify with the pinned public key/);
    // The pinned key stays pinned: serving the genuine log again is fine.
    served = { log: wlog, pem: pemOf(signingKey) };
    assert.deepEqual((await witnessCheck(url, state)).problems, []);
  });

  it("refuses a checkpoint signed by another key served alongside the pinned key", async () => {
    const state = await pinnedState();
    const cp = wlog.latestCheckpoint()!;
    const forged = signCheckpoint({ origin: cp.origin, treeSize: cp.treeSize, root: cp.root, time: cp.time }, otherKey.privateKey);
    served = { log: wlog, pem: pemOf(signingKey), checkpoint: forged };
    const r = await checkRefused(state);
    assert.deepEqual(
      r.problems.map((p) => [p.kind, p.treeSize]),
      [["badSignature", cp.treeSize]],
    );
    assert.match(r.problems[0].message, /does not verify with the pinned public key/);
  });

  it("without a state file, checks the checkpoint against the key served with it", async () => {
    const cp = wlog.latestCheckpoint()!;
    served = { log: wlog, pem: pemOf(signingKey) };
    const good = await witnessCheck(url);
    assert.deepEqual(good.problems, []);
    assert.ok(good.notes.some((n) => n.startsWith("no --state file")));
    served.checkpoint = signCheckpoint({ origin: cp.origin, treeSize: cp.treeSize, root: cp.root, time: cp.time }, otherKey.privateKey);
    const r = await witnessCheck(url);
    assert.deepEqual(
      r.problems.map((p) => p.kind),
      ["badSignature"],
    );
    assert.match(r.problems[0].message, /does not verify with the served public key/);
  });

  it("refuses a checkpoint of another origin signed by the same key", async () => {
    const state = await pinnedState();
    served = { log: keep(await logOf(wlog.size + 10, { origin: "sen.exchange/audit-staging" })), pem: pemOf(signingKey) };
    const r = await checkRefused(state);
    assert.deepEqual(
      r.problems.map((p) => p.kind),
      ["badSignature"],
    );
    assert.match(r.problems[0].message, /origin changed from "sen.exchange\/audit" to "sen.exchange\/audit-staging"/);
  });

  it("refuses a log that shrank", async () => {
    const state = await pinnedState();
    served = { log: keep(await logOf(wlog.size - 20)), pem: pemOf(signingKey) };
    const r = await checkRefused(state);
    assert.deepEqual(
      r.problems.map((p) => [p.kind, p.treeSize]),
      [["rootMismatch", wlog.size - 20]],
    );
    assert.match(r.problems[0].message, /shrank/);
  });

  it("refuses a second root signed for the same tree size (a fork)", async () => {
    const state = await pinnedState();
    served = { log: keep(await logOf(wlog.size, { offset: 7 })), pem: pemOf(signingKey) };
    const r = await checkRefused(state);
    assert.deepEqual(
      r.problems.map((p) => [p.kind, p.treeSize]),
      [["rootMismatch", wlog.size]],
    );
    assert.match(r.problems[0].message, /two different roots/);
  });

  it("refuses inclusion proofs that do not match the signed root", async () => {
    const state = await pinnedState();
    served = { log: wlog, pem: pemOf(signingKey), proofsFrom: keep(await logOf(wlog.size + 30, { offset: 3 })) };
    const r = await checkRefused(state);
    assert.deepEqual(
      r.problems.map((p) => [p.kind, p.seq, p.treeSize]),
      [["rootMismatch", wlog.size - 1, wlog.size]],
    );
    assert.match(r.problems[0].message, /inclusion proof/);
  });

  it("a gateway that answers with an error is an I/O error, not a verdict", async () => {
    const state = await pinnedState();
    const before = readFileSync(state, "utf8");
    served = { log: wlog, pem: pemOf(signingKey), refuse: true };
    await assert.rejects(witnessCheck(url, state), (e: unknown) => e instanceof AuditError && e.code === "AUDIT_IO" && /HTTP 400 \(refused\)/.test(e.message));
    assert.equal(readFileSync(state, "utf8"), before);
  });
});
