// @ts-check
// Sign in with Matrix: the homeserver's password login (client-server API `POST /login`) and its
// `whoami`, asked from the page. Chorus accepts the Matrix access token as it is, so the page
// only needs the token and whose it is. The homeserver is another origin: it must answer CORS
// (Synapse does, with `Access-Control-Allow-Origin: *`, on the whole client API).

/** What the homeserver refused, with its Matrix `errcode` (e.g. M_FORBIDDEN for a wrong password). */
export class MatrixError extends Error {
  /**
   * @param {number} status
   * @param {string | undefined} errcode
   * @param {string} message
   */
  constructor(status, errcode, message) {
    super(message);
    this.status = status;
    this.errcode = errcode;
  }
}

/**
 * One request to the homeserver's client-server API, resolved with the JSON body.
 * @param {string} homeserver base URL, e.g. `https://matrix.example.org`
 * @param {string} method
 * @param {string} path from `/_matrix/client/v3/`
 * @param {{token?: string, body?: unknown}} [options]
 * @returns {Promise<any>}
 */
async function request(homeserver, method, path, options = {}) {
  const { token, body } = options;
  const base = homeserver.trim().replace(/\/+$/, "");
  /** @type {Record<string, string>} */
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(`${base}/_matrix/client/v3/${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    // fetch says no more than "Failed to fetch" for a refused connection, a bad URL and a
    // missing CORS header alike; name what to check.
    throw new MatrixError(0, undefined, `Could not reach the homeserver at ${base} (is the URL right, and does it allow this page?)`);
  }
  let data = null;
  try { data = await response.json(); } catch { /* not JSON: not a homeserver's answer */ }
  if (!response.ok) {
    // e.g. "https://matrix.example.org answered 403 M_FORBIDDEN: Invalid username or password"
    const errcode = typeof data?.errcode === "string" ? data.errcode : undefined;
    const said = typeof data?.error === "string" ? `: ${data.error}` : data ? "" : ": is it a Matrix homeserver?";
    throw new MatrixError(response.status, errcode, `${base} answered ${response.status}${errcode ? ` ${errcode}` : ""}${said}`);
  }
  if (data === null) throw new MatrixError(response.status, undefined, `${base} did not answer as a Matrix homeserver`);
  return data;
}

/**
 * Password login (`m.login.password` with an `m.id.user` identifier: a localpart or a full
 * `@user:server`).
 * @param {string} homeserver
 * @param {string} user
 * @param {string} password
 * @returns {Promise<{token: string, userId: string}>}
 */
export async function matrixLogin(homeserver, user, password) {
  const data = await request(homeserver, "POST", "login", {
    body: {
      type: "m.login.password",
      identifier: { type: "m.id.user", user: user.trim() },
      password,
      initial_device_display_name: "Chorus web client",
    },
  });
  if (typeof data.access_token !== "string" || typeof data.user_id !== "string") {
    throw new MatrixError(200, undefined, "The homeserver's login answer has no access token");
  }
  return { token: data.access_token, userId: data.user_id };
}

/**
 * Whose an access token is (a token restored on reload, pasted, or from a link).
 * @param {string} homeserver
 * @param {string} token
 * @returns {Promise<string>} the Matrix user id
 */
export async function matrixWhoami(homeserver, token) {
  const data = await request(homeserver, "GET", "account/whoami", { token });
  if (typeof data.user_id !== "string") throw new MatrixError(200, undefined, "The homeserver's whoami answer names no user");
  return data.user_id;
}

/**
 * Ends a login the page made (its device goes away); Chorus stops taking the token once its
 * cached whoami answer expires.
 * @param {string} homeserver
 * @param {string} token
 */
export async function matrixLogout(homeserver, token) {
  await request(homeserver, "POST", "logout", { token, body: {} });
}
