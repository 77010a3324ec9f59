/* Vigie astreinte — shared by the page and the service worker (classic script: importScripts-able).
   IndexedDB "vigie": kv (device token, who I am, last known pages) and outbox (answers waiting to be sent).
   Every answer goes through the outbox, in order; an item leaves it only after a 2xx (or a definitive refusal). */
(function (g) {
  'use strict';
  var opening = null;

  function open() {
    if (!opening) {
      opening = new Promise(function (resolve, reject) {
        var req = indexedDB.open('vigie', 1);
        req.onupgradeneeded = function () {
          var db = req.result;
          db.createObjectStore('kv');
          db.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true });
        };
        req.onsuccess = function () {
          var db = req.result;
          db.onversionchange = db.onclose = function () { db.close(); opening = null; };
          resolve(db);
        };
        req.onerror = function () { opening = null; reject(req.error); };
      });
    }
    return opening;
  }

  function tx(store, mode, fn) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(store, mode), out;
        var req = fn(t.objectStore(store));
        if (req) req.onsuccess = function () { out = req.result; };
        t.oncomplete = function () { resolve(out); };
        t.onerror = t.onabort = function () { reject(t.error); };
      });
    });
  }

  var kv = {
    get: function (k) { return tx('kv', 'readonly', function (s) { return s.get(k); }); },
    set: function (k, v) { return tx('kv', 'readwrite', function (s) { return s.put(v, k); }); },
    del: function (k) { return tx('kv', 'readwrite', function (s) { return s.delete(k); }); },
  };
  var outbox = {
    all: function () { return tx('outbox', 'readonly', function (s) { return s.getAll(); }); },
    add: function (item) { return tx('outbox', 'readwrite', function (s) { return s.add(item); }); },
    put: function (item) { return tx('outbox', 'readwrite', function (s) { return s.put(item); }); },
    remove: function (seq) { return tx('outbox', 'readwrite', function (s) { return s.delete(seq); }); },
    clear: function () { return tx('outbox', 'readwrite', function (s) { return s.clear(); }); },
  };

  function uid() {
    return g.crypto && g.crypto.randomUUID ? g.crypto.randomUUID()
      : Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  /* One API call with the device token. Never throws: {ok, status, data, code}; status 0 = no network. */
  function api(path, opts) {
    opts = opts || {};
    return kv.get('token').then(function (token) {
      var headers = Object.assign({}, opts.headers || {});
      var body = opts.body;
      if (token) headers.Authorization = 'Bearer ' + token;
      if (opts.json !== undefined) { headers['Content-Type'] = 'application/json'; body = JSON.stringify(opts.json); }
      return fetch(path, { method: opts.method || 'GET', headers: headers, body: body, cache: 'no-store' });
    }).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        var err = data && data.error ? data.error : null;
        // 503 + Retry-After: Vigie is busy or its database is down; nothing was recorded.
        if (r.status === 503) g.Vigie.retryAfter = Math.min(Number(r.headers.get('Retry-After')) || 2, 10);
        return { ok: r.ok, status: r.status, data: data, code: err ? err.code : null, message: err ? err.message : '' };
      });
    }, function () { return { ok: false, status: 0, data: null, code: 'network', message: '' }; });
  }

  /* Queue an answer: {event_id, number, body: {kind, page_id, text, via}, hold_until?} or a photo {event_id, photo: Blob, caption}.
     `hold_until` (ms): the answer does not leave before then, and can be taken back until then. */
  function enqueue(item) {
    item.client_id = item.client_id || uid();
    item.created_at = Date.now();
    item.tried_at = null;
    return outbox.add(item).then(function () { return item; });
  }

  function post(item) {
    var path = '/api/v1/events/' + item.event_id + (item.photo ? '/photos' : '/responses');
    var headers = { 'Idempotency-Key': item.client_id };
    if (item.photo) {
      var form = new FormData();
      form.append('photo', item.photo, item.filename || 'photo.jpg');
      form.append('caption', item.caption || '');
      return api(path, { method: 'POST', body: form, headers: headers });
    }
    return api(path, { method: 'POST', json: item.body, headers: headers });
  }

  /* An attempt whose outcome we never learnt (connection lost mid-request) may have reached the server:
     before sending it again, look for it in the event's answers (same person, kind and text). */
  function alreadyThere(item) {
    if (!item.tried_at || item.photo) return Promise.resolve(false);
    return Promise.all([kv.get('me'), api('/api/v1/events/' + item.event_id)]).then(function (res) {
      var me = res[0], r = res[1];
      if (!r.ok || !me) return false;
      var since = item.tried_at - 5 * 60 * 1000;  // tolerate the phone's clock being a little off
      return (r.data.responses || []).some(function (x) {
        return x.person_id === me.person_id && x.kind === item.body.kind && (x.text || '') === (item.body.text || '')
          && Date.parse(x.created_at) >= since;
      });
    });
  }

  function classify(r) {
    if (r.ok) return 'sent';
    if (r.status === 409 && r.code === 'already_acknowledged') return 'taken';
    if (r.status === 0 || r.status >= 500 || r.status === 408 || r.status === 429) return 'retry';
    if (r.status === 401) return 'unauthorized';
    return 'refused';
  }

  /* Send what waits, oldest first, one at a time, stopping at the first that cannot go yet.
     A Web Lock keeps the page(s) and the service worker from sending the same item twice. */
  function flush(onResult) {
    var run = function () {
      return outbox.all().then(function next(items) {
        var item = items.shift();
        if (!item) return true;
        if (g.navigator && g.navigator.onLine === false) return false;
        if (item.hold_until && item.hold_until > Date.now()) return false;  // still undoable (app.js offerUndo)
        return alreadyThere(item).then(function (there) {
          if (there) return { ok: true, status: 200, data: null, code: 'replayed' };
          item.tried_at = Date.now();
          return outbox.put(item).then(function () { return post(item); });
        }).then(function (r) {
          var outcome = classify(r);
          if (outcome === 'retry' || outcome === 'unauthorized') {
            if (r.status !== 0) { item.tried_at = null; return outbox.put(item).then(function () { return false; }); }
            return false;
          }
          return outbox.remove(item.seq).then(function () {
            if (onResult) { try { onResult(item, outcome, r); } catch (e) { /* the UI must not stop the queue */ } }
            return next(items);
          });
        });
      });
    };
    var locks = g.navigator && g.navigator.locks;
    return locks ? locks.request('vigie-outbox', run) : run();
  }

  g.Vigie = { kv: kv, outbox: outbox, api: api, enqueue: enqueue, flush: flush, uid: uid, retryAfter: null };
})(self);
