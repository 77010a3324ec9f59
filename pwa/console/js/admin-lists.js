// Administration › Distribution lists: who receives a commune's reports (create, rename, members, delete
// when no procedure sends its reports there).

import { api } from "./api.js";
import {
  chooseCommune, chosenCommune, communeChoice, errorBox, mountPicker, noCommune, peopleOf, submitFrom,
} from "./admin-forms.js";
import { toast } from "./toast.js";
import { esc } from "./util.js";

export function mountLists(root) {
  const state = { orgId: chosenCommune(), listId: null, lists: [], people: [], alive: true, seq: 0 };

  async function load() {
    if (state.orgId == null) {
      root.innerHTML = noCommune();
      return;
    }
    const seq = ++state.seq;
    try {
      const [lists, people] = await Promise.all([
        api.get(`/api/v1/distribution-lists?organization_id=${state.orgId}`), peopleOf(state.orgId)]);
      if (!state.alive || seq !== state.seq) return;
      Object.assign(state, { lists, people });
      if (!lists.some((l) => l.id === state.listId)) state.listId = lists[0]?.id ?? null;
      render();
    } catch (error) {
      if (state.alive && seq === state.seq) root.innerHTML = `<p class="form-error">${esc(error.french)}</p>`;
    }
  }

  function render() {
    root.innerHTML = `${communeChoice(state.orgId)}
      <div class="adm-split">
        <section class="panel adm-list" data-testid="lists">
          <h2>Listes de diffusion</h2>
          ${state.lists.length ? `<ul class="adm-items">${state.lists.map((l) => `<li><button type="button" class="adm-item${
            l.id === state.listId ? " active" : ""}" data-list-id="${l.id}">${esc(l.name)} <span class="muted small">${l.members.length}</span></button></li>`).join("")}</ul>`
            : `<p class="muted">Aucune liste dans cette commune.</p>`}
          <form id="adm-new-list" class="form" novalidate>
            <h3>Nouvelle liste</h3>
            <label>Nom<input name="name" required maxlength="200" placeholder="Direction générale"></label>
            ${errorBox()}
            <button type="submit" class="primary">Créer la liste</button>
          </form>
        </section>
        <div class="adm-detail" id="adm-list"></div>
      </div>`;
    root.querySelector("#adm-org")?.addEventListener("change", (change) => {
      state.orgId = Number(change.target.value);
      chooseCommune(state.orgId);
      state.listId = null;
      load();
    });
    const create = root.querySelector("#adm-new-list");
    create.addEventListener("submit", async (submit) => {
      submit.preventDefault();
      const result = await submitFrom(create, "POST", "/api/v1/distribution-lists", {
        organization_id: state.orgId, name: create.elements.name.value.trim() });
      if (!result.ok || !state.alive) return;
      toast(`Liste « ${result.data.name} » créée.`);
      state.listId = result.data.id;
      load();
    });
    const dlist = state.lists.find((l) => l.id === state.listId);
    if (dlist) renderList(root.querySelector("#adm-list"), dlist);
  }

  root.addEventListener("click", (click) => {
    const item = click.target.closest("button[data-list-id]");
    if (!item) return;
    state.listId = Number(item.dataset.listId);
    render();
  });

  function renderList(box, dlist) {
    const known = new Set(state.people.map((p) => p.id));
    const people = [...state.people, ...dlist.members.filter((m) => !known.has(m.person_id))
      .map((m) => ({ id: m.person_id, display_name: m.name }))];
    box.innerHTML = `<section class="panel" data-testid="list-detail">
        <h2>${esc(dlist.name)}</h2>
        <form id="adm-list-form" class="form" novalidate>
          <label>Nom<input name="name" required maxlength="200" value="${esc(dlist.name)}"></label>
          <h3>Destinataires</h3>
          <div id="adm-list-picker"></div>
          ${errorBox()}
          <div class="adm-actions"><button type="submit" class="primary">Enregistrer</button>
            <button type="button" class="danger" id="adm-delete-list">Supprimer la liste</button></div>
        </form>
      </section>`;
    const form = box.querySelector("form");
    const picker = mountPicker(form.querySelector("#adm-list-picker"), {
      people, ids: dlist.members.map((m) => m.person_id), ordered: false, label: `Destinataires de ${dlist.name}` });
    form.addEventListener("submit", async (submit) => {
      submit.preventDefault();
      const name = form.elements.name.value.trim();
      if (name !== dlist.name) {
        const renamed = await submitFrom(form, "PATCH", `/api/v1/distribution-lists/${dlist.id}`, { name });
        if (!renamed.ok || !state.alive) return;
        dlist.name = renamed.data.name;
      }
      const result = await submitFrom(form, "PUT", `/api/v1/distribution-lists/${dlist.id}/members`, { person_ids: picker.ids });
      if (!result.ok || !state.alive) return;
      toast("Liste enregistrée.");
      load();
    });
    box.querySelector("#adm-delete-list").addEventListener("click", async () => {
      if (!window.confirm(`Supprimer la liste « ${dlist.name} » ?`)) return;
      const result = await submitFrom(form, "DELETE", `/api/v1/distribution-lists/${dlist.id}`);
      if (result.ok && state.alive) {
        toast("Liste supprimée.");
        state.listId = null;
        load();
      }
    });
  }

  load();
  return { unmount() { state.alive = false; } };
}
