import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import ccxt from "ccxt";
import type { ApiCredentials } from "./gatewayFixture.ts";

type Creds = Pick<ApiCredentials, "apiKey" | "apiSecret" | "passphrase">;
const login = (creds?: Creds) => (creds ? { apiKey: creds.apiKey, secret: creds.apiSecret, password: creds.passphrase } : {});

/** Every API base URL of a ccxt exchange pointed at `url` (ccxt calls several of them while loading markets). */
function pointAt<T extends { urls: { api: unknown } }>(ex: T, url: string): T {
  const api = ex.urls.api as Record<string, string>;
  for (const k of Object.keys(api)) api[k] = url;
  return ex;
}

/** The stock ccxt kucoin REST class, changed in nothing but where its URLs point. */
export function kucoinAt(url: string, creds?: Creds) {
  return pointAt(new ccxt.kucoin(login(creds)), url);
}

/** The stock ccxt pro kucoin class pointed at `url`, its markets loaded and ready for ws:// (Sen's bullet endpoint). */
export async function kucoinProAt(url: string, creds?: Creds) {
  const ex = pointAt(new ccxt.pro.kucoin(login(creds)), url);
  await ex.loadHttpProxyAgent();
  await ex.loadMarkets();
  return ex;
}

/**
 * A ccxt pro watch resolves on the first message after its subscription went out, which is not
 * visible from outside: repeat `act` (one change at a time) until the watch `p` has resolved.
 */
export async function nudge<T>(what: string, p: Promise<T>, act: (i: number) => Promise<unknown>, max = 40): Promise<T> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; !done; i++) {
    assert.ok(i < max, `${what} never resolved`);
    await act(i);
    await sleep(150);
  }
  return p;
}
