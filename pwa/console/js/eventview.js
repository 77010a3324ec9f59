// One event: its solicitations, its live main courante, and what the operator can do
// (acknowledge on someone's behalf after a phone call, note, requalify, close).

import { api, download } from "./api.js";
import { returnToBoard } from "./board.js";
import { callList, contactsOf, telLink } from "./contacts.js";
import { exerciseBadge } from "./exercise.js";
import { EVENT_STATUS, SEVERITY, severityLabel, sourceLabel } from "./labels.js";
import { mountReports } from "./reports.js";
import { renderPages, tickCountdowns } from "./pages.js";
import { showEventProcedure } from "./procedurehelp.js";
import { phoneText } from "./people.js";
import { showPhotos, wirePhotoViewer } from "./photos.js";
import { helpBox, unreachedAlarms, wireHelp } from "./reinforcement.js";
import { loadTrace, orgName, personName, refreshEvent, silenceAlarms, store, subscribe } from "./store.js";
import { toast } from "./toast.js";
import { traceRow } from "./trace.js";
import { dayTimeOf, esc, since } from "./util.js";

export function mountEvent(root, eventId) {
  const canAct = ["operator", "admin"].includes(store.me?.role);
  root.innerHTML = `<div class="event-view" data-event-id="${eventId}">
    <div class="ev-main">
      <a href="#/" class="back">← Tableau de bord</a>
      <div id="ev-head" class="panel ev-head"><p class="muted">Chargement…</p></div>
      <section id="ev-procedure" class="panel ev-procedure" data-testid="event-procedure" hidden></section>
      <div id="ev-alarm"></div>
      <section class="panel"><h2>Sollicitations</h2><div id="ev-pages"></div></section>
    </div>
    <div class="ev-actions-col">
      <div id="ev-closed"></div>
      ${canAct ? actionsHtml() : `<p class="panel muted">Consultation seule : votre rôle ne permet pas d'agir sur l'événement.</p>`}
      <section class="panel ev-reports" id="ev-reports" data-testid="reports"></section>
      <p class="panel"><button type="button" class="ghost small" id="cap-export">Exporter en CAP 1.2 (XML)</button></p>
    </div>
    <aside class="panel ev-trace">
      <h2>Main courante <span class="count" id="trace-count"></span></h2>
      <ol id="ev-trace" class="trace" data-testid="trace"></ol>
    </aside>
  </div>`;
  const $ = (selector) => root.querySelector(selector);
  wireHelp($("#ev-alarm"));
  let scheduled = false;
  $("#cap-export").addEventListener("click", () => download(`/api/v1/events/${eventId}/cap`, `evenement-${eventId}.cap.xml`)
    .catch((error) => toast(`Export CAP impossible : ${error.french || error.message}`, "error")));

  function render() {
    scheduled = false;
    const detail = store.events.get(eventId);
    if (!detail) {
      $("#ev-head").innerHTML = `<p class="muted">Chargement de l'événement…</p>`;
      return;
    }
    $("#ev-head").innerHTML = headHtml(detail);
    const alarms = unreachedAlarms(eventId);
    $("#ev-alarm").innerHTML = helpBox(detail, { big: true }) + (alarms.length
      ? `<div class="alarm-box big${alarms.every((a) => a.silenced) ? "" : " ringing"}" role="alert">
           <strong>Personne n'a répondu</strong>
           <span>Appelez les astreintes par téléphone, puis saisissez ci-dessous qui prend en charge :</span>
           ${callList(eventId)}
           ${alarms.some((a) => !a.silenced) ? `<button type="button" class="ghost small" id="silence">Couper le son</button>` : ""}
         </div>`
      : "");
    $("#silence")?.addEventListener("click", () => silenceAlarms(eventId));
    $("#ev-pages").innerHTML = renderPages(detail);
    tickCountdowns(root);
    const closed = detail.status === "closed";
    $("#ev-closed").innerHTML = closed
      ? `<div class="panel closed-box"><strong>Événement clos</strong> ${esc(dayTimeOf(detail.closed_at))}
           — motif : ${esc(detail.closure_reason || "")}${followUp(eventId) ? `<div class="follow-up">Suite à donner (heures ouvrées) : ${
             esc(followUp(eventId))}</div>` : ""}</div>`
      : "";
    const actions = $("#ev-actions");
    if (actions) {
      actions.hidden = closed;
      updatePersonChoice(detail);
      updateSeverityChoice(detail);
    }
  }

  function renderTrace() {
    const entries = [...(store.traces.get(eventId)?.values() || [])]
      .sort((a, b) => (b.seq - a.seq) || (b.id - a.id));
    $("#ev-trace").innerHTML = entries.length ? entries.map(traceRow).join("")
      : `<li class="muted">${store.traceLoaded.has(eventId) ? "Aucune entrée." : "Chargement…"}</li>`;
    $("#trace-count").textContent = entries.length ? `${entries.length} entrées` : "";
    showPhotos($("#ev-trace"));
  }

  function updatePersonChoice(detail) {
    const select = $("#ack-person");
    const contacts = contactsOf(eventId);
    if (contacts?.length) return onCallChoice(select, contacts);
    const solicited = [];
    for (const n of detail.notifications) {
      if (n.purpose === "solicit" && n.person_id != null && !solicited.includes(n.person_id)) solicited.push(n.person_id);
    }
    const key = solicited.join(",");
    if (select.dataset.key === key) return;
    const previous = select.value;
    select.dataset.key = key;
    select.innerHTML = solicited.length
      ? `<option value="">Choisir la personne jointe…</option>${solicited.map((id) =>
          `<option value="${id}">${esc(personName(id))}${groupOf(detail, id)}</option>`).join("")}`
      : `<option value="">Personne n'a encore été sollicité</option>`;
    select.disabled = !solicited.length;
    if (solicited.includes(Number(previous))) select.value = previous;
  }

  function updateSeverityChoice(detail) {
    const select = $("#requalify-severity");
    if (select.dataset.current === String(detail.severity)) return;
    const previous = select.value;
    select.dataset.current = String(detail.severity);
    select.innerHTML = `<option value="">Nouvelle gravité…</option>${Object.entries(SEVERITY).map(([level, label]) =>
      `<option value="${level}"${Number(level) === detail.severity ? " disabled" : ""}>${level} · ${esc(label)}${
        Number(level) === detail.severity ? " (actuelle)" : ""}</option>`).join("")}`;
    if (previous && previous !== String(detail.severity)) select.value = previous;
  }

  const schedule = () => {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(() => {
        render();
        renderTrace();
      });
    }
  };
  const reports = mountReports($("#ev-reports"), eventId, { canWrite: canAct });
  const unsubscribe = subscribe((change) => {
    if (["event", "entry", "trace"].includes(change.type)) {
      const id = change.id ?? change.eventId ?? change.entry?.event_id;
      if (id !== eventId) return;
    }
    schedule();
  });

  if (canAct) wireActions(root, eventId);
  wirePhotoViewer(root);
  const onKey = (key) => {
    if (key.key !== "Escape" || key.defaultPrevented || document.querySelector("dialog[open]")) return;
    if (key.target.closest?.("input, textarea, select, [contenteditable]")) return;
    returnToBoard(eventId);
  };
  document.addEventListener("keydown", onKey);
  render();
  renderTrace();
  refreshEvent(eventId);
  showEventProcedure($("#ev-procedure"), eventId);
  loadTrace(eventId).catch(() => {
    $("#ev-trace").innerHTML = `<li class="form-error">Main courante indisponible pour le moment.</li>`;
  });
  return {
    unmount() {
      document.removeEventListener("keydown", onKey);
      unsubscribe();
      reports.unmount();
    },
    tick: () => tickCountdowns(root),
  };
}

/** What the closure said the commune's services do next (kept in the trace's closing entry). */
function followUp(eventId) {
  const closing = [...(store.traces.get(eventId)?.values() || [])].find((e) => e.kind === "event.closed");
  return closing?.data?.follow_up || "";
}

/** Whoever may phone the PC back: those already solicited, the rest of the chains, then the others on call now. */
function onCallChoice(select, contacts) {
  const key = `c:${contacts.map((c) => `${c.person_id}${c.solicited ? "s" : ""}`).join(",")}`;
  if (select.dataset.key === key) return;
  const previous = select.value;
  select.dataset.key = key;
  const option = (c) => `<option value="${c.person_id}">${esc(c.display_name)}${c.groups.length ? ` — ${esc(c.groups.join(", "))}` : ""}${
    c.holds_turn ? " (d'astreinte)" : ""}${c.mobile ? ` · ${esc(phoneText(c.mobile))}` : ""}</option>`;
  const sets = [["Déjà sollicités", contacts.filter((c) => c.solicited)],
                ["Dans la chaîne, pas encore sollicités", contacts.filter((c) => !c.solicited && c.in_chain)],
                ["D'astreinte dans la commune", contacts.filter((c) => !c.solicited && !c.in_chain)]];
  select.innerHTML = `<option value="">Choisir la personne jointe…</option>${sets.filter(([, list]) => list.length)
    .map(([label, list]) => `<optgroup label="${esc(label)}">${list.map(option).join("")}</optgroup>`).join("")}`;
  select.disabled = false;
  if (contacts.some((c) => String(c.person_id) === previous)) select.value = previous;
}

function groupOf(detail, personId) {
  for (const page of detail.pages) {
    for (const group of page.policy?.chain || []) if (group.members.includes(personId)) return ` — ${group.name}`;
  }
  return "";
}

function headHtml(d) {
  const facts = [
    ["Commune", orgName(d.organization_id)],
    ["Catégorie", d.category],
    ["Lieu", d.place],
    ["Reçu", dayTimeOf(d.received_at)],
    ["Source", sourceLabel(d.source)],
    ["Appelant", d.caller_name],
    ["Rappel", d.callback_number, telLink(d.callback_number, { label: d.caller_name })],
    ["Pris en charge", d.acknowledged_at ? dayTimeOf(d.acknowledged_at) : ""],
  ].filter(([, value]) => value);
  return `<div class="ev-title">
      ${exerciseBadge(d)}<span class="sev-badge sev-${d.severity}" id="ev-severity">${esc(severityLabel(d.severity))}</span>
      <span class="number">${esc(d.number)}</span>
      <span class="status status-${esc(d.status)}" id="ev-status">${esc(EVENT_STATUS[d.status] || d.status)}</span>
      <span class="since muted" data-since="${esc(d.received_at)}">${esc(since(d.received_at))}</span>
    </div>
    <h1>${esc(d.title)}</h1>
    ${d.description ? `<p class="description">${esc(d.description)}</p>` : ""}
    <dl class="facts">${facts.map(([k, v, html]) => `<div><dt>${esc(k)}</dt><dd>${html || esc(v)}</dd></div>`).join("")}</dl>`;
}

function actionsHtml() {
  return `<section id="ev-actions" class="actions-grid">
    <form id="ack-form" class="panel form" novalidate>
      <h2>Réponse reçue par téléphone</h2>
      <label>Personne jointe <select name="person_id" id="ack-person"></select></label>
      <div class="choice-row">
        <label class="inline"><input type="radio" name="kind" value="ack" checked> Prend en charge</label>
        <label class="inline"><input type="radio" name="kind" value="decline"> Indisponible</label>
      </div>
      <label><span>Motif de la saisie pour son compte <span class="req">*</span></span>
        <textarea name="reason" rows="2" maxlength="1000" placeholder="ex. : joint par téléphone à 22 h 14, part sur place"></textarea>
      </label>
      <p class="form-error" role="alert" hidden></p>
      <button type="submit" class="primary">Enregistrer la réponse</button>
    </form>
    <form id="note-form" class="panel form" novalidate>
      <h2>Ajouter une note</h2>
      <label>Note <textarea name="text" rows="2" maxlength="2000" placeholder="Information, consigne, rappel de l'appelant…"></textarea></label>
      <p class="form-error" role="alert" hidden></p>
      <button type="submit">Ajouter la note</button>
    </form>
    <form id="requalify-form" class="panel form" novalidate>
      <h2>Requalifier</h2>
      <label>Gravité <select name="severity" id="requalify-severity"></select></label>
      <label><span>Motif <span class="req">*</span></span>
        <textarea name="reason" rows="2" maxlength="1000" placeholder="ex. : des blessés signalés"></textarea></label>
      <p class="form-error" role="alert" hidden></p>
      <button type="submit">Requalifier</button>
    </form>
    <form id="close-form" class="panel form" novalidate>
      <h2>Clore l'événement</h2>
      <label><span>Motif de clôture <span class="req">*</span></span>
        <textarea name="reason" rows="2" maxlength="2000" placeholder="ex. : arbre dégagé, voie rouverte à 23 h 40"></textarea></label>
      <label><span>Suite à donner en heures ouvrées <span class="muted small">(facultatif, figure au rapport)</span></span>
        <textarea name="follow_up" rows="2" maxlength="2000" placeholder="ex. : élagage à programmer par les espaces verts"></textarea></label>
      <p class="form-error" role="alert" hidden></p>
      <button type="submit" class="danger">Clore l'événement</button>
    </form>
  </section>`;
}

function wireActions(root, eventId) {
  const handle = (formId, build, done) => {
    const form = root.querySelector(formId);
    const errorBox = form.querySelector(".form-error");
    const button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", async (submit) => {
      submit.preventDefault();
      errorBox.hidden = true;
      const built = build(form);
      if (typeof built === "string") {
        errorBox.textContent = built;
        errorBox.hidden = false;
        return;
      }
      button.disabled = true;
      try {
        await api.post(built.path, built.body);
        form.reset();
        toast(done);
        refreshEvent(eventId);
      } catch (error) {
        errorBox.textContent = error.french;
        errorBox.hidden = false;
      } finally {
        button.disabled = false;
      }
    });
  };

  handle("#ack-form", (form) => {
    const personId = Number(form.elements.person_id.value);
    const reason = form.elements.reason.value.trim();
    const kind = form.querySelector("input[name=kind]:checked").value;
    if (!personId) return "Choisissez la personne que vous avez jointe.";
    if (!reason) return "Indiquez pourquoi vous répondez à sa place (ex. : joint par téléphone).";
    return { path: `/api/v1/events/${eventId}/responses`,
             body: { kind, person_id: personId, reason, text: kind === "decline" ? reason : "" } };
  }, "Réponse enregistrée dans la main courante.");

  handle("#note-form", (form) => {
    const text = form.elements.text.value.trim();
    if (!text) return "Écrivez la note.";
    return { path: `/api/v1/events/${eventId}/responses`, body: { kind: "note", text } };
  }, "Note ajoutée.");

  handle("#requalify-form", (form) => {
    const severity = Number(form.elements.severity.value);
    const reason = form.elements.reason.value.trim();
    if (!severity) return "Choisissez la nouvelle gravité.";
    if (!reason) return "Indiquez le motif de la requalification.";
    return { path: `/api/v1/events/${eventId}/requalify`, body: { severity, reason } };
  }, "Événement requalifié.");

  handle("#close-form", (form) => {
    const reason = form.elements.reason.value.trim();
    if (!reason) return "Indiquez le motif de clôture.";
    return { path: `/api/v1/events/${eventId}/close`,
             body: { reason, follow_up: form.elements.follow_up.value.trim() } };
  }, "Événement clos : le rapport est rédigé.");
}
