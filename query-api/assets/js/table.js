/**
 * A sortable, searchable, paged table whose rows the server picks (`sort`, `order`, `search`,
 * `page`, `page_size`): the products and the users tables are two of these. The markup names
 * its parts after one prefix: `#<prefix>-table` (with `<th data-sort=…>` for the sortable
 * columns), `#<prefix>-body`, `#<prefix>-pager` and `#<prefix>-search`.
 */
import { $, $$, changed, debounce, find, h } from './dom.js';
import { fmtInt } from './format.js';
import { handleError } from './status.js';

const SEARCH_DEBOUNCE_MS = 300;

/**
 * One page of rows, as the API sends it.
 * @template Row
 * @typedef {{ items: Row[], total: number, page: number, page_size: number }} Page
 */

/**
 * What a table shows now: the sort, the search, the page and the last page read.
 * @template Row
 * @typedef {{ sort: string, order: 'asc' | 'desc', search: string, page: number,
 *   data: Page<Row> | null }} TableState
 */

/**
 * @template Row
 * @typedef {object} TableConfig
 * @property {string} prefix the markup's id prefix (`products`, `users`)
 * @property {string} what the table's name in error messages
 * @property {string} sort the column sorted by at first
 * @property {number} pageSize
 * @property {(key: string) => 'asc' | 'desc'} firstOrder the order a column sorts in when first clicked
 * @property {(params: URLSearchParams, signal: AbortSignal) => Promise<Page<Row>>} fetchPage
 *   reads a page; `params` holds the sort, order, search, page and page size
 * @property {(row: Row) => HTMLTableRowElement} row draws one row
 * @property {(search: string) => string} empty what an empty table says
 */

/** Replaces a table body with one row of text. @param {HTMLElement} tbody @param {number} cols @param {string} text */
export function tableMessage(tbody, cols, text) {
  tbody.replaceChildren(h('tr', { class: 'table-message' }, h('td', { colspan: cols }, text)));
}

/** @template Row */
export class PagedTable {
  /** @param {TableConfig<Row>} config */
  constructor(config) {
    this.config = config;
    /** @type {TableState<Row>} */
    this.state = { sort: config.sort, order: 'desc', search: '', page: 1, data: null };
    /** @type {AbortController | null} */
    this.ctrl = null;
    /** @type {HTMLTableElement} */
    this.table = $(`#${config.prefix}-table`);
  }

  /**
   * Reads the page the state says and draws it (unless it is what is shown already). A page
   * past the end (the list shrank) is replaced by the last page. An earlier read still
   * under way is dropped. Resolves to null when this read was dropped in turn.
   * @returns {Promise<Page<Row> | null>}
   */
  async load() {
    if (this.ctrl) this.ctrl.abort();
    const ctrl = new AbortController();
    this.ctrl = ctrl;
    const s = this.state;
    const params = new URLSearchParams();
    params.set('sort', s.sort);
    params.set('order', s.order);
    if (s.search) params.set('search', s.search);
    params.set('page', String(s.page));
    params.set('page_size', String(this.config.pageSize));
    this.table.classList.add('loading');
    try {
      const data = await this.config.fetchPage(params, ctrl.signal);
      if (ctrl.signal.aborted) return null;
      const pages = Math.max(1, Math.ceil(data.total / data.page_size));
      if (data.items.length === 0 && data.total > 0 && s.page > pages) {
        s.page = pages;
        this.ctrl = null;
        return this.load();
      }
      s.data = data;
      if (changed(this.config.prefix, { data, search: s.search })) this.render(data);
      return data;
    } finally {
      if (this.ctrl === ctrl) {
        this.ctrl = null;
        this.table.classList.remove('loading');
      }
    }
  }

  /** Loads, saying in the banner what failed. */
  reload() {
    this.load().catch((e) => handleError(e, this.config.what));
  }

  /** @param {Page<Row>} data */
  render(data) {
    const { prefix } = this.config;
    const tbody = $(`#${prefix}-body`);
    this.renderSortHeaders();
    this.renderPager(data);
    if (!data.items.length) {
      tableMessage(tbody, $$('thead th', this.table).length, this.config.empty(this.state.search));
      return;
    }
    tbody.replaceChildren(...data.items.map((row) => this.config.row(row)));
  }

  /** Marks the sorted column (`aria-sort` and its arrow). */
  renderSortHeaders() {
    for (const th of $$('th[data-sort]', this.table)) {
      const active = th.dataset.sort === this.state.sort;
      const arrow = find('.arrow', th);
      if (active) {
        th.setAttribute('aria-sort', this.state.order === 'asc' ? 'ascending' : 'descending');
        if (arrow) arrow.textContent = this.state.order === 'asc' ? '▲' : '▼';
      } else {
        th.removeAttribute('aria-sort');
        if (arrow) arrow.textContent = '↕';
      }
    }
  }

  /** @param {Page<Row>} data */
  renderPager(data) {
    const pager = $(`#${this.config.prefix}-pager`);
    const pages = Math.max(1, Math.ceil((data.total || 0) / (data.page_size || 1)));
    const text = $('.pager-text', pager);
    text.textContent = `Page ${data.page} of ${pages} · ${fmtInt(data.total)} total`;
    text.dataset.page = String(data.page);
    text.dataset.pages = String(pages);
    text.dataset.total = String(data.total);
    pagerButton(pager, 'prev').disabled = data.page <= 1;
    pagerButton(pager, 'next').disabled = data.page >= pages;
  }

  /** Turns the sortable headers into buttons and wires the pager and the search box. */
  setup() {
    const s = this.state;
    for (const th of $$('th[data-sort]', this.table)) {
      const label = th.textContent;
      const btn = h('button', { type: 'button', class: 'sort-btn' }, h('span', null, label), h('span', { class: 'arrow', 'aria-hidden': 'true' }, '↕'));
      th.replaceChildren(btn);
      btn.addEventListener('click', () => {
        const key = th.dataset.sort || '';
        if (s.sort === key) {
          s.order = s.order === 'desc' ? 'asc' : 'desc';
        } else {
          s.sort = key;
          s.order = this.config.firstOrder(key);
        }
        s.page = 1;
        this.reload();
      });
    }
    this.renderSortHeaders();

    const pager = $(`#${this.config.prefix}-pager`);
    pagerButton(pager, 'prev').addEventListener('click', () => {
      if (s.page > 1) {
        s.page -= 1;
        this.reload();
      }
    });
    pagerButton(pager, 'next').addEventListener('click', () => {
      s.page += 1;
      this.reload();
    });

    /** @type {HTMLInputElement} */
    const input = $(`#${this.config.prefix}-search`);
    input.addEventListener('input', debounce(() => {
      const value = input.value.trim();
      if (value === s.search) return;
      s.search = value;
      s.page = 1;
      this.reload();
    }, SEARCH_DEBOUNCE_MS));
  }
}

/** @param {HTMLElement} pager @param {'prev' | 'next'} which @returns {HTMLButtonElement} */
const pagerButton = (pager, which) => $(`[data-page="${which}"]`, pager);
