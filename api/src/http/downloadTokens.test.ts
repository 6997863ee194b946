import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DownloadTokens } from "./downloadTokens.ts";
import { bundleSlots } from "./routes/auditBundle.ts";

const officer = { accountId: "0xaaa", wallet: "0x00000000000000000000000000000000000000aa" as const, identityHash: "0x01" as const };
const invalid = (e: Error & { code?: string }) => e.code === "DOWNLOAD_TOKEN_INVALID";

describe("download tokens: single-use links for native downloads", () => {
  it("are 32 random bytes, bound to who asked and what, and consumed by their first use", () => {
    const tokens = new DownloadTokens<{ treeSize: number }>({ ttlMs: 60_000 });
    const a = tokens.issue({ ...officer, what: { treeSize: 7 } });
    const b = tokens.issue({ ...officer, what: { treeSize: 9 } });
    assert.match(a.token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(a.token, "base64url").length, 32);
    assert.notEqual(a.token, b.token);
    const grant = tokens.consume(a.token);
    assert.equal(grant.accountId, officer.accountId);
    assert.deepEqual(grant.what, { treeSize: 7 });
    assert.throws(() => tokens.consume(a.token), invalid);
    assert.throws(() => tokens.consume("A".repeat(43)), invalid);
    assert.equal(tokens.consume(b.token).what.treeSize, 9);
  });

  it("expire", () => {
    let now = 1_000_000;
    const tokens = new DownloadTokens<null>({ ttlMs: 60_000, now: () => now });
    const t = tokens.issue({ ...officer, what: null });
    assert.equal(t.expiresAt, now + 60_000);
    now += 60_000;
    assert.throws(() => tokens.consume(t.token), invalid);
    assert.equal(tokens.size, 0);
  });

  it("are limited per account, so a loop of requests cannot fill memory", () => {
    const tokens = new DownloadTokens<null>({ ttlMs: 60_000 });
    for (let i = 0; i < 8; i++) tokens.issue({ ...officer, what: null });
    assert.throws(() => tokens.issue({ ...officer, what: null }), (e: Error & { code?: string }) => e.code === "RATE_LIMITED");
    tokens.issue({ ...officer, accountId: "0xbbb", what: null });
  });
});

describe("bundle slots: one bundle at a time per officer, two in all", () => {
  it("refuses a second bundle of the same officer and a third in all with AUDIT_BUNDLE_BUSY, until a release", () => {
    const claim = bundleSlots(2);
    const busy = (e: Error & { code?: string }) => e.code === "AUDIT_BUNDLE_BUSY";
    const a = claim("0xa");
    assert.throws(() => claim("0xa"), busy);
    const b = claim("0xb");
    assert.throws(() => claim("0xc"), (e: Error & { code?: string }) => busy(e) && /2 audit bundles are being written/.test(e.message));
    a();
    claim("0xc")();
    claim("0xa");
    b();
    claim("0xb");
  });
});
