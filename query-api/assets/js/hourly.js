/**
 * Activity per hour (`/admin/analytics/hourly`): messages (bars) and active users (line) for
 * each hour of the period in the report time zone, from the first hour with a message to the
 * last; hours the API leaves out had none and are drawn as zero.
 */
import { $ } from './dom.js';
import { fetchHourly } from './api.js';
import { fmtDay, fmtInt } from './format.js';
import { periodParams } from './period.js';

/** @typedef {import('../types/api').components['schemas']['HourlyReport']} HourlyReport */
/** @typedef {import('../types/api').components['schemas']['HourFigures']} HourFigures */

const HOUR_MS = 3600 * 1000;

/** @type {import('chart.js').Chart | null} */
let chart = null;
/** @type {AbortController | null} */
let ctrl = null;

/** Reads the period's hours and draws them. Resolves to null when a newer read replaced this one. */
export async function loadHourly() {
  if (ctrl) ctrl.abort();
  const mine = new AbortController();
  ctrl = mine;
  const report = await fetchHourly(periodParams(), mine.signal);
  if (mine.signal.aborted) return null;
  ctrl = null;
  renderHourly(report);
  return report;
}

/**
 * Every hour from the first to the last with a message, those without as zero.
 * @param {HourFigures[]} hours
 * @returns {{ label: string, messages: number, users: number }[]}
 */
function everyHour(hours) {
  if (!hours.length) return [];
  const byStart = new Map(hours.map((x) => [Date.parse(x.start), x]));
  const first = Date.parse(hours[0].start);
  const last = Date.parse(hours[hours.length - 1].start);
  const out = [];
  /** @type {HourFigures} */
  let previous = hours[0];
  for (let t = first; t <= last; t += HOUR_MS) {
    const x = byStart.get(t);
    if (x) previous = x;
    // An hour without a message is labelled after the one before it (its day, the next hour).
    const hour = x ? x.hour : (previous.hour + Math.round((t - Date.parse(previous.start)) / HOUR_MS)) % 24;
    out.push({ label: `${fmtDay((x || previous).day)} ${String(hour).padStart(2, '0')}:00`, messages: x ? x.messages : 0, users: x ? x.active_users : 0 });
  }
  return out;
}

/** @param {HourlyReport} report */
function renderHourly(report) {
  const total = report.hours.reduce((a, x) => a + x.messages, 0);
  const busiest = report.hours.reduce((/** @type {HourFigures | null} */ best, x) => (best && best.active_users >= x.active_users ? best : x), null);
  const summary = $('[data-testid="hourly-summary"]');
  summary.dataset.value = String(total);
  if (!report.built) {
    summary.textContent = 'Not built yet: run `salesbot rebuild hourly` once after upgrading.';
  } else if (!busiest) {
    summary.textContent = 'No messages in this period.';
  } else {
    summary.textContent = `${fmtInt(total)} messages; busiest hour ${fmtDay(busiest.day)} ${String(busiest.hour).padStart(2, '0')}:00 with ${fmtInt(busiest.active_users)} active users.`;
  }
  const rows = everyHour(report.hours);
  /** @type {HTMLCanvasElement} */
  const canvas = $('#chart-hourly');
  canvas.setAttribute('aria-label', `Messages and active users per hour over ${rows.length} hours; ${total} messages`);
  const Chart = window.Chart;
  if (!Chart) return;
  const labels = rows.map((r) => r.label);
  const messages = rows.map((r) => r.messages);
  const users = rows.map((r) => r.users);
  if (chart) {
    chart.data.labels = labels;
    chart.data.datasets[0].data = messages;
    chart.data.datasets[1].data = users;
    chart.update('none');
    return;
  }
  const config = /** @type {import('chart.js').ChartConfiguration} */ (/** @type {unknown} */ ({
    data: {
      labels,
      datasets: [
        { type: 'bar', label: 'Messages', data: messages, backgroundColor: '#2f6fedaa', hoverBackgroundColor: '#2f6fed', yAxisID: 'y', order: 2 },
        { type: 'line', label: 'Active users', data: users, borderColor: '#13b38a', backgroundColor: '#13b38a', borderWidth: 1.5, pointRadius: 0, tension: 0, yAxisID: 'y1', order: 1 },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      animation: { duration: 300 },
      plugins: { legend: { position: 'bottom', labels: { boxWidth: 12, boxHeight: 12 } } },
      scales: {
        x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 16 } },
        y: { beginAtZero: true, grid: { color: '#eef0f4' }, ticks: { precision: 0 }, title: { display: true, text: 'messages' } },
        y1: { beginAtZero: true, position: 'right', grid: { display: false }, ticks: { precision: 0 }, title: { display: true, text: 'users' } },
      },
    },
  }));
  chart = new Chart(canvas, config);
}
