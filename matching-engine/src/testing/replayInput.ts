import { createHash } from "node:crypto";

/**
 * A fixed replay input for the golden-output test: mostly the three fast-path shapes with a
 * fresh owner and id per order (the many-owner workload), mixed with every other command
 * kind and the lines the general scanner or JSON.parse handle (extra fields, key order,
 * spaces, escapes, non-ASCII, floats, malformed and blank lines). Deterministic without a
 * seeded PRNG: the "random" bytes are sha256 of a counter, so the input never depends on a
 * library's generator.
 */
export function replayGoldenInput(lines: number): string {
  let block = Buffer.alloc(0);
  let at = 0;
  let n = 0;
  const byte = () => {
    if (at === block.length) {
      block = createHash("sha256").update(`sen-replay-golden-${n++}`).digest();
      at = 0;
    }
    return block[at++];
  };
  const int = (k: number) => ((byte() << 16) | (byte() << 8) | byte()) % k;
  const live: string[] = [];
  const out: string[] = [];
  const side = () => (int(2) === 0 ? "buy" : "sell");
  const price = (s: string) => (s === "buy" ? 1000 - 12 + int(20) : 1000 - 8 + int(20));
  for (let i = 0; i < lines; i++) {
    const r = int(100);
    const s = side();
    const owner = int(4) === 0 ? `w${int(20)}` : `u${i}`;
    const id = `o${i}`;
    if (r < 45) {
      out.push(JSON.stringify({ type: "limit", id, owner, side: s, price: price(s), qty: 1 + int(30) }));
      live.push(id);
    } else if (r < 55) out.push(JSON.stringify({ type: "market", id, owner, side: s, qty: 1 + int(40) }));
    else if (r < 68 && live.length > 0) out.push(JSON.stringify({ type: "cancel", id: live.splice(int(live.length), 1)[0] }));
    else if (r < 70) out.push(`{"qty":${1 + int(9)},"side":"${s}","price":${price(s)},"owner":"${owner}","id":"${id}","type":"limit","symbol":"X","ts":${i}}`);
    else if (r < 72) out.push(`  { "type" : "limit" , "id" : "${id}", "owner": "${owner}", "side": "${s}", "price": ${price(s)}, "qty": ${1 + int(9)} }  `);
    else if (r < 74) {
      out.push(JSON.stringify({ type: "limit", id, owner, side: s, price: price(s), qty: 20 + int(20), displayQty: 1 + int(5) }));
      live.push(id);
    } else if (r < 76) out.push(JSON.stringify({ type: "limit", id, owner, side: s, price: price(s), qty: 1 + int(9), postOnly: true }));
    else if (r < 78) out.push(JSON.stringify({ type: "limit", id, owner, side: s, price: price(s), qty: 1 + int(30), tif: int(2) === 0 ? "IOC" : "FOK" }));
    else if (r < 80) {
      out.push(JSON.stringify({ type: "stop", id, owner, side: s, stopPrice: 990 + int(20), qty: 1 + int(9), price: int(2) === 0 ? price(s) : undefined }));
      live.push(id);
    } else if (r < 82 && live.length > 0) out.push(JSON.stringify({ type: "amend", id: live[int(live.length)], price: int(2) === 0 ? price(s) : undefined, qty: 1 + int(20) }));
    else if (r < 83) out.push(JSON.stringify({ type: "cancelAll", owner: `w${int(20)}` }));
    else if (r < 84) out.push(JSON.stringify({ type: "market", id, owner, side: s, funds: 1000 + int(40_000) }));
    else if (r < 86) {
      const stp = ["cancelNewest", "cancelOldest", "cancelBoth", "decrement"][int(4)];
      out.push(JSON.stringify({ type: "limit", id, owner: `w${int(3)}`, beneficialOwner: int(2) === 0 ? "B" : undefined, side: s, price: price(s), qty: 1 + int(9), stp }));
      live.push(id);
    } else if (r < 87) out.push(JSON.stringify({ type: "limit", id: `${id}-é\n"q"`, owner: `ü${owner}`, side: s, price: price(s), qty: 1 + int(9) }));
    else if (r < 88) out.push(`{"type":"limit","id":"${id}","owner":"${owner}","side":"${s}","price":${price(s)}.5,"qty":3}`);
    else if (r < 89) out.push(`{"type":"limit","id":"${id}","owner":"${owner}","side":"${s}","price":1e3,"qty":3}`);
    else if (r < 90) out.push(["not json", "[1,2]", "{}", '{"type":"limit"', "null", '{"type":"nope","id":"x"}', `{"type":"cancel","id":"${id}"} trailing`][int(7)]);
    else if (r < 91) out.push("");
    else if (r < 92) out.push(JSON.stringify({ type: "limit", id: live[0] ?? id, owner, side: s, price: price(s), qty: 1 }));
    else if (r < 93) out.push(JSON.stringify({ type: "limit", id, owner, side: s, price: price(s), qty: 12_345_678_901_234_567 }));
    else {
      out.push(JSON.stringify({ type: "limit", id, owner, side: s, price: price(s), qty: 1 + int(30) }));
      live.push(id);
    }
  }
  return out.join("\n") + "\n";
}
