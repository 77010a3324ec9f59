// Small SVG bar charts drawn from the dashboard's JSON (no library, nothing from the internet): a person
// looks at them rather than reads them, on the console's dark background.

import { esc } from "./util.js";

const BAR = "#4c9aff";
const OK = "#3fba57";
const KO = "#f4524b";
const GRID = "#2b3a4c";
const TEXT = "#e8eef4";
const MUTED = "#9aabbd";

const fr = (value, percent) => (percent ? `${String(Math.round(value * 10) / 10).replace(".", ",")} %`
  : String(Math.round(value * 10) / 10).replace(".", ","));
const clip = (text, max) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** Whole-number ticks up to a round maximum. */
function ticks(max, percent) {
  if (percent) return [0, 25, 50, 75, 100];
  const top = Math.max(1, max);
  const step = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000].find((s) => top / s <= 5) || Math.ceil(top / 5);
  const out = [];
  for (let v = 0; v < top + step; v += step) out.push(v);
  return out;
}

function empty(title) {
  return `<figure class="chart" data-chart="${esc(title)}"><figcaption>${esc(title)}</figcaption>
    <p class="chart-empty">Aucune donnée sur la période</p></figure>`;
}

/**
 * items: [[label, value, colour?]]; percent: values in 0..100; horizontal: one row per item (long labels).
 */
export function barChart(title, items, { percent = false, horizontal = false, note = "" } = {}) {
  if (!items.length || (!percent && items.every(([, v]) => !v))) return empty(title);
  const max = percent ? 100 : Math.max(...items.map(([, v]) => v));
  const scale = ticks(max, percent);
  const top = scale[scale.length - 1] || 1;
  let svg;
  if (horizontal) {
    const row = 30, left = 230, right = 56, width = 660, height = items.length * row + 30;
    const plot = width - left - right;
    const x = (v) => left + (v / top) * plot;
    const grid = scale.map((v) => `<line x1="${x(v)}" x2="${x(v)}" y1="4" y2="${height - 22}" stroke="${GRID}"/>
      <text x="${x(v)}" y="${height - 6}" text-anchor="middle" fill="${MUTED}" font-size="12">${esc(fr(v, percent))}</text>`).join("");
    const bars = items.map(([label, value, colour], i) => {
      const y = 8 + i * row;
      return `<g><title>${esc(label)} : ${esc(fr(value, percent))}</title>
        <text x="${left - 8}" y="${y + 15}" text-anchor="end" fill="${TEXT}" font-size="13">${esc(clip(label, 32))}</text>
        <rect x="${left}" y="${y + 2}" width="${Math.max(0, x(value) - left)}" height="${row - 10}" rx="3" fill="${colour || BAR}"/>
        <text x="${x(value) + 6}" y="${y + 15}" fill="${TEXT}" font-size="13" font-weight="700">${esc(fr(value, percent))}</text></g>`;
    }).join("");
    svg = `<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}">${grid}${bars}</svg>`;
  } else {
    const width = 660, height = 260, left = 48, right = 12, topPad = 22, bottom = 34;
    const plot = height - topPad - bottom;
    const y = (v) => topPad + plot - (v / top) * plot;
    const slot = (width - left - right) / items.length;
    const barWidth = Math.min(70, slot * 0.62);
    const maxChars = Math.max(4, Math.floor(slot / 7.5));
    const grid = scale.map((v) => `<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}" stroke="${GRID}"/>
      <text x="${left - 6}" y="${y(v) + 4}" text-anchor="end" fill="${MUTED}" font-size="12">${esc(fr(v, percent))}</text>`).join("");
    const bars = items.map(([label, value, colour], i) => {
      const cx = left + slot * i + slot / 2;
      return `<g><title>${esc(label)} : ${esc(fr(value, percent))}</title>
        <rect x="${cx - barWidth / 2}" y="${y(value)}" width="${barWidth}" height="${Math.max(0, y(0) - y(value))}" rx="3" fill="${colour || BAR}"/>
        <text x="${cx}" y="${y(value) - 6}" text-anchor="middle" fill="${TEXT}" font-size="13" font-weight="700">${esc(fr(value, percent))}</text>
        <text x="${cx}" y="${height - 12}" text-anchor="middle" fill="${TEXT}" font-size="13">${esc(clip(label, maxChars))}</text></g>`;
    }).join("");
    svg = `<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}">${grid}${bars}</svg>`;
  }
  return `<figure class="chart" data-chart="${esc(title)}"><figcaption>${esc(title)}</figcaption>${svg}${
    note ? `<p class="chart-note">${esc(note)}</p>` : ""}</figure>`;
}

export const verdictColour = (rate, target) => (rate >= target ? OK : KO);
