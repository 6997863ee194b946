import { useEffect, useState } from "preact/hooks";
import { apiDelete, apiGet, apiPost } from "../../console/src/api.ts";
import { html } from "../../console/src/html.ts";
import { formatTime, useI18n } from "./i18n.ts";
import { ProblemText, toProblem, type Problem } from "./problem.ts";
import type { ApiKey } from "./types.ts";

const PERMISSIONS = ["General", "Trade", "Withdraw"] as const;

/** API keys for bots (ccxt): create with permissions and an IP allow-list (the secret shown once), list, revoke. */
export function ApiKeys() {
  const { t, lang } = useI18n();
  const [keys, setKeys] = useState<ApiKey[]>([]);
  const [label, setLabel] = useState("");
  const [passphrase, setPassphrase] = useState("");
  const [perms, setPerms] = useState<string[]>(["General", "Trade"]);
  const [ips, setIps] = useState("");
  const [secret, setSecret] = useState<{ apiKeyId: string; apiSecret: string } | null>(null);
  const [error, setError] = useState<Problem | null>(null);
  const load = () => apiGet<ApiKey[]>("/api/v1/sen/api-keys").then(setKeys, (e: unknown) => setError(toProblem(e)));
  useEffect(() => void load(), []);
  const create = async (ev: Event) => {
    ev.preventDefault();
    setError(null);
    setSecret(null);
    try {
      const ipWhitelist = ips.split(/[\s,]+/).filter(Boolean);
      const k = await apiPost<ApiKey & { apiSecret: string }>("/api/v1/sen/api-keys", { label, passphrase, permissions: perms, ipWhitelist });
      setSecret({ apiKeyId: k.apiKeyId, apiSecret: k.apiSecret });
      setPassphrase("");
      void load();
    } catch (err) {
      setError(toProblem(err));
    }
  };
  const revoke = async (id: string) => {
    try {
      await apiDelete(`/api/v1/sen/api-keys/${id}`);
      void load();
    } catch (err) {
      setError(toProblem(err));
    }
  };
  return html`<section class="panel api-keys" aria-labelledby="keys-h">
    <h2 id="keys-h">${t("apiKeys")}</h2>
    <form onSubmit=${create} data-testid="key-form">
      <label>${t("label")}<input value=${label} maxlength="64" required data-testid="key-label" onInput=${(e: Event) => setLabel((e.target as HTMLInputElement).value)} /></label>
      <label>${t("passphrase")}<input type="password" value=${passphrase} minlength="7" maxlength="32" required autocomplete="new-password" data-testid="key-passphrase" onInput=${(e: Event) => setPassphrase((e.target as HTMLInputElement).value)} /></label>
      <fieldset><legend>${t("permissions")}</legend>
        ${PERMISSIONS.map((p) => html`<label class="check" key=${p}><input type="checkbox" checked=${perms.includes(p)} data-testid=${`perm-${p}`} onChange=${(e: Event) => setPerms((ps) => ((e.target as HTMLInputElement).checked ? [...ps, p] : ps.filter((x) => x !== p)))} />${p}</label>`)}
      </fieldset>
      <label>${t("ipAllow")}<textarea rows="2" value=${ips} data-testid="key-ips" onInput=${(e: Event) => setIps((e.target as HTMLTextAreaElement).value)}></textarea></label>
      <button type="submit" class="primary" data-testid="key-create">${t("create")}</button>
    </form>
    ${secret ? html`<div class="notice" role="status" data-testid="key-secret"><p>${t("secretOnce")}</p><p class="mono">KC-API-KEY ${secret.apiKeyId}</p><p class="mono secret">${secret.apiSecret}</p></div>` : null}
    ${error ? html`<p class="error" role="alert" data-testid="key-error"><${ProblemText} problem=${error} /></p>` : null}
    <div class="scroll"><table class="grid" data-testid="keys">
      <thead><tr><th>${t("label")}</th><th>KC-API-KEY</th><th>${t("permissions")}</th><th>IP</th><th>${t("created")}</th><th></th></tr></thead>
      <tbody>
        ${keys.map(
          (k) => html`<tr key=${k.apiKeyId} data-key=${k.apiKeyId} data-revoked=${k.revokedAt ? "yes" : "no"}>
            <td>${k.label}</td><td class="mono">${k.apiKeyId}</td><td>${k.permissions.join(", ")}</td><td class="mono">${k.ipWhitelist.join(", ") || "*"}</td>
            <td class="mono muted">${formatTime(Date.parse(k.createdAt), lang)}</td>
            <td>${k.revokedAt ? t("revoked") : html`<button type="button" class="secondary small" data-testid="key-revoke" onClick=${() => revoke(k.apiKeyId)}>${t("revoke")}</button>`}</td>
          </tr>`,
        )}
      </tbody>
    </table></div>
  </section>`;
}
