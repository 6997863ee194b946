import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { LOCAL_ROLE_ACCOUNTS } from "../../contracts/ignition/roleHolders.ts";
import { hardhatAccount, startChain, type ChainFixture } from "../../api/test/support/chainFixture.ts";
import { freePort } from "../../api/test/support/freePort.ts";
import pino from "pino";
import { ISSUER_ENV_KEYS, readIssuerConfig } from "../src/config.ts";
import { IssuerError } from "../src/errors.ts";
import { defaultService, startIssuer, type ServiceFactory } from "../src/main.ts";
import type { StoredApplication } from "../src/store.ts";
import { storeBackends } from "./support/storeBackends.ts";

const postgres = storeBackends()[1]!;
after(() => postgres.cleanup());
if (postgres.skip) console.log(`# issuer process on PostgreSQL skipped: ${postgres.skip}`);
const MAIN = path.join(import.meta.dirname, "../src/main.ts");
const officer = privateKeyToAccount(generatePrivateKey());
const ISSUER_KEY = toHex(hardhatAccount(LOCAL_ROLE_ACCOUNTS.kycIssuer).getHdKey().privateKey!);
const PII_KEY = `k1:${"ab".repeat(32)}`;
const SALT = "5a".repeat(32);

const baseEnv = (over: Record<string, string | undefined> = {}) => ({
  SEN_ISSUER_KEY: ISSUER_KEY,
  SEN_CHAIN_RPC: "http://127.0.0.1:8545",
  SEN_DEPLOYMENT: "deployments/31337.json",
  SEN_ISSUER_OFFICERS: officer.address,
  SEN_ISSUER_PII_KEYS: PII_KEY,
  SEN_ISSUER_SALT: SALT,
  ...over,
});

function refusal(env: Record<string, string | undefined>): IssuerError {
  try {
    readIssuerConfig(env);
  } catch (err) {
    assert.ok(err instanceof IssuerError);
    return err;
  }
  assert.fail("configuration accepted");
}

describe("issuer configuration", () => {
  it("lists the variables it reads, from its schema", () => {
    for (const key of ["SEN_ISSUER_KEY", "SEN_ISSUER_PII_KEYS", "SEN_ISSUER_SALT", "SEN_ISSUER_RETENTION_DAYS", "SEN_CHAIN_RPC", "DATABASE_URL"]) assert.ok(ISSUER_ENV_KEYS.includes(key), key);
  });

  it("reads a valid environment with its defaults", () => {
    const c = readIssuerConfig(baseEnv({ SEN_ISSUER_OFFICERS: ` ${officer.address.toLowerCase()} , ${privateKeyToAccount(generatePrivateKey()).address}` }));
    assert.equal(c.port, 8090);
    assert.equal(c.dataDir, "data/issuer");
    assert.equal(c.officers.size, 2);
    assert.ok(c.officers.has(officer.address), "officers are checksummed");
    assert.equal(c.identitySalt.length, 32);
    assert.equal(c.databaseUrl, undefined, "the embedded store by default");
    assert.equal(c.retentionDays, 1825);
    const pgc = readIssuerConfig(baseEnv({ DATABASE_URL: "postgresql://issuer:secret@db.internal:5432/issuer", SEN_ISSUER_RETENTION_DAYS: "30" }));
    assert.equal(pgc.databaseUrl, "postgresql://issuer:secret@db.internal:5432/issuer");
    assert.equal(pgc.retentionDays, 30);
    assert.equal(c.publicUrl, undefined, "the listening address by default");
    assert.equal(readIssuerConfig(baseEnv({ SEN_ISSUER_PUBLIC_URL: "https://KYC.sen.example:8443/" })).publicUrl, "https://kyc.sen.example:8443");
    assert.deepEqual(c.trustProxy, [], "no proxy is trusted by default");
    assert.deepEqual(readIssuerConfig(baseEnv({ SEN_ISSUER_TRUST_PROXY: "loopback, 10.0.0.0/8,2001:db8::/32 ,192.0.2.7" })).trustProxy, ["loopback", "10.0.0.0/8", "2001:db8::/32", "192.0.2.7"]);
  });

  it("refuses each bad variable by name, never quoting a secret", () => {
    const cases: [Record<string, string | undefined>, string][] = [
      [{ SEN_ISSUER_KEY: undefined }, "SEN_ISSUER_KEY"],
      [{ SEN_ISSUER_KEY: ISSUER_KEY.slice(0, 40) }, "SEN_ISSUER_KEY"],
      [{ SEN_CHAIN_RPC: "ftp://x" }, "SEN_CHAIN_RPC"],
      [{ SEN_DEPLOYMENT: "" }, "SEN_DEPLOYMENT"],
      [{ SEN_ISSUER_OFFICERS: "0x12, 0x34" }, "SEN_ISSUER_OFFICERS"],
      [{ SEN_ISSUER_OFFICERS: " , " }, "SEN_ISSUER_OFFICERS"],
      [{ SEN_ISSUER_PII_KEYS: "k1:abcd" }, "SEN_ISSUER_PII_KEYS"],
      [{ SEN_ISSUER_PII_KEYS: `${PII_KEY},${PII_KEY}` }, "SEN_ISSUER_PII_KEYS"],
      [{ SEN_ISSUER_SALT: "5a".repeat(31) }, "SEN_ISSUER_SALT"],
      [{ SEN_ISSUER_PORT: "70000" }, "SEN_ISSUER_PORT"],
      [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
      [{ DATABASE_URL: "postgres://[bad" }, "DATABASE_URL"],
      [{ SEN_ISSUER_RETENTION_DAYS: "0" }, "SEN_ISSUER_RETENTION_DAYS"],
      [{ SEN_ISSUER_RETENTION_DAYS: "1.5" }, "SEN_ISSUER_RETENTION_DAYS"],
      [{ SEN_ISSUER_RETENTION_DAYS: "forever" }, "SEN_ISSUER_RETENTION_DAYS"],
      [{ SEN_ISSUER_RETENTION_DAYS: "182500" }, "SEN_ISSUER_RETENTION_DAYS"],
      [{ SEN_ISSUER_PUBLIC_URL: "kyc.sen.example" }, "SEN_ISSUER_PUBLIC_URL"],
      [{ SEN_ISSUER_PUBLIC_URL: "ftp://kyc.sen.example" }, "SEN_ISSUER_PUBLIC_URL"],
      [{ SEN_ISSUER_PUBLIC_URL: "https://kyc.sen.example/onboarding/" }, "SEN_ISSUER_PUBLIC_URL"],
      [{ SEN_ISSUER_TRUST_PROXY: "nginx" }, "SEN_ISSUER_TRUST_PROXY"],
      [{ SEN_ISSUER_TRUST_PROXY: "10.0.0.0/33" }, "SEN_ISSUER_TRUST_PROXY"],
      [{ SEN_ISSUER_TRUST_PROXY: "10.0.0.1/8/1" }, "SEN_ISSUER_TRUST_PROXY"],
    ];
    for (const [over, name] of cases) {
      const err = refusal(baseEnv(over));
      assert.equal(err.code, "ISSUER_CONFIG");
      assert.equal(err.field, name, JSON.stringify(over));
      assert.ok(err.message.startsWith(`${name}: `), err.message);
      for (const secret of [ISSUER_KEY.slice(2, 40), "ab".repeat(16), "5a".repeat(16)]) assert.ok(!err.message.includes(secret), err.message);
    }
  });
});

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; output: ${out}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before ${pattern}; output: ${out}`));
    });
  });
}

const collect = (child: ChildProcess) => {
  const o = { text: "" };
  child.stdout!.on("data", (d: Buffer) => (o.text += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (o.text += d.toString()));
  return o;
};

describe("npm run start:issuer (issuer/src/main.ts) as a process", () => {
  let chain: ChainFixture;
  let child: ChildProcess | undefined;
  before(async () => {
    chain = await startChain({ serve: true });
  });
  after(async () => {
    if (child && child.exitCode === null) child.kill("SIGTERM");
    await chain?.close();
  });

  it("refuses a bad configuration before touching the disk: exit 2, the variable named, no data directory", async () => {
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), "sen-issuer-")), "data");
    const bad = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH, ...baseEnv({ SEN_ISSUER_SALT: "00", SEN_ISSUER_DATA_DIR: dataDir, SEN_CHAIN_RPC: chain.rpcUrl!, SEN_DEPLOYMENT: chain.deploymentFile! }) } });
    const output = collect(bad);
    const code = await new Promise<number | null>((resolve) => bad.once("exit", resolve));
    assert.equal(code, 2);
    assert.match(output.text, /SEN_ISSUER_SALT: /);
    assert.ok(!output.text.includes(ISSUER_KEY.slice(2)));
    assert.equal(existsSync(dataDir), false);
  });

  it("starts against the chain, prints ISSUER_READY, serves /health and SIWE sign-in; the key never appears in its output", async () => {
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), "sen-issuer-")), "data");
    const port = await freePort();
    child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH, ...baseEnv({ SEN_ISSUER_PORT: String(port), SEN_ISSUER_DATA_DIR: dataDir, SEN_CHAIN_RPC: chain.rpcUrl!, SEN_DEPLOYMENT: chain.deploymentFile! }) },
    });
    const output = collect(child);
    const [, url] = await waitForLine(child, /ISSUER_READY (\S+)\n/);
    assert.equal(url, `http://127.0.0.1:${port}`);
    const health = await (await fetch(`${url}/health`)).json();
    assert.deepEqual(health, { status: "ok", chainId: chain.deployment.chainId, issuer: chain.deployment.roles.kycIssuer, registry: chain.deployment.contracts.IdentityRegistry, provider: { name: "development (NOT FOR PRODUCTION)", production: false } });
    assert.ok(existsSync(path.join(dataDir, "issuer.sqlite")), "the embedded store opened in the data directory");

    const post = async (p: string, body: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(`${url}/issuer/v1${p}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as any };
    };
    const signIn = async (account: typeof officer) => {
      const challenge = await post("/siwe/nonce", { address: account.address });
      const login = await post("/siwe/login", { message: challenge.body.message, signature: await account.signMessage({ message: challenge.body.message }) });
      assert.equal(login.status, 200);
      return login.body as { token: string; role: string };
    };
    const officerSession = await signIn(officer);
    assert.equal(officerSession.role, "officer");
    // The whole path through the process: a fresh wallet applies, the officer approves, the chain verifies it.
    const applicant = privateKeyToAccount(generatePrivateKey());
    const applicantSession = await signIn(applicant);
    const application = { idNumber: "001190123456", fullName: "Nguyễn Thị Bích Ngọc", dateOfBirth: "1990-05-17", sex: "female", nationality: 704, chipDataHash: `0x${"ab".repeat(32)}`, verification: { provider: "development (NOT FOR PRODUCTION)", sessionId: "s-1" }, investorType: "retail" };
    const submitted = await post("/applications", application, { authorization: `Bearer ${applicantSession.token}`, "idempotency-key": "process-test-1" });
    assert.equal(submitted.status, 200, JSON.stringify(submitted.body));
    const expiresAt = Number((await chain.publicClient.getBlock()).timestamp) + 365 * 86400;
    const approved = await post(`/review/applications/${submitted.body.id}/approve`, { kycLevel: 2, investorType: "retail", expiresAt }, { authorization: `Bearer ${officerSession.token}` });
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.equal(await chain.registry.read.isVerified([applicant.address]), true);
    child.kill("SIGTERM");
    await new Promise((resolve) => child!.once("exit", resolve));
    assert.ok(!output.text.includes(ISSUER_KEY.slice(2)), "the issuer key is never printed");
    assert.ok(!output.text.includes("ab".repeat(32)), "the PII key is never printed");
    assert.match(output.text, /"issuer audit"/, "the run was logged");
    for (const secret of ["001190123456", "Nguyễn", "1990-05-17"]) assert.ok(!output.text.includes(secret), `the process printed ${secret}`);
  });

  it("signs in on the configured public origin (SEN_ISSUER_PUBLIC_URL): its host is the domain, its origin the URI; a message naming another URI is refused", async () => {
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), "sen-issuer-")), "data");
    const config = readIssuerConfig(baseEnv({ SEN_ISSUER_PORT: "0", SEN_ISSUER_PUBLIC_URL: "https://kyc.sen.example", SEN_ISSUER_DATA_DIR: dataDir, SEN_CHAIN_RPC: chain.rpcUrl!, SEN_DEPLOYMENT: chain.deploymentFile! }));
    const running = await startIssuer(config, { logger: pino({ level: "silent" }), createService: defaultService });
    try {
      const post = async (p: string, body: unknown) => {
        const res = await fetch(`${running.url}/issuer/v1${p}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
        return { status: res.status, body: (await res.json()) as any };
      };
      const applicant = privateKeyToAccount(generatePrivateKey());
      const login = async (edit: (m: string) => string = (m) => m) => {
        const message = edit((await post("/siwe/nonce", { address: applicant.address })).body.message);
        return post("/siwe/login", { message, signature: await applicant.signMessage({ message }) });
      };
      const { message } = (await post("/siwe/nonce", { address: applicant.address })).body;
      assert.match(message, /^kyc\.sen\.example wants you to sign in/);
      assert.match(message, /\nURI: https:\/\/kyc\.sen\.example\n/);
      assert.equal((await login()).status, 200);
      const elsewhere = await login((m) => m.replace("URI: https://kyc.sen.example", `URI: ${running.url}`));
      assert.deepEqual([elsewhere.status, elsewhere.body.code], [401, "ISSUER_AUTH_SIWE_INVALID"]);
    } finally {
      await running.close();
    }
  });

  it("with DATABASE_URL runs on PostgreSQL, purging at start only the personal data past retention (SEN_ISSUER_RETENTION_DAYS)", { skip: postgres.skip }, async () => {
    const url = await postgres.fresh();
    const DAY = 86_400_000;
    const now = Date.now();
    const seeded = (id: string, decidedAt: number): StoredApplication => ({
      id, wallet: privateKeyToAccount(generatePrivateKey()).address, identityHash: `0x${id.padStart(64, "0")}`, status: "rejected", kind: "new-identity",
      submittedAt: decidedAt - DAY, provider: "development (NOT FOR PRODUCTION)", providerProduction: false,
      verification: { provider: "development (NOT FOR PRODUCTION)", production: false, chipVerified: true, faceMatchBps: 9700, liveness: true, checkedAt: decidedAt - DAY },
      investorType: "retail", nationality: 704, decidedAt, reason: "photo unclear", requestKey: `seed-${id}`, piiKid: "k1", piiBlob: new Uint8Array([1, 2, 3]),
    });
    const seed = await postgres.open(url);
    await seed.insert(seeded("a1d", now - 31 * DAY));
    await seed.insert(seeded("b29", now - 29 * DAY));
    await seed.close();

    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), "sen-issuer-")), "data");
    const port = await freePort();
    const pgChild = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH, ...baseEnv({ DATABASE_URL: url, SEN_ISSUER_RETENTION_DAYS: "30", SEN_ISSUER_PORT: String(port), SEN_ISSUER_DATA_DIR: dataDir, SEN_CHAIN_RPC: chain.rpcUrl!, SEN_DEPLOYMENT: chain.deploymentFile! }) },
    });
    const output = collect(pgChild);
    try {
      const [, base] = await waitForLine(pgChild, /ISSUER_READY (\S+)\n/);
      const store = await postgres.open(url);
      assert.equal((await store.get("a1d"))!.piiBlob, null, "31 days after rejection: purged before serving");
      assert.equal((await store.get("a1d"))!.status, "rejected", "the decision stays");
      assert.deepEqual((await store.get("b29"))!.piiBlob, new Uint8Array([1, 2, 3]), "29 days after rejection: kept");
      assert.match(output.text, /"type":"pii.purged"[^\n]*"applicationId":"a1d"/);
      assert.doesNotMatch(output.text, /"applicationId":"b29"/);

      // The process's writes land in PostgreSQL: a submission over HTTP is a row there, and no SQLite file appears.
      const applicant = privateKeyToAccount(generatePrivateKey());
      const post = async (p: string, body: unknown, headers: Record<string, string> = {}) => {
        const res = await fetch(`${base}/issuer/v1${p}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
        return { status: res.status, body: (await res.json()) as any };
      };
      const challenge = await post("/siwe/nonce", { address: applicant.address });
      const login = await post("/siwe/login", { message: challenge.body.message, signature: await applicant.signMessage({ message: challenge.body.message }) });
      const application = { idNumber: "079084654321", fullName: "Trần Văn Bình", dateOfBirth: "1984-01-31", sex: "male", nationality: 704, chipDataHash: `0x${"ab".repeat(32)}`, verification: { provider: "development (NOT FOR PRODUCTION)", sessionId: "s-pg" }, investorType: "retail" };
      const submitted = await post("/applications", application, { authorization: `Bearer ${login.body.token}`, "idempotency-key": "process-pg-1" });
      assert.equal(submitted.status, 200, JSON.stringify(submitted.body));
      assert.deepEqual((await store.byWallet(applicant.address)).map((a) => [a.id, a.status]), [[submitted.body.id, "submitted"]]);
      assert.equal(existsSync(path.join(dataDir, "issuer.sqlite")), false);
      assert.ok(!output.text.includes("079084654321") && !output.text.includes("Trần"), "no personal data in the log");
    } finally {
      pgChild.kill("SIGTERM");
      await new Promise((resolve) => (pgChild.exitCode === null ? pgChild.once("exit", resolve) : resolve(null)));
    }
  });

  it("an unreachable DATABASE_URL stops the start with the variable named, never its password", async () => {
    const port = await freePort();
    const bad = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH, ...baseEnv({ DATABASE_URL: `postgres://issuer:hunter2secret@127.0.0.1:${port}/issuer`, SEN_CHAIN_RPC: chain.rpcUrl!, SEN_DEPLOYMENT: chain.deploymentFile!, SEN_ISSUER_DATA_DIR: path.join(mkdtempSync(path.join(tmpdir(), "sen-issuer-")), "data") }) },
    });
    const output = collect(bad);
    const code = await new Promise<number | null>((resolve) => bad.once("exit", resolve));
    assert.equal(code, 1);
    assert.match(output.text, /DATABASE_URL: the PostgreSQL store could not be opened \(ECONNREFUSED\)/);
    assert.ok(!output.text.includes("hunter2secret"), output.text);
  });

  it("rotates the personal-data key at start: listed first, the new key seals every record, and the old one can then be dropped", async () => {
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), "sen-issuer-")), "data");
    const env = (keys: string) => readIssuerConfig(baseEnv({ SEN_ISSUER_PORT: "0", SEN_ISSUER_DATA_DIR: dataDir, SEN_CHAIN_RPC: chain.rpcUrl!, SEN_DEPLOYMENT: chain.deploymentFile!, SEN_ISSUER_PII_KEYS: keys }));
    const NEW_KEY = `k2:${"cd".repeat(32)}`;
    let service!: ReturnType<typeof defaultService>["service"];
    const capture: ServiceFactory = (parts) => {
      const made = defaultService(parts);
      service = made.service;
      return made;
    };
    const applicant = privateKeyToAccount(generatePrivateKey());
    const input = {
      idNumber: "001190123456",
      fullName: "Nguyễn Thị Minh Khai",
      dateOfBirth: "1990-05-17",
      sex: "female",
      nationality: 704,
      chipDataHash: `0x${"ab".repeat(32)}`,
      verification: { provider: "development (NOT FOR PRODUCTION)", sessionId: "rotation-1" },
      investorType: "retail",
    };
    const opened = async (keys: string) => startIssuer(env(keys), { logger: pino({ level: "silent" }), createService: capture });
    let running = await opened(PII_KEY);
    const app = await service.submit(applicant.address, input, "rotation-request-1");
    await running.close();
    running = await opened(`${NEW_KEY},${PII_KEY}`);
    await running.close();
    // Only the new key from here: the record was re-sealed under it at the last start.
    running = await opened(NEW_KEY);
    try {
      const mine = await service.myData(applicant.address);
      assert.equal(mine.length, 1);
      assert.equal(JSON.stringify(mine).includes("Nguyễn Thị Minh Khai"), true, "readable with the new key alone");
      assert.equal((await service.status(applicant.address))[0]?.id, app.id);
    } finally {
      await running.close();
    }
  });

  it("runs the retention purge at start, before serving, then again on its interval", async () => {
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), "sen-issuer-")), "data");
    const config = readIssuerConfig(baseEnv({ SEN_ISSUER_PORT: "0", SEN_ISSUER_DATA_DIR: dataDir, SEN_CHAIN_RPC: chain.rpcUrl!, SEN_DEPLOYMENT: chain.deploymentFile! }));
    const calls: number[] = [];
    let third!: () => void;
    const thirdCall = new Promise<void>((resolve) => (third = resolve));
    const counting: ServiceFactory = (parts) => {
      const made = defaultService(parts);
      return { ...made, purgeExpired: async (now) => (calls.push(now), calls.length === 3 && third(), made.purgeExpired!(now)) };
    };
    const before = Date.now();
    const running = await startIssuer(config, { logger: pino({ level: "silent" }), createService: counting, retentionEveryMs: 25 });
    try {
      assert.ok(calls.length >= 1, "the first purge ran before the start resolved");
      assert.ok(calls[0]! >= before && calls[0]! <= Date.now(), "with the wall clock");
      await Promise.race([thirdCall, new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${calls.length} purges`)), 20_000))]);
    } finally {
      await running.close();
    }
  });
});
