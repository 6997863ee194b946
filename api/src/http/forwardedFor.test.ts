import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clientAddress, edgeForwardHeaders, edgeForwardingKey, EDGE_PROOF_HEADER, provenForwardedFor } from "./forwardedFor.ts";

const MASTER = "11".repeat(32);
const key = edgeForwardingKey(MASTER)!;
const NOW = 1_800_000_000_000;

describe("forwarded client address (edge proof)", () => {
  it("takes the address an edge proved, for that method and path, within 30 s", () => {
    const h = edgeForwardHeaders(key, "203.0.113.7", "GET", "/api/v1/sen/wallet?x=1", NOW);
    assert.equal(clientAddress(key, h, "10.0.0.2", "GET", "/api/v1/sen/wallet?x=1", NOW), "203.0.113.7");
    assert.equal(clientAddress(key, h, "10.0.0.2", "get", "/api/v1/sen/wallet?x=1", NOW + 29_000), "203.0.113.7");
  });

  it("falls back to the socket's address for anything else", () => {
    const h = edgeForwardHeaders(key, "203.0.113.7", "GET", "/a", NOW);
    const socket = "10.0.0.2";
    const cases: Array<[string, Record<string, string>, string, string, number, Buffer | null]> = [
      ["no proof", { "x-forwarded-for": "203.0.113.7" }, "GET", "/a", NOW, key],
      ["another address", { ...h, "x-forwarded-for": "203.0.113.8" }, "GET", "/a", NOW, key],
      ["a list", { ...h, "x-forwarded-for": "203.0.113.7, 10.0.0.9" }, "GET", "/a", NOW, key],
      ["another method", h, "POST", "/a", NOW, key],
      ["another path", h, "GET", "/b", NOW, key],
      ["stale", h, "GET", "/a", NOW + 31_000, key],
      ["from the future", h, "GET", "/a", NOW - 31_000, key],
      ["another key", h, "GET", "/a", NOW, edgeForwardingKey("22".repeat(32))],
      ["not a sequencer (no key)", h, "GET", "/a", NOW, null],
      ["a malformed proof", { ...h, [EDGE_PROOF_HEADER]: "x.y" }, "GET", "/a", NOW, key],
      ["a truncated mac", { ...h, [EDGE_PROOF_HEADER]: h[EDGE_PROOF_HEADER].slice(0, -2) }, "GET", "/a", NOW, key],
    ];
    for (const [what, headers, method, url, now, k] of cases) assert.equal(clientAddress(k, headers, socket, method, url, now), socket, what);
  });

  it("derives the proof key from SEN_MASTER_KEY, never the key itself; none without one", () => {
    assert.equal(edgeForwardingKey(undefined), null);
    assert.notDeepEqual(key, Buffer.from(MASTER, "hex"));
    assert.equal(provenForwardedFor(key, edgeForwardHeaders(key, "edge", "POST", "/internal/holder-rules/sync", NOW), "POST", "/internal/holder-rules/sync", NOW), "edge");
  });
});
