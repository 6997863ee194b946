import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import { createLoginFailureGate, LOGIN_FAILURE_RECORDS } from "./loginFailureGate.ts";
import { createLocalRateBuckets } from "./rateBuckets.ts";

function gate(limits = LOGIN_FAILURE_RECORDS) {
  const clock = { t: 1_000_000 };
  const registry = new Registry();
  const warnings: Array<Record<string, unknown>> = [];
  const g = createLoginFailureGate({ buckets: createLocalRateBuckets(), now: () => clock.t, registry, warn: (f) => warnings.push(f), limits });
  const unrecorded = async () => (await registry.getSingleMetricAsString("sen_auth_login_failures_unrecorded_total")).match(/ (\d+)$/m)![1];
  return { g, clock, registry, warnings, unrecorded };
}

async function admitted(g: { admit(ip: string): Promise<boolean> }, ips: string[]): Promise<number> {
  let n = 0;
  for (const ip of ips) if (await g.admit(ip)) n++;
  return n;
}

describe("failed sign-ins recorded per client", () => {
  it("records a burst per client (an IPv6 client by its /64), then one per 6 s; the rest are counted and summarised once a minute", async () => {
    const { g, clock, warnings, unrecorded } = gate();
    assert.equal(await admitted(g, Array.from({ length: 50 }, () => "198.51.100.7")), 10);
    assert.equal(await admitted(g, Array.from({ length: 50 }, (_, i) => `2001:db8:0:1::${i.toString(16)}`)), 10, "one /64 is one client");
    assert.equal(await admitted(g, ["198.51.100.8", "::ffff:198.51.100.9", "2001:db8:0:2::1"]), 3, "other clients are not held back");
    assert.equal(await unrecorded(), "80");
    assert.equal(warnings.length, 1, "one summary, not one line per failure");
    clock.t += 6_000;
    assert.equal(await admitted(g, ["198.51.100.7", "198.51.100.7"]), 1);
    clock.t += 60_000;
    assert.equal(await admitted(g, Array.from({ length: 20 }, () => "198.51.100.7")), 10);
    assert.equal(warnings.length, 2);
    assert.deepEqual(warnings.map((w) => w.unrecorded), [1, 81], "the second summary counts what the first did not");
  });

  it("holds a total bound against callers spread over many addresses", async () => {
    const { g, clock, unrecorded } = gate();
    const many = Array.from({ length: 1_000 }, (_, i) => `10.${i >> 8}.${i & 255}.1`);
    assert.equal(await admitted(g, many), LOGIN_FAILURE_RECORDS.total.burst);
    clock.t += 10_000;
    assert.equal(await admitted(g, many.map((ip) => ip.replace(/1$/, "2"))), 20, "2 a second");
    assert.equal(await unrecorded(), String(2_000 - 220));
  });

  it("counts rather than records when the shared buckets do not answer", async () => {
    const registry = new Registry();
    const g = createLoginFailureGate({ buckets: { take: () => Promise.reject(new Error("down")) }, now: () => 0, registry, warn: () => {} });
    assert.equal(await g.admit("198.51.100.7"), false);
  });

  it("one counter however many times the routes are built", () => {
    const { registry } = gate();
    createLoginFailureGate({ buckets: createLocalRateBuckets(), now: () => 0, registry, warn: () => {} });
    assert.equal(registry.getMetricsAsArray().length, 1);
  });
});
