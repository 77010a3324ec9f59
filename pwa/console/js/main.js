// The console's entry point: login, header, the call strip, routing (#/, #/nouvel-evenement[?appel={id}],
// #/evenement/{id}, #/appels, #/planning, #/indicateurs, #/paie, #/personnes, #/personne/{id},
// #/personnes/import, #/procedures, #/admin[/{section}]).

import { mayAdminister, mountAdmin } from "./admin.js";
import { api, token, whenUnauthorized } from "./api.js";
import { mountBoard } from "./board.js";
import { canLogCalls, mountCallbar, mountCalls } from "./calls.js";
import { mountDashboard } from "./dashboard.js";
import { mountEvent } from "./eventview.js";
import { mountNewEvent } from "./newevent.js";
import { mountPayroll } from "./payroll.js";
import { mountPeople, mountPerson } from "./people.js";
import { mountDirectoryImport } from "./directory_import.js";
import { mountPlanning } from "./planning.js";
import { mountProcedures } from "./procedures.js";
import { soundStats, unlockAudio } from "./sound.js";
import { live, loadReference, resetStore, store, subscribe } from "./store.js";
import { since } from "./util.js";

const $ = (selector) => document.querySelector(selector);
let current = null;
let callbar = null;

// A handle for the browser tests and for whoever debugs at 3 a.m. from the DevTools.
window.vigieConsole = { store, live, sound: soundStats };

function showLogin(message = "") {
  live.stop();
  resetStore();
  current?.unmount();
  current = null;
  callbar?.unmount();
  callbar = null;
  $("#shell").classList.remove("with-callbar");
  $("#shell").hidden = true;
  $("#login").hidden = false;
  const error = $("#login-error");
  error.textContent = message;
  error.hidden = !message;
  $("#login-form").elements.password.value = "";
  $("#login-form").elements.username.focus();
}

async function start() {
  try {
    await loadReference();
  } catch (error) {
    if (error.status === 401) return showLogin("Votre session a expiré : reconnectez-vous.");
    token.clear();
    return showLogin(error.status === 403 ? "Ce compte n'a pas accès à la console du PC." : error.french);
  }
  if (!["operator", "admin", "referent"].includes(store.me.role)) {
    token.clear();
    return showLogin("Ce compte n'a pas accès à la console du PC.");
  }
  $("#login").hidden = true;
  $("#shell").hidden = false;
  $("#user-name").textContent = store.me.full_name;
  $("#user-name").title = store.me.full_name; // a long name is cut on a narrow screen
  $("#nav-new").hidden = !["operator", "admin"].includes(store.me.role);
  $("#nav-admin").hidden = !mayAdminister();
  callbar?.unmount();
  callbar = canLogCalls() ? mountCallbar($("#callbar")) : null;
  $("#shell").classList.toggle("with-callbar", Boolean(callbar));
  live.onAuthFailure = () => showLogin("Votre session a expiré : reconnectez-vous.");
  live.start(); // subscribed first; the board is read once the socket says hello
  route();
}

function route() {
  if ($("#shell").hidden) return;
  current?.unmount();
  // Each screen in a node of its own: a reply or a live update arriving after the operator has moved on
  // lands in the detached screen, never in the next one's nodes.
  const view = document.createElement("div");
  $("#view").replaceChildren(view);
  const hash = location.hash || "#/";
  const eventMatch = hash.match(/^#\/evenement\/(\d+)$/);
  const newMatch = hash.match(/^#\/nouvel-evenement(?:\?appel=(\d+))?$/);
  const personMatch = hash.match(/^#\/personne\/(\d+)$/);
  const adminMatch = hash.match(/^#\/admin(?:\/([a-z-]+(?:\/[a-z-]+)?))?$/);
  const importMatch = hash.match(/^#\/personnes\/import(?:\?id=(\d+))?$/);
  let nav = "board";
  if (eventMatch) {
    current = mountEvent(view, Number(eventMatch[1]));
    nav = "";
  } else if (newMatch && ["operator", "admin"].includes(store.me.role)) {
    current = mountNewEvent(view, { callId: newMatch[1] ? Number(newMatch[1]) : null });
    nav = "new";
  } else if (hash === "#/appels") {
    current = mountCalls(view);
    nav = "calls";
  } else if (hash === "#/indicateurs") {
    current = mountDashboard(view);
    nav = "dashboard";
  } else if (hash === "#/planning") {
    current = mountPlanning(view);
    nav = "planning";
  } else if (hash === "#/paie") {
    current = mountPayroll(view);
    nav = "payroll";
  } else if (hash === "#/personnes") {
    current = mountPeople(view);
    nav = "people";
  } else if (importMatch) {
    current = mountDirectoryImport(view, importMatch[1] ? Number(importMatch[1]) : null);
    nav = "people";
  } else if (hash === "#/procedures") {
    current = mountProcedures(view);
    nav = "procedures";
  } else if (personMatch) {
    current = mountPerson(view, Number(personMatch[1]));
    nav = "people";
  } else if (adminMatch && mayAdminister()) {
    current = mountAdmin(view, adminMatch[1]);
    nav = "admin";
  } else {
    current = mountBoard(view);
  }
  for (const link of document.querySelectorAll("[data-nav]")) link.classList.toggle("active", link.dataset.nav === nav);
  window.scrollTo(0, 0);
}

function renderConnection() {
  const status = $("#live-status");
  const state = store.connection;
  status.dataset.state = state;
  status.textContent = state === "live" ? "En direct" : state === "reconnecting" ? "Reconnexion…" : "Connexion…";
  $("#reconnect-banner").hidden = state !== "reconnecting";
}

function renderAlarmIndicator() {
  const box = $("#alarm-indicator");
  const alarms = [...store.alarms.values()];
  const events = new Set(alarms.map((a) => a.eventId));
  const unanswered = new Set(alarms.filter((a) => a.kind !== "help").map((a) => a.eventId)).size;
  const help = alarms.filter((a) => a.kind === "help").length;
  box.hidden = events.size === 0;
  box.classList.toggle("ringing", alarms.some((a) => !a.silenced));
  box.textContent = [help ? `${help} renfort${help > 1 ? "s" : ""} demandé${help > 1 ? "s" : ""}` : "",
                     unanswered ? `${unanswered} événement${unanswered > 1 ? "s" : ""} sans réponse` : ""]
    .filter(Boolean).join(" · ");
  box.onclick = () => {
    const [first] = events;
    if (first) location.hash = `#/evenement/${first}`;
  };
}

subscribe((change) => {
  if (change.type === "connection") renderConnection();
  if (change.type === "alarms" || change.type === "event") renderAlarmIndicator();
});

const CLOCK = new Intl.DateTimeFormat("fr-FR", { weekday: "short", day: "2-digit", month: "short",
                                                 hour: "2-digit", minute: "2-digit", second: "2-digit" });
setInterval(() => {
  if ($("#shell").hidden) return;
  $("#clock").textContent = CLOCK.format(new Date());
  current?.tick?.();
  for (const node of document.querySelectorAll("[data-since]")) {
    const text = since(node.dataset.since);
    if (node.textContent !== text) node.textContent = text;
  }
}, 1000);

$("#login-form").addEventListener("submit", async (submit) => {
  submit.preventDefault();
  unlockAudio(); // a user gesture: the alarm may sound later
  const form = submit.target;
  const button = form.querySelector("button");
  const error = $("#login-error");
  error.hidden = true;
  button.disabled = true;
  try {
    const result = await api.login(form.elements.username.value.trim(), form.elements.password.value);
    token.set(result.access_token);
    await start();
  } catch (failure) {
    error.textContent = failure.status === 401 || failure.code === "bad_credentials"
      ? "Identifiant ou mot de passe incorrect." : failure.french;
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
});

$("#logout").addEventListener("click", async () => {
  try {
    await api.post("/api/v1/auth/logout");
  } catch (error) { /* the token goes anyway */ }
  token.clear();
  showLogin();
});

whenUnauthorized(() => {
  token.clear();
  showLogin("Votre session a expiré : reconnectez-vous.");
});

window.addEventListener("hashchange", route);

if (token.get()) start();
else showLogin();
