import { visit } from "jsonc-parser";

/**
 * The first key that appears twice in one object of `json` (already known to be valid JSON),
 * or undefined. JSON.parse keeps the last one silently, so `{"side":"buy","side":"sell"}`
 * would mean what the signer may not have meant: such a body is refused instead.
 * jsonc-parser's visitor sees every key in order; its JSONC leniencies never apply here,
 * since the text has already passed JSON.parse.
 */
export function firstDuplicateKey(json: string): string | undefined {
  const open: Array<Set<string>> = [];
  let found: string | undefined;
  // The visitor recurses: a body nested deeper than the stack allows cannot be checked, and no
  // request of this API nests more than a few levels, so it is refused rather than crashing.
  if (nestingDepth(json) > MAX_DEPTH) throw new RangeError(`JSON nested deeper than ${MAX_DEPTH} levels`);
  visit(json, {
    onObjectBegin: () => {
      open.push(new Set());
    },
    onObjectEnd: () => {
      open.pop();
    },
    onObjectProperty: (key) => {
      const keys = open[open.length - 1];
      if (found === undefined && keys.has(key)) found = key;
      keys.add(key);
    },
  });
  return found;
}

const MAX_DEPTH = 64;

/** The deepest nesting of arrays and objects in `json` (brackets inside strings do not count). */
function nestingDepth(json: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}
