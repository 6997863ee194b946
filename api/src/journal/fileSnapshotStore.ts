import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { JournalCode, JournalError } from "../errors/SenError.ts";
import { fsyncDir } from "../fs/fsyncDir.ts";
import { decodeJson, encodeJsonPieces } from "./jsonCodec.ts";
import type { SnapshotStore } from "./types.ts";

/**
 * Snapshots as files `snapshot-<seq, 20 digits>.snap` in `dir`, each:
 *
 *     SENSNAP1 TAB <seq> TAB <crc32 of the JSON, 8 hex> TAB <JSON byte length> LF <JSON>
 *
 * save(): write `.snapshot.tmp`, fsync it, rename it to its final name (atomic), fsync the
 * directory, then delete all but the newest `keep` (default 2) snapshots. A crash at any point
 * leaves the previous snapshot whole; at worst a stray temp file, which save() overwrites.
 * load(): newest first; a snapshot whose header, length or checksum is wrong is reported to
 * `onCorrupt` and skipped, so recovery falls back to the previous snapshot (replaying more of
 * the journal), or to null (replay everything).
 */
export type FileSnapshotStoreOptions = {
  dir: string;
  /** How many snapshots to keep (default 2: the latest and the previous one). */
  keep?: number;
  onCorrupt?: (file: string, error: JournalError) => void;
};

const NAME = /^snapshot-(\d{20})\.snap$/;
const TMP = ".snapshot.tmp";
/** The body is written into chunks of this size, kept between saves up to BODY_BYTES_KEPT in all. */
const CHUNK_BYTES = 4 * 1024 * 1024;
const BODY_BYTES_KEPT = 256 * 1024 * 1024;

/**
 * `state`'s JSON as UTF-8, written piece by piece into `chunks` (reused in order, more added
 * as needed): the body is the returned `parts` back to back, the same bytes as
 * Buffer.from(encodeJson(state)), without the string of the whole, its copy, or a buffer
 * grown (copied) as the body turns out longer than the last one.
 */
async function encodeBody(state: unknown, chunks: Buffer[]): Promise<{ parts: Buffer[]; length: number }> {
  const parts: Buffer[] = [];
  let length = 0;
  let c = 0;
  let buf = (chunks[0] ??= Buffer.allocUnsafeSlow(CHUNK_BYTES));
  let start = 0; // the current chunk's bytes not yet in `parts`
  let used = 0;
  const emit = () => {
    if (used > start) parts.push(buf.subarray(start, used));
    start = used;
  };
  await encodeJsonPieces(state, (piece) => {
    if (piece.length * 3 > buf.length - used) {
      const bytes = Buffer.byteLength(piece, "utf8");
      if (bytes > buf.length - used) {
        emit();
        if (bytes > CHUNK_BYTES) {
          // Longer than a chunk (rare: long arrays come in runs): a buffer of its own.
          parts.push(Buffer.from(piece, "utf8"));
          length += bytes;
          return;
        }
        buf = chunks[++c] ??= Buffer.allocUnsafeSlow(CHUNK_BYTES);
        start = used = 0;
      }
    }
    const n = buf.write(piece, used, "utf8");
    used += n;
    length += n;
  });
  emit();
  return { parts, length };
}

function decode(file: string, bytes: Buffer, expectedSeq: bigint): { seq: bigint; state: unknown } {
  const bad = (reason: string) => new JournalError(JournalCode.CORRUPT, `snapshot ${file} is corrupt: ${reason}`, { details: { file, reason } });
  const lf = bytes.indexOf(0x0a);
  if (lf < 0 || lf > 100) throw bad("no header");
  const [magic, seqText, crcText, lengthText] = bytes.toString("latin1", 0, lf).split("\t");
  if (magic !== "SENSNAP1" || !/^\d+$/.test(seqText ?? "") || !/^[0-9a-f]{8}$/.test(crcText ?? "") || !/^\d+$/.test(lengthText ?? "")) throw bad("bad header");
  const seq = BigInt(seqText);
  if (seq !== expectedSeq) throw bad(`header seq ${seq} does not match the file name`);
  const body = bytes.subarray(lf + 1);
  if (body.length !== Number(lengthText)) throw bad(`length ${body.length}, header says ${lengthText}`);
  if (crc32(body) !== Number.parseInt(crcText, 16)) throw bad("checksum mismatch");
  return { seq, state: decodeJson(body.toString("utf8")) };
}

export function createFileSnapshotStore(options: FileSnapshotStoreOptions): SnapshotStore {
  const { dir } = options;
  const keep = Math.max(1, options.keep ?? 2);
  // The previous save's body chunks, reused: a snapshot is tens of MB, and fresh memory of that
  // size costs the sequencer's thread a page fault per 4 KiB at every snapshot. Null while a
  // save uses them (a concurrent save takes new ones).
  let spare: Buffer[] | null = null;

  async function list(): Promise<{ seq: bigint; name: string }[]> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw new JournalError(JournalCode.IO, `cannot list snapshots in ${dir}`, { cause });
    }
    return names
      .filter((n) => NAME.test(n))
      .map((name) => ({ seq: BigInt(NAME.exec(name)![1]), name }))
      .sort((a, b) => (a.seq < b.seq ? 1 : a.seq > b.seq ? -1 : 0));
  }

  /** The snapshot file for `seq`, whole or not at all, fsynced with its directory; older ones beyond `keep` removed. */
  async function writeDurably(seq: bigint, bytes: Buffer[]): Promise<void> {
    try {
      await mkdir(dir, { recursive: true });
      const tmp = join(dir, TMP);
      const handle = await open(tmp, "w");
      try {
        await handle.writev(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, join(dir, `snapshot-${seq.toString().padStart(20, "0")}.snap`));
      await fsyncDir(dir);
      for (const old of (await list()).slice(keep)) await rm(join(dir, old.name), { force: true });
    } catch (cause) {
      throw new JournalError(JournalCode.IO, `cannot save snapshot ${seq} in ${dir}: ${(cause as Error)?.message ?? cause}`, { cause });
    }
  }

  return {
    async save(seq, state, body) {
      if (seq < 0n) throw new JournalError(JournalCode.IO, `snapshot seq must be >= 0, got ${seq}`);
      const chunks = spare ?? [];
      spare = null;
      const { parts, length } = await encodeBody(state, chunks);
      let crc = 0;
      for (const p of parts) crc = crc32(p, crc);
      const header = Buffer.from(`SENSNAP1\t${seq}\t${crc.toString(16).padStart(8, "0")}\t${length}\n`, "latin1");
      try {
        await writeDurably(seq, [header, ...parts]);
        // Durable: the bytes may go on (before the chunks are reused below).
        await body?.(parts, length);
      } finally {
        if (chunks.length * CHUNK_BYTES <= BODY_BYTES_KEPT) spare = chunks;
      }
    },

    async load() {
      for (const { seq, name } of await list()) {
        const file = join(dir, name);
        try {
          return decode(file, await readFile(file), seq);
        } catch (error) {
          const reported =
            error instanceof JournalError ? error : new JournalError(JournalCode.CORRUPT, `snapshot ${file} is unreadable`, { cause: error, details: { file } });
          options.onCorrupt?.(file, reported);
        }
      }
      return null;
    },
  };
}
