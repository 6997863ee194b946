import assert from "node:assert/strict";
import { createHash, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import type { IdentityOracle } from "./auth/types.ts";
import { envToConfig } from "./config/config.ts";
import { createContext } from "./context.ts";
import { startGateway } from "./server.ts";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const NO_SIGN_IN: IdentityOracle = { verifiedIdentityOf: async () => null };
const newPem = () => generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const configFor = (dir: string, pem: string) => envToConfig({ SEN_PORT: "0", SEN_DATA_DIR: dir, SEN_LOG_LEVEL: "silent", SEN_AUDIT_SIGNING_KEY: pem });

/** Every file under `dir` (names and bytes), to compare before and after a refused start. */
function filesOf(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
      .sort()
      .map((f) => [f, createHash("sha256").update(readFileSync(path.join(dir, f))).digest("hex")]),
  );
}

async function openAndClose(dir: string, pem: string): Promise<void> {
  const ctx = await createContext(configFor(dir, pem), { identity: NO_SIGN_IN });
  const gateway = await startGateway(ctx);
  await ctx.trading.deposit("0x00000000000000000000000000000000000000c1", "VND", 10n ** 12n, `key-test-${Date.now()}`);
  await gateway.close();
}

describe("the audit signing key at start", () => {
  it("a key other than the one that signed the log's checkpoints is refused with the data directory left byte for byte as it was", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "sen-signing-key-"));
    dirs.push(dir);
    const a = newPem();
    await openAndClose(dir, a);
    const before = filesOf(dir);
    const pub = readFileSync(path.join(dir, "audit", "checkpoint.pub"), "utf8");
    assert.ok(readFileSync(path.join(dir, "audit", "checkpoints.jsonl"), "utf8").length > 0, "closing signed no checkpoint");

    const refused = await createContext(configFor(dir, newPem()), { identity: NO_SIGN_IN }).then(
      () => assert.fail("a start with another signing key was not refused"),
      (err: { code?: string; message?: string }) => err,
    );
    assert.deepEqual(filesOf(dir), before, "the refused start changed the data directory");
    assert.equal(refused.code, "AUDIT_KEY_MISMATCH", String(refused.message));
    assert.match(refused.message!, /does not verify with the signing key from SEN_AUDIT_SIGNING_KEY .*nothing was changed/);

    // The key that signed them still opens it: the refusal was the key's alone.
    await openAndClose(dir, a);
    assert.equal(readFileSync(path.join(dir, "audit", "checkpoint.pub"), "utf8"), pub);
    assert.ok(!readdirSync(path.join(dir, "audit")).some((f) => f.startsWith("checkpoint.pub.replaced-")));
  });
});
