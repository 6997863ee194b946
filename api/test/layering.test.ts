import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { defaultCatalog } from "../src/markets/marketCatalog.ts";
import { tradingQueries } from "../src/trading/queries.ts";
import { TradingCore } from "../src/trading/tradingCore.ts";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));

/**
 * Files outside trading/ that may still hold the trading core, each for a reason (ARCHITECTURE.md,
 * "Folders are layers", the paragraph on TradingQueries). Listed so the list does not grow: everything else reads through
 * TradingQueries (ctx.queries) and commands through TradingService.
 */
const MAY_HOLD_THE_CORE: Record<string, string> = {
  "context.ts": "wiring: builds ctx.queries from the core; the candles' durable mark and the audit recorder's identity lookup are set up while the core opens",
  "cluster/edgeRole.ts": "wiring of an edge: builds ctx.queries from its replica's core",
  "cluster/edgeTrading.ts": "the edge's TradingService stand-in: a command's answer is the replica's order",
  "compliance/pastBook.ts": "replays the journal through a scratch core of its own (never the live one) to show a past book",
};

/** `.core` as a property (also `trading.core` broken over lines) or the TradingCore class by name. */
const REACHES_CORE = /\.core\b|\bTradingCore\b/;

function sourceFiles(): string[] {
  return (readdirSync(SRC, { recursive: true }) as string[])
    .map((f) => f.split(path.sep).join("/"))
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !f.startsWith("trading/"));
}

describe("layering: reads go through the query port", () => {
  it("no file outside trading/ reaches into the trading core, but the listed wiring", () => {
    const offenders: string[] = [];
    for (const file of sourceFiles()) {
      if (file in MAY_HOLD_THE_CORE) continue;
      readFileSync(path.join(SRC, file), "utf8")
        .split("\n")
        .forEach((line, i) => {
          if (REACHES_CORE.test(line)) offenders.push(`api/src/${file}:${i + 1}: ${line.trim()}`);
        });
    }
    assert.deepEqual(offenders, [], "read through ctx.queries (api/src/trading/queries.ts), command through ctx.trading");
  });

  it("the rule sees what it forbids (a route reading trading.core, a listing service importing TradingCore)", () => {
    assert.ok(REACHES_CORE.test("const o = ctx.trading.core.order(id);"));
    assert.ok(REACHES_CORE.test("        const items = trading.core"));
    assert.ok(REACHES_CORE.test('import type { TradingCore } from "../trading/tradingCore.ts";'));
    assert.ok(!REACHES_CORE.test("const o = ctx.queries.order(id);"));
    // The scan covers the callers this port is for.
    const files = sourceFiles();
    for (const f of ["http/routes/orders.ts", "chain/chainServices.ts", "listing/listingService.ts"]) assert.ok(files.includes(f), f);
  });

  it("the port hands out reads only: no ledger, no apply, no snapshot, no core", () => {
    const core = new TradingCore({ catalog: defaultCatalog(), feeAccount: "fees" });
    const q = tradingQueries(core);
    for (const name of ["ledger", "apply", "snapshot", "core", "subscribe", "nextOrderId"]) assert.ok(!(name in q), name);
    // A read answers from the core as the core does.
    assert.deepEqual(q.balance("a", "VND"), core.ledger.balance("a", "VND"));
    assert.equal(q.taxRateBps(), core.taxRateBps);
    assert.equal(q.catalog, core.catalog);
  });
});

/** The floors above the wiring (ARCHITECTURE.md): they receive the context; everything below gets explicit dependencies. */
const MAY_IMPORT_THE_WIRING = /^(main\.ts|server\.ts|cluster\/|http\/)/;
const IMPORTS_THE_WIRING = /from\s+["'](?:\.\.?\/)+context\.ts["']/;

describe("layering: imports run down the floors", () => {
  it("only the entry, cluster and http floors import context.ts", () => {
    const offenders = (readdirSync(SRC, { recursive: true }) as string[])
      .map((f) => f.split(path.sep).join("/"))
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && f !== "context.ts" && !MAY_IMPORT_THE_WIRING.test(f))
      .filter((f) => IMPORTS_THE_WIRING.test(readFileSync(path.join(SRC, f), "utf8")));
    assert.deepEqual(offenders, [], "pass the module what it uses (as chain/chainServices.ts's ChainServicesContext does), not the AppContext");
  });

  it("the rule sees what it forbids", () => {
    assert.ok(IMPORTS_THE_WIRING.test('import type { AppContext } from "../context.ts";'));
    assert.ok(IMPORTS_THE_WIRING.test("import type { AppContext } from '../../context.ts';"));
    assert.ok(!IMPORTS_THE_WIRING.test('import { x } from "./contextual.ts";'));
    assert.ok(MAY_IMPORT_THE_WIRING.test("http/routes/orders.ts") && !MAY_IMPORT_THE_WIRING.test("chain/chainServices.ts"));
  });
});

/**
 * The files a source file imports by relative path, as paths under SRC: `import`/`export … from`
 * (type-only included), a bare `import "./x.ts"`, and `import("./x.ts")` (a dynamic import is a
 * dependency too, and a type written `import("./x.ts").T` is one for tsc).
 */
const RELATIVE_IMPORT = /(?:(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+|(?:^|\n)\s*import\s+|\bimport\s*\(\s*)["'](\.\.?\/[^"']+)["']/g;
function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(RELATIVE_IMPORT)) {
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1]!));
    if (!target.startsWith("../")) out.push(target);
  }
  return out;
}

/** Every cycle's files (strongly connected components of more than one file, or a file importing itself). */
function importCycles(graph: Map<string, string[]>): string[][] {
  // Tarjan's algorithm, iterative so a deep chain cannot overflow the stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let next = 0;
  for (const root of graph.keys()) {
    if (index.has(root)) continue;
    const work: Array<{ node: string; edge: number }> = [{ node: root, edge: 0 }];
    index.set(root, next), low.set(root, next++), stack.push(root), onStack.add(root);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const edges = graph.get(top.node) ?? [];
      if (top.edge < edges.length) {
        const to = edges[top.edge++]!;
        if (!graph.has(to)) continue;
        if (!index.has(to)) {
          index.set(to, next), low.set(to, next++), stack.push(to), onStack.add(to);
          work.push({ node: to, edge: 0 });
        } else if (onStack.has(to)) low.set(top.node, Math.min(low.get(top.node)!, index.get(to)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]!.node;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.node)!));
      }
      if (low.get(top.node) === index.get(top.node)) {
        const component: string[] = [];
        let n: string;
        do {
          n = stack.pop()!;
          onStack.delete(n);
          component.push(n);
        } while (n !== top.node);
        if (component.length > 1 || edges.includes(top.node)) cycles.push(component.sort());
      }
    }
  }
  return cycles;
}

describe("layering: no import cycles", () => {
  it("no two files of api/src import each other, directly or around a loop (type-only imports count)", () => {
    const graph = new Map<string, string[]>();
    for (const f of (readdirSync(SRC, { recursive: true }) as string[]).map((f) => f.split(path.sep).join("/"))) {
      if (!f.endsWith(".ts") || f.endsWith(".test.ts")) continue;
      graph.set(f, importsOf(f, readFileSync(path.join(SRC, f), "utf8")));
    }
    assert.ok(graph.size > 150, `source files read: ${graph.size}`);
    assert.ok([...graph.values()].reduce((n, e) => n + e.length, 0) > 500, "imports read");
    assert.deepEqual(importCycles(graph), [], "a shared type goes down to the module both sides already import (as risk/types.ts holds RiskRejection)");
  });

  it("the rule sees what it forbids: a two-file loop, a longer one, a type-only import, a file importing itself", () => {
    assert.deepEqual(importsOf("config/env.ts", 'import { ENV_KEYS, type Env } from "./config.ts";\nimport x from "node:fs";'), ["config/config.ts"]);
    assert.deepEqual(importsOf("risk/a.ts", 'import type {\n  RiskRejection,\n} from "../risk/types.ts";\nexport { y } from "../trading/records.ts";'), ["risk/types.ts", "trading/records.ts"]);
    assert.deepEqual(importsOf("http/a.ts", 'import "./sideEffect.ts";\nexport * from "../ws/b.ts";\nconst m = await import("../chain/c.ts");\ntype T = import("../records/orders.ts").Order;'), ["http/sideEffect.ts", "ws/b.ts", "chain/c.ts", "records/orders.ts"]);
    const g = (edges: Record<string, string[]>) => new Map(Object.entries(edges));
    assert.deepEqual(importCycles(g({ a: ["b"], b: ["a"], c: ["a"] })), [["a", "b"]]);
    assert.deepEqual(importCycles(g({ a: ["b"], b: ["c"], c: ["a"], d: [] })), [["a", "b", "c"]]);
    assert.deepEqual(importCycles(g({ a: ["a"] })), [["a"]]);
    assert.deepEqual(importCycles(g({ a: ["b", "c"], b: ["c"], c: [] })), []);
    assert.deepEqual(importCycles(g({ a: ["b"], b: ["a", "c"], c: ["d"], d: ["c"] })), [["c", "d"], ["a", "b"]]);
  });
});

/**
 * ARCHITECTURE.md's "Folders are layers" table, top floor first: each row's backticked names
 * (a folder of api/src as `name/`, a top-level file as `name.ts`; `compliance/audit/` counts as
 * `compliance`). The table is the rule: a folder that is not in it, or an import that runs up it,
 * fails here, so the picture and the code cannot part.
 */
function floorsOf(markdown: string): Map<string, number> {
  const start = markdown.indexOf("## Folders are layers");
  const end = markdown.indexOf("\n## ", start + 1);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  const rows = section.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| floor") && !l.startsWith("|---"));
  const floors = new Map<string, number>();
  rows.forEach((row, floor) => {
    const cell = row.split("|")[2] ?? "";
    for (const m of cell.matchAll(/`([a-zA-Z]+)(?:\/[^`]*|\.ts)`/g)) if (!floors.has(m[1])) floors.set(m[1], floor);
  });
  return floors;
}

/** The imports that run up the table, file to file, each with its reason; listed so that nothing joins them (ARCHITECTURE.md says the same). */
const RUNS_UP: Record<string, string> = {
  "context.ts -> http/kucoinFormat.ts": "the wiring builds the routes' KuCoin formatter; the routes import the context's type",
};

const placeOf = (file: string) => file.split("/")[0]!.replace(/\.ts$/, "");

describe("layering: imports run down ARCHITECTURE.md's floors", () => {
  const floors = floorsOf(readFileSync(fileURLToPath(new URL("../../ARCHITECTURE.md", import.meta.url)), "utf8"));

  it("every folder and top-level file of api/src is on a floor, and no import runs up but the listed one", () => {
    const files = (readdirSync(SRC, { recursive: true }) as string[]).map((f) => f.split(path.sep).join("/")).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));
    const unplaced = [...new Set(files.map(placeOf))].filter((p) => !floors.has(p));
    assert.deepEqual(unplaced, [], "put it in ARCHITECTURE.md's table");
    const up = new Set<string>();
    const offenders: string[] = [];
    for (const f of files) {
      for (const target of importsOf(f, readFileSync(path.join(SRC, f), "utf8"))) {
        const [a, b] = [placeOf(f), placeOf(target)];
        // the same floor, or one below it (rows further down the table)
        if (a === b || floors.get(b)! >= floors.get(a)!) continue;
        up.add(`${f} -> ${target}`);
        if (!(`${f} -> ${target}` in RUNS_UP)) offenders.push(`api/src/${f} imports api/src/${target}`);
      }
    }
    assert.deepEqual(offenders, [], "imports run down the floors: move the shared part down, or pass the module what it uses");
    // the listed exception is still real (else drop it from the list and ARCHITECTURE.md)
    assert.deepEqual([...up].sort(), Object.keys(RUNS_UP).sort());
  });

  it("the table is read: floors in order, folders and files by name", () => {
    assert.ok(floors.get("main")! < floors.get("cluster")! && floors.get("cluster")! < floors.get("http")!, JSON.stringify([...floors]));
    assert.ok(floors.get("http")! < floors.get("context")! && floors.get("context")! < floors.get("ws")!);
    assert.ok(floors.get("trading")! < floors.get("risk")! && floors.get("risk")! < floors.get("records")! && floors.get("records")! < floors.get("listing")!);
    assert.equal(floors.get("compliance"), floors.get("clock"));
    assert.equal(floors.get("markets"), floors.get("observability"));
    const tiny = floorsOf("## Folders are layers\n\n| floor | folders | what |\n|---|---|---|\n| top | `a/` (x), `b.ts` | … `c/` in words is not a floor's |\n| low | `d/e/` | … |\n\n## Next\n\n| floor | folders | what |\n|---|---|---|\n| other table | `f/` | … |\n");
    assert.deepEqual([...tiny], [["a", 0], ["b", 0], ["d", 1]]);
  });
});
