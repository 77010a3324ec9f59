// « Renfort »: someone in the field asked for reinforcement. The consoles ring (as for an event nobody
// answered) until an operator takes note of it; meanwhile the cadre on call is paged by Vigie itself.

import { api } from "./api.js";
import { personName, refreshEvent, store } from "./store.js";
import { toast } from "./toast.js";
import { esc, timeOf } from "./util.js";

const PAGE_STATE = { active: "appel en cours", acknowledged: "a pris en charge", unreached: "personne n'a répondu",
                     cancelled: "appel arrêté" };

export function helpAlarms(eventId) {
  return [...store.alarms.values()].filter((a) => a.kind === "help" && a.eventId === eventId);
}

/** The unanswered-event alarms of an event, without the calls for reinforcement. */
export function unreachedAlarms(eventId) {
  return [...store.alarms.values()].filter((a) => a.kind !== "help" && a.eventId === eventId);
}

function paging(event, responseId) {
  const page = event.pages.find((p) => p.policy?.help?.response_id === responseId)
    || event.pages.find((p) => p.policy?.help && p.status === "active");
  if (!page) return "Aucun cadre d'astreinte à appeler par Vigie : appelez-le.";
  const who = page.status === "acknowledged" ? page.acknowledged_by_person_id : page.current_person_id;
  const group = page.policy.chain?.[0]?.name || "cadre";
  return `${esc(group)} : ${who ? esc(personName(who)) : ""} — ${PAGE_STATE[page.status] || page.status}`;
}

/** The red box of each call for reinforcement still ringing, with its « Pris en compte » button. */
export function helpBox(event, { big = false } = {}) {
  const alarms = helpAlarms(event.id);
  if (!alarms.length) return "";
  return alarms.map(({ response }) => `<div class="alarm-box help-alarm${big ? " big ringing" : ""}" role="alert"
        data-help-response="${response.id}">
      <strong>Renfort demandé</strong>
      <span>par ${esc(personName(response.person_id))} à ${esc(timeOf(response.created_at))}${
        response.text ? ` — « ${esc(response.text)} »` : ""}</span>
      <span class="muted">${paging(event, response.id)}</span>
      <button type="button" class="primary small" data-help-noted="${event.id}:${response.id}">Pris en compte</button>
    </div>`).join("");
}

/** Clicks on « Pris en compte » anywhere under `root`: the PC took note, every console stops ringing. */
export function wireHelp(root, signal) {
  root.addEventListener("click", async (click) => {
    const button = click.target.closest("[data-help-noted]");
    if (!button) return;
    click.stopPropagation();
    const [eventId, responseId] = button.dataset.helpNoted.split(":").map(Number);
    button.disabled = true;
    try {
      await api.post(`/api/v1/events/${eventId}/responses/${responseId}/noted`, {});
      await refreshEvent(eventId);
    } catch (error) {
      button.disabled = false;
      toast(error.french || "Impossible d'enregistrer : réessayez.");
    }
  }, signal ? { signal } : undefined);
}
