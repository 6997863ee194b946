import { ApiError } from "../../console/src/api.ts";
import { html } from "../../console/src/html.ts";
import { useI18n, type Key } from "./i18n.ts";
import { refusalWords } from "./refusals.ts";

/**
 * Something that went wrong, kept as what it is rather than as text, so it is said again in
 * the other language after a switch: one of the app's own texts, a gateway reply (said by its
 * senCode), or the words of something else (a wallet, the network) as they came.
 */
export type Problem = { key: Key } | { api: { senCode?: string; msg: string; status: number } } | { text: string };

/** EIP-1193: the user rejected the request in the wallet. */
const USER_REJECTED = 4001;

export function toProblem(err: unknown): Problem {
  if (err instanceof ApiError) return { api: { senCode: err.senCode, msg: err.message, status: err.status } };
  if ((err as { code?: unknown } | null)?.code === USER_REJECTED) return { key: "walletRejected" };
  return { text: err instanceof Error ? err.message : String(err) };
}

/** The problem in the page's language; a gateway reply keeps its own msg as the detail (rule ids, limits). */
export function ProblemText({ problem }: { problem: Problem }) {
  const { t, lang } = useI18n();
  if ("key" in problem) return html`<span data-testid="problem-text">${t(problem.key)}</span>`;
  if ("text" in problem) return html`<span data-testid="problem-text">${problem.text}</span>`;
  const { sentence, detail } = refusalWords(problem.api, lang);
  if (!sentence) return html`<span data-testid="problem-text" lang="en">${detail}</span>`;
  return html`<span data-testid="problem-text">${sentence}</span> <small class="detail" lang="en" data-testid="problem-detail" data-sen-code=${problem.api.senCode ?? ""}>(${detail})</small>`;
}
