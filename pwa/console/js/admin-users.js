// Administration › Users (PC admins only): the accounts of the PC (operators, administrators) and of the
// communes (referents, on-call staff); create one, change its role, deactivate or reactivate it.

import { api } from "./api.js";
import { errorBox, peopleOf, submitFrom } from "./admin-forms.js";
import { orgName, store } from "./store.js";
import { toast } from "./toast.js";
import { esc } from "./util.js";

export const ROLES = [["operator", "Opérateur du PC"], ["admin", "Administrateur du PC"],
                      ["referent", "Référent de commune"], ["oncall", "Astreinte (application)"]];
const ROLE_LABEL = Object.fromEntries(ROLES);
const PC_ROLES = ["operator", "admin"];
const PASSWORD_ROLES = ["operator", "admin", "referent"];
const roleOptions = (selected) => ROLES.map(([v, l]) => `<option value="${v}"${v === selected ? " selected" : ""}>${l}</option>`).join("");

export function mountUsers(root) {
  const state = { users: [], alive: true, people: [] };
  const orgs = () => [...store.orgs.values()].sort((a, b) => (a.kind === "commune") - (b.kind === "commune")
    || a.name.localeCompare(b.name, "fr"));

  root.innerHTML = `<div class="adm-split">
      <section class="panel adm-list" data-testid="new-user">
        <h2>Nouvel utilisateur</h2>
        <form id="adm-new-user" class="form" novalidate autocomplete="off">
          <label>Nom complet<input name="full_name" required maxlength="200"></label>
          <label>E-mail (identifiant)<input name="email" type="email" required maxlength="254" autocomplete="off"></label>
          <label>Rôle<select name="role">${roleOptions("operator")}</select></label>
          <label>Rattachement<select name="organization_id">${orgs().map((o) =>
            `<option value="${o.id}"${o.id === store.me.organization_id ? " selected" : ""}>${esc(o.name)}${o.kind === "commune" ? "" : " (PC)"}</option>`).join("")}</select></label>
          <label data-for-role="oncall" hidden>Personne de l'annuaire<select name="person_id"></select></label>
          <label data-for-role="password">Mot de passe initial (10 caractères au moins)<input name="password" type="password"
            minlength="10" maxlength="1024" autocomplete="new-password"></label>
          <p class="hint muted small">À transmettre à la personne ; « Nouveau mot de passe » en donne un autre.</p>
          ${errorBox()}
          <button type="submit" class="primary">Créer l'utilisateur</button>
        </form>
      </section>
      <section class="panel adm-detail" data-testid="users">
        <h2>Utilisateurs</h2>
        <form id="adm-users" novalidate>${errorBox()}<div id="adm-user-table"><p class="muted">Chargement…</p></div></form>
      </section>
    </div>`;
  const create = root.querySelector("#adm-new-user");
  const table = root.querySelector("#adm-users");

  async function load() {
    try {
      const users = await api.get("/api/v1/users");
      if (!state.alive) return;
      state.users = users;
      renderTable();
    } catch (error) {
      if (state.alive) root.querySelector("#adm-user-table").innerHTML = `<p class="form-error">${esc(error.french)}</p>`;
    }
  }

  function renderTable() {
    root.querySelector("#adm-user-table").innerHTML = `<table class="data-table adm-users-table"><thead><tr>
        <th>Nom</th><th>E-mail</th><th>Rattachement</th><th>Rôle</th><th>État</th><th></th></tr></thead>
      <tbody>${state.users.map((u) => `<tr data-user-id="${u.id}" class="${u.is_active ? "" : "inactive"}">
        <td>${esc(u.full_name)}</td><td>${esc(u.email)}</td><td>${esc(orgName(u.organization_id))}</td>
        <td><select data-role aria-label="Rôle de ${esc(u.full_name)}"${u.id === store.me.id
          ? ' disabled title="Un autre administrateur change le rôle de votre compte."' : ""}>${roleOptions(u.role)}</select></td>
        <td>${u.is_active ? "Actif" : "<span class=\"muted\">Désactivé</span>"}</td>
        <td class="adm-row-actions">${PASSWORD_ROLES.includes(u.role)
          ? `<button type="button" class="small" data-password aria-expanded="false">Nouveau mot de passe</button>` : ""}
          ${u.id === store.me.id ? `<span class="muted small">vous</span>`
          : `<button type="button" class="small" data-active="${u.is_active ? "0" : "1"}">${u.is_active ? "Désactiver" : "Réactiver"}</button>`}</td>
      </tr>`).join("")}</tbody></table>`;
  }

  async function patch(userId, body, done) {
    const result = await submitFrom(table, "PATCH", `/api/v1/users/${userId}`, body);
    if (!state.alive) return;
    if (result.ok) {
      toast(done);
      state.users = state.users.map((u) => (u.id === userId ? result.data : u));
    }
    renderTable(); // a refused role goes back to what it is
  }

  table.addEventListener("change", (change) => {
    if (!change.target.matches("[data-role]")) return;
    const userId = Number(change.target.closest("tr").dataset.userId);
    patch(userId, { role: change.target.value }, `Rôle changé : ${ROLE_LABEL[change.target.value]}.`);
  });
  // A forgotten password replaced: typed under the account's row, its other sessions end.
  function togglePassword(row) {
    const next = row.nextElementSibling;
    if (next?.matches(".adm-password-row")) {
      next.remove();
      row.querySelector("[data-password]").setAttribute("aria-expanded", "false");
      return;
    }
    const user = state.users.find((u) => u.id === Number(row.dataset.userId));
    row.insertAdjacentHTML("afterend", `<tr class="adm-password-row"><td colspan="6"><div class="adm-actions">
        <label class="inline">Nouveau mot de passe de ${esc(user.full_name)} (10 caractères au moins)
          <input type="password" name="password" minlength="10" maxlength="1024" autocomplete="new-password"></label>
        <button type="button" class="small primary" data-set-password="${user.id}">Enregistrer le mot de passe</button>
        <span class="muted small">Ses sessions ouvertes sont fermées.</span></div></td></tr>`);
    row.querySelector("[data-password]").setAttribute("aria-expanded", "true");
    row.nextElementSibling.querySelector("input").focus();
  }

  async function setPassword(userId, input) {
    const result = await submitFrom(table, "PATCH", `/api/v1/users/${userId}`, { password: input.value });
    if (!state.alive || !result.ok) return; // refused: what was typed stays, the alert says why
    toast("Mot de passe enregistré : à transmettre à la personne.");
    renderTable();
  }

  // Enter in the password field saves it (never a browser submission: the password would go into the URL).
  table.addEventListener("submit", (submit) => {
    submit.preventDefault();
    const input = table.querySelector(".adm-password-row input");
    const save = table.querySelector("[data-set-password]");
    if (input && save && document.activeElement === input) setPassword(Number(save.dataset.setPassword), input);
  });
  table.addEventListener("click", (click) => {
    const toggle = click.target.closest("[data-password]");
    if (toggle) return togglePassword(toggle.closest("tr"));
    const save = click.target.closest("[data-set-password]");
    if (save) return setPassword(Number(save.dataset.setPassword), save.closest("tr").querySelector("input"));
    const button = click.target.closest("[data-active]");
    if (!button) return;
    const row = button.closest("tr");
    const user = state.users.find((u) => u.id === Number(row.dataset.userId));
    const active = button.dataset.active === "1";
    if (!active && !window.confirm(`Désactiver le compte de ${user.full_name} ? Ses sessions sont fermées.`)) return;
    patch(user.id, { is_active: active }, active ? "Compte réactivé." : "Compte désactivé.");
  });

  // The form follows the role: the PC's roles belong to the métropole, an on-call account is a person.
  async function followRole() {
    const role = create.elements.role.value;
    const orgSelect = create.elements.organization_id;
    const org = store.orgs.get(Number(orgSelect.value));
    if (PC_ROLES.includes(role) && org?.kind === "commune") orgSelect.value = String(store.me.organization_id);
    if (!PC_ROLES.includes(role) && org?.kind !== "commune") {
      const first = orgs().find((o) => o.kind === "commune");
      if (first) orgSelect.value = String(first.id);
    }
    create.querySelector("[data-for-role=oncall]").hidden = role !== "oncall";
    create.querySelector("[data-for-role=password]").hidden = role === "oncall";
    if (role === "oncall") {
      const orgId = Number(orgSelect.value);
      try {
        state.people = await peopleOf(orgId);
      } catch (error) {
        state.people = [];
      }
      if (!state.alive || Number(orgSelect.value) !== orgId) return;
      create.elements.person_id.innerHTML = `<option value="">— choisir —</option>${state.people.map((p) =>
        `<option value="${p.id}">${esc(p.display_name)}</option>`).join("")}`;
    }
  }
  create.elements.role.addEventListener("change", followRole);
  create.elements.organization_id.addEventListener("change", followRole);

  create.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const f = create.elements;
    const role = f.role.value;
    const body = { full_name: f.full_name.value.trim(), email: f.email.value.trim(), role,
                   organization_id: Number(f.organization_id.value) };
    if (role === "oncall") {
      if (f.person_id.value) body.person_id = Number(f.person_id.value);
    } else {
      body.password = f.password.value;
    }
    const result = await submitFrom(create, "POST", "/api/v1/users", body);
    if (!result.ok || !state.alive) return;
    toast(`Compte de ${result.data.full_name} créé.`);
    create.reset();
    followRole();
    load();
  });

  load();
  return { unmount() { state.alive = false; } };
}
