// Changing the directory from the console (a PC admin: any commune; a referent: their own): a new person,
// a person's name, matricule, function and state, their numbers and addresses (a mobile typed any way is
// stored and shown in international form), their on-call groups and distribution lists, and the history of
// who changed what — by hand or by an import.

import { ApiError, api, request } from "./api.js";
import { store } from "./store.js";
import { dayTimeOf, esc } from "./util.js";

// The server words these in French, naming the value it refused.
const SERVER_WORDED = new Set(["invalid_phone", "not_a_mobile_number", "invalid_email", "import_has_errors",
  "import_too_large", "import_too_many_rows", "import_missing_columns", "import_empty", "import_not_csv",
  "import_bad_encoding"]);
const DIRECTORY_ERRORS = {
  duplicate_contact_method: "Cette personne a déjà ce numéro ou cette adresse.",
  no_contact: "Cette personne n'a pas de coordonnée pour ce moyen d'envoi : ajoutez-en une d'abord.",
  duplicate_person: "Cette personne figure déjà dans ce groupe.",
};
const FIELDS = { first_name: "prénom", last_name: "nom", employee_number: "matricule", job_title: "fonction",
                 active: "état", is_elected: "élu", email_copies: "copie e-mail", contacts: "coordonnées",
                 mobile: "mobile", email: "e-mail", groups: "groupes" };
const HISTORY_ACTIONS = { create: "a créé la fiche", change: "a modifié", deactivate: "a désactivé la personne",
                          pseudonymise: "a pseudonymisé la personne" };
const HOUR = new Intl.DateTimeFormat("fr-FR", { hour: "2-digit", minute: "2-digit" });

export function directoryError(error) {
  if (!(error instanceof ApiError)) return error?.message || String(error);
  if (SERVER_WORDED.has(error.code)) return error.message;
  if (DIRECTORY_ERRORS[error.code]) return DIRECTORY_ERRORS[error.code];
  if (error.code === "invalid_input" && Array.isArray(error.details)) {
    const fields = error.details.map((d) => FIELDS[d.loc?.at(-1)] || d.loc?.at(-1)).filter(Boolean);
    if (fields.length) return `À corriger : ${[...new Set(fields)].join(", ")}.`;
  }
  return error.french;
}

export const fieldWords = (what) => (what || "").split(",").filter(Boolean).map((f) => FIELDS[f] || f).join(", ");

/** « envoi différé jusqu'à 10:45 (limite anti-rafale) », or null when the link left at once. */
export function deferralText(sent) {
  if (!sent?.deferred_until) return null;
  return `envoi différé jusqu'à ${HOUR.format(new Date(sent.deferred_until))} (limite anti-rafale)`;
}

/** The communes whose directory the signed-in user may change. */
export function editableOrgs() {
  const me = store.me;
  if (me?.role === "referent") return [...store.orgs.values()].filter((o) => o.id === me.organization_id);
  if (me?.role === "admin") return [...store.orgs.values()].filter((o) => o.kind !== "metropole");
  return [];
}

export function orgOptions(selected) {
  return editableOrgs().map((o) => `<option value="${o.id}" ${o.id === selected ? "selected" : ""}>${esc(o.name)}</option>`)
    .join("");
}

const value = (form, name) => form.elements[name].value.trim();

// ---- a new person ------------------------------------------------------------------------------

export function newPersonForm() {
  return `<details class="panel dir-new" data-testid="new-person"><summary>Nouvelle personne</summary>
    <form id="dir-new-form" class="dir-form" novalidate>
      <label>Commune <select name="organization_id" required>${orgOptions(store.me?.organization_id)}</select></label>
      <label>Prénom <input name="first_name" required maxlength="100" autocomplete="off"></label>
      <label>Nom <input name="last_name" required maxlength="100" autocomplete="off"></label>
      <label>Matricule <input name="employee_number" maxlength="50" autocomplete="off"></label>
      <label>Fonction <input name="job_title" maxlength="200" autocomplete="off"></label>
      <label>Mobile <input name="mobile" type="tel" placeholder="06 12 34 56 78" autocomplete="off"></label>
      <label>E-mail <input name="email" type="email" autocomplete="off"></label>
      <p class="form-error" id="dir-new-error" role="alert" hidden></p>
      <p><button type="submit" class="primary">Créer</button></p>
    </form></details>`;
}

export function wireNewPerson(root, onCreated) {
  const form = root.querySelector("#dir-new-form");
  if (!form) return;
  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    const error = root.querySelector("#dir-new-error");
    error.hidden = true;
    if (!value(form, "first_name") || !value(form, "last_name")) {
      error.textContent = "Le prénom et le nom sont obligatoires.";
      error.hidden = false;
      return;
    }
    const contacts = [];
    if (value(form, "mobile")) contacts.push({ kind: "sms", address: value(form, "mobile") });
    if (value(form, "email")) contacts.push({ kind: "email", address: value(form, "email") });
    try {
      const person = await api.post("/api/v1/people", {
        organization_id: Number(form.elements.organization_id.value), first_name: value(form, "first_name"),
        last_name: value(form, "last_name"), employee_number: value(form, "employee_number") || null,
        job_title: value(form, "job_title"), contact_methods: contacts,
      });
      onCreated(person);
    } catch (failure) {
      error.textContent = directoryError(failure);
      error.hidden = false;
    }
  });
}

// ---- one person's card -------------------------------------------------------------------------

export function editPanel(person) {
  return `<details class="panel dir-edit" data-testid="person-edit"><summary>Modifier la fiche</summary>
    <form id="dir-edit-form" class="dir-form" novalidate>
      <label>Prénom <input name="first_name" required maxlength="100" value="${esc(person.first_name)}"></label>
      <label>Nom <input name="last_name" required maxlength="100" value="${esc(person.last_name)}"></label>
      <label>Matricule <input name="employee_number" maxlength="50" value="${esc(person.employee_number || "")}"></label>
      <label>Fonction <input name="job_title" maxlength="200" value="${esc(person.job_title)}"></label>
      <label class="inline"><input type="checkbox" name="is_elected" ${person.is_elected ? "checked" : ""}> élu(e)</label>
      <label class="inline"><input type="checkbox" name="active" ${person.active ? "checked" : ""}> active
        <span class="muted small">(décocher : ses téléphones et ses liens cessent de fonctionner)</span></label>
      <p class="form-error" id="dir-edit-error" role="alert" hidden></p>
      <p><button type="submit" class="primary">Enregistrer</button></p>
    </form></details>`;
}

export function contactsEditor(person) {
  const rows = person.contact_methods.filter((c) => ["sms", "email"].includes(c.kind)).map((c) => `<li data-contact="${c.id}">
      <span class="dir-kind">${c.kind === "sms" ? "Mobile" : "E-mail"}</span>
      <input name="address" aria-label="Adresse" value="${esc(c.address)}">
      <input name="label" aria-label="Libellé" placeholder="libellé" maxlength="100" value="${esc(c.label)}">
      <label class="inline small"><input type="checkbox" name="is_personal" ${c.is_personal ? "checked" : ""}> personnel</label>
      <button type="button" class="small" data-save-contact="${c.id}">Enregistrer</button>
      <button type="button" class="small danger" data-delete-contact="${c.id}">Supprimer</button></li>`).join("");
  return `<details class="dir-contacts" data-testid="contacts-editor"><summary>Modifier les coordonnées</summary>
      <ul class="dir-contact-list">${rows}</ul>
      <form id="dir-add-contact" class="dir-inline-form" novalidate>
        <select name="kind" aria-label="Type"><option value="sms">Mobile (SMS)</option><option value="email">E-mail</option></select>
        <input name="address" aria-label="Nouveau numéro ou adresse" placeholder="06 12 34 56 78 ou nom@exemple.fr">
        <input name="label" aria-label="Libellé du nouveau" placeholder="libellé (pro, astreinte…)" maxlength="100">
        <label class="inline small"><input type="checkbox" name="is_personal"> personnel</label>
        <button type="submit" class="small">Ajouter</button>
      </form>
      <p class="form-error" id="dir-contact-error" role="alert" hidden></p></details>`;
}

export function groupsPanel(person, groups, lists) {
  const box = (kind, item, member) => `<label class="inline"><input type="checkbox" data-${kind}="${item.id}"
      ${member ? "checked" : ""} ${person.active ? "" : "disabled"}> ${esc(item.name)}</label>`;
  const isIn = (item) => item.members.some((m) => m.person_id === person.id);
  return `<section class="panel" data-testid="person-groups"><h2>Groupes</h2>
      <h3>Astreinte</h3>${groups.length ? `<div class="dir-checks">${groups.map((g) => box("group", g, isIn(g))).join("")}</div>`
        : '<p class="muted">Aucun groupe d\'astreinte dans cette commune.</p>'}
      <h3>Diffusion</h3>${lists.length ? `<div class="dir-checks">${lists.map((l) => box("list", l, isIn(l))).join("")}</div>`
        : '<p class="muted">Aucune liste de diffusion.</p>'}
      <p class="muted small">Ajoutée à un groupe d'astreinte, la personne est sollicitée en dernier ; l'ordre se règle
        sur l'écran du groupe.</p></section>`;
}

export function historyPanel(history) {
  const rows = history.map((h) => `<tr><td>${esc(dayTimeOf(h.at))}</td><td>${esc(h.user)}</td>
      <td>${esc(HISTORY_ACTIONS[h.action] || h.action)}${h.action === "change" && h.what ? ` : ${esc(fieldWords(h.what))}` : ""}
        ${h.import_id ? ` <a href="#/personnes/import?id=${h.import_id}">(import n° ${h.import_id})</a>` : ""}</td></tr>`).join("");
  return `<section class="panel" data-testid="person-history"><h2>Historique des modifications</h2>
      ${history.length ? `<table class="data-table"><thead><tr><th>Quand</th><th>Qui</th><th>Quoi</th></tr></thead>
        <tbody>${rows}</tbody></table>` : '<p class="muted">Aucune modification enregistrée.</p>'}</section>`;
}

/** Wire the edit form, the contacts and the groups; `done(message)` reloads the card. */
export function wirePersonEditing(view, person, { groups, lists, done }) {
  const show = (selector, failure) => {
    const box = view.querySelector(selector);
    box.textContent = directoryError(failure);
    box.hidden = false;
  };
  const form = view.querySelector("#dir-edit-form");
  form?.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    const patch = {};
    for (const name of ["first_name", "last_name", "job_title"]) {
      if (value(form, name) !== person[name]) patch[name] = value(form, name);
    }
    const number = value(form, "employee_number") || null;
    if (number !== (person.employee_number || null)) patch.employee_number = number;
    for (const name of ["is_elected", "active"]) {
      if (form.elements[name].checked !== person[name]) patch[name] = form.elements[name].checked;
    }
    if (!Object.keys(patch).length) return done("Rien à enregistrer.");
    if (patch.active === false && !confirm(`Désactiver ${person.display_name} ? Ses comptes, ses téléphones et ses liens cessent de fonctionner.`)) return;
    try {
      await request("PATCH", `/api/v1/people/${person.id}`, { json: patch });
      done("Fiche enregistrée.");
    } catch (failure) {
      show("#dir-edit-error", failure);
    }
  });

  for (const button of view.querySelectorAll("[data-save-contact]")) {
    button.addEventListener("click", async () => {
      const row = button.closest("li");
      try {
        await request("PATCH", `/api/v1/contact-methods/${button.dataset.saveContact}`, { json: {
          address: row.querySelector("[name=address]").value.trim(), label: row.querySelector("[name=label]").value.trim(),
          is_personal: row.querySelector("[name=is_personal]").checked } });
        done("Coordonnée enregistrée.");
      } catch (failure) {
        show("#dir-contact-error", failure);
      }
    });
  }
  for (const button of view.querySelectorAll("[data-delete-contact]")) {
    button.addEventListener("click", async () => {
      if (!confirm("Supprimer cette coordonnée ?")) return;
      try {
        await request("DELETE", `/api/v1/contact-methods/${button.dataset.deleteContact}`);
        done("Coordonnée supprimée.");
      } catch (failure) {
        show("#dir-contact-error", failure);
      }
    });
  }
  const add = view.querySelector("#dir-add-contact");
  add?.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    if (!value(add, "address")) return;
    try {
      await api.post(`/api/v1/people/${person.id}/contact-methods`, { kind: add.elements.kind.value,
        address: value(add, "address"), label: value(add, "label"), is_personal: add.elements.is_personal.checked });
      done("Coordonnée ajoutée.");
    } catch (failure) {
      show("#dir-contact-error", failure);
    }
  });

  const toggle = async (item, path, checked) => {
    const others = item.members.map((m) => m.person_id).filter((id) => id !== person.id);
    const ids = checked ? [...others, person.id] : others;
    await request("PUT", path, { json: { person_ids: ids } });
  };
  for (const box of view.querySelectorAll("[data-group],[data-list]")) {
    box.addEventListener("change", async () => {
      const isGroup = "group" in box.dataset;
      const item = (isGroup ? groups : lists).find((g) => String(g.id) === (box.dataset.group || box.dataset.list));
      const path = isGroup ? `/api/v1/groups/${item.id}/roster` : `/api/v1/distribution-lists/${item.id}/members`;
      try {
        await toggle(item, path, box.checked);
        done(box.checked ? `Ajoutée à « ${item.name} ».` : `Retirée de « ${item.name} ».`);
      } catch (failure) {
        done(directoryError(failure), "error");
      }
    });
  }
}
