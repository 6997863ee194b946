import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { stripTypeScriptTypes } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type express from "express";

/**
 * The issuer's pages (issuer/pages): /onboarding/ for applicants, /review/ for issuer officers.
 * Preact + htm with no build step, as the compliance console: the browser TypeScript modules
 * are type-stripped on first request and kept in memory; the libraries come from node_modules.
 */
const PAGES_DIR = fileURLToPath(new URL("../pages/", import.meta.url));
const JS = "text/javascript; charset=utf-8";
const HTML = "text/html; charset=utf-8";

type Asset = { file: string; type: string; transpile?: boolean };

function pkgDir(name: string): string {
  const entry = fileURLToPath(import.meta.resolve(name));
  const marker = `${path.sep}node_modules${path.sep}${name}${path.sep}`;
  return entry.slice(0, entry.lastIndexOf(marker) + marker.length - 1);
}

/** The fixed allow-list, URL path → file: no request path ever reaches the file system. */
function assetMap(): Map<string, Asset> {
  const m = new Map<string, Asset>([
    ["/onboarding/", { file: path.join(PAGES_DIR, "onboarding.html"), type: HTML }],
    ["/review/", { file: path.join(PAGES_DIR, "review.html"), type: HTML }],
    ["/pages/pages.css", { file: path.join(PAGES_DIR, "pages.css"), type: "text/css; charset=utf-8" }],
    ["/pages/vendor/preact.js", { file: path.join(pkgDir("preact"), "dist/preact.mjs"), type: JS }],
    ["/pages/vendor/preact-hooks.js", { file: path.join(pkgDir("preact"), "hooks/dist/hooks.mjs"), type: JS }],
    ["/pages/vendor/htm.js", { file: path.join(pkgDir("htm"), "dist/htm.module.js"), type: JS }],
    // The server's own ID-number rules, so the form checks exactly what the service will.
    ["/src/idNumber.ts", { file: fileURLToPath(new URL("./idNumber.ts", import.meta.url)), type: JS, transpile: true }],
  ]);
  for (const name of readdirSync(path.join(PAGES_DIR, "src")).filter((f) => f.endsWith(".ts"))) {
    m.set(`/pages/src/${name}`, { file: path.join(PAGES_DIR, "src", name), type: JS, transpile: true });
  }
  return m;
}

/** Content-Security-Policy: own scripts and the page's hashed import map only; API calls to this origin. */
export function pagesCsp(html: string): string {
  const map = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? "";
  const hash = `'sha256-${createHash("sha256").update(map, "utf8").digest("base64")}'`;
  return [
    "default-src 'none'",
    `script-src 'self' ${hash}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

export function mountIssuerPages(app: express.Express): void {
  const assets = assetMap();
  const csp = pagesCsp(readFileSync(path.join(PAGES_DIR, "onboarding.html"), "utf8"));
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
  app.use((req, res, next) => {
    if (req.method !== "GET" && req.method !== "HEAD") return next();
    // `/review` → `/review/`, so the page has one address.
    if (req.path === "/onboarding" || req.path === "/review") {
      const q = req.originalUrl.indexOf("?");
      return res.redirect(301, `${req.path}/${q >= 0 ? req.originalUrl.slice(q) : ""}`);
    }
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
