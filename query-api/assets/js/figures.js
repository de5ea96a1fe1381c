/**
 * The dashboard's figures for the period (`/admin/dashboard`): the KPIs with their change,
 * carts, shop questions, and (through charts.js) the funnel and the daily charts.
 */
import { $, changed, h } from './dom.js';
import { deltaEl, fmtDateTime, fmtInt, fmtRatio, formatMoney, moneyLines, pctFmt } from './format.js';
import { fetchDashboard } from './api.js';
import { renderDaily, renderFunnel } from './charts.js';
import { periodParams, renderAsOf, renderPeriodLabel } from './period.js';
import { renderLag } from './status.js';
import { tableMessage } from './table.js';
import { state } from './state.js';

/** @typedef {import('../types/api').components['schemas']} Schemas */
/** @typedef {Schemas['Dashboard']} Dashboard */
/** @typedef {Schemas['CountKpi'] | Schemas['RateKpi']} NumberKpi */
/** @typedef {Schemas['MoneyKpi']} MoneyKpi */
/** @typedef {Schemas['Kpis']} Kpis */
/** @typedef {Schemas['CartFigures']} CartFigures */
/** @typedef {Schemas['ShopQuestionFigures']} ShopQuestionFigures */

/** @type {AbortController | null} */
let dashboardCtrl = null;

/**
 * Reads the period's dashboard and draws it (unless it is what is shown already). Resolves to
 * null when a newer read replaced this one.
 * @returns {Promise<Dashboard | null>}
 */
export async function loadDashboard() {
  if (dashboardCtrl) dashboardCtrl.abort();
  const ctrl = new AbortController();
  dashboardCtrl = ctrl;
  const d = await fetchDashboard(periodParams(), ctrl.signal);
  if (ctrl.signal.aborted) return null;
  dashboardCtrl = null;
  state.dashboard = d;
  if (changed('dashboard', { ...d, generated_at: null })) renderDashboard(d);
  else renderGeneratedAt(d);
  return d;
}

/** @param {Dashboard} d */
function renderDashboard(d) {
  renderPeriodLabel(d);
  renderAsOf(d);
  renderKpis(d.kpis);
  renderFunnel(d.funnel || []);
  renderDaily(d.daily || []);
  renderCarts(d.carts);
  renderQuestions(d.shop_questions);
  renderLag(d.lag);
  renderGeneratedAt(d);
}

/** @param {Dashboard} d */
function renderGeneratedAt(d) {
  $('#generated-at').textContent = d.generated_at ? `Figures generated ${fmtDateTime(d.generated_at)}` : '';
}

/**
 * @param {string} testid
 * @param {NumberKpi | undefined} kpi
 * @param {(n: number) => string} [format]
 */
function renderNumberKpi(testid, kpi, format = fmtInt) {
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
  changeEl.replaceChildren(h('span', { class: 'change-line' }, deltaEl(kpi.change_pct), `vs ${format(kpi.previous)} before`));
}

/** One line per currency. @param {string} testid @param {MoneyKpi[] | undefined} list */
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
  const several = list.length > 1;
  valueEl.replaceChildren(...list.map((m) => h('span', {
    class: 'money-line', dataset: { currency: m.currency, value: m.value_minor },
  }, formatMoney(m.value_minor, m.currency))));
  valueEl.dataset.value = String(list[0].value_minor);
  valueEl.dataset.currency = list[0].currency;
  changeEl.replaceChildren(...list.map((m) => h('span', { class: 'change-line', dataset: { currency: m.currency } },
    deltaEl(m.change_pct),
    `vs ${formatMoney(m.previous_minor, m.currency)}${several ? ` (${m.currency})` : ''}`)));
}

/** @param {Partial<Kpis> | undefined} k */
function renderKpis(k) {
  k = k || {};
  renderNumberKpi('kpi-users', k.users);
  renderNumberKpi('kpi-active-users', k.active_users);
  renderNumberKpi('kpi-conversion-rate', k.conversion_rate, fmtRatio);
  renderNumberKpi('kpi-orders', k.orders);
  renderMoneyKpi('kpi-revenue', k.revenue);
  renderMoneyKpi('kpi-aov', k.average_order_value);
}

/**
 * @param {string} testid
 * @param {number | null | undefined} value the figure (`data-value`)
 * @param {string | Node | Node[]} text what the page shows
 */
function setFact(testid, value, text) {
  const el = $(`[data-testid="${testid}"]`);
  el.dataset.value = value === null || value === undefined ? '' : String(value);
  if (typeof text === 'string') el.textContent = text;
  else el.replaceChildren(...[text].flat());
}

/** @param {CartFigures} c */
function renderCarts(c) {
  setFact('carts-sessions', c.sessions_with_cart, fmtInt(c.sessions_with_cart));
  setFact('carts-ordered', c.ordered, fmtInt(c.ordered));
  setFact('carts-abandoned', c.abandoned, fmtInt(c.abandoned));
  setFact('carts-abandonment-rate', c.abandonment_rate, fmtRatio(c.abandonment_rate));
  const value = c.abandoned_value || [];
  setFact('carts-abandoned-value', value.length ? value[0].amount_minor : 0,
    value.length ? [...moneyLines(value), h('span', { class: 'cell-sub' }, `${fmtInt(c.abandoned_units)} units`)] : '—');
  setFact('carts-emptied', c.emptied, fmtInt(c.emptied));
  setFact('carts-open', c.open, fmtInt(c.open));
}

/** @param {ShopQuestionFigures} q */
function renderQuestions(q) {
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
