// The planning screen: one commune, one week (Monday 00:00 → Monday 00:00, the commune's time),
// one row per on-call group. Who holds the watch, replacements, gaps during the PC's covered hours.
// Admins (and the commune's referent) edit the rotation and add or cancel replacements; operators read.

import { api, request } from "./api.js";
import { store } from "./store.js";
import { toast } from "./toast.js";
import { esc } from "./util.js";
import { addDays, fmt, frInput, isoDay, mondayOf, pad, parseFrDateTime, parseFrDay, parseFrTime, zoned } from "./zone.js";

const ORG_KEY = "vigie.console.planning.org";
const PLANNING_CHANGED = "vigie:planning"; // window event from the live socket (store.js)
const KINDS = { elu: "Élus", cadre: "Cadres", technique: "Techniciens", prestataire: "Prestataires" };
const WATCH_VIA = { app: "depuis l'application", push: "depuis la notification", sms: "par SMS" };
// Distinct on the dark background, dark text readable on each.
const PALETTE = ["#7cc4ff", "#f5c26b", "#9be58f", "#f59fc7", "#c6a8ff", "#6fe0d6", "#ffab7a", "#d9e36a",
                 "#a0b8ff", "#e7a3a3"];
const ERRORS = {
  duplicate_member: "Une personne figure deux fois dans la rotation.",
  empty_rotation: "La rotation doit compter au moins une personne.",
  rotation_superseded: "Une version plus récente de la rotation existe : modifiez-la plutôt.",
  empty_period: "La fin doit être après le début.",
  not_member: "Cette personne n'appartient pas à la commune.",
  role_forbidden: "Votre rôle permet de consulter le planning, pas de le modifier.",
  override_cancelled: "Ce remplacement est déjà annulé.",
  validation_error: "Certaines informations sont invalides ou manquantes.",
  invalid_input: "Certaines informations sont invalides ou manquantes.",
};
const french = (error) => ERRORS[error.code] || error.french;

const ms = (iso) => new Date(iso).getTime();
const hm = (t, tz) => fmt(tz, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(t));

/** "lun. 7 déc. 08:30" */
function when(t, tz) {
  const p = {};
  for (const x of fmt(tz, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
                            hourCycle: "h23" }).formatToParts(new Date(t))) p[x.type] = x.value;
  return `${p.weekday} ${p.day} ${p.month} ${p.hour}:${p.minute}`;
}
/** "lun. 08:30" */
const shortWhen = (t, tz) => `${fmt(tz, { weekday: "short" }).format(new Date(t))} ${hm(t, tz)}`;
const dayLabel = (t, tz) => fmt(tz, { weekday: "short", day: "numeric", month: "short" }).format(new Date(t));
const longDay = (t, tz) => fmt(tz, { weekday: "long", day: "numeric", month: "long", year: "numeric" }).format(new Date(t));

function colour(personId) {
  return PALETTE[Math.abs(personId) % PALETTE.length];
}

// ---- the screen -----------------------------------------------------------------------------------
export function mountPlanning(root) {
  const communes = [...store.orgs.values()].filter((o) => o.kind === "commune")
    .sort((a, b) => a.name.localeCompare(b.name, "fr"));
  const saved = Number(sessionStorage.getItem(ORG_KEY));
  const state = {
    orgId: communes.some((o) => o.id === saved) ? saved : communes[0]?.id ?? null,
    week: null, // the Monday shown, as {y, mo, d} in the commune's zone
    data: null, gaps: null, watch: new Map(), groups: new Map(), error: "", seq: 0,
  };
  const tz = () => store.orgs.get(state.orgId)?.timezone || state.data?.timezone || "Europe/Paris";
  const canEdit = () => store.me.role === "admin"
    || (store.me.role === "referent" && store.me.organization_id === state.orgId);

  root.innerHTML = `<div class="planning-view" data-testid="planning">
      <div class="pl-head">
        <h1>Planning d'astreinte</h1>
        <label class="inline">Commune
          <select id="pl-org">${communes.map((o) => `<option value="${o.id}">${esc(o.name)}</option>`).join("")}</select>
        </label>
        <div class="pl-weeknav" role="group" aria-label="Semaine">
          <button type="button" id="pl-prev">‹ Semaine précédente</button>
          <button type="button" id="pl-today">Cette semaine</button>
          <button type="button" id="pl-next">Semaine suivante ›</button>
        </div>
        <p id="pl-week" class="pl-week"></p>
      </div>
      <div class="pl-legend">
        <span><i class="sw cover"></i>Heures couvertes par le PC</span>
        <span><i class="sw gap"></i>Personne d'astreinte</span>
        <span><i class="sw repl"></i>Remplacement</span>
        <span><i class="sw now"></i>Maintenant</span>
        <span id="pl-mode" class="muted"></span>
      </div>
      <div id="pl-grid" class="pl-grid" data-testid="planning-grid"><p class="empty">Chargement…</p></div>
      <div class="pl-bottom">
        <section class="panel" id="pl-gaps" data-testid="gaps"><h2>Trous dans les 7 prochains jours</h2><p class="muted">Chargement…</p></section>
        <section class="panel" id="pl-overrides" data-testid="overrides"><h2>Remplacements de la semaine</h2></section>
      </div>
      <dialog id="pl-dialog" class="pl-dialog"></dialog>
    </div>`;
  const $ = (selector) => root.querySelector(selector);
  const orgSelect = $("#pl-org");
  const dialog = $("#pl-dialog");
  if (state.orgId != null) orgSelect.value = String(state.orgId);
  if (!communes.length) {
    // Nothing to load: say so, and where a commune is made (an admin), instead of waiting forever.
    $("#pl-grid").innerHTML = `<p class="empty" data-testid="planning-empty">Aucune commune dans votre périmètre.${
      store.me.role === "admin" ? ` <a href="#/admin/communes/nouvelle" class="button primary">Créer une commune</a>` : ""}</p>`;
    $("#pl-gaps").innerHTML = `<h2>Trous dans les 7 prochains jours</h2><p class="muted">Aucune commune : rien à planifier.</p>`;
    orgSelect.innerHTML = `<option value="">aucune commune</option>`;
    orgSelect.disabled = true;
    root.querySelector(".pl-weeknav").hidden = true;
  }

  function weekBounds() {
    const days = Array.from({ length: 8 }, (_, i) => addDays(state.week, i));
    const starts = days.map((d) => zoned(d.y, d.mo, d.d, 0, 0, tz()).getTime());
    return { days, starts, start: starts[0], end: starts[7] };
  }

  async function load() {
    if (state.orgId == null) return;
    if (!state.week) state.week = mondayOf(new Date(), tz());
    const seq = ++state.seq;
    const { start, end } = weekBounds();
    const org = state.orgId;
    const range = `start=${encodeURIComponent(new Date(start).toISOString())}&end=${encodeURIComponent(new Date(end).toISOString())}`;
    try {
      const [data, gaps, groups] = await Promise.all([
        api.get(`/api/v1/organizations/${org}/planning?${range}`),
        api.get(`/api/v1/organizations/${org}/gaps`),
        api.get(`/api/v1/groups?organization_id=${org}`),
      ]);
      const watch = new Map(await Promise.all(data.groups.filter((g) => g.rotation).map(async (g) => {
        try {
          return [g.group_id, await api.get(`/api/v1/groups/${g.group_id}/watch`)];
        } catch (error) {
          return [g.group_id, []];
        }
      })));
      if (seq !== state.seq) return; // a later choice won
      Object.assign(state, { data, gaps, watch, groups: new Map(groups.map((g) => [g.id, g])), error: "" });
    } catch (error) {
      if (seq !== state.seq) return;
      state.error = error.french;
    }
    render();
  }

  function render() {
    const zone = tz();
    const { starts, start, end } = weekBounds();
    $("#pl-week").textContent = `Semaine du ${longDay(start, zone)} au ${longDay(starts[6], zone)}`;
    const thisWeek = isoDay(mondayOf(new Date(), zone)) === isoDay(state.week);
    $("#pl-today").disabled = thisWeek;
    $("#pl-mode").textContent = canEdit() ? "Cliquez sur une période pour y ajouter un remplacement."
      : "Consultation seule : seuls un administrateur ou le référent de la commune modifient le planning.";
    if (state.error) {
      $("#pl-grid").innerHTML = `<p class="form-error">Planning indisponible : ${esc(state.error)}</p>`;
      if (!state.gaps) $("#pl-gaps").innerHTML = `<h2>Trous dans les 7 prochains jours</h2><p class="muted">Indisponibles pour l'instant.</p>`;
      return;
    }
    if (!state.data) return;
    $("#pl-grid").innerHTML = gridHtml(state.data, { starts, start, end, zone });
    $("#pl-gaps").innerHTML = gapsHtml(state.gaps || [], zone);
    $("#pl-overrides").innerHTML = overridesHtml(state.data, zone, canEdit());
  }

  // ---- the week grid ----
  function gridHtml(data, { starts, start, end, zone }) {
    const span = end - start;
    const now = Date.now();
    const pos = (a, b) => {
      const left = Math.max(0, (a - start) / span) * 100;
      const right = Math.min(1, (b - start) / span) * 100;
      return `left:${left.toFixed(3)}%;width:${Math.max(0, right - left).toFixed(3)}%`;
    };
    const todayIndex = starts.findIndex((s, i) => i < 7 && s <= now && now < starts[i + 1]);
    const days = starts.slice(0, 7).map((s, i) => `<div class="pl-day${i === todayIndex ? " today" : ""}"
        style="${pos(s, starts[i + 1])}">${esc(dayLabel(s + 12 * 3600e3, zone))}${i === todayIndex ? "<span>aujourd'hui</span>" : ""}</div>`).join("");
    const lines = starts.slice(1, 7).map((s) => `<i class="pl-line" style="left:${((s - start) / span * 100).toFixed(3)}%"></i>`).join("");
    const cover = data.covered.map((c) => `<i class="pl-cover" style="${pos(ms(c.starts_at), ms(c.ends_at))}"></i>`).join("");
    const nowLine = now >= start && now < end ? `<i class="pl-now" style="left:${((now - start) / span * 100).toFixed(3)}%"></i>` : "";
    const editable = canEdit();
    const rows = data.groups.map((g) => {
      const shifts = g.shifts.map((s) => {
        const a = ms(s.starts_at), b = ms(s.ends_at);
        const current = a <= now && now < b && s.person_id != null && s.person_id === g.holder_id;
        const clippedStart = a <= start, clippedEnd = b >= end;
        const range = clippedStart && clippedEnd ? "toute la semaine" : clippedStart ? `jusqu'à ${shortWhen(b, zone)}`
          : clippedEnd ? `dès ${shortWhen(a, zone)}` : `${shortWhen(a, zone)} → ${shortWhen(b, zone)}`;
        const title = `${s.person || "Personne"}${s.replacing_name ? ` (remplace ${s.replacing_name})` : ""} : `
          + `${when(a, zone)} → ${when(b, zone)}`;
        if (s.person_id == null) {
          return `<div class="pl-shift nobody${editable ? " editable" : ""}" style="${pos(a, b)}" title="${esc(title)}"
              data-start="${a}" data-end="${b}">
              <span class="pl-name">Personne</span>${s.replacing_name ? `<span class="pl-sub">remplace ${esc(s.replacing_name)}</span>` : ""}</div>`;
        }
        return `<div class="pl-shift${s.replacing ? " repl" : ""}${current ? " current" : ""}${editable ? " editable" : ""}"
            style="${pos(a, b)};--c:${colour(s.person_id)}" title="${esc(title)}" data-person-id="${s.person_id}"
            data-start="${a}" data-end="${b}" ${editable ? 'tabindex="0" role="button"' : ""}>
            <span class="pl-name">${current ? "● " : ""}${esc(s.person)}</span>
            <span class="pl-sub">${s.replacing_name ? `remplace ${esc(s.replacing_name)}` : esc(range)}</span></div>`;
      }).join("");
      const gaps = g.gaps.map((x) => `<div class="pl-gap" style="${pos(ms(x.starts_at), ms(x.ends_at))}"
          title="${esc(`Personne d'astreinte : ${when(ms(x.starts_at), zone)} → ${when(ms(x.ends_at), zone)}`)}"><span
          class="long">Personne d'astreinte</span><span class="short" aria-hidden="true">Personne</span></div>`).join("");
      const empty = g.rotation ? "" : `<div class="pl-none">Pas de rotation : le groupe est sollicité dans l'ordre de sa liste.</div>`;
      const holder = !g.rotation ? "" : g.holder_id != null
        ? `<p class="pl-holder">En ce moment : <strong>${esc(g.holder)}</strong></p>`
        : `<p class="pl-holder alarm">En ce moment : <strong>Personne d'astreinte</strong></p>`;
      const buttons = editable ? `<div class="pl-actions">
          <button type="button" class="small" data-rotation="${g.group_id}">${g.rotation ? "Modifier la rotation" : "Définir la rotation"}</button>
          ${g.rotation ? `<button type="button" class="small" data-override="${g.group_id}">Ajouter un remplacement</button>` : ""}</div>` : "";
      return `<div class="pl-rowhead" data-group-id="${g.group_id}">
          <h3>${esc(g.group)}</h3><p class="muted small">${esc(KINDS[g.kind] || g.kind)}${g.rotation
            ? ` · tour de ${g.rotation.turn_days === 7 ? "7 jours" : g.rotation.turn_days === 1 ? "1 jour" : `${g.rotation.turn_days} jours`}` : ""}</p>
          ${holder}${watchHtml(g, zone)}${buttons}</div>
        <div class="pl-track" data-group-id="${g.group_id}" data-testid="row-${g.group_id}">${cover}${lines}${empty}${shifts}${gaps}${nowLine}</div>`;
    }).join("");
    return `<div class="pl-corner">Groupe</div><div class="pl-days">${days}</div>${rows}`;
  }

  function watchHtml(g, zone) {
    const rows = state.watch.get(g.group_id) || [];
    const now = Date.now();
    const current = rows.filter((w) => ms(w.starts_at) <= now && now < ms(w.ends_at) && w.status !== "scheduled")
      .sort((a, b) => ms(b.starts_at) - ms(a.starts_at))[0];
    if (!current) return "";
    const who = esc(current.person || "");
    if (current.status === "confirmed") {
      return `<p class="pl-watch ok">Prise d'astreinte confirmée par ${who} à ${hm(ms(current.confirmed_at), zone)}${
        WATCH_VIA[current.confirmed_via] ? ` ${WATCH_VIA[current.confirmed_via]}` : ""}</p>`;
    }
    if (current.status === "asked") return `<p class="pl-watch wait">Prise d'astreinte demandée à ${who}, pas encore confirmée</p>`;
    if (current.status === "missed") return `<p class="pl-watch alarm">${who} n'a pas confirmé sa prise d'astreinte</p>`;
    return "";
  }

  function gapsHtml(groups, zone) {
    const items = groups.flatMap((g) => g.gaps.map((x) => `<li class="pl-gap-item" data-group-id="${g.group_id}">
        <strong>${esc(g.group)}</strong> — ${esc(when(ms(x.starts_at), zone))} → ${esc(when(ms(x.ends_at), zone))}</li>`));
    return `<h2>Trous dans les 7 prochains jours</h2>${items.length
      ? `<p class="alarm-text">Personne n'est d'astreinte pendant ces heures couvertes par le PC :</p><ul class="pl-list">${items.join("")}</ul>`
      : `<p class="muted">Aucun trou : chaque groupe planifié a quelqu'un d'astreinte pendant les heures couvertes.</p>`}`;
  }

  function overridesHtml(data, zone, editable) {
    const items = data.groups.flatMap((g) => g.overrides.map((o) => ({ ...o, group: g.group })))
      .sort((a, b) => ms(a.starts_at) - ms(b.starts_at));
    const list = items.map((o) => `<li class="pl-ov" data-override-id="${o.id}">
        <div><strong>${esc(o.group)}</strong> · ${o.person ? esc(o.person) : "<span class=\"alarm-text\">Personne</span>"}${
          o.replaces ? ` remplace ${esc(o.replaces)}` : " à la place du titulaire"}
          <div class="muted small">${esc(when(ms(o.starts_at), zone))} → ${esc(when(ms(o.ends_at), zone))}${
            o.origin === "swap" ? " · échange entre collègues" : ""}${o.reason ? ` · ${esc(o.reason)}` : ""}</div></div>
        ${editable ? `<button type="button" class="small danger" data-cancel="${o.id}">Annuler le remplacement</button>` : ""}</li>`).join("");
    return `<h2>Remplacements de la semaine</h2>${list ? `<ul class="pl-list">${list}</ul>`
      : `<p class="muted">Aucun remplacement cette semaine.</p>`}`;
  }

  // ---- editing ----
  function membersOf(groupId) {
    return (state.groups.get(groupId)?.members || []).filter((m) => m.active);
  }

  function openDialog(html, onSubmit) {
    dialog.innerHTML = html;
    const form = dialog.querySelector("form");
    const error = form.querySelector(".form-error");
    form.addEventListener("submit", async (submit) => {
      submit.preventDefault();
      error.hidden = true;
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        await onSubmit(form);
        dialog.close();
        await load();
      } catch (failure) {
        error.textContent = failure.french ? french(failure) : failure.message;
        error.hidden = false;
      } finally {
        button.disabled = false;
      }
    });
    form.querySelector("[data-close]").addEventListener("click", () => dialog.close());
    dialog.showModal();
    return form;
  }

  function rotationDialog(groupId) {
    const g = state.data.groups.find((x) => x.group_id === groupId);
    const zone = tz();
    const rotation = g.rotation;
    let order = rotation ? [...rotation.member_ids] : membersOf(groupId).map((m) => m.person_id);
    const names = new Map(membersOf(groupId).map((m) => [m.person_id, m.name]));
    if (rotation) rotation.member_ids.forEach((id, i) => names.set(id, rotation.members[i]));
    const anchor = rotation ? rotation.anchor_local : `${isoDay(state.week)}T08:30:00`;
    const anchorDay = `${anchor.slice(8, 10)}/${anchor.slice(5, 7)}/${anchor.slice(0, 4)}`;
    const form = openDialog(`<form class="form" id="rotation-form">
        <h2>Rotation — ${esc(g.group)}</h2>
        <p class="muted">Chacun prend un tour à son rang ; le premier de la liste prend le tour qui commence à la première relève.</p>
        <ol class="rot-members" id="rot-members"></ol>
        <label>Ajouter une personne du groupe
          <select id="rot-add"></select></label>
        <div class="grid3">
          <label>Première relève (jour)<input name="anchor_date" required placeholder="jj/mm/aaaa" inputmode="numeric"
            value="${esc(anchorDay)}"></label>
          <label>Heure de relève<input name="anchor_time" required placeholder="hh:mm" inputmode="numeric"
            value="${esc(anchor.slice(11, 16))}"></label>
          <label>Durée d'un tour (jours)<input type="number" name="turn_days" min="1" max="366" required value="${rotation?.turn_days || 7}"></label>
        </div>
        <label>Appliquer à partir du <span class="muted small">(vide : tout de suite ; les tours déjà tenus restent tracés)</span>
          <input name="effective_from" placeholder="jj/mm/aaaa hh:mm"></label>
        <div class="rot-preview" id="rot-preview"></div>
        <p class="form-error" role="alert" hidden></p>
        <div class="actions"><button type="button" class="ghost" data-close>Annuler</button>
          <button type="submit" class="primary">Enregistrer la rotation</button></div>
      </form>`, async (f) => {
      if (!order.length) throw new Error(ERRORS.empty_rotation);
      const day = parseFrDay(f.elements.anchor_date.value);
      const time = parseFrTime(f.elements.anchor_time.value);
      if (!day) throw new Error("Jour de la première relève invalide : écrivez jj/mm/aaaa.");
      if (!time) throw new Error("Heure de relève invalide : écrivez hh:mm.");
      const fromText = f.elements.effective_from.value.trim();
      const from = fromText ? parseFrDateTime(fromText, zone) : null;
      if (fromText && !from) throw new Error("Date d'application invalide : écrivez jj/mm/aaaa hh:mm, ou laissez vide.");
      await request("PUT", `/api/v1/groups/${groupId}/rotation`, { json: {
        member_ids: order, anchor_local: `${isoDay(day)}T${pad(time.h)}:${pad(time.mi)}:00`,
        turn_days: Number(f.elements.turn_days.value), ...(from ? { effective_from: from.toISOString() } : {}) } });
      toast("Rotation enregistrée.");
    });
    const draw = () => {
      form.querySelector("#rot-members").innerHTML = order.map((id, i) => `<li data-person-id="${id}">
          <span class="rank">${i + 1}</span><i class="sw" style="background:${colour(id)}"></i>
          <span class="rot-name">${esc(names.get(id) || `Personne n° ${id}`)}</span>
          <button type="button" class="small ghost" data-move="-1" ${i === 0 ? "disabled" : ""} aria-label="Monter ${esc(names.get(id))}">↑</button>
          <button type="button" class="small ghost" data-move="1" ${i === order.length - 1 ? "disabled" : ""} aria-label="Descendre ${esc(names.get(id))}">↓</button>
          <button type="button" class="small ghost" data-remove aria-label="Retirer ${esc(names.get(id))}">Retirer</button></li>`).join("")
        || `<li class="muted">Personne : ajoutez au moins une personne.</li>`;
      const others = [...names].filter(([id]) => !order.includes(id));
      form.querySelector("#rot-add").innerHTML = `<option value="">${others.length ? "Choisir…" : "Tout le groupe est dans la rotation"}</option>`
        + others.map(([id, name]) => `<option value="${id}">${esc(name)}</option>`).join("");
      preview();
    };
    const preview = () => {
      const box = form.querySelector("#rot-preview");
      const day = parseFrDay(form.elements.anchor_date.value);
      const time = parseFrTime(form.elements.anchor_time.value);
      const length = Number(form.elements.turn_days.value);
      if (!day || !time || !(length >= 1) || !order.length) { box.textContent = ""; return; }
      const turnStart = (k) => { const d = addDays(day, k * length); return zoned(d.y, d.mo, d.d, time.h, time.mi, zone).getTime(); };
      const now = Date.now();
      let k = Math.max(0, Math.floor((now - turnStart(0)) / (length * 86400e3)) - 1);
      while (turnStart(k + 1) <= now) k += 1;
      const lines = [];
      for (let i = 0; lines.length < 4 && i < 6; i += 1, k += 1) {
        const a = turnStart(k);
        const who = esc(names.get(order[k % order.length]) || "");
        if (a <= now && now < turnStart(k + 1)) lines.push(`<li>En cours (depuis le ${esc(when(a, zone))}) : <strong>${who}</strong></li>`);
        else if (a > now) lines.push(`<li>${esc(when(a, zone))} : <strong>${who}</strong></li>`);
        else lines.push(`<li>Premier tour le ${esc(when(a, zone))} : <strong>${who}</strong></li>`);
      }
      box.innerHTML = `<h3>Avec cet ordre</h3><ul>${lines.join("")}</ul>`;
    };
    form.addEventListener("input", preview);
    form.querySelector("#rot-add").addEventListener("change", (change) => {
      if (change.target.value) order.push(Number(change.target.value));
      draw();
    });
    form.querySelector("#rot-members").addEventListener("click", (click) => {
      const item = click.target.closest("li[data-person-id]");
      const button = click.target.closest("button");
      if (!item || !button) return;
      const i = order.indexOf(Number(item.dataset.personId));
      if (button.dataset.remove !== undefined) order.splice(i, 1);
      else {
        const j = i + Number(button.dataset.move);
        [order[i], order[j]] = [order[j], order[i]];
      }
      draw();
    });
    draw();
  }

  function overrideDialog(groupId, preset = {}) {
    const g = state.data.groups.find((x) => x.group_id === groupId);
    const zone = tz();
    const people = membersOf(groupId);
    const hour = 3600e3;
    const from = preset.start ?? Math.ceil(Date.now() / hour) * hour;
    const to = preset.end ?? from + 24 * hour;
    const options = people.map((m) => `<option value="${m.person_id}">${esc(m.name)}</option>`).join("");
    openDialog(`<form class="form" id="override-form">
        <h2>Ajouter un remplacement — ${esc(g.group)}</h2>
        <div class="grid2">
          <label>Qui prend l'astreinte
            <select name="person_id" required><option value="">Choisir…</option>${options}
              <option value="none">Personne (trou assumé)</option></select></label>
          <label>À la place de
            <select name="replaces_person_id"><option value="">Le titulaire, quel qu'il soit</option>${options}</select></label>
          <label>Du<input name="starts_at" required placeholder="jj/mm/aaaa hh:mm" value="${frInput(from, zone)}"></label>
          <label>Au<input name="ends_at" required placeholder="jj/mm/aaaa hh:mm" value="${frInput(to, zone)}"></label>
        </div>
        <label>Motif<input name="reason" maxlength="300" placeholder="ex. : arrêt maladie, congés, formation"></label>
        <p class="hint muted">Heures de la commune (${esc(zone)}). « Personne » laisse le groupe sans astreinte : la période apparaît en rouge.</p>
        <p class="form-error" role="alert" hidden></p>
        <div class="actions"><button type="button" class="ghost" data-close>Annuler</button>
          <button type="submit" class="primary">Ajouter le remplacement</button></div>
      </form>`, async (f) => {
      const who = f.elements.person_id.value;
      if (!who) throw new Error("Choisissez qui prend l'astreinte (ou « Personne »).");
      const starts = parseFrDateTime(f.elements.starts_at.value, zone);
      const ends = parseFrDateTime(f.elements.ends_at.value, zone);
      if (!starts || !ends) throw new Error("Début ou fin invalide : écrivez jj/mm/aaaa hh:mm, par exemple 07/12/2026 08:30.");
      if (ends <= starts) throw new Error(ERRORS.empty_period);
      const replaces = f.elements.replaces_person_id.value;
      await api.post(`/api/v1/groups/${groupId}/overrides`, {
        starts_at: starts.toISOString(), ends_at: ends.toISOString(), person_id: who === "none" ? null : Number(who),
        replaces_person_id: replaces ? Number(replaces) : null, reason: f.elements.reason.value.trim() });
      toast("Remplacement ajouté.");
    });
    if (preset.replaces != null) dialog.querySelector("select[name=replaces_person_id]").value = String(preset.replaces);
  }

  root.addEventListener("click", async (click) => {
    const target = click.target;
    const rotation = target.closest("[data-rotation]");
    if (rotation && canEdit()) return rotationDialog(Number(rotation.dataset.rotation));
    const override = target.closest("[data-override]");
    if (override && canEdit()) return overrideDialog(Number(override.dataset.override));
    const cancel = target.closest("[data-cancel]");
    if (cancel && canEdit()) {
      if (!window.confirm("Annuler ce remplacement ? Le planning revient au tour prévu.")) return;
      try {
        await request("DELETE", `/api/v1/overrides/${cancel.dataset.cancel}`);
        toast("Remplacement annulé.");
      } catch (error) {
        toast(french(error), "error");
      }
      return load();
    }
    const shift = target.closest(".pl-shift.editable");
    if (shift && canEdit() && !dialog.open) {
      const groupId = Number(shift.closest(".pl-track").dataset.groupId);
      const [a, b] = [Number(shift.dataset.start), Number(shift.dataset.end)];
      const soon = Math.max(a, Math.ceil(Date.now() / 3600e3) * 3600e3); // the part still to come, if any
      overrideDialog(groupId, { start: soon < b ? soon : a, end: b,
                                replaces: shift.dataset.personId ? Number(shift.dataset.personId) : null });
    }
  });
  root.addEventListener("keydown", (key) => {
    if ((key.key === "Enter" || key.key === " ") && key.target.matches(".pl-shift.editable")) {
      key.preventDefault();
      key.target.click();
    }
  });
  orgSelect.addEventListener("change", () => {
    state.orgId = Number(orgSelect.value);
    sessionStorage.setItem(ORG_KEY, String(state.orgId));
    state.data = null;
    state.week = mondayOf(new Date(), tz());
    $("#pl-grid").innerHTML = `<p class="empty">Chargement…</p>`;
    load();
  });
  const move = (days) => {
    state.week = days == null ? mondayOf(new Date(), tz()) : addDays(state.week, days);
    load();
  };
  $("#pl-prev").addEventListener("click", () => move(-7));
  $("#pl-next").addEventListener("click", () => move(7));
  $("#pl-today").addEventListener("click", () => move(null));

  // Live: a change anywhere in the commune's planning arrives on the socket; the timer is the safety net.
  const onChange = (change) => {
    if (change.detail?.orgId === state.orgId && !dialog.open) load();
  };
  window.addEventListener(PLANNING_CHANGED, onChange);
  load();
  const timer = setInterval(() => { if (!dialog.open && !document.hidden) load(); }, 5 * 60_000);
  return {
    unmount() {
      clearInterval(timer);
      window.removeEventListener(PLANNING_CHANGED, onChange);
      if (dialog.open) dialog.close();
    },
  };
}
