import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { stripTypeScriptTypes } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { brotliCompress, gzip, constants as zlibConstants } from "node:zlib";
import type { RequestHandler } from "express";
import { ConfigCode, ConfigError } from "../config/errors.ts";

/**
 * Browser pages without a build step, as Sen's compliance console and the e-KYC issuer's pages
 * are served: a fixed allow-list of URL paths to files (no request path ever reaches the file
 * system), browser TypeScript type-stripped on first request and then kept in memory, Preact
 * and htm from node_modules, and a CSP that admits only this origin's scripts and the page's
 * hashed import map.
 */
export type PageAsset = { file: string; type: string; transpile?: boolean };

export const JS = "text/javascript; charset=utf-8";
export const HTML = "text/html; charset=utf-8";
export const CSS = "text/css; charset=utf-8";

/** A package's folder, from its resolved entry point (hoisted or nested node_modules alike; not every package exports its package.json). */
export function packageDir(name: string): string {
  const entry = fileURLToPath(import.meta.resolve(name));
  const marker = `${path.sep}node_modules${path.sep}${name}${path.sep}`;
  return entry.slice(0, entry.lastIndexOf(marker) + marker.length - 1);
}

/** Preact, its hooks and htm, under `prefix` (e.g. "/vendor"). */
export function uiLibraries(prefix: string): Array<[string, PageAsset]> {
  return [
    [`${prefix}/preact.js`, { file: path.join(packageDir("preact"), "dist/preact.mjs"), type: JS }],
    [`${prefix}/preact-hooks.js`, { file: path.join(packageDir("preact"), "hooks/dist/hooks.mjs"), type: JS }],
    [`${prefix}/htm.js`, { file: path.join(packageDir("htm"), "dist/htm.module.js"), type: JS }],
  ];
}

/** The CSP `script-src` hash of a page's inline import map (its only inline script). */
export function importMapHash(html: string): string {
  const m = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html);
  if (!m) throw new ConfigError(ConfigCode.BROKEN_ASSET, "the page has no inline import map");
  return `'sha256-${createHash("sha256").update(m[1], "utf8").digest("base64")}'`;
}

/** Content-Security-Policy for every page response: own scripts and the hashed import map only; API calls to this origin. */
export function pageCsp(html: string): string {
  return [
    "default-src 'none'",
    `script-src 'self' ${importMapHash(html)}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Serves the allow-listed assets (GET and HEAD); anything else goes to `next`. */
export function serveAssets(assets: ReadonlyMap<string, PageAsset>, csp: string): RequestHandler {
  // Each file is read, type-stripped and compressed once, on first request (compression on the
  // libuv thread pool, so a first visit never stalls the gateway's event loop): the pages are a
  // fixed set of small files, and doing it per request would only burn CPU on the gateway.
  const cache = new Map<string, Promise<Encoded>>();
  const encoded = (asset: PageAsset): Promise<Encoded> => {
    let e = cache.get(asset.file);
    if (!e) {
      e = (async () => {
        const source = readFileSync(asset.file, "utf8");
        const identity = Buffer.from(asset.transpile ? stripTypeScriptTypes(source, { mode: "strip", sourceUrl: path.basename(asset.file) }) : source, "utf8");
        // Brotli 9, not 11: within 10 % of the size at a twentieth of the time (1.7 MB: 0.2 s, not 4.7 s).
        const [br, gz] = await Promise.all([
          brotliAsync(identity, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 9, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: identity.length } }),
          gzipAsync(identity, { level: 9 }),
        ]);
        return { identity, br, gzip: gz };
      })();
      // A failed read is not cached: the next request tries again.
      e.catch(() => cache.delete(asset.file));
      cache.set(asset.file, e);
    }
    return e;
  };
  return (req, res, next) => {
    if (req.method !== "GET" && req.method !== "HEAD") return next();
    const asset = assets.get(req.path);
    if (!asset) return next();
    encoded(asset).then((e) => {
      // Brotli whenever accepted: browsers list "gzip, deflate, br" with equal weights, and the
      // negotiator would then take the first of theirs.
      const coding = req.acceptsEncodings("br") === "br" ? "br" : req.acceptsEncodings("gzip") === "gzip" ? "gzip" : "identity";
      res.set({
        "content-type": asset.type,
        "content-security-policy": csp,
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "cross-origin-opener-policy": "same-origin",
        "cache-control": "no-cache",
        vary: "Accept-Encoding",
      });
      if (coding === "br" || coding === "gzip") res.set("content-encoding", coding);
      // send() sets an ETag over these bytes and answers a matching If-None-Match with 304.
      res.status(200).send(coding === "br" ? e.br : coding === "gzip" ? e.gzip : e.identity);
    }, next);
  };
}

const brotliAsync = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

type Encoded = { identity: Buffer; br: Buffer; gzip: Buffer };
