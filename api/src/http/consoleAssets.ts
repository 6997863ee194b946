import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { stripTypeScriptTypes } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type express from "express";
import { SenError } from "../errors/SenError.ts";

/** Where the console's sources live (api/console), relative to this file (api/src/http). */
const CONSOLE_DIR = fileURLToPath(new URL("../../console/", import.meta.url));

/** The console's browser modules (api/console/src): the only TypeScript files served. */
export const CONSOLE_MODULES = [
  "alertDetail.ts",
  "alertsView.ts",
  "api.ts",
  "app.ts",
  "auditBadge.ts",
  "eventsTable.ts",
  "format.ts",
  "html.ts",
  "identityActivity.ts",
  "liveAlerts.ts",
  "main.ts",
  "orderLifecycle.ts",
  "priceChart.ts",
  "router.ts",
  "searchView.ts",
  "types.ts",
  "useRemote.ts",
  "wallet.ts",
] as const;

type Asset = { file: string; type: string; transpile?: boolean };

const JS = "text/javascript; charset=utf-8";

/**
 * The fixed allow-list: URL path under /compliance → file on disk. Nothing else is served, so
 * no request path ever reaches the file system (no traversal, no directory listing).
 */
function assetMap(): Map<string, Asset> {
  // The package's folder, from its resolved entry point (hoisted or nested node_modules alike;
  // not every package exports its package.json).
  const pkgDir = (name: string) => {
    const entry = fileURLToPath(import.meta.resolve(name));
    const marker = `${path.sep}node_modules${path.sep}${name}${path.sep}`;
    return entry.slice(0, entry.lastIndexOf(marker) + marker.length - 1);
  };
  const m = new Map<string, Asset>([
    ["/", { file: path.join(CONSOLE_DIR, "index.html"), type: "text/html; charset=utf-8" }],
    ["/console.css", { file: path.join(CONSOLE_DIR, "console.css"), type: "text/css; charset=utf-8" }],
    ["/vendor/preact.js", { file: path.join(pkgDir("preact"), "dist/preact.mjs"), type: JS }],
    ["/vendor/preact-hooks.js", { file: path.join(pkgDir("preact"), "hooks/dist/hooks.mjs"), type: JS }],
    ["/vendor/htm.js", { file: path.join(pkgDir("htm"), "dist/htm.module.js"), type: JS }],
    ["/vendor/lightweight-charts.js", { file: path.join(pkgDir("lightweight-charts"), "dist/lightweight-charts.standalone.production.js"), type: JS }],
  ]);
  for (const name of CONSOLE_MODULES) m.set(`/src/${name}`, { file: path.join(CONSOLE_DIR, "src", name), type: JS, transpile: true });
  return m;
}

/** The CSP `script-src` hash of the page's inline import map (the only inline script). */
export function importMapHash(indexHtml: string): string {
  const m = /<script type="importmap">([\s\S]*?)<\/script>/.exec(indexHtml);
  if (!m) throw new SenError("CONSOLE_NO_IMPORT_MAP", "console index.html has no inline import map");
  return `'sha256-${createHash("sha256").update(m[1], "utf8").digest("base64")}'`;
}

/** Content-Security-Policy for every console response: own scripts and the hashed import map only. */
export function consoleCsp(indexHtml: string): string {
  return [
    "default-src 'none'",
    `script-src 'self' ${importMapHash(indexHtml)}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * Serves the compliance console under /compliance/: index.html, the stylesheet, the browser
 * TypeScript modules (type-stripped on first request, then from memory, no build step) and
 * the vendored libraries from node_modules. Mounted before the API routes.
 */
export function mountConsole(app: express.Express): void {
  const assets = assetMap();
  const csp = consoleCsp(readFileSync(path.join(CONSOLE_DIR, "index.html"), "utf8"));
  const cache = new Map<string, Buffer>();

  const body = (asset: Asset): Buffer => {
    let b = cache.get(asset.file);
    if (!b) {
      const source = readFileSync(asset.file, "utf8");
      b = Buffer.from(asset.transpile ? stripTypeScriptTypes(source, { mode: "strip", sourceUrl: path.basename(asset.file) }) : source, "utf8");
      cache.set(asset.file, b);
    }
    return b;
  };

  app.use("/compliance", (req, res, next) => {
    if (req.method !== "GET" && req.method !== "HEAD") return next();
    // `/compliance` → `/compliance/`, so the page's relative URLs resolve under it.
    if (req.path === "/" && !req.originalUrl.split("?")[0].endsWith("/")) return res.redirect(301, "/compliance/");
    const asset = assets.get(req.path);
    if (!asset) return next();
    let data: Buffer;
    try {
      data = body(asset);
    } catch (err) {
      return next(err);
    }
    res.set({
      "content-type": asset.type,
      "content-security-policy": csp,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cross-origin-opener-policy": "same-origin",
      "cache-control": "no-cache",
    });
    res.status(200).send(data);
  });
}
