import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type express from "express";
import { CSS, HTML, JS, packageDir, pageCsp, serveAssets, uiLibraries, type PageAsset } from "./browserPages.ts";

/** Where the console's sources live (api/console), relative to this file (api/src/http). */
const CONSOLE_DIR = fileURLToPath(new URL("../../console/", import.meta.url));

/** The console's browser modules (api/console/src): the only TypeScript files served. */
export const CONSOLE_MODULES = [
  "alertDetail.ts",
  "alertsView.ts",
  "api.ts",
  "app.ts",
  "auditBadge.ts",
  "bookView.ts",
  "eventsTable.ts",
  "format.ts",
  "html.ts",
  "identityActivity.ts",
  "liveAlerts.ts",
  "main.ts",
  "operatorView.ts",
  "orderLifecycle.ts",
  "priceChart.ts",
  "reportsView.ts",
  "router.ts",
  "searchView.ts",
  "settlementQueue.ts",
  "types.ts",
  "useRemote.ts",
  "wallet.ts",
] as const;

/**
 * The fixed allow-list: URL path under /compliance → file on disk. Nothing else is served, so
 * no request path ever reaches the file system (no traversal, no directory listing).
 */
function assetMap(): Map<string, PageAsset> {
  const m = new Map<string, PageAsset>([
    ["/", { file: path.join(CONSOLE_DIR, "index.html"), type: HTML }],
    ["/console.css", { file: path.join(CONSOLE_DIR, "console.css"), type: CSS }],
    ...uiLibraries("/vendor"),
    ["/vendor/lightweight-charts.js", { file: path.join(packageDir("lightweight-charts"), "dist/lightweight-charts.standalone.production.js"), type: JS }],
  ]);
  for (const name of CONSOLE_MODULES) m.set(`/src/${name}`, { file: path.join(CONSOLE_DIR, "src", name), type: JS, transpile: true });
  return m;
}

/**
 * Serves the compliance console under /compliance/: index.html, the stylesheet, the browser
 * TypeScript modules (type-stripped on first request, then from memory, no build step) and
 * the vendored libraries from node_modules. Mounted before the API routes.
 */
export function mountConsole(app: express.Express): void {
  const serve = serveAssets(assetMap(), pageCsp(readFileSync(path.join(CONSOLE_DIR, "index.html"), "utf8")));
  app.use("/compliance", (req, res, next) => {
    // `/compliance` → `/compliance/`, so the page's relative URLs resolve under it.
    if ((req.method === "GET" || req.method === "HEAD") && req.path === "/" && !req.originalUrl.split("?")[0].endsWith("/")) return res.redirect(301, "/compliance/");
    serve(req, res, next);
  });
}
