import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { checkpointBody, checkpointNote, keyId, latestCheckpoint, loadOrCreateSigningKey, parseCheckpointNote, resolveSigningKey, signCheckpoint, verifyCheckpoint } from "./checkpoint.ts";
import { leafHash, rootOf, toHex } from "./merkle.ts";

const tmp = mkdtempSync(join(tmpdir(), "sen-checkpoint-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const root = toHex(rootOf([leafHash(Buffer.from("a")), leafHash(Buffer.from("b"))]));
const input = { origin: "sen.exchange/audit", treeSize: 2, root, time: "2026-11-23T10:15:30.123456Z" };

describe("checkpoint", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");

  it("body is the C2SP checkpoint text", () => {
    const b64 = Buffer.from(root.slice(2), "hex").toString("base64");
    assert.equal(checkpointBody(input), `sen.exchange/audit\n2\n${b64}\ntime 2026-11-23T10:15:30.123456Z\n`);
  });

  it("signs and verifies; any changed field or another key fails", () => {
    const cp = signCheckpoint(input, privateKey);
    assert.equal(cp.keyId, keyId(publicKey, input.origin));
    assert.match(cp.keyId, /^[0-9a-f]{8}$/);
    assert.ok(verifyCheckpoint(cp, publicKey));
    assert.ok(!verifyCheckpoint({ ...cp, treeSize: 3 }, publicKey));
    assert.ok(!verifyCheckpoint({ ...cp, root: toHex(leafHash(Buffer.from("x"))) }, publicKey));
    assert.ok(!verifyCheckpoint({ ...cp, time: "2026-11-23T10:15:30.123457Z" }, publicKey));
    assert.ok(!verifyCheckpoint({ ...cp, origin: "evil.example/audit" }, publicKey));
    assert.ok(!verifyCheckpoint({ ...cp, root: "0xnothex" }, publicKey));
    assert.ok(!verifyCheckpoint({ ...cp, signature: "AAAA" }, publicKey));
    const other = generateKeyPairSync("ed25519");
    assert.ok(!verifyCheckpoint(cp, other.publicKey));
    // Right signature, wrong key id: rejected too (the id names the key that signed).
    assert.ok(!verifyCheckpoint({ ...cp, keyId: "00000000" }, publicKey));
  });

  it("key id is SHA-256(origin || 0x0A || 0x01 || raw key)[:4]", async () => {
    const { createHash } = await import("node:crypto");
    const raw = Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url");
    const expected = createHash("sha256").update(Buffer.concat([Buffer.from("sen.exchange/audit\n"), Buffer.from([1]), raw])).digest().subarray(0, 4).toString("hex");
    assert.equal(keyId(publicKey, "sen.exchange/audit"), expected);
  });

  it("signed note round-trips", () => {
    const cp = signCheckpoint(input, privateKey);
    const note = checkpointNote(cp);
    assert.ok(note.startsWith(checkpointBody(cp) + "\n\u2014 sen.exchange/audit "));
    assert.ok(note.endsWith("\n"));
    assert.deepEqual(parseCheckpointNote(note), cp);
    assert.throws(() => parseCheckpointNote(note.replace("\n\n", "\n")), /no blank line/);
  });

  it("loadOrCreateSigningKey creates a 0600 key once and reloads it", () => {
    const dir = join(tmp, "keys");
    const a = loadOrCreateSigningKey(dir);
    assert.equal(statSync(join(dir, "checkpoint-key.pem")).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(dir, "checkpoint.pub"), "utf8"), a.publicKeyPem);
    const b = loadOrCreateSigningKey(dir);
    assert.equal(b.publicKeyPem, a.publicKeyPem);
    const cp = signCheckpoint(input, b.privateKey);
    assert.ok(verifyCheckpoint(cp, a.publicKey));
  });

  it("a PEM from config wins, and the replaced public key is kept", () => {
    const dir = join(tmp, "pem");
    loadOrCreateSigningKey(dir);
    const pem = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const k = loadOrCreateSigningKey(dir, pem);
    assert.equal(readFileSync(join(dir, "checkpoint.pub"), "utf8"), k.publicKeyPem);
    assert.equal(readdirSync(dir).filter((f) => f.startsWith("checkpoint.pub.replaced-")).length, 1);
    assert.ok(existsSync(join(dir, "checkpoint-key.pem")));
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    assert.throws(() => loadOrCreateSigningKey(dir, ec), /must be Ed25519/);
  });

  /** Every file under `dir` with a hash of its bytes (a refused start must leave them all as they were). */
  const snapshot = (dir: string): Record<string, string> =>
    Object.fromEntries(
      readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name))
        .sort()
        .map((f) => [f, createHash("sha256").update(readFileSync(f)).digest("hex")]),
    );
  const pemOf = (k: ReturnType<typeof generateKeyPairSync>["privateKey"]) => k.export({ type: "pkcs8", format: "pem" }).toString();

  it("a key the latest signed checkpoint refuses is refused before anything is written", () => {
    const dir = join(tmp, "wrong-key");
    const a = loadOrCreateSigningKey(dir);
    const cp = signCheckpoint(input, a.privateKey);
    // An anchor record after it and a torn last line: the checkpoint is still the latest.
    writeFileSync(join(dir, "checkpoints.jsonl"), `${JSON.stringify(cp)}\n${JSON.stringify({ anchorFor: 2, chainId: 1, contract: "0x00", txHash: "0x01", blockNumber: 3 })}\n{"origin":"torn`);
    const before = snapshot(dir);
    const b = pemOf(generateKeyPairSync("ed25519").privateKey);
    assert.throws(() => loadOrCreateSigningKey(dir, b), (err: { code?: string; message?: string }) => {
      assert.equal(err.code, "AUDIT_KEY_MISMATCH");
      assert.match(err.message!, /latest checkpoint \(tree size 2, key id [0-9a-f]{8}\) does not verify with the signing key from SEN_AUDIT_SIGNING_KEY/);
      return true;
    });
    assert.deepEqual(snapshot(dir), before, "a refused key changed the directory");
    // The key file gone and no key configured: a new key would not verify either, and is not written.
    rmSync(join(dir, "checkpoint-key.pem"));
    const withoutKey = snapshot(dir);
    assert.throws(() => resolveSigningKey(dir), /from a new key \(there is no .*checkpoint-key\.pem/);
    assert.deepEqual(snapshot(dir), withoutKey);
    // The right key, from config, is taken and changes nothing.
    assert.equal(resolveSigningKey(dir, pemOf(a.privateKey)).publicKeyPem, a.publicKeyPem);
    assert.equal(loadOrCreateSigningKey(dir, pemOf(a.privateKey)).publicKeyPem, a.publicKeyPem);
    assert.deepEqual(snapshot(dir), withoutKey);
  });

  it("latestCheckpoint reads the last checkpoint from the end, across reads, past anchors and a torn line", () => {
    const dir = join(tmp, "latest");
    mkdirSync(dir, { recursive: true });
    assert.equal(latestCheckpoint(dir), undefined);
    writeFileSync(join(dir, "checkpoints.jsonl"), "");
    assert.equal(latestCheckpoint(dir), undefined);
    writeFileSync(join(dir, "checkpoints.jsonl"), `{"origin":"torn`);
    assert.equal(latestCheckpoint(dir), undefined);
    const first = signCheckpoint(input, privateKey);
    writeFileSync(join(dir, "checkpoints.jsonl"), `${JSON.stringify(first)}\n`);
    assert.deepEqual(latestCheckpoint(dir), first);
    // Hundreds of KiB after it: the first checkpoint again, then anchors spanning several reads.
    let last = first;
    for (let i = 0; i < 3_000; i++) {
      last = signCheckpoint({ ...input, time: `2026-11-23T10:15:${String(30 + (i % 29)).padStart(2, "0")}.${String(i).padStart(6, "0")}Z` }, privateKey);
      appendFileSync(join(dir, "checkpoints.jsonl"), `${JSON.stringify(last)}\n`);
    }
    const anchor = JSON.stringify({ anchorFor: 2, chainId: 1, contract: `0x${"ab".repeat(20)}`, txHash: `0x${"cd".repeat(32)}`, blockNumber: 3 });
    appendFileSync(join(dir, "checkpoints.jsonl"), `${anchor}\n`.repeat(2_000) + `{"treeSize":`);
    assert.ok(statSync(join(dir, "checkpoints.jsonl")).size > 3 * 65_536);
    assert.deepEqual(latestCheckpoint(dir), last);
    // A line that is neither: refused as the log refuses it.
    appendFileSync(join(dir, "checkpoints.jsonl"), `\nnot json\n`);
    assert.throws(() => latestCheckpoint(dir), /is not JSON/);
  });
});
