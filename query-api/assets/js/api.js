/**
 * The admin API as the page reads it: every request carries the key (`X-API-Key`), a 401
 * hands over to whoever asks for the key again, and each read is typed with the schema the
 * served spec (`/openapi.json`) gives its answer, so a renamed field fails `tsc`.
 */
import { state } from './state.js';

/** @typedef {import('../types/api').components['schemas']} Schemas */
/** @typedef {Schemas['Dashboard']} Dashboard */
/** @typedef {Schemas['ProductPage']} ProductPage */
/** @typedef {Schemas['UserPage']} UserPage */
/** @typedef {Schemas['UserProfile']} UserProfile */
/** @typedef {Schemas['EventsPage']} EventsPage */
/** @typedef {Schemas['ErrorBody']} ErrorBody */

export const REJECTED_KEY = 'The server rejected the saved key (401). Enter the current admin key.';

export class ApiError extends Error {
  /** @param {number} status 0 when the server could not be reached @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}
export class Unauthorized extends ApiError {}

/** @type {(message: string) => void} */
let unauthorizedHandler = () => {};

/** Who is told when the server rejects the key (the page asks for it again). @param {(message: string) => void} handler */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

/** The server rejected the key: drop it and ask again. @param {string} message */
export function reportUnauthorized(message) {
  unauthorizedHandler(message);
}

/**
 * GETs `path` and parses its JSON; the caller names the schema of the answer.
 * @param {string} path
 * @param {{ signal?: AbortSignal }} [options]
 * @returns {Promise<unknown>}
 */
async function getJson(path, { signal } = {}) {
  if (!state.key) throw new Unauthorized(401, 'no API key');
  let res;
  try {
    res = await fetch(path, { headers: { 'X-API-Key': state.key, Accept: 'application/json' }, signal, cache: 'no-store' });
  } catch (err) {
    if (err instanceof Error && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'Cannot reach the server.');
  }
  /** @type {unknown} */
  let body = null;
  const text = await res.text();
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  const message = errorMessage(body);
  if (res.status === 401) {
    reportUnauthorized(REJECTED_KEY);
    throw new Unauthorized(401, message || 'unauthorized');
  }
  if (!res.ok) throw new ApiError(res.status, message || `${res.status} ${res.statusText}`.trim());
  if (body === null) throw new ApiError(res.status, 'The server sent an unexpected (non-JSON) answer.');
  return body;
}

/** The `message` of an error body, if the body is one. @param {unknown} body */
function errorMessage(body) {
  if (body && typeof body === 'object' && 'message' in body) {
    const { message } = /** @type {ErrorBody} */ (body);
    return typeof message === 'string' ? message : '';
  }
  return '';
}

/** @param {URLSearchParams} params @param {AbortSignal} signal @returns {Promise<Dashboard>} */
export async function fetchDashboard(params, signal) {
  return /** @type {Dashboard} */ (await getJson(`/admin/dashboard?${params}`, { signal }));
}

/** @param {URLSearchParams} params @param {AbortSignal} signal @returns {Promise<ProductPage>} */
export async function fetchProducts(params, signal) {
  return /** @type {ProductPage} */ (await getJson(`/admin/analytics/products?${params}`, { signal }));
}

/** @param {URLSearchParams} params @param {AbortSignal} signal @returns {Promise<UserPage>} */
export async function fetchUsers(params, signal) {
  return /** @type {UserPage} */ (await getJson(`/admin/users?${params}`, { signal }));
}

/**
 * A user's profile with the newest page of their conversation, or the page before `before`.
 * @param {string} userId
 * @param {{ before?: number, signal?: AbortSignal }} [options]
 * @returns {Promise<UserProfile>}
 */
export async function fetchUser(userId, { before, signal } = {}) {
  const query = before === undefined ? '' : `?before=${encodeURIComponent(before)}`;
  return /** @type {UserProfile} */ (await getJson(`/admin/users/${encodeURIComponent(userId)}${query}`, { signal }));
}

/** The log's events after position `after`. @param {number} after @param {number} limit @returns {Promise<EventsPage>} */
export async function fetchEvents(after, limit) {
  return /** @type {EventsPage} */ (await getJson(`/admin/analytics/events?after=${after}&limit=${limit}`));
}

/**
 * Whether the server takes `key` (a 401 says no; any other answer, yes). Throws when the
 * server cannot be reached.
 * @param {string} key
 */
export async function keyAccepted(key) {
  const res = await fetch('/admin/users?page_size=1', { headers: { 'X-API-Key': key }, cache: 'no-store' });
  return res.status !== 401;
}
