// The people of the communes (#/personnes) and one person (#/personne/{id}): how to reach them (tel: links),
// and, for a PC admin or the commune's referent, what Vigie holds on them — the phones enrolled (revoke one,
// send a new installation link), who read or changed their data, an export of everything held, and on
// departure: deactivate, then pseudonymise (their name, numbers and addresses leave every main courante,
// which still verifies). Opening a person's page is itself written in their access log.

import { ApiError, api, download, request } from "./api.js";
import {
  contactsEditor, deferralText, directoryError, editPanel, groupsPanel, historyPanel, newPersonForm, wireNewPerson, wirePersonEditing,
} from "./person_edit.js";
import { orgName, store } from "./store.js";
import { toast } from "./toast.js";
import { dayTimeOf, esc } from "./util.js";

const ACTIONS = { create: "a créé", read: "a consulté", change: "a modifié", deactivate: "a désactivé", export: "a exporté",
                  pseudonymise: "a pseudonymisé" };
const WHAT = { contacts: "les coordonnées" };
const KINDS = { sms: "Mobile (SMS)", email: "E-mail", push: "Notification web", fcm: "Notification Android" };

const mayManage = () => ["admin", "referent"].includes(store.me?.role);

/** +33639980101 → "+33 6 39 98 01 01" (French numbers in pairs; others as stored). */
export function phoneText(number) {
  const french = /^\+33(\d)(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(number || "");
  return french ? `+33 ${french.slice(1).join(" ")}` : number;
}

function contactLine(contact) {
  const label = contact.label ? ` <span class="muted">· ${esc(contact.label)}</span>` : "";
  if (contact.kind === "sms") {
    return `<li>${KINDS.sms} : <a href="tel:${esc(contact.address)}">${esc(phoneText(contact.address))}</a>${label}</li>`;
  }
  if (contact.kind === "email") {
    return `<li>${KINDS.email} : <a href="mailto:${esc(contact.address)}">${esc(contact.address)}</a>${label}</li>`;
  }
  return `<li>${esc(KINDS[contact.kind] || contact.kind)}${label}</li>`;
}

// ---- the list ----------------------------------------------------------------------------------

export function mountPeople(root) {
  root.innerHTML = `<div class="people-view" data-testid="people-view">
      <div class="cl-head"><h1>Personnes</h1>
        <label class="inline">Rechercher <input id="pp-q" type="search" placeholder="nom, fonction, matricule"></label>
        <label class="inline"><input id="pp-inactive" type="checkbox"> avec les personnes désactivées</label>
        ${mayManage() ? '<a class="button" href="#/personnes/import">Importer un annuaire (CSV)</a>' : ""}
      </div>
      ${mayManage() ? newPersonForm() : ""}
      <section class="panel"><div id="pp-table"><p class="muted">Chargement…</p></div></section>
    </div>`;
  const $ = (selector) => root.querySelector(selector);
  let seq = 0;
  let timer = null;

  async function load() {
    const mine = ++seq;
    const params = new URLSearchParams({ limit: "500" });
    const q = $("#pp-q").value.trim();
    if (q) params.set("q", q);
    if (!$("#pp-inactive").checked) params.set("active", "true");
    try {
      const people = await api.get(`/api/v1/people?${params}`);
      if (mine === seq) render(people);
    } catch (error) {
      if (mine === seq) $("#pp-table").innerHTML = `<p class="form-error">${esc(error.french)}</p>`;
    }
  }

  function render(people) {
    if (!people.length) {
      $("#pp-table").innerHTML = '<p class="muted">Personne ne correspond.</p>';
      return;
    }
    $("#pp-table").innerHTML = `<table class="data-table"><thead><tr><th>Nom</th><th>Commune</th><th>Fonction</th>
        <th>Matricule</th><th>État</th></tr></thead><tbody>${people.map((p) => `<tr>
          <td><a href="#/personne/${p.id}">${esc(p.display_name)}</a></td><td>${esc(orgName(p.organization_id))}</td>
          <td>${esc(p.job_title)}</td><td>${esc(p.employee_number || "—")}</td>
          <td>${p.active ? "active" : '<span class="muted">désactivée</span>'}</td></tr>`).join("")}</tbody></table>`;
  }

  $("#pp-q").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(load, 250);
  });
  $("#pp-inactive").addEventListener("change", load);
  wireNewPerson(root, (person) => {
    toast(`${person.display_name} est dans l'annuaire.`);
    location.hash = `#/personne/${person.id}`;
  });
  load();
  return { unmount() { clearTimeout(timer); seq += 1; } };
}

// ---- one person --------------------------------------------------------------------------------

export function mountPerson(root, personId) {
  root.innerHTML = `<div class="person-view" data-testid="person-view"><p class="muted">Chargement…</p></div>`;
  const view = root.firstElementChild;
  let gone = false;
  let lastDeferral = null;

  async function load() {
    try {
      const person = await api.get(`/api/v1/people/${personId}`);
      const org = person.organization_id;
      const [devices, accesses, history, groups, lists] = mayManage() ? await Promise.all([
        api.get(`/api/v1/people/${personId}/devices`), api.get(`/api/v1/people/${personId}/access-log`),
        api.get(`/api/v1/people/${personId}/history`), api.get(`/api/v1/groups?organization_id=${org}`),
        api.get(`/api/v1/distribution-lists?organization_id=${org}`),
      ]) : [null, null, null, null, null];
      if (!gone) render(person, devices, accesses, { history, groups, lists });
    } catch (error) {
      if (!gone) view.innerHTML = `<p class="form-error">${esc(error.french)}</p>`;
    }
  }

  function render(person, devices, accesses, editing) {
    // A card reloaded after a change keeps the forms the user had open.
    const open = new Set([...view.querySelectorAll("details[open]")].map((d) => d.dataset.testid));
    view.innerHTML = `<p><a class="back" href="#/personnes">‹ Personnes</a></p>
      <h1>${esc(person.display_name)} ${person.active ? "" : '<span class="tag">désactivée</span>'}</h1>
      <p class="muted">${esc(orgName(person.organization_id))}${person.job_title ? ` · ${esc(person.job_title)}` : ""}
        ${person.employee_number ? ` · matricule ${esc(person.employee_number)}` : ""}</p>
      <section class="panel"><h2>Coordonnées</h2>
        ${person.contact_methods.length ? `<ul>${person.contact_methods.map(contactLine).join("")}</ul>`
          : '<p class="muted">Aucune coordonnée.</p>'}
        ${mayManage() ? contactsEditor(person) : ""}</section>
      ${mayManage() ? editPanel(person) : ""}
      ${editing.groups ? groupsPanel(person, editing.groups, editing.lists) : ""}
      ${devices ? devicesPanel(person, devices) : ""}
      ${editing.history ? historyPanel(editing.history) : ""}
      ${accesses ? privacyPanel(person, accesses) : ""}`;
    for (const details of view.querySelectorAll("details")) details.open = open.has(details.dataset.testid);
    wire(person);
    if (mayManage()) {
      wirePersonEditing(view, person, { groups: editing.groups, lists: editing.lists, done: (message, kind) => {
        toast(message, kind);
        load();
      } });
    }
  }

  function devicesPanel(person, devices) {
    const rows = devices.map((d) => `<tr><td>${esc(d.label)}</td><td>${esc(dayTimeOf(d.created_at))}</td>
        <td>${d.revoked_at ? `révoqué le ${esc(dayTimeOf(d.revoked_at))}`
          : d.expires_at ? `valable jusqu'au ${esc(dayTimeOf(d.expires_at))}` : "valable"}</td>
        <td>${d.revoked_at ? "" : `<button type="button" class="danger" data-revoke="${d.id}">Révoquer</button>`}</td>
      </tr>`).join("");
    return `<section class="panel" data-testid="person-devices"><h2>Téléphones inscrits</h2>
      ${devices.length ? `<table class="data-table"><thead><tr><th>Appareil</th><th>Inscrit le</th><th>Accès</th><th></th>
        </tr></thead><tbody>${rows}</tbody></table>` : '<p class="muted">Aucun téléphone inscrit.</p>'}
      ${person.active ? `<p>Envoyer le lien d'installation :
        <button type="button" data-enrol="sms">par SMS</button>
        <button type="button" data-enrol="email">par e-mail</button></p>
        ${lastDeferral ? `<p class="dir-deferred" data-testid="enrol-deferred">Lien d'installation : ${esc(lastDeferral)}</p>` : ""}` : ""}
      <p class="muted small">Un téléphone perdu : révoquez-le, puis envoyez un nouveau lien. L'accès d'un téléphone
        se prolonge à chaque jour d'utilisation.</p></section>`;
  }

  function privacyPanel(person, accesses) {
    const rows = accesses.map((a) => `<tr><td>${esc(dayTimeOf(a.at))}</td><td>${esc(a.user)}</td>
        <td>${esc(ACTIONS[a.action] || a.action)} ${esc(WHAT[a.what] || (a.action === "change" && a.what
          ? `(${a.what.replaceAll(",", ", ")})` : ""))}</td></tr>`).join("");
    return `<section class="panel" data-testid="person-privacy"><h2>Données personnelles</h2>
      <p><button type="button" id="pp-export">Exporter tout ce qui est détenu (JSON)</button>
        ${person.active ? '<button type="button" class="danger" id="pp-deactivate">Désactiver (départ)</button>'
          : '<button type="button" class="danger" id="pp-pseudonymise">Pseudonymiser</button>'}</p>
      <h3>Journal des accès</h3>
      ${accesses.length ? `<table class="data-table" data-testid="access-log"><thead><tr><th>Quand</th><th>Qui</th>
        <th>Quoi</th></tr></thead><tbody>${rows}</tbody></table>` : '<p class="muted">Aucun accès enregistré.</p>'}
    </section>`;
  }

  async function act(work, done) {
    try {
      await work();
      toast(done);
    } catch (error) {
      toast(error instanceof ApiError ? error.french : String(error), "error");
    }
    load();
  }

  function wire(person) {
    for (const button of view.querySelectorAll("[data-revoke]")) {
      button.addEventListener("click", () => {
        if (!confirm("Révoquer ce téléphone ? Il ne pourra plus prendre d'alerte ni consulter la main courante.")) return;
        act(() => request("DELETE", `/api/v1/people/${personId}/devices/${button.dataset.revoke}`), "Téléphone révoqué.");
      });
    }
    for (const button of view.querySelectorAll("[data-enrol]")) {
      button.addEventListener("click", async () => {
        const road = button.dataset.enrol === "sms" ? "par SMS" : "par e-mail";
        try {
          // Over the number's SMS limit the link waits: say until when, rather than "envoyé".
          lastDeferral = deferralText(await api.post(`/api/v1/people/${personId}/enrolments`, { channel: button.dataset.enrol }));
          toast(lastDeferral ? `Lien d'installation ${road} : ${lastDeferral}.` : `Lien d'installation envoyé ${road}.`,
                lastDeferral ? "warn" : "ok");
        } catch (error) {
          toast(error instanceof ApiError ? directoryError(error) : String(error), "error");
        }
        load();
      });
    }
    view.querySelector("#pp-export")?.addEventListener("click", () =>
      act(() => download(`/api/v1/people/${personId}/export`, `vigie-personne-${personId}.json`), "Export téléchargé."));
    view.querySelector("#pp-deactivate")?.addEventListener("click", () => {
      if (!confirm(`Désactiver ${person.display_name} ? Ses comptes, ses téléphones et ses liens cessent de fonctionner.`)) return;
      act(() => request("DELETE", `/api/v1/people/${personId}`), "Personne désactivée.");
    });
    view.querySelector("#pp-pseudonymise")?.addEventListener("click", () => {
      if (!confirm(`Pseudonymiser ${person.display_name} ? Son nom, ses numéros et adresses sont retirés de Vigie ` +
                   "et de toutes les mains courantes, sans retour possible.")) return;
      act(() => api.post(`/api/v1/people/${personId}/pseudonymise`), "Personne pseudonymisée : les mains courantes restent vérifiables.");
    });
  }

  load();
  return { unmount() { gone = true; } };
}
