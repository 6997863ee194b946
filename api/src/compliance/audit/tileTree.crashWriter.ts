/**
 * Child process for tileTree.faults.test.ts: appends to an audit log for ever (flushing every
 * 250 events, a checkpoint every 3,000), printing `durable <n>` after each flush and
 * `checkpoint <treeSize>` after each checkpoint, until the test kills it with SIGKILL.
 * Usage: node tileTree.crashWriter.ts <dir> <segmentEvents>, key in SEN_TEST_AUDIT_KEY (PKCS#8 PEM).
 */
import { createPrivateKey, createPublicKey } from "node:crypto";
import { openAuditLog } from "./auditLog.ts";

const [dir, segmentEvents] = process.argv.slice(2);
const privateKey = createPrivateKey(process.env.SEN_TEST_AUDIT_KEY!);
const log = await openAuditLog({
  dir,
  signingKey: { privateKey, publicKey: createPublicKey(privateKey) },
  segmentEvents: Number(segmentEvents),
  fsync: "batch",
  checkpointEvery: { events: 3_000, ms: 3_600_000 },
  onCheckpoint: (cp) => process.stdout.write(`checkpoint ${cp.treeSize}\n`),
});
for (;;) {
  for (let k = 0; k < 250; k++) log.append({ type: "order.received", account: `a${log.size % 31}`, orderId: `o-${log.size}`, qty: String(log.size % 977) });
  await log.flush();
  process.stdout.write(`durable ${log.durableSize}\n`);
}
