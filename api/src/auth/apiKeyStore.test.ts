import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { AuthCode, AuthError } from "../errors/SenError.ts";
import { createApiKeyStore } from "./apiKeyStore.ts";
import { kucoinHmac } from "./kucoinSignature.ts";
import type { ApiKeyOwner } from "./types.ts";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const ALICE: ApiKeyOwner = {
  accountId: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
  wallet: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
  identityHash: "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  role: "trader",
};
const BOB: ApiKeyOwner = {
  accountId: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
  wallet: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  identityHash: "0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
  role: "trader",
};
const PASSPHRASE = "Sen-pass-phrase!";

function setup() {
  const dir = mkdtempSync(join(tmpdir(), "sen-auth-keys-"));
  dirs.push(dir);
  const file = join(dir, "api-keys.json");
  const masterKey = randomBytes(32);
  const clock = { t: Date.UTC(2025, 0, 2, 3, 4, 5) };
  const open = (key = masterKey) => createApiKeyStore({ file, masterKey: key, now: () => clock.t, randomBytes });
  return { dir, file, masterKey, clock, open };
}

async function rejects(fn: () => unknown, code: string) {
  await assert.rejects(async () => fn(), (e: unknown) => e instanceof AuthError && e.code === code, `expected ${code}`);
}

const input = { label: "market maker", permissions: ["General" as const, "Trade" as const], passphrase: PASSPHRASE };

describe("createApiKeyStore", async () => {
  it("creates KuCoin-like ids and shows the secret once", async () => {
    const s = setup();
    const store = s.open();
    const { record, apiSecret } = await store.create(ALICE, { ...input, ipWhitelist: ["10.0.0.0/8"] });
    assert.match(record.apiKeyId, /^[0-9a-f]{24}$/);
    assert.match(apiSecret, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(record.createdAt, "2025-01-02T03:04:05.000Z");
    assert.deepEqual(record.ipWhitelist, ["10.0.0.0/8"]);
    // Nothing public carries the secret.
    assert.ok(!JSON.stringify(await store.get(record.apiKeyId)).includes(apiSecret));
    assert.ok(!JSON.stringify(await store.list(ALICE.accountId)).includes(apiSecret));
    assert.equal((await store.credentials(record.apiKeyId))!.secret, apiSecret);
  });

  it("never writes the secret or the passphrase (or its v2 header) in clear", async () => {
    const s = setup();
    const store = s.open();
    const { apiSecret } = await store.create(ALICE, input);
    const disk = readFileSync(s.file, "utf8");
    const header = kucoinHmac(apiSecret, PASSPHRASE);
    for (const needle of [apiSecret, apiSecret.replaceAll("-", ""), PASSPHRASE, header]) {
      assert.ok(!disk.includes(needle), `file leaks ${needle}`);
    }
    assert.ok(!disk.includes(Buffer.from(apiSecret).toString("base64")));
    assert.equal(statSync(s.file).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(s.dir), ["api-keys.json"], "no temp file left behind");
    const entry = JSON.parse(disk).keys[0];
    assert.equal(Buffer.from(entry.secret.iv, "base64").length, 12);
    assert.equal(Buffer.from(entry.secret.tag, "base64").length, 16);
  });

  it("uses a fresh IV per key", async () => {
    const s = setup();
    const store = s.open();
    await store.create(ALICE, input);
    await store.create(ALICE, input);
    const [a, b] = JSON.parse(readFileSync(s.file, "utf8")).keys;
    assert.notEqual(a.secret.iv, b.secret.iv);
  });

  it("checks the v2 passphrase header against the stored verifier", async () => {
    const s = setup();
    const store = s.open();
    const { record, apiSecret } = await store.create(ALICE, input);
    const credentials = (await store.credentials(record.apiKeyId))!;
    assert.equal(credentials.passphraseMatches(kucoinHmac(apiSecret, PASSPHRASE)), true);
    assert.equal(credentials.passphraseMatches(kucoinHmac(apiSecret, PASSPHRASE + "x")), false);
    assert.equal(credentials.passphraseMatches(PASSPHRASE), false, "v1 plaintext form does not match");
    assert.equal(await store.credentials("000000000000000000000000"), undefined);
    // A matched header is remembered per key: the next requests still tell right from wrong,
    // and a wrong header before any match is not remembered as the right one.
    const again = (await store.credentials(record.apiKeyId))!;
    assert.equal(again.passphraseMatches(kucoinHmac(apiSecret, PASSPHRASE)), true);
    assert.equal(again.passphraseMatches(kucoinHmac(apiSecret, PASSPHRASE).slice(0, -1) + "A"), false);
    assert.equal(again.passphraseMatches(""), false);
    const other = await store.create(ALICE, input);
    const fresh = (await store.credentials(other.record.apiKeyId))!;
    assert.equal(fresh.passphraseMatches(kucoinHmac(other.apiSecret, "wrong")), false);
    assert.equal(fresh.passphraseMatches(kucoinHmac(apiSecret, PASSPHRASE)), false, "another key's header");
    assert.equal(fresh.passphraseMatches(kucoinHmac(other.apiSecret, PASSPHRASE)), true);
    assert.equal(fresh.passphraseMatches(kucoinHmac(other.apiSecret, "wrong")), false);
  });

  it("persists across re-open, and refuses a wrong master key or a tampered file", async () => {
    const s = setup();
    const first = s.open();
    const { record, apiSecret } = await first.create(ALICE, input);
    await first.create(BOB, { ...input, permissions: ["General"] });
    await first.revoke(BOB.accountId, (await first.list(BOB.accountId))[0].apiKeyId);

    const again = s.open();
    assert.deepEqual(await again.get(record.apiKeyId), record);
    const credentials = (await again.credentials(record.apiKeyId))!;
    assert.equal(credentials.secret, apiSecret);
    assert.equal(credentials.passphraseMatches(kucoinHmac(apiSecret, PASSPHRASE)), true);
    assert.ok((await again.list(BOB.accountId))[0].revokedAt);

    await rejects(() => s.open(randomBytes(32)), AuthCode.STORE_CORRUPT);
    const json = JSON.parse(readFileSync(s.file, "utf8"));
    // Moving one key's ciphertext to another record fails authentication (apiKeyId is the AAD).
    [json.keys[0].secret, json.keys[1].secret] = [json.keys[1].secret, json.keys[0].secret];
    writeFileSync(s.file, JSON.stringify(json));
    await rejects(() => s.open(), AuthCode.STORE_CORRUPT);
    writeFileSync(s.file, "{not json");
    await rejects(() => s.open(), AuthCode.STORE_CORRUPT);
  });

  it("revokes by owner only", async () => {
    const s = setup();
    const store = s.open();
    const { record } = await store.create(ALICE, input);
    await rejects(() => store.revoke(BOB.accountId, record.apiKeyId), AuthCode.UNKNOWN_KEY);
    assert.equal((await store.get(record.apiKeyId))!.revokedAt, undefined);
    const revoked = await store.revoke(ALICE.accountId, record.apiKeyId);
    assert.equal(revoked.revokedAt, "2025-01-02T03:04:05.000Z");
    assert.equal(await store.revoke(ALICE.accountId, record.apiKeyId), revoked, "idempotent");
    await rejects(() => store.revoke(ALICE.accountId, "ffffffffffffffffffffffff"), AuthCode.UNKNOWN_KEY);
  });

  it("disables every key of an account, persistently, and refuses new keys for it", async () => {
    const s = setup();
    const store = s.open();
    await store.create(ALICE, input);
    await store.create(ALICE, input);
    const bobKey = (await store.create(BOB, input)).record;
    assert.equal(await store.disableAccount(ALICE.accountId, "identity revoked"), 2);
    const reopened = s.open();
    for (const k of await reopened.list(ALICE.accountId)) assert.equal(k.disabledReason, "identity revoked");
    assert.equal((await reopened.get(bobKey.apiKeyId))!.disabledReason, undefined);
    assert.equal(await reopened.isAccountDisabled(ALICE.accountId), "identity revoked");
    await rejects(() => reopened.create(ALICE, input), AuthCode.ACCOUNT_DISABLED);
  });

  it("validates input and refuses key creation from an API-key principal", async () => {
    const s = setup();
    const store = s.open();
    await rejects(() => store.create(ALICE, { ...input, passphrase: "short" }), AuthCode.INVALID_INPUT);
    await rejects(() => store.create(ALICE, { ...input, label: " " }), AuthCode.INVALID_INPUT);
    await rejects(() => store.create(ALICE, { ...input, permissions: [] }), AuthCode.INVALID_INPUT);
    await rejects(() => store.create(ALICE, { ...input, permissions: ["Admin" as never] }), AuthCode.INVALID_INPUT);
    await rejects(() => store.create(ALICE, { ...input, ipWhitelist: ["10.0.0.0/33"] }), AuthCode.INVALID_INPUT);
    await rejects(() => store.create(ALICE, { ...input, ipWhitelist: ["example.com"] }), AuthCode.INVALID_INPUT);
    await rejects(() => store.create({ ...ALICE, apiKeyId: "abc" }, input), AuthCode.PERMISSION_DENIED);
    await rejects(() => createApiKeyStore({ file: s.file, masterKey: randomBytes(16), now: Date.now, randomBytes }), AuthCode.INVALID_INPUT);
    assert.equal(existsSync(s.file), false, "nothing written for refused input");
  });
});
