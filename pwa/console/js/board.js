// The live board: every event not closed, grouped by commune, gravest first. Each card folds its chains to where
// they stand (unfolded on demand); Enter on a card opens the event, Escape there comes back to the same card.

import { callList, telLink } from "./contacts.js";
import { exerciseBadge } from "./exercise.js";
import { EVENT_STATUS, severityLabel } from "./labels.js";
import { renderPages, renderSummaries, stepsLegend, tickCountdowns } from "./pages.js";
import { helpBox, unreachedAlarms, wireHelp } from "./reinforcement.js";
import { orgName, silenceAlarms, store, subscribe } from "./store.js";
import { esc, since, timeOf } from "./util.js";

const unfolded = new Set(); // event ids whose whole chain the operator opened on the board
let focusOnReturn = null; // the card to focus when the board shows again

/** Back to the board, on the card of `eventId` (Escape in the event view). */
export function returnToBoard(eventId) {
  focusOnReturn = eventId;
  location.hash = "#/";
}

function openEvent(eventId) {
  focusOnReturn = Number(eventId);
  location.hash = `#/evenement/${eventId}`;
}

export function mountBoard(root) {
  root.innerHTML = `<div class="board-view">
      <div class="board-head">
        <h1>Tableau de bord</h1>
        <p class="muted" id="board-summary"></p>
        ${stepsLegend()}
        <a class="button primary" href="#/nouvel-evenement">+ Nouvel événement</a>
      </div>
      <div id="board" class="board" data-testid="board"></div>
    </div>`;
  const board = root.querySelector("#board");
  const gone = new AbortController(); // the listeners on the document leave with the board
  const summary = root.querySelector("#board-summary");
  let scheduled = false;
  const render = () => {
    scheduled = false;
    board.innerHTML = renderBoard();
    const open = openEvents();
    summary.textContent = open.length
      ? `${open.length} événement${open.length > 1 ? "s" : ""} en cours`
      : "";
    tickCountdowns(board);
    if (focusOnReturn != null) {
      const back = board.querySelector(`.card[data-event-id='${focusOnReturn}']`);
      if (back) {
        back.focus();
        focusOnReturn = null;
      }
    } else if (document.activeElement === document.body && focusedId != null) {
      // A live update redrew the card the keyboard was on: the focus stays there, the page does not move.
      board.querySelector(`.card[data-event-id='${focusedId}']`)?.focus({ preventScroll: true });
    }
  };
  let focusedId = null;
  board.addEventListener("focusin", (focus) => {
    focusedId = focus.target.closest("[data-event-id]")?.dataset.eventId ?? null;
  });
  document.addEventListener("pointerdown", () => { focusedId = null; }, { signal: gone.signal });
  const schedule = () => {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(render);
    }
  };
  board.addEventListener("click", (click) => {
    const silence = click.target.closest("[data-silence]");
    if (silence) {
      silenceAlarms(Number(silence.dataset.silence));
      return;
    }
    const fold = click.target.closest("[data-unfold]");
    if (fold) {
      const id = Number(fold.dataset.unfold);
      if (!unfolded.delete(id)) unfolded.add(id);
      render();
      board.querySelector(`[data-unfold='${id}']`)?.focus();
      return;
    }
    const card = click.target.closest("[data-event-id]");
    if (card && !click.target.closest("a, button")) openEvent(card.dataset.eventId);
  });
  wireHelp(board);
  board.addEventListener("keydown", (key) => {
    if (key.key === "Enter" && key.target.matches(".card[data-event-id]")) {
      key.preventDefault();
      openEvent(key.target.dataset.eventId);
    }
  });
  const unsubscribe = subscribe(schedule);
  render();
  return {
    unmount() {
      unsubscribe();
      gone.abort();
    },
    tick: () => tickCountdowns(board),
  };
}

function openEvents() {
  return [...store.events.values()].filter((e) => e.status !== "closed");
}

function renderBoard() {
  const events = openEvents();
  if (!events.length) {
    return store.connection === "connecting" && !store.connections
      ? `<p class="empty">Chargement…</p>`
      : `<div class="empty"><p><strong>Aucun événement en cours.</strong></p>
           <p class="muted">Les nouveaux événements et les réponses des astreintes s'affichent ici en direct.</p></div>`;
  }
  const byOrg = new Map();
  for (const event of events) {
    if (!byOrg.has(event.organization_id)) byOrg.set(event.organization_id, []);
    byOrg.get(event.organization_id).push(event);
  }
  const orgs = [...byOrg.keys()].sort((a, b) => orgName(a).localeCompare(orgName(b), "fr"));
  return orgs.map((orgId) => {
    const list = byOrg.get(orgId).sort((a, b) =>
      alarming(b) - alarming(a) || b.severity - a.severity || (b.received_at > a.received_at ? 1 : -1));
    return `<section class="commune" data-org-id="${orgId}">
        <h2>${esc(orgName(orgId))} <span class="count">${list.length}</span></h2>
        <div class="cards">${list.map(card).join("")}</div>
      </section>`;
  }).join("");
}

function alarming(event) {
  return [...store.alarms.values()].some((a) => a.eventId === event.id) ? 1 : 0;
}

function alarmState(alarms) {
  if (!alarms.length) return null;
  return alarms.every((a) => a.silenced) ? "silenced" : "ringing";
}

function card(event) {
  const alarm = alarmState([...store.alarms.values()].filter((a) => a.eventId === event.id));
  const unreached = alarmState(unreachedAlarms(event.id));
  const alarmBox = helpBox(event) + (unreached
    ? `<div class="alarm-box" role="alert"><strong>Personne n'a répondu</strong>
         <span>Appelez les astreintes par téléphone, puis saisissez la prise en charge :</span>
         ${callList(event.id, { others: false })}
         ${unreached === "ringing" ? `<button type="button" class="ghost small" data-silence="${event.id}">Couper le son</button>` : ""}
       </div>`
    : "");
  const open = unfolded.has(event.id);
  const people = new Set(event.pages.flatMap((p) => (p.policy?.chain || []).flatMap((g) => g.members))).size;
  const caller = [esc(event.caller_name), event.callback_number ? telLink(event.callback_number, { label: event.caller_name })
    : ""].filter(Boolean).join(" · ");
  return `<article class="card compact sev-${event.severity}${alarm ? ` alarm alarm-${alarm}` : ""}" data-event-id="${event.id}"
        data-number="${esc(event.number)}" tabindex="0" aria-label="${esc(`${event.number} — ${event.title}`)}">
      <header class="card-head">
        ${exerciseBadge(event)}<span class="sev-badge sev-${event.severity}">${esc(severityLabel(event.severity))}</span>
        <span class="number">${esc(event.number)}</span>
        <span class="status status-${esc(event.status)}">${esc(EVENT_STATUS[event.status] || event.status)}</span>
        <span class="since" title="Reçu à ${esc(timeOf(event.received_at))}" data-since="${esc(event.received_at)}">${
          esc(since(event.received_at))}</span>
      </header>
      <h3 class="title"><a href="#/evenement/${event.id}" tabindex="-1">${esc(event.title)}</a></h3>
      <p class="meta">${esc(event.category)}${event.place ? ` — <span class="place">${esc(event.place)}</span>` : ""}${
        caller ? ` · <span class="caller">Appelant : ${caller}</span>` : ""}</p>
      ${alarmBox}
      <div class="chain-summaries">${renderSummaries(event)}</div>
      ${people ? `<button type="button" class="chain-toggle ghost small" data-unfold="${event.id}" aria-expanded="${open}">${
        open ? "Replier la chaîne" : `Voir la chaîne (${people} personne${people > 1 ? "s" : ""})`}</button>` : ""}
      <div class="pages"${open ? "" : " hidden"}>${renderPages(event, { compact: true, countdown: false })}</div>
    </article>`;
}
