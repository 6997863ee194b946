/**
 * A writer process for crash tests: appends and flushes in a loop from several concurrent
 * "clients" and prints `ack <seq> <client> <i>` for each record whose flush resolved.
 * The test kill -9s it at a random moment and checks that every printed seq survived.
 *
 *   node journalWriter.ts file <dir> <fsync>
 *   node journalWriter.ts redis <url> <stream>
 */
import { createFileJournal } from "../fileJournal.ts";
import { createRedisJournal } from "../redisJournal.ts";
import type { FsyncPolicy, Journal } from "../types.ts";

const [kind, where, extra] = process.argv.slice(2);
const journal: Journal =
  kind === "file" ? createFileJournal({ dir: where, fsync: (extra ?? "always") as FsyncPolicy }) : createRedisJournal({ url: where, stream: extra });
await journal.open();
process.stdout.write("ready\n");

async function client(id: number): Promise<never> {
  for (let i = 0; ; i++) {
    const seq = journal.append({ client: id, i, amount: BigInt(i) * 1000n });
    await journal.flush();
    // stdout to a pipe is synchronous on Linux: once written, the parent can read it after a kill.
    process.stdout.write(`ack ${seq} ${id} ${i}\n`);
  }
}
await Promise.all([0, 1, 2, 3].map(client));
