// @ts-check
// A group call through the SFU: one RTCPeerConnection on which the page is the polite side of
// perfect negotiation over sfu-offer/sfu-answer (docs/API.md), the others' tiles, moderation,
// and screen sharing (a second video m-line that the offer names in `screenShare`).

import { api, session } from "./api.js";
import { CallBase, getLocalMedia, liveTracks, localSdp, peerConfiguration, sfuConfiguration } from "./call.js";
import { GROUP_VIDEO_CONSTRAINTS, layerForWidth, simulcastEncodings } from "./simulcast.js";
import { displayName, grid, renderControls, showCallHeading, showView, toast } from "./ui.js";

/**
 * A shared screen is one stream (no simulcast: its text must stay sharp, and the SFU serves it
 * before any camera). 15 fps of mostly still text stays well under this.
 */
const SCREEN_MAX_BITRATE = 800_000;

/** @typedef {import("./call.js").CallHost} CallHost */
/** @typedef {import("./call.js").EventData} EventData */
/** @typedef {import("./call.js").TileDesc} TileDesc */

/**
 * Another participant as the page knows it.
 * @typedef {object} Participant
 * @property {string} userId
 * @property {boolean} audioMuted
 * @property {boolean} videoMuted
 * @property {boolean} audioLocked muted by an admin
 * @property {boolean} videoLocked
 * @property {number} order tiles keep the order in which participants were first seen
 */

export class GroupCall extends CallBase {
  /**
   * @param {CallHost} host
   * @param {string} callId
   * @param {object} [info] the call as the API described it
   */
  constructor(host, callId, info = {}) {
    super(host, callId);
    /** @type {"group"} */
    this.kind = "group";
    this.info = info;
    /** @type {Map<string, Participant>} */
    this.participants = new Map();
    /** @type {Map<string, string>} msid stream id → userId (from sfu-offer/sfu-answer `streams`) */
    this.streamOwners = new Map();
    /** @type {Map<string, MediaStream>} msid stream id → stream */
    this.remoteStreams = new Map();
    /** @type {Map<string, string>} receiver track id → msid stream id */
    this.trackStreams = new Map();
    /** @type {Set<string>} users who left: a late `streams` entry must not bring their tile back */
    this.left = new Set();
    /** @type {string | null} the active speaker Chorus named last (`active-speaker`) */
    this.activeSpeaker = null;
    /** @type {Map<string, number>} userId → the spatial layer last asked for their video (`sfu-layers`) */
    this.layerRequests = new Map();
    /** @type {Map<string, string>} userId → the msid stream the layer was asked for (a rejoin asks again) */
    this.layerStreams = new Map();
    /** @type {Set<string>} users whose camera the SFU paused for my downlink (`stream-paused`) */
    this.pausedVideo = new Set();
    /** @type {Set<string>} users whose screen share the SFU paused for my downlink */
    this.pausedScreens = new Set();
    this.sources = new TrackSources();
    /** @type {{track: MediaStreamTrack, transceiver: RTCRtpTransceiver, view: MediaStream} | null} my shared screen, while I share it */
    this.screen = null;
    this.makingOffer = false;
    /** @type {RTCConfiguration} ICE servers for the SFU connection (peerConfiguration) */
    this.configuration = {};
    /**
     * An admin's mute sent and shown before the server confirms it; undone on an error.
     * @type {{userId: string, previous: Partial<Participant>} | null}
     */
    this.pendingModeration = null;
  }

  async start() {
    showView("call");
    showCallHeading({ title: "Group call", sub: "joining…", speakerView: true });
    this.render();
    this.local = await getLocalMedia(GROUP_VIDEO_CONSTRAINTS);
    this.configuration = await peerConfiguration();
    if (this.closed) { this.stopLocal(); return; }
    // The initiator is joined from the start; join-call is then a harmless re-announcement.
    this.host.send("join-call", { callId: this.callId });
    this.seedParticipants();
    this.createPeer();
    this.render();
  }

  async seedParticipants() {
    try {
      const call = await api("GET", `/api/calls/${encodeURIComponent(this.callId)}/status`);
      for (const p of call.participants || []) {
        if (p.user === session.user) continue;
        if (p.status === "joined") {
          this.participant(p.user, { audioMuted: p.audioEnabled === false, videoMuted: p.videoEnabled === false });
        }
      }
      this.render();
    } catch (error) {
      console.warn("call status", error);
    }
  }

  /**
   * The participant, added if new, with `changes` applied.
   * @param {string} userId
   * @param {Partial<Participant>} [changes]
   */
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
      others' media arrive on m-lines the SFU adds by offering. The SFU is ICE-lite with host
      candidates in its SDP (UDP, and ICE-TCP for when UDP is blocked); the ICE servers add a
      TURN relay for when neither path is open. */
  createPeer() {
    const pc = new RTCPeerConnection({ ...sfuConfiguration(this.configuration), bundlePolicy: "max-bundle" });
    this.pc = pc;
    this.makingOffer = false;
    pc.onnegotiationneeded = async () => {
      if (pc !== this.pc || this.closed) return;
      try {
        this.makingOffer = true;
        await pc.setLocalDescription();
        const offer = pc.localDescription;
        // The mid exists once the offer is set: the SFU learns which m-line shares a screen.
        const screen = this.screen?.transceiver.mid;
        if (offer?.type === "offer") {
          this.host.send("sfu-offer", { callId: this.callId, sdp: offer.sdp, screenShare: screen ? [screen] : [] });
        }
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
    // The camera goes out in several sizes when it is large enough (simulcast.js); the SFU
    // forwards each receiver the one its tile needs.
    for (const kind of ["audio", "video"]) {
      const track = this.localTrack(kind);
      const sendEncodings = track && kind === "video" ? simulcastEncodings(track) : undefined;
      if (track) pc.addTransceiver(track, { direction: "sendonly", streams: [/** @type {MediaStream} */ (this.local)], sendEncodings });
      else pc.addTransceiver(kind, { direction: "recvonly" });
    }
  }

  /** @param {unknown} streams the `streams` of an sfu-offer or sfu-answer: whose is each msid, and what each track shows */
  learnStreams(streams) {
    if (!Array.isArray(streams)) return;
    for (const s of streams) {
      if (!s || !s.streamId || !s.userId) continue;
      this.streamOwners.set(s.streamId, s.userId);
      this.sources.learn(s.tracks);
      if (s.userId === session.user || this.left.has(s.userId)) continue;
      const p = this.participant(s.userId);
      if (typeof s.audioMuted === "boolean") p.audioMuted = s.audioMuted;
      if (typeof s.videoMuted === "boolean") p.videoMuted = s.videoMuted;
    }
  }

  /** @param {string} trackId */
  userOfTrack(trackId) {
    const streamId = this.trackStreams.get(trackId);
    return streamId ? this.streamOwners.get(streamId) ?? null : null;
  }

  /** @param {MediaStreamTrack} track */
  sourceOfTrack(track) {
    return this.sources.of(track, this.pc);
  }

  /** Shares the screen, or stops sharing it. */
  async toggleScreenShare() {
    if (this.screen) { this.stopScreenShare(); return; }
    const pc = this.pc;
    if (!pc || this.closed) return;
    /** @type {MediaStream} */
    let display;
    try {
      // Text wants sharpness over motion: 15 fps at most, `detail` keeps the resolution.
      display = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 15 } }, audio: false });
    } catch (error) {
      toast(`Screen share: ${error instanceof Error ? error.message : error}`, { kind: "error" });
      return;
    }
    const track = display.getVideoTracks()[0];
    if (!track || pc !== this.pc || this.closed) { display.getTracks().forEach((t) => t.stop()); return; }
    track.contentHint = "detail";
    // A second video m-line; negotiationneeded sends the offer with its mid in `screenShare`.
    const transceiver = pc.addTransceiver(track, {
      direction: "sendonly", streams: [display], sendEncodings: [{ maxBitrate: SCREEN_MAX_BITRATE }],
    });
    this.screen = { track, transceiver, view: new MediaStream([track]) };
    // The browser's own "Stop sharing" ends the track.
    track.addEventListener("ended", () => { if (this.screen?.track === track) this.stopScreenShare(); });
    this.render();
  }

  /** Stops the shared screen: its transceiver stops, so the next offer disables its m-line. */
  stopScreenShare() {
    const screen = this.screen;
    if (!screen) return;
    this.screen = null;
    screen.track.stop();
    if (this.pc && this.pc.signalingState !== "closed") screen.transceiver.stop();
    this.render();
  }

  /**
   * @param {string} event
   * @param {EventData} data
   */
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
        this.host.send("sfu-answer", { callId: this.callId, sdp: localSdp(pc) });
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
      case "active-speaker":
        // Chorus names whoever speaks (from the audio levels every browser sends); the tile
        // is highlighted, and large in speaker view.
        this.activeSpeaker = typeof data.userId === "string" ? data.userId : null;
        this.render();
        return;
      case "audio-levels":
        // The tiles show only who speaks; the levels are for clients that draw meters.
        return;
      case "stream-paused":
      case "stream-resumed":
        // The SFU stopped (or restarted) forwarding someone's video to me because my downlink
        // cannot carry it; their last frame would look frozen without the overlay.
        if (data.kind !== "video" || typeof data.userId !== "string") return;
        {
          const paused = data.source === "screen" ? this.pausedScreens : this.pausedVideo;
          if (event === "stream-paused") paused.add(data.userId);
          else paused.delete(data.userId);
        }
        this.render();
        return;
      case "sfu-closed":
        // The SFU dropped our transport (ICE consent lost): start media again on a new pc.
        toast("Media connection lost, reconnecting…", { kind: "error" });
        this.closePeer();
        this.pausedVideo.clear();
        this.pausedScreens.clear();
        this.createPeer();
        this.render();
        return;
      case "user-joined":
        if (data.userId && data.userId !== session.user) {
          this.left.delete(data.userId);
          this.participant(data.userId);
        }
        this.render();
        return;
      case "user-left":
        if (data.userId && data.userId !== session.user) {
          this.participants.delete(data.userId);
          this.left.add(data.userId);
          this.pausedVideo.delete(data.userId);
          this.pausedScreens.delete(data.userId);
          this.layerRequests.delete(data.userId);
          this.layerStreams.delete(data.userId);
          toast(`${displayName(data.userId)} left`, { timeout: 3000 });
        }
        this.render();
        return;
      case "audio-toggled":
      case "video-toggled": {
        const kind = event === "audio-toggled" ? "audio" : "video";
        if (data.userId === session.user) {
          this.applySelfToggle(kind, data.enabled !== false, data.byAdmin === true);
        } else if (data.userId) {
          /** @type {Partial<Participant>} */
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

  /** @param {EventData} data */
  handleError(data) {
    super.handleError(data);
    if (data.event === "mute-participant" && this.pendingModeration) {
      const { userId, previous } = this.pendingModeration;
      const p = this.participants.get(userId);
      if (p) Object.assign(p, previous);
      this.pendingModeration = null;
      this.render();
    }
    if (["join-call", "sfu-offer"].includes(data.event) && data.code !== "muted_by_admin") {
      this.render();
    }
  }

  /**
   * An admin mutes another participant (or lifts the mute), shown at once.
   * @param {string} userId
   * @param {"audio" | "video"} kind
   * @param {boolean} muted
   */
  muteParticipant(userId, kind, muted) {
    const p = this.participant(userId);
    const previous = { audioMuted: p.audioMuted, videoMuted: p.videoMuted, audioLocked: p.audioLocked, videoLocked: p.videoLocked };
    this.pendingModeration = { userId, previous };
    if (kind === "audio") Object.assign(p, { audioMuted: muted, audioLocked: muted });
    else Object.assign(p, { videoMuted: muted, videoLocked: muted });
    this.host.send("mute-participant", { callId: this.callId, userId, kind, muted });
    this.render();
  }

  /**
   * The live remote stream of a user (the newest one, after a rejoin).
   * @param {string} userId
   */
  streamOf(userId) {
    let found = null;
    for (const [streamId, stream] of this.remoteStreams) {
      if (this.streamOwners.get(streamId) !== userId) continue;
      if (stream.getTracks().some((t) => t.readyState === "live" && this.receiving(t))) found = stream;
    }
    return found;
  }

  /**
   * False once the track's transceiver stopped (its m-line was disabled: the user left).
   * @param {MediaStreamTrack} track
   */
  receiving(track) {
    /** @type {(RTCRtpTransceiver & {stopped?: boolean}) | undefined} */
    const transceiver = this.pc?.getTransceivers().find((t) => t.receiver.track === track);
    if (!transceiver) return false;
    return !transceiver.stopped && transceiver.currentDirection !== "stopped" && transceiver.currentDirection !== "inactive";
  }

  /** @returns {TileDesc[]} */
  tiles() {
    /** @type {TileDesc[]} */
    const descs = [{ ...this.selfTile(), speaking: this.activeSpeaker === session.user }];
    if (this.screen) {
      // What I share, as the others see it.
      descs.push({
        key: "self#screen", userId: /** @type {string} */ (session.user), self: true, stream: this.screen.view, screen: true,
        hasVideo: true, audioMuted: false, videoMuted: false, status: "", speaking: false,
      });
    }
    const others = [...this.participants.values()].sort((a, b) => a.order - b.order);
    for (const p of others) {
      const remote = this.streamOf(p.userId);
      const screens = liveTracks(remote, "video").filter((t) => this.receiving(t) && this.sourceOfTrack(t) === "screen");
      for (const track of screens) {
        descs.push({
          key: `${p.userId}#screen#${track.id}`, userId: p.userId, self: false, stream: this.sources.screenView(track), screen: true,
          hasVideo: true, audioMuted: false, videoMuted: false, status: "", speaking: false,
          videoPaused: this.pausedScreens.has(p.userId),
        });
      }
      const stream = remote ? this.sources.cameraView(remote, this.pc) : null;
      const videoLive = liveTracks(stream, "video").filter((t) => this.receiving(t));
      descs.push({
        key: p.userId, userId: p.userId, self: false, stream,
        hasVideo: videoLive.length > 0 && !p.videoMuted,
        audioMuted: p.audioMuted, videoMuted: p.videoMuted, audioLocked: p.audioLocked, videoLocked: p.videoLocked,
        status: stream ? "" : "connecting…",
        speaking: p.userId === this.activeSpeaker,
        videoPaused: this.pausedVideo.has(p.userId),
      });
    }
    return descs;
  }

  render() {
    if (this.closed || !this.host.isCurrent(this)) return;
    grid.update(this.tiles(), {
      onModerate: session.admin ? (userId, kind, muted) => this.muteParticipant(userId, kind, muted) : undefined,
      onFirstFrame: (userId) => this.firstFrame(userId),
      onLayout: () => this.requestLayers(),
    });
    this.requestLayers();
    renderControls({
      audioEnabled: this.audioEnabled, videoEnabled: this.videoEnabled, audioLocked: this.audioLocked,
      videoLocked: this.videoLocked, screenSharing: Boolean(this.screen),
    });
    const n = this.participants.size + 1;
    const state = this.pc?.connectionState || "new";
    showCallHeading({ sub: `${n} ${n === 1 ? "person" : "people"} · ${state === "connected" ? "connected" : state}`, speakerView: true });
  }

  /**
   * Asks the SFU for each received video in the size its tile shows (`sfu-layers`), when that
   * changed: after a render, and whenever a tile is resized (speaker view, the window). Asked
   * again for a new stream of the same user (a rejoin makes a new publisher at the SFU).
   */
  requestLayers() {
    if (this.closed || !this.host.isCurrent(this)) return;
    for (const p of this.participants.values()) {
      const stream = this.streamOf(p.userId);
      const width = grid.width(p.userId);
      if (!stream || liveTracks(stream, "video").length === 0 || width === 0) continue;
      const spatial = layerForWidth(width);
      if (this.layerRequests.get(p.userId) === spatial && this.layerStreams.get(p.userId) === stream.id) continue;
      this.layerRequests.set(p.userId, spatial);
      this.layerStreams.set(p.userId, stream.id);
      this.host.send("sfu-layers", { callId: this.callId, userId: p.userId, spatial });
    }
  }

  closePeer() {
    // A share lives on its connection: after a reconnect the user shares again.
    this.stopScreenShare();
    const pc = this.pc;
    this.pc = null;
    if (pc) { pc.onnegotiationneeded = null; pc.ontrack = null; pc.onconnectionstatechange = null; pc.close(); }
    this.remoteStreams.clear();
    this.trackStreams.clear();
    this.sources.reset();
    // A new connection has new consumers: its tiles ask again.
    this.layerRequests.clear();
    this.layerStreams.clear();
  }

  leave() {
    if (this.closed) return;
    this.host.send("leave-call", { callId: this.callId });
    this.close();
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.closePeer();
    this.stopLocal();
    this.host.closed(this);
  }
}

/**
 * What each received track shows (`streams[].tracks`: "microphone", "camera" or "screen"), and
 * the streams the tiles show: a camera tile the user's stream without its screen shares (a video
 * element plays one video track), a screen tile one screen share. Views are kept, so that a tile
 * keeps its stream from render to render.
 */
class TrackSources {
  constructor() {
    /** @type {Map<string, string>} msid track id → source */
    this.sources = new Map();
    /** @type {Map<string, string>} receiver track id → its msid track id in the SFU's offer */
    this.msids = new Map();
    /** @type {Map<string, MediaStream>} msid stream id (camera) or receiver track id (screen) → view */
    this.views = new Map();
  }

  /** @param {unknown} tracks a `streams` entry's `tracks` */
  learn(tracks) {
    for (const t of Array.isArray(tracks) ? tracks : []) {
      if (t && typeof t.trackId === "string" && typeof t.source === "string") this.sources.set(t.trackId, t.source);
    }
  }

  /**
   * What a received track shows, by the msid track id the SFU's offer gave its m-line (a
   * receiver's own track id need not be that id).
   * @param {MediaStreamTrack} track
   * @param {RTCPeerConnection | null} pc
   */
  of(track, pc) {
    let msid = this.msids.get(track.id);
    if (!msid) {
      const mid = pc?.getTransceivers().find((t) => t.receiver.track === track)?.mid;
      const sdp = pc?.remoteDescription?.sdp;
      msid = mid && sdp ? msidTrackId(sdp, mid) ?? undefined : undefined;
      if (!msid) return null;
      this.msids.set(track.id, msid);
    }
    return this.sources.get(msid) ?? null;
  }

  /**
   * @param {MediaStream} stream a user's remote stream
   * @param {RTCPeerConnection | null} pc
   */
  cameraView(stream, pc) {
    let view = this.views.get(stream.id);
    if (!view) { view = new MediaStream(); this.views.set(stream.id, view); }
    const wanted = stream.getTracks().filter((t) => this.of(t, pc) !== "screen");
    for (const t of view.getTracks()) if (!wanted.includes(t)) view.removeTrack(t);
    for (const t of wanted) if (!view.getTrackById(t.id)) view.addTrack(t);
    return view;
  }

  /** @param {MediaStreamTrack} track a received screen share */
  screenView(track) {
    let view = this.views.get(track.id);
    if (!view) { view = new MediaStream([track]); this.views.set(track.id, view); }
    return view;
  }

  /** A new connection: its tracks are new (what the SFU said of each msid still holds). */
  reset() {
    this.msids.clear();
    this.views.clear();
  }
}

/**
 * The msid track id (`a=msid:<stream> <track>`, RFC 8830) of the m-line with this mid.
 * @param {string} sdp
 * @param {string} mid
 */
function msidTrackId(sdp, mid) {
  for (const section of sdp.split(/\r?\nm=/).slice(1)) {
    const lines = section.split(/\r?\n/);
    if (!lines.includes(`a=mid:${mid}`)) continue;
    const msid = lines.find((l) => l.startsWith("a=msid:"));
    return msid ? msid.slice("a=msid:".length).split(" ")[1] ?? null : null;
  }
  return null;
}
