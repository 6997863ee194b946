// A lease holder (real lease.ts, onLost exits like sequencerRole's die) writing the real audit
// trail (50 ms flush timer, as context.ts opens it) from Redis I/O callbacks, with the data
// directory's write fence the sequencer role wires; auditWriteFence.test.ts pauses it.
import { createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { Redis } from "ioredis";
import { acquireLease } from "../../src/cluster/lease.ts";
import * as role from "../../src/cluster/sequencerRole.ts";
import { openAuditLog } from "../../src/compliance/audit/auditLog.ts";
import { AuditTrail } from "../../src/compliance/audit/auditTrail.ts";
import { openSqliteAuditIndex } from "../../src/compliance/audit/sqliteAuditIndex.ts";

const [url, dir, keyFile, ttl] = process.argv.slice(2);
const privateKey = createPrivateKey(readFileSync(keyFile, "utf8"));
const signingKey = { privateKey, publicKey: createPublicKey(privateKey) };
const redis = new Redis(url, { maxRetriesPerRequest: 1 });
const lease = await acquireLease({ redis, nodeId: "old", ttlMs: Number(ttl), onLost: () => process.exit(role.EXIT_LEASE_LOST) });
// Looked up, not imported by name: the same file runs against code without the fence (it must then fail).
const fence = (role as { leaseWriteFence?: (l: typeof lease) => () => void }).leaseWriteFence?.(lease);
const log = await openAuditLog({ dir, signingKey, writeFence: fence } as Parameters<typeof openAuditLog>[0]);
const trail = await AuditTrail.open({ log, index: openSqliteAuditIndex(join(dir, "index.sqlite")), logger: pino({ level: "silent" }) });
writeSync(1, "READY\n");
let n = 0;
for (;;) {
  await redis.ping();
  trail.record({ type: "auth.login", account: `a${n++}` });
}
