import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { startChain, type ChainFixture } from "./support/chainFixture.ts";
import { spawnExchange } from "./support/exchangeProcess.ts";
import { freePort } from "./support/freePort.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const START = path.join(ROOT, "scripts/start.ts");
const DEMO = path.join(ROOT, "scripts/demo.ts");

type Run = { child: ChildProcess; out: () => string; exited: Promise<number | null> };

function run(script: string, env: Record<string, string>): Run {
  const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", script], { cwd: ROOT, env: { ...process.env, SEN_LOG_LEVEL: "warn", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  return { child, out: () => out, exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))) };
}

async function ready(r: Run, marker: string, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!r.out().includes(marker)) {
    if (r.child.exitCode !== null) throw new Error(`exited with ${r.child.exitCode}:\n${r.out()}`);
    if (Date.now() > end) throw new Error(`not ready within ${timeoutMs} ms:\n${r.out()}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/**
 * A data directory holds the 10-year audit trail, the journal and the keys: nothing deletes it
 * at start, one process owns it at a time, and a bad setting stops a start before the disk is
 * touched.
 */
describe("data directory ownership and start-up order", () => {
  const base = mkdtempSync(path.join(tmpdir(), "sen-datadir-"));
  const running: Run[] = [];
  after(() => {
    for (const r of running) r.child.kill("SIGKILL");
    rmSync(base, { recursive: true, force: true });
  });

  it("a bad SEN_PORT or SEN_RPC_PORT stops `npm start` at once, naming the setting, with the data untouched", async () => {
    const dataDir = path.join(base, "bad-config");
    const marker = path.join(dataDir, "dev", "audit", "events-0.jsonl");
    mkdirSync(path.dirname(marker), { recursive: true });
    writeFileSync(marker, "the previous run's audit trail\n");
    for (const [name, value] of [["SEN_PORT", "abc"], ["SEN_RPC_PORT", "abc"]]) {
      const r = run(START, { SEN_DATA_DIR: dataDir, [name]: value });
      assert.notEqual(await r.exited, 0);
      assert.match(r.out(), new RegExp(`configuration: ${name}`), r.out());
      assert.equal(readFileSync(marker, "utf8"), "the previous run's audit trail\n", `${name}: nothing moved or deleted`);
      assert.deepEqual(readdirSync(dataDir), ["dev"]);
    }
  });

  it("a bad issuer setting, pilot rule file or audit signing key stops `npm start` before the previous run is moved aside or a chain deployed", async () => {
    const dataDir = path.join(base, "bad-later-config");
    const dev = path.join(dataDir, "dev");
    mkdirSync(path.join(dev, "audit"), { recursive: true });
    writeFileSync(path.join(dev, "audit", "events-000000000000.jsonl"), "the previous run's audit trail\n");
    writeFileSync(path.join(dev, "api-keys.json"), "{}\n");
    const rules = path.join(base, "bad-rules.json");
    writeFileSync(rules, `${JSON.stringify({ version: "broken" })}\n`);
    const ecKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    /** Every file under the data directory with its bytes: the refused start must leave them all. */
    const files = () =>
      readdirSync(dataDir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => `${path.relative(dataDir, path.join(e.parentPath, e.name))} ${readFileSync(path.join(e.parentPath, e.name), "utf8")}`)
        .sort();
    const before = files();
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ SEN_ISSUER_SALT: "not-hex" }, /SEN_ISSUER_SALT: /],
      [{ SEN_ISSUER_OFFICERS: "nobody" }, /SEN_ISSUER_OFFICERS: must be comma-separated 0x addresses/],
      // Every issuer setting reaches the issuer's check (these two were not passed on before).
      [{ SEN_ISSUER_TRUST_PROXY: "nginx" }, /SEN_ISSUER_TRUST_PROXY: must list the proxies/],
      [{ SEN_ISSUER_RETENTION_DAYS: "0" }, /SEN_ISSUER_RETENTION_DAYS: must be at least 1 day/],
      [{ SEN_PILOT_RULES: rules }, /SEN_PILOT_RULES: .*bad-rules\.json/],
      [{ SEN_AUDIT_SIGNING_KEY: ecKey }, /SEN_AUDIT_SIGNING_KEY: the audit signing key must be Ed25519, got ec/],
      [{ SEN_AUDIT_SIGNING_KEY: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" }, /SEN_AUDIT_SIGNING_KEY: not a readable PEM private key/],
    ];
    for (const [setting, words] of cases) {
      const r = run(START, { SEN_DATA_DIR: dataDir, SEN_PORT: "0", SEN_RPC_PORT: String(await freePort()), ...setting });
      running.push(r);
      const name = Object.keys(setting)[0];
      assert.notEqual(await r.exited, 0, `${name}: ${r.out()}`);
      assert.match(r.out(), words, r.out());
      assert.deepEqual(readdirSync(dataDir), ["dev"], `${name}: the previous run was moved aside`);
      assert.deepEqual(files(), before, `${name}: the data directory changed`);
      assert.doesNotMatch(r.out(), /previous run moved to/, name);
    }
  });

  it("a second `npm start` is refused while the first runs; the next start moves the previous run aside instead of deleting it", async () => {
    const dataDir = path.join(base, "start");
    const env = async () => ({ SEN_DATA_DIR: dataDir, SEN_PORT: "0", SEN_RPC_PORT: String(await freePort()), SEN_AUDIT_ANCHOR_MS: "3600000" });
    const first = run(START, await env());
    running.push(first);
    await ready(first, "Sen is running");
    // \`npm run demo\` against it: a sale settles on chain with the tax withheld, and the pilot's holder rule refuses the domestic investor in words.
    const demo = run(DEMO, { SEN_DATA_DIR: dataDir });
    assert.equal(await demo.exited, 0, demo.out());
    assert.match(demo.out(), /settled in tx 0x[0-9a-f]{64}/, demo.out());
    assert.match(demo.out(), /personal income tax withheld [1-9]\d* VND \(0\.1% of the sale\)/, demo.out());
    assert.match(demo.out(), /refused 400500 RISK_HOLDER_COUNTRY: .*NQ05-FOREIGN-ONLY: tokenised assets issued in Viet Nam are offered to and traded among foreign investors only/, demo.out());
    const auditDir = path.join(dataDir, "dev", "audit");
    const before = readdirSync(auditDir).sort();
    const events = before.filter((f) => /^events-\d+\.jsonl$/.test(f));
    assert.ok(events.length > 0);
    const trail = readFileSync(path.join(auditDir, events[0]), "utf8");
    assert.ok(trail.length > 0, "the first run recorded events");

    const second = run(START, await env());
    assert.notEqual(await second.exited, 0);
    assert.match(second.out(), /already running on .* \(process \d+\)/, second.out());
    // The running exchange may add files of its own meanwhile (a checkpoint on a slow machine); none of its files went.
    const after = readdirSync(auditDir);
    assert.deepEqual(before.filter((f) => !after.includes(f)), [], "the running exchange's files are untouched");
    assert.ok(readFileSync(path.join(auditDir, events[0]), "utf8").startsWith(trail), "its audit trail is whole");
    assert.ok(existsSync(path.join(dataDir, "dev", "LOCK")));

    first.child.kill("SIGINT");
    assert.equal(await first.exited, 0);
    assert.equal(existsSync(path.join(dataDir, "dev", "LOCK")), false, "released on a clean stop");
    const third = run(START, await env());
    running.push(third);
    await ready(third, "Sen is running");
    const aside = readdirSync(dataDir).filter((d) => d.startsWith("dev-previous-"));
    assert.equal(aside.length, 1, readdirSync(dataDir).join(", "));
    assert.ok(readFileSync(path.join(dataDir, aside[0], "audit", events[0]), "utf8").startsWith(trail), "the previous run's audit trail is kept whole");
    third.child.kill("SIGINT");
    assert.equal(await third.exited, 0);
  });

  describe("the gateway process", () => {
    let chain: ChainFixture;
    after(async () => {
      await chain?.close();
    });
    it("refuses a data directory another gateway process holds, and takes over one whose owner was killed", async () => {
      chain = await startChain({ serve: true });
      const dataDir = path.join(base, "gateway");
      const env = { SEN_CHAIN_RPC: chain.rpcUrl!, SEN_DEPLOYMENT: chain.deploymentFile!, SEN_DATA_DIR: dataDir, SEN_CONFIRMATIONS: "0" };
      const first = await spawnExchange(env);
      await assert.rejects(spawnExchange(env), /in use by process \d+/);
      assert.equal((await fetch(`${first.url}/health`)).status, 200, "the first one is unharmed");
      await first.kill9();
      const next = await spawnExchange(env); // the dead owner's lock is taken over
      assert.equal((await fetch(`${next.url}/health`)).status, 200);
      await next.stop();
    });
  });
});
