import type { Response } from "express";
import { z } from "zod/v4";
import { bundleCheckpoint, bundleFileName, writeAuditBundle } from "../../compliance/audit/auditBundle.ts";
import type { AnchoredCheckpoint } from "../../compliance/audit/checkpoint.ts";
import type { Principal } from "../../auth/types.ts";
import type { AppContext } from "../../context.ts";
import { SenError } from "../../errors/SenError.ts";
import { DownloadTokens } from "../downloadTokens.ts";
import { defineRoute, type Route } from "../route.ts";

const toSeq = z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional();
const bundleQuery = z.object({ toSeq }).strict();
const linkBody = z.object({ toSeq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional() }).strict();
const downloadQuery = z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, "a download token") }).strict();

/** Bundles written at once, in all: each reads the whole log twice. */
const MAX_BUNDLES = 2;
/** How long a download link lives: long enough for the browser to follow it, too short to share. */
const LINK_TTL_MS = 60_000;

type Who = Pick<Principal, "accountId" | "identityHash">;

/**
 * One bundle at a time per account and `max` in all: a claim returns its release, or throws
 * AUDIT_BUNDLE_BUSY (429 in the envelope) before anything is recorded or read.
 */
export function bundleSlots(max: number): (accountId: string) => () => void {
  const writing = new Set<string>();
  return (accountId) => {
    if (writing.has(accountId)) throw new SenError("AUDIT_BUNDLE_BUSY", "your previous audit bundle is still being written; retry when it has finished");
    if (writing.size >= max) throw new SenError("AUDIT_BUNDLE_BUSY", `${max} audit bundles are being written; retry shortly`);
    writing.add(accountId);
    return () => writing.delete(accountId);
  };
}

/**
 * The verifiable bundle (audit/auditBundle.ts): exactly what `audit:verify` takes, as one tar,
 * for the compliance role, three ways:
 *
 * - GET …/bundle with a signature or a session (scripts);
 * - POST …/bundle/link (session or signature) signs the checkpoint to end at and returns a
 *   single-use link for GET …/bundle/download?token=…, so the console's browser saves the
 *   tar natively, straight to disk (a Bearer header cannot ride on a plain link).
 *
 * What is on record (audit.query): the request, before the checkpoint is chosen (a fresh
 * checkpoint then covers it, so the bundle holds its own request); then, once the stream ends,
 * the checkpoint actually served (treeSize, root) and whether the stream completed, as a second
 * record (`auditBundleServed`) that the bundle cannot hold (it names the bundle's root) and the
 * next one does. A link's download adds its own request record (`via: "link"`).
 */
export function auditBundleRoutes(ctx: AppContext): Route[] {
  const { audit } = ctx;
  const links = new DownloadTokens<{ treeSize: number }>({ ttlMs: LINK_TTL_MS });
  const claim = bundleSlots(MAX_BUNDLES);

  const record = (who: Who, ip: string, reason: string, detail: Record<string, unknown>) =>
    audit.record({ type: "audit.query", actor: who.accountId, account: who.accountId, wallet: who.accountId, identityHash: who.identityHash, ip, reason, detail });

  /** Streams the bundle ending at `cp`, then records what was served. */
  async function serve(who: Who, ip: string, cp: AnchoredCheckpoint, res: Response): Promise<void> {
    res.status(200);
    res.setHeader("content-type", "application/x-tar");
    res.setHeader("content-disposition", `attachment; filename="${bundleFileName(audit.log.origin, cp.treeSize)}"`);
    res.setHeader("cache-control", "no-store");
    res.setHeader("x-sen-audit-tree-size", String(cp.treeSize));
    res.setHeader("x-sen-audit-checkpoint-root", cp.root);
    let complete = true;
    try {
      await writeAuditBundle(audit.log, cp, res, { publicKeyPem: ctx.auditPublicKeyPem });
    } catch (err) {
      // Headers are gone: cutting the stream is the only honest signal (a tar that ends early does not unpack).
      complete = false;
      ctx.logger.warn({ err }, "audit bundle aborted");
      res.destroy();
    }
    try {
      record(who, ip, "auditBundleServed", { treeSize: cp.treeSize, root: cp.root, complete });
    } catch (err) {
      // The log closing under a stream: the request record is already durable.
      ctx.logger.warn({ err }, "audit bundle: the served checkpoint could not be recorded");
    }
  }

  return [
    defineRoute({
      auth: "signedOrSession",
      roles: ["compliance"],
      tag: "compliance",
      method: "get",
      path: "/api/v1/compliance/audit/bundle",
      summary:
        "Download a verifiable audit bundle (tar: events in seq order ending at a signed checkpoint, checkpoints, public key, manifest), for `npm run audit:verify -- <file>`; toSeq is exclusive (a tree size): the bundle ends at the latest checkpoint with treeSize <= toSeq, or at a fresh one without it. One bundle at a time per officer, two in all (429 otherwise)",
      query: bundleQuery,
      handler: async ({ query, principal, ip, res }) => {
        const q = query as z.infer<typeof bundleQuery>;
        const release = claim(principal!.accountId);
        try {
          record(principal!, ip, "auditBundle", { toSeq: q.toSeq });
          await audit.flush();
          // Chosen (or signed, covering the record above) before the status line, so a toSeq with nothing to end at fails in the envelope.
          const cp = await bundleCheckpoint(audit.log, q.toSeq);
          await serve(principal!, ip, cp, res);
        } finally {
          release();
        }
        return undefined;
      },
    }),
    defineRoute({
      auth: "signedOrSession",
      roles: ["compliance"],
      tag: "compliance",
      method: "post",
      path: "/api/v1/compliance/audit/bundle/link",
      summary:
        "A single-use link (60 s) to download a verifiable audit bundle natively in a browser: the checkpoint it ends at is chosen now (toSeq as for GET …/bundle) and returned with the link; GET the link's url without credentials",
      body: linkBody,
      handler: async ({ body, principal, ip }) => {
        const b = body as z.infer<typeof linkBody>;
        // Refused here, where the console can say so: the browser following the link shows no envelope.
        claim(principal!.accountId)();
        record(principal!, ip, "auditBundleLink", { toSeq: b.toSeq });
        await audit.flush();
        const cp = await bundleCheckpoint(audit.log, b.toSeq);
        const { token, expiresAt } = links.issue({ accountId: principal!.accountId, wallet: principal!.wallet, identityHash: principal!.identityHash, what: { treeSize: cp.treeSize } });
        return {
          url: `/api/v1/compliance/audit/bundle/download?token=${token}`,
          expiresAt: new Date(expiresAt).toISOString(),
          treeSize: cp.treeSize,
          root: cp.root,
          file: bundleFileName(audit.log.origin, cp.treeSize),
        };
      },
    }),
    defineRoute({
      // The token is the credential: it stands for the session that asked for it (POST …/bundle/link).
      auth: "public",
      tag: "compliance",
      method: "get",
      path: "/api/v1/compliance/audit/bundle/download",
      summary: "The bundle of a link from POST /api/v1/compliance/audit/bundle/link (single use, 60 s; the role is checked again now)",
      query: downloadQuery,
      handler: async ({ query, ip, res }) => {
        const grant = links.consume((query as z.infer<typeof downloadQuery>).token);
        // The role comes from today's configuration, as for a session.
        if (ctx.roles(grant.wallet) !== "compliance") throw new SenError("AUTH_ROLE_FORBIDDEN", "the wallet that asked for this link no longer has the compliance role");
        const release = claim(grant.accountId);
        try {
          record(grant, ip, "auditBundle", { toSeq: grant.what.treeSize, via: "link" });
          await audit.flush();
          await serve(grant, ip, await bundleCheckpoint(audit.log, grant.what.treeSize), res);
        } finally {
          release();
        }
        return undefined;
      },
    }),
  ];
}
