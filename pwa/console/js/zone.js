// Time in a commune's zone (the PC's screens show each commune's wall clock, whatever the machine's),
// and dates typed as the French write them.

const partsCache = new Map();
export function partsIn(date, tz) {
  let format = partsCache.get(tz);
  if (!format) {
    format = new Intl.DateTimeFormat("en-GB", { timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit",
                                                  day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
    partsCache.set(tz, format);
  }
  const p = {};
  for (const x of format.formatToParts(date)) p[x.type] = Number(x.value);
  return { y: p.year, mo: p.month, d: p.day, h: p.hour, mi: p.minute, s: p.second };
}

function offset(ms, tz) {
  const p = partsIn(new Date(ms), tz);
  return Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s) - Math.floor(ms / 1000) * 1000;
}

/** The instant of a wall-clock time in `tz` (a skipped time reads with the offset before the jump). */
export function zoned(y, mo, d, h, mi, tz) {
  const guess = Date.UTC(y, mo - 1, d, h, mi);
  const before = offset(guess, tz);
  const after = offset(guess - before, tz);
  return new Date(guess - (before === after ? before : after));
}

export const addDays = (day, n) => {
  const t = new Date(Date.UTC(day.y, day.mo - 1, day.d + n));
  return { y: t.getUTCFullYear(), mo: t.getUTCMonth() + 1, d: t.getUTCDate() };
};
export const pad = (n) => String(n).padStart(2, "0");
export const isoDay = (day) => `${day.y}-${pad(day.mo)}-${pad(day.d)}`;

export function mondayOf(date, tz) {
  const p = partsIn(date, tz);
  const weekday = new Date(Date.UTC(p.y, p.mo - 1, p.d)).getUTCDay(); // 0 = Sunday
  return addDays({ y: p.y, mo: p.mo, d: p.d }, -((weekday + 6) % 7));
}

// Dates are typed as the French write them, "07/12/2026 08:30": a browser's own date and time inputs
// follow its interface language, which may not be French on the PC's machines.
const FR_DATE = /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4})\s*$/;
const FR_TIME = /^\s*(\d{1,2})\s*[:h]\s*(\d{2})?\s*$/i;

/** "07/12/2026 08:30", in the commune's zone. */
export function frInput(ms, tz) {
  const p = partsIn(new Date(ms), tz);
  return `${pad(p.d)}/${pad(p.mo)}/${p.y} ${pad(p.h)}:${pad(p.mi)}`;
}

export function parseFrDay(text) {
  const m = FR_DATE.exec(text || "");
  if (!m) return null;
  const day = { y: Number(m[3]), mo: Number(m[2]), d: Number(m[1]) };
  const check = addDays(day, 0);
  return check.mo === day.mo && check.d === day.d ? day : null;
}

export function parseFrTime(text) {
  const m = FR_TIME.exec(text || "");
  if (!m) return null;
  const h = Number(m[1]), mi = Number(m[2] || 0);
  return h < 24 && mi < 60 ? { h, mi } : null;
}

/** "07/12/2026 08:30" (or "7/12/2026 8h30") → the instant, or null. */
export function parseFrDateTime(text, tz) {
  const m = /^\s*(\S+)\s+(?:à\s+)?(\S+)\s*$/.exec(text || "");
  const day = m && parseFrDay(m[1]);
  const time = m && parseFrTime(m[2]);
  return day && time ? zoned(day.y, day.mo, day.d, time.h, time.mi, tz) : null;
}

const formats = new Map();
export function fmt(tz, options) {
  const key = tz + JSON.stringify(options);
  if (!formats.has(key)) formats.set(key, new Intl.DateTimeFormat("fr-FR", { timeZone: tz, ...options }));
  return formats.get(key);
}

/** The calendar day of an instant in `tz`, as {y, mo, d}. */
export function dayOf(date, tz) {
  const p = partsIn(date, tz);
  return { y: p.y, mo: p.mo, d: p.d };
}

/** Midnight that starts `day` in `tz`. */
export const dayStart = (day, tz) => zoned(day.y, day.mo, day.d, 0, 0, tz);

/** "07/12/2026" */
export const frDay = (day) => `${pad(day.d)}/${pad(day.mo)}/${day.y}`;

/** "12:40:05" in `tz`. */
export const clockIn = (date, tz) => fmt(tz, { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" })
  .format(date);
