import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { runReplay } from "./runReplay.ts";
import type { ReplayOptions } from "./runReplay.ts";

async function replay(text: string, chunk: number, options: ReplayOptions): Promise<string> {
  const bytes = Buffer.from(text);
  async function* chunks() {
    for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
  }
  const parts: Buffer[] = [];
  await runReplay(chunks(), { write: (b) => (parts.push(Buffer.from(b)), true), once: () => undefined }, options);
  return Buffer.concat(parts).toString("utf8");
}

const MAX_LINES = 300;
const longId = "L".repeat(129);
const longOwner = "W".repeat(129);
const id = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 0, max: 60 }).map((n) => `o${n}`) },
  { weight: 1, arbitrary: fc.constantFrom("", longId, "x".repeat(128)) },
);
// few owners, on both sides: self-trades (STP) happen; empty and over-long owners now and then
const owner = fc.oneof({ weight: 20, arbitrary: fc.integer({ min: 0, max: 5 }).map((n) => `w${n}`) }, { weight: 1, arbitrary: fc.constantFrom("", longOwner) });
const side = fc.constantFrom("buy", "sell");
const price = fc.oneof({ weight: 30, arbitrary: fc.integer({ min: 95, max: 105 }) }, { weight: 1, arbitrary: fc.constant(0) });
const qty = fc.oneof({ weight: 30, arbitrary: fc.integer({ min: 1, max: 20 }) }, { weight: 1, arbitrary: fc.constant(0) });
const fastLine = fc.oneof(
  { weight: 6, arbitrary: fc.record({ type: fc.constant("limit"), id, owner, side, price, qty }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("market"), id, owner, side, qty }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant("cancel"), id }) },
);
// lines the byte path does not run: the stream is handed over to apply there
const otherLine = fc.oneof(
  fc.record({ type: fc.constant("amend"), id, qty }).map((c) => JSON.stringify(c)),
  fc.record({ type: fc.constant("cancelAll"), owner }).map((c) => JSON.stringify(c)),
  fc.record({ type: fc.constant("stop"), id, owner, side, stopPrice: price, qty }).map((c) => JSON.stringify(c)),
  fc.record({ type: fc.constant("limit"), id, owner, side, price, qty, displayQty: fc.integer({ min: 1, max: 5 }) }).map((c) => JSON.stringify(c)),
  fc.constantFrom("not json", '{"type":"limit"', '{"type":"cancel","id":"o1","x":1}'),
);
const input = fc.record({
  lines: fc.array(fastLine.map((c) => JSON.stringify(c)), { minLength: 1, maxLength: MAX_LINES, size: "max" }),
  // where (if anywhere) a line the byte path cannot run goes
  other: fc.option(fc.tuple(fc.nat(), otherLine), { freq: 2 }),
  l2: fc.boolean(),
  chunk: fc.constantFrom(7, 61, 4096),
});

test("the byte-level replay writes the same bytes as apply + writeEvent, before and after a hand-over", async () => {
  const seen = { byteLines: 0, handedOver: 0, trades: 0, selfTrades: 0, duplicates: 0, unknown: 0, long: 0, runs: 0, longest: 0 };
  await fc.assert(
    fc.asyncProperty(input, async ({ lines, other, l2, chunk }) => {
      const all = [...lines];
      if (other !== null) all.splice(other[0] % (lines.length + 1), 0, other[1]);
      const text = all.join("\n") + "\n";
      const stats = { byteLines: 0, handedOver: 0 };
      const fast = await replay(text, chunk, { l2, stats });
      const ref = await replay(text, chunk, { l2, bytes: false });
      assert.equal(fast, ref);
      seen.runs++;
      seen.longest = Math.max(seen.longest, lines.length);
      seen.byteLines += stats.byteLines;
      seen.handedOver += stats.handedOver;
      seen.trades += ref.split('"type":"trade"').length - 1;
      seen.selfTrades += ref.split("ENGINE_STP_CANCEL_NEWEST").length - 1;
      seen.duplicates += ref.split("ENGINE_DUPLICATE_ID").length - 1;
      seen.unknown += ref.split("ENGINE_UNKNOWN_ORDER").length - 1;
      seen.long += ref.split("ENGINE_INVALID_ID").length - 1;
    }),
    { numRuns: 150 },
  );
  // the property ran on what it is about: long streams, mostly on the byte path, with fills,
  // self-trades, rejections, and resting orders handed over to apply
  assert.ok(seen.longest > 100, `longest input ${seen.longest}`);
  for (const k of ["byteLines", "handedOver", "trades", "selfTrades", "duplicates", "unknown", "long"] as const) assert.ok(seen[k] > 0, `${k}: ${JSON.stringify(seen)}`);
});
