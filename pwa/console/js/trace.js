// One line of the main courante, in French.

import { channelLabel, PURPOSE, REPORT_TRIGGER, severityLabel, sourceLabel, traceKindLabel, VIA } from "./labels.js";
import { photoThumb } from "./photos.js";
import { personName } from "./store.js";
import { esc, timeOf } from "./util.js";

const NOTIFY_REASONS = {
  start: "premier appelé", timeout: "le précédent n'a pas répondu à temps",
  decline: "le précédent est indisponible", declined: "le précédent est indisponible",
  requalified: "après requalification", unreachable: "le précédent est injoignable",
  voicemail: "l'appel du précédent est tombé sur sa messagerie",
};

// Why a call ended (voice.ended's `reason`): a key, a machine, or Twilio's word for the call.
const CALL_ENDS = {
  key: "répondu par une touche", voicemail: "messagerie", fax: "fax", completed: "décroché sans touche",
  "no-answer": "sans réponse", busy: "occupé", failed: "échec", canceled: "annulé",
};

const CANCEL_REASONS = {
  "event closed": "L'événement est clos.",
  "no acknowledgement asked at this severity": "À cette gravité, aucun acquittement n'est demandé.",
};

function who(data) {
  return data.person || personName(data.person_id);
}

export function traceDetail(entry) {
  const d = entry.data || {};
  const kind = entry.kind;
  if (kind === "event.created") {
    return [d.category, d.severity ? `gravité ${severityLabel(d.severity)}${d.severity_defaulted ? " (par défaut)" : ""}` : "",
            d.place ? `lieu : ${d.place}` : "", d.source ? `source : ${sourceLabel(d.source)}` : "",
            d.caller_name ? `appelant : ${d.caller_name}` : "", d.callback_number ? `rappel : ${d.callback_number}` : "",
            d.call_id ? "ouvert depuis le journal d'appels" : "",
            d.alarm_key ? `alarme ${d.alarm_key}${d.source_severity ? ` (gravité de la source : ${d.source_severity})` : ""}` : "",
            d.procedure_version ? `procédure version ${d.procedure_version}` : "",
            d.without_procedure ? `sans procédure, groupes choisis : ${(d.groups || []).map((g) => g.group).join(" → ")}` : ""]
      .filter(Boolean).join(" · ");
  }
  if (kind === "page.started") return `Ordre : ${(d.chain || []).map((g) => g.group).join(" → ")}`;
  if (kind === "page.notify") {
    const channels = (d.notifications || []).map((n) => channelLabel(n.channel)).join(", ");
    return [`${who(d)} (${d.group || ""})`, channels, d.round ? `tour ${d.round + 1}` : "",
            NOTIFY_REASONS[d.reason] || ""].filter(Boolean).join(" · ");
  }
  if (kind.startsWith("notification.")) {
    return [who(d), channelLabel(d.channel), PURPOSE[d.purpose] || d.purpose,
            d.attempt > 1 ? `essai ${d.attempt}` : "",
            kind === "notification.failed" || kind === "notification.retry" ? d.detail : ""]
      .filter(Boolean).join(" · ");
  }
  if (kind.startsWith("response.")) {
    const parts = [];
    if (d.person_id != null) {
      parts.push(who(d));
      if (d.on_behalf) parts.push(`saisi par ${entry.actor_label} pour son compte${d.reason ? ` : ${d.reason}` : ""}`);
      else if (d.via && VIA[d.via]) parts.push(VIA[d.via]);
    }
    if (d.text) parts.push(`« ${d.text} »`);
    if (d.caption) parts.push(`« ${d.caption} »`);
    return parts.filter(Boolean).join(" · ");
  }
  if (kind === "voice.ended") {
    return [who(d), CALL_ENDS[d.reason] || CALL_ENDS[d.status] || d.status,
            d.duration_s ? `${d.duration_s} s` : ""].filter(Boolean).join(" · ");
  }
  if (kind === "page.escalated") return `${d.from_group || "?"} → ${d.to_group || "?"}`;
  if (kind === "page.repeated") return `La chaîne reprend : tour ${(d.round ?? 1) + 1}`;
  if (kind === "page.unreached") return `Personne n'a pris en charge après ${d.rounds ?? "?"} tour(s) : appelez les astreintes.`;
  if (kind === "page.acknowledged") return "Prise en charge : les sollicitations s'arrêtent.";
  if (kind === "page.cancelled") return CANCEL_REASONS[d.reason] || "";
  if (kind === "event.informed" && d.relay) return `${d.text || d.from || ""} → ${(d.people || []).map((p) => p.person).join(", ")}`;
  if (kind === "event.informed") return `${d.group} : ${(d.people || []).map((p) => p.person).join(", ")}${
    d.scope === "whole_list" ? " (toute la liste)" : ""}`;
  if (kind === "event.requalified") {
    return `${severityLabel(d.from)} → ${severityLabel(d.to)}${d.reason ? ` · ${d.reason}` : ""}`;
  }
  if (kind === "event.closed") {
    return [d.reason ? `Motif : ${d.reason}` : "", d.follow_up ? `suite à donner : ${d.follow_up}` : ""]
      .filter(Boolean).join(" · ");
  }
  if (kind === "event.cap") {
    const type = { Alert: "alerte", Update: "mise à jour", Cancel: "annulation" }[d.msg_type] || d.msg_type;
    return [`CAP ${type}${d.status === "Exercise" ? " (exercice)" : ""} de ${d.sender} (${d.identifier})`,
            d.headline, d.note].filter(Boolean).join(" · ");
  }
  if (kind === "trace.correction") return d.text || "";
  if (kind === "report.sent" || kind === "report.written") return reportDetail(d);
  if (kind === "alarm.repeated") return `${d.source} · ${d.alarm_key} · ${d.occurrences}ᵉ occurrence`;
  if (kind === "alarm.cleared") return `${d.source} · ${d.alarm_key}`;
  return d.text || d.reason || "";
}

/** "envoyé à Direction générale : Cadre Un", or "non diffusé" */
export function reportSending(d) {
  const people = (d.recipients || []).map((r) => r.person).filter(Boolean);
  if (!people.length) return "non diffusé";
  const lists = (d.lists || []).join(", ");
  return `envoyé${lists ? ` à ${lists}` : ""} : ${people.join(", ")}`;
}

/** "Version 2, à la demande · envoyé à Direction générale : Cadre Un" */
export function reportDetail(d) {
  const head = `Version ${d.version ?? "?"}${REPORT_TRIGGER[d.trigger] ? `, ${REPORT_TRIGGER[d.trigger]}` : ""}`;
  return `${head} · ${reportSending(d)}`;
}

export function traceRow(entry) {
  const family = entry.kind.split(".")[0];
  const alarm = entry.kind === "page.unreached" ? " alarm" : "";
  return `<li class="trace-entry k-${esc(family)} kind-${esc(entry.kind.replace(".", "-"))}${alarm}" data-id="${entry.id}"
      data-kind="${esc(entry.kind)}">
    <time datetime="${esc(entry.at)}">${esc(timeOf(entry.at))}</time>
    <div class="tbody"><span class="tkind">${esc(traceKindLabel(entry.kind))}</span>
      <span class="tdetail">${esc(traceDetail(entry))}</span>${photoThumb(entry)}</div>
    <span class="tactor">${esc(entry.actor_label || "")}</span>
  </li>`;
}
