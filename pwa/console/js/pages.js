// A solicitation (page) and every person of its chain, with where each one stands:
// queued → sent → delivered → acknowledged / declined / reported back.
// Everything is derived from the event detail (pages, notifications, responses).

import { personTel } from "./contacts.js";
import { channelLabel, NOTIFICATION_STATUS, PAGE_STATUS, RESPONSE } from "./labels.js";
import { personName } from "./store.js";
import { clockDuration, esc, parseDate } from "./util.js";

const DELIVERY_RANK = { failed: 1, cancelled: 0, merged: 1, queued: 2, sent: 3, delivered: 4 };
const REPORT_KINDS = ["en_route", "on_site", "done", "need_help"];
const STEPS = [["queued", "En file"], ["sent", "Envoyé"], ["delivered", "Remis"], ["answer", "Réponse"]];
const NO_ANSWER = "Pas de réponse à temps";

/** Where one person of one page stands. */
export function personState(detail, page, personId) {
  const notifications = detail.notifications.filter(
    (n) => n.page_id === page.id && n.person_id === personId && n.purpose === "solicit");
  const responses = detail.responses.filter(
    (r) => r.person_id === personId && (r.page_id === page.id || r.page_id == null));
  const channels = latestPerChannel(notifications);
  const answer = [...responses].reverse().find((r) => r.kind === "ack" || r.kind === "decline");
  const report = [...responses].reverse().find((r) => REPORT_KINDS.includes(r.kind));
  const acknowledgedHere = page.acknowledged_by_person_id === personId;

  let state;
  let label;
  if (acknowledgedHere || answer?.kind === "ack") {
    state = "ack";
    label = RESPONSE.ack;
  } else if (answer?.kind === "decline") {
    state = "decline";
    label = RESPONSE.decline;
  } else if (notifications.length && passedOver(page, personId)) {
    state = "noanswer";
    label = NO_ANSWER;
  } else if (notifications.length) {
    const best = channels.reduce((a, b) => (DELIVERY_RANK[b.status] > DELIVERY_RANK[a.status] ? b : a));
    state = best.status;
    label = NOTIFICATION_STATUS[best.status] || best.status;
  } else {
    state = "waiting";
    label = "Pas encore sollicité";
  }
  const delivery = state === "noanswer"
    ? channels.reduce((a, b) => (DELIVERY_RANK[b.status] > DELIVERY_RANK[a.status] ? b : a)).status : state;
  const reached = state === "ack" || state === "decline" ? 4
    : delivery === "delivered" ? 3 : delivery === "sent" ? 2 : delivery === "queued" ? 1 : 0;
  return {
    state, label, reached, channels,
    report: report ? RESPONSE[report.kind] : null,
    onBehalf: (answer && answer.on_behalf_by_user_id != null) || false,
    solicited: notifications.length > 0,
  };
}

/** Solicited, no answer, and the deadline ran out on them: the chain moved on, or nobody was left. A page stopped
 * while they were the one asked (someone else took it) leaves them as they were. */
function passedOver(page, personId) {
  if (page.status === "unreached") return true;
  return page.current_person_id !== personId;
}

function latestPerChannel(notifications) {
  const byChannel = new Map();
  for (const n of notifications) byChannel.set(n.channel, n); // ordered by id: the last one wins
  return [...byChannel.values()];
}

/** Who comes after the current person when the delay runs out. */
function nextStep(page) {
  const flat = [];
  for (const group of page.policy?.chain || []) for (const m of group.members) flat.push([group, m]);
  const index = flat.findIndex(([g, m]) => g.group_id === page.current_group_id && m === page.current_person_id);
  if (index >= 0 && index + 1 < flat.length) return personName(flat[index + 1][1]);
  const timing = page.policy?.timings?.[String(page.severity)];
  const repeats = timing?.repeats ?? 0;
  if (page.round < repeats && flat.length) return `${personName(flat[0][1])} (tour ${page.round + 2})`;
  return null;
}

export function countdownHtml(page) {
  if (page.status !== "active" || !page.due_at) return "";
  const next = nextStep(page);
  const target = next ? `escalade vers <strong>${esc(next)}</strong>` : "<strong>alarme</strong> si personne ne répond";
  return `<div class="countdown" data-due="${esc(page.due_at)}">
      <span class="cd-value" data-countdown>${esc(countdownText(page.due_at))}</span>
      <span class="cd-label">avant ${target}</span></div>`;
}

export function countdownText(due) {
  const date = parseDate(due);
  if (!date) return "";
  const left = (date.getTime() - Date.now()) / 1000;
  return left > 0 ? clockDuration(left) : "0:00";
}

/** Refresh every countdown of the page once a second (no re-render). */
export function tickCountdowns(root = document) {
  for (const node of root.querySelectorAll("[data-due]")) {
    const value = node.querySelector("[data-countdown]");
    const text = countdownText(node.dataset.due);
    if (value && value.textContent !== text) value.textContent = text;
    const left = parseDate(node.dataset.due).getTime() - Date.now();
    node.classList.toggle("urgent", left < 60_000);
    node.classList.toggle("overdue", left <= 0);
  }
}

export function stepsLegend() {
  return `<span class="legend">${STEPS.map(([, label], i) =>
    `<i class="step ${i < 3 ? "done" : "ack"}"></i> ${esc(label)}`).join(" ")} <i class="step noanswer"></i> ${
    esc(NO_ANSWER)}</span>`;
}

export function renderPages(detail, { compact = false, countdown = true } = {}) {
  if (!detail.pages.length) return noPages(detail);
  return detail.pages.map((page) => renderPage(detail, page, compact, countdown)).join("");
}

function noPages(detail) {
  return `<p class="muted no-pages">${detail.severity === 1
    ? "Information seule : personne n'est sollicité."
    : "Aucune sollicitation pour cet événement."}</p>`;
}

/** Each solicitation folded to where it stands: « 2/5 · Tech Deux 06… — Remis », the countdown, those passed over. */
export function renderSummaries(detail) {
  if (!detail.pages.length) return noPages(detail);
  return detail.pages.map((page) => pageSummary(detail, page)).join("");
}

function pageSummary(detail, page) {
  const flat = [];
  for (const group of page.policy?.chain || []) for (const m of group.members) if (!flat.includes(m)) flat.push(m);
  const who = page.status === "acknowledged" && page.acknowledged_by_person_id != null
    ? page.acknowledged_by_person_id : page.current_person_id;
  const missed = flat.filter((id) => personState(detail, page, id).state === "noanswer").length;
  let line;
  if (who == null) {
    line = `<span class="cn-state">${esc(PAGE_STATUS[page.status] || page.status)}</span>`;
  } else {
    const st = personState(detail, page, who);
    const position = flat.indexOf(who);
    const step = page.status === "acknowledged" ? "Pris en charge"
      : position >= 0 ? `${position + 1}/${flat.length}` : "";
    line = `${step ? `<span class="cn-step">${esc(step)}</span> · ` : ""}<span class="cn-name">${esc(personName(who))}</span>
      ${personTel(detail.id, who)} — <span class="cn-state">${esc(st.label)}</span>${
        st.report ? ` <span class="tag report">${esc(st.report)}</span>` : ""}`;
  }
  const state = page.status === "active" ? personState(detail, page, page.current_person_id).state
    : page.status === "unreached" ? "noanswer" : page.status === "acknowledged" ? "ack" : "cancelled";
  const missedText = missed && page.status !== "unreached"
    ? `<span class="cn-missed">${missed} sans réponse à temps</span>` : "";
  return `<div class="chain-now st-${esc(state)} page-${esc(page.status)}" data-page-id="${page.id}" data-testid="chain-now">
      <span class="cn-line">${line}</span>${missedText}${countdownHtml(page)}</div>`;
}

function renderPage(detail, page, compact, countdown = true) {
  const groups = page.policy?.chain || [];
  const statusClass = `page-${page.status}`;
  const statusLabel = PAGE_STATUS[page.status] || page.status;
  const round = page.round > 0 ? `<span class="round">tour ${page.round + 1}</span>` : "";
  const rows = groups.map((group) => {
    const isCurrentGroup = page.status === "active" && group.group_id === page.current_group_id;
    const members = group.members.map((personId) => {
      const st = personState(detail, page, personId);
      const current = isCurrentGroup && personId === page.current_person_id;
      if (compact && !st.solicited && !current && st.state === "waiting") {
        return `<li class="person brief st-waiting" data-person-id="${personId}">
          <span class="pname">${esc(personName(personId))}</span><span class="ptel">${personTel(detail.id, personId)}</span>
          <span class="pstate">${esc(st.label)}</span></li>`;
      }
      const steps = STEPS.map(([key, label], i) => {
        const done = st.reached > i;
        const cls = i === 3 && (done || st.state === "noanswer") ? st.state : done ? "done" : "";
        return `<i class="step ${cls}" title="${esc(label)}"></i>`;
      }).join("");
      const channels = st.channels.map((n) =>
        `<span class="chan chan-${esc(n.status)}" title="${esc(NOTIFICATION_STATUS[n.status] || n.status)}">${
          esc(channelLabel(n.channel))}</span>`).join("");
      const extra = [
        st.onBehalf ? "<span class=\"tag\">saisi par le PC</span>" : "",
        st.report ? `<span class="tag report">${esc(st.report)}</span>` : "",
      ].join("");
      return `<li class="person st-${esc(st.state)}${current ? " current" : ""}" data-person-id="${personId}">
          <span class="pname">${current ? "<span class=\"arrow\" title=\"sollicité maintenant\">▶</span>" : ""}${
            esc(personName(personId))}</span>
          <span class="ptel">${personTel(detail.id, personId)}</span>
          <span class="steps" aria-hidden="true">${steps}</span>
          <span class="chans">${channels}</span>
          <span class="pstate">${esc(st.label)}</span>${extra}
        </li>`;
    }).join("");
    return `<div class="pgroup${isCurrentGroup ? " current" : ""}">
        <div class="gname">${esc(group.name)}</div><ul class="people">${members}</ul></div>`;
  }).join("");
  return `<section class="page ${statusClass}" data-page-id="${page.id}">
      <header class="page-head"><span class="page-status">${esc(statusLabel)}</span>${round}
        ${countdown ? countdownHtml(page) : ""}</header>
      ${rows}
    </section>`;
}
