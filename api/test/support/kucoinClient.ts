import { signKucoinRequest } from "../../src/auth/kucoinSignature.ts";
import type { ApiCredentials } from "./gatewayFixture.ts";

export type KucoinReply<T = unknown> = { status: number; code: string; msg?: string; senCode?: string; data: T };

/** A minimal signed KuCoin client for tests and scripts (the same signing as ccxt). */
export function kucoinClient(baseUrl: () => string, creds: Pick<ApiCredentials, "apiKey" | "apiSecret" | "passphrase">) {
  return async function request<T = any>(method: "GET" | "POST" | "DELETE" | "PUT", pathWithQuery: string, payload?: unknown): Promise<KucoinReply<T>> {
    const body = payload === undefined ? "" : JSON.stringify(payload);
    const headers = signKucoinRequest({ method, pathWithQuery, body, ...creds, timestamp: Date.now() });
    const res = await fetch(baseUrl() + pathWithQuery, {
      method,
      headers: { ...headers, ...(body ? { "content-type": "application/json" } : {}) },
      body: body || undefined,
    });
    const json = (await res.json()) as Omit<KucoinReply<T>, "status">;
    return { status: res.status, ...json };
  };
}
