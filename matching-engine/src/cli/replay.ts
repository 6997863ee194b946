/**
 * npm run --silent engine:replay [-- --l2] < commands.jsonl > events.jsonl
 * Format: matching-engine/README.md ("Replay tool").
 */
import { readChunks } from "../replay/readChunks.ts";
import { runReplay } from "../replay/runReplay.ts";

// A reader that has seen enough (`| head`) closes the pipe: nobody is left to read the events,
// so the replay ends quietly, as a Unix filter does, instead of dying on an unhandled EPIPE.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

await runReplay(
  readChunks(0, () => process.stdin),
  process.stdout,
  { l2: process.argv.includes("--l2") },
);
