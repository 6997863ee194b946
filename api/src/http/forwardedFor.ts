import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/**
 * The client's address on a request an edge forwarded to the sequencer (SEN_ROLE=edge →
 * sequencer). The edge sets `X-Forwarded-For` to the address its client connected from and
 * proves it wrote that header with `X-Sen-Edge: <ms>.<HMAC-SHA256 hex>` over the time, the
 * address, the method and the path, under a key derived from SEN_MASTER_KEY (every process
 * of a split holds it already). The sequencer takes the forwarded address only with a valid,
 * fresh proof; anything else (a client sending `X-Forwarded-For` straight to the sequencer)
 * is judged by the socket's address.
 *
 * Why a proof rather than Express `trust proxy` with the edges' addresses: edges come and go
 * behind addresses the sequencer is not told about, and on one host or behind one NAT the
 * edges and a client share an address, so trusting an address would trust the client too.
 */
export const EDGE_PROOF_HEADER = "x-sen-edge";
/** A proof older (or further ahead) than this is refused: a captured one cannot be reused for long. */
const PROOF_WINDOW_MS = 30_000;

/** The forwarding key: not the master key itself, so a leaked proof key opens no API secret. */
export function edgeForwardingKey(masterKeyHex: string | undefined): Buffer | null {
  if (!masterKeyHex) return null;
  return createHmac("sha256", Buffer.from(masterKeyHex, "hex")).update("sen edge forwarding v1").digest();
}

function mac(key: Buffer, ms: string, address: string, method: string, url: string): Buffer {
  return createHmac("sha256", key).update(`${ms}\n${address}\n${method.toUpperCase()}\n${url}`).digest();
}

/** The headers an edge adds to a request it forwards (the client's own X-Forwarded-For is replaced). */
export function edgeForwardHeaders(key: Buffer, client: string, method: string, url: string, now = Date.now()): Record<string, string> {
  const ms = String(now);
  return { "x-forwarded-for": client, [EDGE_PROOF_HEADER]: `${ms}.${mac(key, ms, client, method, url).toString("hex")}` };
}

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : v);

/** The client address an edge proved it forwarded this request for, or null (no proof, a stale or a wrong one). */
export function provenForwardedFor(key: Buffer, headers: IncomingHttpHeaders, method: string, url: string, now = Date.now()): string | null {
  const proof = one(headers[EDGE_PROOF_HEADER]);
  const forwarded = one(headers["x-forwarded-for"]);
  if (proof === undefined || forwarded === undefined || forwarded.length > 100 || forwarded.includes(",")) return null;
  const dot = proof.indexOf(".");
  const ms = proof.slice(0, dot);
  if (dot < 1 || !/^\d{1,15}$/.test(ms) || Math.abs(now - Number(ms)) > PROOF_WINDOW_MS) return null;
  const given = Buffer.from(proof.slice(dot + 1), "hex");
  const expected = mac(key, ms, forwarded, method, url);
  return given.length === expected.length && timingSafeEqual(given, expected) ? forwarded : null;
}

/**
 * The address a route judges (per-IP limits, API-key allow-lists, the audit trail): the
 * forwarded one when an edge proved it, the socket's otherwise.
 */
export function clientAddress(key: Buffer | null, headers: IncomingHttpHeaders, socketAddress: string, method: string, url: string, now = Date.now()): string {
  return (key && provenForwardedFor(key, headers, method, url, now)) || socketAddress;
}

/**
 * Asks the sequencer to read the chain's holder rules again now (POST, edge proof only): a
 * wallet that signed in at an edge is then known to them before its first order, as at a
 * single process's sign-in, instead of at the next chain poll.
 */
export const HOLDER_RULES_SYNC_PATH = "/internal/holder-rules/sync";
