/**
 * The gateway's API from the browser: KuCoin envelopes (`{ code: "200000", data }`, errors
 * `{ code, msg }`), the session token as a Bearer header. The token lives in memory here; the
 * console keeps a copy in sessionStorage (session.ts) so that a reload does not sign the officer out.
 */

export class ApiError extends Error {
  override name = "ApiError" as const;
  readonly code: string;
  readonly status: number;
  /** Sen's own rule code from the envelope (e.g. RISK_INSUFFICIENT_FUNDS), for messages in the page's language. */
  readonly senCode?: string;
  constructor(status: number, code: string, message: string, senCode?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.senCode = senCode;
  }
}

let token: string | null = null;
let onUnauthorized: (() => void) | null = null;

export function setToken(t: string | null): void {
  token = t;
}

/**
 * Asks the gateway to end the current session (POST `path`), best effort: the request is
 * sent with the token as it is now, and outlives the page (keepalive), so the caller may
 * forget the token at once. A token the gateway refuses is over already, so the unauthorized
 * handler is not called, and no failure stops the page from signing out.
 */
export function endSession(path: string): Promise<void> {
  if (!token) return Promise.resolve();
  return fetch(path, { method: "POST", headers: { authorization: `Bearer ${token}` }, keepalive: true, cache: "no-store" }).then(
    (res) => void res.body?.cancel().catch(() => undefined),
    () => undefined,
  );
}

/** Called when the gateway refuses the session (expired or revoked): the app returns to login. */
export function setUnauthorizedHandler(f: (() => void) | null): void {
  onUnauthorized = f;
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

async function unwrap<T>(res: Response): Promise<T> {
  let body: { code?: string; data?: T; msg?: string; senCode?: string };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw new ApiError(res.status, String(res.status), `HTTP ${res.status}: not a JSON reply`);
  }
  if (body.code !== "200000") {
    if (res.status === 401 && token) onUnauthorized?.();
    throw new ApiError(res.status, body.code ?? String(res.status), body.msg ?? `HTTP ${res.status}`, typeof body.senCode === "string" ? body.senCode : undefined);
  }
  return body.data as T;
}

export async function apiGet<T>(path: string): Promise<T> {
  return unwrap<T>(await fetch(path, { headers: headers(), cache: "no-store" }));
}

export async function apiPost<T>(path: string, payload?: unknown): Promise<T> {
  const body = payload === undefined ? undefined : JSON.stringify(payload);
  return unwrap<T>(await fetch(path, { method: "POST", headers: headers(body ? { "content-type": "application/json" } : {}), body }));
}

export async function apiDelete<T>(path: string): Promise<T> {
  return unwrap<T>(await fetch(path, { method: "DELETE", headers: headers() }));
}

/** A query string from the non-empty values (keys in the given order). */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

/**
 * Downloads a file that needs the Authorization header (so a plain link cannot): fetch it,
 * then save it through a temporary Blob URL. The whole file passes through the tab's memory:
 * for files that can grow without bound (the audit bundle) use a single-use link and saveUrl.
 */
export function download(path: string, filename: string): Promise<Blob> {
  return downloadFile(path, filename);
}

export async function apiPut<T>(path: string, payload: unknown): Promise<T> {
  return unwrap<T>(await fetch(path, { method: "PUT", headers: headers({ "content-type": "application/json" }), body: JSON.stringify(payload) }));
}

/**
 * Has the browser download `url` itself (an <a download> it follows), so the file streams to
 * disk instead of into the tab's memory. The URL must need no header: a single-use link.
 */
export function saveUrl(url: string, filename: string): void {
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
}

/** Saves `blob` as a file named `filename` (a temporary Blob URL). */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  saveUrl(url, filename);
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A file from a GET, or from a POST when `payload` is given (e.g. a report draft): fetched with the session, saved, returned. */
export async function downloadFile(path: string, filename: string, payload?: unknown): Promise<Blob> {
  const init: RequestInit = payload === undefined ? { headers: headers(), cache: "no-store" } : { method: "POST", headers: headers({ "content-type": "application/json" }), body: JSON.stringify(payload), cache: "no-store" };
  const res = await fetch(path, init);
  if (!res.ok || (res.headers.get("content-type") ?? "").startsWith("application/json")) await unwrap<unknown>(res);
  const blob = await res.blob();
  saveBlob(blob, filename);
  return blob;
}
