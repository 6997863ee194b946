import { useEffect, useState } from "preact/hooks";
import { apiGet, fetchFile } from "./api.ts";
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

const BUNDLE_PATH = "/api/v1/compliance/audit/bundle";

type BundleState = { phase: "idle" } | { phase: "working" } | { phase: "done"; events: number; treeSize: number; file: string } | { phase: "failed"; message: string };

/**
 * Downloads the verifiable bundle (ending at a checkpoint signed for it) under the gateway's
 * file name. The fetch carries the session (a plain link could not), so the file is saved
 * through a Blob URL. A bundle to checkpoint T holds events 0..T-1: T events.
 */
async function downloadBundle(): Promise<{ events: number; treeSize: number; file: string }> {
  const res = await fetchFile(BUNDLE_PATH);
  const file = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1] ?? "sen-audit-bundle.tar";
  const treeSize = Number(res.headers.get("x-sen-audit-tree-size"));
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = file;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return { events: treeSize, treeSize, file };
}

/** "Download verifiable bundle": what `npm run audit:verify -- <file>` takes, in one file. */
function BundleButton() {
  const [state, setState] = useState<BundleState>({ phase: "idle" });
  const run = () => {
    setState({ phase: "working" });
    downloadBundle().then(
      (r) => setState({ phase: "done", ...r }),
      (e: unknown) => setState({ phase: "failed", message: e instanceof Error ? e.message : String(e) }),
    );
  };
  return html`<span class="bundle">
    <button type="button" class="secondary" data-testid="download-bundle" disabled=${state.phase === "working"} onClick=${run}
      title="A tar of the events in seq order ending at a freshly signed checkpoint, with the checkpoints, public key and manifest: verify it with npm run audit:verify -- <file> --rpc … --deployment …">
      ${state.phase === "working" ? "Preparing bundle…" : "Download verifiable bundle"}
    </button>
    ${state.phase === "done"
      ? html`<span class="muted" role="status" data-testid="bundle-done" data-tree-size=${String(state.treeSize)} title=${state.file}>Bundle of ${plural(state.events, "event")} to checkpoint #${state.treeSize} downloaded</span>`
      : state.phase === "failed"
        ? html`<span class="error" role="alert" data-testid="bundle-failed">Bundle download failed: ${state.message}</span>`
        : null}
  </span>`;
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
    </button>
    <${BundleButton} />`;
}
