/**
 * The period the figures cover: 7/14/30/90 days or a from/to range, kept in the address's
 * hash (`#days=30`, `#from=2026-01-01&to=2026-01-31`), its buttons and its label.
 */
import { $, $$ } from './dom.js';
import { fmtDate } from './format.js';
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
  return p;
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
}

export function writePeriodToHash() {
  const p = state.period.from
    ? `from=${state.period.from}${state.period.to ? `&to=${state.period.to}` : ''}`
    : `days=${state.period.days}`;
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
  window.addEventListener('hashchange', () => {
    readPeriodFromHash();
    renderPeriodControls();
    onHashChange();
  });
}
