/**
 * The funnel (its table and bar chart) and the daily charts (revenue and orders, active and
 * new users), drawn with the vendored Chart.js (`window.Chart`). Without Chart.js the tables
 * and the CSV downloads still have every figure, and a note says so.
 */
import { $, $$, find, h } from './dom.js';
import { fmtDay, fmtInt, fmtPct, formatMajor, moneyLines, moneyText, numberFmt, stageLabel, toMajor } from './format.js';

/** @typedef {import('../types/api').components['schemas']['FunnelStage']} FunnelStage */
/** @typedef {import('../types/api').components['schemas']['DayFigures']} DayFigures */

const STAGE_COLORS = ['#9db7f5', '#6f95f0', '#4a78ea', '#2f5fd0', '#13795b'];
const PALETTE = ['#2f6fed', '#13b38a', '#f79009', '#7a5af8', '#ef4444', '#0ea5e9'];

/**
 * @type {{ funnel: import('chart.js').Chart<'bar'> | null, revenue: import('chart.js').Chart | null,
 *   users: import('chart.js').Chart<'line'> | null }}
 */
const charts = { funnel: null, revenue: null, users: null };
/** The stages the funnel chart shows (its tooltips read them). @type {FunnelStage[]} */
let funnelStages = [];
/** The currency of each revenue data set, by index (null for the orders line). @type {(string | null)[]} */
let revenueCurrencies = [];
/** The one currency of the revenue axis, or null when there are several. @type {string | null} */
let revenueSingle = null;

/** Chart.js's look, set once. */
export function setupChartDefaults() {
  const Chart = window.Chart;
  if (!Chart) return;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 12;
  Chart.defaults.color = '#667085';
  Chart.defaults.plugins.tooltip.backgroundColor = 'rgba(29, 35, 48, .94)';
  Chart.defaults.plugins.tooltip.padding = 10;
  Chart.defaults.plugins.tooltip.cornerRadius = 8;
}

/** Says under a canvas why it is empty. @param {HTMLElement} canvas @param {string} text */
function chartFallback(canvas, text) {
  const box = /** @type {HTMLElement} */ (canvas.parentElement);
  let note = find('.chart-fallback', box);
  if (!note) {
    note = h('p', { class: 'chart-fallback' });
    box.append(note);
  }
  note.textContent = text;
}

/** The funnel's table (the exact figures; also what the CSV exports) and its chart. @param {FunnelStage[]} stages */
export function renderFunnel(stages) {
  const body = $('#funnel-body');
  body.replaceChildren(...stages.map((s, i) => h('tr', { dataset: { stage: s.stage } },
    h('th', { scope: 'row' }, h('span', { class: 'stage-swatch', dataset: { i } }), stageLabel(s.stage)),
    h('td', { class: 'num', 'data-testid': `funnel-${s.stage}`, dataset: { value: s.users } }, fmtInt(s.users)),
    h('td', { class: 'num' }, fmtPct(s.of_greeting_pct)),
    h('td', { class: 'num', dataset: { value: s.drop_off_pct ?? '' } }, s.drop_off_pct === null || s.drop_off_pct === undefined ? '—' : `−${fmtPct(s.drop_off_pct)}`),
    h('td', { class: 'num cell-money' }, s.value && s.value.length ? moneyLines(s.value) : '—'))));
  $$('.stage-swatch', body).forEach((el) => {
    el.style.background = STAGE_COLORS[Number(el.dataset.i)] || STAGE_COLORS[0];
  });

  /** @type {HTMLCanvasElement} */
  const canvas = $('#chart-funnel');
  canvas.setAttribute('aria-label', `Conversion funnel: ${stages.map((s) => `${stageLabel(s.stage)} ${s.users}`).join(', ')}`);
  funnelStages = stages;
  const Chart = window.Chart;
  if (!Chart) {
    chartFallback(canvas, 'Charts are unavailable (Chart.js did not load); the table has the figures.');
    return;
  }
  const labels = stages.map((s) => {
    let second = fmtInt(s.users);
    if (s.drop_off_pct !== null && s.drop_off_pct !== undefined) second += ` · −${fmtPct(s.drop_off_pct)}`;
    return [stageLabel(s.stage), second];
  });
  const data = stages.map((s) => s.users);
  if (charts.funnel) {
    charts.funnel.data.labels = labels;
    charts.funnel.data.datasets[0].data = data;
    charts.funnel.update('none');
    return;
  }
  /** @param {number} i @returns {Partial<FunnelStage>} */
  const stageAt = (i) => funnelStages[i] || {};
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
            title: (items) => stageLabel(stageAt(items[0].dataIndex).stage),
            label: (item) => {
              const s = stageAt(item.dataIndex);
              return ` ${fmtInt(s.users)} users (${fmtPct(s.of_greeting_pct)} of greeting)`;
            },
            afterLabel: (item) => {
              const s = stageAt(item.dataIndex);
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
}

/** Every currency with revenue on some day, sorted. @param {DayFigures[]} daily */
function dailyCurrencies(daily) {
  const set = new Set();
  for (const d of daily) for (const m of d.revenue || []) set.add(m.currency);
  return Array.from(set).sort();
}

/** @param {DayFigures[]} daily */
export function renderDaily(daily) {
  const labels = daily.map((d) => fmtDay(d.day));
  const currencies = dailyCurrencies(daily);
  /** @type {HTMLCanvasElement} */
  const revCanvas = $('#chart-revenue');
  /** @type {HTMLCanvasElement} */
  const usersCanvas = $('#chart-users');
  const totalOrders = daily.reduce((a, d) => a + (d.orders || 0), 0);
  revCanvas.setAttribute('aria-label', `Revenue per day over ${daily.length} days; ${totalOrders} orders`);
  usersCanvas.setAttribute('aria-label', `Active users per day over ${daily.length} days`);
  const Chart = window.Chart;
  if (!Chart) {
    chartFallback(revCanvas, 'Charts are unavailable (Chart.js did not load); download the CSV for the figures.');
    chartFallback(usersCanvas, 'Charts are unavailable (Chart.js did not load).');
    return;
  }

  // Revenue (bars, one data set per currency, major units) + orders (line, right axis).
  const shownCurrencies = currencies.length ? currencies : ['USD'];
  /** @type {import('chart.js').ChartDataset<'bar' | 'line', number[]>[]} */
  const revDatasets = shownCurrencies.map((cur, i) => ({
    type: /** @type {const} */ ('bar'),
    label: `Revenue (${cur})`,
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
  revenueCurrencies = [...shownCurrencies, null];
  revenueSingle = shownCurrencies.length === 1 ? shownCurrencies[0] : null;
  if (!charts.revenue) {
    // A mixed chart: each data set names its type, the chart none (as Chart.js allows; its
    // types want one, hence the cast).
    const config = /** @type {import('chart.js').ChartConfiguration} */ (/** @type {unknown} */ ({
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
              /** @param {import('chart.js').TooltipItem<'bar'>} item */
              label: (item) => {
                const currency = revenueCurrencies[item.datasetIndex];
                const label = item.dataset.label;
                if (currency) return ` ${label}: ${formatMajor(item.parsed.y, currency)}`;
                return ` ${label}: ${fmtInt(item.parsed.y)}`;
              },
            },
          },
        },
        scales: {
          x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
          y: {
            beginAtZero: true,
            grid: { color: '#eef0f4' },
            ticks: {
              /** @param {number | string} v */
              callback: (v) => (revenueSingle ? formatMajor(Number(v), revenueSingle, true) : numberFmt.format(Number(v))),
            },
          },
          y1: { beginAtZero: true, position: 'right', grid: { display: false }, ticks: { precision: 0 }, title: { display: true, text: 'orders' } },
        },
      },
    }));
    charts.revenue = new Chart(revCanvas, config);
  } else {
    charts.revenue.data.labels = labels;
    charts.revenue.data.datasets = revDatasets;
  }
  charts.revenue.update('none');

  // Active users (line, filled) + new users (line).
  const active = daily.map((d) => d.active_users || 0);
  const fresh = daily.map((d) => d.new_users || 0);
  if (charts.users) {
    charts.users.data.labels = labels;
    charts.users.data.datasets[0].data = active;
    charts.users.data.datasets[1].data = fresh;
    charts.users.update('none');
    return;
  }
  charts.users = new Chart(usersCanvas, {
    type: 'line',
    data: {
      labels,
      datasets: [
        { label: 'Active users', data: active, borderColor: '#2f6fed', backgroundColor: 'rgba(47, 111, 237, .12)', fill: true, tension: 0.25, pointRadius: 2, borderWidth: 2 },
        { label: 'New users', data: fresh, borderColor: '#13b38a', backgroundColor: '#13b38a', tension: 0.25, pointRadius: 2, borderWidth: 2, borderDash: [5, 4] },
      ],
    },
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
}
