import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { envToConfig, listeningOn } from "./config.ts";

describe("config", () => {
  it("is frozen to the bottom: no module can change it under another", () => {
    const config = envToConfig({ SEN_PORT: "0", SEN_LOG_LEVEL: "silent" });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.audit) && Object.isFrozen(config.audit.checkpointEvery) && Object.isFrozen(config.journal));
    assert.throws(() => {
      (config as { chainId: number }).chainId = 1;
    }, TypeError);
    assert.throws(() => {
      (config.audit as { dir: string }).dir = "/elsewhere";
    }, TypeError);
  });

  it("takes what is known only later (the deployment's chain id) as an override", () => {
    assert.equal(envToConfig({}).chainId, 31337);
    assert.equal(envToConfig({}, { chainId: 11155111 }).chainId, 11155111);
  });

  it("publishes the port the OS chose as a new frozen config, and leaves a configured port alone", () => {
    const any = envToConfig({ SEN_PORT: "0", SEN_HOST: "127.0.0.1" });
    const bound = listeningOn(any, 41234);
    assert.notEqual(bound, any);
    assert.ok(Object.isFrozen(bound));
    assert.deepEqual([bound.publicUrl, bound.wsEndpoint, bound.siweDomain], ["http://127.0.0.1:41234", "ws://127.0.0.1:41234/ws", "127.0.0.1:41234"]);
    assert.equal(any.publicUrl, "http://127.0.0.1:0");
    const fixed = envToConfig({ SEN_PORT: "8080" });
    assert.equal(listeningOn(fixed, 8080), fixed);
  });
});
