/**
 * Finding and building elements. Text from the API only ever reaches the page through
 * textContent or a text node (never innerHTML), so nothing it contains can run; styles are
 * set through `element.style`, which the page's CSP (`style-src 'self'`) allows where a
 * `style` attribute would be refused.
 */

/**
 * The element `sel` finds; throws when there is none (the markup and the code disagree).
 * @template {Element} [E=HTMLElement]
 * @param {string} sel
 * @param {ParentNode} [root]
 * @returns {E}
 */
export function $(sel, root = document) {
  const el = root.querySelector(sel);
  if (!el) throw new Error(`dashboard: no element matches ${sel}`);
  return /** @type {E} */ (el);
}

/**
 * The element `sel` finds, or null.
 * @param {string} sel
 * @param {ParentNode} [root]
 * @returns {HTMLElement | null}
 */
export const find = (sel, root = document) => root.querySelector(sel);

/**
 * @param {string} sel
 * @param {ParentNode} [root]
 * @returns {HTMLElement[]}
 */
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

/** @typedef {Node | string | number | null | undefined | false} ChildItem */
/** @typedef {ChildItem | ChildItem[]} Child */

/**
 * Creates an element: `h('td', {class: 'num', dataset: {value: 3}}, 'text', child, ...)`.
 * Attributes that are null, undefined or false are left out; `true` sets an empty one;
 * `on…` with a function adds a listener; `text` sets the text.
 * @param {string} tag
 * @param {Record<string, unknown> | null} [attrs]
 * @param {...Child} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'class') el.className = String(value);
      else if (name === 'dataset') {
        for (const [k, v] of Object.entries(/** @type {Record<string, unknown>} */ (value))) {
          if (v !== null && v !== undefined) el.dataset[k] = String(v);
        }
      } else if (name === 'text') el.textContent = String(value);
      else if (name.startsWith('on') && typeof value === 'function') {
        el.addEventListener(name.slice(2), /** @type {EventListener} */ (value));
      } else if (value === true) el.setAttribute(name, '');
      else el.setAttribute(name, String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/**
 * `fn` run `ms` after the last of a burst of calls.
 * @template {unknown[]} A
 * @param {(...args: A) => void} fn
 * @param {number} ms
 * @returns {(...args: A) => void}
 */
export function debounce(fn, ms) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let t;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

/** @type {Map<string, string>} */
const renderedSignatures = new Map();

/**
 * True when `data` differs from what was last rendered under `name` (or a minute has passed,
 * so relative times stay fresh). Skipping identical re-renders keeps keyboard focus and
 * scroll positions in tables across the periodic refreshes.
 * @param {string} name
 * @param {unknown} data
 */
export function changed(name, data) {
  const sig = `${Math.floor(Date.now() / 60000)}|${JSON.stringify(data)}`;
  if (renderedSignatures.get(name) === sig) return false;
  renderedSignatures.set(name, sig);
  return true;
}

/**
 * Opens a dialog modally (or as a plain open element where showModal is missing).
 * @param {HTMLDialogElement} dialog
 */
export function openDialog(dialog) {
  if (dialog.open) return;
  if (typeof dialog.showModal === 'function') dialog.showModal();
  else dialog.setAttribute('open', '');
}
