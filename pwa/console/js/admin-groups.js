// Administration › Groups and rotations: a commune's on-call groups (create, rename, delete when no
// procedure uses them), each group's ordered roster (the escalation order), and its rotation (who holds the
// turn, in which order, how long, from which hand-over) with the next turns as the server plans them.

import { api } from "./api.js";
import {
  chooseCommune, chosenCommune, communeChoice, errorBox, mountPicker, noCommune, peopleOf, submitFrom,
} from "./admin-forms.js";
import { store } from "./store.js";
import { toast } from "./toast.js";
import { esc } from "./util.js";
import { addDays, fmt, frDay, isoDay, pad, parseFrDay, parseFrTime, partsIn } from "./zone.js";

export const KINDS = [["technique", "Techniciens"], ["cadre", "Cadres"], ["elu", "Élus"], ["prestataire", "Prestataires"]];
const KIND_LABEL = Object.fromEntries(KINDS);
const PREVIEW_TURNS = 4;

const kindOptions = (selected) => KINDS.map(([v, l]) => `<option value="${v}"${v === selected ? " selected" : ""}>${l}</option>`).join("");

export function mountGroups(root) {
  const state = { orgId: chosenCommune(), groupId: null, groups: [], people: [], alive: true, seq: 0 };
  const tz = () => store.orgs.get(state.orgId)?.timezone || "Europe/Paris";

  async function load() {
    if (state.orgId == null) {
      root.innerHTML = noCommune();
      return;
    }
    const seq = ++state.seq;
    try {
      const [groups, people] = await Promise.all([
        api.get(`/api/v1/groups?organization_id=${state.orgId}`), peopleOf(state.orgId)]);
      if (!state.alive || seq !== state.seq) return;
      Object.assign(state, { groups, people });
      if (!groups.some((g) => g.id === state.groupId)) state.groupId = groups[0]?.id ?? null;
      render();
    } catch (error) {
      if (state.alive && seq === state.seq) root.innerHTML = `<p class="form-error">${esc(error.french)}</p>`;
    }
  }

  function render() {
    root.innerHTML = `${communeChoice(state.orgId)}
      <div class="adm-split">
        <section class="panel adm-list" data-testid="groups">
          <h2>Groupes d'astreinte</h2>
          ${state.groups.length ? `<ul class="adm-items">${state.groups.map((g) => `<li><button type="button" class="adm-item${
            g.id === state.groupId ? " active" : ""}" data-group-id="${g.id}">${esc(g.name)} <span class="muted small">${
            esc(KIND_LABEL[g.kind] || g.kind)} · ${g.members.length}</span></button></li>`).join("")}</ul>`
            : `<p class="muted">Aucun groupe dans cette commune.</p>`}
          <form id="adm-new-group" class="form" novalidate>
            <h3>Nouveau groupe</h3>
            <label>Nom<input name="name" required maxlength="200" placeholder="Astreinte technique"></label>
            <label>Type<select name="kind">${kindOptions("technique")}</select></label>
            ${errorBox()}
            <button type="submit" class="primary">Créer le groupe</button>
          </form>
        </section>
        <div class="adm-detail" id="adm-group"></div>
      </div>`;
    root.querySelector("#adm-org")?.addEventListener("change", (change) => {
      state.orgId = Number(change.target.value);
      chooseCommune(state.orgId);
      state.groupId = null;
      load();
    });
    const create = root.querySelector("#adm-new-group");
    create.addEventListener("submit", async (submit) => {
      submit.preventDefault();
      const result = await submitFrom(create, "POST", "/api/v1/groups", {
        organization_id: state.orgId, name: create.elements.name.value.trim(), kind: create.elements.kind.value });
      if (!result.ok || !state.alive) return;
      toast(`Groupe « ${result.data.name} » créé.`);
      state.groupId = result.data.id;
      load();
    });
    const group = state.groups.find((g) => g.id === state.groupId);
    if (group) renderGroup(root.querySelector("#adm-group"), group);
  }

  root.addEventListener("click", (click) => {
    const item = click.target.closest("[data-group-id]");
    if (!item || !item.matches("button")) return;
    state.groupId = Number(item.dataset.groupId);
    render();
  });

  function renderGroup(box, group) {
    box.innerHTML = `<section class="panel" data-testid="group-detail" data-group-id="${group.id}">
        <h2>${esc(group.name)}</h2>
        <form id="adm-group-form" class="form" novalidate>
          <div class="grid2">
            <label>Nom<input name="name" required maxlength="200" value="${esc(group.name)}"></label>
            <label>Type<select name="kind">${kindOptions(group.kind)}</select></label>
          </div>
          ${errorBox()}
          <div class="adm-actions"><button type="submit" class="primary">Enregistrer</button>
            <button type="button" class="danger" id="adm-delete-group">Supprimer le groupe</button></div>
        </form>
      </section>
      <section class="panel" data-testid="roster">
        <h2>Liste d'appel (ordre d'escalade)</h2>
        <p class="muted small">Sans rotation, le groupe est sollicité dans cet ordre ; avec une rotation, le titulaire du tour d'abord.</p>
        <form id="adm-roster" class="form" novalidate><div id="adm-roster-picker"></div>
          ${errorBox()}
          <div class="adm-actions"><button type="submit" class="primary">Enregistrer la liste</button></div></form>
      </section>
      <section class="panel" data-testid="rotation"><h2>Rotation</h2><p class="muted">Chargement…</p></section>`;
    const form = box.querySelector("#adm-group-form");
    form.addEventListener("submit", async (submit) => {
      submit.preventDefault();
      const result = await submitFrom(form, "PATCH", `/api/v1/groups/${group.id}`, {
        name: form.elements.name.value.trim(), kind: form.elements.kind.value });
      if (result.ok && state.alive) {
        toast("Groupe enregistré.");
        load();
      }
    });
    box.querySelector("#adm-delete-group").addEventListener("click", async () => {
      if (!window.confirm(`Supprimer le groupe « ${group.name} » ?`)) return;
      const result = await submitFrom(form, "DELETE", `/api/v1/groups/${group.id}`);
      if (result.ok && state.alive) {
        toast("Groupe supprimé.");
        state.groupId = null;
        load();
      }
    });
    const roster = box.querySelector("#adm-roster");
    const picker = mountPicker(roster.querySelector("#adm-roster-picker"), {
      people: withMembers(state.people, group.members), ids: group.members.map((m) => m.person_id),
      label: `Liste d'appel de ${group.name}` });
    roster.addEventListener("submit", async (submit) => {
      submit.preventDefault();
      const result = await submitFrom(roster, "PUT", `/api/v1/groups/${group.id}/roster`, { person_ids: picker.ids });
      if (!result.ok || !state.alive) return;
      toast("Liste d'appel enregistrée.");
      Object.assign(group, result.data);
      const rotationBox = box.querySelector("[data-testid=rotation]");
      if (rotationBox.dataset.rotation !== "1") loadRotation(rotationBox, group); // a new rotation starts from the list
    });
    loadRotation(box.querySelector("[data-testid=rotation]"), group);
  }

  async function loadRotation(box, group) {
    try {
      const rotation = await api.get(`/api/v1/groups/${group.id}/rotation`);
      if (state.alive && state.groupId === group.id) renderRotation(box, group, rotation);
    } catch (error) {
      if (state.alive) box.innerHTML = `<h2>Rotation</h2><p class="form-error">${esc(error.french)}</p>`;
    }
  }

  function renderRotation(box, group, rotation) {
    const anchor = rotation?.anchor_local || `${isoDay(lastHandover())}T08:30:00`;
    box.dataset.rotation = rotation ? "1" : "";
    const anchorDay = frDay({ y: Number(anchor.slice(0, 4)), mo: Number(anchor.slice(5, 7)), d: Number(anchor.slice(8, 10)) });
    box.innerHTML = `<h2>Rotation</h2>
      <p class="muted small">${rotation ? `En vigueur depuis le ${esc(fmt(tz(), { day: "numeric", month: "long", year: "numeric" }).format(new Date(rotation.valid_from)))}.`
        : "Pas de rotation : personne ne tient de tour, le groupe est sollicité dans l'ordre de sa liste."}
        Le premier de la rotation prend le tour qui commence à la première relève, puis chacun à son rang.</p>
      <form id="adm-rotation" class="form" novalidate>
        <div id="adm-rotation-picker"></div>
        <div class="grid3">
          <label>Durée d'un tour (jours)<input name="turn_days" type="number" min="1" max="366" value="${rotation?.turn_days || 7}"></label>
          <label>Première relève (jour)<input name="anchor_date" placeholder="jj/mm/aaaa" inputmode="numeric" value="${esc(anchorDay)}"></label>
          <label>Heure de relève<input name="anchor_time" placeholder="hh:mm" inputmode="numeric" value="${esc(anchor.slice(11, 16))}"></label>
        </div>
        ${errorBox()}
        <div class="adm-actions"><button type="submit" class="primary">${rotation ? "Enregistrer la rotation" : "Définir la rotation"}</button>
          ${rotation ? `<button type="button" id="adm-end-rotation" class="danger">Arrêter la rotation</button>` : ""}
          <a href="#/planning">Voir le planning</a></div>
      </form>
      <div id="adm-turns" data-testid="next-turns"></div>`;
    const form = box.querySelector("form");
    const initial = rotation ? rotation.member_ids : group.members.filter((m) => m.active).map((m) => m.person_id);
    const picker = mountPicker(form.querySelector("#adm-rotation-picker"), {
      people: withMembers(withRotation(state.people, rotation), group.members), ids: initial,
      label: `Ordre des tours de ${group.name}` });
    form.addEventListener("submit", async (submit) => {
      submit.preventDefault();
      const alert = form.querySelector(".form-error");
      const day = parseFrDay(form.elements.anchor_date.value);
      const time = parseFrTime(form.elements.anchor_time.value);
      const problem = !picker.ids.length ? "La rotation doit compter au moins une personne."
        : !day ? "Jour de la première relève invalide : écrivez jj/mm/aaaa."
          : !time ? "Heure de relève invalide : écrivez hh:mm." : "";
      if (problem) {
        alert.textContent = problem;
        alert.hidden = false;
        return;
      }
      const result = await submitFrom(form, "PUT", `/api/v1/groups/${group.id}/rotation`, {
        member_ids: picker.ids, turn_days: Number(form.elements.turn_days.value),
        anchor_local: `${isoDay(day)}T${pad(time.h)}:${pad(time.mi)}:00` });
      if (!result.ok || !state.alive) return;
      toast("Rotation enregistrée.");
      renderRotation(box, group, result.data);
    });
    box.querySelector("#adm-end-rotation")?.addEventListener("click", async () => {
      if (!window.confirm(`Arrêter la rotation de « ${group.name} » ? Plus personne ne tiendra de tour.`)) return;
      const result = await submitFrom(form, "DELETE", `/api/v1/groups/${group.id}/rotation`);
      if (result.ok && state.alive) {
        toast("Rotation arrêtée.");
        renderRotation(box, group, null);
      }
    });
    if (rotation) loadTurns(box.querySelector("#adm-turns"), group, rotation);
  }

  /** A new rotation's first hand-over: the last 08:30 (today's, or yesterday's before it), so someone holds now. */
  function lastHandover() {
    const now = partsIn(new Date(), tz());
    const today = { y: now.y, mo: now.mo, d: now.d };
    return now.h * 60 + now.mi >= 8 * 60 + 30 ? today : addDays(today, -1);
  }

  /** The next turns as the server plans them (replacements included): the planning of this group alone. */
  async function loadTurns(box, group, rotation) {
    const start = new Date();
    const days = Math.min(400, rotation.turn_days * (PREVIEW_TURNS + 1));
    const end = new Date(start.getTime() + days * 86400e3);
    try {
      const planning = await api.get(`/api/v1/organizations/${state.orgId}/planning?group_id=${group.id}`
        + `&start=${encodeURIComponent(start.toISOString())}&end=${encodeURIComponent(end.toISOString())}`);
      if (!state.alive || state.groupId !== group.id) return;
      const shifts = (planning.groups.find((g) => g.group_id === group.id)?.shifts || []).slice(0, PREVIEW_TURNS + 1);
      const when = (t) => fmt(tz(), { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(t));
      box.innerHTML = `<h3>Prochains tours</h3>${shifts.length ? `<ol class="adm-turns">${shifts.map((s) =>
        `<li><span class="muted">${esc(when(s.starts_at))} → ${esc(when(s.ends_at))}</span> : <strong>${esc(s.person || "Personne")}</strong>${
          s.replacing_name ? ` <span class="muted">(remplace ${esc(s.replacing_name)})</span>` : ""}</li>`).join("")}</ol>`
        : `<p class="muted">Aucun tour à venir.</p>`}`;
    } catch (error) {
      if (state.alive) box.innerHTML = "";
    }
  }

  load();
  return { unmount() { state.alive = false; } };
}

/** The commune's people plus anyone already listed but not among them (deactivated since): shown, removable. */
function withMembers(people, members) {
  const known = new Set(people.map((p) => p.id));
  return [...people, ...members.filter((m) => !known.has(m.person_id)).map((m) => ({ id: m.person_id, display_name: m.name }))];
}

function withRotation(people, rotation) {
  if (!rotation) return people;
  const known = new Set(people.map((p) => p.id));
  return [...people, ...rotation.member_ids.filter((id) => !known.has(id))
    .map((id) => ({ id, display_name: rotation.members[rotation.member_ids.indexOf(id)] }))];
}
