import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type express from "express";
import { CSS, HTML, JS, packageDir, pageCsp, serveAssets, uiLibraries, type PageAsset } from "./browserPages.ts";

/** Where the trader app's sources live (api/trader), relative to this file (api/src/http). */
const TRADER_DIR = fileURLToPath(new URL("../../trader/", import.meta.url));
const CONSOLE_SRC = fileURLToPath(new URL("../../console/src/", import.meta.url));

/** The compliance console's modules the trader app imports as they are (SIWE sign-in, the API client, htm). */
export const SHARED_CONSOLE_MODULES = ["api.ts", "html.ts", "wallet.ts", "types.ts"] as const;

/** The fixed allow-list, URL path → file: no request path ever reaches the file system. */
function assetMap(): Map<string, PageAsset> {
  const m = new Map<string, PageAsset>([
    ["/", { file: path.join(TRADER_DIR, "index.html"), type: HTML }],
    ["/trader.css", { file: path.join(TRADER_DIR, "trader.css"), type: CSS }],
    ...uiLibraries("/vendor"),
    ["/vendor/lightweight-charts.js", { file: path.join(packageDir("lightweight-charts"), "dist/lightweight-charts.standalone.production.js"), type: JS }],
  ]);
  for (const name of readdirSync(path.join(TRADER_DIR, "src")).filter((f) => f.endsWith(".ts"))) {
    m.set(`/src/${name}`, { file: path.join(TRADER_DIR, "src", name), type: JS, transpile: true });
  }
  // The trader's modules import these as ../../console/src/*.ts, which the browser resolves here.
  for (const name of SHARED_CONSOLE_MODULES) m.set(`/console/src/${name}`, { file: path.join(CONSOLE_SRC, name), type: JS, transpile: true });
  return m;
}

/**
 * Serves the trader web app at `/`: index.html, the stylesheet, the browser TypeScript modules
 * (type-stripped on first request, no build step) and the vendored libraries. Mounted before
 * the API routes; every other path falls through to them.
 */
export function mountTrader(app: express.Express): void {
  app.use(serveAssets(assetMap(), pageCsp(readFileSync(path.join(TRADER_DIR, "index.html"), "utf8"))));
}
