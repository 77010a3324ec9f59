// « Indicateurs » (#/indicateurs): the figures of the commune's convention for a period and a commune (or
// all), against their targets, and their charts (drawn here from GET /dashboard's JSON); « Projeter » puts
// these same figures and charts full screen for the follow-up meeting (one rendering: what is projected is
// what the screen shows); the CSV export; the alerts that did not go through the PC (recorded here); the
// export of the main courante for the archives.

import { api, download } from "./api.js";
import { barChart, verdictColour } from "./charts.js";
import { communes, currentCommune, percent, PICKUP_TARGET, rememberCommune, tile, zoneOf } from "./calls.js";
import { orgName } from "./store.js";
import { toast } from "./toast.js";
import { durationWords, esc, parseDate } from "./util.js";
import { SEVERITY } from "./labels.js";
import { addDays, dayOf, dayStart, fmt, frDay, frInput, parseFrDateTime, parseFrDay } from "./zone.js";

const QUICK = [["this", "Ce mois"], ["last", "Mois dernier"], ["two", "Deux derniers mois"]];
const SEVERITY_COLOUR = { 1: "#6b9cf0", 2: "#e5b93c", 3: "#f08a3c", 4: "#f4524b" };
const CHANNELS = { push: "Notification", fcm: "Notification (app)", sms: "SMS", email: "E-mail", voice: "Appel" };
const MONTHS = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."];

const monthStart = (day) => ({ y: day.y, mo: day.mo, d: 1 });
const previousMonth = (day) => (day.mo === 1 ? { y: day.y - 1, mo: 12, d: 1 } : { y: day.y, mo: day.mo - 1, d: 1 });

/** A quick choice as [first day, last day] (both included), today in `tz`. */
function quickPeriod(kind, tz) {
  const today = dayOf(new Date(), tz);
  if (kind === "this") return [monthStart(today), today];
  if (kind === "last") return [previousMonth(today), addDays(monthStart(today), -1)];
  return [previousMonth(today), today];
}

/** 1 → "1", 0.5 → "0,5", 1.333 → "1,33" */
const decimal = (value) => (value == null ? "—" : String(Math.round(value * 100) / 100).replace(".", ","));
const plural = (n, one, many = `${one}s`) => `${n} ${n > 1 ? many : one}`;

export function mountDashboard(root) {
  const list = communes();
  const saved = currentCommune();
  const state = { orgId: null, quick: "two", from: null, to: null, figures: null, bypassed: null,
                  error: "", seq: 0 };
  const tz = () => zoneOf(state.orgId);
  [state.from, state.to] = quickPeriod("two", tz());

  root.innerHTML = `<div class="dashboard-view" data-testid="dashboard">
      <div class="db-head">
        <div class="db-title"><h1>Indicateurs de la convention</h1>
          <p class="db-period-text" id="db-period-text"></p></div>
        <div class="db-exports">
          <button type="button" id="db-csv">Exporter CSV</button>
          <button type="button" id="db-project" class="primary">Projeter</button>
          <span class="db-sep" aria-hidden="true"></span>
          <button type="button" id="db-archive-csv">Exporter la main courante (CSV)</button>
          <button type="button" id="db-archive-json" class="ghost">JSON</button>
        </div>
      </div>
      <div class="db-filters panel">
        <label class="inline">Commune
          <select id="db-org"><option value="">Toutes les communes</option>${list.map((o) =>
            `<option value="${o.id}">${esc(o.name)}</option>`).join("")}</select></label>
        <div class="pl-weeknav" role="group" aria-label="Période">${QUICK.map(([key, label]) =>
          `<button type="button" data-quick="${key}">${esc(label)}</button>`).join("")}</div>
        <form id="db-period" class="db-period" novalidate>
          <label class="inline">Du <input name="from" placeholder="jj/mm/aaaa" inputmode="numeric" size="10"></label>
          <label class="inline">au <input name="to" placeholder="jj/mm/aaaa" inputmode="numeric" size="10"></label>
          <button type="submit">Afficher</button>
        </form>
      </div>
      <p class="form-error" id="db-error" role="alert" hidden></p>
      <div class="db-projection" id="db-projection" data-testid="dashboard-projection">
        <div class="db-projection-head"><div><p class="db-projection-title" id="db-projection-title"></p><p class="muted" id="db-projection-period"></p></div>
          <button type="button" id="db-unproject" class="ghost">Quitter la projection (Échap)</button></div>
        <div class="tiles" id="db-tiles" data-testid="dashboard-tiles"><p class="muted">Chargement…</p></div>
        <p class="muted small db-definition" id="db-definition" data-testid="first-action-definition"></p>
        <section class="db-charts" id="db-charts" data-testid="dashboard-charts"></section>
      </div>
      <section class="panel db-bypassed" id="db-bypassed">
        <h2>Alertes hors PC <span class="muted small">— traitées par la commune sans passer par le PC</span></h2>
        <div class="db-bypassed-grid">
          <form id="bypassed-form" class="form" novalidate>
            <h3>Enregistrer des alertes hors PC</h3>
            <div class="grid2">
              <label>Commune <select name="organization_id">${list.map((o) =>
                `<option value="${o.id}">${esc(o.name)}</option>`).join("")}</select></label>
              <label>Date et heure <input name="occurred_at" placeholder="jj/mm/aaaa hh:mm" inputmode="numeric"></label>
            </div>
            <div class="grid-nature">
              <label><span>Nature <span class="req">*</span></span>
                <input name="category" maxlength="200" list="bypassed-categories" placeholder="ex. : Chute d'arbre sur la voirie"></label>
              <label>Nombre <input name="count" type="number" min="1" max="10000" value="1"></label>
            </div>
            <datalist id="bypassed-categories"></datalist>
            <label>Description <input name="description" maxlength="2000" placeholder="ex. : signalées directement aux services techniques"></label>
            <p class="form-error" role="alert" hidden></p>
            <button type="submit" class="primary">Enregistrer</button>
          </form>
          <div id="bypassed-list" data-testid="bypassed-list"></div>
        </div>
      </section>
    </div>`;
  const $ = (selector) => root.querySelector(selector);
  const periodForm = $("#db-period");
  const bypassedForm = $("#bypassed-form");
  $("#db-org").value = "";
  if (saved != null) bypassedForm.elements.organization_id.value = String(saved);

  const range = () => ({ start: dayStart(state.from, tz()).toISOString(),
                         end: dayStart(addDays(state.to, 1), tz()).toISOString() });
  const query = (extra = {}) => {
    const params = new URLSearchParams({ ...range(), ...extra });
    if (state.orgId) params.set("organization_id", String(state.orgId));
    return params;
  };

  function showError(message) {
    $("#db-error").textContent = message;
    $("#db-error").hidden = !message;
  }

  async function load() {
    const seq = ++state.seq;
    showError("");
    renderPeriod();
    const { start, end } = range();
    const bypassedParams = new URLSearchParams({ since: start, until: end });
    if (state.orgId) bypassedParams.set("organization_id", String(state.orgId));
    try {
      const [figures, bypassed] = await Promise.all([
        api.get(`/api/v1/dashboard?${query({ format: "json" })}`),
        api.get(`/api/v1/bypassed-alerts?${bypassedParams}`),
      ]);
      if (seq !== state.seq) return;
      Object.assign(state, { figures, bypassed, error: "" });
    } catch (error) {
      if (seq !== state.seq) return;
      state.error = error.french;
    }
    render();
  }

  function renderPeriod() {
    periodForm.elements.from.value = frDay(state.from);
    periodForm.elements.to.value = frDay(state.to);
    for (const button of root.querySelectorAll("[data-quick]")) {
      button.classList.toggle("active", button.dataset.quick === state.quick);
    }
    const scope = state.orgId ? orgName(state.orgId) : "Toutes les communes";
    $("#db-period-text").innerHTML = `<strong>${esc(scope)}</strong> · du ${esc(longDay(state.from))} au ${esc(longDay(state.to))}`;
    $("#db-projection-title").textContent = `Indicateurs de la convention — ${scope}`;
    $("#db-projection-period").textContent = `Du ${longDay(state.from)} au ${longDay(state.to)}`;
  }

  const longDay = (day) => fmt(tz(), { day: "numeric", month: "long", year: "numeric" })
    .format(new Date(dayStart(day, tz()).getTime() + 12 * 3600e3));

  function render() {
    if (state.error) {
      $("#db-tiles").innerHTML = `<p class="form-error">Indicateurs indisponibles : ${esc(state.error)}</p>`;
      return;
    }
    const f = state.figures;
    if (!f) return;
    const { calls, first_action: fa, reports } = f;
    const verdict = (value, target) => (value == null ? null : value >= target ? "ok" : "ko");
    const events = plural(f.events, "événement");
    $("#db-tiles").innerHTML = [
      tile("Taux de décroché", percent(calls.pickup_rate),
           calls.total ? `objectif ≥ 85 % · ${calls.answered} décroché${calls.answered > 1 ? "s" : ""} sur ${plural(calls.total, "appel")}`
             : "objectif ≥ 85 % · aucun appel", verdict(calls.pickup_rate, calls.target ?? PICKUP_TARGET), "pickup"),
      tile("Première action dans l'heure", percent(fa.within_hour_rate),
           f.events ? `objectif 100 % · ${fa.within_hour} sur ${events}${fa.without_action ? ` · ${fa.without_action} sans action` : ""}`
             : "objectif 100 % · aucun événement", verdict(fa.within_hour_rate, fa.target), "within-hour"),
      tile("Première action dans le délai cible", percent(fa.within_target_rate),
           f.events ? `objectif 100 % · ${fa.within_target} sur ${events}, délai selon la gravité`
             : "objectif 100 % · aucun événement", verdict(fa.within_target_rate, fa.target), "within-target"),
      tile("Rapports par événement", decimal(reports.per_event),
           f.events ? `objectif ≥ 1 · ${plural(reports.sent, "rapport envoyé", "rapports envoyés")}${
             reports.events_without_report ? `, ${reports.events_without_report} sans rapport` : ""}` : "objectif ≥ 1 · aucun événement",
           verdict(reports.per_event, reports.target), "reports"),
      tile("Événements", String(f.events), Object.keys(f.by_category).length
        ? `${plural(Object.keys(f.by_category).length, "catégorie")}` : "sur la période", null, "events"),
      tile("Alertes hors PC", String(f.bypassed.total), "à suivre (convention)", null, "bypassed"),
      exercisesTile(f.exercises),
    ].join("");
    $("#db-definition").textContent = fa.definition || "";
    $("#db-charts").innerHTML = chartsHtml(f);
    renderBypassed();
  }

  // Drills are left out of every figure above (the convention's) and said here, apart.
  function exercisesTile(x) {
    if (!x || !x.events) return "";
    const fa = x.first_action;
    const acks = Object.entries(x.ack_by_group || {}).map(([group, a]) =>
      `${group} : acquittement en ${Math.round(a.median_s / 6) / 10} min (médiane)`.replace(".", ","));
    return tile("Exercices (hors convention)", String(x.events),
      [`première action dans l'heure : ${percent(fa.within_hour_rate)} · dans le délai cible : ${
        percent(fa.within_target_rate)}${fa.without_action ? ` · ${fa.without_action} sans action` : ""}`, ...acks]
        .join(" · "), null, "exercises");
  }

  function chartsHtml(f) {
    const months = [];
    for (let m = { y: state.from.y, mo: state.from.mo }; m.y < state.to.y || (m.y === state.to.y && m.mo <= state.to.mo);
      m = m.mo === 12 ? { y: m.y + 1, mo: 1 } : { y: m.y, mo: m.mo + 1 }) {
      months.push([`${MONTHS[m.mo - 1]} ${m.y}`, f.by_month[`${m.y}-${String(m.mo).padStart(2, "0")}`] || 0]);
    }
    const fa = f.first_action.by_severity;
    const depth = f.escalation_depth;
    const delivery = Object.entries(f.delivery_by_channel);
    return [
      barChart("Événements par mois", months.length <= 24 ? months : []),
      barChart("Événements par gravité", Object.entries(f.by_severity).map(([level, n]) =>
        [SEVERITY[level] || `Niveau ${level}`, n, SEVERITY_COLOUR[level]])),
      barChart("Événements par catégorie", Object.entries(f.by_category).slice(0, 10), { horizontal: true }),
      barChart("Première action dans le délai cible, par gravité", Object.entries(fa).map(([level, x]) => {
        const rate = x.events ? x.within_target / x.events : 0;
        return [`${SEVERITY[level] || level} (${durationWords(x.target_s)})`, 100 * rate, verdictColour(rate, 1)];
      }), { percent: true, note: `Objectif : 100 % des événements, délai selon la gravité.${
        f.first_action.without_action ? ` ${plural(f.first_action.without_action, "événement")} sans action.` : ""}` }),
      barChart("Délai d'acquittement par groupe (médiane, en minutes)", Object.entries(f.ack_by_group).map(([group, x]) =>
        [group, x.median_s / 60]), { horizontal: true }),
      barChart("Profondeur d'escalade (personnes sollicitées par sollicitation)", Object.entries(depth.distribution)
        .map(([k, n]) => [Number(k) > 1 ? `${k} personnes` : `${k} personne`, n]), {
        note: depth.pages ? `Moyenne ${String(depth.mean).replace(".", ",")} · ${plural(depth.acknowledged, "prise en charge",
          "prises en charge")} · ${depth.unreached} sans réponse` : "" }),
      barChart("Messages remis, par canal", delivery.map(([channel, x]) =>
        [CHANNELS[channel] || channel, 100 * (x.success_rate ?? 0)]), { percent: true,
        note: delivery.length ? delivery.map(([c, x]) => `${CHANNELS[c] || c} : ${x.ok} remis, ${x.failed} en échec`).join(" · ") : "" }),
      barChart("Alertes hors PC, par nature", Object.entries(f.bypassed.by_category).slice(0, 10), { horizontal: true }),
    ].join("");
  }

  function renderBypassed() {
    const rows = state.bypassed || [];
    const all = !state.orgId;
    const total = rows.reduce((sum, r) => sum + r.count, 0);
    $("#bypassed-list").innerHTML = `<h3>Sur la période : ${plural(total, "alerte")}</h3>${rows.length
      ? `<table class="data-table"><thead><tr><th>Date</th>${all ? "<th>Commune</th>" : ""}<th>Nature</th><th>Nombre</th>
          <th>Description</th></tr></thead><tbody>${rows.map((r) => `<tr data-bypassed-id="${r.id}">
          <td class="nowrap">${esc(frInput(parseDate(r.occurred_at).getTime(), zoneOf(r.organization_id)).replace(" ", " à "))}</td>
          ${all ? `<td>${esc(orgName(r.organization_id))}</td>` : ""}<td>${esc(r.category)}</td>
          <td class="num">${r.count}</td><td>${esc(r.description)}</td></tr>`).join("")}</tbody></table>`
      : `<p class="muted">Aucune alerte hors PC enregistrée sur la période.</p>`}`;
  }

  async function loadCategories() {
    const orgId = Number(bypassedForm.elements.organization_id.value);
    if (!orgId) return;
    try {
      const procedures = await api.get(`/api/v1/procedures?organization_id=${orgId}`);
      $("#bypassed-categories").innerHTML = [...new Set(procedures.map((p) => p.category))]
        .map((c) => `<option value="${esc(c)}"></option>`).join("");
    } catch (error) { /* typed by hand */ }
  }

  function resetBypassedForm() {
    const orgId = Number(bypassedForm.elements.organization_id.value);
    bypassedForm.elements.occurred_at.value = frInput(Date.now(), zoneOf(orgId));
    bypassedForm.elements.category.value = "";
    bypassedForm.elements.count.value = "1";
    bypassedForm.elements.description.value = "";
  }

  bypassedForm.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const errorBox = bypassedForm.querySelector(".form-error");
    errorBox.hidden = true;
    const orgId = Number(bypassedForm.elements.organization_id.value);
    const at = parseFrDateTime(bypassedForm.elements.occurred_at.value, zoneOf(orgId));
    const category = bypassedForm.elements.category.value.trim();
    const count = Number(bypassedForm.elements.count.value);
    const problem = !orgId ? "Choisissez la commune."
      : !at ? "Date invalide : écrivez jj/mm/aaaa hh:mm, par exemple 07/12/2026 08:30."
        : at.getTime() > Date.now() + 60_000 ? "La date de l'alerte est dans le futur."
          : !category ? "Indiquez la nature des alertes."
            : !(Number.isInteger(count) && count >= 1) ? "Le nombre doit être un entier positif." : "";
    if (problem) {
      errorBox.textContent = problem;
      errorBox.hidden = false;
      return;
    }
    const button = bypassedForm.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await api.post("/api/v1/bypassed-alerts", {
        organization_id: orgId, occurred_at: new Date(Math.min(at.getTime(), Date.now())).toISOString(), category, count,
        description: bypassedForm.elements.description.value.trim() });
      toast(count > 1 ? `${count} alertes hors PC enregistrées.` : "Alerte hors PC enregistrée.");
      resetBypassedForm();
      load();
    } catch (error) {
      errorBox.textContent = error.french;
      errorBox.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
  bypassedForm.elements.organization_id.addEventListener("change", () => {
    resetBypassedForm();
    loadCategories();
  });

  const run = (button, job) => async () => {
    button.disabled = true;
    try {
      const name = await job();
      if (name) toast(`Fichier ${name} téléchargé.`);
    } catch (error) {
      toast(error.french || String(error), "error");
    } finally {
      button.disabled = false;
    }
  };
  $("#db-csv").addEventListener("click", run($("#db-csv"),
    () => download(`/api/v1/dashboard?${query({ format: "csv" })}`, "indicateurs.csv")));
  $("#db-archive-csv").addEventListener("click", run($("#db-archive-csv"),
    () => download(`/api/v1/archive?${query({ format: "csv" })}`, "main-courante.csv")));
  $("#db-archive-json").addEventListener("click", run($("#db-archive-json"),
    () => download(`/api/v1/archive?${query({ format: "json" })}`, "main-courante.json")));
  const projection = $("#db-projection");
  const unproject = () => {
    projection.classList.remove("projecting");
    if (document.fullscreenElement === projection) document.exitFullscreen().catch(() => {});
  };
  $("#db-project").addEventListener("click", async () => {
    try {
      await projection.requestFullscreen();
    } catch (error) {
      // Full screen refused (a browser setting): the same block over the whole window, F11 does the rest.
      projection.classList.add("projecting");
    }
  });
  $("#db-unproject").addEventListener("click", unproject);
  const onKey = (key) => { if (key.key === "Escape" && projection.classList.contains("projecting")) unproject(); };
  document.addEventListener("keydown", onKey);

  root.querySelector(".db-filters").addEventListener("click", (click) => {
    const quick = click.target.closest("[data-quick]");
    if (!quick) return;
    state.quick = quick.dataset.quick;
    [state.from, state.to] = quickPeriod(state.quick, tz());
    load();
  });
  periodForm.addEventListener("submit", (submit) => {
    submit.preventDefault();
    const from = parseFrDay(periodForm.elements.from.value);
    const to = parseFrDay(periodForm.elements.to.value);
    if (!from || !to) return showError("Dates invalides : écrivez jj/mm/aaaa, par exemple 01/10/2026.");
    if (dayStart(to, tz()) < dayStart(from, tz())) return showError("La fin de la période doit suivre son début.");
    Object.assign(state, { from, to, quick: null });
    load();
  });
  $("#db-org").addEventListener("change", () => {
    state.orgId = Number($("#db-org").value) || null;
    if (state.orgId) {
      rememberCommune(state.orgId);
      bypassedForm.elements.organization_id.value = String(state.orgId);
      resetBypassedForm();
      loadCategories();
    }
    load();
  });

  resetBypassedForm();
  loadCategories();
  load();
  return {
    unmount() {
      state.seq += 1;
      document.removeEventListener("keydown", onKey);
      if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    },
  };
}
