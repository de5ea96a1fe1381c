/**
 * What the top bar and the error banner say: the connection (live, polling, offline), the
 * projection lag, when the figures were last updated, and the last error.
 */
import { $, h, find } from './dom.js';
import { fmtInt, pctFmt, timeFmt } from './format.js';
import { Unauthorized } from './api.js';
import { state } from './state.js';

/** @typedef {import('../types/api').components['schemas']['LagSummary']} LagSummary */
/** @typedef {import('./state.js').ConnectionMode} ConnectionMode */

/** Shows `message` in the banner, or hides it when null. @param {string | null} message */
export function showError(message) {
  const el = $('#error-banner');
  if (!message) {
    el.hidden = true;
    el.textContent = '';
    return;
  }
  el.textContent = message;
  el.hidden = false;
}

/**
 * Says what failed; an abort or a rejected key says nothing (the key form speaks for it).
 * @param {unknown} err
 * @param {string} what
 */
export function handleError(err, what) {
  if (!(err instanceof Error) || err.name === 'AbortError' || err instanceof Unauthorized) return;
  showError(`${what}: ${err.message}`);
  if ('status' in err && err.status === 0) setConnection('offline');
}

const CONNECTION_TEXT = {
  connecting: 'Connecting…',
  live: 'Live',
  polling: 'Polling · 30 s',
  offline: 'Offline',
};
const CONNECTION_TITLE = {
  live: 'Receiving live updates from /admin/live',
  polling: 'Live updates unavailable: refreshing every 30 seconds',
  offline: 'The server cannot be reached; retrying',
  connecting: 'Connecting to live updates',
};

/** @param {ConnectionMode} mode */
export function setConnection(mode) {
  state.live.mode = mode;
  const el = $('#conn');
  el.dataset.state = mode;
  $('.pill-text', el).textContent = CONNECTION_TEXT[mode] || mode;
  el.title = CONNECTION_TITLE[mode] || '';
  $('#feed-mode').textContent = mode === 'live' ? 'live' : 'refreshed every 30 s';
}

/** The lag, from the dashboard or a live `progress` frame. @param {LagSummary | null | undefined} lag */
export function renderLag(lag) {
  if (!lag) return;
  const el = $('#lag');
  const events = Number(lag.lag_events) || 0;
  const seconds = Number(lag.lag_seconds) || 0;
  const stalled = Number(lag.stalled_partitions) || 0;
  el.dataset.value = String(events);
  el.dataset.seconds = String(seconds);
  el.dataset.stalled = String(stalled);
  if (lag.head !== undefined && lag.head !== null) el.dataset.head = String(lag.head);
  el.dataset.state = stalled > 0 ? 'stalled' : events > 0 ? 'behind' : 'ok';
  let text = `Lag ${fmtInt(events)} event${events === 1 ? '' : 's'}`;
  if (events > 0 || seconds > 0) text += ` · ${pctFmt.format(seconds)} s`;
  if (stalled > 0) text += ` · ${stalled} stalled`;
  $('.pill-text', el).textContent = text;
  el.title = `Projection lag: ${events} events, ${seconds} s behind the log head${lag.head !== undefined ? ` (${lag.head})` : ''}` +
    (stalled > 0 ? `; ${stalled} stalled partition(s)` : '');
  if (lag.head !== undefined && lag.head !== null) state.head = lag.head;
}

export function markUpdated() {
  const now = new Date();
  const el = $('#updated');
  el.textContent = `Updated ${timeFmt.format(now)}`;
  el.dataset.at = now.toISOString();
}

/** The first load is done (tests wait for `body[data-state=ready]`). */
export function markReady() {
  if (state.ready) return;
  state.ready = true;
  document.body.dataset.state = 'ready';
  if (!find('[data-testid="loaded"]')) {
    document.body.append(h('span', { class: 'visually-hidden', 'data-testid': 'loaded', 'aria-hidden': 'true' }, 'loaded'));
  }
}
