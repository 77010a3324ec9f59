/* Vigie astreinte — service worker (scope /app/): app shell cache, push alerts, answers from the lock screen.
   Bump VERSION whenever a file of SHELL changes. */
'use strict';
importScripts('db.js');

const VERSION = 'vigie-app-v7';
const SHELL = ['./', 'index.html', 'app.css', 'app.js', 'astreinte.js', 'alerts.js', 'db.js', 'manifest.webmanifest',
  'icons/icon.svg', 'icons/icon-192.png', 'icons/icon-512.png'];
const SCOPE = new URL('./', self.location).pathname;  // "/app/"
const { kv, api, enqueue, flush } = self.Vigie;

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(VERSION).then((c) => c.addAll(SHELL.map((u) => new Request(u, { cache: 'reload' }))))
    .then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith('vigie-app-') && k !== VERSION).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

/* The shell comes from the cache (fast on a poor night-time connection, and offline); the API never does. */
self.addEventListener('fetch', (e) => {
  const req = e.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin || !url.pathname.startsWith(SCOPE)) return;
  if (req.mode === 'navigate') {
    e.respondWith(caches.match('./').then((hit) => hit || fetch(req)));
    return;
  }
  e.respondWith(caches.match(req, { ignoreSearch: true }).then((hit) => hit || fetch(req)));
});

/* ---------- push ---------- */

function readPush(e) {
  let doc = {};
  try { doc = e.data ? e.data.json() : {}; } catch (err) { doc = { body: e.data ? e.data.text() : '' }; }
  // The backend sends {title, body, notification_id, urgent, data: {purpose, number, severity, event_id, page_id...}}.
  return Object.assign({}, doc, doc.data || {}, { title: doc.title || (doc.data || {}).title, body: doc.body });
}

/* Messages about the planning (no event): they open « Mon astreinte ». */
const PLANNING = ['watch_ask', 'watch_missed', 'swap_request', 'swap_info', 'gap_report'];
const planning = (d) => PLANNING.includes(d.purpose);

function tagOf(d) {
  if (d.purpose === 'test_alert') return 'test-' + (d.test_id || 0);
  if (d.watch_id) return (d.purpose === 'watch_missed' ? 'watch-missed-' : 'watch-') + d.watch_id;
  if (d.swap_id) return 'swap-' + d.swap_id;
  return d.page_id ? 'page-' + d.page_id : d.event_id ? 'event-' + d.event_id : 'vigie-' + (d.notification_id || 0);
}

function showAlert(d) {
  const severity = Number(d.severity) || 3;  // unknown severity is handled as grave (fail safe)
  const solicit = d.purpose === 'solicit' || d.purpose === 'test_alert';
  const options = {
    body: d.body || d.place || '',
    tag: tagOf(d),
    renotify: true,
    requireInteraction: solicit && severity >= 3,
    icon: 'icons/icon-192.png',
    badge: 'icons/icon-192.png',
    lang: 'fr',
    timestamp: Date.now(),
    vibrate: severity >= 3 ? [400, 150, 400, 150, 800] : [200, 100, 200],
    data: d,
  };
  if (d.purpose === 'solicit') options.actions = [{ action: 'ack', title: 'Je prends' }, { action: 'decline', title: 'Indisponible' }];
  if (planning(d)) {
    // Taking the watch is asked of me, and a missed one alerts the cadre: both stay until answered.
    options.requireInteraction = d.purpose === 'watch_ask' || d.purpose === 'watch_missed';
    options.vibrate = options.requireInteraction ? [400, 150, 400, 150, 800] : [200, 100, 200];
    if (d.purpose === 'watch_ask' && d.watch_id) options.actions = [{ action: 'confirm_watch', title: 'Je confirme' }];
  }
  return self.registration.showNotification(d.title || 'Vigie astreinte', options);
}

async function tellClients(message) {
  const list = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  list.forEach((c) => c.postMessage(message));
}

/* « Tester mes alertes »: the push is shown like a grave solicitation, and the server hears it arrived. */
function testArrived(d) {
  if (d.purpose !== 'test_alert' || !d.test_id || !d.notification_id) return Promise.resolve();
  return api('/api/v1/me/test-alert/' + d.test_id + '/received', { method: 'POST',
    json: { notification_id: Number(d.notification_id) } }).catch(() => null);
}

self.addEventListener('push', (e) => {
  const d = readPush(e);
  const shown = showAlert(d);
  const told = testArrived(d);
  // The open app hears of the push once the alert is up: Chromium may drop a notification still being
  // displayed if getNotifications() is read meanwhile (the browser tests read it on that message).
  e.waitUntil(Promise.all([shown, Promise.all([shown.catch(() => null), told])
    .then(() => tellClients({ type: 'push', data: d }))]));
});

/* ---------- notification actions ---------- */

async function openApp(hash) {
  const url = new URL(SCOPE + '#' + hash, self.location.origin).href;
  const list = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const win = list.find((c) => new URL(c.url).pathname.startsWith(SCOPE));
  if (win) {
    win.postMessage({ type: 'navigate', hash });
    return win.focus().catch(() => win);
  }
  return self.clients.openWindow ? self.clients.openWindow(url) : null;
}

function confirmNotice(d, title, body, purpose = 'confirm') {
  return self.registration.showNotification(title, {
    body: body || d.title || '', tag: tagOf(d), renotify: false, requireInteraction: false,
    icon: 'icons/icon-192.png', badge: 'icons/icon-192.png', lang: 'fr',
    data: Object.assign({}, d, { purpose }),
  });
}

/* "Je confirme" on a watch_ask push: the service worker confirms the prise d'astreinte with the device token. */
async function confirmWatch(d) {
  if (!d.watch_id || !(await kv.get('token'))) {
    await openApp('/astreinte');
    return { outcome: 'open' };
  }
  const r = await api('/api/v1/me/watch/' + d.watch_id + '/confirm', { method: 'POST', json: { via: 'push' } });
  let outcome = 'refused';
  if (r.ok) {
    outcome = 'sent';
    await confirmNotice(d, 'Astreinte confirmée', 'Merci : votre prise d\'astreinte est enregistrée.', 'watch_confirmed');
  } else if (r.code === 'watch_confirmed') {
    outcome = 'sent';
    await confirmNotice(d, 'Astreinte confirmée', 'Elle était déjà confirmée.', 'watch_confirmed');
  } else if (r.status === 0 || r.status >= 500) {
    outcome = 'pending';
    await confirmNotice(d, 'Confirmation non envoyée', 'Pas de réseau : ouvrez Vigie, « Mon astreinte », pour confirmer.',
      'watch_ask');
  } else {
    await confirmNotice(d, 'Confirmation refusée', 'Ouvrez Vigie, « Mon astreinte », pour voir votre planning.', 'watch_ask');
  }
  await tellClients({ type: 'answered', outcome, watch_id: d.watch_id });
  return { outcome, status: r.status };
}

/* "Je prends" from the lock screen: the service worker posts the answer itself with the device token. */
async function acknowledge(d) {
  const ref = d.number || '';
  if (!d.event_id || !(await kv.get('token'))) {
    await openApp(d.event_id ? '/event/' + d.event_id : '/');
    return { outcome: 'open' };
  }
  const item = await enqueue({ event_id: d.event_id, number: ref, title: d.title || '',
    body: { kind: 'ack', page_id: d.page_id || null, text: '', via: 'push' } });
  let outcome = 'pending', result = null;
  await flush((done, how, r) => { if (done.client_id === item.client_id) { outcome = how; result = r; } });
  if (outcome === 'pending' && !(await self.Vigie.outbox.all()).some((q) => q.client_id === item.client_id)) {
    outcome = 'sent';  // an open page sent it first (same outbox, same lock): it went, once
  }
  if (outcome === 'sent') await confirmNotice(d, 'Pris en charge — ' + ref, 'Votre réponse « Je prends » est enregistrée.');
  else if (outcome === 'taken') await confirmNotice(d, 'Déjà pris en charge — ' + ref, frenchTaken(result));
  else if (outcome === 'refused') await confirmNotice(d, 'Réponse refusée — ' + ref, 'Ouvrez Vigie pour voir la situation.');
  else {
    await confirmNotice(d, 'Réponse en attente d\'envoi — ' + ref, 'Pas de réseau : « Je prends » partira dès son retour.');
    if (self.registration.sync) self.registration.sync.register('vigie-outbox').catch(() => null);
  }
  await tellClients({ type: 'answered', outcome, event_id: d.event_id });
  return { outcome, status: result ? result.status : 0 };
}

function frenchTaken(r) {
  const m = /by (.+)$/.exec((r && r.message) || '');
  return m ? 'Par ' + m[1] + '.' : 'Un collègue s\'en occupe déjà.';
}

/* One entry point for the notification actions, reached by a click or by a message (tests, other pages). */
async function handleAction(action, d) {
  d = d || {};
  if (action === 'confirm_watch') return confirmWatch(d);
  if (d.purpose === 'test_alert') {
    await openApp('/devices/test');
    return { outcome: 'open' };
  }
  if (planning(d) || d.purpose === 'watch_confirmed') {
    await openApp('/astreinte');
    return { outcome: 'open' };
  }
  if (action === 'ack') return acknowledge(d);
  if (action === 'decline') {
    await openApp('/event/' + d.event_id + '/decline');
    return { outcome: 'open' };
  }
  await openApp(d.event_id ? '/event/' + d.event_id : '/');
  return { outcome: 'open' };
}

self.addEventListener('notificationclick', (e) => {
  e.notification.close();
  e.waitUntil(handleAction(e.action || 'open', e.notification.data));
});

self.addEventListener('message', (e) => {
  const m = e.data || {};
  if (m.type === 'notification-action') {
    e.waitUntil(handleAction(m.action, m.data).then((r) => {
      if (e.source) e.source.postMessage(Object.assign({ type: 'notification-action-result', action: m.action }, r));
    }));
  }
});

self.addEventListener('sync', (e) => {
  if (e.tag === 'vigie-outbox') {
    e.waitUntil(flush().then((done) => { if (!done) throw new Error('still offline'); }));
  }
});

/* The push service renewed our subscription: tell the backend the new address. */
self.addEventListener('pushsubscriptionchange', (e) => {
  e.waitUntil((async () => {
    const sub = e.newSubscription || await self.registration.pushManager.subscribe(e.oldSubscription.options);
    const j = sub.toJSON();
    await api('/api/v1/me/push-subscriptions', { method: 'POST',
      json: { endpoint: j.endpoint, keys: j.keys, label: (await kv.get('label')) || 'Téléphone' } });
  })());
});
