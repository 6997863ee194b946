import { useEffect, useRef, useState } from "preact/hooks";
import type { Lang } from "./lang.ts";
import { formatDecimal, parseInput } from "./money.ts";

/**
 * The text of an amount field, written the way the current language writes numbers: switching
 * language rewrites what was typed (`100.000` in vi becomes `100,000` in en), so the same text
 * never means two amounts.
 */
export function useAmountInput(lang: Lang, initial = ""): [string, (s: string) => void] {
  const [text, setText] = useState(initial);
  const shownIn = useRef(lang);
  useEffect(() => {
    const from = shownIn.current;
    shownIn.current = lang;
    if (from === lang) return;
    setText((t) => {
      const v = parseInput(t, from);
      return v ? formatDecimal(v, lang) : t;
    });
  }, [lang]);
  return [text, setText];
}
