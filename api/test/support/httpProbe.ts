import type { LocalAccount } from "viem";
import { signKucoinRequest } from "../../src/auth/kucoinSignature.ts";
import type { ApiCredentials } from "./gatewayFixture.ts";

/** What came back, unparsed and parsed: boundary tests look at both. */
export type RawReply = { status: number; contentType: string; text: string; json: unknown; headers: Headers };

export type RawRequest = { method: string; path: string; headers?: Record<string, string>; body?: string | Uint8Array };

/** One HTTP request exactly as given (no signing, no JSON encoding). */
export async function rawRequest(baseUrl: string, req: RawRequest): Promise<RawReply> {
  const res = await fetch(baseUrl + req.path, { method: req.method, headers: req.headers, body: req.body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, contentType: res.headers.get("content-type") ?? "", text, json, headers: res.headers };
}

export type Envelope<T = any> = { status: number; code: string; msg?: string; senCode?: string; data: T };

type Creds = Pick<ApiCredentials, "apiKey" | "apiSecret" | "passphrase">;

/**
 * KC-API-* headers for a request, signed at `at`: a fixed timestamp, or a clock. Timestamps
 * from a clock are strictly increasing per credentials, so two identical requests in the same
 * millisecond never share a signature (which the replay guard would rightly refuse).
 */
const lastTimestamp = new WeakMap<object, number>();
export function signedHeaders(creds: Creds, method: string, pathWithQuery: string, body = "", at: number | (() => number) = Date.now): Record<string, string> {
  let ts: number;
  if (typeof at === "number") ts = at;
  else {
    ts = Math.max(at(), (lastTimestamp.get(creds) ?? 0) + 1);
    lastTimestamp.set(creds, ts);
  }
  return signKucoinRequest({ method, pathWithQuery, body, ...creds, timestamp: ts });
}

/** A signed KuCoin client that also reports the HTTP status and Sen's rule code. `now`: the signer's clock. */
export function signedClient(baseUrl: string, creds: Creds, now: () => number = Date.now) {
  return async function request<T = any>(method: "GET" | "POST" | "DELETE" | "PUT", pathWithQuery: string, payload?: unknown): Promise<Envelope<T>> {
    const body = payload === undefined ? "" : JSON.stringify(payload);
    const headers = { ...signedHeaders(creds, method, pathWithQuery, body, now), ...(body ? { "content-type": "application/json" } : {}) };
    const r = await rawRequest(baseUrl, { method, path: pathWithQuery, headers, body: body || undefined });
    if (r.json === undefined) throw new Error(`${method} ${pathWithQuery}: not JSON (${r.status}): ${r.text.slice(0, 200)}`);
    return { status: r.status, ...(r.json as Omit<Envelope<T>, "status">) };
  };
}
export type SignedClient = ReturnType<typeof signedClient>;

/** A session-token client (Authorization: Bearer), for SIWE sessions. */
export function sessionClient(baseUrl: string, token: string) {
  return async function request<T = any>(method: "GET" | "POST" | "DELETE" | "PUT", path: string, payload?: unknown): Promise<Envelope<T>> {
    const body = payload === undefined ? undefined : JSON.stringify(payload);
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) };
    const r = await rawRequest(baseUrl, { method, path, headers, body });
    if (r.json === undefined) throw new Error(`${method} ${path}: not JSON (${r.status}): ${r.text.slice(0, 200)}`);
    return { status: r.status, ...(r.json as Omit<Envelope<T>, "status">) };
  };
}
export type SessionClient = ReturnType<typeof sessionClient>;

/** Sign-In with Ethereum, returning the login reply as is (success or refusal). */
export async function siweLogin(baseUrl: string, account: LocalAccount): Promise<Envelope<{ token: string; accountId: string; role: string }>> {
  const ch = await rawRequest(baseUrl, { method: "GET", path: `/api/v1/sen/auth/challenge?address=${account.address}` });
  const message = (ch.json as { data: { message: string } }).data.message;
  const signature = await account.signMessage({ message });
  const r = await rawRequest(baseUrl, { method: "POST", path: "/api/v1/sen/auth/login", headers: { "content-type": "application/json" }, body: JSON.stringify({ message, signature }) });
  return { status: r.status, ...(r.json as Omit<Envelope, "status">) };
}

/** An API key for a session, with the given permissions and IP allow-list. */
export async function createKey(baseUrl: string, token: string, options: { permissions?: string[]; ipWhitelist?: string[]; passphrase?: string } = {}): Promise<Creds & { apiKeyId: string }> {
  const passphrase = options.passphrase ?? "pass-phrase-1";
  const r = await sessionClient(baseUrl, token)("POST", "/api/v1/sen/api-keys", { label: "test", passphrase, permissions: options.permissions ?? ["General", "Trade"], ipWhitelist: options.ipWhitelist ?? [] });
  if (r.code !== "200000") throw new Error(`create key: ${r.code} ${r.msg}`);
  return { apiKey: r.data.apiKeyId, apiSecret: r.data.apiSecret, passphrase, apiKeyId: r.data.apiKeyId };
}

export type TraderState = { balances: unknown; openOrders: unknown; journalSeq: string };

/** Balances (with holds), open orders and the journal sequence, as the API reports them. */
export async function traderState(baseUrl: string, client: SignedClient): Promise<TraderState> {
  const acc = await client("GET", "/api/v1/accounts");
  const open = await client("GET", "/api/v1/orders?status=active&pageSize=500");
  const health = await rawRequest(baseUrl, { method: "GET", path: "/health" });
  if (acc.code !== "200000" || open.code !== "200000") throw new Error(`state: ${acc.code} ${open.code}`);
  return { balances: acc.data, openOrders: open.data.items, journalSeq: (health.json as { journalSeq: string }).journalSeq };
}
