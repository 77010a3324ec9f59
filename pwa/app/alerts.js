/* Vigie astreinte — making sure alerts get through: installing the app, « Tester mes alertes »,
   letting the PC through Do Not Disturb. */

const { api } = self.Vigie;

let installPrompt = null;
// Chrome on Android offers installing once the page qualifies; the event is kept for our own button.
addEventListener('beforeinstallprompt', (e) => { e.preventDefault(); installPrompt = e; });
addEventListener('appinstalled', () => { installPrompt = null; });

export function platform() {
  const ua = navigator.userAgent;
  const ios = /iPhone|iPad|iPod/.test(ua) || (/Macintosh/.test(ua) && navigator.maxTouchPoints > 1);
  const standalone = navigator.standalone === true || matchMedia('(display-mode: standalone)').matches;
  return { ios, android: /Android/.test(ua), standalone };
}

/* iPhone: Web Push reaches only the app opened from the home screen, and that app does not share
   Safari's storage. So Safari does not spend the single-use code: it shows how to install, and the
   code goes across through the clipboard (or the SMS, still valid) into the installed app, which
   enrols and keeps the token. The server's rule (one code, one device) stays as it is. */
export const mustInstallFirst = () => { const p = platform(); return p.ios && !p.standalone; };

const STATUS = { queued: 'en file d\'attente', sent: 'envoyé', delivered: 'remis', received: 'reçu sur ce téléphone',
  failed: 'échec', cancelled: 'annulé', merged: 'regroupé' };
// A test call: « envoyé » is the phone ringing, « reçu » is key 1 pressed during the call.
const CALL_STATUS = { sent: 'appel en cours', delivered: 'reçu', received: 'reçu', voicemail: 'messagerie' };
const ROAD = { push: 'Notification push', fcm: 'Notification', sms: 'SMS', email: 'E-mail', voice: 'Appel' };
const DONE = new Set(['received', 'delivered', 'failed', 'cancelled', 'merged', 'voicemail']);

export function alertsModule({ main, toast, esc, frenchError, lost }) {
  let test = null, polling = null, enrolLink = '';

  function installSteps(link) {
    return `<section class="panel install"><h1>Ajoutez Vigie à l'écran d'accueil, puis ouvrez-la depuis l'icône</h1>
      <p>Sur iPhone, les alertes n'arrivent qu'à l'application ouverte depuis l'écran d'accueil.
        Ce lien n'a pas encore servi : il inscrira l'application installée.</p>
      <ol class="howto">
        <li>${link ? '<button class="btn" data-act="copy-link">Copier le lien d\'inscription</button>'
          : 'Gardez le SMS qui contient le lien d\'inscription.'}</li>
        <li>Touchez <b>Partager</b> <span aria-hidden="true">(le carré avec une flèche vers le haut)</span> en bas de Safari.</li>
        <li>Choisissez <b>« Sur l'écran d'accueil »</b>, puis <b>Ajouter</b>.</li>
        <li>Ouvrez <b>Vigie</b> depuis sa nouvelle icône et collez le lien (ou rouvrez le SMS et copiez-le).</li>
      </ol></section>`;
  }

  function installView(code) {
    const link = `${location.origin}${location.pathname}#/enrol/${code}`;
    main.innerHTML = `${installSteps(link)}
      <p class="muted">Impossible d'installer ? Vous pouvez inscrire Safari : vous ne recevrez alors que les SMS.</p>
      <button class="btn" data-act="enrol-here">Inscrire quand même dans Safari</button>`;
    enrolLink = link;
  }

  /* What the devices screen and the end of enrolment say about installing, per platform. */
  function installHint() {
    const p = platform();
    if (p.standalone) return '';
    if (p.ios) return installSteps(null);
    if (installPrompt) {
      return `<section class="panel"><h2 class="h2">Application</h2><p>Installez Vigie : elle s'ouvre d'un geste et reste active.</p>
        <button class="btn" data-act="install">Installer l'application</button></section>`;
    }
    if (p.android) {
      return `<section class="panel"><h2 class="h2">Application</h2>
        <p>Pour installer Vigie : menu <b>⋮</b> de Chrome, puis <b>« Installer l'application »</b>
        (ou « Ajouter à l'écran d'accueil »).</p></section>`;
    }
    return '';
  }

  /* ---------- « Tester mes alertes » ---------- */

  function roadsHtml() {
    if (!test) return '';
    const rows = test.roads.map((r) => {
      const cls = r.status === 'failed' || r.status === 'voicemail' ? 'ko'
        : r.status === 'received' || r.status === 'delivered' ? 'ok' : r.status === 'sent' ? 'sent' : 'run';
      const words = (r.channel === 'voice' && CALL_STATUS[r.status]) || STATUS[r.status] || r.status;
      return `<li class="step ${cls}" data-channel="${esc(r.channel)}" data-status="${esc(r.status)}">
        <b>${esc(ROAD[r.channel] || r.channel)} — ${esc(r.label)}</b>
        <span>${esc(words)}${r.error ? ` : ${esc(r.error)}` : ''}</span></li>`;
    }).join('');
    const push = test.roads.filter((r) => r.channel === 'push' || r.channel === 'fcm');
    const heard = push.some((r) => r.status === 'received');
    const note = !push.length ? '<p class="warnc">Aucune notification push sur vos appareils : activez-les (« Appareils »).</p>'
      : heard ? '<p class="okc">La notification est arrivée sur ce téléphone.</p>'
        : '<p class="muted">La notification doit apparaître sur ce téléphone dans la minute.</p>';
    return `<ol class="steps">${rows}</ol>${note}${callNote()}
      <p class="muted">Vérifiez aussi que le SMS et l'e-mail sont arrivés, et que le téléphone a sonné en mode silencieux :
      sinon, suivez <a href="#/devices/dnd">« Laisser passer les alertes »</a>.</p>`;
  }

  /* Said only when this installation calls (a call road in the test): otherwise, nothing about calls. */
  function callNote() {
    const call = test.roads.find((r) => r.channel === 'voice');
    if (!call) return '';
    if (call.status === 'received' || call.status === 'delivered') return '<p class="okc">L\'appel vous est parvenu : vous avez tapé 1.</p>';
    if (call.status === 'voicemail') {
      return '<p class="warnc">L\'appel est tombé sur votre messagerie : une vraie alerte passerait alors à la personne suivante. Vérifiez que le téléphone sonne en mode silencieux.</p>';
    }
    if (call.status === 'failed') return '<p class="warnc">L\'appel n\'a pas abouti.</p>';
    return '<p class="muted">Vigie vous appelle : décrochez et tapez 1 pour confirmer que vous entendez.</p>';
  }

  function drawTest() {
    const out = main.querySelector('#test-result');
    if (out) out.innerHTML = roadsHtml();
  }

  async function poll() {
    clearTimeout(polling);
    if (!test) {  // the app was closed since: the last test is read again (the push may have come meanwhile)
      const id = await self.Vigie.kv.get('test-alert');
      if (id) test = { id, created_at: new Date().toISOString(), roads: [] };
    }
    if (!test || !main.querySelector('#test-result')) return;
    const r = await api(`/api/v1/me/test-alert/${test.id}`);
    if (r.status === 401) return lost();
    if (r.ok) { test = r.data; drawTest(); } else if (!test.roads.length) { test = null; return; }
    const started = Date.parse(test.created_at.endsWith('Z') ? test.created_at : `${test.created_at}Z`);
    // A push waits for its arrival, a call for its key; an SMS or e-mail handed off is all we will know.
    const waiting = test.roads.some((x) => !DONE.has(x.status)
      && !(!['push', 'voice'].includes(x.channel) && x.status === 'sent'));
    if (waiting && Date.now() - started < 3 * 60000) polling = setTimeout(poll, 2000);
  }

  function testView() {
    main.innerHTML = `<a class="back" href="#/devices">‹ Appareils</a><h1 class="h">Tester mes alertes</h1>
      <p>Vigie vous envoie un vrai message d'essai sur chacun de vos moyens : notification push sur chaque appareil,
      SMS et e-mail. Rien n'est compté comme une alerte.</p>
      <button class="btn big" data-act="test-alert">Tester mes alertes</button>
      <div id="test-result" aria-live="polite">${roadsHtml()}</div>`;
    poll();
  }

  async function sendTest(el) {
    el.disabled = true;
    const r = await api('/api/v1/me/test-alert', { method: 'POST' });
    el.disabled = false;
    if (r.status === 401) return lost();
    if (r.status === 429) {
      const wait = Math.ceil(((r.data && r.data.error && r.data.error.details && r.data.error.details.retry_after_s) || 600) / 60);
      return toast(`Trois essais au plus en 10 minutes : réessayez dans ${wait} min`, 'warn');
    }
    if (r.code === 'no_contact') return toast('Aucun moyen de vous joindre n\'est enregistré : voyez le PC', 'err');
    if (!r.ok) return toast(`Essai impossible : ${frenchError(r)}`, 'err');
    test = r.data;
    await self.Vigie.kv.set('test-alert', test.id);
    drawTest();
    toast('Essai envoyé', 'ok');
    poll();
  }

  /* The service worker got a push: a test one refreshes the result at once. */
  function heard(data) {
    if (test && data && Number(data.test_id) === test.id) poll();
  }

  /* ---------- Do Not Disturb ---------- */

  function dndView() {
    const p = platform();
    const ios = `<details class="panel" ${p.android ? '' : 'open'}><summary><b>iPhone</b></summary>
      <ol class="howto">
        <li><button class="btn" data-act="vcard">Ajouter le contact « Vigie — PC astreinte »</button>
          <span class="muted">Touchez ensuite « Créer un nouveau contact ».</span></li>
        <li>Dans <b>Contacts</b>, ouvrez « Vigie — PC astreinte », <b>Modifier</b>, puis <b>Sonnerie</b> :
          activez <b>Contournement d'urgence</b>. Faites de même pour <b>Vibreur SMS</b> / <b>Son SMS</b>.</li>
        <li><b>Réglages › Concentration › Ne pas déranger › Apps</b> : ajoutez <b>Vigie</b>.</li>
        <li><b>Réglages › Notifications › Vigie</b> : autorisez, avec sons et bannières persistantes.</li>
      </ol></details>`;
    const android = `<details class="panel" ${p.android ? 'open' : ''}><summary><b>Android</b></summary>
      <ol class="howto">
        <li><b>Paramètres › Applications › Chrome › Notifications</b> : ouvrez la catégorie du site Vigie,
          choisissez <b>Par défaut</b> (son), et activez <b>Ignorer Ne pas déranger</b>.</li>
        <li>Dans Chrome, sur cette page : <b>⋮ › Infos sur le site › Paramètres du site › Notifications</b> : <b>Autoriser</b>.</li>
        <li><button class="btn" data-act="vcard">Ajouter le contact « Vigie — PC astreinte »</button></li>
        <li><b>Paramètres › Notifications › Ne pas déranger › Personnes</b> : ajoutez ce contact aux
          <b>appels</b> et <b>messages</b> autorisés.</li>
      </ol></details>`;
    main.innerHTML = `<a class="back" href="#/devices">‹ Appareils</a><h1 class="h">Laisser passer les alertes</h1>
      <p>Pour qu'une alerte grave sonne même en mode silencieux ou « Ne pas déranger » :</p>
      ${p.android ? android + ios : ios + android}
      <p class="muted">Puis vérifiez avec <a href="#/devices/test">« Tester mes alertes »</a>.</p>`;
  }

  async function downloadCard() {
    const token = await self.Vigie.kv.get('token');
    let res;
    try {
      res = await fetch('/api/v1/me/pc-contact.vcf', { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
    } catch (e) { return toast('Pas de réseau : réessayez plus tard', 'warn'); }
    if (res.status === 401) return lost();
    if (!res.ok) return toast('Le numéro du PC n\'est pas encore configuré : demandez-le au PC', 'warn');
    const blob = new Blob([await res.text()], { type: 'text/vcard' });
    const url = URL.createObjectURL(blob);
    if (platform().ios) {
      location.href = url;  // Safari shows the card with « Créer un nouveau contact »
    } else {
      const a = document.createElement('a');
      a.href = url;
      a.download = 'vigie-pc-astreinte.vcf';
      document.body.append(a);
      a.click();
      a.remove();
    }
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  async function click(el) {
    switch (el.dataset.act) {
      case 'test-alert': await sendTest(el); return true;
      case 'vcard': await downloadCard(); return true;
      case 'copy-link':
        try {
          await navigator.clipboard.writeText(enrolLink);
          toast('Lien copié : collez-le dans l\'application installée', 'ok');
        } catch (e) { toast('Copie impossible : gardez le SMS, vous y recopierez le lien', 'warn'); }
        return true;
      case 'install':
        if (installPrompt) {
          installPrompt.prompt();
          installPrompt = null;
        }
        return true;
      default: return false;
    }
  }

  return { installView, installHint, testView, dndView, click, heard };
}
