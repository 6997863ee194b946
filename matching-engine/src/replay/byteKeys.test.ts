import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ByteKeys } from "./byteKeys.ts";

test("ByteKeys finds, inserts and removes like a Map of the keys' bytes (keys of any length up to the stride, at any place in the buffer)", () => {
  const stride = 12;
  // size "max" on the keys too: fast-check 4 would otherwise make keys of at most ~10 bytes, never the stride's 12.
  const seen = { found: 0, missed: 0, removed: 0, maxSize: 0, strideKeys: 0 };
  const op = fc.tuple(fc.constantFrom("insert", "find", "remove"), fc.uint8Array({ minLength: 0, maxLength: stride, size: "max" }), fc.nat({ max: 9 }), fc.nat({ max: 4 }));
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 400, size: "max" }), (ops) => {
      const keys = new ByteKeys(stride, 4);
      const model = new Map<string, number>();
      let next = 0;
      const free: number[] = [];
      for (const [kind, key, before, after] of ops) {
        // the key somewhere in a buffer with bytes before and after it (or none: the key at the buffer's end)
        const buf = new Uint8Array(before + key.length + after).fill(0xa5);
        buf.set(key, before);
        const name = Buffer.from(key).toString("hex");
        const got = keys.find(buf, before, key.length);
        assert.equal(got, model.get(name) ?? -1);
        if (key.length === stride) seen.strideKeys++;
        if (got >= 0) seen.found++;
        else seen.missed++;
        if (kind === "insert" && got < 0) {
          const e = free.pop() ?? next++;
          keys.insert(e, buf, before, key.length);
          model.set(name, e);
        } else if (kind === "remove" && got >= 0) {
          keys.remove(got);
          model.delete(name);
          free.push(got);
          seen.removed++;
        }
        seen.maxSize = Math.max(seen.maxSize, model.size);
        assert.equal(keys.size, model.size);
      }
      for (const [name, e] of model) {
        const b = Buffer.from(name, "hex");
        assert.equal(keys.len[e], b.length);
        assert.ok(Buffer.from(keys.arena.buffer, e * stride, b.length).equals(b), "stored bytes");
      }
    }),
    { numRuns: 200 },
  );
  assert.ok(seen.found > 1000 && seen.missed > 1000 && seen.removed > 300, JSON.stringify(seen));
  assert.ok(seen.maxSize > 40, `largest set ${seen.maxSize}: the table never grew far`);
  assert.ok(seen.strideKeys > 100, `keys as long as the stride: ${seen.strideKeys}`);
});
