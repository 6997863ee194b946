import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { IssuerError } from "../src/errors.ts";
import { identityHash, parseIdentitySalt } from "../src/identityHash.ts";
import { createPiiVault } from "../src/piiVault.ts";

const key = (kid: string) => `${kid}:${randomBytes(32).toString("hex")}`;
const person = { idNumber: "001190123456", fullName: "Nguyễn Thị Minh Khai", dateOfBirth: "1990-05-17" };

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof IssuerError, String(err));
    return err.code;
  }
  assert.fail("expected a refusal");
}

test("identity hash: same number same hash, different numbers differ, the salt matters, bytes32 hex", () => {
  const salt = randomBytes(32);
  const h = identityHash("001190123456", salt);
  assert.match(h, /^0x[0-9a-f]{64}$/);
  assert.equal(identityHash("001190123456", Buffer.from(salt)), h);
  const seen = new Set<string>([h]);
  for (let i = 0; i < 1000; i++) seen.add(identityHash(`0011901${String(i).padStart(5, "0")}`, salt));
  assert.equal(seen.size, 1001, "1000 other numbers, 1000 other hashes");
  assert.notEqual(identityHash("001190123456", randomBytes(32)), h);
  assert.ok(!h.includes("001190123456"));
  assert.equal(code(() => identityHash("001190123456", randomBytes(16))), "ISSUER_CONFIG");
  assert.equal(code(() => parseIdentitySalt("ab".repeat(31))), "ISSUER_CONFIG");
  assert.equal(parseIdentitySalt("0x" + "ab".repeat(32)).length, 32);
});

test("vault round trip, with a fresh IV each time", () => {
  const vault = createPiiVault([key("k1")]);
  const a = vault.encrypt("app-1", person);
  const b = vault.encrypt("app-1", person);
  assert.equal(a.kid, "k1");
  assert.notDeepEqual(a.blob, b.blob);
  assert.ok(!Buffer.from(a.blob).toString("latin1").includes("Minh"));
  assert.deepEqual(vault.decrypt("app-1", a.kid, a.blob), person);
  assert.deepEqual(vault.decrypt("app-1", b.kid, b.blob), person);
});

test("a tampered IV, tag or body, another record's id, or a truncated blob fails authentication", () => {
  const vault = createPiiVault([key("k1")]);
  const { kid, blob } = vault.encrypt("app-1", person);
  let flips = 0;
  for (const at of [0, 11, 12, 27, 28, blob.length - 1]) {
    const bad = new Uint8Array(blob);
    bad[at] ^= 0x01;
    assert.equal(code(() => vault.decrypt("app-1", kid, bad)), "ISSUER_PII_CORRUPT", `byte ${at}`);
    flips++;
  }
  assert.equal(flips, 6);
  assert.equal(code(() => vault.decrypt("app-2", kid, blob)), "ISSUER_PII_CORRUPT");
  assert.equal(code(() => vault.decrypt("app-1", kid, blob.subarray(0, 20))), "ISSUER_PII_CORRUPT");
  const other = createPiiVault([`k1:${randomBytes(32).toString("hex")}`]);
  assert.equal(code(() => other.decrypt("app-1", kid, blob)), "ISSUER_PII_CORRUPT");
});

test("an unknown key id fails with a clear error naming the kid; bad key configuration is refused without echoing the key", () => {
  const vault = createPiiVault([key("k1")]);
  const { blob } = vault.encrypt("app-1", person);
  try {
    vault.decrypt("app-1", "k0", blob);
    assert.fail("expected a refusal");
  } catch (err) {
    assert.ok(err instanceof IssuerError);
    assert.equal(err.code, "ISSUER_PII_KEY_UNKNOWN");
    assert.match(err.message, /no key with id "k0"/);
  }
  const secret = randomBytes(31).toString("hex");
  try {
    createPiiVault([`k1:${secret}`]);
    assert.fail("expected a refusal");
  } catch (err) {
    assert.ok(err instanceof IssuerError);
    assert.equal(err.code, "ISSUER_CONFIG");
    assert.ok(!err.message.includes(secret));
  }
  assert.equal(code(() => createPiiVault([key("k1"), key("k1")])), "ISSUER_CONFIG");
  assert.equal(code(() => createPiiVault("")), "ISSUER_CONFIG");
  assert.equal(createPiiVault(`${key("a")}, ${key("b")}`).currentKid, "a");
});

test("rotation: after re-encrypting every record, the new key alone reads them all", () => {
  const k1 = key("k1"), k2 = key("k2");
  const old = createPiiVault([k1]);
  const records = Array.from({ length: 50 }, (_, i) => ({ id: `app-${i}`, data: { ...person, n: i }, ...old.encrypt(`app-${i}`, { ...person, n: i }) }));
  const rotating = createPiiVault([k2, k1]);
  const rotated = records.map((r) => ({ ...r, ...rotating.reencrypt(r.id, r.kid, r.blob) }));
  assert.ok(rotated.every((r) => r.kid === "k2"));
  const onlyNew = createPiiVault([k2]);
  let read = 0;
  for (const r of rotated) {
    assert.deepEqual(onlyNew.decrypt(r.id, r.kid, r.blob), r.data);
    read++;
  }
  assert.equal(read, 50);
  assert.equal(code(() => onlyNew.decrypt(records[0].id, records[0].kid, records[0].blob)), "ISSUER_PII_KEY_UNKNOWN");
});
