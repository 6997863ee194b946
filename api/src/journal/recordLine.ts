import { crc32 } from "node:zlib";

/**
 * One journal record on disk is one line:
 *
 *     <seq decimal> TAB <crc32 of "<seq>\t<json>", 8 lower-case hex> TAB <json> LF
 *
 * Why a text line rather than a length-prefixed binary frame:
 * - it is self-delimiting for free: JSON.stringify escapes every control character, so the
 *   only raw LF in a record is its terminator, and a torn write is simply a last line with no
 *   LF or a bad checksum;
 * - an operator can inspect, grep and tail a segment with ordinary tools during an incident;
 * - the seq is inside the checksum, so a record copied to the wrong place, or a line whose
 *   seq digits were damaged, is caught as well as damage to the JSON.
 * The cost (decimal seq + 8 hex digits + 2 tabs per record) is small next to the JSON.
 */
export const LF = 0x0a;
const TAB = 0x09;

export function encodeRecordLine(seq: bigint, json: string): Buffer {
  const buf = Buffer.allocUnsafe(maxRecordLineBytes(json));
  return buf.subarray(0, writeRecordLine(buf, 0, seq, json));
}

/** Room `writeRecordLine` may need: a seq of up to 20 digits (parseRecordLine's limit), the checksum, the tabs, the LF and the JSON at 3 bytes per UTF-16 unit. */
export function maxRecordLineBytes(json: string): number {
  return 31 + 3 * json.length;
}

/**
 * Writes the line of `encodeRecordLine(seq, json)` into `buf` at `offset` (which must have
 * `maxRecordLineBytes` room) and returns where it ends: the JSON is encoded to UTF-8 once,
 * straight into the batch's buffer, and checksummed there.
 */
export function writeRecordLine(buf: Buffer, offset: number, seq: bigint, json: string): number {
  const tab1 = offset + buf.write(`${seq}`, offset, "latin1");
  buf[tab1] = TAB;
  const tab2 = tab1 + 9;
  buf[tab2] = TAB;
  const end = tab2 + 1 + buf.write(json, tab2 + 1, "utf8");
  buf[end] = LF;
  const crc = crc32(buf.subarray(tab2 + 1, end), crc32(buf.subarray(offset, tab1 + 1)));
  buf.write(crc.toString(16).padStart(8, "0"), tab1 + 1, "latin1");
  return end + 1;
}

export type ParsedLine = { seq: bigint; json: string };

/** Parses a line WITHOUT its LF. Returns null when it is malformed or fails its checksum. */
export function parseRecordLine(line: Buffer): ParsedLine | null {
  const tab1 = line.indexOf(TAB);
  if (tab1 <= 0 || tab1 > 20) return null;
  const tab2 = tab1 + 9;
  if (line.length <= tab2 || line[tab2] !== TAB) return null;
  const seqText = line.toString("latin1", 0, tab1);
  if (!/^[1-9]\d*$/.test(seqText)) return null;
  const crcText = line.toString("latin1", tab1 + 1, tab2);
  if (!/^[0-9a-f]{8}$/.test(crcText)) return null;
  const body = line.subarray(tab2 + 1);
  const crc = crc32(body, crc32(line.subarray(0, tab1 + 1)));
  if (crc !== Number.parseInt(crcText, 16)) return null;
  return { seq: BigInt(seqText), json: body.toString("utf8") };
}
