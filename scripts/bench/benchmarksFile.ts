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
