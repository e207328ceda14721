// @ts-check
// The page's state and everything a user does (sign in, start, join, answer, leave, mute): the
// `chorus` object that app.js publishes as window.chorus and its buttons call. Realtime events
// go to the call shown; the lobby lists my calls.

import { API, APIError, api, endSession, isJwt, readToken, savedHomeserver, savedToken, session, startSession } from "./api.js";
import { DirectCall } from "./direct-call.js";
import { GroupCall } from "./group-call.js";
import { matrixLogin, matrixLogout, matrixWhoami } from "./matrix.js";
import { Realtime } from "./realtime.js";
import {
  $, dismissToast, grid, renderCallList, reportError, setConnState, showIncoming, showRinging, showSignedIn,
  showSignin, showView, toast,
} from "./ui.js";

/** @typedef {import("./realtime.js").EventData} EventData */
/** @typedef {import("./call.js").CallStats} CallStats */

const MAX_EVENTS = 200;

const app = {
  /** @type {Realtime | null} */
  rt: null,
  /** @type {GroupCall | DirectCall | null} */
  call: null,
  /**
   * The last MAX_EVENTS realtime events, for the tests.
   * @type {{event: string, data: EventData, at: number}[]}
   */
  events: [],
  /** @type {Map<string, EventData>} callId → incoming-call data */
  incoming: new Map(),
  /** @type {{devTokens: boolean, matrix?: {homeserver: string}}} what GET /api/config says */
  config: { devTokens: false },
};

/**
 * @param {string} event
 * @param {object} data
 */
function send(event, data) {
  app.rt?.send(event, data);
}

/**
 * What the calls ask of the page.
 * @type {import("./call.js").CallHost}
 */
const host = {
  send,
  isCurrent: (call) => app.call === call,
  closed(call) {
    if (app.call !== call) return;
    app.call = null;
    grid.clear();
    showLobby();
  },
};

// MARK: realtime events

/**
 * @param {string} event
 * @param {EventData} data
 */
function recordEvent(event, data) {
  app.events.push({ event, data, at: Date.now() });
  if (app.events.length > MAX_EVENTS) app.events.splice(0, app.events.length - MAX_EVENTS);
}

/**
 * @param {string} event
 * @param {EventData} data
 */
function onRealtimeEvent(event, data) {
  recordEvent(event, data);
  const call = app.call;
  const mine = call && data.callId === call.callId;
  switch (event) {
    case "incoming-call":
      app.incoming.set(data.callId, data);
      showIncoming(data, lobbyActions);
      scheduleLobbyRefresh();
      return;
    case "call-ended":
    case "call-rejected":
      app.incoming.delete(data.callId);
      dismissToast(`incoming-${data.callId}`);
      scheduleLobbyRefresh();
      if (mine) call.handle(event, data);
      return;
    case "call-answered":
      // Answered on another device of mine: stop ringing here.
      if (data.from === session.user) dismissToast(`incoming-${data.callId}`);
      scheduleLobbyRefresh();
      if (mine) call.handle(event, data);
      return;
    case "error":
      if (mine || !data.callId) call?.handleError?.(data);
      if (data.code !== "muted_by_admin") toast(data.message || data.code || "error", { kind: "error" });
      return;
    default:
      if (mine) call.handle(event, data);
  }
}

// MARK: the lobby

/**
 * What the lobby's buttons and the incoming-call toasts do.
 * @type {import("./ui.js").CallListActions}
 */
const lobbyActions = {
  join: (callId) => chorus.join(callId),
  answer: (callId) => chorus.answer(callId),
  reject: (callId) => chorus.reject(callId),
  end: (callId) => endCall(callId),
};

function showLobby() {
  showView("lobby");
  refreshCalls();
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let lobbyTimer;
function scheduleLobbyRefresh() {
  clearTimeout(lobbyTimer);
  lobbyTimer = setTimeout(() => { if (!$("view-lobby").hidden) refreshCalls(); }, 150);
}

/** @returns {Promise<any[]>} my ringing and active calls, also shown in the lobby */
async function refreshCalls() {
  if (!session.token) return [];
  let calls = [];
  try {
    calls = (await api("GET", "/api/calls/active")).calls || [];
  } catch (error) {
    if (error instanceof APIError && error.status === 401) {
      toast("Your token was refused: sign in again", { kind: "error" });
      signOut();
      return [];
    }
    console.warn("active calls", error);
  }
  renderCallList(calls, { user: session.user, currentCallId: app.call?.callId ?? null, actions: lobbyActions });
  return calls;
}

/** @param {string} callId */
async function endCall(callId) {
  try {
    await api("POST", `/api/calls/${encodeURIComponent(callId)}/end`, { reason: "hangup" });
  } catch (error) {
    reportError(error, "End call");
  }
  if (app.call?.callId === callId) app.call.close();
  refreshCalls();
}

function leaveCurrentCall() {
  if (app.call) app.call.leave();
}

// MARK: sign in

/**
 * Whose a token is: a Chorus JWT's claims, or, when the server takes Matrix access tokens, the
 * user its homeserver names (the one this tab signed in at, else the server's).
 * @param {string} token
 * @returns {Promise<{claims: import("./api.js").Claims, homeserver?: string} | {problem: string}>}
 */
async function identify(token) {
  const configured = app.config.matrix?.homeserver;
  if (isJwt(token) || !configured) return readToken(token);
  const homeserver = savedHomeserver() || configured;
  try {
    return { claims: { sub: await matrixWhoami(homeserver, token) }, homeserver };
  } catch (error) {
    const status = /** @type {{status?: number}} */ (error).status;
    return { problem: status === 401 ? "That Matrix access token is not valid (any more)" : String(/** @type {Error} */ (error).message) };
  }
}

/**
 * @param {string} token a Chorus JWT or a Matrix access token
 * @param {{claims: import("./api.js").Claims, homeserver?: string}} [known] whose it is, when
 *   the page has just been told (a Matrix login)
 * @returns {Promise<boolean>} whether the page signed in with it
 */
async function signIn(token, known) {
  const read = known ?? await identify(token);
  if ("problem" in read) {
    toast(read.problem, { kind: "error" });
    return false;
  }
  app.rt?.close();
  startSession(token, read.claims, read.homeserver ?? null);
  showSignedIn(session.user, session.admin);
  const rt = new Realtime(token, onRealtimeEvent, setConnState);
  app.rt = rt;
  rt.onOpen = (reconnected) => {
    // A reconnecting client announces itself again so that the server keeps it in its call.
    if (reconnected && app.call) send("join-call", { callId: app.call.callId });
  };
  rt.connect();
  showLobby();
  return true;
}

/**
 * Password login at a Matrix homeserver; its access token is then the Chorus token.
 * @param {string} homeserver
 * @param {string} user a localpart or `@user:server`
 * @param {string} password
 * @returns {Promise<boolean>} whether the page signed in (a refused login throws MatrixError)
 */
async function signInWithMatrix(homeserver, user, password) {
  const { token, userId } = await matrixLogin(homeserver, user, password);
  return signIn(token, { claims: { sub: userId }, homeserver });
}

function signOut() {
  app.call?.leave();
  app.rt?.close();
  app.rt = null;
  // A login this page made ends with it: no device is left behind at the homeserver.
  if (session.homeserver && session.token) {
    matrixLogout(session.homeserver, session.token).catch((error) => console.warn("Matrix logout", error));
  }
  endSession();
  showSignin(app.config);
}

// MARK: the hook the tests use; the buttons call the same functions

/** @param {string} callId */
const statusOf = (callId) => api("GET", `/api/calls/${encodeURIComponent(callId)}/status`);

export const chorus = {
  events: app.events,
  api: API,
  /** True once the page has booted (signed in or showing the sign-in form). */
  ready: false,

  state() {
    const call = app.call;
    return {
      user: session.user,
      admin: session.admin,
      connected: app.rt?.socket?.readyState === WebSocket.OPEN,
      callId: call?.callId ?? null,
      callKind: call?.kind ?? null,
      connectionState: call?.pc?.connectionState ?? null,
      signalingState: call?.pc?.signalingState ?? null,
      audioEnabled: call ? call.audioEnabled : null,
      videoEnabled: call ? call.videoEnabled : null,
      audioLocked: call ? call.audioLocked : null,
      videoLocked: call ? call.videoLocked : null,
      timings: call ? { ...call.timings } : null,
      tiles: call && call.tiles ? call.tiles().map((t) => ({
        userId: t.userId, self: Boolean(t.self), hasVideo: Boolean(t.hasVideo),
        audioMuted: Boolean(t.audioMuted), videoMuted: Boolean(t.videoMuted),
        audioLocked: Boolean(t.audioLocked), videoLocked: Boolean(t.videoLocked),
        videoPaused: Boolean(t.videoPaused), screen: Boolean(t.screen),
      })) : [],
      // Group calls: whether I share my screen.
      screenSharing: call && call.kind === "group" ? Boolean(call.screen) : null,
      // Group calls: the spatial layer asked of the SFU for each tile's video (`sfu-layers`).
      layers: call && "layerRequests" in call ? Object.fromEntries(call.layerRequests) : {},
    };
  },

  /** @returns {Promise<CallStats>} */
  async stats() {
    return app.call ? app.call.stats() : { inbound: [], outbound: [], pair: null, connectionState: null };
  },

  signIn,
  signInWithMatrix,
  signOut,
  refreshCalls,

  /**
   * @param {string[] | string} invitees a list or "bob, carol"
   * @returns {Promise<string>} the call id
   */
  async startGroupCall(invitees) {
    const list = (Array.isArray(invitees) ? invitees : String(invitees || "").split(","))
      .map((s) => s.trim()).filter(Boolean);
    const call = await api("POST", "/api/calls/initiate", {
      roomId: `web-${crypto.randomUUID().slice(0, 8)}`, callType: "video", invitees: list, isGroupCall: true,
    });
    await chorus.openGroup(call.callId, call);
    return call.callId;
  },

  /**
   * @param {string} callId
   * @param {object} [info]
   * @returns {Promise<string>}
   */
  async openGroup(callId, info) {
    if (app.call) app.call.leave();
    const call = new GroupCall(host, callId, info);
    app.call = call;
    await call.start();
    return callId;
  },

  /**
   * Joins a group call (or answers a 1-to-1 call).
   * @param {string} callId
   * @returns {Promise<string | null>}
   */
  async join(callId) {
    dismissToast(`incoming-${callId}`);
    app.incoming.delete(callId);
    if (app.call?.callId === callId) return callId;
    let call = null;
    try {
      call = await statusOf(callId);
    } catch (error) {
      reportError(error, "Join");
      return null;
    }
    if (!call.isGroupCall) return chorus.answer(callId);
    return chorus.openGroup(callId, call);
  },

  /** @param {string} callId */
  async reject(callId) {
    dismissToast(`incoming-${callId}`);
    app.incoming.delete(callId);
    try {
      await api("POST", `/api/calls/${encodeURIComponent(callId)}/reject`, { reason: "declined" });
    } catch (error) {
      reportError(error, "Decline");
    }
    refreshCalls();
  },

  /**
   * Calls a user, 1-to-1; or, given a Matrix room id (`!…`), the room's other member, whose
   * Matrix client rings (the server checks the room with the homeserver).
   * @param {string} userOrRoom
   * @returns {Promise<string>} the call id
   */
  async call(userOrRoom) {
    const target = String(userOrRoom || "").trim();
    if (!target) throw new Error("whom to call?");
    const matrixRoom = target.startsWith("!");
    const call = await api("POST", "/api/calls/initiate", matrixRoom
      ? { roomId: target, callType: "video", isGroupCall: false }
      : { roomId: `web-${crypto.randomUUID().slice(0, 8)}`, callType: "video", invitees: [target], isGroupCall: false });
    const peer = matrixRoom
      ? /** @type {{user: string}[]} */ (call.participants).find((p) => p.user !== session.user)?.user ?? target
      : target;
    if (app.call) app.call.leave();
    // A Matrix client rings with the offer in its m.call.invite: offer now, not once answered.
    const direct = new DirectCall(host, call.callId, "caller", peer, { offerWithRing: matrixRoom });
    app.call = direct;
    showRinging(peer);
    return call.callId;
  },

  /**
   * Answers a 1-to-1 call ringing for me.
   * @param {string} callId
   * @returns {Promise<string | null>}
   */
  async answer(callId) {
    dismissToast(`incoming-${callId}`);
    const incoming = app.incoming.get(callId);
    app.incoming.delete(callId);
    const peer = incoming?.from || incoming?.initiator || (await statusOf(callId)).initiator;
    if (app.call) app.call.leave();
    const direct = new DirectCall(host, callId, "callee", peer);
    app.call = direct;
    showView("call");
    direct.render();
    try {
      await api("POST", `/api/calls/${encodeURIComponent(callId)}/answer`);
    } catch (error) {
      reportError(error, "Answer");
      direct.close();
      return null;
    }
    // A call that rang with its offer (a Matrix client's m.call.invite) sends no other: answer it.
    const offer = incoming?.offer?.sdp ?? incoming?.sdp;
    if (offer) direct.handle("webrtc-offer", { callId, from: peer, sdp: offer, type: "offer" });
    return callId;
  },

  async hangUp() {
    const call = app.call;
    if (!call) return;
    if (call.kind === "direct") await call.hangUp();
    else call.leave();
  },

  leave() {
    leaveCurrentCall();
  },

  /** @param {boolean} [enabled] default: the other way round */
  toggleAudio(enabled) {
    const call = app.call;
    if (!call) return null;
    return call.toggle("audio", enabled === undefined ? !call.audioEnabled : Boolean(enabled));
  },

  /** @param {boolean} [enabled] default: the other way round */
  toggleVideo(enabled) {
    const call = app.call;
    if (!call) return null;
    return call.toggle("video", enabled === undefined ? !call.videoEnabled : Boolean(enabled));
  },

  /** Group calls: shares the screen (getDisplayMedia), or stops sharing it. */
  toggleScreenShare() {
    if (app.call?.kind !== "group") return null;
    return app.call.toggleScreenShare();
  },

  /**
   * An admin mutes (or lets unmute) another participant of the group call.
   * @param {string} userId
   * @param {"audio" | "video"} kind
   * @param {boolean} muted
   */
  muteParticipant(userId, kind, muted) {
    if (app.call?.kind !== "group") return;
    app.call.muteParticipant(userId, kind, Boolean(muted));
  },
};

/** Reads what the server allows, then signs in with this tab's token, else shows the sign-in form. */
export async function start() {
  try {
    app.config = await api("GET", "/api/config");
  } catch {
    app.config = { devTokens: false };
  }
  const token = savedToken();
  if (!(token && await signIn(token))) showSignin(app.config);
}
