import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { pino } from "pino";
import type { Address } from "viem";
import { startChain, type ChainFixture } from "../../../test/support/chainFixture.ts";
import { EXPECTED, TAMPERS, tamper } from "../../../test/support/exportTampers.ts";
import { startAuditAnchorer } from "../../chain/auditAnchorer.ts";
import type { AuditEventInput } from "./auditEvent.ts";
import { openAuditLog } from "./auditLog.ts";
import { runAuditVerify } from "./verifyCli.ts";
import { verifyExport } from "./verifyExport.ts";

const tmp = mkdtempSync(join(tmpdir(), "sen-verify-tamper-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const signingKey = generateKeyPairSync("ed25519");
/** The forger's own key. */
const forgerKey = generateKeyPairSync("ed25519");

function fill(i: number, salt = ""): AuditEventInput {
  return { type: "order.filled", account: `acc-${i % 7}`, symbol: "VNM-VND", side: i % 2 ? "buy" : "sell", price: `${20_000 + (i % 40)}`, qty: `${1 + (i % 9)}`, tradeId: `t-${i}${salt}` };
}


/**
 * Tampered exports of every kind, generated over generated histories, verified against a real
 * AuditAnchor on Hardhat's chain through the command line's own code (exit code and stderr):
 * each fails with exit 1 and a one-line reason naming the expected problem; the honest export
 * passes.
 */
describe("audit:verify against the chain: every kind of tampered export fails, the honest one passes", () => {
  let chain: ChainFixture;
  let rpcUrl: string;
  let chainId: number;
  before(async () => {
    chain = await startChain({ serve: true });
    rpcUrl = chain.rpcUrl!;
    chainId = await chain.publicClient.getChainId();
  });
  after(async () => {
    await chain?.close();
  });

  it("property: tamper kinds × generated histories", { timeout: 120_000 }, async () => {
    const seen = new Map<string, number>();
    let longest = 0;
    let run = 0;
    const auditor = chain.wallets.auditor;
    const batch = fc.record({ events: fc.integer({ min: 1, max: 5 }), anchor: fc.boolean() });
    const knobs = fc.record({
      a: fc.nat(),
      b: fc.nat(),
      sameKey: fc.boolean(),
      count: fc.integer({ min: 1, max: 3 }),
      address: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => `0x${Buffer.from(b).toString("hex")}`),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(batch, { minLength: 2, maxLength: 24, size: "max" }), knobs, async (batches, k) => {
        longest = Math.max(longest, batches.length);
        const id = ++run;
        // A fresh AuditAnchor per history: anchors are append-only and tile one log.
        const anchor = await chain.connection.viem.deployContract("AuditAnchor", [chain.deployment.deployer, auditor.account.address]);
        const address = anchor.address as Address;
        let t = BigInt(Date.parse("2026-11-23T10:00:00Z")) * 1000n;
        const log = await openAuditLog({ dir: join(tmp, `log${id}`), signingKey, now: () => ++t, checkpointEvery: { events: 1_000_000, ms: 3_600_000 } });
        const anchorer = await startAuditAnchorer({ log, logger: pino({ level: "silent" }), publicClient: chain.publicClient, walletClient: auditor, contract: address, chainId, everyMs: 3_600_000 });
        // The last checkpoint is anchored, so the genuine export reaches the contract's head.
        for (const [i, b] of batches.entries()) {
          for (let e = 0; e < b.events; e++) log.append(fill(log.size));
          await log.checkpointNow();
          if (b.anchor || i === batches.length - 1) await anchorer.anchorNow();
        }
        await anchorer.stop();
        const genuine = join(tmp, `genuine${id}`);
        await log.exportTo(genuine, { toSeq: log.size });
        const anchoredEnd = log.size;
        await log.close();
        const args = (dir: string) => [dir, "--rpc", rpcUrl, "--anchor", address, "--chain-id", String(chainId)];

        const honest = await runAuditVerify(args(genuine));
        assert.equal(honest.code, 0, honest.stderr + honest.stdout);
        assert.equal(honest.stderr, "");
        seen.set("honest", (seen.get("honest") ?? 0) + 1);

        for (const kind of TAMPERS) {
          const dir = join(tmp, `${kind}${id}`);
          cpSync(genuine, dir, { recursive: true });
          tamper(kind, dir, k, anchoredEnd, { exchange: signingKey, forger: forgerKey });
          const out = await runAuditVerify([...args(dir), "--json"]);
          assert.equal(out.code, 1, `${kind}: exit ${out.code} ${out.stderr}${out.stdout}`);
          const line = /^audit:verify: FAILED \((\w+)\): (.+)\n$/.exec(out.stderr);
          assert.ok(line, `${kind}: stderr is not one line with a reason: ${JSON.stringify(out.stderr)}`);
          const result = JSON.parse(out.stdout) as { problems: Array<{ kind: string }> };
          assert.ok(
            result.problems.some((p) => EXPECTED[kind].includes(p.kind)),
            `${kind}: expected ${EXPECTED[kind].join("|")}, got ${result.problems.map((p) => p.kind).join(",")}`,
          );
          if (kind === "resignedStripped") {
            // Nothing in the export betrays it: only the chain does.
            assert.deepEqual((await verifyExport(dir)).problems, []);
          }
          seen.set(kind, (seen.get(kind) ?? 0) + 1);
          rmSync(dir, { recursive: true, force: true });
        }
        rmSync(genuine, { recursive: true, force: true });
        rmSync(join(tmp, `log${id}`), { recursive: true, force: true });
      }),
      { numRuns: 40 },
    );
    for (const kind of ["honest", ...TAMPERS]) assert.ok((seen.get(kind) ?? 0) > 0, `tamper kind ${kind} was never generated`);
    assert.ok(longest > 10, `histories never exceeded 10 checkpoints (longest ${longest})`);
  });
});
