import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readFileSync } from "node:fs";
import { ENV_KEYS, envToConfig } from "./config.ts";
import { readEnv, unknownSettings } from "./env.ts";

describe("environment", () => {
  it("reads every setting the config schema knows (the list is the schema's, so none is dropped)", () => {
    const source = { SEN_ORDER_RETENTION_DAYS: "2", SEN_PUBLIC_RATE: "10/5", SEN_JOURNAL_DEADLINE_MS: "1500", UNRELATED: "x" };
    const env = readEnv(source);
    assert.equal(env.UNRELATED, undefined, "only Sen's keys are read");
    const config = envToConfig(env);
    assert.equal(config.orderRetentionMs, 2 * 86_400_000);
    assert.deepEqual(config.publicRate, { burst: 10, perSecond: 5 });
    assert.equal(config.journalDeadlineMs, 1500);
  });

  it("refuses a journal deadline out of range before anything touches the disk", () => {
    assert.throws(() => envToConfig(readEnv({ SEN_JOURNAL_DEADLINE_MS: "0" })), /SEN_JOURNAL_DEADLINE_MS/);
  });

  it("names SEN_* variables no setting reads (a typo would otherwise be silently ignored)", () => {
    assert.deepEqual(unknownSettings({ SEN_PORTT: "1", SEN_PORT: "2", SEN_NODE_BOOTSTRAP: "/x", PATH: "/bin" }), ["SEN_PORTT"]);
    // Settings of another part of the same process (npm start runs the issuer too) are known, their typos are not.
    assert.deepEqual(unknownSettings({ SEN_ISSUER_PORT: "1", SEN_ISSUER_PROT: "2" }, ["SEN_ISSUER_PORT"]), ["SEN_ISSUER_PROT"]);
  });

  it("has every setting documented in the README's Configuration section (the list is the schema's)", () => {
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
    const start = readme.indexOf("### Configuration");
    const section = readme.slice(start, readme.indexOf("\n### ", start + 1));
    assert.ok(start >= 0 && section.length > 100, "README has a Configuration section");
    assert.deepEqual(ENV_KEYS.filter((k) => !section.includes(`\`${k}\``)), [], "settings missing from README \"Configuration\"");
  });
});
