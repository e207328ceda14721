// @ts-check
// The REST client of the Chorus API, and the token it sends: who is signed in (the token's
// claims, or the homeserver's word for a Matrix access token) and where the token is kept
// between page loads of this tab.

// `?api=http://127.0.0.1:PORT` points a page served elsewhere at a Chorus server (development).
export const API = (new URLSearchParams(location.search).get("api") || location.origin).replace(/\/+$/, "");
const TOKEN_KEY = "chorus.token";
const HOMESERVER_KEY = "chorus.matrix.homeserver";

/** Who is signed in: the token every request carries, and what its claims say. */
export const session = {
  /** @type {string | null} */
  token: null,
  /** @type {string | null} */
  user: null,
  admin: false,
  /**
   * The homeserver that issued the token, when it is a Matrix access token from the Matrix form.
   * @type {string | null}
   */
  homeserver: null,
};

/** An answer other than 2xx: its status and the API's `error.code`. */
export class APIError extends Error {
  /**
   * @param {number} status
   * @param {string | undefined} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * One request with the session's token, resolved with the JSON body (null when there is none).
 * @param {string} method
 * @param {string} path from the server's root, e.g. `/api/calls/active`
 * @param {unknown} [body] sent as JSON
 * @returns {Promise<any>}
 */
export async function api(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(API + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await response.json(); } catch { /* empty or not JSON */ }
  if (!response.ok) {
    throw new APIError(response.status, data?.error?.code, data?.error?.message || `${method} ${path} answered ${response.status}`);
  }
  return data;
}

// MARK: tokens

/**
 * The claims the page reads: `sub` is the user, `admin` may moderate, `exp` in seconds.
 * @typedef {{sub?: string, admin?: unknown, exp?: unknown}} Claims
 */

/**
 * The JWT payload (RFC 7519 §3): base64url JSON, read without checking the signature (the
 * server checks it; the page only shows who it is).
 * @param {string} token
 * @returns {any}
 */
function decodeJwt(token) {
  const part = token.split(".")[1];
  if (!part) throw new Error("not a JWT");
  const base64 = part.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (part.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

/**
 * Whether the server reads this token as a Chorus JWT (three dot-separated parts); anything else
 * it takes for a Matrix access token.
 * @param {string} token
 */
export function isJwt(token) {
  return token.split(".").length === 3;
}

/**
 * The claims of a token the page can sign in with, or what is wrong with it.
 * @param {string} token
 * @returns {{claims: Claims} | {problem: string}}
 */
export function readToken(token) {
  /** @type {Claims} */
  let claims;
  try {
    claims = decodeJwt(token);
  } catch {
    return { problem: "That is not a valid token" };
  }
  if (typeof claims.exp === "number" && claims.exp * 1000 < Date.now()) return { problem: "That token has expired" };
  return { claims };
}

/**
 * Makes `token` the session's and keeps it for this tab (sessionStorage).
 * @param {string} token
 * @param {Claims} claims its claims, from readToken (a Matrix token's: its user as `sub`)
 * @param {string | null} [homeserver] where a Matrix token was issued, kept to ask whose it is
 *   on the next load
 */
export function startSession(token, claims, homeserver = null) {
  session.token = token;
  session.user = claims.sub ?? null;
  session.admin = claims.admin === true;
  session.homeserver = homeserver;
  sessionStorage.setItem(TOKEN_KEY, token);
  if (homeserver) sessionStorage.setItem(HOMESERVER_KEY, homeserver);
  else sessionStorage.removeItem(HOMESERVER_KEY);
}

export function endSession() {
  session.token = null;
  session.user = null;
  session.admin = false;
  session.homeserver = null;
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(HOMESERVER_KEY);
}

/** The homeserver this tab signed in with through the Matrix form, if it did. */
export function savedHomeserver() {
  return sessionStorage.getItem(HOMESERVER_KEY);
}

/**
 * The token to sign in with on load: `#token=...` (links, tests) wins over the one this tab
 * kept, and is then kept and removed from the address.
 * @returns {string | null}
 */
export function savedToken() {
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromFragment) {
    sessionStorage.setItem(TOKEN_KEY, fromFragment);
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}
