// The procedures library (#/procedures): a commune's ~200 procedures searched as one types (title, category,
// instructions; filtered in the page, no round trip), one procedure's versions side by side, and for those who
// may write (a PC admin, the commune's referent) a form that saves a new version: a draft, offered to no event
// until a PC admin validates it. A commune's procedures go out as JSON or CSV and come back from the JSON,
// previewed first, then taken whole or not at all.

import { api, download, request } from "./api.js";
import { SEVERITY, severityLabel } from "./labels.js";
import { escalationGroupLabelled } from "./procedurehelp.js";
import { store } from "./store.js";
import { toast } from "./toast.js";
import { dayTimeOf, esc } from "./util.js";

export const CAP_CATEGORIES = {
  Geo: "Géophysique", Met: "Météo", Safety: "Sécurité des personnes", Security: "Sûreté, ordre public",
  Rescue: "Secours", Fire: "Incendie", Health: "Santé", Env: "Environnement", Transport: "Transports, voirie",
  Infra: "Réseaux, bâtiments", CBRNE: "Risque NRBC", Other: "Autre",
};
const MODES = { solicit: "sollicité", inform: "informé" };
const FIELDS = { category: "titre", cap_category: "catégorie", instructions: "consignes", default_severity:
                 "gravité par défaut", timings: "délais", steps: "groupes", report_list_ids: "diffusion du rapport" };
const STATUS = { draft: "brouillon", validated: "validée", superseded: "remplacée" };

const isAdmin = () => store.me?.role === "admin";
const mayEdit = (orgId) => isAdmin() || (store.me?.role === "referent" && store.me.organization_id === orgId);

/** The text the search looks into: title, category (code and words), instructions, group names. */
function haystack(p) {
  return [p.category, p.cap_category, CAP_CATEGORIES[p.cap_category], p.instructions,
          ...p.steps.map((s) => s.group_name)].join(" ").toLocaleLowerCase("fr")
    .normalize("NFD").replace(/[\u0300-\u036f]/g, "");
}
const fold = (text) => text.toLocaleLowerCase("fr").normalize("NFD").replace(/[\u0300-\u036f]/g, "");

export function chainText(steps) {
  return steps.map((s) => `${s.group_name || `groupe ${s.group_id}`}${
    s.mode === "inform" ? (s.inform_all ? " (informé, toute la liste)" : " (informé)") : ""}${
    s.min_severity > 1 ? ` dès ${severityLabel(s.min_severity).toLowerCase()}` : ""}`).join(" → ");
}

export function mountProcedures(root) {
  const communes = [...store.orgs.values()].filter((o) => o.kind === "commune")
    .sort((a, b) => a.name.localeCompare(b.name, "fr"));
  root.innerHTML = `<div class="procedures-view" data-testid="procedures-view">
    <div class="cl-head"><h1>Procédures</h1>
      <label class="inline">Commune <select id="pr-org">${communes.map((o) =>
        `<option value="${o.id}">${esc(o.name)}</option>`).join("")}</select></label>
      <label class="inline">Rechercher <input id="pr-q" type="search" placeholder="titre, catégorie, consignes"></label>
      <label class="inline">Catégorie <select id="pr-cap"><option value="">toutes</option>${Object.entries(CAP_CATEGORIES)
        .map(([code, label]) => `<option value="${code}">${esc(label)}</option>`).join("")}</select></label>
      <label class="inline"><input id="pr-inactive" type="checkbox"> avec les désactivées</label>
      <span class="spacer"></span>
      <button type="button" id="pr-new" class="primary" hidden>Nouvelle procédure</button>
    </div>
    <div class="pr-tools">
      <button type="button" class="ghost small" id="pr-export-json">Exporter (JSON)</button>
      <button type="button" class="ghost small" id="pr-export-csv">Exporter (CSV)</button>
      <label class="button ghost small" id="pr-import-label" hidden>Importer (JSON)…
        <input type="file" id="pr-import" accept="application/json,.json" hidden></label>
      <span class="muted small" id="pr-count"></span>
    </div>
    <div id="pr-import-preview"></div>
    <div class="pr-body">
      <section class="panel pr-list"><div id="pr-table"><p class="muted">Chargement…</p></div></section>
      <section class="panel pr-detail" id="pr-detail" data-testid="procedure-detail">
        <p class="muted">Choisissez une procédure pour voir ses consignes et ses versions.</p></section>
    </div>
  </div>`;
  const $ = (selector) => root.querySelector(selector);
  let procedures = [];
  let groups = [];
  let lists = [];
  let selected = null;
  let gone = false;
  let seq = 0;
  const orgId = () => Number($("#pr-org").value);

  async function load({ keep } = {}) {
    const mine = ++seq;
    const id = orgId();
    $("#pr-new").hidden = !mayEdit(id);
    $("#pr-import-label").hidden = !mayEdit(id);
    // Until this commune's groups are read, a new form would offer the previous commune's.
    $("#pr-new").disabled = true;
    try {
      // The commune's groups and those of the métropole serving it (its astreinte de décision), which the
      // commune's referent cannot list otherwise.
      const [found, foundGroups, foundLists] = await Promise.all([
        api.get(`/api/v1/procedures?organization_id=${id}`),
        api.get(`/api/v1/organizations/${id}/escalation-groups`),
        api.get(`/api/v1/distribution-lists?organization_id=${id}`)]);
      if (gone || mine !== seq) return;
      procedures = found.map((p) => ({ ...p, text: haystack(p) }));
      groups = foundGroups.map(escalationGroupLabelled);
      lists = foundLists;
      $("#pr-new").disabled = false;
      render();
      if (keep) showDetail(keep);
    } catch (error) {
      if (!gone && mine === seq) $("#pr-table").innerHTML = `<p class="form-error">${esc(error.french)}</p>`;
    }
  }

  function visible() {
    const words = fold($("#pr-q").value.trim()).split(/\s+/).filter(Boolean);
    const cap = $("#pr-cap").value;
    const inactive = $("#pr-inactive").checked;
    return procedures.filter((p) => (inactive || p.active) && (!cap || p.cap_category === cap)
      && words.every((w) => p.text.includes(w)));
  }

  function stateOf(p) {
    const parts = [];
    if (p.version === 0) parts.push(`<span class="pr-state draft">brouillon, jamais validée</span>`);
    else parts.push(`<span class="pr-state">version ${p.version}</span>`);
    if (p.version > 0 && p.draft_version) parts.push(`<span class="pr-state draft">v${p.draft_version} à valider</span>`);
    if (!p.active) parts.push(`<span class="pr-state off">désactivée</span>`);
    return parts.join(" ");
  }

  function render() {
    const shown = visible();
    $("#pr-count").textContent = `${shown.length} sur ${procedures.length} procédure${procedures.length > 1 ? "s" : ""}`;
    if (!shown.length) {
      $("#pr-table").innerHTML = `<p class="muted">${procedures.length ? "Aucune procédure ne correspond."
        : "Aucune procédure pour cette commune."}</p>`;
      return;
    }
    // One string, one assignment: 200 rows render in a frame.
    $("#pr-table").innerHTML = `<table class="data-table pr-table"><thead><tr><th>Procédure</th><th>Catégorie</th>
      <th>Groupes</th><th>État</th></tr></thead><tbody>${shown.map((p) => `
      <tr data-procedure-id="${p.id}" class="${p.id === selected ? "selected" : ""}${p.active ? "" : " inactive"}">
        <td><a href="#/procedures" data-open="${p.id}">${esc(p.category)}</a></td>
        <td>${esc(CAP_CATEGORIES[p.cap_category] || p.cap_category)}</td>
        <td class="small">${esc(chainText(p.steps))}</td><td>${stateOf(p)}</td></tr>`).join("")}</tbody></table>`;
  }

  async function showDetail(procedureId) {
    selected = procedureId;
    for (const row of root.querySelectorAll("tr[data-procedure-id]")) {
      row.classList.toggle("selected", Number(row.dataset.procedureId) === procedureId);
    }
    const procedure = procedures.find((p) => p.id === procedureId);
    if (!procedure) return;
    const box = $("#pr-detail");
    box.innerHTML = `<p class="muted">Chargement des versions…</p>`;
    let versions;
    try {
      versions = await api.get(`/api/v1/procedures/${procedureId}/versions`);
    } catch (error) {
      box.innerHTML = `<p class="form-error">${esc(error.french)}</p>`;
      return;
    }
    if (gone || selected !== procedureId) return;
    const editable = mayEdit(procedure.organization_id);
    box.innerHTML = `<h2>${esc(procedure.category)}</h2>
      <p>${stateOf(procedure)} <span class="muted small">${esc(CAP_CATEGORIES[procedure.cap_category] || "")}</span></p>
      <h3>Consignes à l'opérateur</h3>
      <div class="instructions" data-testid="procedure-instructions">${procedure.instructions
        ? esc(procedure.instructions) : '<span class="muted">Aucune consigne.</span>'}</div>
      <p class="small"><strong>Groupes :</strong> ${esc(chainText(procedure.steps))}</p>
      ${procedure.default_severity ? `<p class="small"><strong>Gravité proposée :</strong> ${esc(severityLabel(procedure.default_severity))}</p>` : ""}
      <p class="pr-actions">${editable ? `<button type="button" id="pr-edit">Modifier (nouvelle version)</button>` : ""}
        ${editable ? (procedure.active ? `<button type="button" class="ghost" id="pr-off">Désactiver</button>`
          : `<button type="button" class="ghost" id="pr-on">Réactiver</button>`) : ""}
        ${editable ? "" : `<span class="muted small">Consultation seule.</span>`}</p>
      <h3>Versions</h3>
      <ol class="pr-versions" data-testid="procedure-versions">${versions.map((v, i) =>
        versionHtml(v, versions[i + 1], procedure)).join("")}</ol>`;
    box.querySelector("#pr-edit")?.addEventListener("click", () => showForm(procedure, versions[0]));
    box.querySelector("#pr-off")?.addEventListener("click", () => setActive(procedure, false));
    box.querySelector("#pr-on")?.addEventListener("click", () => setActive(procedure, true));
    for (const button of box.querySelectorAll("[data-validate]")) {
      button.addEventListener("click", () => validate(procedure, Number(button.dataset.validate)));
    }
  }

  function versionHtml(v, before, procedure) {
    const inService = v.status === "validated" && v.number === procedure.version;
    const who = [v.author ? `par ${v.author}` : "", dayTimeOf(v.created_at)].filter(Boolean).join(", ");
    const validated = v.validated_at ? `validée ${v.validated_by ? `par ${v.validated_by} ` : ""}le ${dayTimeOf(v.validated_at)}` : "";
    const canValidate = v.status === "draft" && isAdmin() && v.number > procedure.version;
    return `<li class="pr-version ${v.status}" data-version="${v.number}">
      <div><strong>Version ${v.number}</strong> <span class="pr-state ${v.status === "draft" ? "draft" : ""}">${
        esc(inService ? "en service" : STATUS[v.status] || v.status)}</span>
        <span class="muted small">${esc(who)}${validated ? ` · ${esc(validated)}` : ""}</span>
        ${canValidate ? `<button type="button" class="primary small" data-validate="${v.number}">Valider la version ${v.number}</button>` : ""}</div>
      ${v.note ? `<div class="small">« ${esc(v.note)} »</div>` : ""}
      ${before ? diffHtml(v, before) : `<div class="small muted">Première version.</div>`}
    </li>`;
  }

  function diffHtml(v, before) {
    const changed = v.changes.length ? v.changes : [];
    if (!changed.length) return `<div class="small muted">Sans changement de contenu.</div>`;
    const show = (name, content) => {
      if (name === "steps") return chainText(content.steps);
      if (name === "cap_category") return CAP_CATEGORIES[content.cap_category] || content.cap_category;
      if (name === "default_severity") return content.default_severity ? severityLabel(content.default_severity) : "aucune";
      if (name === "timings") {
        return Object.entries(content.timings).map(([sev, t]) => `${severityLabel(Number(sev))} ${t.ack_timeout_s} s`).join(", ");
      }
      if (name === "report_list_ids") {
        return content.report_list_ids.map((id) => lists.find((l) => l.id === id)?.name || `liste ${id}`).join(", ") || "aucune";
      }
      return content[name] || "(vide)";
    };
    return `<dl class="pr-diff">${changed.map((name) => `<div><dt>${esc(FIELDS[name] || name)}</dt>
      <dd><del>${esc(show(name, before.content))}</del> <ins>${esc(show(name, v.content))}</ins></dd></div>`).join("")}</dl>`;
  }

  async function validate(procedure, number) {
    try {
      await api.post(`/api/v1/procedures/${procedure.id}/versions/${number}/validate`);
      toast(`Version ${number} validée : les nouveaux événements la suivent.`);
    } catch (error) {
      toast(error.french, "error");
    }
    load({ keep: procedure.id });
  }

  async function setActive(procedure, active) {
    try {
      await request("PATCH", `/api/v1/procedures/${procedure.id}`, { json: { active } });
      toast(active ? "Procédure réactivée." : "Procédure désactivée : elle n'est plus proposée.");
    } catch (error) {
      toast(error.french, "error");
    }
    load({ keep: procedure.id });
  }

  function showForm(procedure = null, latest = null) {
    // Editing starts from the latest version, draft included: a second edit builds on the first.
    const base = latest?.content || procedure || { category: "", cap_category: "Other", instructions: "",
                                                  default_severity: null, steps: [], report_list_ids: [] };
    let steps = base.steps.map((s) => ({ group_id: s.group_id, mode: s.mode, min_severity: s.min_severity,
                                         inform_all: Boolean(s.inform_all) }));
    const box = $("#pr-detail");
    box.innerHTML = `<form id="pr-form" class="form" novalidate>
      <h2>${procedure ? `Modifier « ${esc(procedure.category)} »` : "Nouvelle procédure"}</h2>
      <label><span>Titre (catégorie d'événement) <span class="req">*</span></span>
        <input name="category" maxlength="200" required value="${esc(base.category)}"></label>
      <div class="grid2">
        <label>Catégorie <select name="cap_category">${Object.entries(CAP_CATEGORIES).map(([code, label]) =>
          `<option value="${code}"${code === base.cap_category ? " selected" : ""}>${esc(label)}</option>`).join("")}</select></label>
        <label>Gravité proposée <select name="default_severity"><option value="">aucune</option>${Object.entries(SEVERITY)
          .map(([level, label]) => `<option value="${level}"${Number(level) === base.default_severity ? " selected" : ""}>${
            level} · ${esc(label)}</option>`).join("")}</select></label>
      </div>
      <label>Consignes à l'opérateur
        <textarea name="instructions" rows="5" maxlength="2000" placeholder="Ce que l'opérateur vérifie, dit, fait">${
          esc(base.instructions)}</textarea></label>
      <fieldset><legend>Groupes, dans l'ordre des sollicitations <span class="req">*</span></legend>
        <ol class="pr-steps" id="pr-steps"></ol>
        <p><select id="pr-add-group"><option value="">Ajouter un groupe…</option>${groups.map((g) =>
          `<option value="${g.id}">${esc(g.name)}</option>`).join("")}</select></p>
      </fieldset>
      <label>Ce qui change <input name="note" maxlength="500" placeholder="ex. : le cadre d'abord, la nuit"></label>
      <p class="form-error" role="alert" hidden></p>
      <p class="pr-actions"><button type="submit" class="primary">Enregistrer (brouillon)</button>
        ${isAdmin() ? `<button type="button" id="pr-save-validate">Enregistrer et valider</button>` : ""}
        <button type="button" class="ghost" id="pr-cancel">Annuler</button></p>
      <p class="muted small">Une version enregistrée reste un brouillon, proposée à aucun événement, jusqu'à sa
        validation par un administrateur du PC.</p>
    </form>`;
    const form = box.querySelector("#pr-form");
    const errorBox = form.querySelector(".form-error");

    function renderSteps() {
      const name = (id) => groups.find((g) => g.id === id)?.name
        || base.steps.find((s) => s.group_id === id)?.group_name || `groupe ${id}`;
      form.querySelector("#pr-steps").innerHTML = steps.map((s, i) => `<li data-group-id="${s.group_id}">
        <span class="pr-step-name">${esc(name(s.group_id))}</span>
        <select data-mode="${i}" aria-label="Rôle">${Object.entries(MODES).map(([m, label]) =>
          `<option value="${m}"${m === s.mode ? " selected" : ""}>${label}</option>`).join("")}</select>
        <select data-sev="${i}" aria-label="À partir de la gravité">${Object.entries(SEVERITY).map(([level, label]) =>
          `<option value="${level}"${Number(level) === s.min_severity ? " selected" : ""}>dès ${esc(label.toLowerCase())}</option>`).join("")}</select>
        ${s.mode === "inform" ? `<label class="pr-inform-all" title="Sinon, seule la personne d'astreinte du groupe est informée"><input type="checkbox" data-all="${i}"${
          s.inform_all ? " checked" : ""}> toute la liste</label>` : ""}
        <button type="button" class="ghost small" data-up="${i}" aria-label="Monter"${i ? "" : " disabled"}>↑</button>
        <button type="button" class="ghost small" data-down="${i}" aria-label="Descendre"${i < steps.length - 1 ? "" : " disabled"}>↓</button>
        <button type="button" class="ghost small" data-remove="${i}" aria-label="Retirer">✕</button></li>`).join("")
        || `<li class="muted">Aucun groupe.</li>`;
      const taken = new Set(steps.map((s) => s.group_id));
      for (const option of form.querySelectorAll("#pr-add-group option[value]")) {
        if (option.value) option.disabled = taken.has(Number(option.value));
      }
    }
    form.querySelector("#pr-steps").addEventListener("change", (change) => {
      const { mode, sev, all } = change.target.dataset;
      if (all !== undefined) steps[Number(all)].inform_all = change.target.checked;
      if (mode !== undefined) {
        steps[Number(mode)].mode = change.target.value;
        if (change.target.value !== "inform") steps[Number(mode)].inform_all = false;
        renderSteps();
      }
      if (sev !== undefined) steps[Number(sev)].min_severity = Number(change.target.value);
    });
    form.querySelector("#pr-steps").addEventListener("click", (click) => {
      const { up, down, remove } = click.target.dataset;
      const swap = (a, b) => { [steps[a], steps[b]] = [steps[b], steps[a]]; };
      if (up !== undefined) swap(Number(up), Number(up) - 1);
      else if (down !== undefined) swap(Number(down), Number(down) + 1);
      else if (remove !== undefined) steps.splice(Number(remove), 1);
      else return;
      renderSteps();
    });
    form.querySelector("#pr-add-group").addEventListener("change", (change) => {
      const id = Number(change.target.value);
      if (id) steps = [...steps, { group_id: id, mode: "solicit", min_severity: 1 }];
      change.target.value = "";
      renderSteps();
    });
    renderSteps();

    async function save(validateNow) {
      errorBox.hidden = true;
      const category = form.elements.category.value.trim();
      if (!category || !steps.length) {
        errorBox.textContent = !category ? "Donnez un titre à la procédure." : "Ajoutez au moins un groupe.";
        errorBox.hidden = false;
        return;
      }
      const body = { category, cap_category: form.elements.cap_category.value,
                     instructions: form.elements.instructions.value.trim(),
                     default_severity: Number(form.elements.default_severity.value) || null, steps,
                     note: form.elements.note.value.trim(), validate: validateNow };
      try {
        const saved = procedure
          ? await request("PATCH", `/api/v1/procedures/${procedure.id}`, { json: body })
          : await api.post("/api/v1/procedures", { ...body, organization_id: orgId() });
        toast(validateNow ? "Version enregistrée et validée." : "Version enregistrée : un administrateur du PC doit la valider.");
        load({ keep: saved.id });
      } catch (error) {
        errorBox.textContent = error.french;
        errorBox.hidden = false;
      }
    }
    form.addEventListener("submit", (submit) => {
      submit.preventDefault();
      save(false);
    });
    form.querySelector("#pr-save-validate")?.addEventListener("click", () => save(true));
    form.querySelector("#pr-cancel").addEventListener("click", () => (procedure ? showDetail(procedure.id)
      : (box.innerHTML = `<p class="muted">Choisissez une procédure.</p>`)));
    form.elements.category.focus();
  }

  async function importFile(file) {
    const box = $("#pr-import-preview");
    let document;
    try {
      document = JSON.parse(await file.text());
    } catch (error) {
      box.innerHTML = `<p class="panel form-error">Ce fichier n'est pas un export JSON de procédures.</p>`;
      return;
    }
    const url = `/api/v1/organizations/${orgId()}/procedures/import`;
    let preview;
    try {
      preview = await api.post(`${url}?dry_run=true`, document);
    } catch (error) {
      box.innerHTML = `<p class="panel form-error">${esc(error.french)}</p>`;
      return;
    }
    const list = (items) => items.map(esc).join(", ") || "aucune";
    box.innerHTML = `<section class="panel pr-import" data-testid="import-preview"><h2>Import : aperçu</h2>
      <p>Nouvelles : ${list(preview.created)}</p><p>Modifiées (nouvelle version à valider) : ${list(preview.changed)}</p>
      <p class="muted">Inchangées : ${preview.unchanged.length}</p>
      ${preview.problems.length ? `<p class="form-error">Rien ne sera importé tant que ces problèmes restent :</p>
        <ul>${preview.problems.map((p) => `<li>${esc(p.category)} : ${esc(p.message)}</li>`).join("")}</ul>` : ""}
      <p><button type="button" class="primary" id="pr-import-apply"${preview.problems.length
        || !(preview.created.length + preview.changed.length) ? " disabled" : ""}>Importer</button>
        <button type="button" class="ghost" id="pr-import-cancel">Annuler</button></p></section>`;
    box.querySelector("#pr-import-cancel").addEventListener("click", () => { box.innerHTML = ""; });
    box.querySelector("#pr-import-apply").addEventListener("click", async () => {
      try {
        await api.post(url, document);
        toast("Import terminé : les versions importées attendent leur validation.");
        box.innerHTML = "";
        load();
      } catch (error) {
        toast(error.french, "error");
      }
    });
  }

  let timer = null;
  $("#pr-q").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(render, 60);
  });
  $("#pr-cap").addEventListener("change", render);
  $("#pr-inactive").addEventListener("change", render);
  $("#pr-org").addEventListener("change", () => {
    $("#pr-detail").innerHTML = `<p class="muted">Choisissez une procédure.</p>`;
    load();
  });
  $("#pr-table").addEventListener("click", (click) => {
    const row = click.target.closest("tr[data-procedure-id]");
    if (!row) return;
    click.preventDefault();
    showDetail(Number(row.dataset.procedureId));
  });
  $("#pr-new").addEventListener("click", () => showForm());
  const code = () => store.orgs.get(orgId())?.code?.toLowerCase() || orgId();
  $("#pr-export-json").addEventListener("click", () => download(
    `/api/v1/organizations/${orgId()}/procedures/export`, `procedures-${code()}.json`).catch((e) => toast(e.french, "error")));
  $("#pr-export-csv").addEventListener("click", () => download(
    `/api/v1/organizations/${orgId()}/procedures/export?format=csv`, `procedures-${code()}.csv`).catch((e) => toast(e.french, "error")));
  $("#pr-import").addEventListener("change", (change) => {
    const [file] = change.target.files;
    if (file) importFile(file);
    change.target.value = "";
  });
  if (store.me?.role === "referent" && store.orgs.has(store.me.organization_id)) {
    $("#pr-org").value = String(store.me.organization_id);
  }
  load();
  return { unmount() { gone = true; clearTimeout(timer); } };
}
