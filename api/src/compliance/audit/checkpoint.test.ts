import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { checkpointBody, checkpointNote, keyId, loadOrCreateSigningKey, parseCheckpointNote, signCheckpoint, verifyCheckpoint } from "./checkpoint.ts";
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
});
