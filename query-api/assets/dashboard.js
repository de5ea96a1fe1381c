/**
 * salesbot admin dashboard: the entry module (`<script type="module">`), served as
 * /dashboard/dashboard.js. Plain ES modules, no build step, no framework: each file under
 * js/ is one idea and is served as it is (/dashboard/js/<file>). The page talks to the admin
 * API on the same origin with the `X-API-Key` header and draws its charts with the vendored
 * Chart.js. docs/architecture.md describes the page; docs/decisions/ says why it is built so.
 *
 * Data flow:
 *   - period (7/14/30/90 days or a from/to range, kept in the URL hash) → /admin/dashboard,
 *     /admin/analytics/products; the users table is not period-bound (/admin/users).
 *   - live updates: /admin/live (Server-Sent Events) read with fetch() because EventSource cannot
 *     send the key header; `progress` frames whose `applied` moved trigger a debounced refresh
 *     (at most one a second); `events` frames feed the live list. Whether or not that works,
 *     everything is also refreshed every 30 s.
 *   - user data from the API is only ever put in the page as text (never innerHTML).
 */
import { $ } from './js/dom.js';
import { onUnauthorized } from './js/api.js';
import { setupChartDefaults } from './js/charts.js';
import { setupCsv } from './js/csv.js';
import { renderFeed, seedFeed } from './js/feed.js';
import { askForKey, dropKey, loadKey, setupKeyForm } from './js/key.js';
import { liveLoop, stopLive, wakeLive } from './js/live.js';
import { readPeriodFromHash, renderPeriodControls, setupPeriodControls, writePeriodToHash } from './js/period.js';
import { productsTable } from './js/products.js';
import { setupProfile } from './js/profile.js';
import { firstFailure, loadAll, loadPeriodData, requestRefresh } from './js/refresh.js';
import { handleError, markReady, markUpdated, setConnection, showError } from './js/status.js';
import { usersTable } from './js/users.js';
import { state } from './js/state.js';

const REFRESH_FALLBACK_MS = 30000;

/** @type {ReturnType<typeof setInterval> | null} */
let fallbackTimer = null;

/** Loads everything, seeds the feed, then goes live (or asks for the key first). */
async function start() {
  if (!state.key) {
    askForKey();
    return;
  }
  state.started = true;
  setConnection('connecting');
  const results = await loadAll();
  if (!state.key) return; // 401: the key form is showing again
  const failed = firstFailure(results);
  if (failed) handleError(failed.reason, 'Could not load the dashboard');
  else {
    showError(null);
    markUpdated();
  }
  const head = state.dashboard && state.dashboard.lag ? state.dashboard.lag.head : null;
  try {
    await seedFeed(head);
  } catch (err) {
    handleError(err, 'Live events');
  }
  renderFeed();
  // Ready even after a failure, so a test does not wait forever; the error banner says what failed.
  markReady();
  if (!state.key) return;
  liveLoop();
  if (!fallbackTimer) {
    fallbackTimer = setInterval(() => {
      if (state.key && !document.hidden) requestRefresh();
    }, REFRESH_FALLBACK_MS);
  }
}

function init() {
  setupChartDefaults();
  readPeriodFromHash();
  writePeriodToHash();
  renderPeriodControls();
  setupPeriodControls({
    onPick: () => {
      productsTable.state.page = 1;
      loadPeriodData();
    },
    onHashChange: loadPeriodData,
  });
  onUnauthorized((message) => {
    dropKey();
    stopLive();
    askForKey(message);
  });
  setupKeyForm({ onKey: start, onForget: stopLive });
  productsTable.setup();
  usersTable.setup();
  setupProfile();
  setupCsv();
  setConnection('connecting');
  $('#refresh-btn').addEventListener('click', () => {
    requestRefresh();
    wakeLive();
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && state.key && state.started) {
      requestRefresh();
      wakeLive();
    }
  });
  window.addEventListener('online', wakeLive);
  loadKey();
  start();
}

// Module scripts run once the document is parsed.
init();
