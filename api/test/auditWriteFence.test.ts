import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import { acquireLease } from "../src/cluster/lease.ts";
import { EXIT_LEASE_LOST } from "../src/cluster/sequencerRole.ts";
import { openAuditLog } from "../src/compliance/audit/auditLog.ts";
import { redisSkip, useRedis } from "./support/redisServer.ts";

const WRITER = path.resolve(import.meta.dirname, "support/pausedAuditWriter.ts");
const TTL_MS = 1_000;
const RUNS = 4;

/**
 * A sequencer paused past its lease (SIGSTOP here; a GC or VM stall alike) with audit events
 * pending: on waking, the audit trail's 50 ms flush timer is due before the lease's own check
 * (every ttl/4). The next holder has opened the shared audit log and appended meanwhile; a
 * line the paused one then writes repeats a seq and the log no longer opens (TAMPERED). The
 * write fence (sequencerRole.ts leaseWriteFence) must stop it first, with the lease-loss code.
 */
describe("audit log write fence on a paused former lease holder", { skip: redisSkip("audit write fence"), timeout: 120_000 }, () => {
  const db = useRedis();

  it("the woken holder writes nothing to the log the next holder owns, and exits as on a lost lease", async () => {
    const verdicts: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      await db.client.del("sen:seq:lease");
      const dir = mkdtempSync(path.join(tmpdir(), "sen-audit-fence-"));
      const keys = generateKeyPairSync("ed25519");
      const keyFile = `${dir}.key.pem`;
      writeFileSync(keyFile, keys.privateKey.export({ type: "pkcs8", format: "pem" }));
      const child = spawn(process.execPath, [WRITER, db.url, dir, keyFile, String(TTL_MS)], { stdio: ["ignore", "pipe", "pipe"] });
      let err = "";
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      await new Promise<void>((resolve, reject) => {
        child.stdout.once("data", () => resolve());
        void exit.then((code) => reject(new Error(`writer exited with ${code}: ${err}`)));
      });
      await sleep(100 + Math.random() * 300);
      child.kill("SIGSTOP");
      // The next holder: the real lease, taken once the paused one's key expired in Redis.
      const lease = await acquireLease({ redis: db.client, nodeId: "new", ttlMs: 60_000, onLost: () => undefined });
      const signingKey = { privateKey: keys.privateKey, publicKey: keys.publicKey };
      const mine = await openAuditLog({ dir, signingKey });
      const atTakeover = mine.size;
      mine.append({ type: "rules.loaded", actor: "new sequencer" });
      await mine.flush();
      await mine.close();
      child.kill("SIGCONT");
      const code = await exit;
      let size: number | string;
      try {
        const again = await openAuditLog({ dir, signingKey });
        size = again.size;
        await again.close();
      } catch (e) {
        size = `does not open: ${(e as Error).message.slice(0, 120)}`;
      }
      verdicts.push(`run ${i}: exit ${code}, log at takeover ${atTakeover}, after ${size}`);
      await lease.release();
      rmSync(dir, { recursive: true, force: true });
      rmSync(keyFile, { force: true });
      assert.equal(size, atTakeover + 1, verdicts.join("\n"));
      assert.equal(code, EXIT_LEASE_LOST, verdicts.join("\n"));
    }
    console.log(`# ${verdicts.join("; ")}`);
  });
});
