// What the operator reads of a procedure where they act: its instructions in the new-event form and in the
// event view (the version the event was opened with, even after later edits), and, without a procedure, the
// groups they pick to solicit and in which order.

import { api } from "./api.js";
import { esc } from "./util.js";

export function instructionsHtml(instructions, version) {
  return `<div class="instructions" data-testid="procedure-instructions"><strong>Consignes${
    version ? ` <span class="muted small">(version ${version})</span>` : ""}</strong><br>${
    instructions ? esc(instructions) : '<span class="muted">Aucune consigne pour cette procédure.</span>'}</div>`;
}

/** A group as the forms offer it: the métropole's named with the métropole, « Métropole de … — Astreinte de
 * décision », beside the commune's own. */
export const escalationGroupLabelled = (g) => (g.of_metropole ? { ...g, name: `${g.organization} — ${g.name}` } : g);

/** The groups to solicit without a procedure, in order, in `container`; `onChange` after every change. */
export function adHocPicker(container, onChange) {
  let groups = [];
  let chosen = [];
  let category = "";

  function render() {
    const name = (id) => groups.find((g) => g.id === id)?.name || `groupe ${id}`;
    container.innerHTML = `<div class="adhoc-groups" data-testid="adhoc-groups">
      <strong>Sans procédure : les groupes à solliciter, dans l'ordre</strong>
      <ol>${chosen.map((id, i) => `<li data-group-id="${id}"><span>${esc(name(id))}</span>
        <button type="button" class="ghost small" data-up="${i}" aria-label="Monter"${i ? "" : " disabled"}>↑</button>
        <button type="button" class="ghost small" data-down="${i}" aria-label="Descendre"${
          i < chosen.length - 1 ? "" : " disabled"}>↓</button>
        <button type="button" class="ghost small" data-remove="${i}" aria-label="Retirer">✕</button></li>`).join("")}</ol>
      <select id="adhoc-add" aria-label="Ajouter un groupe"><option value="">Ajouter un groupe…</option>${groups
        .filter((g) => !chosen.includes(g.id)).map((g) => `<option value="${g.id}">${esc(g.name)}</option>`).join("")}</select>
      <label>Catégorie <span class="muted small">(facultatif)</span>
        <input id="adhoc-category" maxlength="200" placeholder="Cas imprévu (sans procédure)" value="${esc(category)}"></label>
    </div>`;
    container.querySelector("#adhoc-add").addEventListener("change", (change) => {
      const id = Number(change.target.value);
      if (id) chosen = [...chosen, id];
      render();
      onChange();
    });
    container.querySelector("#adhoc-category").addEventListener("input", (input) => { category = input.target.value; });
    container.querySelector("ol").addEventListener("click", (click) => {
      const { up, down, remove } = click.target.dataset;
      const swap = (a, b) => { [chosen[a], chosen[b]] = [chosen[b], chosen[a]]; };
      if (up !== undefined) swap(Number(up), Number(up) - 1);
      else if (down !== undefined) swap(Number(down), Number(down) + 1);
      else if (remove !== undefined) chosen.splice(Number(remove), 1);
      else return;
      render();
      onChange();
    });
  }

  return {
    setGroups(list) {
      groups = list;
      chosen = chosen.filter((id) => groups.some((g) => g.id === id));
    },
    show() {
      container.hidden = false;
      render();
    },
    hide() {
      container.innerHTML = "";
      chosen = [];
    },
    groupIds: () => (container.querySelector(".adhoc-groups") ? [...chosen] : []),
    category: () => category.trim(),
  };
}

/** The event view's block: the instructions of the version the event follows, or the groups chosen without one. */
export async function showEventProcedure(box, eventId) {
  let shown;
  try {
    shown = await api.get(`/api/v1/events/${eventId}/procedure`);
  } catch (error) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  if (shown.without_procedure) {
    box.innerHTML = `<h2>Sans procédure</h2><p class="small" data-testid="procedure-instructions">Cas imprévu : ${
      shown.steps.length ? `groupes sollicités dans l'ordre : ${shown.steps.map((s) => esc(s.group_name)).join(" → ")}`
        : "aucun groupe sollicité"}.</p>`;
    return;
  }
  box.innerHTML = `<h2>Procédure : ${esc(shown.category)}</h2>${instructionsHtml(shown.instructions, shown.version)}`;
}
