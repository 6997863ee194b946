import type { Express } from "express";
import type { AppContext } from "../../context.ts";
import type { Listing } from "../../listing/listing.ts";
import { listingInputSchema } from "../../listing/listing.ts";
import { SenError } from "../../errors/SenError.ts";
import { ValidationError } from "../errors.ts";
import { defineRoute, symbolParam, type Route } from "../route.ts";

const iso = (ms: number) => new Date(ms).toISOString();

/** A listing as the public sees it: everything but Sen's internal ids, dates in ISO 8601. */
function publicView(ctx: AppContext, l: Readonly<Listing>) {
  const cls = ctx.pilot.rules.assetClasses[l.assetClass];
  return {
    symbol: l.symbol,
    name: l.name,
    assetClass: l.assetClass,
    assetClassLabel: cls?.label ?? l.assetClass,
    holderRule: cls ? { ruleId: cls.holders.ruleId, text: cls.holders.text } : null,
    underlying: l.underlying,
    issuer: l.issuer,
    custodian: l.custodian,
    token: l.token ?? null,
    prospectus: { hash: l.prospectus.hash, uri: l.prospectus.uri, publishedAt: iso(l.prospectus.publishedAt), page: `/listings/${l.symbol}` },
    offeringOpensAt: iso(l.offeringOpensAt),
    open: ctx.now() >= l.offeringOpensAt,
  };
}

/** The listing flow (operators) and its public side: the listings, the rules in force. */
export function listingRoutes(ctx: AppContext): Route[] {
  const { queries, listings } = ctx;
  const find = (symbol: string) => {
    const l = queries.listing(symbol);
    if (!l) throw new SenError("NOT_FOUND", `no listing for ${symbol}`);
    return l;
  };
  return [
    defineRoute({
      method: "post",
      path: "/api/v1/sen/operator/listings",
      tag: "operator",
      auth: "signedOrSession",
      roles: ["operator"],
      summary: "List an asset: checked against the pilot's rules and the token on chain, its prospectus published on Sen's pages, its market opening at the offering",
      body: listingInputSchema,
      handler: async ({ body, principal }) => publicView(ctx, await listings.list(body, principal!.accountId)),
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/sen/listings",
      tag: "market",
      auth: "public",
      summary: "Listed assets: issuer, class, underlying, custody, prospectus and offering",
      handler: () => [...queries.listings()].map((l) => publicView(ctx, l)),
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/sen/listings/:symbol",
      tag: "market",
      auth: "public",
      summary: "One listing, with the prospectus hash the token holds on chain now",
      handler: async ({ params }) => {
        const symbol = symbolParam.safeParse(params.symbol);
        if (!symbol.success) throw new ValidationError(`symbol: ${symbol.error.issues[0]?.message ?? "invalid"}`);
        const l = find(symbol.data);
        const onChain = await listings.onChainHash(l);
        return { ...publicView(ctx, l), onChainDocumentHash: onChain ?? null, hashMatches: onChain === undefined ? null : onChain === l.prospectus.hash };
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/sen/rules",
      tag: "market",
      auth: "public",
      whileHalted: true,
      summary: "The pilot's rules in force (Resolution 05/2025/NQ-CP as Sen applies them) and their fingerprint",
      handler: () => ({ ...ctx.pilot.rules, sha256: ctx.pilot.sha256, taxRateBpsInForce: queries.taxRateBps() }),
    }),
  ];
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Sen's own prospectus pages: each listed asset's page shows its prospectus as Sen published
 * it, the SHA-256 of that text, and the hash the token holds on chain, read when the page is
 * asked for, so a reader can see that they are the same document.
 */
export function mountListingPages(app: Express, ctx: AppContext): void {
  app.get("/listings/:symbol", async (req, res) => {
    const l = ctx.queries.listing(String(req.params.symbol));
    if (!l) {
      res.status(404).type("text/plain").send("no such listing");
      return;
    }
    const doc = ctx.listings.document(l.prospectus.hash) ?? "";
    let onChain: string;
    try {
      onChain = (await ctx.listings.onChainHash(l)) ?? "no chain attached";
    } catch {
      onChain = "the chain did not answer; try again";
    }
    const v = publicView(ctx, l);
    const matches = onChain === l.prospectus.hash;
    const row = (k: string, val: string) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(val)}</td></tr>`;
    res.type("html").send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(l.name)} — prospectus · Sen</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}th{text-align:left;padding-right:1rem;vertical-align:top}pre{white-space:pre-wrap;background:#f6f6f6;padding:1rem}code{word-break:break-all}.ok{color:#0a0}.bad{color:#b00}</style></head><body>
<h1>${escapeHtml(l.name)} (${escapeHtml(l.symbol)})</h1>
<table>
${row("Asset class", v.assetClassLabel)}
${row("Who may hold it", v.holderRule ? `${v.holderRule.ruleId}: ${v.holderRule.text}` : "—")}
${row("Underlying", `${l.underlying.type}: ${l.underlying.description}`)}
${row("Issuer", `${l.issuer.name} (country ${l.issuer.country}, registration ${l.issuer.registration})`)}
${row("Custodian and proof of backing", `${l.custodian.name}: ${l.custodian.proofOfBacking}`)}
${row("Token", l.token ?? "—")}
${row("Prospectus published on Sen", v.prospectus.publishedAt)}
${row("Offering opens", v.offeringOpensAt)}
</table>
<h2>Prospectus fingerprint</h2>
<p>SHA-256 of the text below: <code id="sen-hash">${escapeHtml(l.prospectus.hash)}</code><br>
Hash the token holds on chain now: <code id="chain-hash">${escapeHtml(onChain)}</code>
<span class="${matches ? "ok" : "bad"}">${matches ? "✓ the same document" : "✗ not confirmed"}</span><br>
Original: <code>${escapeHtml(l.prospectus.uri)}</code></p>
<h2>Prospectus</h2><pre id="prospectus">${escapeHtml(doc)}</pre>
</body></html>`);
  });
  app.get("/listings/:symbol/prospectus.txt", (req, res) => {
    const l = ctx.queries.listing(String(req.params.symbol));
    const doc = l && ctx.listings.document(l.prospectus.hash);
    if (doc === undefined || !l) {
      res.status(404).type("text/plain").send("no such listing");
      return;
    }
    res.type("text/plain; charset=utf-8").send(doc);
  });
}
