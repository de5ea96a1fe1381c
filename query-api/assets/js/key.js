/**
 * The admin key: asked for in a dialog, checked against the server before it is kept, kept in
 * this browser's local storage until "Forget key", and taken once from `?key=…`.
 */
import { $, openDialog } from './dom.js';
import { keyAccepted } from './api.js';
import { state } from './state.js';

const KEY_STORAGE = 'salesbot.adminKey';

/** Shows the key dialog, with `message` saying why. @param {string} [message] */
export function askForKey(message) {
  /** @type {HTMLInputElement} */
  const input = $('#key-input');
  $('#key-error').textContent = message || '';
  input.value = '';
  openDialog($('#key-dialog'));
  input.focus();
}

/** Forgets the key, here and in storage. */
export function dropKey() {
  state.key = null;
  try {
    localStorage.removeItem(KEY_STORAGE);
  } catch { /* storage unavailable */ }
}

/** @param {string} key */
function saveKey(key) {
  state.key = key;
  try {
    localStorage.setItem(KEY_STORAGE, key);
  } catch { /* private mode: keep it in memory only */ }
}

/** Reads the key from `?key=…` (then removes it from the address) or from storage. */
export function loadKey() {
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
    } catch {
      state.key = null;
    }
  }
}

/**
 * Wires the key form and "Forget key".
 * @param {{ onKey: () => void, onForget: () => void }} hooks `onKey` once a key is accepted;
 *   `onForget` when the user drops it (stop what reads the API).
 */
export function setupKeyForm({ onKey, onForget }) {
  /** @type {HTMLDialogElement} */
  const dialog = $('#key-dialog');
  /** @type {HTMLInputElement} */
  const input = $('#key-input');
  /** @type {HTMLButtonElement} */
  const submit = $('[data-testid="key-submit"]');
  const error = $('#key-error');
  // The dialog cannot be dismissed with Escape while there is no key.
  dialog.addEventListener('cancel', (e) => {
    if (!state.key) e.preventDefault();
  });
  $('#key-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = input.value.trim();
    if (!key) {
      error.textContent = 'Enter the admin API key.';
      return;
    }
    submit.disabled = true;
    error.textContent = '';
    try {
      // Check the key before keeping it (401 → ask again, anything else → it is fine).
      if (!(await keyAccepted(key))) {
        error.textContent = 'This key was rejected by the server.';
        return;
      }
    } catch {
      error.textContent = 'Cannot reach the server.';
      return;
    } finally {
      submit.disabled = false;
    }
    saveKey(key);
    dialog.close();
    onKey();
  });
  $('#forget-key').addEventListener('click', () => {
    dropKey();
    onForget();
    state.started = false;
    askForKey('The key was forgotten by this browser. Enter it again to continue.');
  });
}
