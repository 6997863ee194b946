import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { replayGoldenInput } from "../testing/replayInput.ts";
import { runReplay } from "./runReplay.ts";

/**
 * The replay tool's output is a format others diff and hash: it must not move. These digests
 * are of the output the replay tool produced before the many-owner work (2026-12-03, commit
 * 67fe57b's matching-engine) on the fixed input below; any change to scanning, matching or
 * writing that alters a byte fails here.
 */
const GOLDEN = {
  input: "582608fd8dd979dc",
  plain: { bytes: 7109182, lines: 53623, sha256: "20026586ab63d07f1fdb0a5a14780167bbe0ef0f2f79f65e124c6e594e3ce76c" },
  l2: { bytes: 9003086, lines: 84806, sha256: "c185c9117eca4bf1f4a81083b385710f3ed286e41e834c4c2bd243e68bbce0f3" },
};

async function replayed(text: string, l2: boolean, chunk: number) {
  const bytes = Buffer.from(text);
  async function* chunks() {
    for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
  }
  const parts: Buffer[] = [];
  await runReplay(chunks(), { write: (b) => (parts.push(Buffer.from(b)), true), once: () => undefined }, { l2 });
  const out = Buffer.concat(parts);
  let lines = 0;
  for (const x of out) if (x === 10) lines++;
  return { out, bytes: out.length, lines, sha256: createHash("sha256").update(out).digest("hex") };
}

test("replay output is byte-identical to the recorded golden output (30,000 mixed lines, l2 off and on, any chunking)", async () => {
  const text = replayGoldenInput(30_000);
  assert.equal(createHash("sha256").update(text).digest("hex").slice(0, 16), GOLDEN.input, "the generated input itself changed");
  for (const [l2, want] of [
    [false, GOLDEN.plain],
    [true, GOLDEN.l2],
  ] as const) {
    const got = await replayed(text, l2, 4099);
    assert.deepEqual({ bytes: got.bytes, lines: got.lines, sha256: got.sha256 }, want, `l2 ${l2}`);
    assert.equal((await replayed(text, l2, 1 << 20)).sha256, want.sha256, `l2 ${l2}, one big chunk`);
    if (!l2) {
      // the input reaches what it is meant to: every event type and the rejections of the odd lines
      const seen = new Set<string>();
      for (const line of got.out.toString("utf8").trimEnd().split("\n")) {
        const e = JSON.parse(line) as { type: string; reason?: string };
        seen.add(e.reason ?? e.type);
      }
      for (const k of [
        "accepted",
        "trade",
        "amended",
        "triggered",
        "snapshot",
        "ENGINE_USER_CANCELLED",
        "ENGINE_CANCEL_ALL",
        "ENGINE_MALFORMED_COMMAND",
        "ENGINE_UNKNOWN_COMMAND",
        "ENGINE_DUPLICATE_ID",
        "ENGINE_INVALID_PRICE",
        "ENGINE_FOK_NOT_FILLED",
        "ENGINE_IOC_REMAINDER",
        "ENGINE_POST_ONLY_WOULD_TAKE",
        "ENGINE_MARKET_NO_LIQUIDITY",
      ])
        assert.ok(seen.has(k), `the golden input never produced ${k} (saw ${[...seen].join(", ")})`);
    }
  }
});
