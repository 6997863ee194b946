/**
 * JSON with bigints, shared by the journals and the snapshot store.
 *
 * A bigint is written as the tagged object `{"$bigint":"123"}` and read back as `123n`, so
 * callers pass money as bigint (smallest units, never floats) and get bigint back.
 * The one ambiguity: a plain object whose only key is `$bigint` with a decimal-string value
 * is read back as a bigint. Records must not use `$bigint` as a key.
 *
 * JSON.stringify escapes every control character, so the encoded text never contains a raw
 * newline: the file journal relies on that to use one line per record.
 */
const TAG = "$bigint";
const QUOTED_TAG = `"${TAG}"`;
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

/**
 * Whether `value` may hold a bigint JSON.stringify would meet: a "maybe" (an object with its
 * own toJSON, nesting past 16 levels) counts as yes. Scanning costs far less than what it
 * saves: a replacer function takes JSON.stringify off V8's fast path for the whole value.
 */
function mayHoldBigint(value: unknown, depth: number): boolean {
  if (typeof value === "bigint") return true;
  if (value === null || typeof value !== "object") return false;
  if (depth > 16 || typeof (value as { toJSON?: unknown }).toJSON === "function") return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (mayHoldBigint(value[i], depth + 1)) return true;
    return false;
  }
  for (const k in value) if (mayHoldBigint((value as Record<string, unknown>)[k], depth + 1)) return true;
  return false;
}

/**
 * `value` with its bigints tagged, copying only the objects and arrays on the way to one (the
 * value itself is left as it is). What the walk does not follow (an object with its own toJSON,
 * nesting past 16 levels) stays as it is, for the replacer.
 */
function tagBigints(value: unknown, depth: number): unknown {
  if (typeof value === "bigint") return { [TAG]: value.toString() };
  if (value === null || typeof value !== "object" || depth > 16) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const t = tagBigints(value[i], depth + 1);
      if (t !== value[i]) (out ??= value.slice())[i] = t;
    }
    return out ?? value;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return value;
  let out: Record<string, unknown> | undefined;
  for (const k of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[k];
    const t = tagBigints(v, depth + 1);
    // The spread copies an own "__proto__" key as a key, so this sets that key.
    if (t !== v) (out ??= { ...(value as Record<string, unknown>) })[k] = t;
  }
  return out ?? value;
}

/**
 * A value holding bigints, written on JSON.stringify's fast path: its tagged copy, and the
 * replacer only for what the copy leaves untagged (a replacer function takes the whole value
 * off V8's fast path: ~4x the time for an order).
 */
function encodeTagged(value: unknown): string | undefined {
  try {
    return JSON.stringify(tagBigints(value, 0));
  } catch {
    return JSON.stringify(value, replacer);
  }
}

/** Throws a TypeError for values JSON cannot represent faithfully at the top level (undefined, functions). */
export function encodeJson(value: unknown): string {
  // Plain JSON.stringify first: it throws a TypeError at the first bigint it meets, and
  // without one tagging would change nothing, so a value it writes is the same text, without
  // first walking the value (journal records hold no bigint: their amounts are strings). A
  // value it refuses is tagged (and throws again if it is not serialisable for another reason).
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = encodeTagged(value);
  }
  if (typeof text !== "string") throw new TypeError("value is not JSON-serialisable");
  return text;
}

/** `encodeJson` for a value known to hold bigints (a sequencer's reply: an order), skipping the plain attempt that would throw. */
export function encodeJsonWithBigints(value: unknown): string {
  const text = encodeTagged(value);
  if (typeof text !== "string") throw new TypeError("value is not JSON-serialisable");
  return text;
}

/**
 * `encodeJson` for the pieces of a snapshot, whose leaves often hold bigints (balances): a
 * walk decides the path, where a refused first attempt would cost an exception per leaf.
 */
function encodeJsonScanned(value: unknown): string {
  const text = mayHoldBigint(value, 0) ? JSON.stringify(value, replacer) : JSON.stringify(value);
  if (typeof text !== "string") throw new TypeError("value is not JSON-serialisable");
  return text;
}

/**
 * The JSON text of values handed to `keepEncoded`, made the first time a snapshot needs it
 * ("" until then: no JSON text is empty). The open orders' snapshot forms
 * (trading/captureCache.ts) often stay the same from one snapshot to the next: encoding each
 * once, instead of at every snapshot, keeps the snapshot's encoding off the sequencer thread's
 * per-order cost. (Records that never change again are kept as their text alone: KeptText.)
 */
const encodedOnce = new WeakMap<object, string>();

function deepFreeze(value: object): void {
  // for...in, not Object.values: no array per value (several per order reach here).
  for (const k in value) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== null && typeof v === "object" && !Object.isFrozen(v)) deepFreeze(v);
  }
  Object.freeze(value);
}

/**
 * Declares `value` never to change again (it is deep-frozen here, so a later write throws
 * instead of leaving a stale text behind): `encodeJsonYielding` then encodes it once and
 * reuses that text wherever it appears in an array. Returns `value`.
 */
export function keepEncoded<T extends object>(value: T): T {
  deepFreeze(value);
  encodedOnce.set(value, "");
  return value;
}

/**
 * A value that will never change again, kept only as its JSON text. A busy exchange retains
 * hundreds of thousands of finished orders, fills and unsettled trades for its snapshots, and
 * the live records are held anyway: a snapshot form kept as an object beside its text cost
 * about 560 B more per order (bench:sequencer's flow), all of it for the young-generation
 * collections to copy. The encoder writes `text` where the value goes; `JSON.stringify` writes
 * the same bytes through `toJSON`, and `value()` gives the value again to a reader of a state
 * that was never encoded (a restore from an in-memory capture).
 */
export class KeptText<T> {
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  /** The value as it was kept (bigints revived). */
  value(): T {
    return decodeJson(this.text) as T;
  }

  /** The parsed text, which JSON.stringify writes back as these same bytes (bigint tags included, as plain objects). */
  toJSON(): unknown {
    return JSON.parse(this.text);
  }
}

/** A snapshot form: the value itself, or its kept text. */
export type Form<T> = T | KeptText<T>;

/** `value` kept as its text (see KeptText); the value itself is not held. */
export function keepText<T extends object>(value: T): KeptText<T> {
  // encodeJson, not encodeJsonScanned: snapshot forms hold strings where the records hold
  // bigints, so the plain attempt succeeds without the walk first (about 0.2 of the 1.5 µs an
  // order's form and text cost); a value holding a bigint is still tagged.
  return new KeptText<T>(encodeJson(value));
}

/** A form's value: the value itself, or its kept text decoded. */
export function formValue<T>(form: Form<T>): T {
  return form instanceof KeptText ? form.value() : form;
}

/** Whether `a` holds a kept value among its first elements, or in arrays there (fills are [account, fills[]] pairs). */
function holdsKept(a: readonly unknown[], depth: number): boolean {
  for (let i = 0; i < a.length && i < 2; i++) {
    const v = a[i];
    if (v === null || typeof v !== "object") continue;
    if (v instanceof KeptText || encodedOnce.has(v)) return true;
    if (depth < 3 && Array.isArray(v) && holdsKept(v, depth + 1)) return true;
  }
  return false;
}

/**
 * `encodeJsonScanned(a)` for an array without its brackets, built from the kept texts of its
 * kept elements (and of those in nested arrays); undefined when `a` holds no kept value near
 * its start. Elements other than kept values, arrays, strings, numbers, booleans and null
 * make it encode `a` the plain way, so the text is always JSON.stringify's.
 */
function joinReusing(a: readonly unknown[], depth: number): string | undefined {
  if (!holdsKept(a, depth)) return undefined;
  const parts = new Array<string>(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    let text: string | undefined;
    if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") text = JSON.stringify(v);
    else if (v instanceof KeptText) text = v.text;
    else if (typeof v === "object") {
      const kept = encodedOnce.get(v);
      if (kept === "") {
        text = encodeJsonScanned(v);
        encodedOnce.set(v, text);
      } else if (kept !== undefined) text = kept;
      else if (Array.isArray(v)) {
        const inner = joinReusing(v, depth + 1);
        text = inner === undefined ? encodeJsonScanned(v) : `[${inner}]`;
      }
    }
    if (text === undefined) return encodeJsonScanned(a).slice(1, -1);
    parts[i] = text;
  }
  return parts.join(",");
}

/** `encodeJsonScanned`, reusing kept texts in arrays. */
function encodeLeaf(value: unknown): string {
  const inner = Array.isArray(value) ? joinReusing(value, 0) : undefined;
  return inner === undefined ? encodeJsonScanned(value) : `[${inner}]`;
}

export function decodeJson(text: string): unknown {
  // A reviver takes JSON.parse off its fast path. Without the tag written out, and without a
  // \u escape that could spell it, no object in the text can be a tagged bigint: parse plainly
  // (journal records of orders, the command bus's commands and replies).
  if (!text.includes(QUOTED_TAG) && !text.includes("\\u")) return JSON.parse(text);
  return JSON.parse(text, reviver);
}

/** Arrays with at least this many elements are split (into runs of this many at the last level). */
const SPLIT_AT = 64;

/** Whether `a` holds an array of SPLIT_AT elements or more, directly or (`levels` > 0) in its arrays. */
function holdsLongArray(a: readonly unknown[], levels: number): boolean {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (!Array.isArray(v)) continue;
    if (v.length >= SPLIT_AT || (levels > 0 && holdsLongArray(v, levels - 1))) return true;
  }
  return false;
}

function* pieces(value: unknown, depth: number): Generator<string> {
  if (value instanceof KeptText) {
    yield value.text;
    return;
  }
  if (depth > 0 && value !== null && typeof value === "object" && !("toJSON" in value && typeof value.toJSON === "function")) {
    if (Array.isArray(value) && value.length >= SPLIT_AT) {
      yield "[";
      if (depth === 1) {
        // Leaves: whole runs of elements per call ("[a,b]" without its brackets), so the cost
        // stays close to one JSON.stringify of the array.
        for (let i = 0; i < value.length; i += SPLIT_AT) {
          if (i > 0) yield ",";
          const run = value.slice(i, i + SPLIT_AT);
          yield joinReusing(run, 0) ?? encodeJsonScanned(run).slice(1, -1);
        }
      } else {
        for (let i = 0; i < value.length; i++) {
          if (i > 0) yield ",";
          const v = value[i] as unknown;
          // JSON.stringify writes null for what it cannot represent inside an array.
          if (v === undefined || typeof v === "function" || typeof v === "symbol") yield "null";
          else yield* pieces(v, depth - 1);
        }
      }
      yield "]";
      return;
    }
    if (depth === 1 && Array.isArray(value) && holdsLongArray(value, 1)) {
      // A short array around long ones (the fills: [account, fills[]] pairs): element by
      // element, so the long arrays inside are split into runs too, instead of joined into one
      // string, then copied into its enclosing ones.
      yield "[";
      for (let i = 0; i < value.length; i++) {
        if (i > 0) yield ",";
        const v = value[i] as unknown;
        if (v === undefined || typeof v === "function" || typeof v === "symbol") yield "null";
        else yield* pieces(v, 1);
      }
      yield "]";
      return;
    }
    if (!Array.isArray(value)) {
      const entries = Object.entries(value).filter(([, v]) => v !== undefined && typeof v !== "function" && typeof v !== "symbol");
      yield "{";
      for (let i = 0; i < entries.length; i++) {
        const [k, v] = entries[i];
        yield `${i > 0 ? "," : ""}${JSON.stringify(k)}:`;
        yield* pieces(v, depth - 1);
      }
      yield "}";
      return;
    }
  }
  yield encodeLeaf(value);
}

/**
 * `encodeJson(value)`, produced in pieces with a pause for the event loop every `sliceMs` of
 * work. A snapshot of a busy exchange is tens of MB of JSON: encoded in one call it would stall
 * order handling and market data for hundreds of ms. The caller must hand over a value nobody
 * mutates meanwhile (the trading service snapshots into fresh objects). Same bytes as
 * `encodeJson` (property-tested).
 */
export async function encodeJsonYielding(value: unknown, sliceMs = 4, depth = 3): Promise<string> {
  const parts: string[] = [];
  await encodeJsonPieces(value, (piece) => parts.push(piece), sliceMs, depth);
  return parts.join("");
}

/**
 * `encodeJsonYielding` without the final join: `sink` gets the text in pieces, in order (their
 * concatenation is `encodeJson(value)`), so a caller that writes bytes can write each piece
 * where it goes instead of first building one string of the whole (tens of MB of fresh memory
 * per snapshot, then copied again into bytes).
 */
export async function encodeJsonPieces(value: unknown, sink: (piece: string) => void, sliceMs = 4, depth = 3): Promise<void> {
  let since = performance.now();
  for (const piece of pieces(value, depth)) {
    sink(piece);
    if (performance.now() - since >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      since = performance.now();
    }
  }
}
