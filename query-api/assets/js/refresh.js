/**
 * When the figures are read again: on a live `progress` frame, the Refresh button, the tab
 * coming back and every 30 s, at most once a second and never two at a time; and at once
 * when the period changes.
 */
import { loadDashboard } from './figures.js';
import { pollFeed } from './feed.js';
import { productsTable } from './products.js';
import { usersTable } from './users.js';
import { handleError, markUpdated, setConnection, showError } from './status.js';
import { state } from './state.js';

const REFRESH_MIN_GAP_MS = 1000;

const refresh = {
  /** @type {ReturnType<typeof setTimeout> | null} */
  timer: null,
  last: 0,
  running: false,
  queued: false,
};

/**
 * The first failure among settled loads that is not an abort.
 * @param {PromiseSettledResult<unknown>[]} results
 * @returns {PromiseRejectedResult | undefined}
 */
export function firstFailure(results) {
  return /** @type {PromiseRejectedResult[]} */ (results.filter((r) => r.status === 'rejected'))
    .find((r) => r.reason && r.reason.name !== 'AbortError');
}

/** Reads everything shown: the dashboard and both tables. */
export function loadAll() {
  return Promise.allSettled([loadDashboard(), productsTable.load(), usersTable.load()]);
}

/** Asks for a refresh of everything shown; runs at most once a second. */
export function requestRefresh() {
  if (!state.key || refresh.timer) return;
  const wait = Math.max(0, refresh.last + REFRESH_MIN_GAP_MS - Date.now());
  refresh.timer = setTimeout(runRefresh, wait);
}

async function runRefresh() {
  refresh.timer = null;
  if (refresh.running) {
    refresh.queued = true;
    return;
  }
  refresh.running = true;
  refresh.last = Date.now();
  try {
    await refreshAll();
  } finally {
    refresh.running = false;
    if (refresh.queued) {
      refresh.queued = false;
      requestRefresh();
    }
  }
}

async function refreshAll() {
  if (!state.key) return;
  const failed = firstFailure(await loadAll());
  if (failed) {
    handleError(failed.reason, 'Refresh failed');
    return;
  }
  showError(null);
  if (state.live.mode === 'offline') setConnection(state.live.connected ? 'live' : 'polling');
  markUpdated();
  if (state.live.mode !== 'live') {
    try {
      await pollFeed();
    } catch (err) {
      handleError(err, 'Live events');
    }
  }
}

/** The period changed: reload the figures that follow it at once. */
export async function loadPeriodData() {
  if (!state.key) return;
  const failed = firstFailure(await Promise.allSettled([loadDashboard(), productsTable.load()]));
  if (failed) handleError(failed.reason, 'Could not load the figures');
  else {
    showError(null);
    markUpdated();
  }
}
