// @ts-check
// What the page shows, as DOM: views, toasts, the tile grid and control bar of a call, the
// lobby's call list. It keeps no state beyond its elements; what buttons do comes in as callbacks.

/** @typedef {import("./realtime.js").EventData} EventData */

/**
 * An element of index.html by id (the page has them all).
 * @param {string} id
 * @returns {HTMLElement}
 */
export const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * The value of an input or textarea of the page.
 * @param {string} id
 */
export const inputValue = (id) => /** @type {HTMLInputElement} */ ($(id)).value;

// MARK: icons (inline SVG, Feather-style strokes)

const PATHS = {
  mic: '<path d="M12 2a3 3 0 0 0-3 3v7a3 3 0 0 0 6 0V5a3 3 0 0 0-3-3z"/><path d="M19 10v2a7 7 0 0 1-14 0v-2"/><line x1="12" y1="19" x2="12" y2="23"/><line x1="8" y1="23" x2="16" y2="23"/>',
  micOff: '<line x1="1" y1="1" x2="23" y2="23"/><path d="M9 9v3a3 3 0 0 0 5.12 2.12M15 9.34V4a3 3 0 0 0-5.94-.6"/><path d="M17 16.95A7 7 0 0 1 5 12v-2m14 0v2a7 7 0 0 1-.11 1.23"/><line x1="12" y1="19" x2="12" y2="23"/><line x1="8" y1="23" x2="16" y2="23"/>',
  cam: '<polygon points="23 7 16 12 23 17 23 7"/><rect x="1" y="5" width="15" height="14" rx="2" ry="2"/>',
  camOff: '<path d="M16 16v1a2 2 0 0 1-2 2H3a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2h2m5.66 0H14a2 2 0 0 1 2 2v3.34l1 1L23 7v10"/><line x1="1" y1="1" x2="23" y2="23"/>',
  hangUp: '<path d="M10.68 13.31a16 16 0 0 0 3.41 2.6l1.27-1.27a2 2 0 0 1 2.11-.45 12.84 12.84 0 0 0 2.81.7 2 2 0 0 1 1.72 2v3a2 2 0 0 1-2.18 2 19.79 19.79 0 0 1-8.63-3.07 19.42 19.42 0 0 1-3.33-2.67m-2.67-3.34a19.79 19.79 0 0 1-3.07-8.63A2 2 0 0 1 4.11 2h3a2 2 0 0 1 2 1.72 12.84 12.84 0 0 0 .7 2.81 2 2 0 0 1-.45 2.11L8.09 9.91"/><line x1="23" y1="1" x2="1" y2="23"/>',
  screen: '<rect x="2" y="3" width="20" height="14" rx="2" ry="2"/><line x1="8" y1="21" x2="16" y2="21"/><line x1="12" y1="17" x2="12" y2="21"/>',
  lock: '<rect x="3" y="11" width="18" height="11" rx="2" ry="2"/><path d="M7 11V7a5 5 0 0 1 10 0v4"/>',
};

/**
 * @param {keyof typeof PATHS} name
 * @param {string} [cls]
 */
function icon(name, cls = "") {
  return `<svg class="${cls}" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${PATHS[name]}</svg>`;
}

// MARK: text

/** @param {unknown} text */
function escapeHTML(text) {
  return String(text).replace(/[&<>"']/g, (c) => /** @type {Record<string, string>} */ ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/**
 * "@alice-1f2e:example.org" → "alice-1f2e": Matrix ids read better without sigil and server.
 * @param {string | null | undefined} userId
 */
export function displayName(userId) {
  if (!userId) return "?";
  const match = /^@([^:]+):/.exec(userId);
  return match ? match[1] : userId;
}

/** @param {string} userId */
function avatarColor(userId) {
  let hash = 0;
  for (const c of String(userId)) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360} 55% 45%)`;
}

// MARK: toasts

/**
 * A button on a toast; the toast goes away when it is clicked.
 * @typedef {{label: string, style?: string, run: () => unknown}} ToastAction
 */

/**
 * Shows a message for `timeout` ms (0: until dismissed); a toast with an `id` replaces the one
 * shown with that id.
 * @param {string} message
 * @param {{kind?: "info" | "error" | "call", actions?: ToastAction[], timeout?: number, id?: string}} options
 */
export function toast(message, { kind = "info", actions = [], timeout = 6000, id } = {}) {
  const element = document.createElement("div");
  element.className = `toast ${kind}`;
  if (id) {
    document.querySelector(`.toast[data-id="${CSS.escape(id)}"]`)?.remove();
    element.dataset.id = id;
  }
  const text = document.createElement("div");
  text.textContent = message;
  element.append(text);
  if (actions.length) {
    const row = document.createElement("div");
    row.className = "toast-actions";
    for (const action of actions) {
      const button = document.createElement("button");
      button.className = `btn small ${action.style || ""}`;
      button.textContent = action.label;
      button.addEventListener("click", () => { element.remove(); action.run(); });
      row.append(button);
    }
    element.append(row);
  }
  $("toasts").append(element);
  if (timeout) setTimeout(() => element.remove(), timeout);
  return element;
}

/** @param {string} id */
export function dismissToast(id) {
  document.querySelector(`.toast[data-id="${CSS.escape(id)}"]`)?.remove();
}

/**
 * @param {any} error an Error, or anything thrown
 * @param {string} [context] what failed, e.g. "Hang up"
 */
export function reportError(error, context) {
  console.warn(context, error);
  toast(`${context ? context + ": " : ""}${error?.message || error}`, { kind: "error" });
}

/**
 * A call ringing for me or an invitation to a group call, as a toast with its buttons.
 * @param {EventData} data an `incoming-call` event
 * @param {{join: (callId: string) => unknown, answer: (callId: string) => unknown, reject: (callId: string) => unknown}} actions
 */
export function showIncoming(data, actions) {
  const from = displayName(data.from || data.userId || data.initiator);
  const decline = { label: "Decline", run: () => actions.reject(data.callId) };
  if (data.isGroupCall) {
    toast(`${from} invites you to a group call`, {
      kind: "call", timeout: 60000, id: `incoming-${data.callId}`,
      actions: [decline, { label: "Join", style: "primary", run: () => actions.join(data.callId) }],
    });
  } else {
    toast(`${from} is calling (${data.callType === "voice" ? "voice" : "video"})`, {
      kind: "call", timeout: 60000, id: `incoming-${data.callId}`,
      actions: [decline, { label: "Answer", style: "ok", run: () => actions.answer(data.callId) }],
    });
  }
}

// MARK: views and the top bar

/** @param {"signin" | "lobby" | "ringing" | "call"} name */
export function showView(name) {
  for (const view of ["signin", "lobby", "ringing", "call"]) $(`view-${view}`).hidden = view !== name;
}

/**
 * The sign-in forms the server's /api/config allows: a token by name (a development server),
 * Matrix (a homeserver is configured, prefilled), and a pasted token (always).
 * @param {{devTokens: boolean, matrix?: {homeserver: string}}} config
 */
export function showSignin({ devTokens, matrix }) {
  showView("signin");
  $("dev-form").hidden = !devTokens;
  $("matrix-form").hidden = !matrix;
  const homeserver = /** @type {HTMLInputElement} */ ($("matrix-homeserver"));
  if (matrix && !homeserver.value) homeserver.value = matrix.homeserver;
  $("conn").hidden = true;
  $("whoami").hidden = true;
  $("signout").hidden = true;
}

/**
 * The top bar of a signed-in user.
 * @param {string | null} user
 * @param {boolean} admin
 */
export function showSignedIn(user, admin) {
  const who = $("whoami");
  who.innerHTML = `${escapeHTML(displayName(user))}${admin ? '<span class="badge">admin</span>' : ""}`;
  who.title = user ?? "";
  who.hidden = false;
  $("conn").hidden = false;
  $("signout").hidden = false;
}

/** @param {import("./realtime.js").ConnectionState} state */
export function setConnState(state) {
  const element = $("conn");
  element.dataset.state = state;
  element.textContent = state;
}

/** @param {string | null} peer */
export function showRinging(peer) {
  $("ringing-title").textContent = `Calling ${displayName(peer)}…`;
  showView("ringing");
}

// MARK: a call: heading, control bar, tiles

/** Speaker view: the grid shows the active speaker's tile large, the others small below. */
export function toggleSpeakerView() {
  const on = !$("grid").classList.contains("speaker-view");
  $("grid").classList.toggle("speaker-view", on);
  $("btn-speaker-view").setAttribute("aria-pressed", String(on));
}

/**
 * The line above the tiles; a heading without `title` keeps the title shown. `speakerView`:
 * offer the speaker view (group calls, where Chorus names the speaker).
 * @param {{title?: string, sub: string, speakerView?: boolean}} heading
 */
export function showCallHeading({ title, sub, speakerView = false }) {
  if (title !== undefined) $("call-title").textContent = title;
  $("call-sub").textContent = sub;
  $("btn-speaker-view").hidden = !speakerView;
  if (!speakerView) {
    $("grid").classList.remove("speaker-view");
    $("btn-speaker-view").setAttribute("aria-pressed", "false");
  }
}

/**
 * The mic, camera, screen share (group calls) and leave buttons for my state in the call.
 * @param {{audioEnabled: boolean, videoEnabled: boolean, audioLocked: boolean, videoLocked: boolean, screenSharing?: boolean | null}} me
 *   `screenSharing` null or absent: the call cannot share a screen (a 1-to-1 call), the button is hidden
 */
export function renderControls(me) {
  const mic = $("btn-mic");
  mic.innerHTML = icon(me.audioEnabled ? "mic" : "micOff");
  mic.setAttribute("aria-pressed", String(!me.audioEnabled));
  mic.classList.toggle("locked", me.audioLocked);
  mic.title = me.audioLocked ? "Muted by the host" : me.audioEnabled ? "Mute microphone" : "Unmute microphone";
  const cam = $("btn-cam");
  cam.innerHTML = icon(me.videoEnabled ? "cam" : "camOff");
  cam.setAttribute("aria-pressed", String(!me.videoEnabled));
  cam.classList.toggle("locked", me.videoLocked);
  cam.title = me.videoLocked ? "Camera stopped by the host" : me.videoEnabled ? "Turn camera off" : "Turn camera on";
  const screen = $("btn-screen");
  screen.hidden = me.screenSharing === null || me.screenSharing === undefined;
  screen.innerHTML = icon("screen");
  screen.setAttribute("aria-pressed", String(Boolean(me.screenSharing)));
  screen.title = me.screenSharing ? "Stop sharing your screen" : "Share screen";
  $("btn-leave").innerHTML = icon("hangUp");
}

/**
 * One tile as a call describes it.
 * @typedef {object} TileDesc
 * @property {string} key
 * @property {string} userId
 * @property {boolean} self
 * @property {MediaStream | null} stream
 * @property {boolean} hasVideo
 * @property {boolean} audioMuted
 * @property {boolean} videoMuted
 * @property {boolean} [audioLocked] muted by an admin
 * @property {boolean} [videoLocked]
 * @property {string} [status] over the tile while there is no media, e.g. "connecting…"
 * @property {boolean} [speaking] the call's active speaker (highlighted; large in speaker view)
 * @property {boolean} [videoPaused] the SFU stopped sending me this video: my downlink cannot carry it
 * @property {boolean} [screen] a shared screen: shown large, whole (not cropped), above the others
 */

/**
 * An admin's action on another's tile: mute (or lift the mute of) their audio or video.
 * @typedef {(userId: string, kind: "audio" | "video", muted: boolean) => void} Moderate
 */

/** @typedef {{element: HTMLElement, video: HTMLVideoElement, stream: MediaStream | null, actionsKey: string}} Tile */

/** Keeps the tile grid equal to a list of tile descriptions, creating and removing elements. */
class TileGrid {
  /** @param {HTMLElement} element */
  constructor(element) {
    this.element = element;
    /** @type {Map<string, Tile>} */
    this.tiles = new Map();
    /** @type {(() => void) | undefined} called when a tile's size changed (`update`'s onLayout) */
    this.onLayout = undefined;
    // Tiles change size without a render: the window, speaker view, someone joining elsewhere
    // in the grid. Whoever picks video sizes by tile size needs to hear of each.
    this.resizes = new ResizeObserver(() => this.onLayout?.());
  }

  /**
   * A tile's width in CSS pixels (0 when there is no such tile).
   * @param {string} key
   */
  width(key) {
    return this.tiles.get(key)?.element.clientWidth ?? 0;
  }

  clear() {
    for (const tile of this.tiles.values()) { this.resizes.unobserve(tile.element); tile.element.remove(); }
    this.tiles.clear();
    this.element.dataset.count = "0";
    this.onLayout = undefined;
  }

  /**
   * @param {TileDesc[]} descs in the order to show
   * @param {{onModerate?: Moderate, onFirstFrame?: (userId: string) => void, onLayout?: () => void}} options
   *   with onModerate, others' tiles have the admin's mute buttons; onLayout hears of tile resizes
   */
  update(descs, { onModerate, onFirstFrame, onLayout } = {}) {
    this.onLayout = onLayout;
    const keys = new Set(descs.map((d) => d.key));
    for (const [key, tile] of this.tiles) {
      if (!keys.has(key)) { this.resizes.unobserve(tile.element); tile.element.remove(); this.tiles.delete(key); }
    }
    for (const desc of descs) {
      let tile = this.tiles.get(desc.key);
      if (!tile) {
        tile = this.create(desc);
        this.tiles.set(desc.key, tile);
        this.resizes.observe(tile.element);
      }
      this.element.append(tile.element); // keeps the order of descs
      this.fill(tile, desc, onModerate, onFirstFrame);
    }
    this.element.dataset.count = String(descs.length);
  }

  /**
   * @param {TileDesc} desc
   * @returns {Tile}
   */
  create(desc) {
    const element = document.createElement("div");
    element.className = "tile" + (desc.self ? " self" : "") + (desc.screen ? " screen" : "");
    element.dataset.user = desc.userId;
    element.dataset.source = desc.screen ? "screen" : "camera";
    element.innerHTML = `
      <video autoplay playsinline ${desc.self ? "muted" : ""}></video>
      <div class="avatar"><span></span></div>
      <div class="state" hidden></div>
      <div class="paused" hidden>Video paused (bandwidth)</div>
      <div class="tile-actions"></div>
      <div class="label"><span class="icons"></span><span class="name"></span></div>`;
    const avatar = /** @type {HTMLElement} */ (element.querySelector(".avatar span"));
    avatar.textContent = displayName(desc.userId).slice(0, 1).toUpperCase();
    avatar.style.setProperty("--avatar", avatarColor(desc.userId));
    const name = /** @type {HTMLElement} */ (element.querySelector(".name"));
    const who = displayName(desc.userId);
    name.textContent = desc.screen ? (desc.self ? "Your screen" : `${who}'s screen`) : desc.self ? `${who} (you)` : who;
    name.title = desc.userId;
    return { element, video: /** @type {HTMLVideoElement} */ (element.querySelector("video")), stream: null, actionsKey: "" };
  }

  /**
   * @param {Tile} tile
   * @param {TileDesc} desc
   * @param {Moderate | undefined} onModerate
   * @param {((userId: string) => void) | undefined} onFirstFrame
   */
  fill(tile, desc, onModerate, onFirstFrame) {
    if (tile.stream !== desc.stream) {
      tile.stream = desc.stream;
      tile.video.srcObject = desc.stream || null;
      if (desc.stream && !desc.self && onFirstFrame && "requestVideoFrameCallback" in tile.video) {
        tile.video.requestVideoFrameCallback(() => onFirstFrame(desc.userId));
      }
      if (desc.stream) tile.video.play?.().catch(() => { /* autoplay policy; muted tiles still show */ });
    }
    tile.element.classList.toggle("has-video", Boolean(desc.hasVideo));
    tile.element.classList.toggle("speaking", Boolean(desc.speaking));
    const state = /** @type {HTMLElement} */ (tile.element.querySelector(".state"));
    state.hidden = !desc.status;
    state.textContent = desc.status || "";
    // Over the last frame, which would otherwise look like a frozen picture.
    const paused = /** @type {HTMLElement} */ (tile.element.querySelector(".paused"));
    paused.hidden = !desc.videoPaused;
    tile.element.classList.toggle("video-paused", Boolean(desc.videoPaused));
    // A screen share's tile has no microphone or camera of its own: the sharer's tile shows them.
    const icons = [];
    if (desc.screen) icons.push(icon("screen"));
    else if (desc.audioMuted) icons.push(desc.audioLocked ? icon("lock", "locked") + icon("micOff", "off") : icon("micOff", "off"));
    else icons.push(icon("mic"));
    if (desc.videoMuted && !desc.screen) icons.push(desc.videoLocked ? icon("lock", "locked") + icon("camOff", "off") : icon("camOff", "off"));
    const iconsHTML = icons.join("");
    const iconBox = /** @type {HTMLElement} */ (tile.element.querySelector(".icons"));
    if (iconBox.innerHTML !== iconsHTML) iconBox.innerHTML = iconsHTML;
    tile.element.dataset.audioMuted = String(Boolean(desc.audioMuted));
    tile.element.dataset.videoMuted = String(Boolean(desc.videoMuted));

    // Admin actions on others' tiles: force mute (or lift it).
    const actions = /** @type {HTMLElement} */ (tile.element.querySelector(".tile-actions"));
    const actionsKey = onModerate && !desc.self && !desc.screen ? `${desc.audioLocked}/${desc.videoLocked}` : "";
    if (actionsKey !== tile.actionsKey) {
      tile.actionsKey = actionsKey;
      actions.innerHTML = "";
      if (onModerate && actionsKey) {
        const audio = document.createElement("button");
        audio.className = desc.audioLocked ? "on" : "";
        audio.dataset.action = "mute-audio";
        audio.innerHTML = `${icon("micOff")}<span>${desc.audioLocked ? "Unmute" : "Mute"}</span>`;
        audio.addEventListener("click", () => onModerate(desc.userId, "audio", !desc.audioLocked));
        const video = document.createElement("button");
        video.className = desc.videoLocked ? "on" : "";
        video.dataset.action = "mute-video";
        video.innerHTML = `${icon("camOff")}<span>${desc.videoLocked ? "Allow video" : "Stop video"}</span>`;
        video.addEventListener("click", () => onModerate(desc.userId, "video", !desc.videoLocked));
        actions.append(audio, video);
      }
    }
  }
}

/** The tiles of the call shown; index.html has one grid. */
export const grid = new TileGrid($("grid"));

// MARK: the lobby's call list

/**
 * What the buttons of the lobby's rows do.
 * @typedef {object} CallListActions
 * @property {(callId: string) => unknown} join
 * @property {(callId: string) => unknown} answer
 * @property {(callId: string) => unknown} reject
 * @property {(callId: string) => unknown} end
 */

/**
 * The calls from GET /api/calls/active, each with what I may do in it.
 * @param {any[]} calls
 * @param {{user: string | null, currentCallId: string | null, actions: CallListActions}} context
 */
export function renderCallList(calls, context) {
  const list = $("call-list");
  list.innerHTML = "";
  for (const call of calls) list.append(callRow(call, context));
  $("call-list-empty").hidden = calls.length > 0;
}

/**
 * @param {any} call
 * @param {{user: string | null, currentCallId: string | null, actions: CallListActions}} context
 */
function callRow(call, { user, currentCallId, actions }) {
  /** @type {{user: string, status: string}[]} */
  const participants = call.participants || [];
  const me = participants.find((p) => p.user === user);
  const others = participants.filter((p) => p.user !== user).map((p) => displayName(p.user));
  const li = document.createElement("li");
  li.dataset.callId = call.callId;
  const title = call.isGroupCall ? `Group call · ${others.length + 1} people` : displayName(others[0] || call.initiator);
  const detail = call.isGroupCall ? others.join(", ") || "just you" : `1-to-1 ${call.callType === "voice" ? "voice" : "video"} call`;
  li.innerHTML = `<div class="who"><span>${escapeHTML(title)}</span><span class="muted">${escapeHTML(detail)}</span></div>
    <div class="actions"><span class="pill ${escapeHTML(call.status)}">${escapeHTML(call.status)}</span></div>`;
  const buttons = /** @type {HTMLElement} */ (li.querySelector(".actions"));
  /**
   * @param {string} label
   * @param {string} style
   * @param {(callId: string) => unknown} run
   */
  const add = (label, style, run) => {
    const button = document.createElement("button");
    button.className = `btn small ${style}`;
    button.textContent = label;
    button.addEventListener("click", () => run(call.callId));
    buttons.append(button);
  };
  const inThisCall = currentCallId === call.callId;
  const invited = me?.status === "invited";
  if (call.isGroupCall) {
    if (!inThisCall) add(invited ? "Join" : "Rejoin", "primary", actions.join);
    if (invited) add("Decline", "", actions.reject);
    else add(call.initiator === user ? "End" : "Leave", "danger", actions.end);
  } else if (call.status === "ringing" && invited) {
    add("Answer", "ok", actions.answer);
    add("Decline", "", actions.reject);
  } else {
    add(call.status === "ringing" ? "Cancel" : "Hang up", "danger", actions.end);
  }
  return li;
}
