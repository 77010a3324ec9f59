// Small helpers: HTML escaping, dates and durations in French.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

export function parseDate(value) {
  if (!value) return null;
  // The trace's data sometimes says "2026-01-01 10:00:00+00:00": make it ISO.
  const date = new Date(String(value).replace(" ", "T"));
  return Number.isNaN(date.getTime()) ? null : date;
}

const TIME = new Intl.DateTimeFormat("fr-FR", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const DAY_TIME = new Intl.DateTimeFormat("fr-FR", { day: "2-digit", month: "2-digit", hour: "2-digit",
                                                     minute: "2-digit" });

export function timeOf(value) {
  const date = parseDate(value);
  return date ? TIME.format(date) : "";
}

export function dayTimeOf(value) {
  const date = parseDate(value);
  return date ? DAY_TIME.format(date).replace(" ", " à ") : "";
}

/** "1:05", "12:40", "1 h 02" — a countdown or a duration in seconds. */
export function clockDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  if (h) return `${h} h ${String(m).padStart(2, "0")}`;
  return `${m}:${String(r).padStart(2, "0")}`;
}

/** "à l'instant", "il y a 4 min", "il y a 2 h 10". */
export function since(value, now = Date.now()) {
  const date = parseDate(value);
  if (!date) return "";
  const s = Math.max(0, (now - date.getTime()) / 1000);
  if (s < 45) return "à l'instant";
  if (s < 3600) return `il y a ${Math.round(s / 60)} min`;
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return `il y a ${h} h ${String(m).padStart(2, "0")}`;
}

export function durationWords(seconds) {
  if (seconds == null) return "";
  if (seconds < 60) return `${seconds} s`;
  if (seconds % 60 === 0 && seconds < 3600) return `${seconds / 60} min`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  return `${Math.floor(seconds / 3600)} h ${String(Math.floor((seconds % 3600) / 60)).padStart(2, "0")}`;
}

export function el(html) {
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  return template.content.firstElementChild;
}

/** `old` replaced by a copy of it showing `html`: a new frame whose srcdoc is set once, before it is in the
 * page — Chromium may ignore a srcdoc set while the frame's previous one is still loading. */
export function frameShowing(old, html) {
  const frame = old.cloneNode(false);
  frame.srcdoc = html;
  old.replaceWith(frame);
  return frame;
}
