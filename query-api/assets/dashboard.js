/* salesbot admin dashboard.
 *
 * Plain browser JavaScript, no build step, no framework. Served by the query API as
 * /dashboard/dashboard.js; talks to the admin API on the same origin with the `X-API-Key`
 * header; draws every chart with the vendored Chart.js (/dashboard/vendor/chart.umd.min.js).
 *
 * Data flow:
 *   - period (7/14/30/90 days or a from/to range, kept in the URL hash) → /admin/dashboard,
 *     /admin/analytics/products; the users table is not period-bound (/admin/users).
 *   - live updates: /admin/live (Server-Sent Events) read with fetch() because EventSource cannot
 *     send the key header; `progress` frames whose `applied` moved trigger a debounced refresh
 *     (at most one a second); `events` frames feed the live list. Whether or not that works,
 *     everything is also refreshed every 30 s.
 *   - user data from the API is only ever put in the page with textContent (never innerHTML).
 */
(() => {
  'use strict';

  // ------------------------------------------------------------------ constants

  const KEY_STORAGE = 'salesbot.adminKey';
  const DAY_CHOICES = [7, 14, 30, 90];
  const DEFAULT_DAYS = 30;
  const REFRESH_FALLBACK_MS = 30000;
  const REFRESH_MIN_GAP_MS = 1000;
  const FEED_SEED = 20;
  const FEED_MAX = 60;
  const PRODUCTS_PAGE_SIZE = 50;
  const USERS_PAGE_SIZE = 25;
  const SEARCH_DEBOUNCE_MS = 300;
  const LIVE_BACKOFF_MIN_MS = 1000;
  const LIVE_BACKOFF_MAX_MS = 60000;
  // While the server has no /admin/live (404/405/501), retry only rarely: 1, 2, 4, … 10 minutes.
  const LIVE_MISSING_RETRY_MIN_MS = 60000;
  const LIVE_MISSING_RETRY_MAX_MS = 10 * 60000;

  const STAGES = ['greeting', 'browsing', 'consideration', 'purchase_intent', 'ordered'];
  const STAGE_LABELS = {
    greeting: 'Greeting',
    browsing: 'Browsing',
    consideration: 'Consideration',
    purchase_intent: 'Purchase intent',
    ordered: 'Ordered',
  };
  const STAGE_COLORS = ['#9db7f5', '#6f95f0', '#4a78ea', '#2f5fd0', '#13795b'];
  const PALETTE = ['#2f6fed', '#13b38a', '#f79009', '#7a5af8', '#ef4444', '#0ea5e9'];

  // ------------------------------------------------------------------ state

  const state = {
    key: null,
    period: { days: DEFAULT_DAYS }, // or { from, to }
    dashboard: null,
    products: { sort: 'views', order: 'desc', search: '', page: 1, data: null },
    users: { sort: 'last_seen', order: 'desc', search: '', page: 1, data: null },
    feed: [], // newest first: {position, event_type, user_id, occurred_at}
    feedPositions: new Set(),
    feedMax: 0,
    head: null,
    ready: false,
    started: false,
    live: { mode: 'connecting', connected: false, missing: false, missingBackoff: LIVE_MISSING_RETRY_MIN_MS, ctrl: null, timer: null, wake: null, backoff: LIVE_BACKOFF_MIN_MS, lastApplied: undefined, loop: 0 },
    profile: { id: null, user: null, messages: [], nextBefore: null, total: 0, loading: false },
  };

  const charts = { funnel: null, revenue: null, users: null };

  // ------------------------------------------------------------------ DOM helpers

  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  /** Creates an element: h('td', {class: 'num', dataset: {value: 3}}, 'text', child, ...). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [name, value] of Object.entries(attrs)) {
        if (value === null || value === undefined || value === false) continue;
        if (name === 'class') el.className = value;
        else if (name === 'dataset') {
          for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) el.dataset[k] = String(v);
        } else if (name === 'text') el.textContent = value;
        else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
        else if (value === true) el.setAttribute(name, '');
        else el.setAttribute(name, String(value));
      }
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  function debounce(fn, ms) {
    let t = null;
    return (...args) => {
      clearTimeout(t);
      t = setTimeout(() => fn(...args), ms);
    };
  }

  /**
   * True when `data` differs from what was last rendered under `name` (or a minute has passed,
   * so relative times stay fresh). Skipping identical re-renders keeps keyboard focus and
   * scroll positions in tables across the periodic refreshes.
   */
  const renderedSignatures = new Map();
  function changed(name, data) {
    const sig = `${Math.floor(Date.now() / 60000)}|${JSON.stringify(data)}`;
    if (renderedSignatures.get(name) === sig) return false;
    renderedSignatures.set(name, sig);
    return true;
  }

  // ------------------------------------------------------------------ formatting

  const numberFmt = new Intl.NumberFormat(undefined);
  const pctFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
  const dayFmt = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });
  const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' });
  const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const shortDateTimeFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  const relFmt = typeof Intl.RelativeTimeFormat === 'function' ? new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }) : null;

  const fmtInt = (n) => (n === null || n === undefined || Number.isNaN(n) ? '—' : numberFmt.format(n));
  const fmtPct = (n) => (n === null || n === undefined ? '—' : `${pctFmt.format(n)}%`);

  const moneyFormatters = new Map();
  function moneyFormatter(currency) {
    if (!moneyFormatters.has(currency)) {
      let f = null;
      try {
        f = new Intl.NumberFormat(undefined, { style: 'currency', currency });
      } catch (_) {
        f = null; // not an ISO 4217 code this browser knows
      }
      moneyFormatters.set(currency, f);
    }
    return moneyFormatters.get(currency);
  }
  /** The number of minor-unit digits of a currency (2 for USD, 0 for JPY, 3 for KWD). */
  function fractionDigits(currency) {
    const f = moneyFormatter(currency);
    return f ? f.resolvedOptions().maximumFractionDigits : 2;
  }
  /** amount_minor in the currency's major unit (a number). */
  const toMajor = (minor, currency) => minor / 10 ** fractionDigits(currency);
  function formatMoney(minor, currency) {
    const f = moneyFormatter(currency);
    if (!f) return `${(minor / 100).toFixed(2)} ${currency}`;
    return f.format(toMajor(minor, currency));
  }
  function formatMajor(major, currency, compact) {
    try {
      return new Intl.NumberFormat(undefined, compact
        ? { style: 'currency', currency, notation: 'compact', maximumFractionDigits: 1 }
        : { style: 'currency', currency }).format(major);
    } catch (_) {
      return `${major} ${currency}`;
    }
  }
  /** A list of {currency, amount_minor} as text, one currency per line (or "—"). */
  function moneyLines(list) {
    if (!list || list.length === 0) return [h('span', { class: 'money-line' }, '—')];
    return list.map((m) => h('span', { class: 'money-line' }, formatMoney(m.amount_minor, m.currency)));
  }
  const moneyText = (list) => (!list || list.length === 0 ? '—' : list.map((m) => formatMoney(m.amount_minor, m.currency)).join(' + '));

  /** "2026-11-03" → Date at UTC midnight. */
  const parseDay = (day) => new Date(`${day}T00:00:00Z`);
  const fmtDay = (day) => dayFmt.format(parseDay(day));
  const fmtDate = (day) => dateFmt.format(parseDay(day));

  function fmtDateTime(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? iso : dateTimeFmt.format(d);
  }
  function fmtFeedTime(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso || '';
    const now = new Date();
    return d.toDateString() === now.toDateString() ? timeFmt.format(d) : shortDateTimeFmt.format(d);
  }
  function fmtRelative(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso || '—';
    if (!relFmt) return dateTimeFmt.format(d);
    const secs = (d.getTime() - Date.now()) / 1000;
    const abs = Math.abs(secs);
    if (abs < 45) return relFmt.format(0, 'second');
    if (abs < 3600) return relFmt.format(Math.round(secs / 60), 'minute');
    if (abs < 86400) return relFmt.format(Math.round(secs / 3600), 'hour');
    if (abs < 86400 * 45) return relFmt.format(Math.round(secs / 86400), 'day');
    return dateFmt.format(d);
  }

  const stageLabel = (stage) => STAGE_LABELS[stage] || stage || '—';
  const stageBadge = (stage) => h('span', { class: `badge stage-${stage}` }, stageLabel(stage));

  /** ▲ / ▼ / neutral change indicator for change_pct (null → neutral "n/a"). */
  function deltaEl(changePct) {
    if (changePct === null || changePct === undefined) {
      return h('span', { class: 'delta delta-flat', title: 'No previous figure to compare with', dataset: { direction: 'none' } }, '– n/a');
    }
    if (changePct > 0) {
      return h('span', { class: 'delta delta-up', dataset: { direction: 'up', value: changePct } },
        h('span', { 'aria-hidden': 'true' }, '▲'), h('span', { class: 'visually-hidden' }, 'up '), fmtPct(changePct));
    }
    if (changePct < 0) {
      return h('span', { class: 'delta delta-down', dataset: { direction: 'down', value: changePct } },
        h('span', { 'aria-hidden': 'true' }, '▼'), h('span', { class: 'visually-hidden' }, 'down '), fmtPct(Math.abs(changePct)));
    }
    return h('span', { class: 'delta delta-flat', dataset: { direction: 'flat', value: 0 } }, '0%');
  }

  // ------------------------------------------------------------------ API

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }
  class Unauthorized extends ApiError {}

  async function api(path, { signal } = {}) {
    if (!state.key) throw new Unauthorized(401, 'no API key');
    let res;
    try {
      res = await fetch(path, { headers: { 'X-API-Key': state.key, Accept: 'application/json' }, signal, cache: 'no-store' });
    } catch (err) {
      if (err && err.name === 'AbortError') throw err;
      throw new ApiError(0, 'Cannot reach the server.');
    }
    let body = null;
    const text = await res.text();
    if (text) {
      try {
        body = JSON.parse(text);
      } catch (_) {
        body = null;
      }
    }
    if (res.status === 401) {
      onUnauthorized('The server rejected the saved key (401). Enter the current admin key.');
      throw new Unauthorized(401, (body && body.message) || 'unauthorized');
    }
    if (!res.ok) {
      const message = (body && body.message) || `${res.status} ${res.statusText}`.trim();
      throw new ApiError(res.status, message);
    }
    if (body === null) throw new ApiError(res.status, 'The server sent an unexpected (non-JSON) answer.');
    return body;
  }

  /** The period as query parameters: days=N, or from=…&to=…. */
  function periodParams() {
    const p = new URLSearchParams();
    if (state.period.from) {
      p.set('from', state.period.from);
      if (state.period.to) p.set('to', state.period.to);
    } else {
      p.set('days', String(state.period.days || DEFAULT_DAYS));
    }
    return p;
  }

  // ------------------------------------------------------------------ errors / status

  function showError(message) {
    const el = $('#error-banner');
    if (!message) {
      el.hidden = true;
      el.textContent = '';
      return;
    }
    el.textContent = message;
    el.hidden = false;
  }

  function handleError(err, what) {
    if (!err || err.name === 'AbortError' || err instanceof Unauthorized) return;
    showError(`${what}: ${err.message}`);
    if (err.status === 0) setConnection('offline');
  }

  function setConnection(mode) {
    state.live.mode = mode;
    const el = $('#conn');
    el.dataset.state = mode;
    const text = {
      connecting: 'Connecting…',
      live: 'Live',
      polling: 'Polling · 30 s',
      offline: 'Offline',
    }[mode] || mode;
    $('.pill-text', el).textContent = text;
    el.title = {
      live: 'Receiving live updates from /admin/live',
      polling: 'Live updates unavailable: refreshing every 30 seconds',
      offline: 'The server cannot be reached; retrying',
      connecting: 'Connecting to live updates',
    }[mode] || '';
    $('#feed-mode').textContent = mode === 'live' ? 'live' : 'refreshed every 30 s';
  }

  /** lag: {head, lag_events, lag_seconds, stalled_partitions} (from the dashboard or a progress frame). */
  function renderLag(lag) {
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

  function markUpdated() {
    const now = new Date();
    const el = $('#updated');
    el.textContent = `Updated ${timeFmt.format(now)}`;
    el.dataset.at = now.toISOString();
  }

  function markReady() {
    if (state.ready) return;
    state.ready = true;
    document.body.dataset.state = 'ready';
    if (!$('[data-testid="loaded"]')) {
      document.body.append(h('span', { class: 'visually-hidden', 'data-testid': 'loaded', 'aria-hidden': 'true' }, 'loaded'));
    }
  }

  // ------------------------------------------------------------------ API key

  function onUnauthorized(message) {
    state.key = null;
    try {
      localStorage.removeItem(KEY_STORAGE);
    } catch (_) { /* storage unavailable */ }
    stopLive();
    askForKey(message);
  }

  function askForKey(message) {
    const dialog = $('#key-dialog');
    $('#key-error').textContent = message || '';
    $('#key-input').value = '';
    if (!dialog.open) {
      if (typeof dialog.showModal === 'function') dialog.showModal();
      else dialog.setAttribute('open', '');
    }
    $('#key-input').focus();
  }

  function setupKeyForm() {
    const dialog = $('#key-dialog');
    // The dialog cannot be dismissed with Escape while there is no key.
    dialog.addEventListener('cancel', (e) => {
      if (!state.key) e.preventDefault();
    });
    $('#key-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const key = $('#key-input').value.trim();
      if (!key) {
        $('#key-error').textContent = 'Enter the admin API key.';
        return;
      }
      const submit = $('[data-testid="key-submit"]');
      submit.disabled = true;
      $('#key-error').textContent = '';
      try {
        // Check the key before keeping it (401 → ask again, anything else → it is fine).
        const res = await fetch('/admin/users?page_size=1', { headers: { 'X-API-Key': key }, cache: 'no-store' });
        if (res.status === 401) {
          $('#key-error').textContent = 'This key was rejected by the server.';
          return;
        }
      } catch (_) {
        $('#key-error').textContent = 'Cannot reach the server.';
        return;
      } finally {
        submit.disabled = false;
      }
      saveKey(key);
      dialog.close();
      start();
    });
    $('#forget-key').addEventListener('click', () => {
      state.key = null;
      try {
        localStorage.removeItem(KEY_STORAGE);
      } catch (_) { /* ignore */ }
      stopLive();
      state.started = false;
      askForKey('The key was forgotten by this browser. Enter it again to continue.');
    });
  }

  function saveKey(key) {
    state.key = key;
    try {
      localStorage.setItem(KEY_STORAGE, key);
    } catch (_) { /* private mode: keep it in memory only */ }
  }

  function loadKey() {
    // Convenience for first setup: /dashboard?key=… stores the key and removes it from the
    // address bar (and so from history) at once with history.replaceState. Prefer the form:
    // a key in a URL may still end up in server or proxy logs.
    const url = new URL(window.location.href);
    const fromUrl = url.searchParams.get('key');
    if (fromUrl !== null) {
      url.searchParams.delete('key');
      history.replaceState(history.state, '', url.pathname + (url.search || '') + url.hash);
      if (fromUrl.trim()) saveKey(fromUrl.trim());
    }
    if (!state.key) {
      try {
        state.key = localStorage.getItem(KEY_STORAGE);
      } catch (_) {
        state.key = null;
      }
    }
  }

  // ------------------------------------------------------------------ period

  function readPeriodFromHash() {
    const p = new URLSearchParams(window.location.hash.replace(/^#/, ''));
    const from = p.get('from');
    const to = p.get('to');
    const days = Number(p.get('days'));
    const isDay = (s) => /^\d{4}-\d{2}-\d{2}$/.test(s || '');
    if (isDay(from)) {
      state.period = { from, to: isDay(to) ? to : null };
    } else if (DAY_CHOICES.includes(days)) {
      state.period = { days };
    } else {
      state.period = { days: DEFAULT_DAYS };
    }
  }

  function writePeriodToHash() {
    const p = state.period.from
      ? `from=${state.period.from}${state.period.to ? `&to=${state.period.to}` : ''}`
      : `days=${state.period.days}`;
    if (window.location.hash.replace(/^#/, '') !== p) {
      history.replaceState(history.state, '', `${window.location.pathname}${window.location.search}#${p}`);
    }
  }

  function renderPeriodControls() {
    for (const btn of $$('.seg[data-days]')) {
      const active = !state.period.from && Number(btn.dataset.days) === state.period.days;
      btn.setAttribute('aria-pressed', active ? 'true' : 'false');
    }
    $('#range-form').classList.toggle('active', Boolean(state.period.from));
    if (state.period.from) {
      $('#range-from').value = state.period.from;
      $('#range-to').value = state.period.to || '';
    }
  }

  function renderPeriodLabel(d) {
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
      $('#range-from').value = p.from;
      $('#range-to').value = p.to;
    }
  }

  function setPeriod(period) {
    state.period = period;
    state.products.page = 1;
    writePeriodToHash();
    renderPeriodControls();
    loadPeriodData();
  }

  function setupPeriodControls() {
    for (const btn of $$('.seg[data-days]')) {
      btn.addEventListener('click', () => setPeriod({ days: Number(btn.dataset.days) }));
    }
    $('#range-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const from = $('#range-from').value;
      const to = $('#range-to').value;
      if (!from) {
        showError('Choose the first day of the range.');
        $('#range-from').focus();
        return;
      }
      if (to && to < from) {
        showError('The range ends before it starts.');
        $('#range-to').focus();
        return;
      }
      showError(null);
      setPeriod({ from, to: to || null });
    });
    window.addEventListener('hashchange', () => {
      readPeriodFromHash();
      renderPeriodControls();
      loadPeriodData();
    });
  }

  // ------------------------------------------------------------------ dashboard (KPIs, funnel, daily)

  let dashboardCtrl = null;

  async function loadDashboard() {
    if (dashboardCtrl) dashboardCtrl.abort();
    const ctrl = new AbortController();
    dashboardCtrl = ctrl;
    const d = await api(`/admin/dashboard?${periodParams()}`, { signal: ctrl.signal });
    if (ctrl.signal.aborted) return null;
    dashboardCtrl = null;
    state.dashboard = d;
    if (changed('dashboard', { ...d, generated_at: null })) renderDashboard(d);
    else $('#generated-at').textContent = d.generated_at ? `Figures generated ${fmtDateTime(d.generated_at)}` : '';
    return d;
  }

  function renderDashboard(d) {
    renderPeriodLabel(d);
    renderKpis(d.kpis);
    renderFunnel(d.funnel || []);
    renderDaily(d.daily || []);
    renderCarts(d.carts);
    renderQuestions(d.shop_questions);
    renderLag(d.lag);
    $('#generated-at').textContent = d.generated_at ? `Figures generated ${fmtDateTime(d.generated_at)}` : '';
  }

  function renderCountKpi(testid, kpi, format = fmtInt, formatPrev = format) {
    const valueEl = $(`[data-testid="${testid}"]`);
    const changeEl = $(`[data-testid="${testid}-change"]`);
    if (!kpi) {
      valueEl.textContent = '—';
      valueEl.dataset.value = '';
      changeEl.replaceChildren();
      return;
    }
    valueEl.textContent = format(kpi.value);
    valueEl.dataset.value = String(kpi.value);
    changeEl.replaceChildren(h('span', { class: 'change-line' }, deltaEl(kpi.change_pct), `vs ${formatPrev(kpi.previous)} before`));
  }

  function renderMoneyKpi(testid, list) {
    const valueEl = $(`[data-testid="${testid}"]`);
    const changeEl = $(`[data-testid="${testid}-change"]`);
    list = list || [];
    if (list.length === 0) {
      valueEl.replaceChildren(h('span', { class: 'money-line' }, '—'));
      valueEl.dataset.value = '0';
      valueEl.dataset.currency = '';
      changeEl.replaceChildren(h('span', { class: 'change-line' }, deltaEl(null), 'no sales in either period'));
      return;
    }
    valueEl.replaceChildren(...list.map((m) => h('span', {
      class: 'money-line', dataset: { currency: m.currency, value: m.value_minor },
    }, formatMoney(m.value_minor, m.currency))));
    valueEl.dataset.value = String(list[0].value_minor);
    valueEl.dataset.currency = list[0].currency;
    changeEl.replaceChildren(...list.map((m) => h('span', { class: 'change-line', dataset: { currency: m.currency } },
      deltaEl(m.change_pct),
      `vs ${formatMoney(m.previous_minor, m.currency)}${list.length > 1 ? ` (${m.currency})` : ''}`)));
  }

  function renderKpis(k) {
    k = k || {};
    const ratio = (v) => (v === null || v === undefined ? '—' : `${pctFmt.format(v * 100)}%`);
    renderCountKpi('kpi-users', k.users);
    renderCountKpi('kpi-active-users', k.active_users);
    renderCountKpi('kpi-conversion-rate', k.conversion_rate, ratio);
    renderCountKpi('kpi-orders', k.orders);
    renderMoneyKpi('kpi-revenue', k.revenue);
    renderMoneyKpi('kpi-aov', k.average_order_value);
  }

  function setFact(testid, value, text) {
    const el = $(`[data-testid="${testid}"]`);
    el.dataset.value = value === null || value === undefined ? '' : String(value);
    if (text instanceof Node || Array.isArray(text)) el.replaceChildren(...[text].flat());
    else el.textContent = text;
  }

  function renderCarts(c) {
    c = c || {};
    const ratio = (v) => (v === null || v === undefined ? '—' : `${pctFmt.format(v * 100)}%`);
    setFact('carts-sessions', c.sessions_with_cart, fmtInt(c.sessions_with_cart));
    setFact('carts-ordered', c.ordered, fmtInt(c.ordered));
    setFact('carts-abandoned', c.abandoned, fmtInt(c.abandoned));
    setFact('carts-abandonment-rate', c.abandonment_rate, ratio(c.abandonment_rate));
    const value = c.abandoned_value || [];
    setFact('carts-abandoned-value', value.length ? value[0].amount_minor : 0,
      value.length ? [...moneyLines(value), h('span', { class: 'cell-sub' }, `${fmtInt(c.abandoned_units)} units`)] : '—');
    setFact('carts-emptied', c.emptied, fmtInt(c.emptied));
    setFact('carts-open', c.open, fmtInt(c.open));
  }

  function renderQuestions(q) {
    q = q || { topics: [] };
    const share = q.asked_before_ordering_share;
    setFact('questions-before-ordering', share,
      q.ordering_users
        ? `${fmtInt(q.asked_before_ordering)} of ${fmtInt(q.ordering_users)} shoppers who ordered (${pctFmt.format(share * 100)}%) asked a shop question before their order.`
        : 'No orders in this period.');
    const body = $('#questions-body');
    if (!q.topics || !q.topics.length) {
      tableMessage(body, 2, 'No shop questions in this period.');
      return;
    }
    body.replaceChildren(...q.topics.map((t) => h('tr', { 'data-testid': 'question-row', 'data-topic': t.topic },
      h('td', null, t.topic),
      h('td', { class: 'num', dataset: { value: t.questions } }, fmtInt(t.questions)))));
  }

  function chartsAvailable() {
    return typeof window.Chart === 'function';
  }

  function chartFallback(canvas, text) {
    const box = canvas.parentElement;
    let note = $('.chart-fallback', box);
    if (!note) {
      note = h('p', { class: 'chart-fallback' });
      box.append(note);
    }
    note.textContent = text;
  }

  function renderFunnel(stages) {
    // Table (the exact figures; also what the CSV exports).
    const body = $('#funnel-body');
    body.replaceChildren(...stages.map((s, i) => h('tr', { dataset: { stage: s.stage } },
      h('th', { scope: 'row' }, h('span', { class: 'stage-swatch', style: null, dataset: { i } }), stageLabel(s.stage)),
      h('td', { class: 'num', 'data-testid': `funnel-${s.stage}`, dataset: { value: s.users } }, fmtInt(s.users)),
      h('td', { class: 'num' }, fmtPct(s.of_greeting_pct)),
      h('td', { class: 'num', dataset: { value: s.drop_off_pct ?? '' } }, s.drop_off_pct === null || s.drop_off_pct === undefined ? '—' : `−${fmtPct(s.drop_off_pct)}`),
      h('td', { class: 'num cell-money' }, s.value && s.value.length ? moneyLines(s.value) : '—'))));
    $$('.stage-swatch', body).forEach((el) => {
      el.style.background = STAGE_COLORS[Number(el.dataset.i)] || STAGE_COLORS[0];
    });

    const canvas = $('#chart-funnel');
    canvas.setAttribute('aria-label', `Conversion funnel: ${stages.map((s) => `${stageLabel(s.stage)} ${s.users}`).join(', ')}`);
    if (!chartsAvailable()) {
      chartFallback(canvas, 'Charts are unavailable (Chart.js did not load); the table has the figures.');
      return;
    }
    const labels = stages.map((s) => {
      const lines = [stageLabel(s.stage)];
      let second = fmtInt(s.users);
      if (s.drop_off_pct !== null && s.drop_off_pct !== undefined) second += ` · −${fmtPct(s.drop_off_pct)}`;
      lines.push(second);
      return lines;
    });
    const data = stages.map((s) => s.users);
    if (!charts.funnel) {
      charts.funnel = new Chart(canvas, {
        type: 'bar',
        data: { labels, datasets: [{ label: 'Users', data, backgroundColor: STAGE_COLORS, borderRadius: 6, barPercentage: 0.82, categoryPercentage: 0.9 }] },
        options: {
          indexAxis: 'y',
          responsive: true,
          maintainAspectRatio: false,
          animation: { duration: 300 },
          plugins: {
            legend: { display: false },
            tooltip: {
              callbacks: {
                title: (items) => stageLabel((charts.funnel.$stages[items[0].dataIndex] || {}).stage),
                label: (item) => {
                  const s = charts.funnel.$stages[item.dataIndex] || {};
                  return ` ${fmtInt(s.users)} users (${fmtPct(s.of_greeting_pct)} of greeting)`;
                },
                afterLabel: (item) => {
                  const s = charts.funnel.$stages[item.dataIndex] || {};
                  const out = [];
                  if (s.drop_off_pct !== null && s.drop_off_pct !== undefined) out.push(` Drop-off from previous stage: ${fmtPct(s.drop_off_pct)}`);
                  if (s.open !== null && s.open !== undefined) out.push(` Still open: ${fmtInt(s.open)}`);
                  if (s.value && s.value.length) out.push(` Value: ${moneyText(s.value)}`);
                  return out;
                },
              },
            },
          },
          scales: {
            x: { beginAtZero: true, grid: { color: '#eef0f4' }, ticks: { precision: 0 } },
            y: { grid: { display: false }, ticks: { color: '#1d2330', font: { size: 12 } } },
          },
        },
      });
    } else {
      charts.funnel.data.labels = labels;
      charts.funnel.data.datasets[0].data = data;
      charts.funnel.update('none');
    }
    charts.funnel.$stages = stages;
  }

  function dailyCurrencies(daily) {
    const set = new Set();
    for (const d of daily) for (const m of d.revenue || []) set.add(m.currency);
    return Array.from(set).sort();
  }

  function renderDaily(daily) {
    const labels = daily.map((d) => fmtDay(d.day));
    const currencies = dailyCurrencies(daily);
    const revCanvas = $('#chart-revenue');
    const usersCanvas = $('#chart-users');
    const totalOrders = daily.reduce((a, d) => a + (d.orders || 0), 0);
    revCanvas.setAttribute('aria-label', `Revenue per day over ${daily.length} days; ${totalOrders} orders`);
    usersCanvas.setAttribute('aria-label', `Active users per day over ${daily.length} days`);
    if (!chartsAvailable()) {
      chartFallback(revCanvas, 'Charts are unavailable (Chart.js did not load); download the CSV for the figures.');
      chartFallback(usersCanvas, 'Charts are unavailable (Chart.js did not load).');
      return;
    }

    // Revenue (bars, one data set per currency, major units) + orders (line, right axis).
    const shownCurrencies = currencies.length ? currencies : ['USD'];
    const revDatasets = shownCurrencies.map((cur, i) => ({
      type: 'bar',
      label: `Revenue (${cur})`,
      $currency: cur,
      data: daily.map((d) => {
        const m = (d.revenue || []).find((r) => r.currency === cur);
        return m ? toMajor(m.amount_minor, cur) : 0;
      }),
      backgroundColor: PALETTE[i % PALETTE.length] + 'cc',
      hoverBackgroundColor: PALETTE[i % PALETTE.length],
      borderRadius: 4,
      yAxisID: 'y',
      order: 2,
    }));
    revDatasets.push({
      type: 'line',
      label: 'Orders',
      data: daily.map((d) => d.orders || 0),
      borderColor: '#1d2330',
      backgroundColor: '#1d2330',
      borderWidth: 1.5,
      pointRadius: 2,
      tension: 0,
      yAxisID: 'y1',
      order: 1,
    });
    const single = shownCurrencies.length === 1 ? shownCurrencies[0] : null;
    if (!charts.revenue) {
      charts.revenue = new Chart(revCanvas, {
        data: { labels, datasets: revDatasets },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          interaction: { mode: 'index', intersect: false },
          animation: { duration: 300 },
          plugins: {
            legend: { position: 'bottom', labels: { boxWidth: 12, boxHeight: 12 } },
            tooltip: {
              callbacks: {
                label: (item) => {
                  const ds = item.dataset;
                  if (ds.$currency) return ` ${ds.label}: ${formatMajor(item.parsed.y, ds.$currency)}`;
                  return ` ${ds.label}: ${fmtInt(item.parsed.y)}`;
                },
              },
            },
          },
          scales: {
            x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
            y: {
              beginAtZero: true,
              grid: { color: '#eef0f4' },
              ticks: { callback: (v) => (charts.revenue && charts.revenue.$single ? formatMajor(v, charts.revenue.$single, true) : numberFmt.format(v)) },
            },
            y1: { beginAtZero: true, position: 'right', grid: { display: false }, ticks: { precision: 0 }, title: { display: true, text: 'orders' } },
          },
        },
      });
    } else {
      charts.revenue.data.labels = labels;
      charts.revenue.data.datasets = revDatasets;
    }
    charts.revenue.$single = single;
    charts.revenue.update('none');

    // Active users (line, filled) + new users (line).
    const userDatasets = [
      {
        label: 'Active users',
        data: daily.map((d) => d.active_users || 0),
        borderColor: '#2f6fed',
        backgroundColor: 'rgba(47, 111, 237, .12)',
        fill: true,
        tension: 0.25,
        pointRadius: 2,
        borderWidth: 2,
      },
      {
        label: 'New users',
        data: daily.map((d) => d.new_users || 0),
        borderColor: '#13b38a',
        backgroundColor: '#13b38a',
        tension: 0.25,
        pointRadius: 2,
        borderWidth: 2,
        borderDash: [5, 4],
      },
    ];
    if (!charts.users) {
      charts.users = new Chart(usersCanvas, {
        type: 'line',
        data: { labels, datasets: userDatasets },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          interaction: { mode: 'index', intersect: false },
          animation: { duration: 300 },
          plugins: { legend: { position: 'bottom', labels: { boxWidth: 12, boxHeight: 12 } } },
          scales: {
            x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
            y: { beginAtZero: true, grid: { color: '#eef0f4' }, ticks: { precision: 0 } },
          },
        },
      });
    } else {
      charts.users.data.labels = labels;
      charts.users.data.datasets.forEach((ds, i) => {
        ds.data = userDatasets[i].data;
      });
      charts.users.update('none');
    }
  }

  // ------------------------------------------------------------------ sortable, paged tables

  /** Turns the <th data-sort> cells of a table into sort buttons bound to a table state. */
  function setupSortableHeaders(table, tableState, defaultOrder, reload) {
    for (const th of $$('th[data-sort]', table)) {
      const label = th.textContent;
      const btn = h('button', { type: 'button', class: 'sort-btn' }, h('span', null, label), h('span', { class: 'arrow', 'aria-hidden': 'true' }, '↕'));
      th.replaceChildren(btn);
      btn.addEventListener('click', () => {
        const key = th.dataset.sort;
        if (tableState.sort === key) {
          tableState.order = tableState.order === 'desc' ? 'asc' : 'desc';
        } else {
          tableState.sort = key;
          tableState.order = defaultOrder(key);
        }
        tableState.page = 1;
        reload();
      });
    }
    renderSortHeaders(table, tableState);
  }

  function renderSortHeaders(table, tableState) {
    for (const th of $$('th[data-sort]', table)) {
      const active = th.dataset.sort === tableState.sort;
      const arrow = $('.arrow', th);
      if (active) {
        th.setAttribute('aria-sort', tableState.order === 'asc' ? 'ascending' : 'descending');
        if (arrow) arrow.textContent = tableState.order === 'asc' ? '▲' : '▼';
      } else {
        th.removeAttribute('aria-sort');
        if (arrow) arrow.textContent = '↕';
      }
    }
  }

  function renderPager(prefix, data) {
    const pager = $(`#${prefix}-pager`);
    const pages = Math.max(1, Math.ceil((data.total || 0) / (data.page_size || 1)));
    const text = $('.pager-text', pager);
    text.textContent = `Page ${data.page} of ${pages} · ${fmtInt(data.total)} total`;
    text.dataset.page = String(data.page);
    text.dataset.pages = String(pages);
    text.dataset.total = String(data.total);
    $('[data-page="prev"]', pager).disabled = data.page <= 1;
    $('[data-page="next"]', pager).disabled = data.page >= pages;
  }

  function setupPager(prefix, tableState, reload) {
    const pager = $(`#${prefix}-pager`);
    $('[data-page="prev"]', pager).addEventListener('click', () => {
      if (tableState.page > 1) {
        tableState.page -= 1;
        reload();
      }
    });
    $('[data-page="next"]', pager).addEventListener('click', () => {
      tableState.page += 1;
      reload();
    });
  }

  function tableMessage(tbody, cols, text) {
    tbody.replaceChildren(h('tr', { class: 'table-message' }, h('td', { colspan: cols }, text)));
  }

  // ------------------------------------------------------------------ products

  let productsCtrl = null;

  async function loadProducts() {
    if (productsCtrl) productsCtrl.abort();
    const ctrl = new AbortController();
    productsCtrl = ctrl;
    const ps = state.products;
    const params = periodParams();
    params.set('sort', ps.sort);
    params.set('order', ps.order);
    if (ps.search) params.set('search', ps.search);
    params.set('page', String(ps.page));
    params.set('page_size', String(PRODUCTS_PAGE_SIZE));
    $('#products-table').classList.add('loading');
    try {
      const data = await api(`/admin/analytics/products?${params}`, { signal: ctrl.signal });
      if (ctrl.signal.aborted) return null;
      // A page past the end (the list shrank): go to the last page.
      const pages = Math.max(1, Math.ceil(data.total / data.page_size));
      if (data.items.length === 0 && data.total > 0 && ps.page > pages) {
        ps.page = pages;
        productsCtrl = null;
        return loadProducts();
      }
      ps.data = data;
      if (changed('products', { data, search: ps.search })) renderProducts(data);
      return data;
    } finally {
      if (productsCtrl === ctrl) {
        productsCtrl = null;
        $('#products-table').classList.remove('loading');
      }
    }
  }

  function renderProducts(data) {
    const tbody = $('#products-body');
    renderSortHeaders($('#products-table'), state.products);
    renderPager('products', data);
    if (!data.items.length) {
      tableMessage(tbody, 9, state.products.search ? 'No product matches the search.' : 'No product activity in this period.');
      return;
    }
    tbody.replaceChildren(...data.items.map((p) => h('tr', { 'data-testid': 'product-row', 'data-product-id': p.product_id },
      h('td', null, h('span', { class: 'cell-main' }, p.name || p.product_id), p.name ? h('span', { class: 'cell-sub' }, p.product_id) : null),
      h('td', { class: 'num', dataset: { col: 'views' } }, fmtInt(p.views)),
      h('td', { class: 'num', dataset: { col: 'price_inquiries' } }, fmtInt(p.price_inquiries)),
      h('td', { class: 'num', dataset: { col: 'spec_requests' } }, fmtInt(p.spec_requests)),
      h('td', { class: 'num', dataset: { col: 'purchase_intents' } }, fmtInt(p.purchase_intents)),
      h('td', { class: 'num', dataset: { col: 'orders' } }, fmtInt(p.orders)),
      h('td', { class: 'num', dataset: { col: 'units' } }, fmtInt(p.units)),
      h('td', { class: 'num cell-money', dataset: { col: 'revenue' } }, moneyLines(p.revenue)),
      h('td', { class: 'num', dataset: { col: 'conversion', value: p.conversion_pct ?? '' }, title: `${fmtInt(p.intenders)} of ${fmtInt(p.viewers)} viewers showed purchase intent` }, fmtPct(p.conversion_pct)))));
  }

  // ------------------------------------------------------------------ users

  let usersCtrl = null;

  async function loadUsers() {
    if (usersCtrl) usersCtrl.abort();
    const ctrl = new AbortController();
    usersCtrl = ctrl;
    const us = state.users;
    const params = new URLSearchParams();
    if (us.search) params.set('search', us.search);
    params.set('sort', us.sort);
    params.set('order', us.order);
    params.set('page', String(us.page));
    params.set('page_size', String(USERS_PAGE_SIZE));
    $('#users-table').classList.add('loading');
    try {
      const data = await api(`/admin/users?${params}`, { signal: ctrl.signal });
      if (ctrl.signal.aborted) return null;
      const pages = Math.max(1, Math.ceil(data.total / data.page_size));
      if (data.items.length === 0 && data.total > 0 && us.page > pages) {
        us.page = pages;
        usersCtrl = null;
        return loadUsers();
      }
      us.data = data;
      if (changed('users', { data, search: us.search })) renderUsers(data);
      return data;
    } finally {
      if (usersCtrl === ctrl) {
        usersCtrl = null;
        $('#users-table').classList.remove('loading');
      }
    }
  }

  function userName(u) {
    return u.display_name || (u.username ? `@${u.username}` : u.user_id);
  }

  function engagementEl(score) {
    const pct = Math.max(0, Math.min(100, Number(score) || 0));
    const bar = h('span', { class: 'engagement-bar', 'aria-hidden': 'true' }, h('span'));
    bar.firstChild.style.width = `${pct}%`;
    return h('span', { class: 'engagement', dataset: { value: score } }, bar, fmtInt(score));
  }

  function renderUsers(data) {
    const tbody = $('#users-body');
    renderSortHeaders($('#users-table'), state.users);
    renderPager('users', data);
    if (!data.items.length) {
      tableMessage(tbody, 11, state.users.search ? 'No user matches the search.' : 'No users yet.');
      return;
    }
    tbody.replaceChildren(...data.items.map((u) => {
      const open = h('button', { type: 'button', class: 'btn-link cell-main', 'aria-label': `Open profile of ${userName(u)}` }, userName(u));
      const row = h('tr', { class: 'clickable', 'data-testid': 'user-row', 'data-user-id': u.user_id },
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
        h('td', { class: 'nowrap', title: fmtDateTime(u.last_seen), dataset: { value: u.last_seen } }, fmtRelative(u.last_seen)));
      open.addEventListener('click', (e) => {
        e.stopPropagation();
        openProfile(u.user_id, open);
      });
      row.addEventListener('click', () => openProfile(u.user_id, open));
      return row;
    }));
  }

  // ------------------------------------------------------------------ user profile

  let profileCtrl = null;
  let profileOpener = null;

  async function openProfile(userId, opener) {
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
    if (!dialog.open) {
      if (typeof dialog.showModal === 'function') dialog.showModal();
      else dialog.setAttribute('open', '');
    }
    $('#profile-close').focus();
    if (profileCtrl) profileCtrl.abort();
    const ctrl = new AbortController();
    profileCtrl = ctrl;
    try {
      const p = await api(`/admin/users/${encodeURIComponent(userId)}`, { signal: ctrl.signal });
      if (ctrl.signal.aborted || state.profile.id !== userId) return;
      renderProfile(p);
      state.profile.messages = (p.conversation.messages || []).slice();
      state.profile.nextBefore = p.conversation.next_before;
      state.profile.total = p.conversation.total;
      renderTimeline(true);
      dialog.dataset.state = 'ready';
    } catch (err) {
      if (err.name === 'AbortError' || err instanceof Unauthorized) return;
      const box = $('#profile-error');
      box.textContent = err.status === 404 ? `No user “${userId}”.` : `Could not load the profile: ${err.message}`;
      box.hidden = false;
      dialog.dataset.state = 'error';
    } finally {
      if (profileCtrl === ctrl) profileCtrl = null;
      state.profile.loading = false;
      $('#profile-body').classList.remove('loading');
    }
  }

  function renderProfile(p) {
    const u = p.user;
    const e = p.engagement || {};
    const prefs = p.preferences || {};
    state.profile.user = u;
    $('#profile-title').textContent = userName(u);
    $('#profile-sub').replaceChildren(...[
      h('code', null, u.user_id),
      h('span', { class: 'badge' }, u.channel),
      u.username && u.display_name ? h('span', null, `@${u.username}`) : null,
      stageBadge(e.stage || u.stage),
    ].filter(Boolean));

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

    const fact = (label, value, attrs) => [h('dt', null, label), h('dd', attrs || null, value)];
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

  /** Draws the conversation oldest first (the API pages newest first). */
  function renderTimeline(scrollToEnd) {
    const list = $('#profile-timeline');
    const msgs = state.profile.messages.slice().sort((a, b) => a.position - b.position);
    const items = [];
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
    const btn = $('#profile-older');
    btn.disabled = true;
    const list = $('#profile-timeline');
    const anchor = list.querySelector('[data-testid="timeline-message"]');
    const anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
    try {
      const p = await api(`/admin/users/${encodeURIComponent(id)}?before=${encodeURIComponent(before)}`);
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
      box.textContent = `Could not load older messages: ${err.message}`;
      box.hidden = false;
      btn.disabled = false;
    } finally {
      state.profile.loading = false;
    }
  }

  function setupProfile() {
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
      if (profileOpener && profileOpener.isConnected && typeof profileOpener.focus === 'function') profileOpener.focus();
    });
  }

  // ------------------------------------------------------------------ live feed

  /** An event from /admin/analytics/events → the live feed's shape. */
  function fromLogEvent(e) {
    let userId = null;
    if (typeof e.stream_id === 'string') userId = e.stream_id.startsWith('user-') ? e.stream_id.slice(5) : e.stream_id;
    return { position: e.global_position, event_type: e.event_type, user_id: userId, occurred_at: e.occurred_at };
  }

  function typeClass(type) {
    if (/MessageReceived|Button/i.test(type)) return 'type-in';
    if (/BotReplied|Reply/i.test(type)) return 'type-out';
    if (/Order|Purchase/i.test(type)) return 'type-order';
    if (/Product|Price|Spec/i.test(type)) return 'type-product';
    return '';
  }

  function addFeedEvents(events, fresh) {
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
    while (state.feed.length > FEED_MAX) state.feedPositions.delete(state.feed.pop().position);
    renderFeed();
  }

  function renderFeed() {
    const list = $('#feed');
    $('#feed-empty').hidden = state.feed.length > 0;
    list.replaceChildren(...state.feed.map((e) => {
      const user = e.user_id
        ? (/^(web|telegram):/.test(e.user_id)
          ? h('button', { type: 'button', class: 'btn-link', title: 'Open profile', onclick: (ev) => openProfile(e.user_id, ev.currentTarget) }, e.user_id)
          : e.user_id)
        : '—';
      const li = h('li', {
        class: `feed-item${e.fresh ? ' fresh' : ''}`,
        'data-testid': 'feed-item',
        dataset: { position: e.position, type: e.event_type, userId: e.user_id || '' },
      },
      h('span', { class: 'feed-pos' }, `#${e.position}`),
      h('span', { class: 'feed-type' }, h('span', { class: `type-dot ${typeClass(e.event_type || '')}`, 'aria-hidden': 'true' }), e.event_type),
      h('time', { class: 'feed-time', datetime: e.occurred_at, title: fmtDateTime(e.occurred_at) }, fmtFeedTime(e.occurred_at)),
      h('span', { class: 'feed-user' }, user));
      e.fresh = false;
      return li;
    }));
  }

  /** Seeds the feed with the last events of the log (head from the dashboard's lag). */
  async function seedFeed(head) {
    if (typeof head !== 'number') return;
    const after = Math.max(0, head - FEED_SEED);
    const page = await api(`/admin/analytics/events?after=${after}&limit=${FEED_SEED}`);
    addFeedEvents((page.events || []).map(fromLogEvent), false);
    if (typeof page.head === 'number') state.head = page.head;
  }

  /** Without /admin/live: reads the events after the newest one shown (polling fallback). */
  async function pollFeed() {
    const head = state.head;
    if (typeof head !== 'number' || head <= state.feedMax) return;
    const after = head - state.feedMax > 200 ? head - FEED_SEED : state.feedMax;
    const page = await api(`/admin/analytics/events?after=${after}&limit=200`);
    addFeedEvents((page.events || []).map(fromLogEvent), true);
  }

  // ------------------------------------------------------------------ refresh scheduling

  const refresh = { timer: null, last: 0, running: false, queued: false };

  /** Asks for a refresh of everything shown; runs at most once a second. */
  function requestRefresh() {
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
    const results = await Promise.allSettled([loadDashboard(), loadProducts(), loadUsers()]);
    const failed = results.find((r) => r.status === 'rejected' && r.reason && r.reason.name !== 'AbortError');
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

  /** Period changed: reload the figures that follow it at once. */
  async function loadPeriodData() {
    if (!state.key) return;
    const results = await Promise.allSettled([loadDashboard(), loadProducts()]);
    const failed = results.find((r) => r.status === 'rejected' && r.reason && r.reason.name !== 'AbortError');
    if (failed) handleError(failed.reason, 'Could not load the figures');
    else {
      showError(null);
      markUpdated();
    }
  }

  // ------------------------------------------------------------------ live updates (SSE over fetch)

  /**
   * Reads a text/event-stream body and calls onEvent(type, data) for each frame.
   * Follows the SSE rules: lines end with \n, \r\n or \r; a blank line ends a frame; lines
   * starting with ":" are comments (keep-alives); "field: value" (one optional space after the
   * colon); several data lines are joined with "\n"; a frame without data is dropped.
   */
  async function readEventStream(body, onEvent, onRetry) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let eventType = '';
    let data = [];
    const line = (text) => {
      if (text === '') {
        if (data.length) onEvent(eventType || 'message', data.join('\n'));
        eventType = '';
        data = [];
        return;
      }
      if (text.startsWith(':')) return;
      const colon = text.indexOf(':');
      const field = colon === -1 ? text : text.slice(0, colon);
      let value = colon === -1 ? '' : text.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') eventType = value;
      else if (field === 'data') data.push(value);
      else if (field === 'retry' && /^\d+$/.test(value)) onRetry(Number(value));
      // "id" is not needed: a reconnect refreshes everything anyway.
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (!done) buffer += value;
      let start = 0;
      for (let i = 0; i < buffer.length; i += 1) {
        const c = buffer[i];
        if (c !== '\n' && c !== '\r') continue;
        if (c === '\r' && i === buffer.length - 1 && !done) break; // maybe half of \r\n: wait for more
        line(buffer.slice(start, i));
        if (c === '\r' && buffer[i + 1] === '\n') i += 1;
        start = i + 1;
      }
      buffer = buffer.slice(start);
      if (done) break;
    }
    // A frame not ended by a blank line when the stream closes is dropped (as EventSource does).
  }

  function onLiveEvent(type, raw) {
    let data;
    try {
      data = JSON.parse(raw);
    } catch (_) {
      return; // not JSON: ignore
    }
    if (type === 'progress' && data && typeof data === 'object') {
      renderLag(data);
      const applied = data.applied;
      if (applied !== state.live.lastApplied) {
        state.live.lastApplied = applied;
        requestRefresh();
      }
    } else if (type === 'events' && Array.isArray(data)) {
      addFeedEvents(data.filter((e) => e && typeof e.position === 'number'), true);
    }
  }

  async function liveLoop() {
    const loopId = ++state.live.loop;
    const running = () => state.live.loop === loopId && Boolean(state.key);
    state.live.backoff = LIVE_BACKOFF_MIN_MS;
    let retryHint = null;
    while (running()) {
      const ctrl = new AbortController();
      state.live.ctrl = ctrl;
      let wait = null;
      try {
        const res = await fetch('/admin/live', {
          headers: { 'X-API-Key': state.key, Accept: 'text/event-stream' },
          signal: ctrl.signal,
          cache: 'no-store',
        });
        if (res.status === 401) {
          state.live.ctrl = null;
          onUnauthorized('The server rejected the saved key (401). Enter the current admin key.');
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
      } catch (_) {
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
      wait += Math.random() * 500;
      await new Promise((resolve) => {
        state.live.timer = setTimeout(resolve, wait);
        state.live.wake = resolve;
      });
      state.live.timer = null;
      state.live.wake = null;
    }
  }

  function stopLive() {
    state.live.loop += 1;
    if (state.live.ctrl) state.live.ctrl.abort();
    state.live.ctrl = null;
    state.live.connected = false;
    if (state.live.timer) clearTimeout(state.live.timer);
    if (state.live.wake) state.live.wake();
    state.live.timer = null;
  }

  /** Reconnect now (e.g. the tab became visible again or the network came back). */
  function wakeLive() {
    // Not when the server said it has no /admin/live: that is retried every few minutes only.
    if (state.key && !state.live.ctrl && state.live.wake && !state.live.connected && !state.live.missing) {
      state.live.backoff = LIVE_BACKOFF_MIN_MS;
      clearTimeout(state.live.timer);
      state.live.wake();
    }
  }

  // ------------------------------------------------------------------ CSV

  /** RFC 4180 quoting; text cells that a spreadsheet would run as a formula are prefixed with '. */
  function csvCell(value) {
    if (value === null || value === undefined) return '';
    let s = typeof value === 'number' ? String(value) : String(value);
    if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }

  function toCsv(header, rows) {
    return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
  }

  /** Money list → one column per currency, in major units with the currency's decimals. */
  function moneyColumns(rows, getList, prefix) {
    const set = new Set();
    for (const r of rows) for (const m of getList(r) || []) set.add(m.currency);
    const currencies = Array.from(set).sort();
    return {
      header: currencies.map((c) => `${prefix}_${c}`),
      cells: (r) => currencies.map((c) => {
        const m = (getList(r) || []).find((x) => x.currency === c);
        const digits = fractionDigits(c);
        return (m ? m.amount_minor / 10 ** digits : 0).toFixed(digits);
      }),
    };
  }

  function periodSlug() {
    const p = state.dashboard && state.dashboard.period;
    return p ? `${p.from}_${p.to}` : new Date().toISOString().slice(0, 10);
  }

  function download(filename, csv) {
    const blob = new Blob([csv], { type: 'text/csv;charset=utf-8' });
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: filename, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 5000);
  }

  const csvBuilders = {
    daily() {
      const rows = (state.dashboard && state.dashboard.daily) || [];
      const money = moneyColumns(rows, (r) => r.revenue, 'revenue');
      return {
        name: `salesbot-daily-${periodSlug()}.csv`,
        csv: toCsv(['day', 'active_users', 'new_users', 'messages', 'conversations', 'orders', ...money.header],
          rows.map((r) => [r.day, r.active_users, r.new_users, r.messages, r.conversations, r.orders, ...money.cells(r)])),
      };
    },
    funnel() {
      const rows = (state.dashboard && state.dashboard.funnel) || [];
      const money = moneyColumns(rows, (r) => r.value, 'value');
      return {
        name: `salesbot-funnel-${periodSlug()}.csv`,
        csv: toCsv(['stage', 'users', 'of_greeting_pct', 'drop_off_pct', 'open', ...money.header],
          rows.map((r) => [r.stage, r.users, r.of_greeting_pct, r.drop_off_pct, r.open, ...money.cells(r)])),
      };
    },
    products() {
      const rows = (state.products.data && state.products.data.items) || [];
      const money = moneyColumns(rows, (r) => r.revenue, 'revenue');
      return {
        name: `salesbot-products-${periodSlug()}.csv`,
        csv: toCsv(['product_id', 'name', 'views', 'price_inquiries', 'spec_requests', 'purchase_intents', 'orders', 'units', ...money.header, 'viewers', 'intenders', 'conversion_pct'],
          rows.map((r) => [r.product_id, r.name, r.views, r.price_inquiries, r.spec_requests, r.purchase_intents, r.orders, r.units, ...money.cells(r), r.viewers, r.intenders, r.conversion_pct])),
      };
    },
    users() {
      const rows = (state.users.data && state.users.data.items) || [];
      const money = moneyColumns(rows, (r) => r.revenue, 'revenue');
      const page = state.users.data ? `-page${state.users.data.page}` : '';
      return {
        name: `salesbot-users${page}.csv`,
        csv: toCsv(['user_id', 'channel', 'username', 'display_name', 'first_seen', 'last_seen', 'messages', 'sessions', 'product_views', 'stage', 'orders', ...money.header, 'engagement_score'],
          rows.map((r) => [r.user_id, r.channel, r.username, r.display_name, r.first_seen, r.last_seen, r.messages, r.sessions, r.product_views, r.stage, r.orders, ...money.cells(r), r.engagement_score])),
      };
    },
  };

  function setupCsv() {
    for (const kind of Object.keys(csvBuilders)) {
      $(`#csv-${kind}`).addEventListener('click', () => {
        const { name, csv } = csvBuilders[kind]();
        download(name, csv);
      });
    }
  }

  // ------------------------------------------------------------------ tables wiring

  function setupTables() {
    setupSortableHeaders($('#products-table'), state.products, (key) => (key === 'product_id' ? 'asc' : 'desc'), () => loadProducts().catch((e) => handleError(e, 'Products')));
    setupSortableHeaders($('#users-table'), state.users, (key) => (key === 'user_id' ? 'asc' : 'desc'), () => loadUsers().catch((e) => handleError(e, 'Users')));
    setupPager('products', state.products, () => loadProducts().catch((e) => handleError(e, 'Products')));
    setupPager('users', state.users, () => loadUsers().catch((e) => handleError(e, 'Users')));

    const onSearch = (input, tableState, load, what) => {
      const run = debounce(() => {
        const value = input.value.trim();
        if (value === tableState.search) return;
        tableState.search = value;
        tableState.page = 1;
        load().catch((e) => handleError(e, what));
      }, SEARCH_DEBOUNCE_MS);
      input.addEventListener('input', run);
    };
    onSearch($('#products-search'), state.products, loadProducts, 'Products');
    onSearch($('#users-search'), state.users, loadUsers, 'Users');
  }

  // ------------------------------------------------------------------ start

  let fallbackTimer = null;

  async function start() {
    if (!state.key) {
      askForKey();
      return;
    }
    state.started = true;
    setConnection('connecting');
    const results = await Promise.allSettled([loadDashboard(), loadProducts(), loadUsers()]);
    if (!state.key) return; // 401: the key form is showing again
    const failed = results.find((r) => r.status === 'rejected' && r.reason && r.reason.name !== 'AbortError');
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
    if (!failed) markReady();
    else if (!state.ready) {
      // Mark ready anyway so a test does not wait forever; the error banner says what failed.
      markReady();
    }
    if (!state.key) return;
    liveLoop();
    if (!fallbackTimer) {
      fallbackTimer = setInterval(() => {
        if (state.key && !document.hidden) requestRefresh();
      }, REFRESH_FALLBACK_MS);
    }
  }

  function setupChartDefaults() {
    if (!chartsAvailable()) return;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.font.size = 12;
    Chart.defaults.color = '#667085';
    Chart.defaults.plugins.tooltip.backgroundColor = 'rgba(29, 35, 48, .94)';
    Chart.defaults.plugins.tooltip.padding = 10;
    Chart.defaults.plugins.tooltip.cornerRadius = 8;
  }

  function init() {
    setupChartDefaults();
    readPeriodFromHash();
    writePeriodToHash();
    renderPeriodControls();
    setupPeriodControls();
    setupKeyForm();
    setupTables();
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

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
