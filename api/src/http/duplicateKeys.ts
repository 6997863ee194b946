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
