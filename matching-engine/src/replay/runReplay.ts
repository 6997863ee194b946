import { EngineCode } from "../codes.ts";
import type { Command } from "../command.ts";
import { MatchingEngine } from "../engine.ts";
import type { EngineEvent } from "../events.ts";
import { OutputBuffer } from "./outputBuffer.ts";
import { scanCommand } from "./scanCommand.ts";
import { ByteReplay } from "./byteReplay.ts";
import { scanCanonical } from "./scanCanonical.ts";
import { scanFast, scanSpans } from "./scanFast.ts";
import { writeEvent } from "./writeEvent.ts";

export interface ReplayOptions {
  /** Also print l2 delta events. */
  l2?: boolean;
  /**
   * Start on the byte-level path (default true; see byteReplay.ts). false runs every line
   * through `apply`: the reference the byte path is tested against. Same output either way.
   */
  bytes?: boolean;
  /** Filled in: lines run by the byte path, resting orders it handed over to `apply` (tests). */
  stats?: { byteLines: number; handedOver: number };
}

export interface ReplayOutput {
  /** Calling `done` (a stream does, once `chunk` is written) lets the replay fill `chunk`'s memory again. */
  write(chunk: Uint8Array, done?: (err?: Error | null) => void): boolean;
  once(event: "drain", fn: () => void): unknown;
}

/**
 * Streams JSON-lines commands through one default book (tick 1, lot 1, no
 * band) and writes one JSON event per line, then one `snapshot` line with
 * the full aggregated book. Memory is bounded by the resting book, not by
 * the input length. A line that is not a JSON object is answered with a
 * `rejected` event naming the line; processing goes on. An input chunk is not read again once
 * the next one is asked for, so the input may reuse its memory (readChunks.ts does).
 */
export async function runReplay(input: AsyncIterable<Buffer>, output: ReplayOutput, options: ReplayOptions = {}): Promise<void> {
  const engine = new MatchingEngine({ symbols: [{ symbol: "REPLAY" }], l2: options.l2 ?? false });
  const out = new OutputBuffer();
  let line = 0;
  const sink = (e: Readonly<EngineEvent>) => writeEvent(out, e, line);
  const bytes = new ByteReplay(engine, out);
  let byteMode = options.bytes ?? true;
  const stats = options.stats;
  // One write per ~64 KB; back-pressure is honoured once per input chunk.
  let blocked = false;
  const write = () => {
    const chunk = out.take();
    if (!output.write(chunk, () => out.recycle(chunk))) blocked = true;
  };
  const drain = async () => {
    if (blocked) await new Promise<void>((r) => output.once("drain", () => r()));
    blocked = false;
  };
  const handle = (buf: Buffer, s: number, e: number) => {
    line++;
    let i = s;
    while (i < e && (buf[i] === 32 || buf[i] === 9 || buf[i] === 13)) i++;
    if (i === e) return;
    if (byteMode) {
      if (scanSpans(buf, s, e) && bytes.run(buf, line, false)) {
        if (stats !== undefined) stats.byteLines++;
        return;
      }
      // the first line the byte path cannot run: apply takes over for good
      byteMode = false;
      const n = bytes.handOver();
      if (stats !== undefined) stats.handedOver += n;
    }
    const fast = scanFast(buf, s, e);
    if (fast !== null) {
      engine.apply(fast, sink);
      return;
    }
    let cmd: unknown = scanCommand(buf, s, e);
    if (cmd === null) {
      try {
        cmd = JSON.parse(buf.toString("utf8", s, e));
      } catch {
        cmd = null;
      }
    }
    if (cmd === null || typeof cmd !== "object" || Array.isArray(cmd)) {
      writeEvent(out, { type: "rejected", symbol: "", id: "", reason: EngineCode.MALFORMED_COMMAND, seq: 0 }, line);
      return;
    }
    const c = cmd as { symbol?: unknown };
    if (c.symbol !== undefined) c.symbol = undefined; // one book: the symbol field is ignored
    engine.apply(cmd as Command, sink);
  };

  let rest: Buffer | null = null;
  for await (const chunk0 of input) {
    let chunk = chunk0;
    let s = 0;
    if (rest !== null) {
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        rest = Buffer.concat([rest, chunk]);
        continue;
      }
      const joined = Buffer.concat([rest, chunk.subarray(0, nl)]);
      rest = null;
      handle(joined, 0, joined.length);
      s = nl + 1;
    }
    const dv = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (;;) {
      // the common case: a line in the writer's own form, scanned and ended in one pass
      if (byteMode) {
        const nl = scanCanonical(chunk, dv, s, chunk.length);
        if (nl >= 0 && bytes.run(chunk, line + 1, true)) {
          line++;
          if (stats !== undefined) stats.byteLines++;
          s = nl + 1;
          if (out.full()) write();
          continue;
        }
      }
      const nl = chunk.indexOf(10, s);
      if (nl < 0) break;
      handle(chunk, s, nl);
      s = nl + 1;
      if (out.full()) write();
    }
    if (s < chunk.length) rest = Buffer.from(chunk.subarray(s));
    await drain();
  }
  if (rest !== null) handle(rest, 0, rest.length);
  const l2 = engine.l2("REPLAY");
  const side = (lv: [number, number][]) => lv.map(([p, q]) => `[${p},${q}]`).join(",");
  out.text(`{"type":"snapshot","bids":[${side(l2?.bids ?? [])}],"asks":[${side(l2?.asks ?? [])}]}\n`);
  write();
  await drain();
}
