/**
 * The live list of the log's newest events: seeded from `/admin/analytics/events`, fed by
 * `/admin/live`'s `events` frames, or read back after the newest one shown while there is no
 * live connection.
 */
import { $, h } from './dom.js';
import { fmtDateTime, fmtFeedTime } from './format.js';
import { fetchEvents } from './api.js';
import { openProfile } from './profile.js';
import { state } from './state.js';

/**
 * The envelope fields the feed reads from an `/admin/analytics/events` item (the spec leaves an
 * event's shape open: `items: {}`, so `unknown` here).
 * @typedef {{ global_position: number, event_type: string, stream_id?: string, occurred_at: string }} LogEvent
 */
/** @typedef {import('../types/api').components['schemas']['LiveEvent']} LiveEvent */
/** @typedef {import('./state.js').FeedEvent} FeedEvent */

const FEED_SEED = 20;
const FEED_MAX = 60;

/**
 * An event from /admin/analytics/events in the feed's shape (one without a numeric position
 * is dropped by addFeedEvents).
 * @param {unknown} item
 * @returns {FeedEvent}
 */
function fromLogEvent(item) {
  const e = /** @type {LogEvent} */ (item);
  /** @type {string | null} */
  let userId = null;
  if (typeof e.stream_id === 'string') userId = e.stream_id.startsWith('user-') ? e.stream_id.slice(5) : e.stream_id;
  return { position: e.global_position, event_type: e.event_type, user_id: userId, occurred_at: e.occurred_at };
}

/** A `/admin/live` event in the feed's shape. @param {LiveEvent} e @returns {FeedEvent} */
export const fromLiveEvent = (e) => ({ position: e.position, event_type: e.event_type, user_id: e.user_id ?? null, occurred_at: e.occurred_at });

/** @param {string} type */
function typeClass(type) {
  if (/MessageReceived|Button/i.test(type)) return 'type-in';
  if (/BotReplied|Reply/i.test(type)) return 'type-out';
  if (/Order|Purchase/i.test(type)) return 'type-order';
  if (/Product|Price|Spec/i.test(type)) return 'type-product';
  return '';
}

/**
 * Adds the events not shown yet (`fresh` ones are highlighted once), newest first, keeping
 * the last FEED_MAX.
 * @param {FeedEvent[]} events
 * @param {boolean} fresh
 */
export function addFeedEvents(events, fresh) {
  let added = 0;
  for (const e of events) {
    if (!e || typeof e.position !== 'number' || state.feedPositions.has(e.position)) continue;
    state.feedPositions.add(e.position);
    state.feed.push({ ...e, fresh });
    state.feedMax = Math.max(state.feedMax, e.position);
    added += 1;
  }
  if (!added) return;
  state.feed.sort((a, b) => b.position - a.position);
  while (state.feed.length > FEED_MAX) {
    const dropped = state.feed.pop();
    if (dropped) state.feedPositions.delete(dropped.position);
  }
  renderFeed();
}

export function renderFeed() {
  const list = $('#feed');
  $('#feed-empty').hidden = state.feed.length > 0;
  list.replaceChildren(...state.feed.map((e) => {
    const userId = e.user_id;
    const user = userId
      ? (/^(web|telegram):/.test(userId)
        ? h('button', {
          type: 'button',
          class: 'btn-link',
          title: 'Open profile',
          onclick: (/** @type {MouseEvent} */ ev) => openProfile(userId, /** @type {Element | null} */ (ev.currentTarget)),
        }, userId)
        : userId)
      : '—';
    const li = h('li', {
      class: `feed-item${e.fresh ? ' fresh' : ''}`,
      'data-testid': 'feed-item',
      dataset: { position: e.position, type: e.event_type, userId: userId || '' },
    },
    h('span', { class: 'feed-pos' }, `#${e.position}`),
    h('span', { class: 'feed-type' }, h('span', { class: `type-dot ${typeClass(e.event_type || '')}`, 'aria-hidden': 'true' }), e.event_type),
    h('time', { class: 'feed-time', datetime: e.occurred_at, title: fmtDateTime(e.occurred_at) }, fmtFeedTime(e.occurred_at)),
    h('span', { class: 'feed-user' }, user));
    e.fresh = false;
    return li;
  }));
}

/** Seeds the feed with the last events of the log (`head` from the dashboard's lag). @param {number | null | undefined} head */
export async function seedFeed(head) {
  if (typeof head !== 'number') return;
  const after = Math.max(0, head - FEED_SEED);
  const page = await fetchEvents(after, FEED_SEED);
  addFeedEvents((page.events || []).map(fromLogEvent), false);
  if (typeof page.head === 'number') state.head = page.head;
}

/** Without /admin/live: reads the events after the newest one shown (polling fallback). */
export async function pollFeed() {
  const head = state.head;
  if (typeof head !== 'number' || head <= state.feedMax) return;
  const after = head - state.feedMax > 200 ? head - FEED_SEED : state.feedMax;
  const page = await fetchEvents(after, 200);
  addFeedEvents((page.events || []).map(fromLogEvent), true);
}
