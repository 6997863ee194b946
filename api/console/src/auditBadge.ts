import { useEffect } from "preact/hooks";
import { apiGet } from "./api.ts";
import { html } from "./html.ts";
import { plural } from "./format.ts";
import type { AuditStatus } from "./types.ts";
import { useRemote } from "./useRemote.ts";

/** Why the log does not verify, in one phrase (empty when it does). */
export function failureReason(s: AuditStatus): string {
  const cp = s.latestCheckpoint;
  if (s.verified || !cp) return "";
  if (!cp.signatureOk) return "checkpoint signature invalid";
  if (!cp.rootOk) return "log does not match its signed checkpoint root";
  if (cp.anchor && !cp.anchor.ok) return `on-chain anchor mismatch${cp.anchor.error ? `: ${cp.anchor.error}` : cp.anchor.note ? `: ${cp.anchor.note}` : ""}`;
  return "verification failed";
}

function describe(s: AuditStatus): string {
  const cp = s.latestCheckpoint;
  if (!s.verified) return `Log NOT verified · ${failureReason(s)}`;
  const head = `Log verified · ${plural(s.events, "event")}`;
  if (!cp) return `${head} · no checkpoint yet`;
  const anchored = cp.anchor == null ? "not anchored" : (cp.anchor.anchoredTreeSize ?? 0) >= cp.treeSize ? "anchored" : `anchored through #${cp.anchor.anchoredTreeSize ?? 0}`;
  return `${head} · checkpoint #${cp.treeSize} ${anchored}`;
}

/** The header badge: whether the audit log verifies against its signed checkpoint and the chain. */
export function AuditBadge() {
  const status = useRemote(() => apiGet<AuditStatus>("/api/v1/compliance/audit/status"), []);
  useEffect(() => {
    const t = setInterval(status.reload, 30_000);
    return () => clearInterval(t);
  }, [status.reload]);
  if (status.error) return html`<span class="badge bad" data-testid="verify-badge" data-verified="unknown" role="status">Log status unavailable · ${status.error.message}</span>`;
  const s = status.data;
  if (!s) return html`<span class="badge" data-testid="verify-badge" data-verified="pending" role="status">Checking the log…</span>`;
  const cp = s.latestCheckpoint;
  const title = cp ? `root ${cp.root}\nsigned ${cp.time}\nindex ${s.index} through #${s.indexedThrough}; retention ${s.retentionYears} years` : `index ${s.index}`;
  return html`<button type="button" class=${`badge ${s.verified ? "good" : "bad"}`} data-testid="verify-badge" data-verified=${String(s.verified)} title=${title} onClick=${status.reload} role="status">
    ${describe(s)}
  </button>`;
}
