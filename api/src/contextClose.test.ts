import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { IdentityOracle } from "./auth/types.ts";
import { envToConfig } from "./config/config.ts";
import { createContext } from "./context.ts";
import { startGateway } from "./server.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const NO_SIGN_IN: IdentityOracle = { verifiedIdentityOf: async () => null };

/** Opens a gateway, runs a few records through it, closes it; a weak reference to its trading state. */
async function openedAndClosed(): Promise<WeakRef<object>> {
  const dir = mkdtempSync(path.join(tmpdir(), "sen-context-close-"));
  dirs.push(dir);
  const ctx = await createContext(envToConfig({ SEN_PORT: "0", SEN_DATA_DIR: dir, SEN_LOG_LEVEL: "silent" }), { identity: NO_SIGN_IN });
  const gateway = await startGateway(ctx);
  await ctx.trading.deposit("0x00000000000000000000000000000000000000c1", "VND", 10n ** 12n, "close-test-1");
  const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
  assert.match(metrics, /^sen_journal_sequence [1-9]\d*$/m);
  // The journal's own counters, read at the scrape like the sequence (and held as weakly).
  const gauge = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(metrics)?.[1]);
  assert.ok(gauge("sen_journal_writes") >= 1 && gauge("sen_journal_records_written") >= gauge("sen_journal_writes"), metrics.match(/^sen_journal_.*$/gm)?.join("; "));
  // The batches' commit time, in seconds (a fraction: not matched by `gauge`).
  const commit = Number(/^sen_journal_commit_seconds (\S+)$/m.exec(metrics)?.[1]);
  assert.ok(commit > 0 && commit < 60, `sen_journal_commit_seconds ${commit}`);
  await gateway.close();
  return new WeakRef(ctx.trading);
}

describe("a closed context", () => {
  it("leaves nothing behind that holds its trading state (prom-client keeps a registry for good: no closure in it may reach the context)", async () => {
    const trading = await openedAndClosed();
    for (let i = 0; i < 10 && trading.deref() !== undefined; i++) {
      await new Promise((r) => setTimeout(r, 20));
      gc();
    }
    assert.equal(trading.deref(), undefined, "the closed context's TradingService is still reachable");
  });
});
