import { useEffect, useState } from "preact/hooks";
import { apiGet, apiPost, saveUrl } from "./api.ts";
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

const LINK_PATH = "/api/v1/compliance/audit/bundle/link";

type BundleLink = { url: string; expiresAt: string; treeSize: number; root: string; file: string };
type BundleState = { phase: "idle" } | { phase: "working" } | { phase: "done"; treeSize: number; file: string } | { phase: "failed"; message: string };

/**
 * Starts the download of the verifiable bundle. The session asks for a single-use link (the
 * checkpoint to end at is signed then, and named in the reply); the browser then follows the
 * link itself and streams the tar to disk, so a bundle of years of events never sits in the
 * tab's memory. A bundle to checkpoint T holds events 0..T-1: T events.
 */
async function startBundle(toSeq: number | undefined): Promise<{ treeSize: number; file: string }> {
  const link = await apiPost<BundleLink>(LINK_PATH, toSeq === undefined ? {} : { toSeq });
  saveUrl(link.url, link.file);
  return { treeSize: link.treeSize, file: link.file };
}

/** "Download verifiable bundle": what `npm run audit:verify -- <file>` takes, in one file. */
function BundleButton() {
  const [state, setState] = useState<BundleState>({ phase: "idle" });
  const [toSeq, setToSeq] = useState("");
  const run = (e: Event) => {
    e.preventDefault();
    const t = toSeq.trim();
    if (t !== "" && !/^\d+$/.test(t)) {
      setState({ phase: "failed", message: "the end must be a whole number of events (a tree size), or empty for everything" });
      return;
    }
    setState({ phase: "working" });
    startBundle(t === "" ? undefined : Number(t)).then(
      (r) => setState({ phase: "done", ...r }),
      (err: unknown) => setState({ phase: "failed", message: err instanceof Error ? err.message : String(err) }),
    );
  };
  return html`<form class="bundle" onSubmit=${run}>
    <label title="Optional. The bundle holds events 0 to N-1 and ends at the latest signed checkpoint with tree size N or less. Empty: everything, to a checkpoint signed now.">
      ${"End before event "}<input type="text" inputmode="numeric" size="8" placeholder="all" data-testid="bundle-to-seq" value=${toSeq} onInput=${(e: Event) => setToSeq((e.target as HTMLInputElement).value)} />
      <span class="muted"> (exclusive, a tree size; empty = all)</span>
    </label>
    <button type="submit" class="secondary" data-testid="download-bundle" disabled=${state.phase === "working"}
      title="A tar of the events in seq order ending at a signed checkpoint, with the checkpoints, public key and manifest: verify it with npm run audit:verify -- <file> --rpc … --deployment …">
      ${state.phase === "working" ? "Preparing bundle…" : "Download verifiable bundle"}
    </button>
    ${state.phase === "done"
      ? html`<span class="muted" role="status" data-testid="bundle-done" data-tree-size=${String(state.treeSize)} title=${state.file}>Download started: ${plural(state.treeSize, "event")} to checkpoint #${state.treeSize} (${state.file})</span>`
      : state.phase === "failed"
        ? html`<span class="error" role="alert" data-testid="bundle-failed">Bundle download failed: ${state.message}</span>`
        : null}
  </form>`;
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
