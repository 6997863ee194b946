import { z } from "zod/v4";
import { bundleCheckpoint, bundleFileName, writeAuditBundle } from "../../audit/auditBundle.ts";
import type { AppContext } from "../../context.ts";
import { defineRoute, type Route } from "../route.ts";

const bundleQuery = z.object({ toSeq: z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional() }).strict();

/**
 * The verifiable bundle (audit/auditBundle.ts): exactly what `audit:verify` takes, as one tar,
 * for the compliance role. Recorded as `audit.query` like every compliance query, durable
 * before a byte leaves.
 */
export function auditBundleRoutes(ctx: AppContext): Route[] {
  const { audit } = ctx;
  return [
    defineRoute({
      auth: "signedOrSession",
      roles: ["compliance"],
      tag: "compliance",
      method: "get",
      path: "/api/v1/compliance/audit/bundle",
      summary:
        "Download a verifiable audit bundle (tar: events in seq order ending at a signed checkpoint, checkpoints, public key, manifest), for `npm run audit:verify -- <file>`; toSeq is exclusive (a tree size): the bundle ends at the latest checkpoint with treeSize <= toSeq, or at a fresh one without it",
      query: bundleQuery,
      handler: async ({ query, principal, ip, res }) => {
        const q = query as z.infer<typeof bundleQuery>;
        audit.record({
          type: "audit.query",
          actor: principal!.accountId,
          account: principal!.accountId,
          wallet: principal!.accountId,
          identityHash: principal!.identityHash,
          ip,
          reason: "auditBundle",
          detail: { toSeq: q.toSeq },
        });
        await audit.flush();
        // Chosen (or signed, covering the record above) before the status line, so a toSeq with nothing to end at fails in the envelope.
        const cp = await bundleCheckpoint(audit.log, q.toSeq);
        res.status(200);
        res.setHeader("content-type", "application/x-tar");
        res.setHeader("content-disposition", `attachment; filename="${bundleFileName(audit.log.origin, cp.treeSize)}"`);
        res.setHeader("x-sen-audit-tree-size", String(cp.treeSize));
        res.setHeader("x-sen-audit-checkpoint-root", cp.root);
        try {
          await writeAuditBundle(audit.log, cp, res, { publicKeyPem: ctx.auditPublicKeyPem });
        } catch (err) {
          // Headers are gone: cutting the stream is the only honest signal (a tar that ends early does not unpack).
          ctx.logger.warn({ err }, "audit bundle aborted");
          res.destroy();
        }
        return undefined;
      },
    }),
  ];
}
