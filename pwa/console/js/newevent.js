// The new event form. Before confirming, the operator sees who will be solicited and in
// which order (POST /api/v1/events/preview), refreshed whenever commune, procedure or
// severity change; "Confirmer" stays disabled until that preview matches the form.
// Opened from a logged call (#/nouvel-evenement?appel={id}), the form is pre-filled from the call and the
// event is linked to it (call_id), so the call log shows the event's number.
// A procedure chosen, its instructions show under it; « Sans procédure (cas imprévu) » lets the operator pick
// the groups to solicit and their order — the commune's, or the métropole's that serves it — (a procedure still a
// draft is not offered).

import { api } from "./api.js";
import { callsChanged, zoneOf } from "./calls.js";
import { CALLER_SOURCE, callerLabel, channelLabel, SEVERITY, SOURCES, severityLabel } from "./labels.js";
import { adHocPicker, escalationGroupLabelled, instructionsHtml } from "./procedurehelp.js";
import { refreshEvent, store } from "./store.js";
import { durationWords, esc, parseDate } from "./util.js";
import { toast } from "./toast.js";
import { clockIn } from "./zone.js";

export function mountNewEvent(root, { callId = null } = {}) {
  const communes = [...store.orgs.values()].filter((o) => o.kind === "commune")
    .sort((a, b) => a.name.localeCompare(b.name, "fr"));
  root.innerHTML = `<div class="new-event">
    <form id="new-event-form" class="panel form" novalidate>
      <h1>Nouvel événement</h1>
      <div class="from-call" id="from-call" data-testid="from-call" hidden></div>
      <div class="grid2">
        <label><span>Commune <span class="req">*</span></span>
          <select name="organization_id" required>
            <option value="">Choisir la commune…</option>
            ${communes.map((o) => `<option value="${o.id}">${esc(o.name)}</option>`).join("")}
          </select>
        </label>
        <label><span>Procédure (catégorie) <span class="req">*</span></span>
          <select name="procedure_id" required disabled><option value="">Choisir d'abord la commune</option></select>
        </label>
      </div>
      <div id="procedure-help" data-testid="procedure-help" hidden></div>
      <fieldset class="severity-picker">
        <legend>Gravité <span class="muted small">— non précisée : traitée comme « Grave » jusqu'à requalification</span></legend>
        ${Object.entries(SEVERITY).map(([level, label]) => `
          <label class="sev-choice sev-${level}"><input type="radio" name="severity" value="${level}">
            <span>${level} · ${esc(label)}</span></label>`).join("")}
      </fieldset>
      <label class="exercise-choice"><input type="checkbox" name="exercise" data-testid="exercise-box">
        <span>Exercice <span class="muted small">— chaque message dira « EXERCICE » ; compté à part, jamais payé</span></span></label>
      <label><span>Titre <span class="req">*</span></span>
        <input name="title" maxlength="200" required placeholder="ex. : Arbre tombé en travers de la chaussée">
      </label>
      <label>Description
        <textarea name="description" rows="3" maxlength="10000" placeholder="Ce que dit l'appelant, les risques, ce qui est déjà fait"></textarea>
      </label>
      <label>Lieu
        <input name="place" maxlength="300" placeholder="ex. : 12 rue Roger Salengro, devant l'école">
      </label>
      <div class="grid3">
        <label>Source
          <select name="source">${SOURCES.map(([value, label]) => `<option value="${value}">${esc(label)}</option>`).join("")}</select>
        </label>
        <label>Appelant
          <input name="caller_name" maxlength="200" placeholder="Nom, qualité">
        </label>
        <label>Numéro de rappel
          <input name="callback_number" type="tel" maxlength="32" placeholder="06 12 34 56 78">
        </label>
      </div>
      <p class="form-error" id="new-event-error" role="alert" hidden></p>
      <div class="actions">
        <a href="#/" class="button ghost">Annuler</a>
        <button type="submit" class="primary big" id="confirm-event" disabled>Confirmer et alerter</button>
      </div>
      <p class="hint muted" id="confirm-hint">Choisissez la commune et la procédure : la liste des personnes sollicitées s'affiche à droite.</p>
    </form>
    <aside class="panel preview" id="preview" data-testid="preview" aria-live="polite">
      <h2>Qui sera sollicité, dans quel ordre</h2>
      <p class="muted">Choisissez la commune et la procédure.</p>
    </aside>
  </div>`;

  const form = root.querySelector("#new-event-form");
  const preview = root.querySelector("#preview");
  const confirm = root.querySelector("#confirm-event");
  const hint = root.querySelector("#confirm-hint");
  const errorBox = root.querySelector("#new-event-error");
  const orgSelect = form.elements.organization_id;
  const procSelect = form.elements.procedure_id;
  let previewKey = null; // the selection the shown preview belongs to
  let previewSeq = 0;
  let submitting = false;
  let linkedCall = null; // the call the event is opened from
  let procedures = [];
  const help = root.querySelector("#procedure-help");
  const adHoc = adHocPicker(help, () => showPreview());
  const severityTouched = { value: false };

  const selection = () => {
    const severity = form.querySelector("input[name=severity]:checked")?.value;
    const withoutProcedure = procSelect.value === "adhoc";
    const groupIds = adHoc.groupIds();
    return {
      organization_id: Number(orgSelect.value) || null,
      ...(withoutProcedure ? (groupIds.length ? { group_ids: groupIds } : {})
        : { procedure_id: Number(procSelect.value) || null }),
      severity: severity ? Number(severity) : null,
    };
  };
  const keyOf = (s) => `${s.organization_id}/${s.procedure_id}/${(s.group_ids || []).join(",")}/${s.severity}`;

  const updateConfirm = () => {
    const ready = previewKey !== null && previewKey === keyOf(selection());
    const titled = form.elements.title.value.trim().length > 0;
    confirm.disabled = submitting || !ready;
    hint.textContent = !ready
      ? "Choisissez la commune et la procédure : la liste des personnes sollicitées s'affiche à droite."
      : titled ? "Vérifiez l'ordre des sollicitations à droite, puis confirmez."
        : "Donnez un titre à l'événement, puis confirmez.";
  };

  async function loadProcedures() {
    previewKey = null;
    const orgId = Number(orgSelect.value);
    procSelect.innerHTML = `<option value="">${orgId ? "Chargement…" : "Choisir d'abord la commune"}</option>`;
    procSelect.disabled = true;
    if (!orgId) return showPreview();
    try {
      // Only a validated version is offered: a procedure still a draft would be refused.
      const [found, groups] = await Promise.all([
        api.get(`/api/v1/procedures?organization_id=${orgId}&active=true`),
        api.get(`/api/v1/organizations/${orgId}/escalation-groups`)]);
      procedures = found.filter((p) => p.active && p.version > 0);
      if (Number(orgSelect.value) !== orgId) return;
      adHoc.setGroups(groups.map(escalationGroupLabelled));
      procSelect.innerHTML = `<option value="">${procedures.length ? "Choisir la procédure…"
        : "Aucune procédure validée pour cette commune"}</option>${procedures.map((p) =>
            `<option value="${p.id}">${esc(p.category)}</option>`).join("")}
        <option value="adhoc">Sans procédure (cas imprévu)</option>`;
      procSelect.disabled = false;
      if (procedures.length === 1) procSelect.value = String(procedures[0].id);
    } catch (error) {
      procSelect.innerHTML = `<option value="">Procédures indisponibles</option>`;
    }
    procedureChosen();
  }

  async function showPreview() {
    const sel = selection();
    previewKey = null;
    updateConfirm();
    if (!sel.organization_id || !(sel.procedure_id || sel.group_ids)) {
      preview.innerHTML = `<h2>Qui sera sollicité, dans quel ordre</h2>
        <p class="muted">${procSelect.value === "adhoc" ? "Choisissez les groupes à solliciter."
          : "Choisissez la commune et la procédure."}</p>`;
      return;
    }
    const seq = ++previewSeq;
    preview.classList.add("loading");
    try {
      const result = await api.post("/api/v1/events/preview", sel);
      if (seq !== previewSeq) return;
      preview.innerHTML = renderPreview(result, sel.severity);
      previewKey = keyOf(sel);
    } catch (error) {
      if (seq !== previewSeq) return;
      preview.innerHTML = `<h2>Qui sera sollicité, dans quel ordre</h2><p class="form-error">${esc(error.french)}</p>`;
    } finally {
      if (seq === previewSeq) preview.classList.remove("loading");
      updateConfirm();
    }
  }

  function procedureChosen() {
    const procedure = procedures.find((p) => String(p.id) === procSelect.value);
    if (procSelect.value === "adhoc") {
      adHoc.show();
    } else {
      adHoc.hide();
      help.hidden = !procedure;
      help.innerHTML = procedure ? instructionsHtml(procedure.instructions, procedure.version) : "";
    }
    // The procedure's usual severity is offered, never forced: the operator's own choice stands.
    if (procedure?.default_severity && !severityTouched.value) {
      const radio = form.querySelector(`input[name=severity][value="${procedure.default_severity}"]`);
      if (radio) radio.checked = true;
    }
    showPreview();
  }

  orgSelect.addEventListener("change", loadProcedures);
  procSelect.addEventListener("change", procedureChosen);
  for (const radio of form.querySelectorAll("input[name=severity]")) {
    radio.addEventListener("change", () => {
      severityTouched.value = true;
      showPreview();
    });
  }
  form.elements.title.addEventListener("input", updateConfirm);

  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    errorBox.hidden = true;
    const sel = selection();
    const title = form.elements.title.value.trim();
    const problems = [];
    if (!sel.organization_id) problems.push("la commune");
    if (!sel.procedure_id && !sel.group_ids) {
      problems.push(procSelect.value === "adhoc" ? "les groupes à solliciter" : "la procédure");
    }
    if (!title) problems.push("le titre");
    if (problems.length) {
      errorBox.textContent = `Il manque ${problems.join(", ")}.`;
      errorBox.hidden = false;
      return;
    }
    const body = {
      ...sel, title,
      description: form.elements.description.value.trim(),
      place: form.elements.place.value.trim(),
      source: form.elements.source.value,
      caller_name: form.elements.caller_name.value.trim(),
      callback_number: form.elements.callback_number.value.trim(),
      exercise: form.elements.exercise.checked,
      ...(linkedCall ? { call_id: linkedCall.id } : {}),
      ...(sel.group_ids && adHoc.category() ? { category: adHoc.category() } : {}),
    };
    submitting = true;
    updateConfirm();
    confirm.textContent = "Envoi…";
    try {
      const detail = await api.post("/api/v1/events", body);
      store.events.set(detail.id, detail);
      refreshEvent(detail.id);
      toast(`Événement ${detail.number} créé : les astreintes sont sollicitées.`);
      if (linkedCall) callsChanged({ callId: linkedCall.id, event: detail, orgId: detail.organization_id });
      location.hash = `#/evenement/${detail.id}`;
    } catch (error) {
      errorBox.textContent = error.french;
      errorBox.hidden = false;
      submitting = false;
      confirm.textContent = "Confirmer et alerter";
      updateConfirm();
    }
  });

  const fromCall = root.querySelector("#from-call");
  async function linkCall() {
    fromCall.hidden = false;
    fromCall.innerHTML = `<p class="muted">Lecture de l'appel…</p>`;
    let call;
    try {
      call = await api.get(`/api/v1/calls/${callId}`);
    } catch (error) {
      fromCall.innerHTML = `<p class="form-error">Appel introuvable : l'événement sera créé sans lien avec le journal d'appels.</p>`;
      return;
    }
    const at = clockIn(parseDate(call.received_at), zoneOf(call.organization_id));
    if (call.event_id != null) {
      let number = `n° ${call.event_id}`;
      try {
        number = (await api.get(`/api/v1/events/${call.event_id}`)).number;
      } catch (error) { /* the id then */ }
      fromCall.innerHTML = `<p><strong>Un événement a déjà été ouvert depuis l'appel de ${esc(at)}</strong> :
        <a href="#/evenement/${call.event_id}">${esc(number)}</a>. Celui-ci sera créé sans lien avec l'appel.</p>`;
      return;
    }
    linkedCall = call;
    fromCall.innerHTML = `<p><span class="call-badge answered">Appel décroché à ${esc(at)}</span>
        <span>${esc(callerLabel(call.caller_category))}${call.caller_number ? ` · ${esc(call.caller_number)}` : ""}</span>
        <span class="muted">L'événement sera rattaché à cet appel dans le journal.</span>
        <button type="button" class="ghost small" id="unlink-call">Ne pas rattacher</button></p>`;
    fromCall.querySelector("#unlink-call").addEventListener("click", () => {
      linkedCall = null;
      fromCall.hidden = true;
    });
    form.elements.source.value = CALLER_SOURCE[call.caller_category] || "phone";
    if (call.caller_number && !form.elements.callback_number.value) form.elements.callback_number.value = call.caller_number;
    if (store.orgs.has(call.organization_id) && orgSelect.value !== String(call.organization_id)) {
      orgSelect.value = String(call.organization_id);
      loadProcedures();
    }
  }

  if (communes.length === 1) {
    orgSelect.value = String(communes[0].id);
    loadProcedures();
  }
  if (callId) linkCall().then(() => form.elements.title.focus());
  else orgSelect.focus();
  return { unmount() {} };
}

function renderPreview(result, chosenSeverity) {
  const severity = result.severity;
  const defaulted = chosenSeverity == null
    ? `<p class="note">Gravité non précisée : traité comme <strong>${esc(severityLabel(severity))}</strong>.</p>` : "";
  const head = `<h2>Qui sera sollicité, dans quel ordre</h2>
    <p class="pv-severity"><span class="sev-badge sev-${severity}">${esc(severityLabel(severity))}</span>
      ${result.all_at_once ? "Tous les groupes sont sollicités <strong>en même temps</strong>." : ""}</p>${defaulted}`;
  let pages = "";
  if (!result.pages.length) {
    pages = `<p class="pv-empty">${severity === 1
      ? "Information : personne n'est sollicité, aucun acquittement n'est demandé."
      : "Aucun groupe d'astreinte n'est sollicité par cette procédure à cette gravité."}</p>`;
  } else {
    let rank = 0;
    pages = result.pages.map((page, pageIndex) => {
      if (result.all_at_once) rank = 0;
      const timing = page.ack_timeout_s
        ? `Chacun a <strong>${esc(durationWords(page.ack_timeout_s))}</strong> pour répondre avant de passer au suivant${
            page.repeats ? ` ; la chaîne est reprise ${page.repeats === 1 ? "une fois" : `${page.repeats} fois`} si personne ne répond` : ""}.`
        : "";
      const groups = page.groups.map((group) => `
        <li class="pv-group"><div class="pv-gname">${esc(group.group)}</div>
          <ol class="pv-people">${group.members.map((m) => {
            rank += 1;
            const roads = m.unreachable
              ? `<span class="warn">aucun moyen de contact !</span>`
              : m.channels.map((c) => `<span class="chan">${esc(channelLabel(c))}</span>`).join("");
            return `<li class="pv-person${m.unreachable ? " unreachable" : ""}" data-person-id="${m.person_id}">
                <span class="rank">${rank}</span><span class="pv-name">${esc(m.name)}</span><span class="roads">${roads}</span></li>`;
          }).join("")}</ol></li>`).join("");
      const title = result.all_at_once ? `<h3>Sollicitation ${pageIndex + 1}</h3>` : "";
      return `<div class="pv-page">${title}<p class="muted small">${timing}</p><ol class="pv-groups">${groups}</ol></div>`;
    }).join("");
  }
  const informed = result.informed.length
    ? `<h3>Informés (sans acquittement)</h3><ul class="pv-informed">${result.informed.map((g) =>
        `<li><strong>${esc(g.group)}</strong> : ${g.members.map((m) =>
          `${esc(m.name)} (${m.channels.map(channelLabel).map(esc).join(", ") || "aucun moyen"})`).join(", ")}</li>`).join("")}</ul>`
    : "";
  return head + pages + informed;
}
