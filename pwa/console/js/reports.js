// The event's reports: every version kept (version 1 is written at closure), each downloadable as PDF
// or HTML (read with the token), shown in a sandboxed frame; « Nouveau rapport » writes the next version
// from the trace as it stands, sent by e-mail to the procedure's distribution lists when asked.

import { api, download, fetchFile } from "./api.js";
import { REPORT_TRIGGER } from "./labels.js";
import { store, subscribe } from "./store.js";
import { toast } from "./toast.js";
import { reportSending } from "./trace.js";
import { dayTimeOf, esc, frameShowing } from "./util.js";

export function mountReports(box, eventId, { canWrite }) {
  box.innerHTML = `<h2>Rapports <span class="count" id="report-count"></span></h2>
    <ol class="report-list" id="report-list"><li class="muted">Chargement…</li></ol>
    ${canWrite ? `<form id="report-form" class="report-form" novalidate>
      <label class="inline"><input type="checkbox" name="send" checked>
        Envoyer par e-mail aux listes de diffusion de la procédure</label>
      <button type="submit" id="report-new">Nouveau rapport</button>
    </form>` : ""}
    <dialog class="report-dialog" id="report-dialog">
      <div class="rd-head"><h2 id="report-dialog-title"></h2><span class="spacer"></span>
        <button type="button" class="small" data-dialog-pdf>PDF</button>
        <button type="button" class="small ghost" data-dialog-close>Fermer</button></div>
      <p class="rd-status muted" id="report-status"></p>
      <iframe sandbox title="Rapport de l'événement" id="report-frame" hidden></iframe>
    </dialog>`;
  const $ = (selector) => box.querySelector(selector);
  const dialog = $("#report-dialog");
  let reports = [];
  let loaded = false;
  let seq = 0;
  let shown = null; // the report in the dialog

  async function load() {
    const mine = ++seq;
    try {
      const rows = await api.get(`/api/v1/events/${eventId}/reports`);
      if (mine !== seq) return;
      reports = rows;
      loaded = true;
    } catch (error) {
      if (mine !== seq) return;
      $("#report-list").innerHTML = `<li class="form-error">Rapports indisponibles : ${esc(error.french)}</li>`;
      return;
    }
    render();
  }

  /** Sent to whom (the API says it, from the report's entry in the main courante), and any e-mail that failed. */
  function sending(report) {
    const failed = (report.recipients || []).filter((r) => r.status === "failed").map((r) => r.person);
    return reportSending(report) + (failed.length ? ` — échec de l'envoi à ${failed.join(", ")}` : "");
  }

  function render() {
    if (!loaded) return;
    $("#report-count").textContent = reports.length ? String(reports.length) : "";
    const closed = store.events.get(eventId)?.status === "closed";
    $("#report-list").innerHTML = reports.length ? [...reports].reverse().map((r) => {
      const sent = sending(r);
      return `<li class="report" data-report-id="${r.id}" data-version="${r.version}">
          <div class="report-what">
            <div><strong>Version ${r.version}</strong> <span class="report-trigger">${esc(REPORT_TRIGGER[r.trigger] || "")}</span></div>
            <div class="muted small">Rédigé le ${esc(dayTimeOf(r.created_at))} par ${esc(r.created_by)}</div>
            ${sent ? `<div class="report-sent${sent.startsWith("non") ? " unsent" : ""}">${esc(sent)}</div>` : ""}</div>
          <div class="report-links">
            <button type="button" class="small ghost" data-view="${r.id}">Voir</button>
            <button type="button" class="small" data-pdf="${r.id}">PDF</button>
            <button type="button" class="small" data-html="${r.id}">HTML</button>
          </div>
        </li>`;
    }).join("") : `<li class="muted">${closed ? "Aucun rapport." : "Le rapport est rédigé à la clôture ; « Nouveau rapport » en rédige un dès maintenant."}</li>`;
  }

  const find = (id) => reports.find((r) => r.id === Number(id));
  const fileName = (r, ext) => `rapport-${store.events.get(eventId)?.number || eventId}-v${r.version}.${ext}`;

  async function save(button, report, ext) {
    button.disabled = true;
    try {
      const name = await download(`/api/v1/reports/${report.id}.${ext}`, fileName(report, ext));
      toast(`Rapport (version ${report.version}) téléchargé : ${name}`);
    } catch (error) {
      toast(error.french, "error");
    } finally {
      button.disabled = false;
    }
  }

  async function view(report) {
    shown = report;
    $("#report-dialog-title").textContent = `Rapport ${store.events.get(eventId)?.number || ""} — version ${report.version}`;
    $("#report-frame").hidden = true;
    const status = $("#report-status");
    status.textContent = "Chargement…";
    status.hidden = false;
    dialog.showModal();
    try {
      const { blob } = await fetchFile(`/api/v1/reports/${report.id}.html`);
      const html = await blob.text();
      if (shown !== report) return;
      frameShowing($("#report-frame"), html).hidden = false;
      status.hidden = true;
    } catch (error) {
      if (shown === report) status.textContent = `Rapport indisponible : ${error.french}`;
    }
  }

  box.addEventListener("click", (click) => {
    const target = click.target.closest("button");
    if (!target) return;
    if (target.dataset.view) return view(find(target.dataset.view));
    if (target.dataset.pdf) return save(target, find(target.dataset.pdf), "pdf");
    if (target.dataset.html) return save(target, find(target.dataset.html), "html");
    if (target.hasAttribute("data-dialog-pdf") && shown) return save(target, shown, "pdf");
    if (target.hasAttribute("data-dialog-close")) dialog.close();
  });

  $("#report-form")?.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const form = submit.target;
    const button = form.querySelector("button[type=submit]");
    const send = form.elements.send.checked;
    button.disabled = true;
    button.textContent = "Rédaction…";
    try {
      const report = await api.post(`/api/v1/events/${eventId}/reports`, { send });
      toast(`Rapport version ${report.version} rédigé${send ? " et envoyé aux listes de diffusion" : ""}.`);
      await load();
    } catch (error) {
      toast(`Rapport non rédigé : ${error.french}`, "error");
    } finally {
      button.disabled = false;
      button.textContent = "Nouveau rapport";
    }
  });

  const unsubscribe = subscribe((change) => {
    if (change.type === "entry" && change.entry.event_id === eventId && change.entry.kind.startsWith("report.")) {
      load(); // a version written (at closure, or by a colleague)
    } else if ((change.type === "trace" && change.eventId === eventId) || (change.type === "event" && change.id === eventId)) {
      render();
    }
  });
  load();
  return {
    unmount() {
      unsubscribe();
      if (dialog.open) dialog.close();
    },
  };
}
