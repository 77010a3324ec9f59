// Administration › Intégrations: the API keys of the PC's systems (hyperviseur, GTC/SCADA alarms, telephony)
// — created with the key shown once, revoked, their last use — and each key's mapping rules: the source's
// severities in Vigie's scale, its categories to a procedure (or groups « sans procédure »).

import { api } from "./api.js";
import { chosenCommune, editableCommunes, errorBox, isAdmin, submitFrom } from "./admin-forms.js";
import { store } from "./store.js";
import { toast } from "./toast.js";
import { dayTimeOf, esc } from "./util.js";

const SCOPES = { "events:write": "Alarmes → événements", "calls:write": "Appels (téléphonie)" };
const STATES = { active: "Active", revoked: "Révoquée", expired: "Expirée" };
const SEVERITIES = { 1: "1 · Information", 2: "2 · Modéré", 3: "3 · Grave", 4: "4 · Critique" };
const ON_CLEARED = {
  close_if_unengaged: "clôt l'événement si personne ne l'a encore pris en charge, sinon la note",
  note: "est seulement notée dans la main courante",
};

const orgName = (id) => store.orgs.get(id)?.name || `n° ${id}`;

/** Where a key may act: the communes in reach, the commune being administered first; for a PC admin, last,
 * the métropole (every commune it serves) — the widest key is never the one offered by default. */
function keyOwners() {
  const metropole = isAdmin() ? [...store.orgs.values()].filter((o) => o.id === store.me.organization_id) : [];
  const chosen = chosenCommune();
  const communes = editableCommunes().sort((a, b) => (b.id === chosen) - (a.id === chosen));
  return [...communes, ...metropole];
}

export function mountIntegrations(root) {
  const state = { items: [], editing: null, alive: true };
  root.innerHTML = `<div class="adm-int-view">
      <section class="panel" data-testid="integrations">
        <h2>Intégrations</h2>
        <p class="muted small">Une clé par système (hyperviseur, alarmes GTC, téléphonie du PC) : il ouvre des
          événements ou enregistre des appels avec <code>Authorization: Bearer vigie_…</code>.</p>
        <div id="adm-int-table"><p class="muted">Chargement…</p></div>
        <div id="adm-int-secret"></div>
        <form id="adm-new-int" class="form" novalidate>
          <h3>Nouvelle clé</h3>
          <label>Nom du système<input name="name" required maxlength="200" placeholder="Hyperviseur urbain"></label>
          <label>Pour<select name="organization_id">${keyOwners().map((o) => `<option value="${o.id}">${esc(o.name)}${
            o.kind === "metropole" ? " (toutes ses communes)" : ""}</option>`).join("")}</select></label>
          <fieldset><legend>Droits</legend>${Object.entries(SCOPES).map(([scope, label]) =>
            `<label class="inline"><input type="checkbox" name="scopes" value="${scope}"${scope === "events:write"
              ? " checked" : ""}> ${label}</label>`).join("")}</fieldset>
          <label>Expire le (facultatif)<input type="date" name="expires"></label>
          ${errorBox()}
          <button type="submit" class="primary">Créer la clé</button>
        </form>
      </section>
      <div id="adm-int-rules"></div>
    </div>`;
  const create = root.querySelector("#adm-new-int");
  const tableBox = root.querySelector("#adm-int-table");

  async function load() {
    try {
      const items = await api.get("/api/v1/integrations");
      if (!state.alive) return;
      state.items = items;
      renderTable();
    } catch (error) {
      if (state.alive) tableBox.innerHTML = `<p class="form-error">${esc(error.french)}</p>`;
    }
  }

  function renderTable() {
    if (!state.items.length) {
      tableBox.innerHTML = `<p class="muted">Aucune clé pour l'instant.</p>`;
      return;
    }
    tableBox.innerHTML = `<form id="adm-int-list" novalidate>${errorBox()}
      <table class="data-table adm-int-table"><thead><tr><th>Nom</th><th>Pour</th><th>Droits</th><th>Créée</th>
        <th>Dernière utilisation</th><th>État</th><th></th></tr></thead>
      <tbody>${state.items.map((i) => `<tr data-integration-id="${i.id}" class="${i.state === "active" ? "" : "inactive"}">
        <td>${esc(i.name)}<br><code class="muted small">${esc(i.key_prefix)}…</code></td>
        <td>${esc(orgName(i.organization_id))}</td>
        <td>${i.scopes.map((s) => esc(SCOPES[s] || s)).join("<br>")}</td>
        <td>${esc(dayTimeOf(i.created_at))}</td>
        <td>${i.last_used_at ? `${esc(dayTimeOf(i.last_used_at))}<br><span class="muted small">${esc(i.last_used_from || "")}</span>`
          : `<span class="muted">jamais</span>`}</td>
        <td data-state="${i.state}">${STATES[i.state] || esc(i.state)}${i.expires_at && i.state === "active"
          ? `<br><span class="muted small">jusqu'au ${esc(dayTimeOf(i.expires_at))}</span>` : ""}${i.revoked_at
          ? `<br><span class="muted small">le ${esc(dayTimeOf(i.revoked_at))} par ${esc(i.revoked_by || "?")}</span>` : ""}</td>
        <td class="adm-row-actions">${i.scopes.includes("events:write")
          ? `<button type="button" class="small" data-rules>Règles</button>` : ""}
          ${i.state === "revoked" ? "" : `<button type="button" class="small danger" data-revoke>Révoquer</button>`}</td>
      </tr>`).join("")}</tbody></table></form>`;
  }

  create.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const f = create.elements;
    const expires = f.expires.value ? new Date(`${f.expires.value}T23:59:59`).toISOString() : null;
    const result = await submitFrom(create, "POST", "/api/v1/integrations", {
      name: f.name.value.trim(), organization_id: Number(f.organization_id.value),
      scopes: [...create.querySelectorAll("[name=scopes]:checked")].map((c) => c.value), expires_at: expires });
    if (!result.ok || !state.alive) return;
    create.reset();
    showSecret(result.data);
    load();
  });

  // The key is in this page only until it is dismissed: Vigie keeps its digest, never the key.
  function showSecret(created) {
    const box = root.querySelector("#adm-int-secret");
    box.innerHTML = `<div class="adm-int-secret" role="alert" data-testid="integration-secret">
        <p><strong>Clé de « ${esc(created.name)} »</strong> — copiez-la maintenant : elle ne sera plus jamais affichée.</p>
        <div class="adm-actions"><input readonly value="${esc(created.key)}" aria-label="Clé d'API" data-secret size="50">
          <button type="button" class="primary small" data-copy>Copier</button>
          <button type="button" class="small" data-done>J'ai copié la clé</button></div>
      </div>`;
    const input = box.querySelector("[data-secret]");
    input.select();
    box.querySelector("[data-copy]").addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(input.value);
        toast("Clé copiée.");
      } catch {
        input.select();
        toast("Copie refusée par le navigateur : sélectionnée, copiez-la avec Ctrl+C.", "error");
      }
    });
    box.querySelector("[data-done]").addEventListener("click", () => { box.innerHTML = ""; });
  }

  tableBox.addEventListener("click", async (click) => {
    const button = click.target.closest("button");
    const row = click.target.closest("tr[data-integration-id]");
    if (!button || !row) return;
    const item = state.items.find((i) => i.id === Number(row.dataset.integrationId));
    if (button.matches("[data-revoke]")) {
      if (!window.confirm(`Révoquer la clé « ${item.name} » ? Le système sera refusé dès sa prochaine demande.`)) return;
      const result = await submitFrom(tableBox.querySelector("form"), "POST", `/api/v1/integrations/${item.id}/revoke`);
      if (result.ok && state.alive) {
        toast(`Clé « ${item.name} » révoquée.`);
        load();
      }
    } else if (button.matches("[data-rules]")) {
      editRules(item);
    }
  });

  async function editRules(item) {
    const box = root.querySelector("#adm-int-rules");
    box.innerHTML = `<section class="panel"><p class="muted">Chargement…</p></section>`;
    const communes = store.orgs.get(item.organization_id)?.kind === "metropole"
      ? editableCommunes() : [store.orgs.get(item.organization_id)].filter(Boolean);
    let targets;
    try {
      targets = (await Promise.all(communes.map(async (c) => {
        const [procedures, groups] = await Promise.all([
          api.get(`/api/v1/procedures?organization_id=${c.id}`), api.get(`/api/v1/groups?organization_id=${c.id}`)]);
        const prefix = communes.length > 1 ? `${c.name} — ` : "";
        return [...procedures.map((p) => ({ value: `p:${p.id}`, label: `${prefix}Procédure : ${p.category}` })),
          ...groups.map((g) => ({ value: `g:${g.id}`, label: `${prefix}Sans procédure : ${g.name}` }))];
      }))).flat();
    } catch (error) {
      box.innerHTML = `<section class="panel"><p class="form-error">${esc(error.french)}</p></section>`;
      return;
    }
    if (!state.alive) return;
    state.editing = item.id;
    const mapping = item.mapping;
    const targetOf = (rule) => (rule.procedure_id ? `p:${rule.procedure_id}` : `g:${(rule.group_ids || []).join(",")}`);
    for (const rule of mapping.rules) { // a rule made through the API with several groups stays choosable
      if (!targets.some((t) => t.value === targetOf(rule))) targets.push({ value: targetOf(rule), label: `Groupes n° ${(rule.group_ids || []).join(", ")}` });
    }
    const severityRow = ([value, level] = ["", 3]) => `<li class="adm-int-row">
        <label class="inline">Valeur de la source<input name="source" maxlength="50" value="${esc(value)}" placeholder="MAJOR"></label>
        <label class="inline">→ Vigie<select name="level">${Object.entries(SEVERITIES).map(([n, label]) =>
          `<option value="${n}"${Number(n) === level ? " selected" : ""}>${label}</option>`).join("")}</select></label>
        <button type="button" class="small" data-remove-row>Retirer</button></li>`;
    const ruleRow = (rule = { category: "" }) => `<li class="adm-int-row">
        <label class="inline">Catégorie de la source<input name="category" maxlength="200" value="${esc(rule.category)}"
          placeholder="* = toute autre"></label>
        <label class="inline">→<select name="target">${targets.map((t) => `<option value="${esc(t.value)}"${
          rule.category && t.value === targetOf(rule) ? " selected" : ""}>${esc(t.label)}</option>`).join("")}</select></label>
        <button type="button" class="small" data-remove-row>Retirer</button></li>`;
    box.innerHTML = `<section class="panel" data-testid="integration-rules">
        <h2>Règles de « ${esc(item.name)} »</h2>
        <form id="adm-int-mapping" class="form" novalidate>
          <h3>Gravités</h3>
          <p class="muted small">Une gravité inconnue est traitée comme « 3 · Grave » jusqu'à requalification.</p>
          <ul class="adm-int-rows" data-rows="severities">${Object.entries(mapping.severities).map(severityRow).join("")}</ul>
          <button type="button" class="small" data-add="severities">Ajouter une gravité</button>
          <h3>Catégories</h3>
          <p class="muted small">Sans règle (ni « * »), l'événement est ouvert sans procédure, seulement tracé : le PC le voit.</p>
          <ul class="adm-int-rows" data-rows="rules">${mapping.rules.map(ruleRow).join("")}</ul>
          ${targets.length ? `<button type="button" class="small" data-add="rules">Ajouter une catégorie</button>`
            : `<p class="muted small">Aucune procédure ni groupe dans ${communes.length > 1 ? "ces communes" : "cette commune"}.</p>`}
          <label>Une fin d'alarme<select name="on_cleared">${Object.entries(ON_CLEARED).map(([v, label]) =>
            `<option value="${v}"${v === mapping.on_cleared ? " selected" : ""}>${label}</option>`).join("")}</select></label>
          ${errorBox()}
          <div class="adm-actions"><button type="submit" class="primary">Enregistrer les règles</button></div>
        </form>
      </section>`;
    const form = box.querySelector("form");
    form.addEventListener("click", (click) => {
      const add = click.target.closest("[data-add]");
      if (add) {
        const rows = form.querySelector(`[data-rows="${add.dataset.add}"]`);
        rows.insertAdjacentHTML("beforeend", add.dataset.add === "rules" ? ruleRow() : severityRow());
        rows.lastElementChild.querySelector("input").focus();
      } else if (click.target.closest("[data-remove-row]")) {
        click.target.closest("li").remove();
      }
    });
    form.addEventListener("submit", async (submit) => {
      submit.preventDefault();
      const severities = {};
      for (const li of form.querySelectorAll('[data-rows="severities"] li')) {
        const value = li.querySelector("[name=source]").value.trim();
        if (value) severities[value] = Number(li.querySelector("[name=level]").value);
      }
      const rules = [...form.querySelectorAll('[data-rows="rules"] li')].map((li) => {
        const [kind, ids] = li.querySelector("[name=target]").value.split(":");
        const category = li.querySelector("[name=category]").value.trim();
        return kind === "p" ? { category, procedure_id: Number(ids) } : { category, group_ids: ids.split(",").map(Number) };
      }).filter((r) => r.category);
      const result = await submitFrom(form, "PUT", `/api/v1/integrations/${item.id}/mapping`, {
        severities, rules, on_cleared: form.elements.on_cleared.value });
      if (!result.ok || !state.alive) return;
      toast("Règles enregistrées.");
      state.items = state.items.map((i) => (i.id === item.id ? result.data : i));
    });
  }

  load();
  return { unmount() { state.alive = false; } };
}
