// « Paie des astreintes » (#/paie): for the commune's HR officer at month end and the manager who signs off.
// One commune, one month: « Calculer le mois » produces a new version of the month's payroll items (earlier
// versions stay as they were); the versions of the month with their totals and files (CSV, XLSX); the chosen
// version per agent, with what payroll must check (warnings, people not paid) and each agent's statement;
// « Valider pour la paie » on the latest version (admins and the commune's referent, once the month is over);
// the commune's payroll settings (regime per group kind, payroll codes, the astreinte day, per-agent rules).

import { api, download, request } from "./api.js";
import { communes, currentCommune, rememberCommune, zoneOf } from "./calls.js";
import { store } from "./store.js";
import { toast } from "./toast.js";
import { esc } from "./util.js";
import { dayOf, fmt, frInput } from "./zone.js";

const MONTHS_BACK = 36; // the months offered: this one and the three years before it
const KINDS = [["technique", "Techniciens"], ["cadre", "Cadres"], ["prestataire", "Prestataires"], ["elu", "Élus"]];
const MODES = { paid: "payées", time_off: "en repos" };
const NOT_EDITOR = "La validation revient au référent de la commune ou à un administrateur.";
const READ_ONLY = "Consultation seule : seuls un administrateur ou le référent de la commune modifient les réglages de paie.";
// The payroll items a commune maps to its own codes, in the order payroll reads them.
const ITEMS = {
  "astreinte.week": "Astreinte — semaine complète",
  "astreinte.weekend": "Astreinte — week-end (vendredi soir au lundi matin)",
  "astreinte.workweek": "Astreinte — du lundi matin au vendredi soir",
  "astreinte.night": "Astreinte — nuit",
  "astreinte.night_short": "Astreinte — nuit fractionnée (moins de 10 h)",
  "astreinte.saturday": "Astreinte — samedi",
  "astreinte.sunday_or_holiday": "Astreinte — dimanche ou jour férié",
  "astreinte.holiday_supplement": "Astreinte — jour férié en sus de la semaine ou du week-end",
  "astreinte.short_notice": "Astreinte — majoration pour délai de prévenance court",
  "intervention.weekday": "Intervention — jour de semaine",
  "intervention.saturday": "Intervention — samedi",
  "intervention.night": "Intervention — nuit (22 h – 7 h)",
  "intervention.sunday_or_holiday": "Intervention — dimanche ou jour férié",
  "repos.weekday": "Repos compensateur — jour de semaine",
  "repos.saturday": "Repos compensateur — samedi",
  "repos.night": "Repos compensateur — nuit",
  "repos.sunday_or_holiday": "Repos compensateur — dimanche ou jour férié",
};
const ERRORS = {
  role_forbidden: "Votre rôle ne permet pas cette action.",
  already_validated: "Cette version a déjà été validée.",
  superseded: "Une version plus récente de ce mois existe : c'est elle qu'il faut valider.",
  month_not_over: "Le mois n'est pas terminé : recalculez-le une fois fini pour pouvoir le valider.",
  bad_month: "Mois invalide.",
  unknown_regime: "Ce régime (ou cette variante) n'existe pas.",
  kind_not_paid: "Les élus ne sont jamais payés d'astreinte.",
  elected_not_paid: "Les élus ne sont jamais payés d'astreinte.",
  unknown_item: "Élément de paie inconnu.",
  bad_day_bounds: "Le début de la journée d'astreinte doit précéder sa fin.",
  variant_without_regime: "Une variante va avec un régime : choisissez le régime.",
  not_found: "Introuvable (supprimé ou hors de votre périmètre).",
  invalid_input: "Certaines informations sont invalides ou manquantes.",
};
const french = (error, special = {}) => special[error.code] || ERRORS[error.code] || error.french || String(error);

const EUR = new Intl.NumberFormat("fr-FR", { style: "currency", currency: "EUR" });
const HOURS = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 2 });
/** "1005.71" → "1 005,71 €" */
const money = (value) => (value == null || value === "" ? "—" : EUR.format(Number(value)));
/** "9.75" → "9,75 h" */
const hours = (value) => `${HOURS.format(Number(value || 0))} h`;
const cents = (value) => Math.round(Number(value || 0) * 100);
const plural = (n, one, many = `${one}s`) => `${n} ${n > 1 ? many : one}`;
const monthKey = (y, mo) => `${y}-${String(mo).padStart(2, "0")}`;
/** The regime's name without its legal references: "Filière technique — barème 2015 — Astreinte d'exploitation". */
const shortRegime = (label) => String(label || "").replace(/\s*\([^)]*\)/g, "").trim();

export function mountPayroll(root) {
  const list = communes();
  const state = {
    orgId: currentCommune(), month: null, versions: null, selectedId: null, detail: null, error: "",
    settings: null, people: null, settingsError: "", seq: 0, detailSeq: 0, settingsSeq: 0,
  };
  const tz = () => zoneOf(state.orgId);
  const canEdit = () => store.me.role === "admin"
    || (store.me.role === "referent" && store.me.organization_id === state.orgId);
  /** "01/12/2026 à 11:40", the commune's time */
  const when = (iso) => (iso ? frInput(new Date(iso).getTime(), tz()).replace(" ", " à ") : "");
  const monthLabel = (key) => {
    const [y, mo] = key.split("-").map(Number);
    return fmt(tz(), { month: "long", year: "numeric" }).format(new Date(Date.UTC(y, mo - 1, 15, 12)));
  };
  function months() {
    const today = dayOf(new Date(), tz());
    const found = [];
    for (let i = 0, y = today.y, mo = today.mo; i <= MONTHS_BACK; i += 1) {
      found.push(monthKey(y, mo));
      [y, mo] = mo === 1 ? [y - 1, 12] : [y, mo - 1];
    }
    return found; // this month first
  }
  state.month = months()[1];

  root.innerHTML = `<div class="payroll-view" data-testid="payroll">
      <div class="py-head">
        <h1>Paie des astreintes</h1>
        <label class="inline">Commune
          <select id="py-org">${list.map((o) => `<option value="${o.id}">${esc(o.name)}</option>`).join("")}</select></label>
        <div class="pl-weeknav py-monthnav" role="group" aria-label="Mois">
          <button type="button" id="py-prev" title="Mois précédent" aria-label="Mois précédent">‹</button>
          <select id="py-month" aria-label="Mois"></select>
          <button type="button" id="py-next" title="Mois suivant" aria-label="Mois suivant">›</button>
        </div>
        <button type="button" class="primary" id="py-compute">Calculer le mois</button>
      </div>
      <p class="hint muted py-help">Chaque calcul produit une nouvelle version du mois ; les versions précédentes restent telles
        qu'elles ont été produites (fichiers et relevés compris). Seule la dernière version se valide pour la paie, une fois le mois terminé.</p>
      <section class="panel" id="py-versions" data-testid="payroll-versions"><p class="muted">Chargement…</p></section>
      <section class="panel py-detail" id="py-detail" data-testid="payroll-detail" hidden></section>
      <details class="panel py-settings" id="py-settings" data-testid="payroll-settings">
        <summary><h2>Réglages de paie</h2><span class="muted small">régime par type de groupe, codes de paie,
          journée d'astreinte, règles par agent</span></summary>
        <div id="py-settings-body"><p class="muted">Chargement…</p></div>
      </details>
    </div>`;
  const $ = (selector) => root.querySelector(selector);
  const monthSelect = $("#py-month");
  const settingsBox = $("#py-settings");
  if (state.orgId != null) $("#py-org").value = String(state.orgId);
  if (!list.length) {
    $("#py-versions").innerHTML = `<p class="muted">Aucune commune dans votre périmètre.</p>`;
    $("#py-compute").disabled = true;
  }

  function renderMonths() {
    const all = months();
    monthSelect.innerHTML = all.map((key, i) => `<option value="${key}">${esc(monthLabel(key))}${
      i === 0 ? " (en cours)" : ""}</option>`).join("");
    monthSelect.value = state.month;
    const index = all.indexOf(state.month);
    $("#py-next").disabled = index <= 0;
    $("#py-prev").disabled = index === all.length - 1;
  }

  // ---- the versions of the month -------------------------------------------------------------------
  async function load({ select = null } = {}) {
    if (state.orgId == null) return;
    const seq = ++state.seq;
    try {
      const versions = await api.get(`/api/v1/organizations/${state.orgId}/payroll-exports?month=${state.month}`);
      if (seq !== state.seq) return; // a later choice won
      state.versions = versions;
      state.error = "";
      const wanted = select ?? state.selectedId;
      state.selectedId = versions.some((v) => v.id === wanted) ? wanted : versions[0]?.id ?? null;
    } catch (error) {
      if (seq !== state.seq) return;
      Object.assign(state, { versions: null, selectedId: null, error: french(error) });
    }
    renderVersions();
    await loadDetail();
  }

  async function loadDetail() {
    const seq = ++state.detailSeq;
    if (state.selectedId == null) {
      state.detail = null;
      return renderDetail();
    }
    try {
      const detail = await api.get(`/api/v1/payroll-exports/${state.selectedId}`);
      if (seq !== state.detailSeq) return;
      state.detail = detail;
    } catch (error) {
      if (seq !== state.detailSeq) return;
      state.detail = { error: french(error) };
    }
    renderDetail();
  }

  function statusHtml(x) {
    if (x.status === "validated") {
      return `<span class="py-status validated" data-testid="status">Validée par ${esc(x.validated_by)} le ${esc(when(x.validated_at))}</span>`;
    }
    if (x.status === "superseded") {
      return `<span class="py-status superseded" data-testid="status">Remplacée par une version plus récente</span>${
        x.validated_at ? `<span class="muted small">avait été validée par ${esc(x.validated_by)} le ${esc(when(x.validated_at))}</span>` : ""}`;
    }
    return `<span class="py-status draft" data-testid="status">À valider</span>`;
  }

  const incompleteHtml = (x) => (x.complete ? "" : `<p class="py-incomplete" data-testid="incomplete">⚠ Calculée avant la fin du mois : les chiffres changeront</p>`);

  function renderVersions() {
    const box = $("#py-versions");
    const label = monthLabel(state.month);
    if (state.error) {
      box.innerHTML = `<h2>Versions de ${esc(label)}</h2><p class="form-error">Versions indisponibles : ${esc(state.error)}</p>`;
      return;
    }
    const versions = state.versions || [];
    box.innerHTML = `<h2>Versions de ${esc(label)} <span class="count">${versions.length || ""}</span></h2>${versions.length
      ? `<ol class="py-versions">${versions.map((x) => {
        const t = x.totals;
        const selected = x.id === state.selectedId;
        return `<li class="py-version${selected ? " selected" : ""}" data-export-id="${x.id}" data-version="${x.version}"
            data-status="${esc(x.status)}">
          <div class="py-version-what">
            <div class="py-version-title"><strong>Version ${x.version}</strong> ${statusHtml(x)}</div>
            <div class="muted small">Calculée le ${esc(when(x.created_at))} par ${esc(x.created_by)}</div>
            ${incompleteHtml(x)}
          </div>
          <div class="py-version-totals">
            <div class="py-amount" data-testid="amount">${esc(money(t.amount))}</div>
            <div class="muted small">${plural(t.agents, "agent")} · ${plural(t.lines, "ligne")} · ${esc(hours(t.time_off_hours))} de repos${
              x.warning_count ? ` · <span class="py-warn-count">${plural(x.warning_count, "alerte")}</span>` : " · aucune alerte"}</div>
          </div>
          <div class="py-version-links">
            <button type="button" class="small" data-file="${esc(x.csv_url)}" data-name="paie-astreintes-${esc(x.month)}-v${x.version}.csv">CSV</button>
            <button type="button" class="small" data-file="${esc(x.xlsx_url)}" data-name="paie-astreintes-${esc(x.month)}-v${x.version}.xlsx">XLSX</button>
            <button type="button" class="small ghost" data-select="${x.id}" ${selected ? "disabled" : ""}>${selected ? "Détail affiché" : "Voir le détail"}</button>
          </div>
        </li>`;
      }).join("")}</ol>`
      : `<p class="muted">Aucune version pour ${esc(label)} : « Calculer le mois » produit la première.</p>`}`;
  }

  // ---- the chosen version, per agent ---------------------------------------------------------------
  function renderDetail() {
    const box = $("#py-detail");
    const d = state.detail;
    box.hidden = !d;
    if (!d) return;
    if (d.error) {
      box.innerHTML = `<p class="form-error">Détail indisponible : ${esc(d.error)}</p>`;
      return;
    }
    const latest = state.versions?.[0]?.id === d.id;
    let validate = "";
    if (latest && d.status === "draft") {
      const why = !canEdit() ? NOT_EDITOR
        : !d.complete ? "Le mois n'est pas terminé : recalculez-le une fois fini pour pouvoir le valider." : "";
      validate = `<button type="button" class="primary" id="py-validate" ${why ? `disabled title="${esc(why)}"` : ""}>Valider pour la paie</button>
        ${why ? `<span class="muted small py-why">${esc(why)}</span>` : ""}`;
    } else if (!latest && d.status !== "validated") {
      validate = `<span class="muted small py-why">Seule la dernière version du mois se valide.</span>`;
    }
    const agents = d.agents || [];
    const sum = (field) => (agents.reduce((total, a) => total + cents(a[field]), 0) / 100).toFixed(2);
    const byPerson = new Map();
    for (const w of d.warnings || []) {
      const key = w.person_id ?? 0;
      if (!byPerson.has(key)) byPerson.set(key, { person: w.person, messages: [] });
      byPerson.get(key).messages.push(w.message);
    }
    box.innerHTML = `<div class="py-detail-head">
        <div><h2 class="py-detail-title">Version ${d.version} — ${esc(monthLabel(d.month))}</h2>
          <div class="py-version-title">${statusHtml(d)}</div>${incompleteHtml(d)}</div>
        <div class="py-detail-actions">${validate}
          <button type="button" data-file="${esc(d.statements_zip_url)}" data-name="paie-astreintes-${esc(d.month)}-v${d.version}-releves.zip">Tous les relevés (ZIP)</button>
        </div>
      </div>
      ${agents.length ? `<table class="data-table py-agents" data-testid="payroll-agents"><thead><tr>
          <th>Agent</th><th>Matricule</th><th>Régime</th><th class="num">Astreintes</th><th class="num">Majorations</th>
          <th class="num">Interventions</th><th class="num">Repos comp.</th><th class="num">Total</th><th class="num">Lignes</th>
          <th>Alertes</th><th>Relevé</th></tr></thead>
        <tbody>${agents.map((a) => `<tr data-person-id="${a.person_id}">
          <td class="py-person">${esc(a.person)}</td>
          <td>${a.employee_number ? `<span class="nowrap">${esc(a.employee_number)}</span>`
            : `<a class="py-no-number" href="#/personne/${a.person_id}" title="Ses lignes sont exportées à son nom, sans matricule : le renseigner sur sa fiche puis recalculer le mois.">sans matricule</a>`}</td>
          <td class="py-regimes">${a.regimes.map((r) => `<div title="${esc(r)}">${esc(shortRegime(r))}</div>`).join("") || "—"}</td>
          <td class="num">${esc(money(a.astreinte_amount))}</td>
          <td class="num">${esc(money(a.majoration_amount))}</td>
          <td class="num">${esc(money(a.intervention_amount))}<div class="muted small">${esc(MODES[a.intervention_mode] || a.intervention_mode)}</div></td>
          <td class="num">${Number(a.time_off_hours) ? esc(hours(a.time_off_hours)) : "—"}</td>
          <td class="num py-total">${esc(money(a.total_amount))}</td>
          <td class="num">${a.lines}</td>
          <td>${a.warnings.length ? `<button type="button" class="py-warn-link py-warn-count" data-warnings="${a.person_id}"
              title="${esc(a.warnings.join("\n"))}">${plural(a.warnings.length, "alerte")}</button>` : `<span class="muted">—</span>`}</td>
          <td><button type="button" class="small" data-file="${esc(a.statement_url)}"
              data-name="paie-astreintes-${esc(d.month)}-v${d.version}-agent-${a.person_id}.pdf">PDF</button></td>
        </tr>`).join("")}</tbody>
        <tfoot><tr><td colspan="3">Total · ${plural(d.totals.agents, "agent")}</td>
          <td class="num">${esc(money(sum("astreinte_amount")))}</td><td class="num">${esc(money(sum("majoration_amount")))}</td>
          <td class="num">${esc(money(sum("intervention_amount")))}</td>
          <td class="num">${Number(d.totals.time_off_hours) ? esc(hours(d.totals.time_off_hours)) : "—"}</td>
          <td class="num py-total" data-testid="detail-total">${esc(money(d.totals.amount))}</td>
          <td class="num">${d.totals.lines}</td><td colspan="2"></td></tr></tfoot></table>`
        : `<p class="muted">Aucun agent à payer pour ce mois.</p>`}
      <div class="py-checks">
        <section id="py-warnings" data-testid="payroll-warnings"><h3>À vérifier avant la paie <span class="count">${(d.warnings || []).length || ""}</span></h3>${
          byPerson.size ? `<ul class="py-warnings">${[...byPerson.entries()].map(([id, w]) => `<li data-person-id="${id || ""}">
            <strong>${id ? `<a href="#/personne/${id}">${esc(w.person)}</a>` : "Tout l'export"}</strong><ul>${w.messages.map((m) => `<li>${esc(m)}</li>`).join("")}</ul></li>`).join("")}</ul>`
          : `<p class="muted">Aucune alerte.</p>`}</section>
        <section data-testid="payroll-excluded"><h3>Non payés <span class="count">${(d.excluded || []).length || ""}</span></h3>${
          (d.excluded || []).length ? `<ul class="py-excluded">${d.excluded.map((x) => `<li data-person-id="${x.person_id}">
            <strong>${esc(x.person)}</strong> — ${esc(x.reason)}</li>`).join("")}</ul>`
          : `<p class="muted">Personne n'est écarté de l'export.</p>`}</section>
      </div>`;
  }

  // ---- actions ------------------------------------------------------------------------------------
  async function compute(button) {
    button.disabled = true;
    button.textContent = "Calcul…";
    try {
      const made = await api.post(`/api/v1/organizations/${state.orgId}/payroll-exports`, { month: state.month });
      toast(`Version ${made.version} de ${monthLabel(made.month)} calculée : ${money(made.totals.amount)}.`);
      await load({ select: made.id });
    } catch (error) {
      toast(`Calcul impossible : ${french(error)}`, "error");
    } finally {
      button.disabled = state.orgId == null;
      button.textContent = "Calculer le mois";
    }
  }

  async function validate(button) {
    const d = state.detail;
    if (!d || !window.confirm(`Valider la version ${d.version} de ${monthLabel(d.month)} (${money(d.totals.amount)}) pour la paie ?`
      + " Une correction ultérieure sera une nouvelle version, à valider à son tour.")) return;
    button.disabled = true;
    try {
      const done = await api.post(`/api/v1/payroll-exports/${d.id}/validation`);
      toast(`Version ${done.version} validée pour la paie.`);
    } catch (error) {
      toast(`Validation refusée : ${french(error, { role_forbidden: NOT_EDITOR })}`, "error");
    }
    await load();
  }

  async function save(button) {
    button.disabled = true;
    try {
      const name = await download(button.dataset.file, button.dataset.name);
      toast(`Fichier ${name} téléchargé.`);
    } catch (error) {
      toast(french(error), "error");
    } finally {
      button.disabled = false;
    }
  }

  root.addEventListener("click", (click) => {
    const target = click.target;
    const file = target.closest("button[data-file]");
    if (file) return save(file);
    const choose = target.closest("[data-select]");
    if (choose) {
      state.selectedId = Number(choose.dataset.select);
      renderVersions();
      return loadDetail();
    }
    if (target.closest("#py-validate")) return validate(target.closest("#py-validate"));
    const warnings = target.closest("[data-warnings]");
    if (warnings) {
      const item = $(`#py-warnings li[data-person-id="${warnings.dataset.warnings}"]`);
      item?.scrollIntoView({ block: "center", behavior: "smooth" });
      item?.classList.add("flash");
      setTimeout(() => item?.classList.remove("flash"), 1500);
    }
  });
  $("#py-compute").addEventListener("click", (click) => compute(click.currentTarget));
  $("#py-org").addEventListener("change", () => {
    state.orgId = Number($("#py-org").value);
    rememberCommune(state.orgId);
    Object.assign(state, { selectedId: null, settings: null, people: null });
    renderMonths();
    load();
    if (settingsBox.open) loadSettings();
  });
  const moveTo = (month) => {
    state.month = month;
    state.selectedId = null;
    renderMonths();
    load();
  };
  monthSelect.addEventListener("change", () => moveTo(monthSelect.value));
  $("#py-prev").addEventListener("click", () => moveTo(months()[months().indexOf(state.month) + 1] || state.month));
  $("#py-next").addEventListener("click", () => moveTo(months()[months().indexOf(state.month) - 1] || state.month));

  // ---- the commune's payroll settings ---------------------------------------------------------------
  /** A regime and its variant as the selects write them, "technique-2015|exploitation"; "" for none. */
  function regimeValue(regime, variant) {
    if (!regime) return "";
    const r = state.settings?.regimes.find((x) => x.id === regime);
    return `${regime}|${variant || r?.default_variant || ""}`;
  }
  const choiceValue = (choice) => (choice ? regimeValue(choice.regime, choice.variant) : "");
  const regimeChoices = (settings) => settings.regimes.flatMap((r) => r.variants.map((v) => [
    `${r.id}|${v.name}`, `${shortRegime(r.label)} — ${v.label}`]));
  /** "technique-2015|exploitation" → its words; the regime's default variant when none is named. */
  function regimeWords(settings, regime, variant) {
    const r = settings.regimes.find((x) => x.id === regime);
    if (!r) return regime;
    const v = r.variants.find((x) => x.name === (variant || r.default_variant));
    return `${shortRegime(r.label)}${v ? ` — ${v.label}` : ""}`;
  }

  async function loadSettings() {
    if (state.orgId == null) return;
    const seq = ++state.settingsSeq;
    const org = state.orgId;
    try {
      const [settings, people] = await Promise.all([
        api.get(`/api/v1/organizations/${org}/payroll-settings`),
        api.get(`/api/v1/people?organization_id=${org}&active=true&limit=1000`),
      ]);
      if (seq !== state.settingsSeq) return;
      Object.assign(state, { settings, people, settingsError: "" });
    } catch (error) {
      if (seq !== state.settingsSeq) return;
      state.settingsError = french(error);
    }
    renderSettings();
  }

  function renderSettings() {
    const body = $("#py-settings-body");
    if (state.settingsError) {
      body.innerHTML = `<p class="form-error">Réglages indisponibles : ${esc(state.settingsError)}</p>`;
      return;
    }
    const s = state.settings;
    if (!s) return;
    const editable = canEdit();
    const off = editable ? "" : "disabled";
    const choices = regimeChoices(s);
    const options = (selected, none) => `<option value="">${esc(none)}</option>${choices.map(([value, label]) =>
      `<option value="${esc(value)}" ${value === selected ? "selected" : ""}>${esc(label)}</option>`).join("")}`;
    const org = store.orgs.get(state.orgId);
    const keys = [...Object.keys(ITEMS).filter((k) => s.codes[k]), ...Object.keys(s.codes).filter((k) => !ITEMS[k]).sort()];
    const regimeLabel = (id) => s.regimes.find((r) => r.id === id)?.label.replace(/\s*\(.*\)$/, "") || id;
    // "technique-2015/intervention.night": that regime's own code for the item (payroll keeps sectors apart).
    const itemLabel = (key) => {
      const [regime, item] = key.includes("/") ? key.split("/") : [null, key];
      return regime ? `${ITEMS[item] || item} — ${regimeLabel(regime)} seulement` : ITEMS[item] || item;
    };
    const codeRow = (key, code) => `<tr data-item="${esc(key)}"><td class="py-item">${esc(itemLabel(key))}</td>
      <td><input name="code" maxlength="30" value="${esc(code.code)}" aria-label="Code rubrique : ${esc(itemLabel(key))}" ${off}></td>
      <td><input name="label" maxlength="200" value="${esc(code.label)}" aria-label="Libellé : ${esc(itemLabel(key))}" ${off}></td>
      <td>${editable && key.includes("/") ? `<button type="button" class="small ghost" data-code-remove title="Revenir au code de l'élément pour tous les régimes">Retirer</button>` : ""}</td></tr>`;
    codeRowOf = codeRow;
    const rules = s.people;
    const ruled = new Set(rules.map((r) => r.person_id));
    const payable = (state.people || []).filter((p) => !p.is_elected)
      .sort((a, b) => a.display_name.localeCompare(b.display_name, "fr"));
    body.innerHTML = `<p class="muted small py-settings-note">${s.updated_at ? `Modifiés le ${esc(when(s.updated_at))}.`
        : "Réglages par défaut : jamais modifiés pour cette commune."} Un changement s'applique au prochain calcul ; les versions
        déjà produites ne changent pas.${editable ? "" : ` <strong>${esc(READ_ONLY)}</strong>`}</p>
      <form id="py-settings-form" class="py-settings-grid" novalidate>
        <fieldset class="py-fieldset"><legend>Export</legend>
          <label>Code collectivité (colonne « collectivité » du CSV)
            <input name="collectivite_code" maxlength="50" value="${esc(s.collectivite_code)}" placeholder="${esc(org?.code || "")}" ${off}></label>
          <p class="hint muted small">Vide : le code de la commune${org?.code ? ` (${esc(org.code)})` : ""}.</p>
          <div class="grid2">
            <label>Début de la journée d'astreinte <input name="morning" value="${esc(s.morning)}" placeholder="hh:mm" inputmode="numeric" ${off}></label>
            <label>Fin de la journée d'astreinte <input name="evening" value="${esc(s.evening)}" placeholder="hh:mm" inputmode="numeric" ${off}></label>
          </div>
          <p class="hint muted small">Les heures de service en semaine : les astreintes de nuit et de semaine se comptent à partir d'elles.</p>
        </fieldset>
        <fieldset class="py-fieldset"><legend>Régime par type de groupe</legend>
          <table class="data-table py-kinds"><tbody>${KINDS.map(([kind, label]) => `<tr data-kind="${kind}"><th scope="row">${esc(label)}</th><td>${
            kind === "elu" ? `<span class="muted">Jamais payés d'astreinte</span>`
              : `<select name="kind-${kind}" ${off}>${options(choiceValue(s.kind_regimes[kind]), "Non payés (aucun régime)")}</select>`}</td></tr>`).join("")}
          </tbody></table>
        </fieldset>
        <fieldset class="py-fieldset py-codes"><legend>Codes de paie (rubriques)</legend>
          <table class="data-table"><thead><tr><th>Élément</th><th>Code rubrique</th><th>Libellé dans l'export</th><th></th></tr></thead>
            <tbody>${keys.map((key) => codeRow(key, s.codes[key])).join("")}
            </tbody></table>
          ${editable ? `<div class="py-code-add"><span class="muted small">Un code propre à un régime :</span>
            <select name="add-regime" aria-label="Régime">${s.regimes.map((r) => `<option value="${esc(r.id)}">${esc(regimeLabel(r.id))}</option>`).join("")}</select>
            <select name="add-item" aria-label="Élément">${Object.entries(ITEMS).map(([k, l]) => `<option value="${esc(k)}">${esc(l)}</option>`).join("")}</select>
            <button type="button" class="small" data-code-add>Ajouter</button></div>` : ""}
        </fieldset>
        <p class="form-error" role="alert" hidden></p>
        ${editable ? `<div class="py-save"><button type="submit" class="primary">Enregistrer</button></div>` : ""}
      </form>
      <section class="py-rules" data-testid="payroll-rules"><h3>Règles par agent</h3>
        <p class="hint muted small">Par défaut, un agent est payé selon le régime du type de son groupe et ses interventions sont payées.</p>
        ${rules.length ? `<table class="data-table"><thead><tr><th>Agent</th><th>Régime</th><th>Paie</th><th>Interventions</th>${
          editable ? "<th></th>" : ""}</tr></thead><tbody>${rules.map((r) => `<tr data-person-id="${r.person_id}">
            <td class="py-person">${esc(r.person)}</td>
            <td>${r.regime ? esc(regimeWords(s, r.regime, r.variant)) : `<span class="muted">celui de son groupe</span>`}</td>
            <td>${r.excluded ? `<span class="py-status superseded">Exclu de l'export</span>` : "payé"}</td>
            <td>${r.intervention_mode === "time_off" ? "en repos compensateur" : "payées"}</td>
            ${editable ? `<td class="nowrap"><button type="button" class="small" data-rule-edit="${r.person_id}">Modifier</button>
              <button type="button" class="small ghost" data-rule-delete="${r.person_id}">Revenir au réglage par défaut</button></td>` : ""}
          </tr>`).join("")}</tbody></table>` : `<p class="muted">Aucune règle particulière : chacun suit le réglage de son groupe.</p>`}
        ${editable ? `<form id="py-rule-form" class="py-rule-form" novalidate>
          <label>Agent <select name="person_id"><option value="">Choisir…</option>${payable.map((p) =>
            `<option value="${p.id}">${esc(p.display_name)}${ruled.has(p.id) ? " (a déjà une règle)" : ""}</option>`).join("")}</select></label>
          <label>Régime <select name="regime">${options("", "Celui de son groupe")}</select></label>
          <label>Interventions <select name="intervention_mode"><option value="paid">payées</option>
            <option value="time_off">en repos compensateur</option></select></label>
          <label class="inline py-excluded-box"><input type="checkbox" name="excluded"> Exclu de l'export</label>
          <button type="submit">Enregistrer la règle</button>
          <p class="form-error" role="alert" hidden></p>
        </form>` : ""}
      </section>`;
  }

  function settingsChanges(form) {
    const s = state.settings;
    const changes = {};
    const text = (name) => form.elements[name].value.trim();
    if (text("collectivite_code") !== s.collectivite_code) changes.collectivite_code = text("collectivite_code");
    for (const name of ["morning", "evening"]) {
      const value = text(name).replace(/\s*h\s*/i, ":").replace(/:$/, ":00").replace(/^(\d):/, "0$1:");
      if (value === s[name]) continue;
      if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(value)) throw new Error("Heure invalide : écrivez hh:mm, par exemple 08:30.");
      changes[name] = value;
    }
    const kinds = {};
    for (const [kind] of KINDS.filter(([k]) => k !== "elu")) {
      const value = form.elements[`kind-${kind}`].value;
      if (value === choiceValue(s.kind_regimes[kind])) continue;
      const [regime, variant] = value.split("|");
      kinds[kind] = value ? { regime, variant: variant || null } : null;
    }
    if (Object.keys(kinds).length) changes.kind_regimes = kinds;
    const codes = {};
    for (const row of form.querySelectorAll("tr[data-item]")) {
      const key = row.dataset.item;
      if (row.hidden) {  // a regime's own code taken away: back to the item's
        if (s.codes[key]) codes[key] = null;
        continue;
      }
      const code = row.querySelector("input[name=code]").value.trim();
      const label = row.querySelector("input[name=label]").value.trim();
      const was = s.codes[key];
      if (was && code === was.code && label === was.label) continue;
      if (!code || !label) throw new Error(`Code et libellé sont obligatoires : ${ITEMS[key] || key}.`);
      codes[key] = { code, label };
    }
    if (Object.keys(codes).length) changes.codes = codes;
    return changes;
  }

  let codeRowOf = null; // set by renderSettings: one row of the codes table
  settingsBox.addEventListener("click", (click) => {
    const form = click.target.closest("#py-settings-form");
    if (!form) return;
    if (click.target.matches("[data-code-remove]")) {
      click.target.closest("tr").hidden = true;
      toast("Code retiré : « Enregistrer » pour l'appliquer.");
    } else if (click.target.matches("[data-code-add]")) {
      const key = `${form.elements["add-regime"].value}/${form.elements["add-item"].value}`;
      const existing = form.querySelector(`tr[data-item="${CSS.escape(key)}"]`);
      if (existing) {
        existing.hidden = false;
        existing.querySelector("input[name=code]").focus();
        return;
      }
      const base = state.settings.codes[form.elements["add-item"].value];
      form.querySelector(".py-codes tbody").insertAdjacentHTML("beforeend", codeRowOf(key, base));
      form.querySelector(`tr[data-item="${CSS.escape(key)}"] input[name=code]`).select();
    }
  });
  settingsBox.addEventListener("toggle", () => {
    if (settingsBox.open && !state.settings) loadSettings();
  });
  settingsBox.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const form = submit.target;
    const errorBox = form.querySelector(".form-error");
    errorBox.hidden = true;
    const button = form.querySelector("button[type=submit]");
    const org = state.orgId;
    try {
      let next;
      if (form.id === "py-settings-form") {
        const changes = settingsChanges(form);
        if (!Object.keys(changes).length) return toast("Aucun changement à enregistrer.");
        button.disabled = true;
        next = await request("PATCH", `/api/v1/organizations/${org}/payroll-settings`, { json: changes });
        toast("Réglages de paie enregistrés : ils s'appliquent au prochain calcul.");
      } else {
        const personId = Number(form.elements.person_id.value);
        if (!personId) throw new Error("Choisissez l'agent.");
        const [regime, variant] = form.elements.regime.value.split("|");
        button.disabled = true;
        next = await request("PUT", `/api/v1/organizations/${org}/payroll-settings/people/${personId}`, { json: {
          regime: regime || null, variant: regime ? variant || null : null, excluded: form.elements.excluded.checked,
          intervention_mode: form.elements.intervention_mode.value } });
        toast("Règle de l'agent enregistrée : elle s'applique au prochain calcul.");
      }
      if (org === state.orgId) {
        state.settings = next;
        renderSettings();
      }
    } catch (error) {
      errorBox.textContent = french(error);
      errorBox.hidden = false;
      if (button) button.disabled = false;
    }
  });
  settingsBox.addEventListener("click", async (click) => {
    const edit = click.target.closest("[data-rule-edit]");
    if (edit) {
      const rule = state.settings.people.find((r) => r.person_id === Number(edit.dataset.ruleEdit));
      const form = $("#py-rule-form");
      form.elements.person_id.value = String(rule.person_id);
      form.elements.regime.value = regimeValue(rule.regime, rule.variant);
      form.elements.intervention_mode.value = rule.intervention_mode;
      form.elements.excluded.checked = rule.excluded;
      form.elements.person_id.focus();
      return;
    }
    const remove = click.target.closest("[data-rule-delete]");
    if (!remove) return;
    remove.disabled = true;
    const org = state.orgId;
    try {
      const next = await request("DELETE", `/api/v1/organizations/${org}/payroll-settings/people/${remove.dataset.ruleDelete}`);
      toast("L'agent suit de nouveau le réglage de son groupe.");
      if (org === state.orgId) {
        state.settings = next;
        renderSettings();
      }
    } catch (error) {
      toast(french(error), "error");
      remove.disabled = false;
    }
  });
  // Choosing an agent who already has a rule shows it, ready to change.
  settingsBox.addEventListener("change", (change) => {
    if (change.target.name !== "person_id" || change.target.form?.id !== "py-rule-form") return;
    const form = change.target.form;
    const rule = state.settings.people.find((r) => r.person_id === Number(change.target.value));
    form.elements.regime.value = regimeValue(rule?.regime, rule?.variant);
    form.elements.intervention_mode.value = rule?.intervention_mode || "paid";
    form.elements.excluded.checked = Boolean(rule?.excluded);
  });

  renderMonths();
  load();
  return {
    unmount() {
      state.seq += 1;
      state.detailSeq += 1;
      state.settingsSeq += 1;
    },
  };
}
