/* Vigie astreinte — « Mon astreinte »: my next turns, who holds each group now, swaps, taking the watch
   (prise d'astreinte) and the secret calendar link. Dates are shown in the commune's time zone. */
const { kv, api } = self.Vigie;

const SWAP = { pending: 'En attente de réponse', awaiting_approval: 'En attente de validation par un cadre',
  done: 'Échange effectué', refused: 'Refusé', rejected: 'Refusé par le cadre', cancelled: 'Annulé' };
const ERRORS = { not_your_turn: 'ce tour n\'est plus le vôtre', turn_started: 'ce tour a déjà commencé',
  swap_with_self: 'choisissez un collègue', not_their_turn: 'ce tour n\'est pas celui de votre collègue',
  swap_closed: 'cette demande n\'est plus en cours', planning_changed: 'le planning a changé depuis la demande',
  watch_confirmed: 'déjà confirmée', watch_not_started: 'votre astreinte n\'a pas encore commencé',
  role_forbidden: 'votre rôle ne le permet pas', unknown_turn: 'ce tour n\'existe plus', no_person: 'compte sans astreinte' };
const YEAR = String(new Date().getFullYear());

export function oncallModule(ctx) {
  const { main, toast, setHtml, esc, frenchError, state } = ctx;
  const $ = (sel) => document.querySelector(sel);
  const err = (r) => ERRORS[r.code] || frenchError(r);
  let feeds = null, fresh = null, loadedAt = 0;

  const tz = () => (state.oncall && state.oncall.timezone) || 'Europe/Paris';
  const t = (iso) => ctx.ts(iso);

  /* "lun. 7 déc. 08:30" (the year only when it is not this one) */
  function when(iso) {
    const p = {};
    for (const x of new Intl.DateTimeFormat('fr-FR', { timeZone: tz(), weekday: 'short', day: 'numeric', month: 'short',
      year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(t(iso)))) p[x.type] = x.value;
    return `${p.weekday} ${p.day} ${p.month}${p.year === YEAR ? '' : ` ${p.year}`} ${p.hour}:${p.minute}`;
  }
  const hm = (iso) => new Intl.DateTimeFormat('fr-FR', { timeZone: tz(), hour: '2-digit', minute: '2-digit',
    hourCycle: 'h23' }).format(new Date(t(iso)));
  const span = (a, b) => `${when(a)} → ${when(b)}`;

  function inDays(iso) {
    const h = (t(iso) - Date.now()) / 3600000;
    if (h < 1) return 'dans moins d\'une heure';
    if (h < 24) return `dans ${Math.floor(h)} h`;
    const d = Math.floor(h / 24);
    return d === 1 ? 'demain' : `dans ${d} jours`;
  }

  async function load() {
    const r = await api('/api/v1/me/oncall');
    loadedAt = Date.now();
    if (r.ok) {
      state.oncall = r.data;
      state.oncallFresh = true;
      await kv.set('oncall', { at: loadedAt, data: r.data });
    } else {
      if (r.status === 401) return ctx.lost();
      state.oncallFresh = false;
      if (!state.oncall) {
        const cached = await kv.get('oncall');
        if (cached) state.oncall = cached.data;
      }
    }
    badge();
    return r.ok;
  }
  const due = () => Date.now() - loadedAt > 60000;

  /* Something waits for me: a watch to confirm, a swap to answer or to approve. */
  function needsMe(d) {
    if (!d) return false;
    return d.watch.some((w) => w.status === 'asked' || w.status === 'missed')
      || d.swaps.some((s) => s.status === 'pending' && s.counterpart_id === d.person_id) || d.to_approve.length > 0;
  }
  function badge() {
    const dot = document.querySelector('#tab-oncall .dot');
    if (dot) dot.hidden = !needsMe(state.oncall);
  }

  /* ---------- the view ---------- */
  function banner(d) {
    const w = d.watch.find((x) => x.status === 'asked' || x.status === 'missed');
    if (!w) return '';
    // The turn in course is listed from now on: find it by its end.
    const turn = d.next_turns.find((x) => x.group_id === w.group_id && t(x.ends_at) > Math.max(t(w.starts_at), Date.now())
      && t(x.starts_at) <= Math.max(t(w.starts_at), Date.now()) + 1000);
    const missed = w.status === 'missed';
    return `<section id="watch-banner" class="banner${missed ? ' missed' : ''}" role="alert">
      <b>Prise d'astreinte — ${esc(w.group)}</b>
      <p>Votre astreinte a commencé le ${when(w.starts_at)}${turn ? `, jusqu'au ${when(turn.ends_at)}` : ''}.</p>
      <p>${missed ? 'Délai dépassé : le cadre d\'astreinte a été prévenu. Confirmez dès maintenant que vous êtes joignable.'
    : `Confirmez que vous êtes joignable${w.deadline ? ` avant ${hm(w.deadline)}` : ''}.`}</p>
      <button class="btn big ok" data-watch="${w.id}">Je confirme ma prise d'astreinte</button></section>`;
  }

  /* A watch row (one period of mine, maybe over consecutive turns) shows on the first turn it overlaps. */
  function watchChip(d, turn, used) {
    const w = d.watch.find((x) => !used.has(x.id) && x.group_id === turn.group_id && t(x.starts_at) < t(turn.ends_at)
      && t(x.ends_at) > t(turn.starts_at));
    if (!w) return '';
    used.add(w.id);
    if (w.status === 'confirmed') return `<span class="chip okc">Prise confirmée${w.confirmed_at ? ` à ${hm(w.confirmed_at)}` : ''}</span>`;
    if (w.status === 'asked') return '<span class="chip warnc">À confirmer</span>';
    if (w.status === 'missed') return '<span class="chip alarmc">Non confirmée</span>';
    return '';
  }

  function turnsHtml(d) {
    if (!d.next_turns.length) return '<p class="muted">Aucun tour prévu pour vous dans les 90 prochains jours.</p>';
    const offered = new Set(d.swaps.filter((s) => ['pending', 'awaiting_approval'].includes(s.status)
      && s.requester_id === d.person_id).map((s) => `${s.my_turn.rotation_id}:${s.my_turn.index}`));
    const seen = new Set(), used = new Set();
    return `<ul class="turns">${d.next_turns.map((x) => {
      const key = `${x.rotation_id}:${x.index}`, first = !seen.has(key);
      seen.add(key);
      const now = t(x.starts_at) <= Date.now();
      const action = now || !first ? '' : offered.has(key) ? '<p class="muted small">Échange proposé, en attente.</p>'
        : `<a class="btn" href="#/astreinte/echange/${x.rotation_id}/${x.index}/${x.group_id}">Proposer un échange</a>`;
      return `<li class="turn${now ? ' now' : ''}"><div class="row"><b>${esc(x.group)}</b>
        <span class="muted end">${now ? '<strong class="okc">En cours</strong>' : inDays(x.starts_at)}</span></div>
        <div class="when">${now ? `jusqu'au ${when(x.ends_at)}` : span(x.starts_at, x.ends_at)}</div>
        ${watchChip(d, x, used)}${action}</li>`;
    }).join('')}</ul>`;
  }

  function holdersHtml(d) {
    if (!d.holders.length) return '<p class="muted">Aucun groupe de votre commune n\'a de planning.</p>';
    return `<ul class="holders">${d.holders.map((h) => {
      const me = h.person_id === d.person_id;
      const who = h.person_id == null ? '<strong class="ask">Personne d\'astreinte</strong>'
        : me ? '<b>Vous</b>' : `<b>${esc(h.person)}</b>`;
      const call = h.phone && !me ? `<a class="btn small" href="tel:${esc(String(h.phone).replace(/\s/g, ''))}"
        aria-label="Appeler ${esc(h.person)}">Appeler</a>` : '';
      return `<li class="holder" data-group="${h.group_id}"><div><span class="muted">${esc(h.group)}</span>${who}
        ${h.until ? `<span class="muted small">jusqu'au ${when(h.until)}</span>` : ''}</div>${call}</li>`;
    }).join('')}</ul>`;
  }

  function swapText(d, s) {
    const mine = `${span(s.my_turn.starts_at, s.my_turn.ends_at)}`;
    const theirs = s.their_turn ? ` contre ${s.requester_id === d.person_id ? 'le sien' : 'le vôtre'} (${span(s.their_turn.starts_at, s.their_turn.ends_at)})` : '';
    return s.requester_id === d.person_id
      ? `Vous proposez à <b>${esc(s.counterpart)}</b> votre tour ${esc(s.group)} : ${mine}${theirs}`
      : `<b>${esc(s.requester)}</b> vous propose son tour ${esc(s.group)} : ${mine}${theirs}`;
  }

  function swapsHtml(d) {
    const open = d.swaps.filter((s) => ['pending', 'awaiting_approval'].includes(s.status));
    const closed = d.swaps.filter((s) => !open.includes(s)).slice(0, 3);
    if (!open.length && !closed.length) return '<p class="muted">Aucune demande d\'échange.</p>';
    return `<ul class="swaps">${[...open, ...closed].map((s) => {
      const toMe = s.counterpart_id === d.person_id;
      let buttons = '';
      if (s.status === 'pending' && toMe) {
        buttons = `<div class="duo"><button class="btn ok" data-swap="accept" data-id="${s.id}">Accepter</button>
          <button class="btn no" data-swap="refuse" data-id="${s.id}">Refuser</button></div>`;
      } else if (!toMe && open.includes(s)) {
        buttons = `<button class="btn no" data-swap="cancel" data-id="${s.id}">Annuler la demande</button>`;
      }
      return `<li class="swap ${open.includes(s) ? 'open' : 'past'}" data-swap-id="${s.id}"><p>${swapText(d, s)}</p>
        ${s.message ? `<p class="msg">« ${esc(s.message)} »</p>` : ''}
        <p class="status ${s.status}">${SWAP[s.status] || esc(s.status)}${s.decision_note ? ` — ${esc(s.decision_note)}` : ''}</p>${buttons}</li>`;
    }).join('')}</ul>`;
  }

  function approvalsHtml(d) {
    if (!d.can_approve_swaps) return '';
    const list = d.to_approve.map((s) => `<li class="swap open" data-swap-id="${s.id}">
      <p><b>${esc(s.counterpart)}</b> prend le tour ${esc(s.group)} de <b>${esc(s.requester)}</b> : ${span(s.my_turn.starts_at, s.my_turn.ends_at)}${
  s.their_turn ? `, et lui cède le sien : ${span(s.their_turn.starts_at, s.their_turn.ends_at)}` : ''}</p>
      ${s.message ? `<p class="msg">« ${esc(s.message)} »</p>` : ''}
      <div class="duo"><button class="btn ok" data-decide="approve" data-id="${s.id}">Valider</button>
      <button class="btn no" data-decide="reject" data-id="${s.id}">Refuser</button></div></li>`).join('');
    return `<h2 class="h2">Échanges à valider</h2>${list ? `<ul class="swaps">${list}</ul>` : '<p class="muted">Aucun échange à valider.</p>'}`;
  }

  function calendarHtml() {
    const shown = fresh ? `<div class="panel newfeed"><label for="feed-url">Votre lien d'agenda</label>
      <input id="feed-url" readonly value="${esc(fresh)}">
      <div class="duo"><button class="btn ok" data-act="feed-copy">Copier le lien</button>
      <a class="btn" href="${esc(fresh.replace(/^https?:/, 'webcal:'))}">Ouvrir dans l'agenda</a></div>
      <p class="warnc small">Ce lien ne sera plus affiché : copiez-le maintenant. Il est secret, ne le partagez pas.</p></div>` : '';
    const list = feeds == null ? '<li class="muted">Chargement…</li>' : feeds.map((f) => `<li class="device"><div>
      <b>${esc(f.label || 'Lien d\'agenda')}</b><span class="muted">créé le ${ctx.day(t(f.created_at))}${f.last_fetched_at
  ? ` · lu le ${ctx.day(t(f.last_fetched_at))} à ${ctx.hhmm(t(f.last_fetched_at))}` : ' · pas encore lu'}</span></div>
      <button class="btn small no" data-feed-revoke="${f.id}">Révoquer</button></li>`).join('');
    return `${shown}<ul id="feeds" class="devices">${list}</ul>
      <button class="btn" data-act="feed-new">Créer un lien d'agenda</button>`;
  }

  function draw() {
    const d = state.oncall;
    if (!$('#oc-main')) {
      main.innerHTML = `<h1 class="h">Mon astreinte</h1><div id="oc-main"></div>
        <h2 class="h2">Calendrier</h2><p class="muted small">Vos tours dans l'agenda du téléphone, mis à jour tout seuls.</p>
        <div id="oc-cal"></div>`;
    }
    if (!d) {
      setHtml('#oc-main', `<p class="empty">${navigator.onLine ? 'Chargement…' : 'Hors ligne : planning inconnu de ce téléphone.'}</p>`);
    } else {
      const stale = state.oncallFresh === false ? '<p class="stale">Hors ligne — dernières informations connues.</p>' : '';
      // What waits for my answer comes first.
      const asked = d.swaps.some((x) => x.status === 'pending' && x.counterpart_id === d.person_id);
      const swaps = `<h2 class="h2">Mes échanges</h2>${swapsHtml(d)}`;
      const approvals = approvalsHtml(d);
      setHtml('#oc-main', `${stale}${banner(d)}${asked ? swaps : ''}${d.to_approve.length ? approvals : ''}
        <h2 class="h2">Mes prochains tours</h2>${turnsHtml(d)}
        <h2 class="h2">En ce moment</h2>${holdersHtml(d)}
        ${asked ? '' : swaps}${d.to_approve.length ? '' : approvals}`);
    }
    setHtml('#oc-cal', calendarHtml());
  }
  async function loadFeeds() {
    const r = await api('/api/v1/me/calendar-feeds');
    feeds = r.ok ? r.data : [];
    if (state.view.oncall) draw();
  }

  function colleagues(d, groupId) {
    const found = new Map();
    const add = (id, name) => { if (id != null && id !== d.person_id && name) found.set(id, name); };
    for (const h of d.holders) if (h.group_id === groupId) add(h.person_id, h.person);
    for (const s of [...d.swaps, ...d.to_approve]) {
      if (s.group_id === groupId) { add(s.requester_id, s.requester); add(s.counterpart_id, s.counterpart); }
    }
    return [...found].sort((a, b) => a[1].localeCompare(b[1], 'fr'));
  }

  function swapForm(rotationId, index, groupId) {
    state.view = { update() {} };
    const d = state.oncall;
    const turn = d && d.next_turns.find((x) => x.rotation_id === rotationId && x.index === index);
    if (!turn) {
      main.innerHTML = `<a class="back" href="#/astreinte">‹ Mon astreinte</a><p class="empty">${d ? 'Ce tour n\'est plus le vôtre.' : 'Chargement…'}</p>`;
      if (!d) load().then(() => { if (location.hash.startsWith('#/astreinte/echange/')) swapForm(rotationId, index, groupId); });
      return;
    }
    const people = colleagues(d, groupId);
    main.innerHTML = `<a class="back" href="#/astreinte">‹ Mon astreinte</a>
      <h1 class="h">Proposer un échange</h1>
      <div class="panel"><b>${esc(turn.group)}</b><div class="when">${span(turn.starts_at, turn.ends_at)}</div></div>
      <form id="swap-form">
      <fieldset class="pick"><legend>À qui proposer ce tour ?</legend>
        ${people.length ? people.map(([id, name]) => `<label class="opt"><input type="radio" name="who" value="${id}"> ${esc(name)}</label>`).join('')
    : '<p class="muted">Aucun collègue de ce groupe n\'est connu de ce téléphone : demandez l\'échange à votre cadre ou au PC.</p>'}
      </fieldset>
      <label for="swap-msg">Message (facultatif)</label>
      <textarea id="swap-msg" rows="2" maxlength="500" placeholder="Ex. : mariage ce week-end, je reprends un de tes tours"></textarea>
      <p class="muted small">S'il accepte, votre collègue prend ce tour à votre place.</p>
      <button class="btn big ok" type="submit"${people.length ? '' : ' disabled'}>Envoyer la proposition</button></form>`;
    $('#swap-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const who = main.querySelector('input[name=who]:checked');
      if (!who) return toast('Choisissez un collègue', 'warn');
      const button = ev.target.querySelector('button');
      button.disabled = true;
      const r = await api('/api/v1/me/swaps', { method: 'POST', json: { group_id: turn.group_id, rotation_id: rotationId,
        my_turn: index, counterpart_id: Number(who.value), their_turn: null, message: $('#swap-msg').value.trim() } });
      button.disabled = false;
      if (!r.ok) return toast(`Proposition refusée : ${err(r)}`, 'err');
      toast(`Proposition envoyée à ${r.data.counterpart}`, 'ok');
      location.hash = '#/astreinte';
    });
  }

  function view(sub) {
    const m = /^\/echange\/(\d+)\/(\d+)\/(\d+)/.exec(sub || '');
    if (m) return swapForm(Number(m[1]), Number(m[2]), Number(m[3]));
    fresh = null;
    feeds = null;
    state.view = { oncall: true, update: draw };
    draw();
    loadFeeds();
  }

  async function act(path, body, done) {
    const r = await api(path, { method: 'POST', json: body });
    if (!r.ok) toast(`Impossible : ${err(r)}`, r.status === 0 ? 'warn' : 'err');
    else if (done) toast(done, 'ok');
    await load();
    if (state.view.oncall) draw();
    return r;
  }

  /* Taps in "Mon astreinte"; true when the tap was ours. */
  async function click(el) {
    if (!state.view.oncall) return false;
    if (el.dataset.watch) {
      el.disabled = true;
      await act(`/api/v1/me/watch/${el.dataset.watch}/confirm`, { via: 'app' }, 'Prise d\'astreinte confirmée');
      return true;
    }
    if (el.dataset.swap) {
      const { swap: what, id } = el.dataset;
      if (what === 'cancel' && !confirm('Annuler cette demande d\'échange ?')) return true;
      el.disabled = true;
      await act(`/api/v1/me/swaps/${id}/${what}`, undefined,
        { accept: 'Échange accepté', refuse: 'Échange refusé', cancel: 'Demande annulée' }[what]);
      return true;
    }
    if (el.dataset.decide) {
      el.disabled = true;
      await act(`/api/v1/swaps/${el.dataset.id}/${el.dataset.decide}`, { note: '' },
        el.dataset.decide === 'approve' ? 'Échange validé' : 'Échange refusé');
      return true;
    }
    if (el.dataset.feedRevoke) {
      if (!confirm('Révoquer ce lien d\'agenda ? L\'agenda qui l\'utilise ne sera plus mis à jour.')) return true;
      const r = await api(`/api/v1/me/calendar-feeds/${el.dataset.feedRevoke}`, { method: 'DELETE' });
      toast(r.ok ? 'Lien d\'agenda révoqué' : `Révocation impossible : ${err(r)}`, r.ok ? 'ok' : 'err');
      await loadFeeds();
      return true;
    }
    if (el.dataset.act === 'feed-new') {
      el.disabled = true;
      const r = await api('/api/v1/me/calendar-feeds', { method: 'POST', json: { label: ((await kv.get('label')) || 'Téléphone').slice(0, 100) } });
      el.disabled = false;
      if (!r.ok) { toast(`Création impossible : ${err(r)}`, 'err'); return true; }
      fresh = r.data.url;
      await loadFeeds();
      return true;
    }
    if (el.dataset.act === 'feed-copy') {
      const input = $('#feed-url');
      try { await navigator.clipboard.writeText(input.value); } catch (e) { input.select(); document.execCommand('copy'); }
      toast('Lien copié', 'ok');
      return true;
    }
    return false;
  }

  return { view, load, due, click, badge };
}
