import { z } from "zod/v4";
import type { AppContext } from "../../context.ts";
import { ValidationError } from "../errors.ts";
import { defineRoute, type Route } from "../route.ts";

const size = z.coerce.number().int().nonnegative();

/**
 * Public transparency endpoints, as a Certificate Transparency log serves them (RFC 9162):
 * the latest signed checkpoint and Merkle proofs. They reveal hashes only, never events, so
 * anyone (an auditor, a regulator's witness, `npm run audit:verify`) can check that the log
 * only ever grows and that a given record is in it.
 */
export function auditProofRoutes(ctx: AppContext): Route[] {
  const log = () => ctx.audit.log;
  const p = { auth: "public", tag: "audit" } as const;
  return [
    defineRoute({
      ...p,
      method: "get",
      path: "/api/v1/audit/checkpoint",
      summary: "The latest signed checkpoint (tree size, root, time, Ed25519 signature) and the key that verifies it; null before the first",
      handler: () => {
        const cp = log().latestCheckpoint();
        if (!cp) return null;
        return { ...cp, publicKeyPem: ctx.auditPublicKeyPem, anchor: ctx.auditAnchor?.describe() };
      },
    }),
    defineRoute({
      ...p,
      method: "get",
      path: "/api/v1/audit/checkpoints",
      summary: "All signed checkpoints (with their on-chain anchors), oldest first",
      query: z.object({ fromTreeSize: size.default(0), limit: z.coerce.number().int().min(1).max(1000).default(100) }).strict(),
      handler: ({ query }) => {
        const q = query as { fromTreeSize: number; limit: number };
        return log()
          .checkpoints()
          .filter((c) => c.treeSize >= q.fromTreeSize)
          .slice(0, q.limit);
      },
    }),
    defineRoute({
      ...p,
      method: "get",
      path: "/api/v1/audit/proof/inclusion",
      summary: "Audit path proving event `seq` is in the tree of size `treeSize` (RFC 9162 §2.1.3)",
      query: z.object({ seq: size, treeSize: size.optional() }).strict(),
      handler: ({ query }) => {
        const q = query as { seq: number; treeSize?: number };
        // Public proofs are against published (signed) checkpoints only: the live size of the log
        // is not public, it would show the exchange's activity as it happens.
        const published = log().latestCheckpoint()?.treeSize ?? 0;
        const n = q.treeSize ?? published;
        if (n > published) throw new ValidationError("treeSize is beyond the latest published checkpoint");
        if (q.seq >= n) throw new ValidationError(`seq must be below treeSize (${n})`);
        return log().inclusionProof(q.seq, n);
      },
    }),
    defineRoute({
      ...p,
      method: "get",
      path: "/api/v1/audit/proof/consistency",
      summary: "Proof that the tree of size `second` extends the tree of size `first` (RFC 9162 §2.1.4)",
      query: z.object({ first: size, second: size }).strict(),
      handler: ({ query }) => {
        const q = query as { first: number; second: number };
        if (q.first < 1 || q.first > q.second) throw new ValidationError("need 1 <= first <= second");
        if (q.second > (log().latestCheckpoint()?.treeSize ?? 0)) throw new ValidationError("second is beyond the latest published checkpoint");
        return log().consistencyProof(q.first, q.second);
      },
    }),
  ];
}
