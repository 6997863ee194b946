import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { AuditEvent } from "../src/compliance/audit/auditEvent.ts";
import { parseIsoMicros, isoMicros } from "../src/compliance/audit/auditEvent.ts";
import { loadOrCreateSigningKey } from "../src/compliance/audit/checkpoint.ts";
import { runAuditVerify } from "../src/compliance/audit/verifyCli.ts";
import { auditAnchorAbi } from "../src/chain/auditAnchorer.ts";
import type { ChainServices } from "../src/chain/chainServices.ts";
import { injectSigningWallet } from "./support/browserWallet.ts";
import { hardhatAccount, type ChainFixture } from "./support/chainFixture.ts";
import { EXPECTED, TAMPERS, tamper, type Knobs, type Tamper } from "./support/exportTampers.ts";
import { getJson, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { startAuditedExchange } from "./support/auditedExchange.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { until } from "./support/until.ts";
import type { Browser } from "playwright-core";

const SYMBOL = "GOLD-VND";
const CHROMIUM = "/usr/bin/chromium";
const VERIFY = path.resolve(import.meta.dirname, "../../scripts/auditVerify.ts");

/** The real command line in its own process: exit code, stdout, stderr. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [VERIFY, ...args], (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

const BUNDLE_FILES = ["checkpoint.pub", "checkpoints.jsonl", "manifest.json", "leaves.bin", "events.jsonl"];
function untar(file: string, dir: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync("tar", ["-xf", file, "-C", dir]);
}
function retar(dir: string, file: string): void {
  execFileSync("tar", ["-cf", file, "-C", dir, ...BUNDLE_FILES.filter((f) => readdirSync(dir).includes(f))]);
}

/**
 * Issue #17's "done when": trade, wait for the checkpoint covering the fill to be anchored on
 * chain, download the bundle from the compliance route, and the real `audit:verify` process
 * passes it against the chain (trusted contract from the deployment file); every kind of
 * tampered bundle fails with exit 1 and one line.
 */
describe("audit bundle end to end: trade → anchored → bundle from the route → verified against the chain", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let services: ChainServices | undefined;
  let browser: Browser | undefined;
  let officer: ApiCredentials;
  let seller: ApiCredentials;
  let buyer: ApiCredentials;
  const tmp = mkdtempSync(path.join(tmpdir(), "sen-bundle-e2e-"));
  const accounts = { officer: hardhatAccount(55), seller: hardhatAccount(56), buyer: hardhatAccount(57), operator: hardhatAccount(58) };

  before(async () => {
    ({ chain, gw, services, officer, seller, buyer } = await startAuditedExchange({ name: "bundle", accounts, gold: "100" }));
  });
  after(async () => {
    await browser?.close();
    await services?.stop();
    await gw?.close();
    await chain?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const bundle = (query = "", token = officer.token) => fetch(`${gw.url}/api/v1/compliance/audit/bundle${query}`, { headers: { authorization: `Bearer ${token}` } });
  const latestAnchored = async () =>
    Number((await chain.publicClient.readContract({ address: chain.deployment.contracts.AuditAnchor!, abi: auditAnchorAbi, functionName: "latest" }))[0]);

  async function download(query: string, name: string): Promise<{ file: string; treeSize: number }> {
    const res = await bundle(query);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get("content-type"), "application/x-tar");
    const disposition = /^attachment; filename="(sen-audit-[A-Za-z0-9._-]+-(\d+)\.tar)"$/.exec(res.headers.get("content-disposition") ?? "");
    assert.ok(disposition, `content-disposition: ${res.headers.get("content-disposition")}`);
    const treeSize = Number(disposition[2]);
    assert.equal(res.headers.get("x-sen-audit-tree-size"), String(treeSize));
    const file = path.join(tmp, name, disposition[1]);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    return { file, treeSize };
  }

  it("passes against the chain, and each kind of tampered bundle fails with exit 1 and a one-line reason", { timeout: 120_000 }, async () => {
    const s = kucoinClient(() => gw.url, seller);
    const b = kucoinClient(() => gw.url, buyer);
    assert.equal((await s("POST", "/api/v1/orders", { clientOid: "bd-s1", side: "sell", symbol: SYMBOL, type: "limit", price: "10000", size: "3" })).code, "200000");
    assert.equal((await b("POST", "/api/v1/orders", { clientOid: "bd-b1", side: "buy", symbol: SYMBOL, type: "limit", price: "10000", size: "2" })).code, "200000");
    const fill = await until("the fill in the audit trail", async () => {
      const page = (await getJson(`${gw.url}/api/v1/compliance/events?type=order.filled&account=${seller.accountId}`, officer.token)) as { items: AuditEvent[] };
      return page.items[0];
    });
    // The checkpoint covering the fill anchored on chain by the gateway's own anchorer.
    const anchoredEnd = await until("a checkpoint covering the fill anchored on chain", async () => ((await latestAnchored()) > fill.seq ? latestAnchored() : undefined), 30_000, 100);
    // Anchoring stops here, so the contract's head is what the bundle must reach (no --partial-to).
    await services!.stop();
    services = undefined;
    const head = await latestAnchored();
    assert.ok(head >= anchoredEnd);

    const { file, treeSize } = await download("", "genuine");
    assert.ok(treeSize >= head, `bundle ends at ${treeSize}, before the anchored head ${head}`);
    const trusted = ["--rpc", chain.rpcUrl!, "--deployment", chain.deploymentFile!];
    const honest = await cli([file, ...trusted, "--json"]);
    assert.equal(honest.code, 0, honest.stderr + honest.stdout);
    assert.equal(honest.stderr, "");
    const result = JSON.parse(honest.stdout) as { ok: boolean; events: number; anchorsChecked: number };
    assert.equal(result.events, treeSize);
    assert.ok(result.anchorsChecked > 0, honest.stdout);
    // The same with the address and chain id given by hand.
    const byHand = await cli([file, "--rpc", chain.rpcUrl!, "--anchor", chain.deployment.contracts.AuditAnchor!, "--chain-id", String(await chain.publicClient.getChainId())]);
    assert.equal(byHand.code, 0, byHand.stderr);
    assert.match(byHand.stdout, /OK: no tampering found/);

    const genuine = path.join(tmp, "unpacked");
    untar(file, genuine);
    const rows = readFileSync(path.join(genuine, "events.jsonl"), "utf8").split("\n").slice(0, -1);
    assert.equal(rows.length, treeSize);
    assert.ok(rows.some((r) => (JSON.parse(r) as AuditEvent).id === fill.id), "the fill is in the bundle");

    // The exchange's own key re-signs the rewritten history (the strongest forger); the forger's key signs the forged checkpoint.
    const exchange = loadOrCreateSigningKey(gw.ctx.config.audit.dir);
    const forger = generateKeyPairSync("ed25519");
    const knobs: Knobs = { a: fill.seq, b: fill.seq + 1, sameKey: false, count: 2, address: `0x${"5e".repeat(20)}` };
    const per: Partial<Record<Tamper, Partial<Knobs>>> = { truncate: { a: 0 }, resignedStripped: { sameKey: true }, delete: { count: 1 } };
    for (const kind of TAMPERS) {
      const dir = path.join(tmp, `t-${kind}`);
      cpSync(genuine, dir, { recursive: true });
      tamper(kind, dir, { ...knobs, ...per[kind] }, head, { exchange, forger });
      const tar = path.join(tmp, `t-${kind}.tar`);
      retar(dir, tar);
      const out = await cli([tar, ...trusted, "--json"]);
      assert.equal(out.code, 1, `${kind}: exit ${out.code} ${out.stderr}`);
      assert.match(out.stderr, /^audit:verify: FAILED \(\w+\): [^\n]+\n$/, `${kind}: not one line with a reason`);
      const problems = (JSON.parse(out.stdout) as { problems: Array<{ kind: string }> }).problems.map((p) => p.kind);
      assert.ok(
        problems.some((p) => EXPECTED[kind].includes(p)),
        `${kind}: expected ${EXPECTED[kind].join("|")}, got ${problems.join(",")}`,
      );
    }
    // Without the chain the re-signed history looks whole: only the anchors betray it.
    const resigned = path.join(tmp, "t-resignedStripped.tar");
    assert.equal((await cli([resigned])).code, 0);
  });

  it("refuses a toSeq with no checkpoint at or below it in the error envelope, and serves compliance only", async () => {
    // No checkpoint is ever signed at size 0 (only when the log grew): toSeq=0 has nothing to end at.
    const none = await bundle("?toSeq=0");
    assert.equal(none.status, 400);
    const body = (await none.json()) as { code: string; msg: string };
    assert.equal(body.code, "400100");
    assert.match(body.msg, /toSeq 0: no signed checkpoint at or below this tree size \(toSeq is exclusive\); the first is at \d+/);
    assert.equal((await bundle("?toSeq=-3")).status, 400);
    assert.equal((await bundle("?toSeq=12&extra=1")).status, 400);
    const trader = await bundle("", seller.token);
    assert.notEqual(trader.status, 200);

    // toSeq at a checkpoint's tree size: the bundle ends exactly there.
    const cp = gw.ctx.audit.log.checkpoints().at(-1)!;
    const { file, treeSize } = await download(`?toSeq=${cp.treeSize}`, "partial");
    assert.equal(treeSize, cp.treeSize);
    assert.equal((await runAuditVerify([file, "--partial-to", String(cp.treeSize)])).code, 0);
    // Each download is recorded as an audit query.
    const queries = (await getJson(`${gw.url}/api/v1/compliance/events?type=audit.query&account=${officer.accountId}&limit=1000`, officer.token)) as { items: AuditEvent[] };
    assert.ok(queries.items.some((e) => e.reason === "auditBundle" && (e.detail as { toSeq?: number } | undefined)?.toSeq === cp.treeSize));
  });

  it("bundles and exports in seq order even when event times go backwards", async () => {
    // Events stamped earlier than the ones logged before them (as a late journal catch-up is).
    const past = parseIsoMicros(new Date(Date.now() - 3_600_000).toISOString());
    for (let i = 0; i < 3; i++) gw.ctx.audit.record({ type: "deposit", account: seller.accountId, currency: "GOLD", amount: "1", ts: isoMicros(past + BigInt(i)) });
    await gw.ctx.audit.flush();

    const { file, treeSize } = await download("", "late");
    const dir = path.join(tmp, "late-unpacked");
    untar(file, dir);
    const events = readFileSync(path.join(dir, "events.jsonl"), "utf8")
      .split("\n")
      .slice(0, -1)
      .map((l) => JSON.parse(l) as AuditEvent);
    assert.deepEqual(
      events.map((e) => e.seq),
      [...Array(treeSize).keys()],
    );
    assert.ok(
      events.some((e, i) => i > 0 && parseIsoMicros(e.ts) < parseIsoMicros(events[i - 1].ts)),
      "time order differs from seq order in this log",
    );
    assert.equal((await runAuditVerify([file])).code, 0);

    // The compliance search export is in seq order too (time filters still apply).
    const from = new Date(Date.now() - 2 * 3_600_000).toISOString().slice(0, 19) + "Z";
    await until("the late events indexed", async () => (await gw.ctx.audit.index.lastSeq()) >= treeSize - 1);
    const res = await fetch(`${gw.url}/api/v1/compliance/events/export?format=jsonl&account=${seller.accountId}&from=${from}`, { headers: { authorization: `Bearer ${officer.token}` } });
    assert.equal(res.status, 200);
    const exported = (await res.text())
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AuditEvent);
    assert.ok(exported.length > 3);
    for (let i = 1; i < exported.length; i++) assert.ok(exported[i].seq > exported[i - 1].seq, "export in seq order");
    assert.ok(
      exported.some((e, i) => i > 0 && parseIsoMicros(e.ts) < parseIsoMicros(exported[i - 1].ts)),
      "the late deposits come after later-stamped events, in log order",
    );
  });

  it("a single-use link: issued to compliance only, bound to its checkpoint, consumed by its first use, expired or unknown refused in the envelope", async () => {
    const link = async (body: unknown, token = officer.token) =>
      fetch(`${gw.url}/api/v1/compliance/audit/bundle/link`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    assert.notEqual((await link({}, seller.token)).status, 200);
    assert.equal((await link({ toSeq: 0 })).status, 400);
    const res = await link({});
    assert.equal(res.status, 200);
    const l = ((await res.json()) as { data: { url: string; expiresAt: string; treeSize: number; root: string; file: string } }).data;
    assert.match(l.url, /^\/api\/v1\/compliance\/audit\/bundle\/download\?token=[A-Za-z0-9_-]{43}$/);
    assert.ok(Date.parse(l.expiresAt) - Date.now() <= 60_000 && Date.parse(l.expiresAt) > Date.now());
    // More events after the link: the download still ends at the checkpoint the link named.
    gw.ctx.audit.record({ type: "deposit", account: seller.accountId, currency: "GOLD", amount: "1" });
    const got = await fetch(`${gw.url}${l.url}`);
    assert.equal(got.status, 200);
    assert.equal(got.headers.get("x-sen-audit-tree-size"), String(l.treeSize));
    assert.equal(got.headers.get("x-sen-audit-checkpoint-root"), l.root);
    assert.equal(got.headers.get("content-disposition"), `attachment; filename="${l.file}"`);
    const file = path.join(tmp, "link", l.file);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, Buffer.from(await got.arrayBuffer()));
    assert.equal((await runAuditVerify([file, "--partial-to", String(l.treeSize)])).code, 0);
    // Used once: a second use, a made-up token and a malformed one are refused alike.
    const again = await fetch(`${gw.url}${l.url}`);
    assert.equal(again.status, 401);
    assert.match(((await again.json()) as { msg: string }).msg, /Download link invalid, already used or expired/);
    assert.equal((await fetch(`${gw.url}/api/v1/compliance/audit/bundle/download?token=${"A".repeat(43)}`)).status, 401);
    assert.equal((await fetch(`${gw.url}/api/v1/compliance/audit/bundle/download?token=short`)).status, 400);

    // On record: the link's request (in the bundle: the checkpoint covers it), the download, and what was served; never the token.
    await gw.ctx.audit.flush();
    await until("the served record indexed", async () => (await gw.ctx.audit.index.lastSeq()) >= gw.ctx.audit.log.size - 1);
    const queries = ((await getJson(`${gw.url}/api/v1/compliance/events?type=audit.query&account=${officer.accountId}&limit=1000`, officer.token)) as { items: AuditEvent[] }).items;
    const served = queries.find((e) => e.reason === "auditBundleServed" && (e.detail as { treeSize?: number }).treeSize === l.treeSize);
    assert.deepEqual(served?.detail, { treeSize: l.treeSize, root: l.root, complete: true });
    assert.ok(queries.some((e) => e.reason === "auditBundleLink" && e.seq < l.treeSize));
    assert.ok(queries.some((e) => e.reason === "auditBundle" && (e.detail as { via?: string }).via === "link" && e.seq >= l.treeSize));
    const token = l.url.split("token=")[1];
    assert.ok(!JSON.stringify(queries).includes(token), "the token is on record");

    // The search export has the same kind of link (the body holds the export's query).
    const exportLink = (body: unknown, t = officer.token) =>
      fetch(`${gw.url}/api/v1/compliance/events/export/link`, { method: "POST", headers: { authorization: `Bearer ${t}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    assert.notEqual((await exportLink({ account: seller.accountId }, seller.token)).status, 200);
    const badRange = await exportLink({ account: seller.accountId, from: "2026-01-02T00:00:00Z", to: "2026-01-01T00:00:00Z" });
    assert.equal(badRange.status, 400);
    assert.match(((await badRange.json()) as { msg: string }).msg, /from must be before to/);
    const e = ((await (await exportLink({ account: seller.accountId, type: "deposit", format: "csv" })).json()) as { data: { url: string } }).data;
    assert.match(e.url, /^\/api\/v1\/compliance\/events\/export\/download\?token=[A-Za-z0-9_-]{43}$/);
    const csv = await fetch(`${gw.url}${e.url}`);
    assert.equal(csv.status, 200);
    assert.equal(csv.headers.get("content-type"), "text/csv; charset=utf-8");
    const viaHeader = await (await fetch(`${gw.url}/api/v1/compliance/events/export?account=${seller.accountId}&type=deposit&format=csv`, { headers: { authorization: `Bearer ${officer.token}` } })).text();
    assert.equal(await csv.text(), viaHeader);
    assert.equal((await fetch(`${gw.url}${e.url}`)).status, 401);
  });

  it("writes one bundle at a time per officer: a second is refused with 429 in the envelope while the first streams", async () => {
    // Big enough (~20 MB) that the kernel's socket buffers cannot take it all while nobody reads.
    for (let i = 0; i < 40_000; i++) gw.ctx.audit.record({ type: "deposit", account: buyer.accountId, currency: "VND", amount: "1", reason: "x".repeat(300) });
    await gw.ctx.audit.flush();
    const first = await bundle();
    assert.equal(first.status, 200);
    // The first stream is not read on: its writer waits on backpressure, still holding its slot (the bundle is larger than the socket buffers).
    const second = await bundle();
    const link = await fetch(`${gw.url}/api/v1/compliance/audit/bundle/link`, { method: "POST", headers: { authorization: `Bearer ${officer.token}`, "content-type": "application/json" }, body: "{}" });
    await first.body!.cancel();
    assert.equal(second.status, 429);
    const body = (await second.json()) as { code: string; msg: string; senCode: string };
    assert.equal(body.code, "429000");
    assert.equal(body.senCode, "AUDIT_BUNDLE_BUSY");
    assert.equal(link.status, 429);
    // Once the first has ended (here: cut by the reader), the officer may bundle again, and the cut one is on record as incomplete.
    await until("a bundle served again", async () => ((await bundle("?toSeq=" + gw.ctx.audit.log.checkpoints()[0].treeSize)).status === 200 ? true : undefined));
    const treeSize = Number(first.headers.get("x-sen-audit-tree-size"));
    await gw.ctx.audit.flush();
    await until("the cut bundle on record as incomplete", async () => {
      const q = (await getJson(`${gw.url}/api/v1/compliance/events?type=audit.query&account=${officer.accountId}&limit=1000`, officer.token)) as { items: AuditEvent[] };
      return q.items.find((e) => e.reason === "auditBundleServed" && (e.detail as { treeSize?: number; complete?: boolean }).treeSize === treeSize && (e.detail as { complete?: boolean }).complete === false);
    });
  });

  it("the console's Download verifiable bundle saves a bundle that verifies, and says what it holds", { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing`, timeout: 60_000 }, async () => {
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await injectSigningWallet(page, accounts.officer);
    await page.goto(`${gw.url}/compliance/`);
    await page.getByTestId("connect").click();
    await page.getByTestId("verify-badge").and(page.locator("[data-verified=true]")).waitFor({ timeout: 15_000 });
    // The browser follows a single-use link itself: no fetch of the body by the page (it would sit in the tab's memory).
    const fetched: string[] = [];
    page.on("request", (r) => {
      if (r.url().includes("/audit/bundle")) fetched.push(`${r.method()} ${new URL(r.url()).pathname} ${r.headers().authorization ? "bearer" : "no-auth"}`);
    });
    const [saved] = await Promise.all([page.waitForEvent("download"), page.getByTestId("download-bundle").click()]);
    const name = saved.suggestedFilename();
    const m = /^sen-audit-[A-Za-z0-9._-]+-(\d+)\.tar$/.exec(name);
    assert.ok(m, name);
    const file = path.join(tmp, "console", name);
    mkdirSync(path.dirname(file), { recursive: true });
    await saved.saveAs(file);
    const done = page.getByTestId("bundle-done");
    await done.waitFor();
    assert.equal(await done.innerText(), `Download started: ${Number(m[1]).toLocaleString("en-US")} events to checkpoint #${m[1]} (${name})`);
    const out = await runAuditVerify([file, "--json"]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal((JSON.parse(out.stdout) as { events: number }).events, Number(m[1]));
    // The page fetched only the link; the browser's own download (not a page request) took the link, as the log says.
    assert.deepEqual(fetched, ["POST /api/v1/compliance/audit/bundle/link bearer"]);
    await until("the console's download on record", async () => {
      const q = (await getJson(`${gw.url}/api/v1/compliance/events?type=audit.query&account=${officer.accountId}&limit=1000`, officer.token)) as { items: AuditEvent[] };
      return q.items.find((e) => e.reason === "auditBundle" && (e.detail as { via?: string; toSeq?: number }).via === "link" && (e.detail as { toSeq?: number }).toSeq === Number(m[1]));
    });

    // toSeq from the console: the bundle ends at the latest checkpoint at or below it.
    await page.getByTestId("bundle-to-seq").fill("0");
    await page.getByTestId("download-bundle").click();
    assert.match(await page.getByTestId("bundle-failed").innerText(), /toSeq 0: no signed checkpoint/);
    const cp = gw.ctx.audit.log.checkpoints()[0];
    await page.getByTestId("bundle-to-seq").fill(String(cp.treeSize));
    const [partial] = await Promise.all([page.waitForEvent("download"), page.getByTestId("download-bundle").click()]);
    assert.match(partial.suggestedFilename(), new RegExp(`-${cp.treeSize}\\.tar$`));
    const partialFile = path.join(tmp, "console", partial.suggestedFilename());
    await partial.saveAs(partialFile);
    assert.equal((await runAuditVerify([partialFile, "--partial-to", String(cp.treeSize)])).code, 0);
    await page.getByTestId("bundle-done").and(page.locator(`[data-tree-size="${cp.treeSize}"]`)).waitFor();
    // A search export with more matches than the page: the browser saves it from a link too, and the page says it started.
    await page.goto(`${gw.url}/compliance/#/search?account=${seller.accountId}&limit=5&order=asc`);
    await page.getByTestId("search-results").waitFor();
    const [exported] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-jsonl").click()]);
    const exportResult = page.getByTestId("export-result");
    await exportResult.waitFor();
    assert.match(await exportResult.innerText(), /^Export of more than 5 events started \(file sen-audit-.*\.jsonl\); your browser saves it\.$/);
    const exportedRows = readFileSync(await exported.path(), "utf8").split("\n").filter(Boolean);
    const expected = (await (await fetch(`${gw.url}/api/v1/compliance/events/export?account=${seller.accountId}&format=jsonl`, { headers: { authorization: `Bearer ${officer.token}` } })).text()).split("\n").filter(Boolean);
    assert.ok(exportedRows.length > 5);
    assert.deepEqual(exportedRows, expected);
    await page.goto(`${gw.url}/compliance/`);
    await page.getByTestId("verify-badge").and(page.locator("[data-verified=true]")).waitFor({ timeout: 15_000 });
    await page.getByTestId("bundle-to-seq").fill(String(cp.treeSize));
    await Promise.all([page.waitForEvent("download"), page.getByTestId("download-bundle").click()]);
    await page.getByTestId("bundle-done").waitFor();

    // A test run never rewrites the repository: screenshots go to docs/ only with SEN_UPDATE_SCREENSHOTS=1.
    const shots = process.env.SEN_UPDATE_SCREENSHOTS === "1" ? path.resolve(import.meta.dirname, "../../docs/screenshots") : mkdtempSync(path.join(tmpdir(), "sen-bundle-shots-"));
    mkdirSync(shots, { recursive: true });
    await page.locator("header.top").screenshot({ path: path.join(shots, "console-bundle-1280.png") });
    await page.setViewportSize({ width: 390, height: 800 });
    await page.locator("header.top").screenshot({ path: path.join(shots, "console-bundle-390.png") });
    assert.deepEqual(errors, []);
  });
});
