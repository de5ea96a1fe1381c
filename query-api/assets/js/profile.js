/**
 * A user's profile in a dialog: engagement score and funnel stage, preferences and favourite
 * products, and the conversation (oldest first, older pages on demand).
 */
import { $, h, openDialog } from './dom.js';
import { fetchUser, Unauthorized, ApiError } from './api.js';
import { dateFmt, fmtDateTime, fmtInt, fmtRelative, formatMoney, moneyText, stageBadge, stageLabel, STAGES, timeFmt, userName } from './format.js';
import { state } from './state.js';

/** @typedef {import('../types/api').components['schemas']['UserProfile']} UserProfile */

/** @type {AbortController | null} */
let profileCtrl = null;
/** @type {Element | null} */
let profileOpener = null;

/**
 * Opens the profile of `userId`; focus goes back to `opener` when it closes.
 * @param {string} userId
 * @param {Element | null} [opener]
 */
export async function openProfile(userId, opener) {
  /** @type {HTMLDialogElement} */
  const dialog = $('#profile');
  profileOpener = opener || document.activeElement;
  state.profile = { id: userId, user: null, messages: [], nextBefore: null, total: 0, loading: true };
  $('#profile-title').textContent = userId;
  $('#profile-sub').replaceChildren();
  $('#profile-error').hidden = true;
  $('#profile-body').classList.add('loading');
  $('#profile-timeline').replaceChildren();
  $('#profile-older').hidden = true;
  dialog.dataset.userId = userId;
  dialog.dataset.state = 'loading';
  openDialog(dialog);
  $('#profile-close').focus();
  if (profileCtrl) profileCtrl.abort();
  const ctrl = new AbortController();
  profileCtrl = ctrl;
  try {
    const p = await fetchUser(userId, { signal: ctrl.signal });
    if (ctrl.signal.aborted || state.profile.id !== userId) return;
    renderProfile(p);
    state.profile.messages = (p.conversation.messages || []).slice();
    state.profile.nextBefore = p.conversation.next_before;
    state.profile.total = p.conversation.total;
    renderTimeline(true);
    dialog.dataset.state = 'ready';
  } catch (err) {
    if (!(err instanceof Error) || err.name === 'AbortError' || err instanceof Unauthorized) return;
    const box = $('#profile-error');
    box.textContent = err instanceof ApiError && err.status === 404 ? `No user “${userId}”.` : `Could not load the profile: ${err.message}`;
    box.hidden = false;
    dialog.dataset.state = 'error';
  } finally {
    if (profileCtrl === ctrl) profileCtrl = null;
    state.profile.loading = false;
    $('#profile-body').classList.remove('loading');
  }
}

/** @param {string} label @param {string} value @param {Record<string, unknown>} [attrs] */
const fact = (label, value, attrs) => [h('dt', null, label), h('dd', attrs || null, value)];

/** @param {UserProfile} p */
function renderProfile(p) {
  const u = p.user;
  const e = p.engagement;
  const prefs = p.preferences;
  state.profile.user = u;
  $('#profile-title').textContent = userName(u);
  $('#profile-sub').replaceChildren(...[
    h('code', null, u.user_id),
    h('span', { class: 'badge' }, u.channel),
    u.username && u.display_name ? h('span', null, `@${u.username}`) : null,
    stageBadge(e.stage || u.stage),
  ].filter((el) => el !== null));

  const score = e.score ?? u.engagement_score;
  const scoreEl = $('#profile-engagement');
  scoreEl.textContent = fmtInt(score);
  scoreEl.dataset.value = String(score);
  $('#profile-meter').style.width = `${Math.max(0, Math.min(100, Number(score) || 0))}%`;

  const stage = e.stage || u.stage;
  const reachedIdx = STAGES.indexOf(stage);
  const stagesEl = $('#profile-stages');
  stagesEl.dataset.value = stage || '';
  stagesEl.replaceChildren(...STAGES.map((s, i) => h('li', {
    class: i === reachedIdx ? 'current' : i < reachedIdx ? 'reached' : null,
    'aria-current': i === reachedIdx ? 'step' : null,
  }, stageLabel(s))));

  $('#profile-facts').replaceChildren(
    ...fact('Sessions', fmtInt(e.sessions ?? u.sessions)),
    ...fact('Messages', fmtInt(u.messages)),
    ...fact('Products viewed', fmtInt(e.products_viewed ?? u.product_views)),
    ...fact('Orders', fmtInt(e.orders ?? u.orders)),
    ...fact('Revenue', moneyText(u.revenue)),
    ...fact('First seen', fmtDateTime(u.first_seen)),
    ...fact('Last seen', `${fmtDateTime(e.last_seen || u.last_seen)} (${fmtRelative(e.last_seen || u.last_seen)})`));

  $('#profile-prefs').replaceChildren(
    ...fact('Budget', prefs.budget ? formatMoney(prefs.budget.amount_minor, prefs.budget.currency) : 'not stated', { 'data-testid': 'profile-budget' }),
    ...fact('Category', prefs.category || 'not stated', { 'data-testid': 'profile-category' }));

  const favs = prefs.favourite_products || [];
  $('#profile-favs').replaceChildren(...(favs.length
    ? favs.map((f) => h('li', { dataset: { productId: f.product_id } },
      h('span', null, h('span', { class: 'cell-main' }, f.name || f.product_id), f.name ? h('span', { class: 'cell-sub' }, f.product_id) : null),
      h('span', { class: 'fav-stats' }, `${fmtInt(f.views)} views · ${fmtInt(f.intents)} intents · ${fmtInt(f.units)} bought`)))
    : [h('li', { class: 'muted' }, 'None yet.')]));
}

/** Draws the conversation oldest first (the API pages newest first). @param {boolean} scrollToEnd */
function renderTimeline(scrollToEnd) {
  const list = $('#profile-timeline');
  const msgs = state.profile.messages.slice().sort((a, b) => a.position - b.position);
  /** @type {HTMLElement[]} */
  const items = [];
  /** @type {string | null} */
  let lastDay = null;
  for (const m of msgs) {
    const at = new Date(m.at);
    const day = Number.isNaN(at.getTime()) ? '' : at.toDateString();
    if (day && day !== lastDay) {
      items.push(h('li', { class: 'day-sep', 'aria-hidden': 'true' }, dateFmt.format(new Date(Date.UTC(at.getFullYear(), at.getMonth(), at.getDate())))));
      lastDay = day;
    }
    const dir = m.direction === 'out' ? 'out' : 'in';
    const meta = [
      h('span', null, dir === 'in' ? 'User' : 'Bot'),
      h('time', { datetime: m.at }, Number.isNaN(at.getTime()) ? m.at : timeFmt.format(at)),
      m.intent ? h('span', { class: 'chip chip-intent', title: 'intent' }, m.intent) : null,
      m.sentiment && m.sentiment !== 'neutral' ? h('span', { class: `chip chip-${m.sentiment}`, title: 'sentiment' }, m.sentiment) : null,
      m.product_id ? h('span', { class: 'chip chip-product', title: 'product' }, m.product_id) : null,
    ];
    items.push(h('li', {
      class: `bubble bubble-${dir}`,
      'data-testid': 'timeline-message',
      dataset: { position: m.position, direction: dir },
    },
    h('div', { class: `bubble-text${m.text ? '' : ' empty-text'}` }, m.text || '(no text: erased or a button press)'),
    h('div', { class: 'bubble-meta' }, meta)));
  }
  if (!items.length) items.push(h('li', { class: 'muted' }, 'No messages.'));
  list.replaceChildren(...items);
  /** @type {HTMLButtonElement} */
  const older = $('#profile-older');
  older.hidden = !state.profile.nextBefore;
  older.disabled = false;
  $('#profile-conv-count').textContent = `${fmtInt(state.profile.messages.length)} of ${fmtInt(state.profile.total)} shown`;
  if (scrollToEnd) {
    $('#profile-body').scrollTop = 0;
    list.scrollTop = list.scrollHeight; // the newest message, at the bottom of its own scroll box
  }
}

async function loadOlderMessages() {
  const before = state.profile.nextBefore;
  const id = state.profile.id;
  if (!before || !id || state.profile.loading) return;
  state.profile.loading = true;
  /** @type {HTMLButtonElement} */
  const btn = $('#profile-older');
  btn.disabled = true;
  const list = $('#profile-timeline');
  const anchor = list.querySelector('[data-testid="timeline-message"]');
  const anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
  try {
    const p = await fetchUser(id, { before });
    if (state.profile.id !== id) return;
    const seen = new Set(state.profile.messages.map((m) => m.position));
    for (const m of p.conversation.messages || []) if (!seen.has(m.position)) state.profile.messages.push(m);
    state.profile.nextBefore = p.conversation.next_before;
    state.profile.total = p.conversation.total;
    renderTimeline(false);
    // Keep the message that was on top where it was.
    if (anchor && anchor.isConnected) list.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
  } catch (err) {
    if (err instanceof Unauthorized) return;
    const box = $('#profile-error');
    box.textContent = `Could not load older messages: ${err instanceof Error ? err.message : String(err)}`;
    box.hidden = false;
    btn.disabled = false;
  } finally {
    state.profile.loading = false;
  }
}

/** Wires closing (button, backdrop, Escape) and "Load older messages". */
export function setupProfile() {
  /** @type {HTMLDialogElement} */
  const dialog = $('#profile');
  $('#profile-close').addEventListener('click', () => dialog.close());
  $('#profile-older').addEventListener('click', loadOlderMessages);
  // Click on the backdrop closes it.
  dialog.addEventListener('click', (e) => {
    if (e.target === dialog) dialog.close();
  });
  dialog.addEventListener('close', () => {
    if (profileCtrl) profileCtrl.abort();
    state.profile.id = null;
    delete dialog.dataset.userId;
    dialog.dataset.state = 'closed';
    if (profileOpener && profileOpener.isConnected && profileOpener instanceof HTMLElement) profileOpener.focus();
  });
}
