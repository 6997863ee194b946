import path from "node:path";
import { fileURLToPath } from "node:url";
import type express from "express";
import { CSS, HTML, JS, packageDir, serveAssets, type PageAsset } from "./browserPages.ts";

/** The page and its initializer (api/src/http/apiDocs), relative to this file. */
const PAGE_DIR = fileURLToPath(new URL("./apiDocs/", import.meta.url));

/** URL path under /docs → file: the page, its initializer, and swagger-ui-dist's bundle and stylesheet. Nothing else is served. */
function assetMap(): Map<string, PageAsset> {
  const swagger = packageDir("swagger-ui-dist");
  return new Map<string, PageAsset>([
    ["/", { file: path.join(PAGE_DIR, "index.html"), type: HTML }],
    ["/initializer.js", { file: path.join(PAGE_DIR, "initializer.js"), type: JS }],
    ["/swagger-ui-bundle.js", { file: path.join(swagger, "swagger-ui-bundle.js"), type: JS }],
    ["/swagger-ui.css", { file: path.join(swagger, "swagger-ui.css"), type: CSS }],
  ]);
}

/**
 * The page's Content-Security-Policy, the console's minus its import-map hash and fonts.
 * Scripts: this origin's files only (the initializer is a file: no inline script, no eval).
 * Styles: this origin's stylesheet only. No 'unsafe-inline' was needed: swagger-ui 5.35 sets
 * its computed styles through the DOM (element.style), which CSP does not govern, and writes
 * no <style> element or style attribute of its own (api/test/apiDocs.test.ts expands every
 * operation, the schemas and a "Try it out" in Chromium and watches for violations).
 * Images: swagger-ui's icons are data: URIs. Requests (the OpenAPI document, "Try it out")
 * go to this origin only.
 */
export const API_DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * The rendered API reference at /docs: swagger-ui-dist from node_modules, pointed at the
 * gateway's /openapi.json (generated from the route table, so it is never out of date).
 */
export function mountApiDocs(app: express.Express): void {
  app.use("/docs", serveAssets(assetMap(), API_DOCS_CSP));
}
