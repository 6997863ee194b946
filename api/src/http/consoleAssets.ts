import { pbkdf2Sync } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type express from "express";
import { CSS, HTML, JS, packageDir, pageCsp, serveAssets, uiLibraries, type PageAsset } from "./browserPages.ts";
import { HDKey, hdKeyToAccount } from "viem/accounts";
import { devSignInRefusal, type ServerConfig } from "../config/config.ts";
import { ConfigCode, ConfigError } from "../config/errors.ts";

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
  "alertWords.ts",
  "eventWords.ts",
  "session.ts",
  "devSignIn.ts",
] as const;

/**
 * The fixed allow-list: URL path under /compliance → file on disk. Nothing else is served, so
 * no request path ever reaches the file system (no traversal, no directory listing).
 */
function assetMap(devSignIn: boolean): Map<string, PageAsset> {
  const m = new Map<string, PageAsset>([
    ["/", { file: path.join(CONSOLE_DIR, "index.html"), type: HTML }],
    ["/console.css", { file: path.join(CONSOLE_DIR, "console.css"), type: CSS }],
    ...uiLibraries("/vendor"),
    ["/vendor/lightweight-charts.js", { file: path.join(packageDir("lightweight-charts"), "dist/lightweight-charts.standalone.production.js"), type: JS }],
  ]);
  for (const name of CONSOLE_MODULES) m.set(`/src/${name}`, { file: path.join(CONSOLE_DIR, "src", name), type: JS, transpile: true });
  // The in-page signer of development sign-in: one ESM file (ethers' browser build), never served otherwise.
  if (devSignIn) m.set("/vendor/ethers.js", { file: path.join(packageDir("ethers"), "dist/ethers.min.js"), type: JS });
  return m;
}

const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";
/** Hardhat's accounts searched for the configured officers' and operators' keys (tests use indexes up to about 60). */
const HARDHAT_ACCOUNTS = 100;

export type DevSignInInfo = { enabled: false } | { enabled: true; chainId: number; accounts: Array<{ role: "compliance" | "operator"; address: string; hardhatIndex: number; privateKey: string }> };

/**
 * What the console's login learns about development sign-in. The keys offered are Hardhat's
 * public test keys (derived from its published mnemonic) of the wallets configured as officer or
 * operator: nothing secret, and only on a local chain (devSignInRefusal stops anything else).
 */
export function devSignInInfo(config: Pick<ServerConfig, "devSignIn" | "chainId" | "compliance" | "operators">): DevSignInInfo {
  if (!config.devSignIn) return { enabled: false };
  const wanted = new Map<string, "compliance" | "operator">([...config.operators.map((a) => [a, "operator"] as const), ...config.compliance.map((a) => [a, "compliance"] as const)]);
  const accounts: Extract<DevSignInInfo, { enabled: true }>["accounts"] = [];
  // BIP-39 seed (PBKDF2, 2048 rounds) once, then one cheap child derivation per index.
  const root = HDKey.fromMasterSeed(pbkdf2Sync(HARDHAT_MNEMONIC, "mnemonic", 2048, 64, "sha512"));
  for (let i = 0; i < HARDHAT_ACCOUNTS && accounts.length < wanted.size; i++) {
    const account = hdKeyToAccount(root, { addressIndex: i });
    const role = wanted.get(account.address.toLowerCase());
    const key = account.getHdKey().privateKey;
    if (role && key) accounts.push({ role, address: account.address, hardhatIndex: i, privateKey: `0x${Buffer.from(key).toString("hex")}` });
  }
  return { enabled: true, chainId: config.chainId, accounts: accounts.sort((a, b) => a.role.localeCompare(b.role) || a.hardhatIndex - b.hardhatIndex) };
}

/**
 * Serves the compliance console under /compliance/: index.html, the stylesheet, the browser
 * TypeScript modules (type-stripped on first request, then from memory, no build step) and
 * the vendored libraries from node_modules. Mounted before the API routes.
 */
export function mountConsole(app: express.Express, config: Pick<ServerConfig, "devSignIn" | "chainId" | "compliance" | "operators">): void {
  const refusal = devSignInRefusal(config);
  if (refusal) throw new ConfigError(ConfigCode.INVALID, refusal);
  const csp = pageCsp(readFileSync(path.join(CONSOLE_DIR, "index.html"), "utf8"));
  const serve = serveAssets(assetMap(config.devSignIn), csp);
  let devInfo: DevSignInInfo | undefined;
  app.use("/compliance", (req, res, next) => {
    if ((req.method === "GET" || req.method === "HEAD") && req.path === "/dev-signin.json") {
      devInfo ??= devSignInInfo(config);
      res.set({ "cache-control": "no-store", "content-security-policy": csp, "x-content-type-options": "nosniff" }).json(devInfo);
      return;
    }
    // `/compliance` → `/compliance/`, so the page's relative URLs resolve under it.
    if ((req.method === "GET" || req.method === "HEAD") && req.path === "/" && !req.originalUrl.split("?")[0].endsWith("/")) return res.redirect(301, "/compliance/");
    serve(req, res, next);
  });
}
