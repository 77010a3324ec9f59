// What the console knows, kept current by the WebSocket.
//
// The live socket streams trace entries; every entry of an event refreshes that event's
// detail (GET /api/v1/events/{id}), from which the board derives each person's state.
// The socket is opened before anything is read over HTTP, so nothing falls in between;
// after a drop it reconnects by itself (0.5 s doubling to 5 s) with ?after=<last id seen>.

import { api, token } from "./api.js";
import { alarmBeep } from "./sound.js";

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 5000;
const BACKLOG_LIMIT = 2000; // the server replays at most this many entries per connection
const ALARM_REPEAT_MS = 8000;

export const store = {
  me: null,
  orgs: new Map(),      // id -> organization
  people: new Map(),    // id -> display name
  events: new Map(),    // id -> event detail (pages, notifications, responses)
  traces: new Map(),    // event id -> Map(entry id -> entry)
  traceLoaded: new Set(),
  lastId: null,         // the last trace entry id seen: where to resume from
  seen: new Set(),
  viaBacklog: new Set(), // entry ids that arrived as a replay after a reconnection
  alarms: new Map(),    // page id -> {eventId, silenced}; "help-<response id>" -> {kind: "help", eventId, response, silenced}
  connection: "connecting", // connecting | live | reconnecting
  connections: 0,
};

const listeners = new Set();
export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
function emit(change) {
  for (const listener of [...listeners]) {
    try {
      listener(change);
    } catch (error) {
      console.error(error);
    }
  }
}

/** For the modules that read more about an event (its contacts): their news reaches the same screens. */
export function notify(change) {
  emit(change);
}

export function personName(id) {
  if (id == null) return "";
  return store.people.get(id) || `Personne n° ${id}`;
}

export function orgName(id) {
  return store.orgs.get(id)?.name || `Collectivité n° ${id}`;
}

// ---- loading ---------------------------------------------------------------------------

export async function loadReference() {
  const me = await api.get("/api/v1/me");
  store.me = me;
  if (!["operator", "admin", "referent"].includes(me.role)) return;
  const [orgs, people] = await Promise.all([
    api.get("/api/v1/organizations"), api.get("/api/v1/people?limit=1000"),
  ]);
  store.orgs = new Map(orgs.map((o) => [o.id, o]));
  for (const person of people) store.people.set(person.id, person.display_name);
}

let peopleReload = null;
function reloadPeopleSoon() {
  if (peopleReload) return;
  peopleReload = setTimeout(async () => {
    try {
      for (const person of await api.get("/api/v1/people?limit=1000")) store.people.set(person.id, person.display_name);
      emit({ type: "people" });
    } catch (error) { /* next time */ }
    peopleReload = null;
  }, 300);
}

/** Every event not closed, with its detail. */
export async function loadOpenEvents() {
  const lists = await Promise.all(["open", "acknowledged"].map(
    (status) => api.get(`/api/v1/events?status=${status}&limit=500`)));
  const ids = lists.flat().map((e) => e.id);
  for (const id of [...store.events.keys()]) {
    if (!ids.includes(id) && store.events.get(id).status !== "closed") store.events.delete(id);
  }
  await Promise.all(ids.map((id) => refreshEvent(id)));
  emit({ type: "events" });
}

const inflight = new Map(); // event id -> {promise, again}

/** Fetch an event's detail; calls during a fetch coalesce into one more fetch after it. */
export function refreshEvent(id) {
  const running = inflight.get(id);
  if (running) {
    running.again = true;
    return running.promise;
  }
  const job = { again: false };
  job.promise = (async () => {
    try {
      do {
        job.again = false;
        const detail = await api.get(`/api/v1/events/${id}`);
        store.events.set(id, detail);
        for (const personId of personIdsOf(detail)) {
          if (!store.people.has(personId)) reloadPeopleSoon();
        }
        updateAlarms(detail);
        emit({ type: "event", id });
      } while (job.again);
    } catch (error) {
      if (error.status === 404) {
        store.events.delete(id);
        emit({ type: "event", id });
      }
    } finally {
      inflight.delete(id);
    }
  })();
  inflight.set(id, job);
  return job.promise;
}

function personIdsOf(detail) {
  const ids = new Set();
  for (const page of detail.pages) for (const g of page.policy?.chain || []) for (const m of g.members) ids.add(m);
  for (const n of detail.notifications) if (n.person_id != null) ids.add(n.person_id);
  return ids;
}

export async function loadTrace(eventId) {
  const entries = await api.get(`/api/v1/events/${eventId}/trace`);
  const known = traceOf(eventId);
  for (const entry of entries) {
    if (!known.has(entry.id)) known.set(entry.id, normalise(entry));
  }
  store.traceLoaded.add(eventId);
  emit({ type: "trace", eventId });
}

function traceOf(eventId) {
  let entries = store.traces.get(eventId);
  if (!entries) {
    entries = new Map();
    store.traces.set(eventId, entries);
  }
  return entries;
}

/** REST and WebSocket entries say the actor differently. */
function normalise(entry) {
  return { ...entry, actor_label: entry.actor_label ?? entry.actor?.label ?? "" };
}

// ---- alarms (unreached pages) ------------------------------------------------------------

function updateAlarms(detail) {
  const open = detail.status !== "closed";
  updateHelpAlarms(detail, open);
  for (const page of detail.pages) {
    const alarming = open && page.status === "unreached";
    if (alarming && !store.alarms.has(page.id)) {
      store.alarms.set(page.id, { eventId: detail.id, silenced: false });
      alarmBeep();
    } else if (!alarming && store.alarms.has(page.id)) {
      store.alarms.delete(page.id);
    }
  }
  if (!open) {
    for (const [pageId, alarm] of store.alarms) if (alarm.eventId === detail.id) store.alarms.delete(pageId);
  }
  emit({ type: "alarms" });
}

/** « Renfort »: rings like an unanswered event until an operator takes note of it (responses' `noted_at`). */
function updateHelpAlarms(detail, open) {
  for (const response of detail.responses || []) {
    if (response.kind !== "need_help") continue;
    const key = `help-${response.id}`;
    const ringing = open && !response.noted_at;
    if (ringing && !store.alarms.has(key)) {
      store.alarms.set(key, { kind: "help", eventId: detail.id, response, silenced: false });
      alarmBeep();
    } else if (!ringing && store.alarms.has(key)) {
      store.alarms.delete(key);
    }
  }
}

export function silenceAlarms(eventId) {
  for (const alarm of store.alarms.values()) if (alarm.eventId === eventId) alarm.silenced = true;
  emit({ type: "alarms" });
}

setInterval(() => {
  if ([...store.alarms.values()].some((a) => !a.silenced)) alarmBeep();
}, ALARM_REPEAT_MS);

// ---- the live socket -----------------------------------------------------------------

function onEntry(raw, replayed) {
  if (store.seen.has(raw.id)) return; // exactly once, whatever the server replays
  store.seen.add(raw.id);
  if (replayed) store.viaBacklog.add(raw.id);
  if (store.lastId == null || raw.id > store.lastId) store.lastId = raw.id;
  const entry = normalise(raw);
  traceOf(entry.event_id).set(entry.id, entry);
  if (entry.data?.person_id != null && entry.data?.person && !store.people.has(entry.data.person_id)) {
    store.people.set(entry.data.person_id, entry.data.person);
  }
  if (entry.kind === "page.unreached" && !store.alarms.has(entry.data?.page_id)) {
    store.alarms.set(entry.data.page_id, { eventId: entry.event_id, silenced: false });
    alarmBeep();
  }
  refreshEvent(entry.event_id);
  emit({ type: "entry", entry });
}

export const live = {
  ws: null,
  stopped: true,
  delay: BACKOFF_MIN_MS,
  timer: null,
  connected: false,
  onAuthFailure: () => {},

  start() {
    this.stopped = false;
    this.delay = BACKOFF_MIN_MS;
    this.connect();
  },

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000, "logout");
    this.ws = null;
    this.connected = false;
  },

  connect() {
    clearTimeout(this.timer);
    // The token goes in the first message: a URL reaches proxies' and servers' logs.
    const params = new URLSearchParams();
    const resuming = store.lastId != null;
    if (resuming) params.set("after", String(store.lastId));
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/api/v1/ws?${params}`);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: token.get() || "" }));
    let backlog = resuming ? 0 : -1; // counting the replay, -1 when none was asked for
    let greeted = false;

    ws.onmessage = (message) => {
      if (ws !== this.ws) return;
      let data;
      try {
        data = JSON.parse(message.data);
      } catch (error) {
        return;
      }
      if (data.type === "hello") {
        greeted = true;
        this.connected = true;
        this.delay = BACKOFF_MIN_MS;
        store.connections += 1;
        setConnection("live");
        // First connection, or nothing seen yet to resume from: read everything now that
        // the socket is subscribed (what happens meanwhile arrives on the socket too).
        if (!resuming) resync();
      } else if (data.type === "trace" || data.type === "traces") {
        // "traces": entries committed together, in one message (a storm night's bursts).
        for (const entry of data.type === "trace" ? [data.entry] : data.entries) {
          if (backlog >= 0) backlog += 1;
          onEntry(entry, backlog >= 0);
        }
      } else if (data.type === "changed") {
        // Calls or the planning changed somewhere (another console, the telephony, an on-call
        // person's swap): the screens showing them read them again (window events, see calls.js).
        const name = { calls: "vigie:calls", planning: "vigie:planning" }[data.topic];
        if (name) window.dispatchEvent(new CustomEvent(name, { detail: { orgId: data.organization_id } }));
      } else if (data.type === "caught_up") {
        if (backlog >= BACKLOG_LIMIT) resync(); // more was missed than the server replays
        backlog = -1;
      }
    };

    ws.onclose = (close) => {
      if (ws !== this.ws) return;
      this.connected = false;
      this.ws = null;
      if (this.stopped) return;
      if (close.code === 4401) {
        this.stopped = true;
        this.onAuthFailure();
        return;
      }
      setConnection("reconnecting");
      // A refused handshake (revoked or expired token) looks like any failed connection
      // from here: ask the API, whose 401 sends the operator back to the login screen.
      if (!greeted) api.get("/api/v1/me").catch(() => {});
      this.timer = setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, BACKOFF_MAX_MS);
    };
  },

  /** The network came back: try at once instead of waiting for the backoff. */
  retryNow() {
    if (!this.stopped && !this.ws) {
      this.delay = BACKOFF_MIN_MS;
      this.connect();
    }
  },
};

/** Read everything again: the first time, or when resuming from an id is not possible. */
function resync() {
  loadOpenEvents().catch(() => {});
  for (const eventId of store.traceLoaded) loadTrace(eventId).catch(() => {});
}

function setConnection(state) {
  store.connection = state;
  emit({ type: "connection", state });
}

window.addEventListener("online", () => live.retryNow());
window.addEventListener("offline", () => live.ws?.close()); // a dead link is not always noticed

export function resetStore() {
  store.me = null;
  store.events.clear();
  store.traces.clear();
  store.traceLoaded.clear();
  store.lastId = null;
  store.seen.clear();
  store.viaBacklog.clear();
  store.alarms.clear();
  store.connection = "connecting";
}
