// Chorus web client: sign-in, the realtime WebSocket, the lobby, group calls through the SFU
// (one RTCPeerConnection, polite perfect negotiation over sfu-offer/sfu-answer, see
// docs/API.md) and 1-to-1 P2P calls. `window.chorus` is the hook the browser tests drive.

const params = new URLSearchParams(location.search);
// `?api=http://127.0.0.1:PORT` points a page served elsewhere at a Chorus server (development).
const API = (params.get("api") || location.origin).replace(/\/+$/, "");
// `?relay=1`: 1-to-1 calls use TURN relay candidates only (the TURN test forces this path).
const RELAY_ONLY = params.get("relay") === "1";
// Small video so that three browsers and the SFU fit on a two-core machine.
const VIDEO_CONSTRAINTS = {
  width: { ideal: 320, max: 320 }, height: { ideal: 240, max: 240 }, frameRate: { ideal: 15, max: 15 },
};
const MAX_EVENTS = 200;
const TOKEN_KEY = "chorus.token";

const $ = (id) => document.getElementById(id);

// MARK: icons (inline SVG, Feather-style strokes)

const PATHS = {
  mic: '<path d="M12 2a3 3 0 0 0-3 3v7a3 3 0 0 0 6 0V5a3 3 0 0 0-3-3z"/><path d="M19 10v2a7 7 0 0 1-14 0v-2"/><line x1="12" y1="19" x2="12" y2="23"/><line x1="8" y1="23" x2="16" y2="23"/>',
  micOff: '<line x1="1" y1="1" x2="23" y2="23"/><path d="M9 9v3a3 3 0 0 0 5.12 2.12M15 9.34V4a3 3 0 0 0-5.94-.6"/><path d="M17 16.95A7 7 0 0 1 5 12v-2m14 0v2a7 7 0 0 1-.11 1.23"/><line x1="12" y1="19" x2="12" y2="23"/><line x1="8" y1="23" x2="16" y2="23"/>',
  cam: '<polygon points="23 7 16 12 23 17 23 7"/><rect x="1" y="5" width="15" height="14" rx="2" ry="2"/>',
  camOff: '<path d="M16 16v1a2 2 0 0 1-2 2H3a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2h2m5.66 0H14a2 2 0 0 1 2 2v3.34l1 1L23 7v10"/><line x1="1" y1="1" x2="23" y2="23"/>',
  hangUp: '<path d="M10.68 13.31a16 16 0 0 0 3.41 2.6l1.27-1.27a2 2 0 0 1 2.11-.45 12.84 12.84 0 0 0 2.81.7 2 2 0 0 1 1.72 2v3a2 2 0 0 1-2.18 2 19.79 19.79 0 0 1-8.63-3.07 19.42 19.42 0 0 1-3.33-2.67m-2.67-3.34a19.79 19.79 0 0 1-3.07-8.63A2 2 0 0 1 4.11 2h3a2 2 0 0 1 2 1.72 12.84 12.84 0 0 0 .7 2.81 2 2 0 0 1-.45 2.11L8.09 9.91"/><line x1="23" y1="1" x2="1" y2="23"/>',
  lock: '<rect x="3" y="11" width="18" height="11" rx="2" ry="2"/><path d="M7 11V7a5 5 0 0 1 10 0v4"/>',
};

function icon(name, cls = "") {
  return `<svg class="${cls}" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${PATHS[name]}</svg>`;
}

// MARK: small helpers

function escapeHTML(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** "@alice-1f2e:example.org" → "alice-1f2e": Matrix ids read better without sigil and server. */
function displayName(userId) {
  if (!userId) return "?";
  const match = /^@([^:]+):/.exec(userId);
  return match ? match[1] : userId;
}

function avatarColor(userId) {
  let hash = 0;
  for (const c of String(userId)) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360} 55% 45%)`;
}

/** The JWT payload (RFC 7519 §3): base64url JSON, read without checking the signature
    (the server checks it; the page only shows who it is). */
function decodeJwt(token) {
  const part = token.split(".")[1];
  if (!part) throw new Error("not a JWT");
  const base64 = part.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (part.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// MARK: toasts

function toast(message, { kind = "info", actions = [], timeout = 6000, id } = {}) {
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

function dismissToast(id) {
  document.querySelector(`.toast[data-id="${CSS.escape(id)}"]`)?.remove();
}

function reportError(error, context) {
  console.warn(context, error);
  toast(`${context ? context + ": " : ""}${error?.message || error}`, { kind: "error" });
}

// MARK: HTTP

class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const headers = {};
  if (app.token) headers.Authorization = `Bearer ${app.token}`;
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

// MARK: realtime connection

/** The native WebSocket at /ws, reconnected with exponential backoff while signed in. */
class Realtime {
  constructor(token, onEvent) {
    this.token = token;
    this.onEvent = onEvent;
    this.socket = null;
    this.attempts = 0;
    this.queue = [];
    this.stopped = false;
    this.timer = null;
    this.onOpen = null;
  }

  connect() {
    if (this.stopped) return;
    setConnState("connecting");
    const url = `${API.replace(/^http/, "ws")}/ws?token=${encodeURIComponent(this.token)}`;
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      const reconnected = this.attempts > 0 || this.everOpened;
      this.attempts = 0;
      this.everOpened = true;
      setConnState("online");
      for (const frame of this.queue.splice(0)) socket.send(frame);
      this.onOpen?.(reconnected);
    };
    socket.onmessage = (message) => {
      let frame;
      try { frame = JSON.parse(message.data); } catch { return; }
      if (frame && typeof frame.event === "string") this.onEvent(frame.event, frame.data || {});
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      setConnState("offline");
      if (this.stopped) return;
      // 0.5 s, 1 s, 2 s ... up to 15 s, with jitter so that many clients do not return together.
      const delay = Math.min(15000, 500 * 2 ** this.attempts) * (0.75 + Math.random() * 0.5);
      this.attempts += 1;
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }

  send(event, data) {
    const frame = JSON.stringify({ event, data });
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(frame);
    else if (this.queue.length < 100) this.queue.push(frame);
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.close();
    setConnState("offline");
  }
}

function setConnState(state) {
  const element = $("conn");
  element.dataset.state = state;
  element.textContent = state;
}

// MARK: application state

const app = {
  token: null,
  user: null,
  admin: false,
  rt: null,
  call: null, // GroupCall or DirectCall
  events: [],
  incoming: new Map(), // callId → incoming-call data
  config: { devTokens: false },
};

function send(event, data) {
  app.rt?.send(event, data);
}

function recordEvent(event, data) {
  app.events.push({ event, data, at: Date.now() });
  if (app.events.length > MAX_EVENTS) app.events.splice(0, app.events.length - MAX_EVENTS);
}

function onRealtimeEvent(event, data) {
  recordEvent(event, data);
  const call = app.call;
  const mine = call && data.callId === call.callId;
  switch (event) {
    case "incoming-call":
      showIncoming(data);
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
      if (data.from === app.user) dismissToast(`incoming-${data.callId}`);
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

// MARK: local media

async function getLocalMedia() {
  const attempts = [
    { audio: true, video: VIDEO_CONSTRAINTS },
    { audio: true, video: false },
    { audio: false, video: VIDEO_CONSTRAINTS },
  ];
  for (const constraints of attempts) {
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch (error) {
      console.warn("getUserMedia", constraints, error);
    }
  }
  toast("No camera or microphone: joining to watch and listen only", { kind: "error" });
  return new MediaStream();
}

// MARK: tiles

/** Keeps the tile grid equal to a list of tile descriptions, creating and removing elements. */
class TileGrid {
  constructor(element) {
    this.element = element;
    this.tiles = new Map(); // key → {element, video, stream}
  }

  clear() {
    for (const tile of this.tiles.values()) tile.element.remove();
    this.tiles.clear();
    this.element.dataset.count = "0";
  }

  /** descs: [{key, userId, self, stream, hasVideo, audioMuted, videoMuted, audioLocked, videoLocked, status}] */
  update(descs, { canModerate = false, onFirstFrame } = {}) {
    const keys = new Set(descs.map((d) => d.key));
    for (const [key, tile] of this.tiles) {
      if (!keys.has(key)) { tile.element.remove(); this.tiles.delete(key); }
    }
    for (const desc of descs) {
      let tile = this.tiles.get(desc.key);
      if (!tile) {
        tile = this.create(desc);
        this.tiles.set(desc.key, tile);
      }
      this.element.append(tile.element); // keeps the order of descs
      this.fill(tile, desc, canModerate, onFirstFrame);
    }
    this.element.dataset.count = String(descs.length);
  }

  create(desc) {
    const element = document.createElement("div");
    element.className = "tile" + (desc.self ? " self" : "");
    element.dataset.user = desc.userId;
    element.innerHTML = `
      <video autoplay playsinline ${desc.self ? "muted" : ""}></video>
      <div class="avatar"><span></span></div>
      <div class="state" hidden></div>
      <div class="tile-actions"></div>
      <div class="label"><span class="icons"></span><span class="name"></span></div>`;
    const avatar = element.querySelector(".avatar span");
    avatar.textContent = displayName(desc.userId).slice(0, 1).toUpperCase();
    avatar.style.setProperty("--avatar", avatarColor(desc.userId));
    const name = element.querySelector(".name");
    name.textContent = desc.self ? `${displayName(desc.userId)} (you)` : displayName(desc.userId);
    name.title = desc.userId;
    return { element, video: element.querySelector("video"), stream: null, actionsKey: "" };
  }

  fill(tile, desc, canModerate, onFirstFrame) {
    if (tile.stream !== desc.stream) {
      tile.stream = desc.stream;
      tile.video.srcObject = desc.stream || null;
      if (desc.stream && !desc.self && onFirstFrame && "requestVideoFrameCallback" in tile.video) {
        tile.video.requestVideoFrameCallback(() => onFirstFrame(desc.userId));
      }
      if (desc.stream) tile.video.play?.().catch(() => { /* autoplay policy; muted tiles still show */ });
    }
    tile.element.classList.toggle("has-video", Boolean(desc.hasVideo));
    const state = tile.element.querySelector(".state");
    state.hidden = !desc.status;
    state.textContent = desc.status || "";
    const icons = [];
    if (desc.audioMuted) icons.push(desc.audioLocked ? icon("lock", "locked") + icon("micOff", "off") : icon("micOff", "off"));
    else icons.push(icon("mic"));
    if (desc.videoMuted) icons.push(desc.videoLocked ? icon("lock", "locked") + icon("camOff", "off") : icon("camOff", "off"));
    const iconsHTML = icons.join("");
    const iconBox = tile.element.querySelector(".icons");
    if (iconBox.innerHTML !== iconsHTML) iconBox.innerHTML = iconsHTML;
    tile.element.dataset.audioMuted = String(Boolean(desc.audioMuted));
    tile.element.dataset.videoMuted = String(Boolean(desc.videoMuted));

    // Admin actions on others' tiles: force mute (or lift it).
    const actions = tile.element.querySelector(".tile-actions");
    const actionsKey = canModerate && !desc.self ? `${desc.audioLocked}/${desc.videoLocked}` : "";
    if (actionsKey !== tile.actionsKey) {
      tile.actionsKey = actionsKey;
      actions.innerHTML = "";
      if (actionsKey) {
        const audio = document.createElement("button");
        audio.className = desc.audioLocked ? "on" : "";
        audio.dataset.action = "mute-audio";
        audio.innerHTML = `${icon("micOff")}<span>${desc.audioLocked ? "Unmute" : "Mute"}</span>`;
        audio.addEventListener("click", () => chorus.muteParticipant(desc.userId, "audio", !desc.audioLocked));
        const video = document.createElement("button");
        video.className = desc.videoLocked ? "on" : "";
        video.dataset.action = "mute-video";
        video.innerHTML = `${icon("camOff")}<span>${desc.videoLocked ? "Allow video" : "Stop video"}</span>`;
        video.addEventListener("click", () => chorus.muteParticipant(desc.userId, "video", !desc.videoLocked));
        actions.append(audio, video);
      }
    }
  }
}

const grid = new TileGrid($("grid"));

function liveTracks(stream, kind) {
  if (!stream) return [];
  return stream.getTracks().filter((t) => t.kind === kind && t.readyState === "live");
}

// MARK: shared call behaviour

/** What group and 1-to-1 calls share: local media, self mute, the serial event chain, stats. */
class CallBase {
  constructor(callId) {
    this.callId = callId;
    this.local = null;
    this.pc = null;
    this.audioEnabled = true;
    this.videoEnabled = true;
    this.audioLocked = false;
    this.videoLocked = false;
    this.closed = false;
    this.chain = Promise.resolve();
    this.timings = { joinStarted: Date.now(), firstRemoteFrame: null, firstRemoteFrameFrom: null };
  }

  /** Realtime events for this call run one at a time, in order (SDP handling is async). */
  handle(event, data) {
    this.chain = this.chain.then(() => (this.closed ? undefined : this.process(event, data)))
      .catch((error) => console.warn(`handling ${event}`, error));
  }

  localTrack(kind) {
    return this.local?.getTracks().find((t) => t.kind === kind) || null;
  }

  toggle(kind, enabled) {
    const isAudio = kind === "audio";
    const locked = isAudio ? this.audioLocked : this.videoLocked;
    // Muted by an admin: ask anyway (the server decides and answers muted_by_admin), but keep
    // the track off so that nothing is sent meanwhile.
    if (!(enabled && locked)) {
      if (isAudio) this.audioEnabled = enabled; else this.videoEnabled = enabled;
      const track = this.localTrack(kind);
      if (track) track.enabled = enabled;
    }
    send(isAudio ? "toggle-audio" : "toggle-video", { callId: this.callId, enabled });
    this.render();
    return isAudio ? this.audioEnabled : this.videoEnabled;
  }

  handleError(data) {
    if (data.code === "muted_by_admin") {
      const isAudio = data.event === "toggle-audio";
      if (isAudio) { this.audioEnabled = false; this.audioLocked = true; } else { this.videoEnabled = false; this.videoLocked = true; }
      const track = this.localTrack(isAudio ? "audio" : "video");
      if (track) track.enabled = false;
      toast(isAudio ? "The host muted your microphone" : "The host turned your camera off", { kind: "error" });
      this.render();
    }
  }

  /** A mute change of mine made elsewhere (admin, or another device of mine). */
  applySelfToggle(kind, enabled, byAdmin) {
    const isAudio = kind === "audio";
    if (isAudio) { this.audioEnabled = enabled; if (byAdmin) this.audioLocked = !enabled; } else { this.videoEnabled = enabled; if (byAdmin) this.videoLocked = !enabled; }
    const track = this.localTrack(kind);
    if (track) track.enabled = enabled;
    if (byAdmin && !enabled) toast(isAudio ? "The host muted your microphone" : "The host turned your camera off", { kind: "error" });
    if (byAdmin && enabled) toast(isAudio ? "The host let you unmute" : "The host allowed your camera");
  }

  firstFrame(userId) {
    if (!this.timings.firstRemoteFrame) {
      this.timings.firstRemoteFrame = Date.now();
      this.timings.firstRemoteFrameFrom = userId;
    }
  }

  renderControls() {
    const mic = $("btn-mic");
    mic.innerHTML = icon(this.audioEnabled ? "mic" : "micOff");
    mic.setAttribute("aria-pressed", String(!this.audioEnabled));
    mic.classList.toggle("locked", this.audioLocked);
    mic.title = this.audioLocked ? "Muted by the host" : this.audioEnabled ? "Mute microphone" : "Unmute microphone";
    const cam = $("btn-cam");
    cam.innerHTML = icon(this.videoEnabled ? "cam" : "camOff");
    cam.setAttribute("aria-pressed", String(!this.videoEnabled));
    cam.classList.toggle("locked", this.videoLocked);
    cam.title = this.videoLocked ? "Camera stopped by the host" : this.videoEnabled ? "Turn camera off" : "Turn camera on";
    $("btn-leave").innerHTML = icon("hangUp");
  }

  selfTile() {
    return {
      key: "self", userId: app.user, self: true, stream: this.local,
      hasVideo: this.videoEnabled && liveTracks(this.local, "video").length > 0,
      audioMuted: !this.audioEnabled, videoMuted: !this.videoEnabled,
      audioLocked: this.audioLocked, videoLocked: this.videoLocked,
    };
  }

  stopLocal() {
    for (const track of this.local?.getTracks() || []) track.stop();
  }

  /** Per inbound-rtp counters, labelled with the user they come from, and the selected ICE pair. */
  async stats() {
    const pc = this.pc;
    if (!pc) return { inbound: [], pair: null, connectionState: null };
    const report = await pc.getStats();
    const byMid = new Map(pc.getTransceivers().filter((t) => t.mid !== null).map((t) => [t.mid, t]));
    const inbound = [];
    let pair = null;
    for (const stat of report.values()) {
      if (stat.type === "inbound-rtp") {
        const transceiver = byMid.get(stat.mid);
        const track = transceiver?.receiver.track;
        const live = Boolean(transceiver && !transceiver.stopped && transceiver.currentDirection !== "stopped"
          && transceiver.currentDirection !== "inactive" && track?.readyState === "live");
        inbound.push({
          kind: stat.kind, userId: this.userOfTrack(stat.trackIdentifier), trackIdentifier: stat.trackIdentifier,
          mid: stat.mid ?? null, ssrc: stat.ssrc, live,
          framesDecoded: stat.framesDecoded ?? null, keyFramesDecoded: stat.keyFramesDecoded ?? null,
          packetsReceived: stat.packetsReceived ?? 0, bytesReceived: stat.bytesReceived ?? 0,
          packetsLost: stat.packetsLost ?? 0, frameWidth: stat.frameWidth ?? null, frameHeight: stat.frameHeight ?? null,
        });
      } else if (stat.type === "transport" && stat.selectedCandidatePairId) {
        pair = report.get(stat.selectedCandidatePairId) || pair;
      }
    }
    if (!pair) {
      for (const stat of report.values()) {
        if (stat.type === "candidate-pair" && stat.nominated && stat.state === "succeeded") pair = stat;
      }
    }
    let selected = null;
    if (pair) {
      const local = report.get(pair.localCandidateId);
      const remote = report.get(pair.remoteCandidateId);
      selected = {
        state: pair.state,
        local: local?.candidateType ?? null, remote: remote?.candidateType ?? null,
        localAddress: local ? `${local.address}:${local.port}` : null,
        remoteAddress: remote ? `${remote.address}:${remote.port}` : null,
        localRelayProtocol: local?.relayProtocol ?? null,
      };
    }
    return { inbound, pair: selected, connectionState: pc.connectionState };
  }
}

// MARK: group call through the SFU

class GroupCall extends CallBase {
  constructor(callId, info = {}) {
    super(callId);
    this.kind = "group";
    this.info = info;
    this.participants = new Map(); // userId → {userId, audioMuted, videoMuted, audioLocked, videoLocked}
    this.streamOwners = new Map(); // msid stream id → userId (from sfu-offer/sfu-answer `streams`)
    this.remoteStreams = new Map(); // msid stream id → MediaStream
    this.trackStreams = new Map(); // receiver track id → msid stream id
    this.left = new Set(); // users who left: a late `streams` entry must not bring their tile back
    this.makingOffer = false;
  }

  async start() {
    showView("call");
    $("call-title").textContent = "Group call";
    $("call-sub").textContent = "joining…";
    this.render();
    this.local = await getLocalMedia();
    if (this.closed) { this.stopLocal(); return; }
    // The initiator is joined from the start; join-call is then a harmless re-announcement.
    send("join-call", { callId: this.callId });
    this.seedParticipants();
    this.createPeer();
    this.render();
  }

  async seedParticipants() {
    try {
      const call = await api("GET", `/api/calls/${encodeURIComponent(this.callId)}/status`);
      for (const p of call.participants || []) {
        if (p.user === app.user) continue;
        if (p.status === "joined") {
          this.participant(p.user, { audioMuted: p.audioEnabled === false, videoMuted: p.videoEnabled === false });
        }
      }
      this.render();
    } catch (error) {
      console.warn("call status", error);
    }
  }

  participant(userId, changes = {}) {
    let p = this.participants.get(userId);
    if (!p) {
      p = { userId, audioMuted: false, videoMuted: false, audioLocked: false, videoLocked: false, order: this.participants.size };
      this.participants.set(userId, p);
    }
    Object.assign(p, changes);
    return p;
  }

  /** One RTCPeerConnection to the SFU: our mic and camera go out on sendonly transceivers; the
      others' media arrive on m-lines the SFU adds by offering. The SFU is ICE-lite with one
      host candidate in its SDP: no ICE servers. */
  createPeer() {
    const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
    this.pc = pc;
    this.makingOffer = false;
    pc.onnegotiationneeded = async () => {
      if (pc !== this.pc || this.closed) return;
      try {
        this.makingOffer = true;
        await pc.setLocalDescription();
        const offer = pc.localDescription;
        if (offer?.type === "offer") send("sfu-offer", { callId: this.callId, sdp: offer.sdp });
      } catch (error) {
        console.warn("negotiationneeded", error);
      } finally {
        this.makingOffer = false;
      }
    };
    pc.ontrack = (event) => {
      if (pc !== this.pc) return;
      const track = event.track;
      const stream = event.streams[0] || new MediaStream([track]);
      this.remoteStreams.set(stream.id, stream);
      this.trackStreams.set(track.id, stream.id);
      track.addEventListener("ended", () => this.render());
      track.addEventListener("mute", () => this.render());
      track.addEventListener("unmute", () => this.render());
      stream.onremovetrack = () => this.render();
      this.render();
    };
    pc.onconnectionstatechange = () => this.render();
    // The SFU learns our address from connectivity checks (ICE-lite); candidates are not sent.
    for (const kind of ["audio", "video"]) {
      const track = this.localTrack(kind);
      if (track) pc.addTransceiver(track, { direction: "sendonly", streams: [this.local] });
      else pc.addTransceiver(kind, { direction: "recvonly" });
    }
  }

  learnStreams(streams) {
    if (!Array.isArray(streams)) return;
    for (const s of streams) {
      if (!s || !s.streamId || !s.userId) continue;
      this.streamOwners.set(s.streamId, s.userId);
      if (s.userId === app.user || this.left.has(s.userId)) continue;
      const p = this.participant(s.userId);
      if (typeof s.audioMuted === "boolean") p.audioMuted = s.audioMuted;
      if (typeof s.videoMuted === "boolean") p.videoMuted = s.videoMuted;
    }
  }

  userOfTrack(trackId) {
    const streamId = this.trackStreams.get(trackId);
    return streamId ? this.streamOwners.get(streamId) ?? null : null;
  }

  async process(event, data) {
    const pc = this.pc;
    switch (event) {
      case "sfu-offer": {
        // Polite peer (perfect negotiation): the server's offer wins a collision; setting it
        // rolls back our own offer, and negotiationneeded fires again once we are stable.
        this.learnStreams(data.streams);
        if (!pc) return;
        await pc.setRemoteDescription({ type: "offer", sdp: data.sdp });
        await pc.setLocalDescription();
        send("sfu-answer", { callId: this.callId, sdp: pc.localDescription.sdp });
        this.render();
        return;
      }
      case "sfu-answer":
        this.learnStreams(data.streams);
        if (pc && pc.signalingState === "have-local-offer") {
          await pc.setRemoteDescription({ type: "answer", sdp: data.sdp });
        }
        this.render();
        return;
      case "sfu-closed":
        // The SFU dropped our transport (ICE consent lost): start media again on a new pc.
        toast("Media connection lost, reconnecting…", { kind: "error" });
        this.closePeer();
        this.createPeer();
        this.render();
        return;
      case "user-joined":
        if (data.userId && data.userId !== app.user) {
          this.left.delete(data.userId);
          this.participant(data.userId);
        }
        this.render();
        return;
      case "user-left":
        if (data.userId && data.userId !== app.user) {
          this.participants.delete(data.userId);
          this.left.add(data.userId);
          toast(`${displayName(data.userId)} left`, { timeout: 3000 });
        }
        this.render();
        return;
      case "audio-toggled":
      case "video-toggled": {
        const kind = event === "audio-toggled" ? "audio" : "video";
        if (data.userId === app.user) {
          this.applySelfToggle(kind, data.enabled !== false, data.byAdmin === true);
        } else if (data.userId) {
          const changes = kind === "audio" ? { audioMuted: data.enabled === false } : { videoMuted: data.enabled === false };
          if (data.byAdmin === true) changes[kind === "audio" ? "audioLocked" : "videoLocked"] = data.enabled === false;
          else if (data.enabled !== false) changes[kind === "audio" ? "audioLocked" : "videoLocked"] = false;
          this.participant(data.userId, changes);
        }
        this.render();
        return;
      }
      case "call-ended":
        toast("The call has ended");
        this.close();
        return;
      default:
    }
  }

  handleError(data) {
    super.handleError(data);
    if (data.event === "mute-participant" && this.pendingModeration) {
      const { userId, kind, previous } = this.pendingModeration;
      const p = this.participants.get(userId);
      if (p) Object.assign(p, previous);
      this.pendingModeration = null;
      this.render();
    }
    if (["join-call", "sfu-offer"].includes(data.event) && data.code !== "muted_by_admin") {
      this.render();
    }
  }

  muteParticipant(userId, kind, muted) {
    const p = this.participant(userId);
    const previous = { audioMuted: p.audioMuted, videoMuted: p.videoMuted, audioLocked: p.audioLocked, videoLocked: p.videoLocked };
    this.pendingModeration = { userId, kind, previous };
    if (kind === "audio") Object.assign(p, { audioMuted: muted, audioLocked: muted });
    else Object.assign(p, { videoMuted: muted, videoLocked: muted });
    send("mute-participant", { callId: this.callId, userId, kind, muted });
    this.render();
  }

  /** The live remote stream of a user (the newest one, after a rejoin). */
  streamOf(userId) {
    let found = null;
    for (const [streamId, stream] of this.remoteStreams) {
      if (this.streamOwners.get(streamId) !== userId) continue;
      if (stream.getTracks().some((t) => t.readyState === "live" && this.receiving(t))) found = stream;
    }
    return found;
  }

  /** False once the track's transceiver stopped (its m-line was disabled: the user left). */
  receiving(track) {
    const transceiver = this.pc?.getTransceivers().find((t) => t.receiver.track === track);
    if (!transceiver) return false;
    return !transceiver.stopped && transceiver.currentDirection !== "stopped" && transceiver.currentDirection !== "inactive";
  }

  tiles() {
    const descs = [this.selfTile()];
    const others = [...this.participants.values()].sort((a, b) => a.order - b.order);
    for (const p of others) {
      const stream = this.streamOf(p.userId);
      const videoLive = liveTracks(stream, "video").filter((t) => this.receiving(t));
      descs.push({
        key: p.userId, userId: p.userId, self: false, stream,
        hasVideo: videoLive.length > 0 && !p.videoMuted,
        audioMuted: p.audioMuted, videoMuted: p.videoMuted, audioLocked: p.audioLocked, videoLocked: p.videoLocked,
        status: stream ? "" : "connecting…",
      });
    }
    return descs;
  }

  render() {
    if (this.closed || app.call !== this) return;
    grid.update(this.tiles(), { canModerate: app.admin, onFirstFrame: (userId) => this.firstFrame(userId) });
    this.renderControls();
    const n = this.participants.size + 1;
    const state = this.pc?.connectionState || "new";
    $("call-sub").textContent = `${n} ${n === 1 ? "person" : "people"} · ${state === "connected" ? "connected" : state}`;
  }

  closePeer() {
    const pc = this.pc;
    this.pc = null;
    if (pc) { pc.onnegotiationneeded = null; pc.ontrack = null; pc.onconnectionstatechange = null; pc.close(); }
    this.remoteStreams.clear();
    this.trackStreams.clear();
  }

  leave() {
    if (this.closed) return;
    send("leave-call", { callId: this.callId });
    this.close();
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.closePeer();
    this.stopLocal();
    if (app.call === this) {
      app.call = null;
      grid.clear();
      showLobby();
    }
  }
}

// MARK: 1-to-1 call, peer to peer

class DirectCall extends CallBase {
  constructor(callId, role, peer) {
    super(callId);
    this.kind = "direct";
    this.role = role; // "caller" or "callee"
    this.peer = peer;
    this.remoteStream = new MediaStream();
    this.pendingCandidates = [];
    this.peerAudioMuted = false;
    this.peerVideoMuted = false;
    this.status = role === "caller" ? "ringing" : "connecting";
    this.ready = this.prepare();
    this.ready.catch((error) => reportError(error, "Could not start the call"));
  }

  async prepare() {
    this.local = await getLocalMedia();
    const { iceServers } = await api("GET", "/api/ice-servers");
    if (this.closed) { this.stopLocal(); return; }
    const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: RELAY_ONLY ? "relay" : "all" });
    this.pc = pc;
    pc.onicecandidate = (event) => {
      if (event.candidate && event.candidate.candidate) {
        send("ice-candidate", {
          callId: this.callId, candidate: event.candidate.candidate,
          sdpMid: event.candidate.sdpMid, sdpMLineIndex: event.candidate.sdpMLineIndex,
        });
      }
    };
    pc.ontrack = (event) => {
      this.remoteStream.addTrack(event.track);
      event.track.addEventListener("ended", () => this.render());
      this.render();
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected") this.status = "active";
      this.render();
    };
    for (const track of this.local.getTracks()) pc.addTrack(track, this.local);
    this.render();
  }

  async process(event, data) {
    switch (event) {
      case "call-answered":
        if (this.role !== "caller") return;
        this.status = "connecting";
        showCallView(this);
        await this.ready;
        if (this.closed) return;
        await this.pc.setLocalDescription(await this.pc.createOffer());
        send("webrtc-offer", { callId: this.callId, sdp: this.pc.localDescription.sdp, type: "offer" });
        return;
      case "webrtc-offer": {
        await this.ready;
        if (this.closed) return;
        await this.pc.setRemoteDescription({ type: "offer", sdp: data.sdp });
        await this.flushCandidates();
        await this.pc.setLocalDescription(await this.pc.createAnswer());
        send("webrtc-answer", { callId: this.callId, sdp: this.pc.localDescription.sdp, type: "answer" });
        return;
      }
      case "webrtc-answer":
        await this.ready;
        if (this.closed || this.pc.signalingState !== "have-local-offer") return;
        await this.pc.setRemoteDescription({ type: "answer", sdp: data.sdp });
        await this.flushCandidates();
        return;
      case "ice-candidate": {
        const candidate = { candidate: data.candidate, sdpMid: data.sdpMid ?? null, sdpMLineIndex: data.sdpMLineIndex ?? null };
        if (!data.candidate) return;
        if (!this.pc || !this.pc.remoteDescription) this.pendingCandidates.push(candidate);
        else await this.pc.addIceCandidate(candidate).catch((error) => console.warn("addIceCandidate", error));
        return;
      }
      case "audio-toggled":
      case "video-toggled":
        if (data.userId === app.user) this.applySelfToggle(event === "audio-toggled" ? "audio" : "video", data.enabled !== false, data.byAdmin === true);
        else if (event === "audio-toggled") this.peerAudioMuted = data.enabled === false;
        else this.peerVideoMuted = data.enabled === false;
        this.render();
        return;
      case "call-rejected":
        toast(`${displayName(this.peer)} declined the call`);
        this.close();
        return;
      case "call-ended":
        toast(data.status === "missed" ? "No answer" : "The call has ended");
        this.close();
        return;
      default:
    }
  }

  async flushCandidates() {
    for (const candidate of this.pendingCandidates.splice(0)) {
      await this.pc.addIceCandidate(candidate).catch((error) => console.warn("addIceCandidate", error));
    }
  }

  userOfTrack(trackId) {
    return this.remoteStream.getTrackById(trackId) ? this.peer : null;
  }

  tiles() {
    const remoteVideo = liveTracks(this.remoteStream, "video");
    return [this.selfTile(), {
      key: this.peer, userId: this.peer, self: false,
      stream: this.remoteStream.getTracks().length ? this.remoteStream : null,
      hasVideo: remoteVideo.length > 0 && !this.peerVideoMuted,
      audioMuted: this.peerAudioMuted, videoMuted: this.peerVideoMuted,
      status: this.status === "active" ? "" : this.status === "ringing" ? "ringing…" : "connecting…",
    }];
  }

  render() {
    if (this.closed || app.call !== this || this.status === "ringing") return;
    grid.update(this.tiles(), { onFirstFrame: (userId) => this.firstFrame(userId) });
    this.renderControls();
    $("call-title").textContent = displayName(this.peer);
    $("call-sub").textContent = this.pc?.connectionState === "connected" ? "connected" : "connecting…";
  }

  async hangUp() {
    if (this.closed) return;
    const callId = this.callId;
    this.close();
    try {
      await api("POST", `/api/calls/${encodeURIComponent(callId)}/end`, { reason: "hangup" });
    } catch (error) {
      if (error.status !== 409) reportError(error, "Hang up");
    }
  }

  leave() { return this.hangUp(); }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.pc?.close();
    this.stopLocal();
    if (app.call === this) {
      app.call = null;
      grid.clear();
      showLobby();
    }
  }
}

// MARK: views

function showView(name) {
  for (const view of ["signin", "lobby", "ringing", "call"]) $(`view-${view}`).hidden = view !== name;
}

function showCallView(call) {
  showView("call");
  call.render();
}

function showLobby() {
  showView("lobby");
  refreshCalls();
}

function showSignin() {
  showView("signin");
  $("dev-form").hidden = !app.config.devTokens;
  $("conn").hidden = true;
  $("whoami").hidden = true;
  $("signout").hidden = true;
}

let lobbyTimer = null;
function scheduleLobbyRefresh() {
  clearTimeout(lobbyTimer);
  lobbyTimer = setTimeout(() => { if (!$("view-lobby").hidden) refreshCalls(); }, 150);
}

async function refreshCalls() {
  if (!app.token) return [];
  let calls = [];
  try {
    calls = (await api("GET", "/api/calls/active")).calls || [];
  } catch (error) {
    if (error.status === 401) { toast("Your token was refused: sign in again", { kind: "error" }); signOut(); return []; }
    console.warn("active calls", error);
  }
  const list = $("call-list");
  list.innerHTML = "";
  for (const call of calls) list.append(callRow(call));
  $("call-list-empty").hidden = calls.length > 0;
  return calls;
}

function callRow(call) {
  const me = (call.participants || []).find((p) => p.user === app.user);
  const others = (call.participants || []).filter((p) => p.user !== app.user).map((p) => displayName(p.user));
  const li = document.createElement("li");
  li.dataset.callId = call.callId;
  const title = call.isGroupCall ? `Group call · ${others.length + 1} people` : displayName(others[0] || call.initiator);
  const detail = call.isGroupCall ? others.join(", ") || "just you" : `1-to-1 ${call.callType === "voice" ? "voice" : "video"} call`;
  li.innerHTML = `<div class="who"><span>${escapeHTML(title)}</span><span class="muted">${escapeHTML(detail)}</span></div>
    <div class="actions"><span class="pill ${escapeHTML(call.status)}">${escapeHTML(call.status)}</span></div>`;
  const actions = li.querySelector(".actions");
  const add = (label, style, run) => {
    const button = document.createElement("button");
    button.className = `btn small ${style}`;
    button.textContent = label;
    button.addEventListener("click", run);
    actions.append(button);
  };
  const inThisCall = app.call && app.call.callId === call.callId;
  const invited = me?.status === "invited";
  if (call.isGroupCall) {
    if (!inThisCall) add(invited ? "Join" : "Rejoin", "primary", () => chorus.join(call.callId));
    if (invited) add("Decline", "", () => chorus.reject(call.callId));
    else add(call.initiator === app.user ? "End" : "Leave", "danger", () => endCall(call.callId));
  } else if (call.status === "ringing" && invited) {
    add("Answer", "ok", () => chorus.answer(call.callId));
    add("Decline", "", () => chorus.reject(call.callId));
  } else {
    add(call.status === "ringing" ? "Cancel" : "Hang up", "danger", () => endCall(call.callId));
  }
  return li;
}

async function endCall(callId) {
  try {
    await api("POST", `/api/calls/${encodeURIComponent(callId)}/end`, { reason: "hangup" });
  } catch (error) {
    reportError(error, "End call");
  }
  if (app.call?.callId === callId) app.call.close();
  refreshCalls();
}

function showIncoming(data) {
  app.incoming.set(data.callId, data);
  const from = displayName(data.from || data.userId || data.initiator);
  if (data.isGroupCall) {
    toast(`${from} invites you to a group call`, {
      kind: "call", timeout: 60000, id: `incoming-${data.callId}`,
      actions: [
        { label: "Decline", run: () => chorus.reject(data.callId) },
        { label: "Join", style: "primary", run: () => chorus.join(data.callId) },
      ],
    });
  } else {
    toast(`${from} is calling (${data.callType === "voice" ? "voice" : "video"})`, {
      kind: "call", timeout: 60000, id: `incoming-${data.callId}`,
      actions: [
        { label: "Decline", run: () => chorus.reject(data.callId) },
        { label: "Answer", style: "ok", run: () => chorus.answer(data.callId) },
      ],
    });
  }
}

function leaveCurrentCall() {
  if (app.call) app.call.leave();
}

// MARK: sign in

function signIn(token) {
  let claims;
  try {
    claims = decodeJwt(token);
  } catch {
    toast("That is not a valid token", { kind: "error" });
    return false;
  }
  if (typeof claims.exp === "number" && claims.exp * 1000 < Date.now()) {
    toast("That token has expired", { kind: "error" });
    return false;
  }
  app.rt?.close();
  app.token = token;
  app.user = claims.sub;
  app.admin = claims.admin === true;
  sessionStorage.setItem(TOKEN_KEY, token);
  const who = $("whoami");
  who.innerHTML = `${escapeHTML(displayName(app.user))}${app.admin ? '<span class="badge">admin</span>' : ""}`;
  who.title = app.user;
  who.hidden = false;
  $("conn").hidden = false;
  $("signout").hidden = false;
  app.rt = new Realtime(token, onRealtimeEvent);
  app.rt.onOpen = (reconnected) => {
    // A reconnecting client announces itself again so that the server keeps it in its call.
    if (reconnected && app.call) send("join-call", { callId: app.call.callId });
  };
  app.rt.connect();
  showLobby();
  return true;
}

function signOut() {
  app.call?.leave();
  app.rt?.close();
  app.rt = null;
  app.token = null;
  app.user = null;
  app.admin = false;
  sessionStorage.removeItem(TOKEN_KEY);
  showSignin();
}

// MARK: the hook the tests use; the buttons call the same functions

const chorus = {
  events: app.events,
  api: API,

  state() {
    const call = app.call;
    return {
      user: app.user,
      admin: app.admin,
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
      })) : [],
    };
  },

  async stats() {
    return app.call ? app.call.stats() : { inbound: [], pair: null, connectionState: null };
  },

  signIn,
  signOut,
  refreshCalls,

  async startGroupCall(invitees) {
    const list = (Array.isArray(invitees) ? invitees : String(invitees || "").split(","))
      .map((s) => s.trim()).filter(Boolean);
    const call = await api("POST", "/api/calls/initiate", {
      roomId: `web-${crypto.randomUUID().slice(0, 8)}`, callType: "video", invitees: list, isGroupCall: true,
    });
    await chorus.openGroup(call.callId, call);
    return call.callId;
  },

  async openGroup(callId, info) {
    if (app.call) app.call.leave();
    const call = new GroupCall(callId, info);
    app.call = call;
    await call.start();
    return callId;
  },

  async join(callId) {
    dismissToast(`incoming-${callId}`);
    app.incoming.delete(callId);
    if (app.call?.callId === callId) return callId;
    let call = null;
    try {
      call = await api("GET", `/api/calls/${encodeURIComponent(callId)}/status`);
    } catch (error) {
      reportError(error, "Join");
      return null;
    }
    if (!call.isGroupCall) return chorus.answer(callId);
    return chorus.openGroup(callId, call);
  },

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

  async call(user) {
    const peer = String(user || "").trim();
    if (!peer) throw new Error("whom to call?");
    const call = await api("POST", "/api/calls/initiate", {
      roomId: `web-${crypto.randomUUID().slice(0, 8)}`, callType: "video", invitees: [peer], isGroupCall: false,
    });
    if (app.call) app.call.leave();
    const direct = new DirectCall(call.callId, "caller", peer);
    app.call = direct;
    $("ringing-title").textContent = `Calling ${displayName(peer)}…`;
    showView("ringing");
    return call.callId;
  },

  async answer(callId) {
    dismissToast(`incoming-${callId}`);
    const incoming = app.incoming.get(callId);
    app.incoming.delete(callId);
    const peer = incoming?.from || incoming?.initiator
      || (await api("GET", `/api/calls/${encodeURIComponent(callId)}/status`)).initiator;
    if (app.call) app.call.leave();
    const direct = new DirectCall(callId, "callee", peer);
    app.call = direct;
    showCallView(direct);
    try {
      await api("POST", `/api/calls/${encodeURIComponent(callId)}/answer`);
    } catch (error) {
      reportError(error, "Answer");
      direct.close();
      return null;
    }
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

  toggleAudio(enabled) {
    const call = app.call;
    if (!call) return null;
    return call.toggle("audio", enabled === undefined ? !call.audioEnabled : Boolean(enabled));
  },

  toggleVideo(enabled) {
    const call = app.call;
    if (!call) return null;
    return call.toggle("video", enabled === undefined ? !call.videoEnabled : Boolean(enabled));
  },

  muteParticipant(userId, kind, muted) {
    if (app.call?.kind !== "group") return;
    app.call.muteParticipant(userId, kind, Boolean(muted));
  },
};

window.chorus = chorus;

// MARK: wiring

function wire() {
  $("dev-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const { token } = await api("POST", "/api/dev/token", { name: $("dev-name").value.trim(), admin: $("dev-admin").checked });
      signIn(token);
    } catch (error) {
      reportError(error, "Sign in");
    }
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signIn($("token-input").value.trim());
  });
  $("signout").addEventListener("click", signOut);
  $("group-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await chorus.startGroupCall($("group-invitees").value);
      $("group-invitees").value = "";
    } catch (error) {
      reportError(error, "Start call");
    }
  });
  $("direct-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await chorus.call($("direct-user").value);
    } catch (error) {
      reportError(error, "Call");
    }
  });
  $("refresh-calls").addEventListener("click", refreshCalls);
  $("ringing-cancel").addEventListener("click", () => chorus.hangUp());
  $("btn-mic").addEventListener("click", () => chorus.toggleAudio());
  $("btn-cam").addEventListener("click", () => chorus.toggleVideo());
  $("btn-leave").addEventListener("click", () => chorus.hangUp());
}

async function boot() {
  wire();
  try {
    app.config = await api("GET", "/api/config");
  } catch {
    app.config = { devTokens: false };
  }
  // `#token=...` (links, tests) wins over the stored token; it is then removed from the address.
  const fragment = new URLSearchParams(location.hash.slice(1));
  const fromFragment = fragment.get("token");
  if (fromFragment) {
    sessionStorage.setItem(TOKEN_KEY, fromFragment);
    history.replaceState(null, "", location.pathname + location.search);
  }
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!(token && signIn(token))) showSignin();
  chorus.ready = true;
}

boot();
