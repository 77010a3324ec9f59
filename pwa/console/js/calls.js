// The call log. Every incoming call at the PC is logged in one click from the strip under the header
// (« Appel décroché » / « Appel manqué », for the chosen commune and caller), whatever the screen; an
// answered call offers to open an event from it. « Journal d'appels » (#/appels) lists a day's calls with
// the day's pick-up rate, the figure of the commune's convention (target 85 %).

import { api, request } from "./api.js";
import { CALLER_CATEGORIES, callerLabel } from "./labels.js";
import { orgName, store } from "./store.js";
import { toast } from "./toast.js";
import { durationWords, esc, parseDate } from "./util.js";
import { addDays, clockIn, dayOf, dayStart, fmt, frDay, isoDay } from "./zone.js";

const ORG_KEY = "vigie.console.calls.org";
export const PICKUP_TARGET = 0.85;
export const CALLS_CHANGED = "vigie:calls"; // window event: a call was logged or got its event

export const communes = () => [...store.orgs.values()].filter((o) => o.kind === "commune")
  .sort((a, b) => a.name.localeCompare(b.name, "fr"));
export const zoneOf = (orgId) => store.orgs.get(orgId)?.timezone || communes()[0]?.timezone || "Europe/Paris";
export const canLogCalls = () => ["operator", "admin"].includes(store.me?.role);

/** The commune the operator last worked for (strip, journal, new event from a call). */
export function currentCommune() {
  const saved = Number(sessionStorage.getItem(ORG_KEY));
  const list = communes();
  return list.some((o) => o.id === saved) ? saved : list[0]?.id ?? null;
}
export function rememberCommune(orgId) {
  if (orgId) sessionStorage.setItem(ORG_KEY, String(orgId));
}

/** "50 %", "66,7 %", "—" */
export function percent(rate) {
  if (rate == null || Number.isNaN(rate)) return "—";
  const value = Math.round(rate * 1000) / 10;
  return `${String(value).replace(".", ",")} %`;
}

export function callsChanged(detail = {}) {
  window.dispatchEvent(new CustomEvent(CALLS_CHANGED, { detail }));
}

/** A day's calls ([start, end) of the commune's day), newest first. */
async function callsOf(orgId, day, tz) {
  const since = dayStart(day, tz).toISOString();
  const until = dayStart(addDays(day, 1), tz).toISOString();
  const params = new URLSearchParams({ since, until, limit: "1000" });
  if (orgId) params.set("organization_id", String(orgId));
  return api.get(`/api/v1/calls?${params}`);
}

const categoryOptions = () => CALLER_CATEGORIES.map(([value, label]) =>
  `<option value="${value}">${esc(label)}</option>`).join("");

// ---- the strip ---------------------------------------------------------------------------------

/** The strip's choice of commune; « aucune commune » rather than an empty choice. */
function communeOptions(list) {
  return list.length ? list.map((o) => `<option value="${o.id}">${esc(o.name)}</option>`).join("")
    : `<option value="">aucune commune</option>`;
}

export function mountCallbar(box) {
  const list = communes();
  box.innerHTML = `<select id="cb-org" aria-label="Commune appelée" title="Commune appelée">${communeOptions(list)}</select>
    <select id="cb-category" aria-label="Qui appelle" title="Qui appelle">${categoryOptions()}</select>
    <button type="button" class="call-answered" data-answered="1" id="cb-answered">Appel décroché</button>
    <button type="button" class="call-missed" data-answered="0" id="cb-missed">Appel manqué</button>
    <div class="cb-last" id="cb-last" aria-live="polite"></div>
    <a href="#/appels" class="cb-day" id="cb-day" title="Ouvrir le journal d'appels">Journal d'appels</a>`;
  box.hidden = false;
  const $ = (selector) => box.querySelector(selector);
  const orgSelect = $("#cb-org");
  const last = $("#cb-last");
  let lastCall = null; // {call, eventNumber}
  let busy = false;
  let alive = true; // a reply after logout finds the strip gone
  if (currentCommune() != null) orgSelect.value = String(currentCommune());
  const allowLogging = () => {
    for (const button of box.querySelectorAll("[data-answered]")) button.disabled = !Number(orgSelect.value);
  };
  allowLogging();
  // A commune created or renamed in Administration (admin-forms.js): offered at once, the choice kept.
  const onOrgs = () => {
    const chosen = orgSelect.value;
    orgSelect.innerHTML = communeOptions(communes());
    if (chosen && [...orgSelect.options].some((o) => o.value === chosen)) orgSelect.value = chosen;
    else if (currentCommune() != null) orgSelect.value = String(currentCommune());
    allowLogging();
    refreshDay();
  };
  window.addEventListener("vigie:orgs", onOrgs);

  async function refreshDay() {
    const orgId = Number(orgSelect.value);
    if (!orgId) return;
    const tz = zoneOf(orgId);
    try {
      const calls = await callsOf(orgId, dayOf(new Date(), tz), tz);
      if (!alive || Number(orgSelect.value) !== orgId) return;
      const answered = calls.filter((c) => c.answered).length;
      $("#cb-day").innerHTML = calls.length
        ? `<strong>${calls.length}</strong> appel${calls.length > 1 ? "s" : ""} aujourd'hui · <strong class="${
          answered / calls.length >= PICKUP_TARGET ? "ok" : "ko"}">${esc(percent(answered / calls.length))}</strong> décrochés`
        : "Aucun appel aujourd'hui";
    } catch (error) { /* the next refresh */ }
  }

  function renderLast() {
    if (!alive) return;
    if (!lastCall) {
      last.innerHTML = "";
      return;
    }
    const { call, eventNumber } = lastCall;
    const at = clockIn(parseDate(call.received_at), zoneOf(call.organization_id)).slice(0, 5);
    const who = esc(callerLabel(call.caller_category));
    const close = `<button type="button" class="ghost small cb-dismiss" data-dismiss aria-label="Effacer">×</button>`;
    if (!call.answered) {
      last.innerHTML = `<span class="cb-done missed">Appel manqué enregistré à ${esc(at)} (${who})</span>${close}`;
    } else if (eventNumber) {
      last.innerHTML = `<span class="cb-done" title="Appel de ${esc(at)} → événement ${esc(eventNumber)}">Appel de ${esc(at)} → événement <a href="#/evenement/${call.event_id}">${
        esc(eventNumber)}</a></span>${close}`;
    } else {
      last.innerHTML = `<span class="cb-done" title="Appel décroché à ${esc(at)} (${who})">Décroché ${esc(at)}</span>
        <a class="button small primary" id="cb-open-event" href="#/nouvel-evenement?appel=${call.id}">Ouvrir un événement depuis cet appel</a>${close}`;
    }
  }

  async function log(answered) {
    if (busy) return;
    const orgId = Number(orgSelect.value);
    if (!orgId) return;
    busy = true;
    for (const button of box.querySelectorAll("[data-answered]")) button.disabled = true;
    try {
      const call = await api.post("/api/v1/calls", {
        organization_id: orgId, answered, caller_category: $("#cb-category").value });
      if (!alive) return;
      lastCall = { call, eventNumber: null };
      $("#cb-category").value = "citizen";
      renderLast();
      callsChanged({ call, orgId }); // the day's count here, the journal if open
    } catch (error) {
      toast(`Appel non enregistré : ${error.french}`, "error");
    } finally {
      busy = false;
      for (const button of box.querySelectorAll("[data-answered]")) button.disabled = false;
    }
  }

  box.addEventListener("click", (click) => {
    const button = click.target.closest("[data-answered]");
    if (button) return log(button.dataset.answered === "1");
    if (click.target.closest("[data-dismiss]")) {
      lastCall = null;
      renderLast();
    }
  });
  orgSelect.addEventListener("change", () => {
    rememberCommune(Number(orgSelect.value));
    refreshDay();
  });
  const onChange = (change) => {
    const { callId, event } = change.detail || {};
    if (lastCall && callId === lastCall.call.id && event) {
      lastCall = { call: { ...lastCall.call, event_id: event.id }, eventNumber: event.number };
      renderLast();
    }
    if (change.detail?.orgId && change.detail.orgId !== Number(orgSelect.value)) return;
    refreshDay();
  };
  window.addEventListener(CALLS_CHANGED, onChange);
  refreshDay();
  const timer = setInterval(() => { if (!document.hidden) refreshDay(); }, 5 * 60_000); // live first (store.js)
  return {
    unmount() {
      alive = false;
      clearInterval(timer);
      window.removeEventListener(CALLS_CHANGED, onChange);
      window.removeEventListener("vigie:orgs", onOrgs);
      box.innerHTML = "";
      box.hidden = true;
    },
  };
}

// ---- the journal -------------------------------------------------------------------------------

const FIELD_LABELS = { answered: "décroché", received_at: "heure d'appel", answered_at: "heure de décroché",
                       caller_category: "appelant", caller_number: "numéro", note: "note" };
const fieldLabel = (name) => FIELD_LABELS[name] || name;

function correctionForm(c) {
  if (c.event_id != null) return ""; // an event was opened from it: it was a real call, and its record stays
  return `<details class="cl-fix-box"><summary>Corriger</summary>
      <form data-fix="${c.id}">
        <label class="inline"><input type="checkbox" name="answered"${c.answered ? " checked" : ""}> Décroché</label>
        <label>Appelant <select name="category">${CALLER_CATEGORIES.map(([code, label]) =>
          `<option value="${code}"${code === c.caller_category ? " selected" : ""}>${esc(label)}</option>`).join("")}</select></label>
        <label>Note <input name="note" maxlength="2000" value="${esc(c.note)}"></label>
        <div class="cl-fix-actions">
          <button type="submit" value="save" class="small">Enregistrer</button>
          <input name="reason" maxlength="500" placeholder="raison (saisi deux fois…)" aria-label="Raison de la suppression">
          <button type="submit" value="void" class="small danger">Supprimer (saisi par erreur)</button>
        </div>
      </form></details>`;
}

const longDay = (day, tz) => fmt(tz, { weekday: "long", day: "numeric", month: "long", year: "numeric" })
  .format(new Date(dayStart(day, tz).getTime() + 12 * 3600e3));

export function mountCalls(root) {
  const list = communes();
  const state = { orgId: currentCommune(), day: null, calls: null, error: "", seq: 0 };
  const tz = () => zoneOf(state.orgId);
  state.day = dayOf(new Date(), tz());
  root.innerHTML = `<div class="calls-view" data-testid="calls-view">
      <div class="cl-head">
        <h1>Journal d'appels</h1>
        <label class="inline">Commune
          <select id="cl-org"><option value="">Toutes les communes</option>${list.map((o) =>
            `<option value="${o.id}">${esc(o.name)}</option>`).join("")}</select></label>
        <div class="pl-weeknav" role="group" aria-label="Jour">
          <button type="button" id="cl-prev">‹ Veille</button>
          <button type="button" id="cl-today">Aujourd'hui</button>
          <button type="button" id="cl-next">Lendemain ›</button>
        </div>
        <p class="cl-day" id="cl-day"></p>
      </div>
      <div class="tiles" id="cl-summary" data-testid="calls-summary"></div>
      <section class="panel"><div id="cl-table" data-testid="calls-table"><p class="muted">Chargement…</p></div></section>
    </div>`;
  const $ = (selector) => root.querySelector(selector);
  $("#cl-org").value = state.orgId == null ? "" : String(state.orgId);

  async function load() {
    const seq = ++state.seq;
    try {
      const calls = await callsOf(state.orgId, state.day, tz());
      if (seq !== state.seq) return;
      Object.assign(state, { calls, error: "" });
    } catch (error) {
      if (seq !== state.seq) return;
      state.error = error.french;
    }
    render();
  }

  function render() {
    const zone = tz();
    const today = isoDay(dayOf(new Date(), zone)) === isoDay(state.day);
    $("#cl-day").textContent = `${today ? "Aujourd'hui, " : ""}${longDay(state.day, zone)}`;
    $("#cl-today").disabled = today;
    $("#cl-next").disabled = today;
    if (state.error) {
      $("#cl-table").innerHTML = `<p class="form-error">Journal indisponible : ${esc(state.error)}</p>`;
      return;
    }
    if (!state.calls) return;
    const calls = state.calls;
    const answered = calls.filter((c) => c.answered).length;
    const rate = calls.length ? answered / calls.length : null;
    $("#cl-summary").innerHTML = [
      tile("Appels", String(calls.length), `le ${frDay(state.day)}`),
      tile("Décrochés", String(answered), ""),
      tile("Manqués", String(calls.length - answered), "", calls.length - answered ? "ko" : null),
      tile("Taux de décroché", percent(rate), "objectif ≥ 85 %", rate == null ? null : rate >= PICKUP_TARGET ? "ok" : "ko",
           "pickup"),
    ].join("");
    const all = !state.orgId;
    if (!calls.length) {
      $("#cl-table").innerHTML = `<p class="empty-line muted">Aucun appel enregistré ${today ? "aujourd'hui" : "ce jour-là"}${
        canLogCalls() ? " : le bandeau « Appel entrant » les enregistre en un clic." : "."}</p>`;
      return;
    }
    const rows = calls.map((c) => {
      const zoneOfCall = zoneOf(c.organization_id);
      const event = c.event_id != null
        ? `<a href="#/evenement/${c.event_id}" class="cl-event">${esc(c.event_number || `Événement n° ${c.event_id}`)}</a>`
        : c.answered && canLogCalls()
          ? `<a class="button small" href="#/nouvel-evenement?appel=${c.id}">Ouvrir un événement</a>` : `<span class="muted">—</span>`;
      const wait = !c.answered ? `<span class="muted">—</span>`
        : c.wait_s == null ? `<span class="muted" title="Saisi en un clic à la console : l'attente n'est pas mesurée">non mesurée</span>`
          : esc(durationWords(Math.round(c.wait_s)));
      const corrected = c.corrections.length
        ? ` <span class="tag-inline" title="${esc(c.corrections.map((k) => `${k.by} : ${Object.keys(k.changes).map(fieldLabel).join(", ")}`).join(" · "))}">corrigé</span>` : "";
      return `<tr data-call-id="${c.id}" class="${c.answered ? "answered" : "missed"}">
          <td class="cl-time">${esc(clockIn(parseDate(c.received_at), zoneOfCall))}</td>
          ${all ? `<td>${esc(orgName(c.organization_id))}</td>` : ""}
          <td>${esc(callerLabel(c.caller_category))}</td>
          <td class="cl-result"><span class="call-badge ${c.answered ? "answered" : "missed"}">${c.answered ? "Décroché" : "Manqué"}</span></td>
          <td>${wait}</td>
          <td class="cl-ev">${event}</td>
          <td>${esc(c.caller_number) || `<span class="muted">—</span>`}</td>
          <td class="cl-note">${esc(c.note)}${c.source === "telephony" ? ` <span class="tag-inline">téléphonie</span>` : ""}${corrected}</td>
          ${canLogCalls() ? `<td class="cl-fix">${correctionForm(c)}</td>` : ""}
        </tr>`;
    }).join("");
    $("#cl-table").innerHTML = `<table class="data-table calls-table">
        <thead><tr><th>Heure</th>${all ? "<th>Commune</th>" : ""}<th>Appelant</th><th>Résultat</th><th>Attente</th>
          <th>Événement</th><th>Numéro</th><th>Note</th>${canLogCalls() ? "<th></th>" : ""}</tr></thead>
        <tbody>${rows}</tbody></table>`;
  }

  // A call logged wrong is corrected in place (the server keeps what it was); one logged by
  // mistake is voided: kept, out of the log and of the pick-up rate.
  $("#cl-table").addEventListener("submit", async (submit) => {
    const form = submit.target.closest("form[data-fix]");
    if (!form) return;
    submit.preventDefault();
    const id = Number(form.dataset.fix);
    const voiding = submit.submitter?.value === "void";
    try {
      if (voiding) {
        if (!confirm("Supprimer cet appel du journal ? Il reste archivé, mais ne compte plus dans le taux de décroché.")) return;
        await request("DELETE", `/api/v1/calls/${id}`, { json: { reason: form.elements.reason.value.trim() } });
        toast("Appel retiré du journal.");
      } else {
        const call = state.calls.find((c) => c.id === id);
        const answered = form.elements.answered.checked;
        const changes = { caller_category: form.elements.category.value, note: form.elements.note.value.trim() };
        if (answered !== call.answered) {
          changes.answered = answered;
          if (answered) changes.answered_at = call.received_at; // the click's instant: the wait stays unknown
        }
        await request("PATCH", `/api/v1/calls/${id}`, { json: changes });
        toast("Appel corrigé.");
      }
      window.dispatchEvent(new CustomEvent(CALLS_CHANGED, { detail: { orgId: state.calls.find((c) => c.id === id)?.organization_id } }));
    } catch (error) {
      toast(error.french, "error");
    }
  });

  $("#cl-org").addEventListener("change", () => {
    state.orgId = Number($("#cl-org").value) || null;
    if (state.orgId) rememberCommune(state.orgId);
    load();
  });
  const move = (days) => {
    state.day = days == null ? dayOf(new Date(), tz()) : addDays(state.day, days);
    state.calls = null;
    $("#cl-table").innerHTML = `<p class="muted">Chargement…</p>`;
    render();
    load();
  };
  $("#cl-prev").addEventListener("click", () => move(-1));
  $("#cl-next").addEventListener("click", () => move(1));
  $("#cl-today").addEventListener("click", () => move(null));
  const onChange = () => load();
  window.addEventListener(CALLS_CHANGED, onChange);
  render();
  load();
  const timer = setInterval(() => { if (!document.hidden) load(); }, 5 * 60_000); // live first (store.js)
  return {
    unmount() {
      state.seq += 1;
      clearInterval(timer);
      window.removeEventListener(CALLS_CHANGED, onChange);
    },
  };
}

/** A figure and its target: green when met, red when not ("ok" / "ko"), grey without data. */
export function tile(label, value, sub, verdict = null, testid = "") {
  return `<div class="tile${verdict ? ` ${verdict}` : ""}"${testid ? ` data-testid="tile-${testid}"` : ""}>
      <div class="tile-label">${esc(label)}</div>
      <div class="tile-value">${esc(value)}</div>
      ${sub ? `<div class="tile-sub">${esc(sub)}</div>` : ""}
    </div>`;
}
