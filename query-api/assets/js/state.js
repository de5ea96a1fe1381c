/**
 * What the page knows and has shown (the key, the period, the last dashboard, the live feed,
 * the live connection, the open profile), shared by the modules that read and change it, and
 * the settings more than one module uses. The tables keep their own state (table.js).
 */

/** @typedef {import('../types/api').components['schemas']['Dashboard']} Dashboard */
/** @typedef {import('../types/api').components['schemas']['UserSummary']} UserSummary */
/** @typedef {import('../types/api').components['schemas']['TimelineMessage']} TimelineMessage */

/**
 * An event in the live feed, from `/admin/live` or read back from `/admin/analytics/events`.
 * @typedef {{ position: number, event_type: string, user_id: string | null,
 *   occurred_at: string, fresh?: boolean }} FeedEvent
 */

/** @typedef {{ days: number, from?: undefined, to?: undefined } | { from: string, to: string | null, days?: undefined }} Period */

/** @typedef {'connecting' | 'live' | 'polling' | 'offline'} ConnectionMode */

export const DAY_CHOICES = [7, 14, 30, 90];
export const DEFAULT_DAYS = 30;
export const LIVE_BACKOFF_MIN_MS = 1000;
// While the server has no /admin/live (404/405/501), retry only rarely: 1, 2, 4, … 10 minutes.
export const LIVE_MISSING_RETRY_MIN_MS = 60000;

export const state = {
  /** @type {string | null} */
  key: null,
  /** @type {Period} */
  period: { days: DEFAULT_DAYS },
  /** @type {string | null} `as_of` of historical figures (a log position or an instant), null for now */
  asOf: null,
  /** @type {Dashboard | null} */
  dashboard: null,
  /** @type {FeedEvent[]} newest first */
  feed: [],
  /** @type {Set<number>} */
  feedPositions: new Set(),
  feedMax: 0,
  /** @type {number | null} the log's head, as last reported */
  head: null,
  ready: false,
  started: false,
  live: {
    /** @type {ConnectionMode} */
    mode: 'connecting',
    connected: false,
    missing: false,
    missingBackoff: LIVE_MISSING_RETRY_MIN_MS,
    /** @type {AbortController | null} */
    ctrl: null,
    /** @type {ReturnType<typeof setTimeout> | null} */
    timer: null,
    /** @type {(() => void) | null} */
    wake: null,
    backoff: LIVE_BACKOFF_MIN_MS,
    /** @type {number | undefined} */
    lastApplied: undefined,
    loop: 0,
  },
  profile: {
    /** @type {string | null} */
    id: null,
    /** @type {UserSummary | null} */
    user: null,
    /** @type {TimelineMessage[]} */
    messages: [],
    /** @type {number | null | undefined} */
    nextBefore: null,
    total: 0,
    loading: false,
  },
};
