import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The code trees whose errors must carry a code from a table: api/ throws SenError
 * subclasses, the engine EngineFault (its refusals are returned codes), the issuer IssuerError.
 * scripts/ are CLIs and benches whose throws end the run with a message, so they are not scanned.
 */
const TREES = ["api/src", "matching-engine/src", "issuer/src"];

/** A plain Error thrown (`throw new Error(` or `throw Error(`): no code for a caller or a mapper to read. */
const THROWS_PLAIN_ERROR = /\bthrow\s+(?:new\s+)?Error\s*\(/;

function productionFiles(): string[] {
  return TREES.flatMap((tree) =>
    (readdirSync(path.join(ROOT, tree), { recursive: true }) as string[])
      .map((f) => `${tree}/${f.split(path.sep).join("/")}`)
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts")),
  );
}

describe("coded errors: nothing throws a plain Error", () => {
  it("no production file of api/, matching-engine/ or issuer/ throws new Error(...)", () => {
    const offenders: string[] = [];
    for (const file of productionFiles()) {
      readFileSync(path.join(ROOT, file), "utf8")
        .split("\n")
        .forEach((line, i) => {
          if (THROWS_PLAIN_ERROR.test(line)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
        });
    }
    assert.deepEqual(offenders, [], "throw the module's coded error (api/src/errors/SenError.ts, matching-engine/src/codes.ts EngineFault, issuer/src/errors.ts)");
  });

  it("the rule sees what it forbids, and the scan covers the three trees", () => {
    assert.ok(THROWS_PLAIN_ERROR.test('    if (!base) throw new Error("no sequencer is active");'));
    assert.ok(THROWS_PLAIN_ERROR.test("throw Error(`x`)"));
    assert.ok(!THROWS_PLAIN_ERROR.test('throw new SenError(EdgeCode.NO_SEQUENCER, "no sequencer is active");'));
    assert.ok(!THROWS_PLAIN_ERROR.test('throw new RangeError("leaf index outside the tree");'));
    assert.ok(!THROWS_PLAIN_ERROR.test('throw new AuditError(AuditCode.IO, "not an audit bundle");'));
    const files = productionFiles();
    for (const f of ["api/src/cluster/edgeRole.ts", "matching-engine/src/replay/byteReplay.ts", "issuer/src/provider.ts"]) assert.ok(files.includes(f), f);
    assert.ok(!files.some((f) => f.endsWith(".test.ts")));
  });
});
