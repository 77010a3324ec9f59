// Administration › Webhooks: a commune's receivers of its trace (an address, the kinds wanted, a signing
// secret shown once), and each one's deliveries with their status — « Tester », « Renvoyer ».

import { api } from "./api.js";
import { chooseCommune, chosenCommune, communeChoice, errorBox, noCommune, submitFrom } from "./admin-forms.js";
import { TRACE_KINDS } from "./labels.js";
import { toast } from "./toast.js";
import { dayTimeOf, esc } from "./util.js";

const STATUSES = { queued: "en attente", delivered: "remis", failed: "échec", cancelled: "annulé" };
// The API's refusals of this screen, in French.
const REFUSALS = {
  webhook_url_not_https: "L'adresse doit commencer par https:// (http seulement vers cette machine).",
  invalid_webhook_url: "Adresse invalide : une URL https:// sans identifiant ni mot de passe.",
  unknown_trace_kind: "Un des types d'entrée choisis est inconnu.",
  webhook_disabled: "Ce webhook est désactivé : réactivez-le d'abord.",
};
const REFRESH_MS = 5000;

export function mountWebhooks(root) {
  const state = { orgId: chosenCommune(), subs: [], subId: null, deliveries: [], secret: null, alive: true, seq: 0 };
  const timer = setInterval(() => { if (state.subId != null) loadDeliveries(); }, REFRESH_MS);

  async function load() {
    if (state.orgId == null) {
      root.innerHTML = noCommune();
      return;
    }
    const seq = ++state.seq;
    try {
      const subs = await api.get(`/api/v1/webhooks?organization_id=${state.orgId}`);
      if (!state.alive || seq !== state.seq) return;
      state.subs = subs;
      if (!subs.some((s) => s.id === state.subId)) state.subId = subs[0]?.id ?? null;
      state.deliveries = state.subId == null ? [] : await api.get(`/api/v1/webhooks/${state.subId}/deliveries`);
      if (!state.alive || seq !== state.seq) return;
      render();
    } catch (error) {
      if (state.alive && seq === state.seq) root.innerHTML = `<p class="form-error">${esc(error.french)}</p>`;
    }
  }

  async function loadDeliveries() {
    const subId = state.subId;
    try {
      const deliveries = await api.get(`/api/v1/webhooks/${subId}/deliveries`);
      if (!state.alive || subId !== state.subId) return;
      state.deliveries = deliveries;
      const box = root.querySelector("#wh-deliveries");
      if (box) box.innerHTML = deliveriesTable(deliveries);
    } catch { /* the next refresh says it */ }
  }

  function render() {
    root.innerHTML = `${communeChoice(state.orgId)}
      <div class="adm-split">
        <section class="panel adm-list" data-testid="webhooks">
          <h2>Webhooks</h2>
          <p class="muted small">Un système de la commune reçoit, signées, les entrées de la main courante qu'il a choisies.</p>
          ${state.subs.length ? `<ul class="adm-items">${state.subs.map((s) => `<li><button type="button" class="adm-item${
            s.id === state.subId ? " active" : ""}" data-webhook-id="${s.id}">${esc(s.description || hostOf(s.url))}
            <span class="muted small">${s.active ? "actif" : "désactivé"}</span></button></li>`).join("")}</ul>`
            : `<p class="muted">Aucun webhook pour cette commune.</p>`}
          <form id="wh-new" class="form" novalidate>
            <h3>Nouveau webhook</h3>
            ${fields({ url: "", description: "", kinds: [] })}
            ${errorBox()}
            <button type="submit" class="primary">Créer le webhook</button>
          </form>
        </section>
        <div class="adm-detail" id="wh-detail"></div>
      </div>`;
    root.querySelector("#adm-org")?.addEventListener("change", (change) => {
      state.orgId = Number(change.target.value);
      chooseCommune(state.orgId);
      Object.assign(state, { subId: null, secret: null });
      load();
    });
    const create = root.querySelector("#wh-new");
    wireKinds(create);
    create.addEventListener("submit", async (submit) => {
      submit.preventDefault();
      const result = await send(create, "POST", "/api/v1/webhooks", { organization_id: state.orgId, ...valuesOf(create) });
      if (!result.ok || !state.alive) return;
      toast("Webhook créé : copiez son secret maintenant.");
      Object.assign(state, { subId: result.data.id, secret: { id: result.data.id, value: result.data.secret } });
      load();
    });
    const sub = state.subs.find((s) => s.id === state.subId);
    if (sub) renderDetail(root.querySelector("#wh-detail"), sub);
  }

  function renderDetail(box, sub) {
    const secret = state.secret?.id === sub.id ? state.secret.value : null;
    box.innerHTML = `${secret ? `<section class="panel wh-secret" data-testid="webhook-secret" role="status">
          <h3>Secret de signature</h3>
          <p>Copiez-le dans le système destinataire maintenant : <strong>il ne sera plus affiché</strong>.</p>
          <code class="wh-secret-value">${esc(secret)}</code>
          <p class="muted small">Chaque envoi porte <code>X-Vigie-Timestamp</code> et <code>X-Vigie-Signature: sha256=…</code>,
            HMAC-SHA256 de « horodatage.corps » sous ce secret.</p>
        </section>` : ""}
      <section class="panel" data-testid="webhook-detail">
        <h2>${esc(sub.description || hostOf(sub.url))}</h2>
        ${sub.active ? "" : `<p class="wh-disabled">Désactivé${sub.disabled_reason ? ` : ${esc(sub.disabled_reason)}` : ""}.</p>`}
        <form id="wh-edit" class="form" novalidate>
          ${fields(sub)}
          <label class="inline"><input type="checkbox" name="active"${sub.active ? " checked" : ""}> Actif</label>
          ${errorBox()}
          <div class="adm-actions">
            <button type="submit" class="primary">Enregistrer</button>
            <button type="button" id="wh-test"${sub.active ? "" : " disabled"}>Tester</button>
            <button type="button" id="wh-rotate">Nouveau secret</button>
            <button type="button" class="danger" id="wh-delete">Supprimer</button>
          </div>
        </form>
      </section>
      <section class="panel">
        <div class="adm-actions"><h3>Envois</h3><button type="button" id="wh-refresh">Actualiser</button></div>
        <div id="wh-deliveries">${deliveriesTable(state.deliveries)}</div>
      </section>`;
    const form = box.querySelector("#wh-edit");
    wireKinds(form);
    form.addEventListener("submit", async (submit) => {
      submit.preventDefault();
      const result = await send(form, "PATCH", `/api/v1/webhooks/${sub.id}`, { ...valuesOf(form), active: form.elements.active.checked });
      if (!result.ok || !state.alive) return;
      toast("Webhook enregistré.");
      load();
    });
    box.querySelector("#wh-test").addEventListener("click", async () => {
      const result = await send(form, "POST", `/api/v1/webhooks/${sub.id}/test`);
      if (!result.ok || !state.alive) return;
      toast("Test envoyé : son résultat s'affiche dans les envois.");
      loadDeliveries();
      setTimeout(loadDeliveries, 1500);
    });
    box.querySelector("#wh-rotate").addEventListener("click", async () => {
      if (!window.confirm("Un nouveau secret remplace l'actuel tout de suite : le destinataire devra le connaître. Continuer ?")) return;
      const result = await send(form, "POST", `/api/v1/webhooks/${sub.id}/secret`);
      if (!result.ok || !state.alive) return;
      state.secret = { id: sub.id, value: result.data.secret };
      render();
    });
    box.querySelector("#wh-delete").addEventListener("click", async () => {
      if (!window.confirm("Supprimer ce webhook et l'historique de ses envois ?")) return;
      const result = await send(form, "DELETE", `/api/v1/webhooks/${sub.id}`);
      if (!result.ok || !state.alive) return;
      toast("Webhook supprimé.");
      Object.assign(state, { subId: null, secret: null });
      load();
    });
    box.querySelector("#wh-refresh").addEventListener("click", loadDeliveries);
  }

  root.addEventListener("click", async (click) => {
    const item = click.target.closest("button[data-webhook-id]");
    if (item) {
      state.subId = Number(item.dataset.webhookId);
      load();
      return;
    }
    const again = click.target.closest("button[data-redeliver]");
    if (again) {
      again.disabled = true;
      try {
        await api.post(`/api/v1/webhooks/${state.subId}/deliveries/${again.dataset.redeliver}/redeliver`);
        toast("Envoi relancé.");
      } catch (error) {
        toast(REFUSALS[error.code] || error.french);
      }
      loadDeliveries();
      setTimeout(loadDeliveries, 1500);
    }
  });

  load();
  return { unmount() { state.alive = false; clearInterval(timer); } };
}

async function send(form, method, path, json) {
  const result = await submitFrom(form, method, path, json);
  const alert = form.querySelector(".form-error");
  if (!result.ok && REFUSALS[result.error.code] && alert) alert.textContent = REFUSALS[result.error.code];
  return result;
}

function fields(sub) {
  const all = !sub.kinds.length;
  return `<label>Adresse (https://)<input name="url" type="url" required maxlength="2000" value="${esc(sub.url)}"
        placeholder="https://supervision.example.org/vigie"></label>
      <label>Description<input name="description" maxlength="300" value="${esc(sub.description)}"
        placeholder="Supervision de la ville"></label>
      <fieldset class="wh-kinds"><legend>Entrées envoyées</legend>
        <label class="inline"><input type="checkbox" name="all_kinds"${all ? " checked" : ""}> Toutes</label>
        <div class="wh-kind-list">${Object.entries(TRACE_KINDS).map(([kind, label]) => `<label class="inline small">
          <input type="checkbox" name="kind" value="${esc(kind)}"${sub.kinds.includes(kind) ? " checked" : ""}${all ? " disabled" : ""}>
          ${esc(label)}</label>`).join("")}</div>
      </fieldset>`;
}

function wireKinds(form) {
  form.elements.all_kinds.addEventListener("change", (change) => {
    for (const box of form.querySelectorAll('input[name="kind"]')) box.disabled = change.target.checked;
  });
}

function valuesOf(form) {
  const kinds = form.elements.all_kinds.checked ? []
    : [...form.querySelectorAll('input[name="kind"]:checked')].map((box) => box.value);
  return { url: form.elements.url.value.trim(), description: form.elements.description.value.trim(), kinds };
}

function deliveriesTable(deliveries) {
  if (!deliveries.length) return `<p class="muted">Aucun envoi pour l'instant.</p>`;
  return `<table class="data-table wh-deliveries" data-testid="webhook-deliveries"><thead><tr>
      <th>Mis en file</th><th>Entrée</th><th>Statut</th><th>Essais</th><th>Réponse</th><th>Dernière erreur</th>
      <th>Prochain essai</th><th></th></tr></thead><tbody>${deliveries.map((d) => `<tr data-delivery-id="${d.id}">
      <td>${esc(dayTimeOf(d.created_at))}</td>
      <td>${esc(d.kind === "ping" ? "Test" : TRACE_KINDS[d.kind] || d.kind)}</td>
      <td><span class="wh-status wh-${esc(d.status)}">${esc(STATUSES[d.status] || d.status)}</span></td>
      <td>${d.attempts}</td>
      <td>${d.response_code ?? "—"}</td>
      <td class="small">${esc(d.last_error || "")}</td>
      <td>${esc(d.status === "queued" ? dayTimeOf(d.next_attempt_at) : "")}</td>
      <td><button type="button" class="small" data-redeliver="${d.id}">Renvoyer</button></td></tr>`).join("")}
    </tbody></table>`;
}

function hostOf(url) {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
