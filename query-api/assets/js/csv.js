/**
 * The "Download CSV" buttons: the daily figures, the funnel, and the products and users pages
 * as shown, with money in one column per currency (major units).
 */
import { $, h } from './dom.js';
import { fractionDigits } from './format.js';
import { productsTable } from './products.js';
import { usersTable } from './users.js';
import { state } from './state.js';

/** @typedef {import('../types/api').components['schemas']['Money']} Money */
/** @typedef {string | number | null | undefined} Cell */

/** RFC 4180 quoting; text cells that a spreadsheet would run as a formula are prefixed with '. @param {Cell} value */
export function csvCell(value) {
  if (value === null || value === undefined) return '';
  let s = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** @param {string[]} header @param {Cell[][]} rows */
export function toCsv(header, rows) {
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

/**
 * Amounts → one column per currency, in major units with the currency's decimals.
 * @template Row
 * @param {Row[]} rows
 * @param {(row: Row) => Money[] | undefined} getList
 * @param {string} prefix
 */
function moneyColumns(rows, getList, prefix) {
  const set = new Set();
  for (const r of rows) for (const m of getList(r) || []) set.add(m.currency);
  /** @type {string[]} */
  const currencies = Array.from(set).sort();
  return {
    header: currencies.map((c) => `${prefix}_${c}`),
    /** @param {Row} r */
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

/** @param {string} filename @param {string} csv */
function download(filename, csv) {
  const blob = new Blob([csv], { type: 'text/csv;charset=utf-8' });
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 5000);
}

/** @type {Record<string, () => { name: string, csv: string }>} */
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
    const data = productsTable.state.data;
    const rows = (data && data.items) || [];
    const money = moneyColumns(rows, (r) => r.revenue, 'revenue');
    return {
      name: `salesbot-products-${periodSlug()}.csv`,
      csv: toCsv(['product_id', 'name', 'views', 'price_inquiries', 'spec_requests', 'purchase_intents', 'orders', 'units', ...money.header, 'viewers', 'intenders', 'conversion_pct'],
        rows.map((r) => [r.product_id, r.name, r.views, r.price_inquiries, r.spec_requests, r.purchase_intents, r.orders, r.units, ...money.cells(r), r.viewers, r.intenders, r.conversion_pct])),
    };
  },
  users() {
    const data = usersTable.state.data;
    const rows = (data && data.items) || [];
    const money = moneyColumns(rows, (r) => r.revenue, 'revenue');
    const page = data ? `-page${data.page}` : '';
    return {
      name: `salesbot-users${page}.csv`,
      csv: toCsv(['user_id', 'channel', 'username', 'display_name', 'first_seen', 'last_seen', 'messages', 'sessions', 'product_views', 'stage', 'orders', ...money.header, 'engagement_score'],
        rows.map((r) => [r.user_id, r.channel, r.username, r.display_name, r.first_seen, r.last_seen, r.messages, r.sessions, r.product_views, r.stage, r.orders, ...money.cells(r), r.engagement_score])),
    };
  },
};

/** Wires each `#csv-<kind>` button. */
export function setupCsv() {
  for (const [kind, build] of Object.entries(csvBuilders)) {
    $(`#csv-${kind}`).addEventListener('click', () => {
      const { name, csv } = build();
      download(name, csv);
    });
  }
}
