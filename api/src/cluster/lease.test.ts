import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { redisSkip, useRedis } from "../../test/support/redisServer.ts";
import { acquireLease, readLease, type Lease } from "./lease.ts";

const skip = redisSkip("lease");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("sequencer lease on Redis", { skip }, () => {
  const db = useRedis();
  let n = 0;
  const key = () => `sen:seq:lease:test:${++n}`;

  it("one holder at a time; renewals keep it past its ttl; release hands it over at once", async () => {
    const redis = db.client;
    const k = key();
    const lost: string[] = [];
    const a = await acquireLease({ redis, key: k, nodeId: "a", http: "http://a", ttlMs: 300, onLost: (r) => lost.push(`a: ${r}`) });
    assert.equal((await readLease(redis, k))?.node, "a");
    assert.equal((await readLease(redis, k))?.token, a.token);
    let waitingFor: string | undefined;
    const bPromise = acquireLease({ redis, key: k, nodeId: "b", ttlMs: 300, onLost: (r) => lost.push(`b: ${r}`), onWaiting: (h) => (waitingFor = h?.node) });
    await sleep(1_000); // > 3 ttls: only renewals keep a's key alive
    assert.equal(waitingFor, "a");
    assert.equal((await readLease(redis, k))?.node, "a");
    assert.ok(a.isValid());
    await a.setHttp("http://a:1234");
    assert.equal((await readLease(redis, k))?.http, "http://a:1234");
    assert.equal((await readLease(redis, k))?.token, a.token, "the token survives a URL change");
    const released = Date.now();
    await a.release();
    const b = await bPromise;
    assert.ok(Date.now() - released < 300, "a released lease is taken within one retry");
    assert.equal((await readLease(redis, k))?.node, "b");
    assert.notEqual(b.token, a.token);
    assert.deepEqual(lost, []);
    await b.release();
    assert.equal(await redis.get(k), null);
  });

  it("a holder that finds another's value in Redis loses it (onLost once) and does not delete the new holder's key", async () => {
    const redis = db.client;
    const k = key();
    const lost: string[] = [];
    const a = await acquireLease({ redis, key: k, nodeId: "a", ttlMs: 200, onLost: (r) => lost.push(r) });
    await redis.set(k, JSON.stringify({ token: "other", node: "x" }), "PX", 5_000);
    await sleep(200);
    assert.equal(lost.length, 1);
    assert.match(lost[0], /held by another node/);
    assert.equal(a.isValid(), false);
    await a.release();
    assert.equal((await readLease(redis, k))?.node, "x");
  });

  it("expiry: the key of a holder that stops renewing (crashed) is taken over after its ttl", async () => {
    const redis = db.client;
    const k = key();
    // A holder in another process, killed -9: nobody renews, nobody releases.
    const code = `
      const { Redis } = await import("ioredis");
      const { acquireLease } = await import(${JSON.stringify(new URL("./lease.ts", import.meta.url).href)});
      const r = new Redis(${JSON.stringify(db.url)});
      await acquireLease({ redis: r, key: ${JSON.stringify(k)}, nodeId: "crashing", ttlMs: 400, onLost() {} });
      process.stdout.write("HELD\\n");
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve) => child.stdout!.on("data", (d: Buffer) => d.toString().includes("HELD") && resolve()));
    child.kill("SIGKILL");
    const killedAt = Date.now();
    const b = await acquireLease({ redis, key: k, nodeId: "b", ttlMs: 400, onLost() {} });
    const took = Date.now() - killedAt;
    assert.ok(took < 400 + 200, `taken over ${took} ms after the kill (ttl 400)`);
    assert.equal((await readLease(redis, k))?.node, "b");
    await b.release();
  });

  it("a paused holder (SIGSTOP past its ttl) finds the lease lost as soon as it runs again, before any round trip", async () => {
    const redis = db.client;
    const k = key();
    const code = `
      const { Redis } = await import("ioredis");
      const { acquireLease } = await import(${JSON.stringify(new URL("./lease.ts", import.meta.url).href)});
      const r = new Redis(${JSON.stringify(db.url)});
      const lease = await acquireLease({ redis: r, key: ${JSON.stringify(k)}, nodeId: "paused", ttlMs: 400, onLost(reason) {
        process.stdout.write("LOST " + reason + "\\n");
        process.exit(3);
      } });
      process.stdout.write("HELD\\n");
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    await new Promise<void>((resolve) =>
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("HELD")) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    child.kill("SIGSTOP");
    let b: Lease | undefined;
    try {
      b = await acquireLease({ redis, key: k, nodeId: "b", ttlMs: 400, onLost() {} });
      child.kill("SIGCONT");
      assert.equal(await exited, 3);
      assert.match(out, /LOST no renewal for 400 ms/);
      assert.equal((await readLease(redis, k))?.node, "b", "the paused holder did not take it back");
    } finally {
      child.kill("SIGKILL");
      await b?.release();
    }
  });
});
