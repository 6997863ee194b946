import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { runReplay } from "./runReplay.ts";
import { scanCommand } from "./scanCommand.ts";
import { replayGoldenInput } from "../testing/replayInput.ts";

async function replay(text: string, chunkSize: number): Promise<string[]> {
  const bytes = Buffer.from(text);
  async function* chunks() {
    for (let i = 0; i < bytes.length; i += chunkSize) yield bytes.subarray(i, i + chunkSize);
  }
  let out = "";
  await runReplay(chunks(), { write: (b) => ((out += Buffer.from(b).toString("utf8")), true), once: () => undefined });
  return out.trimEnd().split("\n");
}

test("scanner agrees with JSON.parse or defers to it", () => {
  const value = fc.oneof(
    fc.string(),
    fc.constantFrom("limit", "buy", "sell", "o1"),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
  );
  const obj = fc.dictionary(fc.oneof(fc.constantFrom("type", "id", "qty", "price", "side"), fc.string()), value);
  fc.assert(
    fc.property(obj, fc.boolean(), (o, spaced) => {
      const text = spaced ? JSON.stringify(o, null, 1).replace(/\n/g, " ") : JSON.stringify(o);
      const buf = Buffer.from(text);
      const got = scanCommand(buf, 0, buf.length);
      if (got !== null) assert.deepEqual(got, JSON.parse(text));
    }),
    { numRuns: 2000 },
  );
  const plain = Buffer.from('{"type":"limit","id":"o1","owner":"u1","side":"buy","price":10001,"qty":5}');
  assert.deepEqual(scanCommand(plain, 0, plain.length), { type: "limit", id: "o1", owner: "u1", side: "buy", price: 10001, qty: 5 });
  for (const bad of ['{"a":1', '{"a":1}x', '{"a":01}', '{"a":1.5}', "[1]", '{"a":"\\n"}', '{"__proto__":null}']) {
    const b = Buffer.from(bad);
    assert.equal(scanCommand(b, 0, b.length), null, bad);
  }
});

test("replay: issue example, malformed lines, final snapshot, any chunking", async () => {
  const input = [
    '{"type":"limit","id":"o1","owner":"u1","side":"buy","price":10001,"qty":5}',
    '{"type":"limit","id":"o3","owner":"u3","side":"buy","price":10000,"qty":4}',
    '{"type":"market","id":"o2","owner":"u2","side":"sell","qty":7}',
    "not json",
    "",
    '{"type":"cancel","id":"o1"}',
    '{"type":"limit","id":"o4","owner":"u4","side":"sell","price":10010,"qty":3}',
    '{"type":"limit","id":"o5","owner":"u4","side":"sell","price":10009,"qty":1}',
  ].join("\n");
  const expected = await replay(input, 1 << 16);
  assert.deepEqual(expected.map((l) => JSON.parse(l).type), [
    "accepted",
    "accepted",
    "accepted",
    "trade",
    "trade",
    "rejected",
    "rejected",
    "accepted",
    "accepted",
    "snapshot",
  ]);
  const trade = JSON.parse(expected[3]);
  assert.deepEqual([trade.maker, trade.taker, trade.price, trade.qty], ["o1", "o2", 10001, 5]);
  assert.deepEqual(JSON.parse(expected[5]), { type: "rejected", id: "", reason: "ENGINE_MALFORMED_COMMAND", line: 4, seq: 0 });
  assert.equal(JSON.parse(expected[6]).line, 6);
  assert.deepEqual(JSON.parse(expected[9]), { type: "snapshot", bids: [[10000, 2]], asks: [[10009, 1], [10010, 3]] });
  for (const size of [1, 3, 17, 100]) assert.deepEqual(await replay(input, size), expected);
});

test("replay: an output that hands its written chunks back (write callback) gets the same bytes, none overwritten early", async () => {
  const text = replayGoldenInput(20_000);
  const bytes = Buffer.from(text);
  async function* chunks() {
    for (let i = 0; i < bytes.length; i += 1 << 16) yield bytes.subarray(i, i + (1 << 16));
  }
  const plain: Buffer[] = [];
  await runReplay(chunks(), { write: (b) => (plain.push(Buffer.from(b)), true), once: () => undefined });
  // a slow consumer: holds up to 3 chunks, copies one only when it lets it go, and then hands it back
  const held: [Uint8Array, () => void][] = [];
  const got: Buffer[] = [];
  let handedBack = 0;
  const release = () => {
    const [b, done] = held.shift() as [Uint8Array, () => void];
    got.push(Buffer.from(b));
    done();
    handedBack++;
  };
  await runReplay(chunks(), {
    write: (b, done) => {
      held.push([b, done ?? (() => undefined)]);
      if (held.length > 3) release();
      return true;
    },
    once: () => undefined,
  });
  while (held.length > 0) release();
  assert.ok(handedBack > 10, `chunks handed back: ${handedBack}`);
  assert.ok(Buffer.concat(got).equals(Buffer.concat(plain)));
});

test("replay: an input that reuses one buffer for every chunk (as readChunks does) gets the same output", async () => {
  const bytes = Buffer.from(replayGoldenInput(5_000));
  const plain: Buffer[] = [];
  async function* chunks(size: number) {
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  }
  await runReplay(chunks(4099), { write: (b) => (plain.push(Buffer.from(b)), true), once: () => undefined });
  for (const size of [61, 4099, 1 << 16]) {
    // every chunk in the same memory; once the next is asked for, the previous bytes are scribbled over
    const shared = Buffer.alloc(size);
    let reused = 0;
    async function* reusing() {
      for (let i = 0; i < bytes.length; i += size) {
        const n = bytes.copy(shared, 0, i, i + size);
        yield shared.subarray(0, n);
        shared.fill(0x7b);
        reused++;
      }
    }
    const got: Buffer[] = [];
    await runReplay(reusing(), { write: (b) => (got.push(Buffer.from(b)), true), once: () => undefined });
    assert.ok(reused > 5, `chunks: ${reused}`);
    assert.ok(Buffer.concat(got).equals(Buffer.concat(plain)), `chunk size ${size}`);
  }
});
