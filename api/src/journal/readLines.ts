import { open } from "node:fs/promises";

export type RawLine = {
  /** Byte offset of the line's first byte in the file. */
  offset: number;
  /** The line without its LF. */
  bytes: Buffer;
  /** False for a last line that has no LF (a torn write, or a write still in progress). */
  terminated: boolean;
};

const CHUNK = 256 * 1024;

/** Streams the lines of a file with bounded memory (one chunk plus the longest line). */
export async function* readLines(path: string, startOffset = 0): AsyncGenerator<RawLine> {
  const handle = await open(path, "r");
  try {
    let position = startOffset;
    let carry: Buffer = Buffer.alloc(0);
    let carryOffset = startOffset;
    const chunk = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, CHUNK, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      const data: Buffer = carry.length === 0 ? chunk.subarray(0, bytesRead) : Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      let start = 0;
      for (;;) {
        const lf = data.indexOf(0x0a, start);
        if (lf < 0) break;
        // Copy: `data` may be the reused chunk buffer.
        yield { offset: carryOffset + start, bytes: Buffer.from(data.subarray(start, lf)), terminated: true };
        start = lf + 1;
      }
      carry = Buffer.from(data.subarray(start));
      carryOffset += start;
    }
    if (carry.length > 0) yield { offset: carryOffset, bytes: carry, terminated: false };
  } finally {
    await handle.close();
  }
}
