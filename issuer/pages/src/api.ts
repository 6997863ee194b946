/**
 * The issuer's API (/issuer/v1) from the browser. Answers are plain JSON; refusals are
 * `{ code, field?, message }`. The session token lives in memory only.
 */
export class ApiError extends Error {
  override name = "ApiError" as const;
  readonly code: string;
  readonly status: number;
  readonly field: string | undefined;
  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

let token: string | null = null;
export function setToken(t: string | null): void {
  token = t;
}

async function call<T>(method: "GET" | "POST", path: string, payload?: unknown, extra: Record<string, string> = {}): Promise<T> {
  const headers: Record<string, string> = { ...extra };
  if (token) headers.authorization = `Bearer ${token}`;
  if (payload !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, { method, headers, body: payload === undefined ? undefined : JSON.stringify(payload), cache: "no-store" });
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw new ApiError(res.status, String(res.status), `HTTP ${res.status}: not a JSON reply`);
  }
  if (!res.ok) {
    const e = body as { code?: string; message?: string; field?: string };
    throw new ApiError(res.status, e.code ?? String(res.status), e.message ?? `HTTP ${res.status}`, e.field);
  }
  return body as T;
}

export const apiGet = <T>(path: string) => call<T>("GET", `/issuer/v1${path}`);
export const apiPost = <T>(path: string, payload?: unknown, headers?: Record<string, string>) => call<T>("POST", `/issuer/v1${path}`, payload, headers);

/** /health: which verification provider this issuer uses, and whether it is for production. */
export async function health(): Promise<{ provider?: { name: string; production: boolean } }> {
  return (await fetch("/health", { cache: "no-store" })).json() as Promise<{ provider?: { name: string; production: boolean } }>;
}

/** What the service answers about an application (no personal data). */
export type Application = {
  id: string;
  wallet: string;
  identityHash: string;
  status: "submitted" | "approved" | "rejected" | "issued" | "revoked" | "erased";
  kind: "new-identity" | "add-wallet";
  submittedAt: number;
  provider: string;
  providerProduction: boolean;
  verification: { provider: string; production: boolean; chipVerified: boolean; faceMatchBps: number; liveness: boolean; checkedAt: number };
  investorType: "retail" | "professional" | "institutional";
  nationality: number;
  decidedAt?: number;
  reason?: string;
  kycLevel?: number;
  expiresAt?: number;
  txHash?: string;
};
export type PersonalData = {
  idNumber: string;
  fullName: string;
  dateOfBirth: string;
  sex: "male" | "female";
  nationality: number;
  chipDataHash: string;
  verification: { provider: string; sessionId: string };
  investorType: string;
  investorEvidence?: { kind: string; documentHash: string; description: string };
};
export type PersonalRecord = { application: Application; data: PersonalData };
