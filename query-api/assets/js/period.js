/**
 * The period the figures cover: 7/14/30/90 days or a from/to range, kept in the address's
 * hash (`#days=30`, `#from=2026-01-01&to=2026-01-31`), its buttons and its label; and the
 * "as of" picker of historical figures (`&as_of=…` in the hash), with the banner that says the
 * figures shown are not the present ones.
 */
import { $, $$ } from './dom.js';
import { fmtDate, fmtDateTime, fmtInt } from './format.js';
import { showError } from './status.js';
import { DAY_CHOICES, DEFAULT_DAYS, state } from './state.js';

/** @typedef {import('../types/api').components['schemas']['Dashboard']} Dashboard */
/** @typedef {import('./state.js').Period} Period */

/** The period as query parameters: days=N, or from=…&to=…. */
export function periodParams() {
  const p = new URLSearchParams();
  if (state.period.from) {
    p.set('from', state.period.from);
    if (state.period.to) p.set('to', state.period.to);
  } else {
    p.set('days', String(state.period.days || DEFAULT_DAYS));
  }
  if (state.asOf) p.set('as_of', state.asOf);
  return p;
}

/** An `as_of` the server takes: a position, or an instant (RFC 3339, in UTC). @param {string | null} s */
const isAsOf = (s) => /^\d+$/.test(s || '') || /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(s || '');

/**
 * What the picker's text means: a log position as it is, a date and time (read in the
 * browser's time zone) as an instant in UTC; null when it is neither.
 * @param {string} text
 */
export function asOfOf(text) {
  const t = text.trim();
  if (/^\d+$/.test(t)) return t;
  const at = new Date(t);
  return /\d{4}-\d{2}-\d{2}/.test(t) && !Number.isNaN(at.getTime()) ? at.toISOString() : null;
}

export function readPeriodFromHash() {
  const p = new URLSearchParams(window.location.hash.replace(/^#/, ''));
  const from = p.get('from');
  const to = p.get('to');
  const days = Number(p.get('days'));
  /** @param {string | null} s @returns {s is string} */
  const isDay = (s) => /^\d{4}-\d{2}-\d{2}$/.test(s || '');
  if (isDay(from)) {
    state.period = { from, to: isDay(to) ? to : null };
  } else if (DAY_CHOICES.includes(days)) {
    state.period = { days };
  } else {
    state.period = { days: DEFAULT_DAYS };
  }
  const asOf = p.get('as_of');
  state.asOf = isAsOf(asOf) ? asOf : null;
}

export function writePeriodToHash() {
  const period = state.period.from
    ? `from=${state.period.from}${state.period.to ? `&to=${state.period.to}` : ''}`
    : `days=${state.period.days}`;
  const p = state.asOf ? `${period}&as_of=${state.asOf}` : period;
  if (window.location.hash.replace(/^#/, '') !== p) {
    history.replaceState(history.state, '', `${window.location.pathname}${window.location.search}#${p}`);
  }
}

export function renderPeriodControls() {
  for (const btn of $$('.seg[data-days]')) {
    const active = !state.period.from && Number(btn.dataset.days) === state.period.days;
    btn.setAttribute('aria-pressed', active ? 'true' : 'false');
  }
  $('#range-form').classList.toggle('active', Boolean(state.period.from));
  if (state.period.from) {
    rangeInput('from').value = state.period.from;
    rangeInput('to').value = state.period.to || '';
  }
  $('#as-of-form').classList.toggle('active', Boolean(state.asOf));
  const asOf = /** @type {HTMLInputElement} */ ($('#as-of-input'));
  if (document.activeElement !== asOf) asOf.value = state.asOf || '';
}

/**
 * The banner over historical figures, and `data-as-of` on the page (the styles mark the cards);
 * both gone for the present ones.
 * @param {Dashboard | null} d
 */
export function renderAsOf(d) {
  const banner = $('#as-of-banner');
  const at = d && d.as_of;
  if (!at) {
    banner.hidden = true;
    banner.textContent = '';
    delete document.body.dataset.asOf;
    return;
  }
  const recorded = at.recorded_at ? `, recorded ${fmtDateTime(at.recorded_at)}` : '';
  const later = at.head - at.position;
  banner.textContent = `Historical figures: as the log stood at position ${fmtInt(at.position)}${recorded}. ` +
    `${fmtInt(later)} later event${later === 1 ? ' is' : 's are'} left out of the figures, the funnel and the products; ` +
    'users and the live feed show the present. Choose “Now” for live figures.';
  banner.hidden = false;
  document.body.dataset.asOf = String(at.position);
}

/** @param {'from' | 'to'} which @returns {HTMLInputElement} */
const rangeInput = (which) => $(`#range-${which}`);

/** The period the server used, and the one compared with. @param {Dashboard | null} d */
export function renderPeriodLabel(d) {
  if (!d || !d.period) return;
  const p = d.period;
  const prev = d.previous_period;
  let text = `${fmtDate(p.from)} – ${fmtDate(p.to)} · ${p.days} day${p.days === 1 ? '' : 's'} · ${p.timezone}`;
  if (prev) text += ` · compared with ${fmtDate(prev.from)} – ${fmtDate(prev.to)}`;
  const el = $('#period-label');
  el.textContent = text;
  el.dataset.from = p.from;
  el.dataset.to = p.to;
  el.dataset.days = String(p.days);
  // Keep the custom range inputs showing the period in force.
  if (!state.period.from) {
    rangeInput('from').value = p.from;
    rangeInput('to').value = p.to;
  }
}

/**
 * Wires the day buttons, the range form and the hash.
 * @param {{ onPick: () => void, onHashChange: () => void }} hooks `onPick` after the user
 *   picked a period; `onHashChange` after the address's hash changed it.
 */
export function setupPeriodControls({ onPick, onHashChange }) {
  /** @param {Period} period */
  const pick = (period) => {
    state.period = period;
    writePeriodToHash();
    renderPeriodControls();
    onPick();
  };
  for (const btn of $$('.seg[data-days]')) {
    btn.addEventListener('click', () => pick({ days: Number(btn.dataset.days) }));
  }
  $('#range-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const from = rangeInput('from').value;
    const to = rangeInput('to').value;
    if (!from) {
      showError('Choose the first day of the range.');
      rangeInput('from').focus();
      return;
    }
    if (to && to < from) {
      showError('The range ends before it starts.');
      rangeInput('to').focus();
      return;
    }
    showError(null);
    pick({ from, to: to || null });
  });
  /** @param {string | null} asOf */
  const pickAsOf = (asOf) => {
    state.asOf = asOf;
    writePeriodToHash();
    renderPeriodControls();
    onPick();
  };
  $('#as-of-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = /** @type {HTMLInputElement} */ ($('#as-of-input'));
    const asOf = asOfOf(input.value);
    if (!asOf) {
      showError('As of: a date and time (2026-11-20 18:00) or a log position (a whole number).');
      input.focus();
      return;
    }
    showError(null);
    input.blur();
    pickAsOf(asOf);
  });
  $('#as-of-now').addEventListener('click', () => {
    showError(null);
    pickAsOf(null);
  });
  window.addEventListener('hashchange', () => {
    readPeriodFromHash();
    renderPeriodControls();
    onHashChange();
  });
}
