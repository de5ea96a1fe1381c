/** The top-products table: what shoppers did with each product in the period. */
import { h } from './dom.js';
import { fmtInt, fmtPct, moneyLines } from './format.js';
import { fetchProducts } from './api.js';
import { periodParams } from './period.js';
import { PagedTable } from './table.js';

/** @typedef {import('../types/api').components['schemas']['ProductFigures']} ProductFigures */

/** @param {ProductFigures} p @returns {HTMLTableRowElement} */
function productRow(p) {
  return /** @type {HTMLTableRowElement} */ (h('tr', { 'data-testid': 'product-row', 'data-product-id': p.product_id },
    h('td', null, h('span', { class: 'cell-main' }, p.name || p.product_id), p.name ? h('span', { class: 'cell-sub' }, p.product_id) : null),
    h('td', { class: 'num', dataset: { col: 'views' } }, fmtInt(p.views)),
    h('td', { class: 'num', dataset: { col: 'price_inquiries' } }, fmtInt(p.price_inquiries)),
    h('td', { class: 'num', dataset: { col: 'spec_requests' } }, fmtInt(p.spec_requests)),
    h('td', { class: 'num', dataset: { col: 'purchase_intents' } }, fmtInt(p.purchase_intents)),
    h('td', { class: 'num', dataset: { col: 'orders' } }, fmtInt(p.orders)),
    h('td', { class: 'num', dataset: { col: 'units' } }, fmtInt(p.units)),
    h('td', { class: 'num cell-money', dataset: { col: 'revenue' } }, moneyLines(p.revenue)),
    h('td', { class: 'num', dataset: { col: 'conversion', value: p.conversion_pct ?? '' }, title: `${fmtInt(p.intenders)} of ${fmtInt(p.viewers)} viewers showed purchase intent` }, fmtPct(p.conversion_pct))));
}

/** @type {PagedTable<ProductFigures>} */
export const productsTable = new PagedTable({
  prefix: 'products',
  what: 'Products',
  sort: 'views',
  pageSize: 50,
  firstOrder: (key) => (key === 'product_id' ? 'asc' : 'desc'),
  // The products follow the period; the table's parameters come after it.
  fetchPage: (params, signal) => {
    const query = periodParams();
    for (const [k, v] of params) query.set(k, v);
    return fetchProducts(query, signal);
  },
  row: productRow,
  empty: (search) => (search ? 'No product matches the search.' : 'No product activity in this period.'),
});
