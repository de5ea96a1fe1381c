/**
 * The users table: everyone the read models know (not limited to the period); a click opens
 * the user's profile.
 */
import { h } from './dom.js';
import { fmtDateTime, fmtInt, fmtRelative, moneyLines, stageBadge, userName } from './format.js';
import { fetchUsers } from './api.js';
import { openProfile } from './profile.js';
import { PagedTable } from './table.js';

/** @typedef {import('../types/api').components['schemas']['UserSummary']} UserSummary */

/** The engagement score with a bar. @param {number} score */
function engagementEl(score) {
  const pct = Math.max(0, Math.min(100, Number(score) || 0));
  const fill = h('span');
  fill.style.width = `${pct}%`;
  const bar = h('span', { class: 'engagement-bar', 'aria-hidden': 'true' }, fill);
  return h('span', { class: 'engagement', dataset: { value: score } }, bar, fmtInt(score));
}

/** @param {UserSummary} u @returns {HTMLTableRowElement} */
function userRow(u) {
  const open = h('button', { type: 'button', class: 'btn-link cell-main', 'aria-label': `Open profile of ${userName(u)}` }, userName(u));
  const row = /** @type {HTMLTableRowElement} */ (h('tr', { class: 'clickable', 'data-testid': 'user-row', 'data-user-id': u.user_id },
    h('td', null, open, userName(u) !== u.user_id ? h('span', { class: 'cell-sub' }, u.user_id) : null),
    h('td', null, u.channel),
    h('td', { dataset: { value: u.stage } }, stageBadge(u.stage)),
    h('td', { class: 'num' }, fmtInt(u.messages)),
    h('td', { class: 'num' }, fmtInt(u.sessions)),
    h('td', { class: 'num' }, fmtInt(u.product_views)),
    h('td', { class: 'num' }, fmtInt(u.orders)),
    h('td', { class: 'num cell-money' }, moneyLines(u.revenue)),
    h('td', { class: 'num' }, engagementEl(u.engagement_score)),
    h('td', { class: 'nowrap', title: fmtDateTime(u.first_seen), dataset: { value: u.first_seen } }, fmtRelative(u.first_seen)),
    h('td', { class: 'nowrap', title: fmtDateTime(u.last_seen), dataset: { value: u.last_seen } }, fmtRelative(u.last_seen))));
  open.addEventListener('click', (e) => {
    e.stopPropagation();
    openProfile(u.user_id, open);
  });
  row.addEventListener('click', () => openProfile(u.user_id, open));
  return row;
}

/** @type {PagedTable<UserSummary>} */
export const usersTable = new PagedTable({
  prefix: 'users',
  what: 'Users',
  sort: 'last_seen',
  pageSize: 25,
  firstOrder: (key) => (key === 'user_id' ? 'asc' : 'desc'),
  fetchPage: fetchUsers,
  row: userRow,
  empty: (search) => (search ? 'No user matches the search.' : 'No users yet.'),
});
