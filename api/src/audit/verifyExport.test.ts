import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
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
import { leafHash, toHex } from "./merkle.ts";
import { verifyExport } from "./verifyExport.ts";
import { witnessCheck } from "./witness.ts";

const tmp = mkdtempSync(join(tmpdir(), "sen-verify-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const signingKey = generateKeyPairSync("ed25519");
const EVENTS = 3_000;
const CLI = fileURLToPath(new URL("../../../scripts/auditVerify.ts", import.meta.url));

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
    await new Promise((r) => setImmediate(r));
    exported = join(tmp, "export");
    await log.exportTo(exported);
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

  it("witness mode: pins the key, accepts a grown log, rejects a rewritten one", async () => {
    const dir = join(tmp, "witnessed");
    let t = 1n;
    const wlog = await openAuditLog({ dir, signingKey, now: () => ++t });
    for (let i = 0; i < 50; i++) wlog.append(fill(i));
    await wlog.checkpointNow();
    let served: AuditLog = wlog;
    const server = createServer((req, res) => {
      const u = new URL(req.url ?? "/", "http://x");
      const q = (k: string) => Number(u.searchParams.get(k));
      let data: unknown;
      if (u.pathname === "/api/v1/audit/checkpoint") data = { ...served.latestCheckpoint(), publicKeyPem: signingKey.publicKey.export({ type: "spki", format: "pem" }) };
      else if (u.pathname === "/api/v1/audit/proof/consistency") data = served.consistencyProof(q("first"), q("second"));
      else if (u.pathname === "/api/v1/audit/proof/inclusion") data = served.inclusionProof(q("seq"), q("treeSize"));
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ code: "200000", data }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const state = join(tmp, "witness-state.json");
    try {
      assert.equal((await witnessCheck(url, state)).ok, true);
      for (let i = 50; i < 90; i++) wlog.append(fill(i));
      await wlog.checkpointNow();
      const grown = await witnessCheck(url, state);
      assert.deepEqual(grown.problems, []);
      assert.equal(grown.events, 90);

      // Another log with a different history at a larger size: not an extension.
      const fork = await openAuditLog({ dir: join(tmp, "fork"), signingKey, now: () => ++t });
      for (let i = 0; i < 120; i++) fork.append(fill(i + 1));
      await fork.checkpointNow();
      served = fork;
      const r = await witnessCheck(url, state);
      assert.equal(r.ok, false);
      assert.equal(r.problems[0].kind, "rootMismatch");
      assert.equal(JSON.parse(readFileSync(state, "utf8")).checkpoint.treeSize, 90); // state not advanced
      await fork.close();
    } finally {
      server.close();
      await wlog.close();
    }
  });
});
