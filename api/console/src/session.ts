import type { Session } from "./types.ts";

export type SignedIn = Session & { address: string };

/**
 * The console's session across reloads. sessionStorage, not localStorage: it belongs to this
 * one tab and is gone when the tab closes, so a bearer token that opens the whole audit trail
 * is not left on a shared workstation's disk for the next user, not handed to every other tab
 * of this origin (the trader app is served from the same origin), and not kept past the
 * officer's working session. The server still decides: the app checks the token with the
 * gateway before trusting it (app.ts), and drops it on sign-out, 401 or expiry.
 */
const KEY = "sen.compliance.session";

export function expiresAtMs(s: Pick<Session, "expiresAt">): number {
  return typeof s.expiresAt === "number" ? s.expiresAt : Date.parse(s.expiresAt);
}

export function saveSession(s: SignedIn): void {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(s));
  } catch {
    // Storage refused (private mode, quota): the session then lasts until the next reload.
  }
}

/** The stored session, or null when there is none, it is malformed or it has expired. */
export function loadSession(now = Date.now()): SignedIn | null {
  let s: Partial<SignedIn>;
  try {
    s = JSON.parse(sessionStorage.getItem(KEY) ?? "null") as Partial<SignedIn>;
  } catch {
    clearSession();
    return null;
  }
  if (!s || typeof s.token !== "string" || typeof s.address !== "string" || typeof s.role !== "string" || s.expiresAt === undefined) return null;
  if (!(expiresAtMs(s as SignedIn) > now)) {
    clearSession();
    return null;
  }
  return s as SignedIn;
}

export function clearSession(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // nothing stored
  }
}
