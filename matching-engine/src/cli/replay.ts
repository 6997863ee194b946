/**
 * npm run --silent engine:replay [-- --l2] < commands.jsonl > events.jsonl
 * Format: matching-engine/README.md ("Replay tool").
 */
import { runReplay } from "../replay/runReplay.ts";

await runReplay(process.stdin, process.stdout, { l2: process.argv.includes("--l2") });
