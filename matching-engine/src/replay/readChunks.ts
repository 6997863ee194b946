import { readSync } from "node:fs";

/**
 * Bytes per read. 1 MB reads made no difference to the replay and cost the JSON echo ~15% (its
 * chunk becomes one 1 MB string that every line is sliced from).
 */
const READ = 1 << 16;

/**
 * The bytes of file descriptor `fd` (the CLI's stdin) in chunks, for `runReplay` and the bench's
 * JSON echo. Every chunk is a view of one reused buffer, valid until the next one is asked for
 * (both consumers copy what they keep across chunks). A readable stream of 64 KB chunks cost the
 * replay a fresh buffer per chunk and its stream machinery.
 *
 * After each chunk it waits for the event loop's check phase (setImmediate): reads that resolve at
 * once would otherwise keep the consumer in one long run of microtasks, and the output stream's
 * write callbacks (queued with process.nextTick), which hand the output chunks back for reuse,
 * would not run until the end of the input.
 *
 * A descriptor that cannot be read synchronously (a non-blocking pipe: EAGAIN) is read from
 * `fallback()` from there on, a stream over the same descriptor.
 */
export async function* readChunks(fd: number, fallback: () => AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const buf = Buffer.allocUnsafe(READ);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, READ, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EOF") return;
      if (code !== "EAGAIN") throw err;
      yield* fallback();
      return;
    }
    if (n === 0) return;
    yield buf.subarray(0, n);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
