/* Vigie astreinte — the on-call phone app: no framework, no build, French UI. */
import { oncallModule } from './astreinte.js';
import { alertsModule, mustInstallFirst, platform } from './alerts.js';

const { kv, outbox, api, enqueue, flush } = self.Vigie;
const $ = (sel, root = document) => root.querySelector(sel);
const main = $('#main');

const SEV = { 1: 'Information', 2: 'Modéré', 3: 'Grave', 4: 'Critique' };
const KIND = { ack: 'Je prends', decline: 'Indisponible', en_route: 'En route', on_site: 'Sur place', done: 'Terminé',
  need_help: 'Renfort demandé', note: 'Note', photo: 'Photo' };
const REPORTS = [['en_route', 'En route'], ['on_site', 'Sur place'], ['done', 'Terminé'], ['need_help', 'Renfort']];
const REASONS = ['Malade', 'Hors secteur', 'Déjà en intervention'];
// What an SMS reply says for each answer (notifications/sms_reply.py): `1 4821` takes page 4821.
const SMS_WORD = { ack: '1', decline: '2', on_site: '3', done: '4', en_route: '5', need_help: '6' };
// « Terminé » ends the intervention for the PC: a mis-tap can be taken back for this long.
const UNDO_MS = 5000;
const CHANNEL = { sms: 'SMS', email: 'e-mail', push: 'notification push', fcm: 'notification', voice: 'appel' };
const VIA = { push: 'depuis la notification', sms: 'par SMS', email: 'par e-mail', operator: 'saisi par le PC',
  api: 'par l\'API', link: 'par lien', voice: 'au téléphone (touche)' };
const PURPOSE = { solicit: 'sollicitation', inform: 'information', closing: 'fin de sollicitation',
  confirm: 'confirmation', unreached: 'alerte : personne n\'a pris', enrol: 'inscription' };
const SOURCE = { phone: 'appel', police: 'police', sdis: 'SDIS', elu: 'élu', sensor: 'capteur', agent: 'agent',
  other: 'autre source' };
const ERRORS = {
  network: 'pas de réseau', already_acknowledged: 'déjà pris en charge', no_active_page: 'cette sollicitation n\'attend plus de réponse',
  event_closed: 'l\'événement est clôturé', not_solicited: 'vous n\'êtes pas sollicité pour cet événement',
  enrolment_used: 'ce lien a déjà servi : demandez-en un nouveau au PC',
  enrolment_expired: 'ce lien a expiré : demandez-en un nouveau au PC',
  enrolment_person_inactive: 'vous n\'êtes plus d\'astreinte', not_found: 'introuvable',
  file_too_large: 'photo trop lourde (8 Mo au plus)', unsupported_file: 'format de photo non accepté (JPEG, PNG, WebP)',
  empty_file: 'photo vide', validation_error: 'données refusées',
  rate_limited: 'trop de tentatives : réessayez dans quelques minutes',
};

const state = { me: null, pages: [], informed: [], pagesAt: 0, fresh: false, queue: [], view: { update() {} }, trace: {}, oncall: null };

/* ---------- small helpers ---------- */
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const ts = (iso) => (iso ? Date.parse(/[zZ]$|[+-]\d\d:?\d\d$/.test(iso) ? iso : iso + 'Z') : NaN);
const hhmm = (t) => new Date(t).toLocaleTimeString('fr-FR', { hour: '2-digit', minute: '2-digit' });
const day = (t) => new Date(t).toLocaleDateString('fr-FR', { day: 'numeric', month: 'long' });

function since(t) {
  const m = Math.floor(Math.max(0, Date.now() - t) / 60000);
  if (m < 1) return 'à l\'instant';
  if (m < 60) return `il y a ${m} min`;
  if (m < 24 * 60) return `il y a ${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')}`;
  return `le ${day(t)} à ${hhmm(t)}`;
}

function countdown(t) {
  const s = Math.round((t - Date.now()) / 1000);
  // Past the deadline, the last data read said « still asking me »: the app reads again at once (tick),
  // and the line goes as soon as the data says the page moved on.
  if (s <= 0) return 'Escalade imminente';
  const m = Math.floor(s / 60);
  return `Escalade dans ${m ? `${m} min ${String(s % 60).padStart(2, '0')}` : s} s`;
}

function frenchError(r) {
  if (r.code === 'already_acknowledged') {
    const by = /by (.+)$/.exec(r.message || '');
    return by ? `déjà pris en charge par ${by[1]}` : ERRORS.already_acknowledged;
  }
  return ERRORS[r.code] || (r.status === 401 ? 'appareil non reconnu' : r.status >= 500 ? 'serveur indisponible'
    : r.status === 404 ? ERRORS.not_found : `erreur ${r.status}`);
}

/* Redraw only what changed: a tap in progress is not lost to a background refresh. */
function setHtml(target, html) {
  const el = typeof target === 'string' ? $(target) : target;
  if (el.vigieHtml !== html) { el.innerHTML = html; el.vigieHtml = html; }
}

function toast(text, kind = '') {
  const el = document.createElement('div');
  el.className = `toast ${kind}`;
  el.textContent = text;
  $('#toasts').replaceChildren(el);
  setTimeout(() => el.remove(), 3500);
}

const withTimeout = (promise, ms) => Promise.race([promise, new Promise((_, reject) =>
  setTimeout(() => reject(new Error('timeout')), ms))]);

function deviceLabel() {
  const ua = navigator.userAgent;
  const model = (/Android [\d.]+; ([^;)]+)/.exec(ua) || [])[1];
  const os = /iPhone/.test(ua) ? 'iPhone' : /iPad/.test(ua) ? 'iPad'
    : /Android/.test(ua) ? (model && model.trim().length > 2 ? model.trim() : 'Android')
      : /Windows/.test(ua) ? 'Windows' : /Mac OS X/.test(ua) ? 'Mac' : /Linux/.test(ua) ? 'Linux' : 'Téléphone';
  const browser = /Edg\//.test(ua) ? 'Edge' : /SamsungBrowser/.test(ua) ? 'Samsung Internet' : /Firefox\//.test(ua)
    ? 'Firefox' : /Chrome\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'navigateur';
  return `${os} · ${browser}`.slice(0, 100);
}

/* ---------- theme: night by default between 20:00 and 07:00, or when the phone asks for dark ---------- */
function applyTheme() {
  const pref = localStorage.getItem('vigie-theme') || 'auto';
  const hour = new Date().getHours();
  const night = pref === 'night' || (pref === 'auto' && (hour >= 20 || hour < 7
    || matchMedia('(prefers-color-scheme: dark)').matches));
  document.documentElement.dataset.theme = night ? 'night' : 'day';
  $('meta[name=theme-color]').content = night ? '#0b0f14' : '#eef1f5';
}

/* ---------- data ---------- */
async function loadQueue() {
  state.queue = (await outbox.all()) || [];
  const net = $('#net');
  const n = state.queue.length;
  const text = !navigator.onLine ? `Hors ligne${n ? ` · ${n} en attente` : ''}` : n ? `${n} en attente d'envoi` : '';
  net.textContent = text;
  net.hidden = !text;
  net.className = `pill${navigator.onLine ? ' wait' : ' off'}`;
}

const pendingFor = (eventId) => state.queue.filter((q) => q.event_id === eventId);

async function loadPages() {
  // What I am asked, and what I am only told of (« pour information »: read, never answered).
  const [r, told] = await Promise.all([api('/api/v1/me/pages'), api('/api/v1/me/informed')]);
  if (r.ok) {
    state.pages = r.data;
    if (told.ok) state.informed = told.data.map(asInformed);
    state.pagesAt = Date.now();
    state.fresh = true;
    await kv.set('pages', { at: state.pagesAt, pages: r.data, informed: state.informed });
  } else if (r.status === 401) {
    return lost();
  } else {
    state.fresh = false;
  }
  return r.ok;
}

async function loadTrace(eventId) {
  const r = await api(`/api/v1/events/${eventId}/trace`);
  if (r.ok) {
    state.trace[eventId] = r.data;
    await kv.set(`trace-${eventId}`, r.data);
  } else if (!state.trace[eventId]) {
    state.trace[eventId] = (await kv.get(`trace-${eventId}`)) || null;
  }
}

let refreshing = null, stale = false;
function refresh() {
  if (!state.me) return Promise.resolve();
  if (refreshing) { stale = true; return refreshing; }
  refreshing = (async () => {
    try {
      do {
        stale = false;
        await loadPages();
        if (!state.me) break;
        if (state.view.event) await loadTrace(state.view.event);
        if (state.view.oncall || oncall.due()) await oncall.load();
        await loadQueue();
        state.view.update();
      } while (stale && state.me);
    } finally { refreshing = null; }
  })();
  return refreshing;
}

async function lost() {
  await kv.del('token');
  await kv.del('me');
  await kv.del('pages');
  await kv.del('oncall');
  state.me = null;
  state.pages = [];
  state.informed = [];
  state.oncall = null;
  $('#menu').hidden = true;
  main.innerHTML = `<section class="panel"><h1>Appareil non reconnu</h1>
    <p>Ce téléphone n'est plus inscrit (il a peut-être été révoqué).</p>
    <p>Demandez au PC un nouveau lien d'inscription.</p></section>`;
  state.view = { update() {} };
}

/* ---------- the outbox: every answer goes through it, in order, exactly once ---------- */
let sending = false, again = false, retryTimer = null;
async function sendQueue() {
  if (sending) { again = true; return; }
  sending = true;
  try {
    do { again = false; await flush(onSent); } while (again);
  } catch (e) { /* retried below */ }
  sending = false;
  await loadQueue();
  clearTimeout(retryTimer);
  // Sooner when the server said when to come back (a storm night's 503), else every 10 s.
  const wait = self.Vigie.retryAfter ? self.Vigie.retryAfter * 1000 : 10000;
  self.Vigie.retryAfter = null;
  if (state.queue.length) retryTimer = setTimeout(sendQueue, wait);
  await refresh();
}

function onSent(item, outcome, r) {
  const what = item.photo ? 'Photo' : KIND[item.body.kind];
  if (outcome === 'sent') toast(`Envoyé : ${what}${item.number ? ` (${item.number})` : ''}`, 'ok');
  else if (outcome === 'taken' && state.me && (r.message || '').endsWith(`by ${state.me.person_name}`)) {
    toast(`${item.number || 'Événement'} : déjà pris en charge par vous (par SMS ?)`, 'ok');
  } else if (outcome === 'taken') toast(`${item.number || 'Événement'} : ${frenchError(r)}`, 'warn');
  else toast(`Refusé : ${what} — ${frenchError(r)}`, 'err');
}

async function answer(ev, page, kind, text = '') {
  const held = kind === 'done';
  const item = await enqueue({ event_id: ev.id, number: ev.number, title: ev.title,
    body: { kind, page_id: page ? page.page_id : null, text, via: 'app' }, hold_until: held ? Date.now() + UNDO_MS : 0 });
  await loadQueue();
  state.view.update();
  if (held) offerUndo(item);
  else if (!navigator.onLine) toast('Hors ligne : réponse en attente d\'envoi', 'warn');
  sendQueue();
}

/* Undo: the answer waits in the outbox itself (IndexedDB), marked `hold_until`, and flush() leaves it
   there until then. Held in the outbox rather than in a timer, it cannot be lost: leaving the app
   releases it at once (releaseHeld), and a killed app sends it from the outbox on its next start or
   from the service worker's background sync. */
let undoTimer = null;
function offerUndo(item) {
  const bar = $('#undo');
  bar.innerHTML = `<span>« ${esc(KIND[item.body.kind])} » part dans <b data-left>${UNDO_MS / 1000}</b> s</span>
    <button class="btn small" data-undo="${esc(item.client_id)}">Annuler</button>`;
  bar.hidden = false;
  clearTimeout(undoTimer);
  const left = () => {
    const ms = item.hold_until - Date.now();
    if (ms <= 0) { bar.hidden = true; sendQueue(); return; }
    bar.querySelector('[data-left]').textContent = Math.ceil(ms / 1000);
    undoTimer = setTimeout(left, Math.min(ms, 1000 - (ms % 1000) || 1000) + 20);
  };
  left();
}

async function undo(clientId) {
  clearTimeout(undoTimer);
  $('#undo').hidden = true;
  const item = ((await outbox.all()) || []).find((q) => q.client_id === clientId);
  if (item && item.hold_until > Date.now()) {
    await outbox.remove(item.seq);
    toast(`« ${KIND[item.body.kind]} » annulé`, 'ok');
  } else {
    toast('Trop tard : la réponse est partie', 'warn');
  }
  await loadQueue();
  state.view.update();
}

async function releaseHeld() {
  const held = ((await outbox.all()) || []).filter((q) => q.hold_until);
  if (!held.length) return;
  for (const q of held) { q.hold_until = 0; await outbox.put(q); }
  clearTimeout(undoTimer);
  $('#undo').hidden = true;
  sendQueue();
  navigator.serviceWorker?.ready.then((reg) => reg.sync && reg.sync.register('vigie-outbox')).catch(() => null);
}

async function shrink(file) {
  if (file.size < 1.5e6 && /jpeg|png|webp/.test(file.type)) return file;
  try {
    const bmp = await createImageBitmap(file);
    const k = Math.min(1, 1600 / Math.max(bmp.width, bmp.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(bmp.width * k);
    canvas.height = Math.round(bmp.height * k);
    canvas.getContext('2d').drawImage(bmp, 0, 0, canvas.width, canvas.height);
    return await new Promise((resolve) => canvas.toBlob((b) => resolve(b || file), 'image/jpeg', 0.82));
  } catch (e) { return file; }
}

/* ---------- push subscription (never blocks: subscribe() hangs offline) ---------- */
async function askPermission() {
  if (!('Notification' in window)) return 'denied';
  if (Notification.permission !== 'default') return Notification.permission;
  try { return await withTimeout(Notification.requestPermission(), 15000); } catch (e) { return Notification.permission; }
}

function keyBytes(b64) {
  const s = atob(b64.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

async function subscribePush() {
  if (!('serviceWorker' in navigator) || !('PushManager' in window)) throw new Error('unsupported');
  const reg = await withTimeout(navigator.serviceWorker.ready, 8000);
  const key = await api('/api/v1/push/vapid-public-key');
  if (!key.ok) throw new Error('no key');
  const options = { userVisibleOnly: true, applicationServerKey: keyBytes(key.data.public_key) };
  let sub = await withTimeout(reg.pushManager.getSubscription(), 5000);
  if (sub && sub.options && sub.options.applicationServerKey
      && new Uint8Array(sub.options.applicationServerKey).join() !== options.applicationServerKey.join()) {
    await sub.unsubscribe();
    sub = null;
  }
  if (!sub) sub = await withTimeout(reg.pushManager.subscribe(options), 10000);
  const j = sub.toJSON();
  const r = await api('/api/v1/me/push-subscriptions', { method: 'POST',
    json: { endpoint: j.endpoint, keys: j.keys, label: (await kv.get('label')) || deviceLabel() } });
  if (!r.ok) throw new Error('refused');
}

async function enablePush() {
  const perm = await askPermission();
  if (perm !== 'granted') return { perm, push: false };
  try { await subscribePush(); return { perm, push: true }; } catch (e) { return { perm, push: false }; }
}

/* ---------- views ---------- */
const oncall = oncallModule({ main, toast, setHtml, esc, frenchError, state, lost, ts, hhmm, day });
const alerts = alertsModule({ main, toast, esc, frenchError, lost });

/* An event I am only told of, shaped as a page no one asks me to answer. */
const asInformed = (i) => ({ ...i, status: 'informed', my_responses: [], others: [] });

function stateLine(p) {
  if (p.status === 'informed') return '<span class="info">Pour information — aucune réponse ne vous est demandée</span>';
  if (p.status === 'active') {
    if (p.asking_me) {
      const due = ts(p.due_at);
      return `<strong class="ask">Vous êtes sollicité</strong>${due ? `<span class="due" data-due="${due}">${countdown(due)}</span>` : ''}`;
    }
    return `En attente de réponse${p.current_person ? ` : ${esc(p.current_person)}` : ''}`;
  }
  if (p.status === 'acknowledged') {
    const me = p.my_responses.includes('ack') || p.acknowledged_by === state.me.person_name;
    return `<span class="okc">Pris en charge ${me ? 'par vous' : p.acknowledged_by ? `par ${esc(p.acknowledged_by)}` : ''}</span>`;
  }
  if (p.status === 'unreached') return '<strong class="ask">Personne n\'a pris en charge</strong>';
  return 'Sollicitation arrêtée';
}

function othersLine(p) {
  const last = new Map();
  for (const o of p.others) last.set(o.person, o.kind);
  if (!last.size) return '';
  const who = [...last].map(([person, kind]) => `${esc(person)} (${esc((KIND[kind] || kind).toLowerCase())})`);
  return `<div class="others">Aussi : ${who.join(', ')}</div>`;
}

function staleNote() {
  if (state.fresh || !state.pagesAt) return '';
  return `<p class="stale">Hors ligne — dernières informations connues (${since(state.pagesAt)}).</p>`;
}

// A drill says so before anything else: nobody drives to an exercise as to the real thing.
function drillBadge(e) {
  return e.exercise ? '<span class="badge drill" data-testid="exercise-badge">EXERCICE</span>' : '';
}

function card(p) {
  const e = p.event, t = ts(e.received_at), n = pendingFor(e.id).length;
  const past = p.status === 'informed' ? e.status === 'closed' : p.status !== 'active';
  return `<a class="card sev${p.severity}${past ? ' past' : ''}" href="#/event/${e.id}">
  <div class="row">${drillBadge(e)}<span class="badge sev${p.severity}">${SEV[p.severity] || 'Grave'}</span>
   <span class="muted">${esc(e.number)}</span><span class="muted end" data-since="${t}">${since(t)}</span></div>
  <div class="title">${esc(e.title)}</div>
  ${e.place ? `<div class="place">${esc(e.place)}</div>` : ''}
  <div class="state">${stateLine(p)}</div>${othersLine(p)}
  ${n ? `<div class="pending">${n > 1 ? `${n} réponses` : '1 réponse'} en attente d'envoi</div>` : ''}</a>`;
}

function listView() {
  state.view = {
    update() {
      const active = state.pages.filter((p) => p.status === 'active');
      const past = state.pages.filter((p) => p.status !== 'active');
      setHtml(main, `<h1 class="h">Mes sollicitations</h1>${staleNote()}
        ${active.length ? active.map(card).join('') : `<p class="empty">Aucune sollicitation en cours.<br>
          Vous serez prévenu par notification et par SMS.</p>`}
        ${state.informed.length ? `<h2 class="h2">Pour information</h2>${state.informed.map(card).join('')}` : ''}
        ${past.length ? `<h2 class="h2">Dernières 48 heures</h2>${past.map(card).join('')}` : ''}`);
    },
  };
  state.view.update();
}

function pageFor(eventId) {
  const all = state.pages.filter((p) => p.event.id === eventId);
  return all.find((p) => p.status === 'active') || all[0] || null;
}

const informedOf = (eventId) => state.informed.find((i) => i.event.id === eventId) || null;

function mapLink(e) {
  if (e.latitude != null && e.longitude != null) {
    return `https://www.openstreetmap.org/?mlat=${e.latitude}&mlon=${e.longitude}#map=17/${e.latitude}/${e.longitude}`;
  }
  const q = [e.place, e.organization].filter(Boolean).join(', ');
  return q ? `https://www.openstreetmap.org/search?query=${encodeURIComponent(q)}` : '';
}

function headHtml(p) {
  const e = p.event, t = ts(e.received_at);
  return `<div class="head sev${p.severity}">
    <div class="row">${drillBadge(e)}<span class="badge sev${p.severity}">${SEV[p.severity] || 'Grave'}</span>
      <span class="muted">${esc(e.number)} · ${esc(e.organization)}</span></div>
    <h1>${esc(e.title)}</h1>
    ${e.place ? `<p class="place">${esc(e.place)}</p>` : ''}
    ${e.description ? `<p class="desc">${esc(e.description)}</p>` : ''}
    <p class="muted">${e.category ? `${esc(e.category)} · ` : ''}reçu à ${hhmm(t)}, <span data-since="${t}">${since(t)}</span></p>
    ${e.status === 'closed' ? '<p class="state"><strong>Événement clôturé</strong></p>' : `<p class="state">${stateLine(p)}</p>`}
    ${othersLine(p)}
  </div>`;
}

function linksHtml(e) {
  const map = mapLink(e);
  const links = [e.pc_phone ? `<a class="btn" href="tel:${esc(e.pc_phone.replace(/\s/g, ''))}">Appeler le PC</a>` : '',
    map ? `<a class="btn" href="${esc(map)}" target="_blank" rel="noopener">Voir sur la carte</a>` : ''].filter(Boolean);
  return links.length ? `<div class="${links.length > 1 ? 'duo' : 'stack'}">${links.join('')}</div>` : '';
}

function actionsHtml(p) {
  const e = p.event, pend = pendingFor(e.id);
  const kinds = new Set([...p.my_responses, ...pend.filter((q) => q.body).map((q) => q.body.kind)]);
  const mine = kinds.has('ack') || (p.status === 'acknowledged' && p.acknowledged_by === state.me.person_name);
  let html = '';
  if (p.status === 'active' && !kinds.has('ack') && e.status !== 'closed') {
    html += `${kinds.has('decline') ? '<p class="muted">Vous avez indiqué être indisponible.</p>' : ''}
      <div class="duo"><button class="btn big ok" data-kind="ack">Je prends</button>
      <a class="btn big no" href="#/event/${e.id}/decline">Indisponible</a></div>`;
  }
  if (mine) {
    html += `<div class="grid">${REPORTS.map(([k, label]) =>
      `<button class="btn big${kinds.has(k) ? ' did' : ''}" data-kind="${k}">${label}</button>`).join('')}</div>`;
  }
  const chips = p.my_responses.map((k) => `<li class="chip${k === 'decline' ? ' no' : ''}">${esc(KIND[k] || k)}</li>`);
  for (const q of pend) {
    const what = esc(q.photo ? 'Photo' : KIND[q.body.kind]);
    chips.push(`<li class="chip wait">${what} — ${q.hold_until > Date.now() ? 'annulable quelques secondes' : 'en attente d\'envoi'}</li>`);
  }
  if (chips.length) html += `<h2 class="h2">Mes réponses</h2><ul class="chips">${chips.join('')}</ul>`;
  const sms = smsHtml(p, pend, kinds, mine);
  return pend.length ? sms + html : html + sms;  // an answer stuck in the phone: its SMS comes first
}

/* No way to the server (offline, or it does not answer): the same answer by SMS, code included, so that
   the PC hears it now. The app's copy still leaves when the network returns; the server takes it as the
   same answer (a second « Je prends » from the taker changes nothing). */
function smsHtml(p, pend, kinds, mine) {
  const e = p.event;
  const unreachable = !navigator.onLine || !state.fresh;
  if (!unreachable || !p.sms_number || !p.reply_code || e.status === 'closed') return '';
  const now = Date.now();
  let wanted = pend.filter((q) => q.body && SMS_WORD[q.body.kind] && !(q.hold_until > now))
    .map((q) => [q.body.kind, q.body.text]);
  if (!wanted.length) {
    if (p.status === 'active' && !kinds.has('ack')) wanted = [['ack', ''], ['decline', '']];
    else if (mine) wanted = [['on_site', ''], ['done', '']].filter(([k]) => !kinds.has(k));
  }
  if (!wanted.length) return '';
  const to = p.sms_number.replace(/[^\d+]/g, '');
  const links = wanted.map(([kind, text]) => {
    const body = `${SMS_WORD[kind]} ${p.reply_code}${text ? ` ${text}` : ''}`;
    // `?&body=` is read by both iOS and Android messaging apps.
    return `<a class="btn" href="sms:${esc(to)}?&body=${esc(encodeURIComponent(body))}">« ${esc(KIND[kind])} » par SMS (${esc(body)})</a>`;
  });
  return `<section class="panel smsalt"><b>Pas de connexion ? Répondez par SMS au PC</b>
    <div class="stack">${links.join('')}</div></section>`;
}

function describe(en) {
  const d = en.data || {};
  const who = d.person || en.actor_label || '';
  const ch = CHANNEL[d.channel] || d.channel || 'message';
  const fem = d.channel === 'push' || d.channel === 'fcm' ? 'e' : '';
  const Ch = ch[0].toUpperCase() + ch.slice(1);
  const n = (label) => [label, PURPOSE[d.purpose] || '', 'minor'];
  switch (en.kind) {
    case 'event.created': return ['Événement ouvert', [SOURCE[d.source], d.caller_name, en.actor_label].filter(Boolean).join(' · ')];
    case 'event.informed': return ['Information diffusée', d.group || ''];
    case 'event.requalified': return [`Gravité requalifiée : ${SEV[d.from] || d.from} → ${SEV[d.to] || d.to}`, d.reason || ''];
    case 'event.closed': return ['Événement clôturé', d.reason || ''];
    case 'page.started': return ['Sollicitation lancée', (d.chain || []).map((g) => g.group).join(' → ')];
    case 'page.notify': return [`Sollicité : ${d.person || ''}`, d.group || ''];
    case 'page.escalated': return [`Escalade vers ${d.to_group || ''}`, d.from_group ? `${d.from_group} sans réponse` : ''];
    case 'page.repeated': return [`Relance (tour ${d.round || ''})`, ''];
    case 'page.unreached': return ['Personne n\'a pris en charge', 'Le PC est alerté', 'alarm'];
    case 'page.acknowledged': return ['Sollicitation acquittée', ''];
    case 'page.cancelled': return ['Sollicitation arrêtée', d.reason || ''];
    case 'notification.sent': return n(`${Ch} envoyé${fem}`);
    case 'notification.delivered': return n(`${Ch} remis${fem}`);
    case 'notification.failed': return n(`Échec d'envoi (${ch})`);
    case 'notification.retry': return n(`Nouvel essai d'envoi (${ch})`);
    case 'notification.fallback': return n('Envoi par un autre moyen');
    case 'notification.merged': return n('Messages regroupés');
    case 'contact.removed': return n(`Adresse retirée (${ch})`);
    case 'response.photo': return ['Photo ajoutée', [en.actor_label, d.caption].filter(Boolean).join(' · ')];
    case 'trace.correction': return ['Correction', d.text || ''];
    default:
      if (en.kind.startsWith('response.')) {
        const k = en.kind.slice(9);
        return [`${KIND[k] || k} — ${who}`, [VIA[d.via], d.on_behalf ? d.reason : '', d.text].filter(Boolean).join(' · '),
          k === 'decline' ? 'resp no' : 'resp'];
      }
      return [en.kind, ''];
  }
}

function traceHtml(entries) {
  if (!entries) return '<li class="muted">Main courante indisponible hors ligne.</li>';
  return entries.slice().reverse().map((en) => {
    const [label, detail, cls = ''] = describe(en);
    return `<li class="${cls}"><time>${hhmm(ts(en.at))}</time><div><b>${esc(label)}</b>${detail ? `<span>${esc(detail)}</span>` : ''}</div></li>`;
  }).join('');
}

function eventView(eventId, decline) {
  let drawn = false;
  const opened = Date.now();
  state.view = {
    event: eventId,
    update() {
      const p = pageFor(eventId);
      const told = p ? null : informedOf(eventId);
      if (told) {
        drawn = false;
        return informedHtml(told);
      }
      if (!p) {
        drawn = false;
        const known = state.fresh && state.pagesAt >= opened;
        main.innerHTML = `<a class="back" href="#/">‹ Mes sollicitations</a>
          <p class="empty">${known ? 'Événement introuvable.' : !navigator.onLine ? 'Hors ligne : événement inconnu de ce téléphone.' : 'Chargement…'}</p>`;
        return;
      }
      if (decline) return drawDecline(p, drawn) || (drawn = true);
      if (!drawn) {
        drawn = true;
        main.innerHTML = `<a class="back" href="#/">‹ Mes sollicitations</a>
          <section id="ev-head"></section><section id="ev-actions" class="actions"></section>
          <section id="ev-links"></section>
          <section class="panel"><label for="note">Note rapide</label>
            <textarea id="note" rows="2" maxlength="2000" placeholder="Ex. : voie dégagée, balisage posé"></textarea>
            <div class="duo"><button class="btn" data-act="note">Envoyer la note</button>
            <label class="btn">Photo<input id="photo" type="file" accept="image/*" capture="environment" hidden></label></div>
          </section>
          <section><h2 class="h2">Main courante</h2><ol id="ev-trace" class="timeline"></ol></section>`;
      }
      setHtml('#ev-head', headHtml(p));
      setHtml('#ev-actions', actionsHtml(p));
      setHtml('#ev-links', linksHtml(p.event));
      setHtml('#ev-trace', traceHtml(state.trace[eventId]));
    },
  };
  state.view.update();
}

/* Told, not asked: the event, the PC's number and the main courante; no answer, no note, no photo. */
function informedHtml(p) {
  if (!$('#ev-informed')) {
    main.innerHTML = `<a class="back" href="#/">‹ Mes sollicitations</a>
      <section id="ev-head"></section><section id="ev-links"></section>
      <section id="ev-informed" class="panel muted">Vous êtes informé de cet événement ; le PC ne vous demande pas
        d'y répondre. Pour toute question, appelez le PC.</section>
      <section><h2 class="h2">Main courante</h2><ol id="ev-trace" class="timeline"></ol></section>`;
  }
  setHtml('#ev-head', headHtml(p));
  setHtml('#ev-links', linksHtml(p.event));
  setHtml('#ev-trace', traceHtml(state.trace[p.event.id]));
}

function drawDecline(p, drawn) {
  if (drawn) return;
  const e = p.event;
  main.innerHTML = `<a class="back" href="#/event/${e.id}">‹ Retour</a>
    <h1 class="h">Indisponible</h1>
    <p>Pourquoi ne pouvez-vous pas prendre « ${esc(e.title)} » (${esc(e.number)}) ?</p>
    <div class="stack">${REASONS.map((r) => `<button class="btn big" data-reason="${esc(r)}">${esc(r)}</button>`).join('')}
      <button class="btn big" data-act="other">Autre raison…</button></div>
    <div id="other" class="panel" hidden><label for="reason">Votre raison</label>
      <textarea id="reason" rows="2" maxlength="2000"></textarea>
      <button class="btn big no" data-act="decline">Envoyer « Indisponible »</button></div>`;
}

async function devicesView() {
  state.view = { update() {} };
  main.innerHTML = `<h1 class="h">Mes appareils</h1><p>Inscrit au nom de <b>${esc(state.me.person_name)}</b>.</p>
    <ul id="devices" class="devices"><li class="muted">Chargement…</li></ul>
    <h2 class="h2">Notifications push</h2><p id="push-state" class="muted">…</p>
    <button class="btn" data-act="push">Activer les notifications push</button>
    <h2 class="h2">Alertes</h2><div class="stack">
      <a class="btn" href="#/devices/test">Tester mes alertes</a>
      <a class="btn" href="#/devices/dnd">Laisser passer les alertes (Ne pas déranger)</a></div>
    ${alerts.installHint()}
    <h2 class="h2">Affichage</h2><div class="seg" role="group" aria-label="Thème">
      ${[['auto', 'Auto'], ['day', 'Jour'], ['night', 'Nuit']].map(([v, l]) =>
        `<button class="btn${(localStorage.getItem('vigie-theme') || 'auto') === v ? ' did' : ''}" data-theme="${v}">${l}</button>`).join('')}</div>
    <p class="muted">Auto : thème sombre de 20 h à 7 h, ou quand le téléphone est en mode sombre.</p>`;
  await drawDevices();
}

async function drawDevices(target = '#devices') {
  const r = await api('/api/v1/me/devices');
  const el = $(target);
  if (!el) return;
  if (r.status === 401) return lost();
  if (!r.ok) { el.innerHTML = `<li class="muted">Liste indisponible (${frenchError(r)}).</li>`; return; }
  el.innerHTML = r.data.map((d) => {
    const me = d.id === state.me.device_id;
    return `<li class="device${d.revoked_at ? ' revoked' : ''}"><div><b>${esc(d.label || 'Téléphone')}</b>
      ${me ? '<span class="badge here">Cet appareil</span>' : ''}
      <span class="muted">inscrit le ${day(ts(d.created_at))} à ${hhmm(ts(d.created_at))}${d.revoked_at
        ? ` · révoqué le ${day(ts(d.revoked_at))}` : ''}</span></div>
      ${d.revoked_at ? '' : `<button class="btn small no" data-revoke="${d.id}">Révoquer</button>`}</li>`;
  }).join('') || '<li class="muted">Aucun appareil.</li>';
  const push = $('#push-state');
  if (push) {
    const subs = await api('/api/v1/me/push-subscriptions');
    const on = subs.ok && subs.data.some((s) => s.kind === 'push' && s.enabled);
    push.textContent = on ? 'Activées sur au moins un appareil.' : 'Indisponibles : vous recevrez les SMS.';
  }
}

function welcomeView() {
  state.view = { update() {} };
  main.innerHTML = `${mustInstallFirst() ? alerts.installHint() : ''}<section class="panel"><h1>Vigie astreinte</h1>
    <p>Ce téléphone n'est pas encore inscrit.</p>
    <p>Ouvrez le lien d'inscription reçu par SMS ou par e-mail. Pas de lien ? Demandez-le au PC.</p>
    <form id="code-form"><label for="code">Ou collez ici le lien reçu</label>
      <input id="code" autocomplete="off" autocapitalize="off" spellcheck="false" placeholder="https://…/app/#/enrol/…">
      ${navigator.clipboard && navigator.clipboard.readText ? '<button class="btn" type="button" data-act="paste">Coller le lien copié</button>' : ''}
      <button class="btn" type="submit">Inscrire ce téléphone</button></form></section>`;
  $('#code-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = $('#code').value.trim();
    const code = (/enrol\/([^/?#\s]+)/.exec(text) || [])[1] || text;
    if (code.length >= 10) location.hash = `#/enrol/${encodeURIComponent(code)}`;
    else toast('Lien d\'inscription incomplet', 'warn');
  });
}

let enrolCode = '';
async function enrolView(code, here = false) {
  history.replaceState(null, '', '#/enrol');  // the code is single-use: keep it out of the address bar
  state.view = { update() {} };
  enrolCode = code;
  if (!here && mustInstallFirst()) return alerts.installView(code);
  const step = (id, status, text) => {
    const li = $(`#step-${id}`);
    li.className = `step ${status}`;
    if (text) li.querySelector('span').textContent = text;
  };
  main.innerHTML = `<h1 class="h">Inscription du téléphone</h1><ol class="steps">
    <li id="step-enrol" class="step run"><b>Inscription</b><span>En cours…</span></li>
    <li id="step-perm" class="step"><b>Autorisation des notifications</b><span>En attente</span></li>
    <li id="step-push" class="step"><b>Notifications push</b><span>En attente</span></li></ol><div id="enrol-end"></div>`;
  const label = deviceLabel();
  const r = await api('/api/v1/enrol', { method: 'POST', json: { code, label } });
  if (!r.ok) {
    step('enrol', 'ko', `Échec : ${frenchError(r)}.`);
    $('#enrol-end').innerHTML = '<p>Demandez au PC un nouveau lien d\'inscription.</p>';
    return;
  }
  const previous = state.me;
  state.me = { person_id: r.data.person_id, person_name: r.data.person_name, device_id: r.data.device_id };
  if (previous && previous.person_id !== state.me.person_id) await outbox.clear();
  await kv.set('token', r.data.access_token);
  await kv.set('me', state.me);
  await kv.set('label', label);
  $('#menu').hidden = false;
  step('enrol', 'ok', `Téléphone inscrit au nom de ${r.data.person_name}.`);
  // The iPhone asks for notifications only from a tap: the app waits for one rather than be refused.
  const ask = platform().ios && 'Notification' in window && Notification.permission === 'default';
  let push = false;
  if (ask) {
    step('perm', 'run', 'Touchez « Activer les notifications » ci-dessous.');
  } else {
    step('perm', 'run', 'En cours…');
    const perm = await askPermission();
    if (perm === 'granted') {
      step('push', 'run', 'En cours…');
      push = await subscribePush().then(() => true, () => false);
    }
    pushSteps(perm, push);
  }
  $('#enrol-end').innerHTML = `<h2 class="h2">Mes appareils</h2><ul id="enrol-devices" class="devices"></ul>
    ${ask ? '<button class="btn big" data-act="push">Activer les notifications</button>'
      : push ? '' : '<button class="btn" data-act="push">Réessayer les notifications push</button>'}
    <a class="btn" href="#/devices/test">Tester mes alertes</a>
    ${alerts.installHint()}
    <a class="btn big ok" href="#/">Voir mes sollicitations</a>`;
  await drawDevices('#enrol-devices');
  refresh();
}

function pushSteps(perm, push) {
  const step = (id, status, text) => {
    const li = $(`#step-${id}`);
    if (!li) return;
    li.className = `step ${status}`;
    li.querySelector('span').textContent = text;
  };
  step('perm', perm === 'granted' ? 'ok' : 'ko', perm === 'granted' ? 'Autorisées.'
    : 'Refusées : autorisez les notifications dans les réglages du téléphone.');
  step('push', push ? 'ok' : 'ko', push ? 'Activées : vous recevrez les alertes sur ce téléphone.'
    : 'Notifications push indisponibles, vous recevrez les SMS.');
}

/* ---------- events ---------- */
function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  let m;
  main.vigieHtml = null;
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
  if ((m = /^\/enrol\/([^/?#]+)/.exec(hash))) return enrolView(decodeURIComponent(m[1]));
  if (!state.me) return welcomeView();
  const tab = hash.startsWith('/devices') ? 'devices' : hash.startsWith('/astreinte') ? 'oncall' : 'list';
  for (const a of document.querySelectorAll('#menu a')) {
    if (a.dataset.tab === tab) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  if (hash.startsWith('/devices/test')) { state.view = { update() {} }; return alerts.testView(); }
  if (hash.startsWith('/devices/dnd')) { state.view = { update() {} }; return alerts.dndView(); }
  if (tab === 'devices') return devicesView();
  if (tab === 'oncall') oncall.view(hash.slice('/astreinte'.length));
  else if ((m = /^\/event\/(\d+)(\/decline)?/.exec(hash))) eventView(Number(m[1]), Boolean(m[2]));
  else listView();
  refresh();
}

main.addEventListener('click', async (ev) => {
  const el = ev.target.closest('button');
  if (!el || el.disabled) return;
  if (await oncall.click(el)) return;
  if (await alerts.click(el)) return;
  if (el.dataset.act === 'enrol-here') return enrolView(enrolCode, true);
  if (el.dataset.act === 'paste') {
    try { $('#code').value = (await navigator.clipboard.readText()).trim(); } catch (e) { toast('Collage refusé : collez le lien à la main', 'warn'); }
    return;
  }
  const id = state.view.event;
  const p = id ? pageFor(id) : null;
  if (el.dataset.kind && p) return answer(p.event, p, el.dataset.kind);
  if (el.dataset.reason && p) {
    await answer(p.event, p, 'decline', el.dataset.reason);
    location.hash = `#/event/${id}`;
    return;
  }
  if (el.dataset.revoke) {
    if (!confirm('Révoquer cet appareil ? Il ne pourra plus répondre aux alertes.')) return;
    const r = await api(`/api/v1/me/devices/${el.dataset.revoke}`, { method: 'DELETE' });
    if (!r.ok) return toast(`Révocation impossible : ${frenchError(r)}`, 'err');
    if (Number(el.dataset.revoke) === state.me.device_id) return lost();
    toast('Appareil révoqué', 'ok');
    return drawDevices(el.closest('ul').id ? `#${el.closest('ul').id}` : '#devices');
  }
  if (el.dataset.theme) {
    localStorage.setItem('vigie-theme', el.dataset.theme);
    applyTheme();
    return devicesView();
  }
  switch (el.dataset.act) {
    case 'note': {
      const text = $('#note').value.trim();
      if (!text) return toast('Écrivez d\'abord la note', 'warn');
      $('#note').value = '';
      return answer(p.event, p, 'note', text);
    }
    case 'other':
      $('#other').hidden = false;
      return $('#reason').focus();
    case 'decline': {
      const text = $('#reason').value.trim();
      if (!text) return toast('Indiquez la raison', 'warn');
      await answer(p.event, p, 'decline', `Autre : ${text}`);
      location.hash = `#/event/${id}`;
      return;
    }
    case 'push': {
      el.disabled = true;
      const r = await enablePush();
      el.disabled = false;
      pushSteps(r.perm, r.push);
      toast(r.push ? 'Notifications push activées' : 'Notifications push indisponibles, vous recevrez les SMS',
        r.push ? 'ok' : 'warn');
      return drawDevices($('#enrol-devices') ? '#enrol-devices' : '#devices');
    }
    default:
  }
});

main.addEventListener('change', async (ev) => {
  if (ev.target.id !== 'photo' || !ev.target.files.length) return;
  const p = pageFor(state.view.event);
  const blob = await shrink(ev.target.files[0]);
  ev.target.value = '';
  const caption = $('#note').value.trim();
  await enqueue({ event_id: p.event.id, number: p.event.number, photo: blob, filename: 'photo.jpg', caption });
  if (caption) $('#note').value = '';
  await loadQueue();
  state.view.update();
  sendQueue();
});

let overdueRead = 0;
function tick() {
  let overdue = false;
  for (const el of document.querySelectorAll('[data-due]')) {
    el.textContent = countdown(Number(el.dataset.due));
    overdue = overdue || Number(el.dataset.due) <= Date.now();
  }
  if (overdue && Date.now() - overdueRead > 2000) { overdueRead = Date.now(); refresh(); }
  for (const el of document.querySelectorAll('[data-since]')) el.textContent = since(Number(el.dataset.since));
}

async function start() {
  applyTheme();
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('sw.js').catch(() => null);
    navigator.serviceWorker.addEventListener('message', (ev) => {
      const m = ev.data || {};
      if (m.type === 'navigate') location.hash = `#${m.hash}`;
      else if (m.type === 'push' || m.type === 'answered') {
        if (m.type === 'push') alerts.heard(m.data);
        if (m.watch_id || /^(watch|swap|gap)_/.test((m.data && m.data.purpose) || '')) oncall.load().then(() => state.view.update());
        loadQueue();
        refresh();
      }
    });
  }
  state.me = (await kv.get('me')) || null;
  const cached = await kv.get('pages');
  if (cached) { state.pages = cached.pages; state.informed = cached.informed || []; state.pagesAt = cached.at; }
  $('#menu').hidden = !state.me;
  await loadQueue();
  addEventListener('hashchange', route);
  addEventListener('online', () => { loadQueue(); sendQueue(); });
  addEventListener('offline', () => { loadQueue(); state.fresh = false; state.view.update(); });
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) releaseHeld();  // leaving the app confirms a held « Terminé »
    else { applyTheme(); refresh(); sendQueue(); }
  });
  addEventListener('pagehide', releaseHeld);
  $('#undo').addEventListener('click', (ev) => { const b = ev.target.closest('[data-undo]'); if (b) undo(b.dataset.undo); });
  setInterval(tick, 1000);
  setInterval(applyTheme, 60000);
  setInterval(() => { if (!document.hidden) refresh(); }, 20000);
  route();
  if (state.me) sendQueue();
}

start();
