import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import ts from "typescript";
import { DETAIL_LABELS, RULE_WORDS, detailValueWords } from "../console/src/alertWords.ts";
import { ALERT_RULES } from "../src/compliance/surveillance/types.ts";
import { DEFAULT_SURVEILLANCE } from "../src/compliance/surveillance/config.ts";

/**
 * The console shows an alert's `detail` keys (thresholds and measurements) in words. The keys
 * are whatever the detectors write, so they are read here from the detectors' own sources in
 * api/src/compliance/surveillance: every property of an object literal given as `detail` (and of the
 * records nested in it, e.g. a ring's members), and every `detail.<key> =` assignment. A key
 * added to a detector without words in api/console/src/alertWords.ts fails this test.
 */
const SURVEILLANCE = new URL("../src/compliance/surveillance/", import.meta.url);

function detailKeysOf(file: string): Set<string> {
  const source = ts.createSourceFile(file, readFileSync(new URL(file, SURVEILLANCE), "utf8"), ts.ScriptTarget.Latest, true);
  const keys = new Set<string>();
  const declarations = new Map<string, ts.Node>();
  const collectDeclarations = (n: ts.Node): void => {
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer) declarations.set(n.name.text, n.initializer);
    ts.forEachChild(n, collectDeclarations);
  };
  collectDeclarations(source);
  const seen = new Set<ts.Node>();
  // Every object literal within `n` (arrow bodies of .map(...) included); a shorthand `members` is followed to its declaration.
  const literalKeys = (n: ts.Node): void => {
    if (seen.has(n)) return;
    seen.add(n);
    if (ts.isObjectLiteralExpression(n)) {
      for (const p of n.properties) {
        if ((ts.isPropertyAssignment(p) || ts.isShorthandPropertyAssignment(p)) && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))) keys.add(p.name.text);
        if (ts.isShorthandPropertyAssignment(p)) {
          const d = declarations.get(p.name.text);
          if (d) literalKeys(d);
        }
      }
    }
    ts.forEachChild(n, literalKeys);
  };
  const visit = (n: ts.Node): void => {
    if (ts.isPropertyAssignment(n) && ts.isIdentifier(n.name) && n.name.text === "detail" && ts.isObjectLiteralExpression(n.initializer)) literalKeys(n.initializer);
    // detail.someKey = … (e.g. the count of evidence events left out)
    if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isPropertyAccessExpression(n.left) && ts.isIdentifier(n.left.expression) && n.left.expression.text === "detail") keys.add(n.left.name.text);
    ts.forEachChild(n, visit);
  };
  visit(source);
  return keys;
}

describe("alert details in words (console)", () => {
  const files = readdirSync(SURVEILLANCE).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));
  const keys = new Map<string, string>();
  for (const f of files) for (const k of detailKeysOf(f)) keys.set(k, f);

  it("every key a detector writes into an alert's detail has words", () => {
    // The scan itself finds the thresholds it should (so a broken scan cannot pass by finding nothing).
    for (const k of ["minTrades", "windowSeconds", "netToleranceBps", "placedToCancelMs", "minOrderToTrade", "windowMinutes", "evidenceSeqsOmitted", "netBpsOfGross", "tradedInSymbol", "medianOrderQty", "reversalAfterMs"]) {
      assert.ok(keys.has(k), `the scan of api/src/compliance/surveillance finds ${k}`);
    }
    const missing = [...keys].filter(([k]) => !(k in DETAIL_LABELS)).map(([k, f]) => `${k} (${f})`);
    assert.deepEqual(missing, [], "detail keys without words in api/console/src/alertWords.ts DETAIL_LABELS");
    for (const [k, label] of Object.entries(DETAIL_LABELS)) assert.doesNotMatch(label, /^[a-z]+[A-Z]/, `${k}: a label is words, not a code name`);
  });

  it("every rule has words, and thresholds carry their unit", () => {
    assert.deepEqual(ALERT_RULES.filter((r) => !RULE_WORDS[r]), []);
    assert.equal(RULE_WORDS.WASH_SAME_IDENTITY, "Wash trade, same e-ID");
    assert.equal(detailValueWords("windowSeconds", DEFAULT_SURVEILLANCE.washRingWindowSeconds), "600 s (10 min)");
    assert.equal(detailValueWords("windowSeconds", 60), "60 s");
    assert.equal(detailValueWords("minShareBps", 5000), "50 % (5,000 bps)");
    assert.equal(detailValueWords("placedToCancelMs", 1500), "1.5 s");
    assert.equal(detailValueWords("minTrades", 6), "6");
    assert.equal(detailValueWords("minNotional", "1000000000", "GOLD-VND"), "1.000.000.000 ₫");
    assert.equal(detailValueWords("sameAccount", false), "no");
  });
});
