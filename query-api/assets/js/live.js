/**
 * Live updates from `/admin/live`: `progress` frames show the lag and, when `applied` moved,
 * ask for a refresh; `events` frames feed the live list. The connection is retried with
 * backoff (the server's `retry` hint respected); a server without the route is asked again
 * only every few minutes, and the 30-second refresh carries on meanwhile.
 */
import { reportUnauthorized, REJECTED_KEY } from './api.js';
import { addFeedEvents, fromLiveEvent } from './feed.js';
import { requestRefresh } from './refresh.js';
import { readEventStream } from './sse.js';
import { renderLag, setConnection } from './status.js';
import { LIVE_BACKOFF_MIN_MS, LIVE_MISSING_RETRY_MIN_MS, state } from './state.js';

/** @typedef {import('../types/api').components['schemas']['LagSummary']} LagSummary */
/** @typedef {import('../types/api').components['schemas']['LiveEvent']} LiveEvent */

const LIVE_BACKOFF_MAX_MS = 60000;
const LIVE_MISSING_RETRY_MAX_MS = 10 * 60000;

/** @param {string} type @param {string} raw */
function onLiveEvent(type, raw) {
  /** @type {unknown} */
  let data;
  try {
    data = JSON.parse(raw);
  } catch {
    return; // not JSON: ignore
  }
  if (type === 'progress' && data && typeof data === 'object') {
    const lag = /** @type {LagSummary} */ (data);
    renderLag(lag);
    if (lag.applied !== state.live.lastApplied) {
      state.live.lastApplied = lag.applied;
      requestRefresh();
    }
  } else if (type === 'events' && Array.isArray(data)) {
    /** @type {LiveEvent[]} */
    const events = data.filter((e) => e && typeof e.position === 'number');
    addFeedEvents(events.map(fromLiveEvent), true);
  }
}

/** Connects and reads `/admin/live` until stopLive(), reconnecting after each drop. */
export async function liveLoop() {
  const loopId = ++state.live.loop;
  const running = () => state.live.loop === loopId && Boolean(state.key);
  state.live.backoff = LIVE_BACKOFF_MIN_MS;
  /** @type {number | null} */
  let retryHint = null;
  while (running()) {
    const ctrl = new AbortController();
    state.live.ctrl = ctrl;
    /** @type {number | null} */
    let wait = null;
    try {
      const res = await fetch('/admin/live', {
        headers: { 'X-API-Key': state.key || '', Accept: 'text/event-stream' },
        signal: ctrl.signal,
        cache: 'no-store',
      });
      if (res.status === 401) {
        state.live.ctrl = null;
        reportUnauthorized(REJECTED_KEY);
        return;
      }
      if (res.status === 404 || res.status === 405 || res.status === 501) {
        // Not (yet) implemented by this server: polling only, try again much later.
        wait = state.live.missingBackoff;
        state.live.missingBackoff = Math.min(wait * 2, LIVE_MISSING_RETRY_MAX_MS);
        state.live.missing = true;
        throw new Error(`live updates not available (${res.status})`);
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      state.live.connected = true;
      state.live.missing = false;
      state.live.missingBackoff = LIVE_MISSING_RETRY_MIN_MS;
      setConnection('live');
      state.live.lastApplied = undefined; // the first progress frame refreshes (catch up)
      state.live.backoff = LIVE_BACKOFF_MIN_MS;
      await readEventStream(res.body, onLiveEvent, (ms) => {
        retryHint = ms;
      });
    } catch {
      // Network error, stream cut, or no /admin/live: fall back to polling and retry below.
    }
    if (!running()) return;
    state.live.ctrl = null;
    state.live.connected = false;
    if (state.live.mode !== 'offline') setConnection('polling');
    if (wait === null) {
      wait = Math.max(retryHint || 0, state.live.backoff);
      state.live.backoff = Math.min(state.live.backoff * 2, LIVE_BACKOFF_MAX_MS);
    }
    const delay = wait + Math.random() * 500;
    await new Promise((resolve) => {
      state.live.timer = setTimeout(resolve, delay);
      state.live.wake = () => resolve(undefined);
    });
    state.live.timer = null;
    state.live.wake = null;
  }
}

/** Closes the connection and ends the loop. */
export function stopLive() {
  state.live.loop += 1;
  if (state.live.ctrl) state.live.ctrl.abort();
  state.live.ctrl = null;
  state.live.connected = false;
  if (state.live.timer) clearTimeout(state.live.timer);
  if (state.live.wake) state.live.wake();
  state.live.timer = null;
}

/** Reconnects now (the tab became visible again, or the network came back). */
export function wakeLive() {
  // Not when the server said it has no /admin/live: that is retried every few minutes only.
  if (state.key && !state.live.ctrl && state.live.wake && !state.live.connected && !state.live.missing) {
    state.live.backoff = LIVE_BACKOFF_MIN_MS;
    if (state.live.timer) clearTimeout(state.live.timer);
    state.live.wake();
  }
}
