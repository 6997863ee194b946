import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type express from "express";
import { CSS, HTML, JS, pageCsp, serveAssets, uiLibraries, type PageAsset } from "../../api/src/http/browserPages.ts";

/**
 * The issuer's pages (issuer/pages): /onboarding/ for applicants, /review/ for issuer officers.
 * Preact + htm with no build step, served the way the compliance console is (browserPages.ts).
 */
const PAGES_DIR = fileURLToPath(new URL("../pages/", import.meta.url));

/** The fixed allow-list, URL path → file: no request path ever reaches the file system. */
function assetMap(): Map<string, PageAsset> {
  const m = new Map<string, PageAsset>([
    ["/onboarding/", { file: path.join(PAGES_DIR, "onboarding.html"), type: HTML }],
    ["/review/", { file: path.join(PAGES_DIR, "review.html"), type: HTML }],
    ["/pages/pages.css", { file: path.join(PAGES_DIR, "pages.css"), type: CSS }],
    ...uiLibraries("/pages/vendor"),
    // The server's own ID-number rules, so the form checks exactly what the service will.
    ["/src/idNumber.ts", { file: fileURLToPath(new URL("./idNumber.ts", import.meta.url)), type: JS, transpile: true }],
  ]);
  for (const name of readdirSync(path.join(PAGES_DIR, "src")).filter((f) => f.endsWith(".ts"))) {
    m.set(`/pages/src/${name}`, { file: path.join(PAGES_DIR, "src", name), type: JS, transpile: true });
  }
  return m;
}

export function mountIssuerPages(app: express.Express): void {
  // Both pages share one import map, so one CSP serves every asset.
  const serve = serveAssets(assetMap(), pageCsp(readFileSync(path.join(PAGES_DIR, "onboarding.html"), "utf8")));
  app.use((req, res, next) => {
    // `/review` → `/review/`, so the page has one address.
    if ((req.method === "GET" || req.method === "HEAD") && (req.path === "/onboarding" || req.path === "/review")) {
      const q = req.originalUrl.indexOf("?");
      return res.redirect(301, `${req.path}/${q >= 0 ? req.originalUrl.slice(q) : ""}`);
    }
    serve(req, res, next);
  });
}
