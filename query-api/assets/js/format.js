/**
 * Numbers, money, dates and stages as the page shows them (the browser's locale), and the
 * small elements built from them (a change arrow, money lines, a stage badge).
 */
import { h } from './dom.js';

/** @typedef {import('../types/api').components['schemas']['Money']} Money */
/** @typedef {import('../types/api').components['schemas']['UserSummary']} UserSummary */

const STAGE_LABELS = /** @type {Record<string, string>} */ ({
  greeting: 'Greeting',
  browsing: 'Browsing',
  consideration: 'Consideration',
  purchase_intent: 'Purchase intent',
  ordered: 'Ordered',
});
export const STAGES = Object.keys(STAGE_LABELS);

export const numberFmt = new Intl.NumberFormat(undefined);
export const pctFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const dayFmt = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });
export const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const shortDateTimeFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const relFmt = typeof Intl.RelativeTimeFormat === 'function' ? new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }) : null;

/** @param {number | null | undefined} n */
export const fmtInt = (n) => (n === null || n === undefined || Number.isNaN(n) ? '—' : numberFmt.format(n));
/** @param {number | null | undefined} n */
export const fmtPct = (n) => (n === null || n === undefined ? '—' : `${pctFmt.format(n)}%`);
/** A ratio (0..1) as a percentage. @param {number | null | undefined} v */
export const fmtRatio = (v) => (v === null || v === undefined ? '—' : `${pctFmt.format(v * 100)}%`);

/** @type {Map<string, Intl.NumberFormat | null>} */
const moneyFormatters = new Map();
/** @param {string} currency */
function moneyFormatter(currency) {
  if (!moneyFormatters.has(currency)) {
    let f;
    try {
      f = new Intl.NumberFormat(undefined, { style: 'currency', currency });
    } catch {
      f = null; // not an ISO 4217 code this browser knows
    }
    moneyFormatters.set(currency, f);
  }
  return moneyFormatters.get(currency) ?? null;
}

/** The number of minor-unit digits of a currency (2 for USD, 0 for JPY, 3 for KWD). @param {string} currency */
export function fractionDigits(currency) {
  const f = moneyFormatter(currency);
  return f ? (f.resolvedOptions().maximumFractionDigits ?? 2) : 2;
}

/** An amount in minor units in the currency's major unit. @param {number} minor @param {string} currency */
export const toMajor = (minor, currency) => minor / 10 ** fractionDigits(currency);

/** @param {number} minor @param {string} currency */
export function formatMoney(minor, currency) {
  const f = moneyFormatter(currency);
  if (!f) return `${(minor / 100).toFixed(2)} ${currency}`;
  return f.format(toMajor(minor, currency));
}

/** @param {number} major @param {string} currency @param {boolean} [compact] */
export function formatMajor(major, currency, compact) {
  try {
    return new Intl.NumberFormat(undefined, compact
      ? { style: 'currency', currency, notation: 'compact', maximumFractionDigits: 1 }
      : { style: 'currency', currency }).format(major);
  } catch {
    return `${major} ${currency}`;
  }
}

/** Amounts as text, one currency per line (or "—"). @param {Money[] | null | undefined} list */
export function moneyLines(list) {
  if (!list || list.length === 0) return [h('span', { class: 'money-line' }, '—')];
  return list.map((m) => h('span', { class: 'money-line' }, formatMoney(m.amount_minor, m.currency)));
}

/** @param {Money[] | null | undefined} list */
export const moneyText = (list) => (!list || list.length === 0 ? '—' : list.map((m) => formatMoney(m.amount_minor, m.currency)).join(' + '));

/** "2026-11-03" → Date at UTC midnight. @param {string} day */
const parseDay = (day) => new Date(`${day}T00:00:00Z`);
/** @param {string} day */
export const fmtDay = (day) => dayFmt.format(parseDay(day));
/** @param {string} day */
export const fmtDate = (day) => dateFmt.format(parseDay(day));

/** @param {string | null | undefined} iso */
export function fmtDateTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTimeFmt.format(d);
}

/** The time alone today, the day and time otherwise. @param {string} iso */
export function fmtFeedTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso || '';
  const now = new Date();
  return d.toDateString() === now.toDateString() ? timeFmt.format(d) : shortDateTimeFmt.format(d);
}

/** "3 minutes ago", "yesterday", … @param {string} iso */
export function fmtRelative(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso || '—';
  if (!relFmt) return dateTimeFmt.format(d);
  const secs = (d.getTime() - Date.now()) / 1000;
  const abs = Math.abs(secs);
  if (abs < 45) return relFmt.format(0, 'second');
  if (abs < 3600) return relFmt.format(Math.round(secs / 60), 'minute');
  if (abs < 86400) return relFmt.format(Math.round(secs / 3600), 'hour');
  if (abs < 86400 * 45) return relFmt.format(Math.round(secs / 86400), 'day');
  return dateFmt.format(d);
}

/** @param {string | null | undefined} stage */
export const stageLabel = (stage) => (stage && STAGE_LABELS[stage]) || stage || '—';
/** @param {string} stage */
export const stageBadge = (stage) => h('span', { class: `badge stage-${stage}` }, stageLabel(stage));

/** ▲ / ▼ / neutral change indicator for change_pct (null → neutral "n/a"). @param {number | null | undefined} changePct */
export function deltaEl(changePct) {
  if (changePct === null || changePct === undefined) {
    return h('span', { class: 'delta delta-flat', title: 'No previous figure to compare with', dataset: { direction: 'none' } }, '– n/a');
  }
  if (changePct > 0) {
    return h('span', { class: 'delta delta-up', dataset: { direction: 'up', value: changePct } },
      h('span', { 'aria-hidden': 'true' }, '▲'), h('span', { class: 'visually-hidden' }, 'up '), fmtPct(changePct));
  }
  if (changePct < 0) {
    return h('span', { class: 'delta delta-down', dataset: { direction: 'down', value: changePct } },
      h('span', { 'aria-hidden': 'true' }, '▼'), h('span', { class: 'visually-hidden' }, 'down '), fmtPct(Math.abs(changePct)));
  }
  return h('span', { class: 'delta delta-flat', dataset: { direction: 'flat', value: 0 } }, '0%');
}

/** The name to show for a user: display name, @username or the id. @param {UserSummary} u */
export function userName(u) {
  return u.display_name || (u.username ? `@${u.username}` : u.user_id);
}
