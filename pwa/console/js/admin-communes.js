// Administration › Communes: the list, a new commune (admin), its identity (admin), and the PC's coverage
// hours of the week, the dates with other hours, and what an event outside them does (admin or its referent).

import { api } from "./api.js";
import { chooseCommune, chosenCommune, editableCommunes, errorBox, isAdmin, refreshOrgs, submitFrom } from "./admin-forms.js";
import { store } from "./store.js";
import { toast } from "./toast.js";
import { esc } from "./util.js";
import { isoDay, parseFrDay } from "./zone.js";

const WEEKDAYS = ["Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche"];
const HOLIDAYS = [["FR", "Jours fériés de France"], ["FR-alsace-moselle", "Jours fériés d'Alsace-Moselle"],
                  ["", "Aucun jour férié"]];
const OUT_OF_COVERAGE = [
  ["solicit", "Solliciter quand même les astreintes"],
  ["inform_referent", "Informer seulement le référent de la commune"],
];
const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
const HHMM_END = /^(([01]\d|2[0-3]):[0-5]\d|24:00)$/;

/** "08:00-12:00, 14:00-18:00" → [{start, end}], or a French reason. */
export function parseWindows(text) {
  const parts = text.split(/[,;]/).map((p) => p.trim()).filter(Boolean);
  const windows = [];
  for (const part of parts) {
    const [start, end] = part.split(/\s*(?:-|→|à)\s*/);
    if (!HHMM.test(start || "") || !HHMM_END.test(end || "") || (end !== "24:00" && end <= start)) {
      return { error: `« ${part} » : écrivez une plage « HH:MM-HH:MM » (24:00 pour minuit), la fin après le début.` };
    }
    windows.push({ start, end });
  }
  return { windows };
}

export function mountCommunes(root, { action }) {
  const state = { orgId: chosenCommune(), creating: action === "nouvelle" && isAdmin(), alive: true };

  function render() {
    const communes = editableCommunes();
    root.innerHTML = `<div class="adm-split">
        <section class="panel adm-list" data-testid="communes">
          <h2>Communes</h2>
          ${communes.length ? `<ul class="adm-items">${communes.map((o) => `<li><button type="button" class="adm-item${
            !state.creating && o.id === state.orgId ? " active" : ""}" data-org-id="${o.id}">${esc(o.name)} <span class="muted small">${esc(o.code)}</span></button></li>`).join("")}</ul>`
            : `<p class="muted" data-testid="no-commune">Aucune commune pour l'instant.</p>`}
          ${isAdmin() ? `<button type="button" class="primary" id="adm-new-commune">Créer une commune</button>` : ""}
        </section>
        <div class="adm-detail" id="adm-detail"></div>
      </div>`;
    const detail = root.querySelector("#adm-detail");
    if (state.creating) renderCreate(detail);
    else if (state.orgId != null) renderCommune(detail, state.orgId);
    else detail.innerHTML = `<p class="empty">${isAdmin() ? "Créez la première commune servie par le PC."
      : "Aucune commune dans votre périmètre."}</p>`;
  }

  root.addEventListener("click", (click) => {
    const item = click.target.closest("[data-org-id]");
    if (item) {
      state.creating = false;
      state.orgId = Number(item.dataset.orgId);
      chooseCommune(state.orgId);
      render();
    } else if (click.target.id === "adm-new-commune") {
      state.creating = true;
      render();
      root.querySelector("#adm-commune-form [name=name]")?.focus();
    }
  });

  // ---- a new commune ----
  function renderCreate(detail) {
    detail.innerHTML = `<section class="panel">
        <h2>Nouvelle commune</h2>
        <form id="adm-commune-form" class="form" novalidate>
          ${identityFields({ timezone: "Europe/Paris" })}
          <p class="hint muted">Les heures couvertes par le PC se règlent une fois la commune créée.</p>
          ${errorBox()}
          <div class="adm-actions"><button type="submit" class="primary">Créer la commune</button>
            <button type="button" id="adm-cancel" class="ghost">Annuler</button></div>
        </form></section>`;
    const form = detail.querySelector("form");
    detail.querySelector("#adm-cancel").addEventListener("click", () => { state.creating = false; render(); });
    form.addEventListener("submit", async (submit) => {
      submit.preventDefault();
      const result = await submitFrom(form, "POST", "/api/v1/organizations", identityOf(form, true));
      if (!result.ok || !state.alive) return;
      toast(`Commune « ${result.data.name} » créée.`);
      await refreshOrgs().catch(() => store.orgs.set(result.data.id, result.data));
      Object.assign(state, { creating: false, orgId: result.data.id });
      chooseCommune(result.data.id);
      if (state.alive) render();
    });
  }

  function identityFields(org) {
    const readOnly = isAdmin() ? "" : " readonly";
    return `<div class="grid2">
        <label><span>Nom <span class="req">*</span></span><input name="name" required maxlength="200" value="${esc(org.name)}"${readOnly}></label>
        <label><span>Code (utilisé dans les SMS) <span class="req">*</span></span><input name="code" required maxlength="20"
          value="${esc(org.code)}" placeholder="CHENOVE" autocapitalize="characters"${readOnly}></label>
        <label>Fuseau horaire<input name="timezone" value="${esc(org.timezone)}"${readOnly}></label>
        <label>Téléphone du PC pour cette commune<input name="pc_phone" type="tel" value="${esc(org.pc_phone)}"${readOnly}></label>
        ${org.id ? callFields(org, readOnly) : ""}
      </div>`;
  }

  // Calls that ring the person's mobile even on silent (VIGIE_VOICE_PROVIDERS): the commune's choice.
  function callFields(org, readOnly) {
    const disabled = readOnly ? " disabled" : "";
    const option = (value, label) =>
      `<option value="${value}"${String(org.voice_from_severity ?? "") === value ? " selected" : ""}>${label}</option>`;
    return `<label>Appel téléphonique à chaque sollicitation<select name="voice_from_severity"${disabled}>
          ${option("", "jamais")}${option("3", "grave et critique")}${option("4", "critique seulement")}</select></label>
        <label>Appeler si le SMS reste sans réponse après (minutes, vide : jamais)<input name="voice_after_sms_minutes"
          type="number" min="1" max="120" value="${esc(org.voice_after_sms_minutes ?? "")}"${readOnly}></label>`;
  }

  function identityOf(form, creating) {
    const v = (name) => form.elements[name].value.trim();
    const body = { name: v("name"), code: v("code").toUpperCase(), timezone: v("timezone") || "Europe/Paris" };
    body.pc_phone = v("pc_phone") || null;
    if (creating && !body.pc_phone) delete body.pc_phone;
    if (!creating && form.elements.voice_from_severity) {
      body.voice_from_severity = v("voice_from_severity") ? Number(v("voice_from_severity")) : null;
      body.voice_after_sms_minutes = v("voice_after_sms_minutes") ? Number(v("voice_after_sms_minutes")) : null;
    }
    return body;
  }

  // ---- one commune ----
  async function renderCommune(detail, orgId) {
    const org = store.orgs.get(orgId);
    detail.innerHTML = `<section class="panel" data-testid="commune-identity">
        <h2>${esc(org.name)}</h2>
        <form id="adm-identity" class="form" novalidate>
          ${identityFields(org)}
          ${errorBox()}
          ${isAdmin() ? `<div class="adm-actions"><button type="submit" class="primary">Enregistrer</button></div>`
            : `<p class="hint muted">Seul un administrateur du PC modifie le nom et le code de la commune.</p>`}
        </form>
      </section>
      <section class="panel" data-testid="coverage"><h2>Heures couvertes par le PC</h2><p class="muted">Chargement…</p></section>
      <section class="panel" data-testid="exceptions"><h2>Dates particulières</h2></section>`;
    const identity = detail.querySelector("#adm-identity");
    identity.addEventListener("submit", async (submit) => {
      submit.preventDefault();
      const result = await submitFrom(identity, "PATCH", `/api/v1/organizations/${orgId}`, identityOf(identity, false));
      if (!result.ok || !state.alive) return;
      toast("Commune enregistrée.");
      await refreshOrgs().catch(() => store.orgs.set(orgId, result.data));
      if (state.alive) render();
    });
    try {
      const [coverage, exceptions] = await Promise.all([
        api.get(`/api/v1/organizations/${orgId}/coverage`),
        api.get(`/api/v1/organizations/${orgId}/coverage/exceptions`),
      ]);
      if (!state.alive || state.orgId !== orgId || state.creating) return;
      renderCoverage(detail.querySelector("[data-testid=coverage]"), orgId, coverage);
      renderExceptions(detail.querySelector("[data-testid=exceptions]"), orgId, exceptions);
    } catch (error) {
      if (state.alive) detail.querySelector("[data-testid=coverage]").innerHTML = `<p class="form-error">${esc(error.french)}</p>`;
    }
  }

  function windowRow(w) {
    return `<tr class="adm-window">
        <td><select name="weekday" aria-label="Jour">${WEEKDAYS.map((d, i) =>
          `<option value="${i}"${i === w.weekday ? " selected" : ""}>${d}</option>`).join("")}</select></td>
        <td><input name="start" aria-label="Début" value="${esc(w.start)}" placeholder="08:00" size="5" maxlength="5"></td>
        <td><input name="end" aria-label="Fin" value="${esc(w.end)}" placeholder="24:00" size="5" maxlength="5"></td>
        <td><button type="button" class="small" data-remove-window>Retirer</button></td></tr>`;
  }

  function renderCoverage(box, orgId, coverage) {
    const weekly = [...coverage.weekly].sort((a, b) => a.weekday - b.weekday || a.start.localeCompare(b.start));
    box.innerHTML = `<h2>Heures couvertes par le PC</h2>
      <p class="muted small">${coverage.covered_now ? "Le PC couvre la commune en ce moment." : "Le PC ne couvre pas la commune en ce moment."}
        ${esc(String(coverage.weekly_hours).replace(".", ","))} h par semaine hors jours fériés.</p>
      <form id="adm-coverage" class="form" novalidate>
        <table class="data-table adm-windows"><thead><tr><th>Jour</th><th>Début</th><th>Fin (24:00 = minuit)</th><th></th></tr></thead>
          <tbody data-list="weekly">${weekly.map(windowRow).join("")}</tbody></table>
        <div class="adm-actions"><button type="button" class="small" id="adm-add-window">Ajouter une plage</button>
          <button type="button" class="small" id="adm-all-week">Toute la semaine, jour et nuit</button></div>
        <div class="grid2">
          <label>Jours fériés (couverts toute la journée)<select name="holidays">${HOLIDAYS.map(([v, l]) =>
            `<option value="${v}"${(coverage.holidays || "") === v ? " selected" : ""}>${l}</option>`).join("")}</select></label>
          <label>Un événement hors de ces heures<select name="out_of_coverage">${OUT_OF_COVERAGE.map(([v, l]) =>
            `<option value="${v}"${coverage.out_of_coverage === v ? " selected" : ""}>${l}</option>`).join("")}</select></label>
          <label>Délai pour confirmer une prise d'astreinte (minutes)<input name="watch_confirm_minutes" type="number"
            min="5" max="720" value="${coverage.watch_confirm_minutes}"></label>
          <label class="inline adm-check"><input name="swap_needs_approval" type="checkbox"${coverage.swap_needs_approval ? " checked" : ""}> Les échanges de tours demandent l'accord d'un cadre</label>
        </div>
        ${errorBox()}
        <div class="adm-actions"><button type="submit" class="primary">Enregistrer les horaires</button></div>
      </form>`;
    const form = box.querySelector("form");
    const body = form.querySelector("tbody");
    box.querySelector("#adm-add-window").addEventListener("click", () => {
      body.insertAdjacentHTML("beforeend", windowRow({ weekday: 0, start: "", end: "" }));
      body.lastElementChild.querySelector("[name=start]").focus();
    });
    box.querySelector("#adm-all-week").addEventListener("click", () => {
      body.innerHTML = WEEKDAYS.map((_, weekday) => windowRow({ weekday, start: "00:00", end: "24:00" })).join("");
    });
    body.addEventListener("click", (click) => {
      if (click.target.matches("[data-remove-window]")) click.target.closest("tr").remove();
    });
    form.addEventListener("submit", async (submit) => {
      submit.preventDefault();
      const weekly = [...body.querySelectorAll("tr")].map((row) => ({
        weekday: Number(row.querySelector("[name=weekday]").value),
        start: row.querySelector("[name=start]").value.trim(), end: row.querySelector("[name=end]").value.trim(),
      }));
      const result = await submitFrom(form, "PATCH", `/api/v1/organizations/${orgId}/coverage`, {
        weekly, holidays: form.elements.holidays.value || null, out_of_coverage: form.elements.out_of_coverage.value,
        watch_confirm_minutes: Number(form.elements.watch_confirm_minutes.value),
        swap_needs_approval: form.elements.swap_needs_approval.checked,
      });
      if (!result.ok || !state.alive) return;
      toast("Horaires enregistrés.");
      renderCoverage(box, orgId, result.data);
    });
  }

  function renderExceptions(box, orgId, exceptions) {
    const say = (e) => e.windows.length ? e.windows.map((w) => `${w.start}–${w.end}`).join(", ") : "non couverte";
    box.innerHTML = `<h2>Dates particulières</h2>
      <p class="muted small">Un pont, un jour de fermeture, un samedi ouvert : ces dates remplacent les horaires de la semaine.</p>
      ${exceptions.length ? `<ul class="adm-rows">${exceptions.map((e) => `<li data-exception-id="${e.id}">
          <strong>${esc(new Date(`${e.day}T12:00`).toLocaleDateString("fr-FR", { weekday: "long", day: "numeric", month: "long", year: "numeric" }))}</strong>
          — ${esc(say(e))}${e.label ? ` <span class="muted">· ${esc(e.label)}</span>` : ""}
          <button type="button" class="small" data-delete-exception="${e.id}">Supprimer</button></li>`).join("")}</ul>`
        : `<p class="muted">Aucune date particulière.</p>`}
      <form id="adm-exception" class="form" novalidate>
        <div class="grid3">
          <label>Date<input name="day" required placeholder="jj/mm/aaaa" inputmode="numeric"></label>
          <label>Heures couvertes ce jour-là<input name="windows" placeholder="vide = non couverte ; ex. 00:00-24:00"></label>
          <label>Libellé<input name="label" maxlength="200" placeholder="Pont de l'Ascension"></label>
        </div>
        ${errorBox()}
        <div class="adm-actions"><button type="submit">Ajouter la date</button></div>
      </form>`;
    const form = box.querySelector("form");
    box.querySelectorAll("[data-delete-exception]").forEach((button) => button.addEventListener("click", async () => {
      const result = await submitFrom(form, "DELETE", `/api/v1/coverage/exceptions/${button.dataset.deleteException}`);
      if (result.ok && state.alive) reloadExceptions(box, orgId);
    }));
    form.addEventListener("submit", async (submit) => {
      submit.preventDefault();
      const alert = form.querySelector(".form-error");
      const parsed = parseWindows(form.elements.windows.value);
      const day = parseFrDay(form.elements.day.value);
      if (!day || parsed.error) {
        alert.textContent = parsed.error || "Date invalide : écrivez jj/mm/aaaa.";
        alert.hidden = false;
        return;
      }
      const result = await submitFrom(form, "POST", `/api/v1/organizations/${orgId}/coverage/exceptions`, {
        day: isoDay(day), windows: parsed.windows, label: form.elements.label.value.trim() });
      if (result.ok && state.alive) {
        toast("Date ajoutée.");
        reloadExceptions(box, orgId);
      }
    });
  }

  async function reloadExceptions(box, orgId) {
    try {
      const exceptions = await api.get(`/api/v1/organizations/${orgId}/coverage/exceptions`);
      if (state.alive && state.orgId === orgId) renderExceptions(box, orgId, exceptions);
    } catch (error) { /* the list stays as it was */ }
  }

  render();
  return { unmount() { state.alive = false; } };
}
