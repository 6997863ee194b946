/**
 * npm run --silent engine:replay [-- --l2] < commands.jsonl > events.jsonl
 * Format: matching-engine/README.md ("Replay tool").
 */
import { readChunks } from "../replay/readChunks.ts";
import { runReplay } from "../replay/runReplay.ts";

await runReplay(
  readChunks(0, () => process.stdin),
  process.stdout,
  { l2: process.argv.includes("--l2") },
);
