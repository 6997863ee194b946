/**
 * JSON with bigints, shared by the journals and the snapshot store.
 *
 * A bigint is written as the tagged object `{"$bigint":"123"}` and read back as `123n`, so
 * callers pass money as bigint (STYLE.md: smallest unit, never floats) and get bigint back.
 * The one ambiguity: a plain object whose only key is `$bigint` with a decimal-string value
 * is read back as a bigint. Records must not use `$bigint` as a key.
 *
 * JSON.stringify escapes every control character, so the encoded text never contains a raw
 * newline: the file journal relies on that to use one line per record.
 */
const TAG = "$bigint";
const DECIMAL = /^-?\d+$/;

function replacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? { [TAG]: value.toString() } : value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const tagged = (value as Record<string, unknown>)[TAG];
    if (typeof tagged === "string" && DECIMAL.test(tagged) && Object.keys(value).length === 1) return BigInt(tagged);
  }
  return value;
}

/** Throws a TypeError for values JSON cannot represent faithfully at the top level (undefined, functions). */
export function encodeJson(value: unknown): string {
  const text = JSON.stringify(value, replacer);
  if (typeof text !== "string") throw new TypeError("value is not JSON-serialisable");
  return text;
}

export function decodeJson(text: string): unknown {
  return JSON.parse(text, reviver);
}
