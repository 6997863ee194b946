import { ALERT_RULES } from "../../compliance/surveillance/types.ts";
import type { Response } from "express";
import { z } from "zod/v4";
import { AUDIT_EVENT_TYPES, isoMicros, parseIsoMicros, type AuditEvent, type AuditEventType } from "../../compliance/audit/auditEvent.ts";
import type { AuditQuery } from "../../compliance/audit/auditIndex.ts";
import type { Principal } from "../../auth/types.ts";
import type { AppContext } from "../../context.ts";
import { SenError } from "../../errors/SenError.ts";
import { DownloadTokens } from "../downloadTokens.ts";
import { HttpCode, ValidationError } from "../errors.ts";
import { defineRoute, symbolParam, type Route } from "../route.ts";

export const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "a 0x-prefixed 32-byte hex identity hash");
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "a 0x-prefixed address");
export const isoTime = z
  .string()
  .regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/, "ISO 8601 UTC, e.g. 2026-11-23T10:00:00Z")
  // A real instant: Date.parse takes 2026-02-30 for March 2nd and rejects 2026-13-45 with NaN.
  .refine((s) => {
    const ms = Date.parse(s);
    return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 19) === s.slice(0, 19);
  }, "not a calendar date and time");
const typeList = z
  .string()
  .max(1000)
  .transform((s) => s.split(",").map((t) => t.trim()).filter(Boolean))
  .pipe(z.array(z.enum(AUDIT_EVENT_TYPES)).max(30));

const filters = {
  identityHash: hex32.optional(),
  account: address.optional(),
  wallet: address.optional(),
  symbol: symbolParam.optional(),
  orderId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
  type: typeList.optional(),
  from: isoTime.optional(),
  to: isoTime.optional(),
  fromSeq: z.coerce.number().int().nonnegative().optional(),
  toSeq: z.coerce.number().int().nonnegative().optional(),
};
const eventsQuery = z
  .object({
    ...filters,
    cursor: z.string().max(64).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    order: z.enum(["asc", "desc"]).default("desc"),
  })
  .strict();
const exportQuery = z.object({ ...filters, format: z.enum(["csv", "jsonl"]).default("jsonl") }).strict();
const downloadQuery = z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, "a download token") }).strict();

export const CSV_COLUMNS = [
  "seq", "id", "ts", "type", "jseq", "account", "identityHash", "wallet", "apiKeyId", "clientOid", "orderId", "symbol", "side", "price", "qty",
  "orderType", "tif", "refPrice", "ip", "reason", "ruleId", "tradeId", "liquidity", "counterpartyAccount", "counterpartyIdentityHash",
  "counterpartyOrderId", "txHash", "currency", "amount", "actor", "detail",
] as const;

export function csvCell(v: unknown): string {
  if (v === undefined || v === null) return "";
  const s = typeof v === "object" ? JSON.stringify(v) : String(v);
  // Cells starting with = + - @ (or a tab or line break) are neutralised so a spreadsheet never
  // runs them as formulas; only a plain number such as -5 or -0.25 is left as it is.
  const safe = /^[=+\-@\t\r\n]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function csvRow(e: AuditEvent): string {
  return `${CSV_COLUMNS.map((c) => csvCell((e as Record<string, unknown>)[c])).join(",")}\n`;
}

function toQuery(q: z.infer<typeof eventsQuery> | z.infer<typeof exportQuery>): Omit<AuditQuery, "limit" | "order" | "cursor"> {
  if (q.from && q.to && parseIsoMicros(q.from) >= parseIsoMicros(q.to)) throw new ValidationError("from must be before to");
  return { identityHash: q.identityHash, account: q.account, wallet: q.wallet, symbol: q.symbol, orderId: q.orderId, types: q.type, from: q.from, to: q.to, fromSeq: q.fromSeq, toSeq: q.toSeq };
}

/**
 * The compliance officer's queries over the audit trail (compliance role only). Every query
 * is itself recorded in the audit log (`audit.query`: who asked what, from where).
 */
export function complianceRoutes(ctx: AppContext): Route[] {
  const { audit } = ctx;
  const c = { auth: "signedOrSession", roles: ["compliance"], tag: "compliance" } as const;
  const exportLinks = new DownloadTokens<z.infer<typeof exportQuery>>({ ttlMs: 60_000 });
  const audited = (principal: Pick<Principal, "accountId" | "identityHash"> | null, ip: string, what: string, detail: Record<string, unknown>) =>
    audit.record({ type: "audit.query", actor: principal!.accountId, account: principal!.accountId, wallet: principal!.accountId, identityHash: principal!.identityHash, ip, reason: what, detail });

  /** Writes with backpressure; rejects when the client has gone (a wait for "drain" would never end). */
  async function write(res: Response, chunk: string): Promise<void> {
    if (res.destroyed) throw new SenError(HttpCode.CLIENT_GONE, "the client closed the export");
    if (res.write(chunk)) return;
    await new Promise<void>((resolve, reject) => {
      const drained = () => {
        res.off("close", closed);
        resolve();
      };
      const closed = () => {
        res.off("drain", drained);
        reject(new Error("the client closed the export"));
      };
      res.once("drain", drained);
      res.once("close", closed);
    });
  }

  /** Streams every event matching `q` (CSV or JSONL) in seq order, recorded first as `who`'s export. */
  async function streamExport(q: z.infer<typeof exportQuery>, who: Pick<Principal, "accountId" | "identityHash">, ip: string, res: Response, via?: "link"): Promise<void> {
    audited(who, ip, "export", via ? { ...q, via } : { ...q });
    await audit.flush(); // the record of who exported what is durable before any data leaves
    const base = toQuery(q);
    // Validate the filters (and fail with a proper envelope) before the stream starts.
    // Seq order, not time order: event times are not monotonic in seq, and a file in log order is what matches the signed log.
    let page = await audit.index.query({ ...base, limit: 5_000, order: "asc", orderBy: "seq" });
    res.status(200);
    res.setHeader("content-type", q.format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson");
    res.setHeader("content-disposition", `attachment; filename="sen-audit.${q.format}"`);
    try {
      if (q.format === "csv") await write(res, `${CSV_COLUMNS.join(",")}\n`);
      for (;;) {
        let chunk = "";
        for (const e of page.items) chunk += q.format === "csv" ? csvRow(e) : `${JSON.stringify(e)}\n`;
        if (chunk) await write(res, chunk);
        if (!page.nextCursor) break;
        page = await audit.index.query({ ...base, cursor: page.nextCursor, limit: 5_000, order: "asc", orderBy: "seq" });
      }
      res.end();
    } catch (err) {
      // The status line is gone: the only honest signal left is to cut the stream, so the
      // download fails instead of ending as a file that looks complete.
      ctx.logger.warn({ err }, "audit export aborted");
      res.destroy();
    }
  }

  return [
    defineRoute({
      ...c,
      method: "get",
      path: "/api/v1/compliance/events",
      summary: "Search the audit trail (identity, account, wallet, symbol, order, type, time range, seq range with toSeq exclusive), cursor-paginated in time order",
      query: eventsQuery,
      handler: async ({ query, principal, ip }) => {
        const q = query as z.infer<typeof eventsQuery>;
        audited(principal, ip, "events", { ...q });
        return audit.index.query({ ...toQuery(q), cursor: q.cursor, limit: q.limit, order: q.order });
      },
    }),
    defineRoute({
      ...c,
      method: "get",
      path: "/api/v1/compliance/events/export",
      summary: "Stream every matching event as CSV or JSONL (no size limit), in seq (log) order; from/to filter by event time, toSeq is exclusive",
      query: exportQuery,
      handler: async ({ query, principal, ip, res }) => {
        await streamExport(query as z.infer<typeof exportQuery>, principal!, ip, res);
        return undefined;
      },
    }),
    defineRoute({
      ...c,
      method: "post",
      path: "/api/v1/compliance/events/export/link",
      summary: "A single-use link (60 s) to download an export (the body holds the export's query parameters) natively in a browser: GET the link's url without credentials",
      body: exportQuery,
      handler: async ({ body, principal, ip }) => {
        const q = body as z.infer<typeof exportQuery>;
        toQuery(q); // a bad range fails here, in the envelope, not in the browser's download
        audited(principal, ip, "exportLink", { ...q });
        const { token, expiresAt } = exportLinks.issue({ accountId: principal!.accountId, wallet: principal!.wallet, identityHash: principal!.identityHash, what: q });
        return { url: `/api/v1/compliance/events/export/download?token=${token}`, expiresAt: new Date(expiresAt).toISOString() };
      },
    }),
    defineRoute({
      // The token is the credential: it stands for the session that asked for it (POST …/export/link).
      auth: "public",
      tag: "compliance",
      method: "get",
      path: "/api/v1/compliance/events/export/download",
      summary: "The export of a link from POST /api/v1/compliance/events/export/link (single use, 60 s; the role is checked again now)",
      query: downloadQuery,
      handler: async ({ query, ip, res }) => {
        const grant = exportLinks.consume((query as z.infer<typeof downloadQuery>).token);
        if (ctx.roles(grant.wallet) !== "compliance") throw new SenError("AUTH_ROLE_FORBIDDEN", "the wallet that asked for this link no longer has the compliance role");
        await streamExport(grant.what, grant, ip, res, "link");
        return undefined;
      },
    }),
    defineRoute({
      ...c,
      method: "get",
      path: "/api/v1/compliance/orders/:orderId/lifecycle",
      summary: "Every event of one order, oldest first (received, accepted/rejected, fills, cancel), and its current state",
      handler: async ({ params, principal, ip }) => {
        const orderId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).safeParse(params.orderId);
        if (!orderId.success) throw new ValidationError("orderId: 1-64 characters of [A-Za-z0-9_-]");
        audited(principal, ip, "orderLifecycle", { orderId: orderId.data });
        const events: AuditEvent[] = [];
        let page = await audit.index.query({ orderId: orderId.data, limit: 1000, order: "asc" });
        events.push(...page.items);
        while (page.nextCursor && events.length < 10_000) {
          page = await audit.index.query({ orderId: orderId.data, cursor: page.nextCursor, limit: 1000, order: "asc" });
          events.push(...page.items);
        }
        // `order.received` precedes the id: find it by the client order id of the acceptance.
        const first = events.find((e) => e.clientOid && e.account);
        if (first) {
          // Received just before it was accepted: a one-minute window keeps the scan small.
          const acceptedUs = parseIsoMicros(events[0].ts);
          const received = await audit.index.query({
            account: first.account,
            types: ["order.received"],
            from: isoMicros(acceptedUs - 60_000_000n),
            to: isoMicros(acceptedUs + 1n),
            toSeq: events[0].seq,
            limit: 50,
            order: "desc",
          });
          const r = received.items.find((e) => e.clientOid === first.clientOid);
          if (r) events.unshift(r);
        }
        if (events.length === 0) throw new SenError("COMPLIANCE_NOT_FOUND", `No order with id ${orderId.data} in the audit trail`);
        const order = ctx.queries.order(orderId.data);
        return { orderId: orderId.data, events, current: order ? ctx.format.order(order) : undefined };
      },
    }),
    defineRoute({
      ...c,
      method: "get",
      path: "/api/v1/compliance/identities/:identityHash/activity",
      summary: "All activity of one e-ID across its wallets and accounts, newest first, with the wallets seen",
      query: z.object({ cursor: z.string().max(64).optional(), limit: z.coerce.number().int().min(1).max(1000).default(100), from: isoTime.optional(), to: isoTime.optional() }).strict(),
      handler: async ({ params, query, principal, ip }) => {
        const id = hex32.safeParse(params.identityHash);
        if (!id.success) throw new ValidationError("identityHash: a 0x-prefixed 32-byte hex value");
        const q = query as { cursor?: string; limit: number; from?: string; to?: string };
        audited(principal, ip, "identityActivity", { identityHash: id.data, ...q });
        const page = await audit.index.query({ identityHash: id.data, cursor: q.cursor, limit: q.limit, from: q.from, to: q.to, order: "desc" });
        const wallets = new Set<string>();
        for (const e of page.items) if (e.wallet) wallets.add(e.wallet);
        return { identityHash: id.data.toLowerCase(), wallets: [...wallets], ...page };
      },
    }),
    defineRoute({
      ...c,
      method: "get",
      path: "/api/v1/compliance/books/:symbol",
      summary: "The order book of a symbol as it was after a journal sequence or at a time (replayed from the journal), with the previous and next records that changed it at this depth",
      query: z
        .object({ seq: z.coerce.bigint().positive().optional(), time: isoTime.optional(), depth: z.coerce.number().int().min(1).max(500).default(50) })
        .strict()
        .refine((q) => (q.seq === undefined) !== (q.time === undefined), "give exactly one of seq or time"),
      handler: async ({ params, query, principal, ip, res }) => {
        const symbol = symbolParam.safeParse(params.symbol);
        if (!symbol.success) throw new ValidationError("symbol: a symbol like GOLD-VND");
        const q = query as { seq?: bigint; time?: string; depth: number };
        audited(principal, ip, "bookAt", { symbol: symbol.data, seq: q.seq?.toString(), time: q.time });
        const m = ctx.catalog.market(symbol.data);
        if (!m) throw new SenError("COMPLIANCE_NOT_FOUND", `No market ${symbol.data} on this exchange`);
        // An officer who leaves stops the replay (what it replayed so far is kept for the next one).
        const gone = new AbortController();
        res.once("close", () => gone.abort());
        const book = await ctx.pastBooks.bookAt(symbol.data, { seq: q.seq, us: q.time ? parseIsoMicros(q.time) : undefined }, q.depth, gone.signal);
        const level = ([p, s]: [number, number]) => [ctx.format.price(m, p), ctx.format.size(m, s)];
        const seqText = (s: bigint | null) => (s === null ? null : s.toString());
        return {
          symbol: symbol.data,
          journalSeq: book.seq.toString(),
          time: book.ts ? isoMicros(book.us) : null,
          bids: book.bids.map(level),
          asks: book.asks.map(level),
          depth: q.depth,
          // The records to step to (null: this is the first / the latest state of the book at this depth).
          changedAt: seqText(book.changedAt),
          prevSeq: seqText(book.prevSeq),
          nextSeq: seqText(book.nextSeq),
          // Set when no change turned up in the next NEXT_CHANGE_SEARCH records: ask again at this seq to search further.
          nextSearchedTo: seqText(book.nextSearchedTo),
          journalEnd: book.journalEnd.toString(),
        };
      },
    }),
    defineRoute({
      ...c,
      method: "get",
      path: "/api/v1/compliance/alerts",
      summary: "Surveillance alerts, newest first",
      query: z
        .object({
          rule: z.enum(ALERT_RULES).optional(),
          status: z.enum(["open", "acknowledged", "closed"]).optional(),
          identityHash: hex32.optional(),
          symbol: symbolParam.optional(),
          cursor: z.string().max(64).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
        })
        .strict(),
      handler: async ({ query, principal, ip }) => {
        const q = query as { rule?: string; status?: "open" | "acknowledged" | "closed"; identityHash?: string; symbol?: string; cursor?: string; limit: number };
        audited(principal, ip, "alerts", { ...q });
        return audit.index.alerts(q);
      },
    }),
    defineRoute({
      ...c,
      method: "get",
      path: "/api/v1/compliance/alerts/:alertId",
      summary: "One alert with its evidence events and the symbol's trades around it (for the chart)",
      query: z.object({ windowMinutes: z.coerce.number().int().min(1).max(24 * 60).default(30) }).strict(),
      handler: async ({ params, query, principal, ip }) => {
        const alertId = z.string().max(128).safeParse(params.alertId);
        if (!alertId.success) throw new ValidationError("alertId too long");
        audited(principal, ip, "alert", { alertId: alertId.data });
        const alert = await audit.index.alert(alertId.data);
        if (!alert) throw new SenError("COMPLIANCE_NOT_FOUND", `No alert with id ${alertId.data}`);
        const evidence = await audit.index.eventsBySeq(alert.eventSeqs.slice(0, 200));
        const w = (query as { windowMinutes: number }).windowMinutes * 60_000;
        const at = Date.parse(alert.ts);
        const trades = alert.symbol
          ? (
              await audit.index.query({
                symbol: alert.symbol,
                types: ["order.filled"],
                from: new Date(at - w).toISOString(),
                to: new Date(at + w).toISOString(),
                limit: 1000,
                order: "asc",
              })
            ).items
              .filter((e) => e.liquidity === "taker")
              .map((e) => ({ ts: e.ts, price: e.price, qty: e.qty, side: e.side, identityHash: e.identityHash, seq: e.seq }))
          : [];
        return { alert, evidence, trades };
      },
    }),
    defineRoute({
      ...c,
      method: "post",
      path: "/api/v1/compliance/alerts/:alertId/status",
      summary: "Acknowledge or close an alert (recorded in the audit log)",
      body: z.object({ status: z.enum(["open", "acknowledged", "closed"]), note: z.string().max(1000).optional() }).strict(),
      handler: async ({ params, body, principal, ip }) => {
        const b = body as { status: "open" | "acknowledged" | "closed"; note?: string };
        const alert = await audit.index.setAlertStatus(String(params.alertId).slice(0, 128), b.status, principal!.accountId, b.note);
        if (!alert) throw new SenError("COMPLIANCE_NOT_FOUND", `No alert with id ${String(params.alertId).slice(0, 128)}`);
        audited(principal, ip, "alertStatus", { alertId: alert.alertId, status: b.status, note: b.note });
        await audit.flush();
        return alert;
      },
    }),
    defineRoute({
      ...c,
      method: "get",
      path: "/api/v1/compliance/audit/status",
      summary: "The log's size, latest signed checkpoint, on-chain anchor and whether they verify",
      handler: async ({ principal, ip }) => {
        audited(principal, ip, "auditStatus", {});
        return auditStatus(ctx);
      },
    }),
  ];
}

/** What the console's "verify" panel shows; recomputed on each call. */
export async function auditStatus(ctx: AppContext) {
  const { audit } = ctx;
  const log = audit.log;
  const cp = log.latestCheckpoint();
  const { verifyCheckpoint } = await import("../../compliance/audit/checkpoint.ts");
  const { createPublicKey } = await import("node:crypto");
  let checkpoint: Record<string, unknown> | null = null;
  if (cp) {
    const signatureOk = verifyCheckpoint(cp, createPublicKey(ctx.auditPublicKeyPem));
    const rootOk = log.inclusionProof(0, cp.treeSize).root === cp.root;
    // The RPC error may name the provider's URL (and its key): logged, not shown.
    const anchor = ctx.auditAnchor
      ? await ctx.auditAnchor.check(cp.treeSize, cp.root).catch((err: unknown) => {
          ctx.logger.warn({ err }, "audit anchor check failed");
          return { ok: false, error: "the chain could not be read; see the gateway log" };
        })
      : null;
    checkpoint = { ...cp, signatureOk, rootOk, anchor };
  }
  return {
    events: log.size,
    durableEvents: log.durableSize,
    indexedThrough: audit.indexedThrough,
    index: audit.index.kind,
    // Set while the index refuses events: queries lag the log (from fromSeq) until it takes them again.
    indexFailure: audit.indexFailure ?? null,
    retentionYears: ctx.config.audit.retentionYears,
    checkpoints: log.checkpoints().length,
    latestCheckpoint: checkpoint,
    verified: checkpoint ? checkpoint.signatureOk === true && checkpoint.rootOk === true && (checkpoint.anchor === null || (checkpoint.anchor as { ok: boolean }).ok) : true,
    publicKeyPem: ctx.auditPublicKeyPem,
    clock: ctx.clockMonitor.status(),
  };
}
