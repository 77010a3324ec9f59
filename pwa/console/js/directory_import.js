// Importing a commune's directory from its spreadsheet (#/personnes/import): the file is read a first time
// without writing anything (who will be created, who updated, every row's error with its column), then
// imported whole — or, at the least error, not at all. Below, the commune's imports; `?id=N` shows one.

import { ApiError, api, token } from "./api.js";
import { phoneText } from "./people.js";
import { directoryError, editableOrgs, fieldWords, orgOptions } from "./person_edit.js";
import { orgName, store } from "./store.js";
import { toast } from "./toast.js";
import { dayTimeOf, esc } from "./util.js";

const ACTION_WORDS = { create: "à créer", update: "à mettre à jour", unchanged: "inchangée" };
const DONE_WORDS = { create: "créée", change: "mise à jour" };

/** A file sent as a form (the JSON helpers of api.js do not send files). */
async function postFile(path, file) {
  const body = new FormData();
  body.append("file", file, file.name);
  let response;
  try {
    response = await fetch(path, { method: "POST", body, headers: { Accept: "application/json",
      Authorization: `Bearer ${token.get()}` } });
  } catch (error) {
    throw new ApiError(0, "network", "network error");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const err = data?.error || {};
    throw new ApiError(response.status, err.code || "", err.message || response.statusText, err.details);
  }
  return data;
}

function errorsTable(errors) {
  return `<table class="data-table" data-testid="import-errors"><thead><tr><th>Ligne</th><th>Colonne</th><th>Problème</th>
    </tr></thead><tbody>${errors.map((e) => `<tr><td class="num">${e.row}</td><td>${esc(e.column)}</td>
      <td>${esc(e.message)}</td></tr>`).join("")}</tbody></table>`;
}

function previewTable(items) {
  return `<table class="data-table" data-testid="import-preview"><thead><tr><th>Ligne</th><th>Action</th><th>Nom</th>
      <th>Matricule</th><th>Fonction</th><th>Mobile</th><th>E-mail</th><th>Groupes</th><th>Changements</th></tr></thead>
    <tbody>${items.map((i) => `<tr class="dir-${i.action}"><td class="num">${i.row}</td><td>${ACTION_WORDS[i.action]}</td>
      <td>${i.person_id ? `<a href="#/personne/${i.person_id}">${esc(i.display_name)}</a>` : esc(i.display_name)}</td>
      <td>${esc(i.employee_number || "")}</td><td>${esc(i.job_title || "")}</td><td>${esc(phoneText(i.mobile || ""))}</td>
      <td>${esc(i.email || "")}</td><td>${esc(i.groups.join(", "))}</td><td>${esc(fieldWords(i.changes.join(",")))}</td>
    </tr>`).join("")}</tbody></table>`;
}

function importDetail(record) {
  return `<section class="panel" data-testid="import-detail"><h2>Import n° ${record.id} — ${esc(dayTimeOf(record.at))}</h2>
    <p>${esc(record.user)} · ${esc(orgName(record.organization_id))} · fichier « ${esc(record.filename)} » ·
      ${record.created} créée(s), ${record.updated} mise(s) à jour, ${record.unchanged} inchangée(s)</p>
    ${record.people.length ? `<ul>${record.people.map((p) => `<li><a href="#/personne/${p.person_id}">${esc(p.display_name)}</a>
      ${DONE_WORDS[p.action] || p.action}${p.action === "change" && p.what ? ` (${esc(fieldWords(p.what))})` : ""}</li>`).join("")}</ul>`
      : '<p class="muted">Personne n\'a été créé ni modifié.</p>'}</section>`;
}

export function mountDirectoryImport(root, importId) {
  const orgs = editableOrgs();
  root.innerHTML = `<div class="dir-import-view" data-testid="directory-import">
      <p><a class="back" href="#/personnes">‹ Personnes</a></p>
      <h1>Importer l'annuaire d'une commune</h1>
      <div id="di-detail"></div>
      <section class="panel">
        <form id="di-form" class="dir-form" novalidate>
          <label>Commune <select name="organization_id">${orgOptions(store.me?.organization_id)}</select></label>
          <label>Fichier CSV <input type="file" name="file" accept=".csv,text/csv,text/plain"></label>
          <p><button type="submit" class="primary">Prévisualiser</button></p>
        </form>
        <p class="muted small">Première ligne : les noms des colonnes — nom, prénom, matricule, fonction, mobile, e-mail,
          groupes (séparés par des virgules). CSV en UTF-8 ou tel qu'Excel l'enregistre (« CSV séparateur point-virgule »).
          Une personne déjà présente est reconnue à son matricule, sinon à son e-mail ou à son mobile ; une case vide
          n'efface rien. 2 000 personnes et 1 Mo au plus.</p>
        <p class="form-error" id="di-error" role="alert" hidden></p>
        <div id="di-result"></div>
      </section>
      <section class="panel"><h2>Imports précédents</h2><div id="di-history"><p class="muted">Chargement…</p></div></section>
    </div>`;
  const $ = (selector) => root.querySelector(selector);
  const form = $("#di-form");
  let gone = false;
  let previewed = null; // {file, organizationId}

  if (!orgs.length) {
    $("#di-result").innerHTML = '<p class="muted">Votre rôle ne permet pas de modifier un annuaire.</p>';
    form.hidden = true;
  }

  const orgId = () => Number(form.elements.organization_id.value);
  const fail = (error) => {
    $("#di-error").textContent = directoryError(error);
    $("#di-error").hidden = false;
    if (error instanceof ApiError && error.code === "import_has_errors") {
      $("#di-result").innerHTML = errorsTable(error.details.errors);
    }
  };

  async function loadHistory() {
    if (!orgs.length) return;
    try {
      const imports = await api.get(`/api/v1/organizations/${orgId()}/directory-imports`);
      if (gone) return;
      $("#di-history").innerHTML = imports.length ? `<table class="data-table" data-testid="import-history"><thead><tr>
          <th>Quand</th><th>Qui</th><th>Fichier</th><th class="num">Créées</th><th class="num">Mises à jour</th>
          <th class="num">Inchangées</th><th></th></tr></thead><tbody>${imports.map((i) => `<tr><td>${esc(dayTimeOf(i.at))}</td>
          <td>${esc(i.user)}</td><td>${esc(i.filename)}</td><td class="num">${i.created}</td><td class="num">${i.updated}</td>
          <td class="num">${i.unchanged}</td><td><a href="#/personnes/import?id=${i.id}">détail</a></td></tr>`).join("")}</tbody></table>`
        : '<p class="muted">Aucun import pour cette commune.</p>';
    } catch (error) {
      if (!gone) $("#di-history").innerHTML = `<p class="form-error">${esc(directoryError(error))}</p>`;
    }
  }

  async function showImport(id) {
    try {
      const record = await api.get(`/api/v1/directory-imports/${id}`);
      if (!gone) $("#di-detail").innerHTML = importDetail(record);
    } catch (error) {
      if (!gone) $("#di-detail").innerHTML = `<p class="form-error">${esc(directoryError(error))}</p>`;
    }
  }

  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    $("#di-error").hidden = true;
    $("#di-result").innerHTML = "";
    const file = form.elements.file.files[0];
    if (!file) {
      fail(new Error("Choisissez le fichier CSV de l'annuaire."));
      return;
    }
    try {
      const preview = await postFile(`/api/v1/organizations/${orgId()}/directory-imports/preview`, file);
      if (gone) return;
      previewed = { file, organizationId: orgId() };
      const blocked = preview.errors.length > 0;
      $("#di-result").innerHTML = `<h2>Aperçu — rien n'est encore enregistré</h2>
        <p data-testid="import-summary"><strong>${preview.created}</strong> à créer, <strong>${preview.updated}</strong> à mettre à
          jour, <strong>${preview.unchanged}</strong> inchangée(s)${blocked ? `, <strong class="dir-bad">${preview.errors.length}
          erreur(s)</strong>` : ""}.
          ${preview.ignored_columns.length ? `<span class="muted">Colonnes ignorées : ${esc(preview.ignored_columns.join(", "))}.</span>` : ""}</p>
        ${blocked ? `<p class="form-error">Corrigez le fichier puis prévisualisez-le à nouveau : tant qu'une ligne est en
          erreur, rien n'est importé.</p>${errorsTable(preview.errors)}` : ""}
        ${preview.items.length ? previewTable(preview.items) : ""}
        <p><button type="button" class="primary" id="di-confirm" ${blocked ? "disabled" : ""}>Importer
          ${preview.created + preview.updated} changement(s) dans ${esc(orgName(preview.organization_id))}</button></p>`;
      $("#di-confirm").addEventListener("click", confirmImport);
    } catch (error) {
      fail(error);
    }
  });

  async function confirmImport() {
    if (!previewed) return;
    $("#di-confirm").disabled = true;
    try {
      const record = await postFile(`/api/v1/organizations/${previewed.organizationId}/directory-imports`, previewed.file);
      if (gone) return;
      previewed = null;
      toast(`Annuaire importé : ${record.created} créée(s), ${record.updated} mise(s) à jour.`);
      $("#di-result").innerHTML = "";
      form.reset();
      $("#di-detail").innerHTML = importDetail(record);
      history.replaceState(null, "", `#/personnes/import?id=${record.id}`);
      loadHistory();
    } catch (error) {
      fail(error);
    }
  }

  form.elements.organization_id.addEventListener("change", () => {
    $("#di-result").innerHTML = "";
    previewed = null;
    loadHistory();
  });
  if (importId) showImport(importId);
  loadHistory();
  return { unmount() { gone = true; } };
}
