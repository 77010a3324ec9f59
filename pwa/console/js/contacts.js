// Whom the PC phones about an event, at which mobile (GET /api/v1/events/{id}/contacts, staff only): the people
// of its chains, then everyone on call in the commune now. Read when an event first shows, again when its chains
// or who was solicited change, and after five minutes (a turn may have passed to someone else).

import { api } from "./api.js";
import { phoneText } from "./people.js";
import { notify, store, subscribe } from "./store.js";
import { esc } from "./util.js";

const STALE_MS = 5 * 60_000;
const known = new Map(); // event id -> {key, at, list, byPerson}
const loading = new Set();
let reader = null; // whose session read them: another login reads them again

function keyOf(detail) {
  const pages = detail.pages.map((p) => `${p.id}:${p.status}`).join(",");
  const solicited = [...new Set(detail.notifications.filter((n) => n.purpose === "solicit").map((n) => n.person_id))];
  return `${pages}|${solicited.join(",")}`;
}

async function load(eventId, key) {
  loading.add(eventId);
  try {
    const list = await api.get(`/api/v1/events/${eventId}/contacts`);
    known.set(eventId, { key, at: Date.now(), list, byPerson: new Map(list.map((c) => [c.person_id, c])) });
    notify({ type: "contacts", id: eventId });
  } catch (error) {
    if (error.status === 404) known.delete(eventId);
  } finally {
    loading.delete(eventId);
  }
}

function ensure(eventId) {
  const detail = store.events.get(eventId);
  if (!detail || detail.status === "closed" || loading.has(eventId)) return;
  if (reader !== store.me?.id) {
    known.clear();
    reader = store.me?.id;
  }
  const key = keyOf(detail);
  const held = known.get(eventId);
  if (!held || held.key !== key || Date.now() - held.at > STALE_MS) load(eventId, key);
}

subscribe((change) => {
  if (change.type === "event" && change.id != null) ensure(change.id);
  else if (change.type === "events") for (const id of store.events.keys()) ensure(id);
});

/** Everyone to phone about the event (chains first), or null before they are read. */
export function contactsOf(eventId) {
  return known.get(eventId)?.list || null;
}

export function contactOf(eventId, personId) {
  return known.get(eventId)?.byPerson.get(personId) || null;
}

/** A number the operator clicks to call (the softphone or the desk phone's handler takes `tel:`). */
export function telLink(number, { label = "" } = {}) {
  if (!number) return "";
  const dial = String(number).replace(/[^\d+]/g, "");
  if (!dial) return esc(number);
  const title = label ? ` title="Appeler ${esc(label)}"` : "";
  return `<a class="tel" href="tel:${esc(dial)}"${title}>${esc(phoneText(number))}</a>`;
}

/** The person's mobile as a tel: link, "" when unknown or not read yet. */
export function personTel(eventId, personId) {
  const contact = contactOf(eventId, personId);
  if (!contact) return "";
  return contact.mobile ? telLink(contact.mobile, { label: contact.display_name })
    : `<span class="tel none">pas de mobile</span>`;
}

/** « Tech Un 06… » for each person to phone when nobody answered: the chains first, then the others on call. */
export function callList(eventId, { others = true } = {}) {
  const list = contactsOf(eventId);
  if (!list) return `<p class="muted small">Numéros en cours de chargement…</p>`;
  const shown = others ? list : list.filter((c) => c.in_chain);
  if (!shown.length) return "";
  return `<ul class="call-list" data-testid="call-list">${shown.map((c) =>
    `<li data-contact-id="${c.person_id}"><span class="cl-name">${esc(c.display_name)}</span>${
      c.holds_turn ? ` <span class="cl-turn">d'astreinte</span>` : ""}
      ${c.mobile ? telLink(c.mobile, { label: c.display_name }) : `<span class="tel none">pas de mobile</span>`}</li>`)
    .join("")}</ul>`;
}
