import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { AuditEvent } from "../src/compliance/audit/auditEvent.ts";
import { parseIsoMicros } from "../src/compliance/audit/auditEvent.ts";
import { createFileJournal } from "../src/journal/fileJournal.ts";
import { recordMicros, type RecordTime } from "../src/records/tradingRecords.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, postJson, startTestGateway, type GatewayFixture } from "./support/gatewayFixture.ts";

/**
 * The host's clock steps back 2 s (chrony stepping it after a bad source) and the gateway
 * restarts within the slew: the business clock must not stamp new records before the ones
 * already journaled. Real file journal and audit log in one data directory, two gateways in
 * turn; the first one's wall clock is 2 s ahead of the second's.
 */
describe("business clock across a restart with the host clock stepped back", () => {
  let chain: ChainFixture;
  let dataDir: string;
  let gw: GatewayFixture | undefined;
  const operator = hardhatAccount(84);
  const env = { SEN_OPERATORS: operator.address.toLowerCase(), SEN_CLOCK_MAX_DIVERGENCE_US: "1000" };

  before(async () => {
    chain = await startChain();
    await chain.attest(operator.address, "clock-restart-operator");
    dataDir = mkdtempSync(path.join(tmpdir(), "sen-clock-restart-"));
  });
  after(async () => {
    await gw?.close();
    await chain?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const deposit = async (ref: string) => {
    const op = await loginAndCreateKey(gw!.url, operator, ["General"]);
    // Credited to another account: an operator never credits their own.
    await postJson(`${gw!.url}/api/v1/sen/operator/deposits`, { accountId: hardhatAccount(85).address.toLowerCase(), currency: "VND", amount: "1000", ref }, op.token);
  };
  const journaled = async () => {
    const journal = createFileJournal({ dir: path.join(dataDir, "journal"), fsync: "none" });
    await journal.open();
    const out: Array<{ seq: bigint; us: bigint; t: unknown }> = [];
    for await (const e of journal.read()) out.push({ seq: e.seq, us: recordMicros(e.record as unknown as RecordTime), t: e.record.t });
    await journal.close();
    return out;
  };

  it("new records are stamped after the last journaled one, and the start's clock.status says the floor is above the system clock", async () => {
    gw = await startTestGateway(chain, { dataDir, env, now: () => Date.now() + 2_000 });
    for (let i = 0; i < 3; i++) await deposit(`ahead-${i}`);
    await gw.close();
    gw = undefined;
    const first = await journaled();
    const lastAhead = first.at(-1)!;
    assert.ok(lastAhead.us > BigInt(Date.now()) * 1000n + 500_000n, "the records were stamped 2 s ahead");

    gw = await startTestGateway(chain, { dataDir, env }); // the host clock, 2 s behind the first run's
    await deposit("after-restart");
    const events: AuditEvent[] = [];
    for await (const { line } of gw.ctx.audit.log.read(0)) events.push(JSON.parse(line) as AuditEvent);
    await gw.close();
    gw = undefined;

    const all = await journaled();
    const fresh = all.filter((r) => r.seq > lastAhead.seq);
    assert.ok(fresh.length >= 1, "the deposit after the restart is journaled");
    for (const r of fresh) assert.ok(r.us > lastAhead.us, `record ${r.seq} (${r.t}) at ${r.us} µs after record ${lastAhead.seq} at ${lastAhead.us} µs`);
    for (let i = 1; i < all.length; i++) assert.ok(all[i].us > all[i - 1].us, `record ${all[i].seq} later than record ${all[i - 1].seq}`);

    const starts = events.filter((e) => e.type === "clock.status" && e.actor === "gateway start");
    assert.equal(starts.length, 2);
    const [, second] = starts;
    const d = second.detail as { restartFloor?: { at: string; from: string; aboveSystemClockUs: number }; divergenceFromSystemClockUs: number; correction: string };
    assert.ok(d.restartFloor, `restart floor recorded: ${JSON.stringify(second.detail)}`);
    assert.ok(parseIsoMicros(d.restartFloor.at) >= lastAhead.us, `floor ${d.restartFloor.at} (${d.restartFloor.from}) at or after the last journaled record`);
    assert.ok(d.restartFloor.aboveSystemClockUs > 500_000 && d.restartFloor.aboveSystemClockUs < 2_100_000, `floor ${d.restartFloor.aboveSystemClockUs} µs above the system clock`);
    assert.equal(d.correction, "slew");
    assert.ok(d.divergenceFromSystemClockUs > 500_000, `measured ${d.divergenceFromSystemClockUs} µs ahead of the system clock`);
    assert.match(second.reason ?? "", /restart floor: .* µs ahead of the system clock/);
    // The start event itself, and everything after it, is stamped above the floor.
    assert.ok(parseIsoMicros(second.ts) > parseIsoMicros(d.restartFloor.at));
    const firstStart = starts[0].detail as { restartFloor?: unknown };
    assert.equal(firstStart.restartFloor, undefined, "a fresh data directory has no floor");
  });
});
