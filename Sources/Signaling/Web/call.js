// @ts-check
// What group and 1-to-1 calls share: camera and microphone, the ICE servers, my mute (and an
// admin's), the serial handling of a call's realtime events, and the getStats() summary the
// tests read.

import { api, session } from "./api.js";
import { toast } from "./ui.js";

/** @typedef {import("./realtime.js").EventData} EventData */
/** @typedef {import("./ui.js").TileDesc} TileDesc */

/**
 * What a call needs from the page around it.
 * @typedef {object} CallHost
 * @property {(event: string, data: object) => void} send a realtime event
 * @property {(call: CallBase) => boolean} isCurrent whether the page shows this call
 * @property {(call: CallBase) => void} closed the call is over: if the page showed it, back to the lobby
 */

/**
 * @typedef {object} InboundStat one inbound-rtp stream, labelled with the user it comes from
 * @property {string} kind
 * @property {string | null} userId
 * @property {string | null} source "microphone", "camera" or "screen" as the SFU named it (group calls)
 * @property {string} trackIdentifier
 * @property {string | null} mid
 * @property {number} ssrc
 * @property {boolean} live its transceiver still receives and its track is live
 * @property {number | null} framesDecoded
 * @property {number | null} keyFramesDecoded
 * @property {number | null} totalSamplesReceived audio samples played out, concealed ones included
 * @property {number | null} concealedSamples of those, samples made up for lost or late packets
 * @property {number} packetsReceived
 * @property {number} bytesReceived
 * @property {number} packetsLost
 * @property {number | null} frameWidth
 * @property {number | null} frameHeight
 * @property {number | null} freezeCount video: freezes the receiver counted (webrtc-stats §8.3)
 * @property {number | null} totalFreezesDuration seconds
 */

/**
 * @typedef {object} OutboundStat one outbound-rtp stream: a simulcast layer (rid), or the only one
 * @property {string} kind
 * @property {string | null} rid
 * @property {number | null} frameWidth
 * @property {number} packetsSent
 * @property {boolean | null} active
 */

/**
 * @typedef {object} SelectedPair the ICE candidate pair media goes over
 * @property {string} state
 * @property {string | null} local candidate type: host, srflx, relay
 * @property {string | null} remote
 * @property {string | null} localAddress
 * @property {string | null} remoteAddress
 * @property {string | null} localRelayProtocol
 * @property {string | null} protocol the local candidate's transport: udp, or tcp (ICE-TCP, or TCP to a TURN server)
 */

/** @typedef {{inbound: InboundStat[], outbound: OutboundStat[], pair: SelectedPair | null, connectionState: RTCPeerConnectionState | null}} CallStats */

/** Small video so that three browsers and the SFU fit on a two-core machine. */
const VIDEO_CONSTRAINTS = {
  width: { ideal: 320, max: 320 }, height: { ideal: 240, max: 240 }, frameRate: { ideal: 15, max: 15 },
};

// `?relay=1`: connections use TURN relay candidates only (tests force the relay path with it).
const RELAY_ONLY = new URLSearchParams(location.search).get("relay") === "1";

/**
 * The RTCPeerConnection settings every call uses: the ICE servers from /api/ice-servers (STUN
 * on Chorus's media port, TURN when configured), so that a browser whose UDP, or whose direct
 * path to Chorus, is blocked can still reach the SFU or its peer through a TURN relay. Without
 * them (the request failed) a call still works wherever the direct path does.
 * @returns {Promise<RTCConfiguration>}
 */
export async function peerConfiguration() {
  /** @type {RTCIceServer[]} */
  let iceServers = [];
  try {
    ({ iceServers } = await api("GET", "/api/ice-servers"));
  } catch (error) {
    console.warn("ice-servers", error);
  }
  return { iceServers, iceTransportPolicy: RELAY_ONLY ? "relay" : "all" };
}

/**
 * The settings for the connection to the SFU: the same, less the STUN servers. The STUN server
 * Chorus names is its own media port, and libwebrtc's UDP port takes every STUN packet from a
 * STUN server's address for a reply to its own gathering: the SFU's answers to the page's
 * connectivity checks never reached the checks, the UDP pairs never succeeded, and media went
 * over ICE-TCP (measured with Chromium 156: 0 of 5 responses counted per UDP pair). An ICE-lite
 * SFU learns the page's address from its checks, so STUN adds nothing here; TURN stays.
 * @param {RTCConfiguration} configuration
 * @returns {RTCConfiguration}
 */
export function sfuConfiguration(configuration) {
  const isSTUN = (/** @type {string} */ url) => /^stuns?:/i.test(url);
  const iceServers = (configuration.iceServers || [])
    .map((server) => {
      const urls = (Array.isArray(server.urls) ? server.urls : [server.urls]).filter((url) => !isSTUN(url));
      return { ...server, urls };
    })
    .filter((server) => server.urls.length > 0);
  return { ...configuration, iceServers };
}

/**
 * Camera and microphone, else whichever of them there is, else nothing (watch and listen).
 * @param {MediaTrackConstraints} [video] the camera's size and rate
 */
export async function getLocalMedia(video = VIDEO_CONSTRAINTS) {
  const attempts = [
    { audio: true, video },
    { audio: true, video: false },
    { audio: false, video },
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

/**
 * @param {MediaStream | null} stream
 * @param {string} kind
 */
export function liveTracks(stream, kind) {
  if (!stream) return [];
  return stream.getTracks().filter((t) => t.kind === kind && t.readyState === "live");
}

/**
 * The SDP that setLocalDescription() has just applied.
 * @param {RTCPeerConnection} pc
 */
export function localSdp(pc) {
  const description = pc.localDescription;
  if (!description) throw new Error("no local description");
  return description.sdp;
}

/** A call of either kind; the kinds fill in process, tiles, render and userOfTrack. */
export class CallBase {
  /**
   * @param {CallHost} host
   * @param {string} callId
   */
  constructor(host, callId) {
    this.host = host;
    this.callId = callId;
    /** @type {MediaStream | null} */
    this.local = null;
    /** @type {RTCPeerConnection | null} */
    this.pc = null;
    this.audioEnabled = true;
    this.videoEnabled = true;
    this.audioLocked = false;
    this.videoLocked = false;
    this.closed = false;
    /** @type {Promise<void>} */
    this.chain = Promise.resolve();
    /** @type {{joinStarted: number, firstRemoteFrame: number | null, firstRemoteFrameFrom: string | null}} */
    this.timings = { joinStarted: Date.now(), firstRemoteFrame: null, firstRemoteFrameFrom: null };
  }

  /**
   * Realtime events for this call run one at a time, in order (SDP handling is async).
   * @param {string} event
   * @param {EventData} data
   */
  handle(event, data) {
    this.chain = this.chain.then(() => (this.closed ? undefined : this.process(event, data)))
      .catch((error) => console.warn(`handling ${event}`, error));
  }

  // Each kind of call overrides these four.

  /**
   * One realtime event of this call.
   * @param {string} _event
   * @param {EventData} _data
   * @returns {Promise<void>}
   */
  async process(_event, _data) {}

  /** The tiles to show, mine first. @returns {TileDesc[]} */
  tiles() {
    return [this.selfTile()];
  }

  /** Shows the call, if the page shows it. */
  render() {}

  /**
   * Who sends a received track.
   * @param {string} _trackId
   * @returns {string | null}
   */
  userOfTrack(_trackId) {
    return null;
  }

  /**
   * What a received track shows ("camera", "screen", ...), when the call knows.
   * @param {MediaStreamTrack} _track
   * @returns {string | null}
   */
  sourceOfTrack(_track) {
    return null;
  }

  /** @param {string} kind */
  localTrack(kind) {
    return this.local?.getTracks().find((t) => t.kind === kind) || null;
  }

  /**
   * Turns my microphone or camera on or off and tells the call.
   * @param {"audio" | "video"} kind
   * @param {boolean} enabled
   * @returns {boolean} whether it is on now
   */
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
    this.host.send(isAudio ? "toggle-audio" : "toggle-video", { callId: this.callId, enabled });
    this.render();
    return isAudio ? this.audioEnabled : this.videoEnabled;
  }

  /** @param {EventData} data an `error` event about this call */
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

  /**
   * A mute change of mine made elsewhere (admin, or another device of mine).
   * @param {"audio" | "video"} kind
   * @param {boolean} enabled
   * @param {boolean} byAdmin
   */
  applySelfToggle(kind, enabled, byAdmin) {
    const isAudio = kind === "audio";
    if (isAudio) { this.audioEnabled = enabled; if (byAdmin) this.audioLocked = !enabled; } else { this.videoEnabled = enabled; if (byAdmin) this.videoLocked = !enabled; }
    const track = this.localTrack(kind);
    if (track) track.enabled = enabled;
    if (byAdmin && !enabled) toast(isAudio ? "The host muted your microphone" : "The host turned your camera off", { kind: "error" });
    if (byAdmin && enabled) toast(isAudio ? "The host let you unmute" : "The host allowed your camera");
  }

  /** @param {string} userId */
  firstFrame(userId) {
    if (!this.timings.firstRemoteFrame) {
      this.timings.firstRemoteFrame = Date.now();
      this.timings.firstRemoteFrameFrom = userId;
    }
  }

  /** @returns {TileDesc} */
  selfTile() {
    return {
      // A call exists only while signed in: signing out leaves it first.
      key: "self", userId: /** @type {string} */ (session.user), self: true, stream: this.local,
      hasVideo: this.videoEnabled && liveTracks(this.local, "video").length > 0,
      audioMuted: !this.audioEnabled, videoMuted: !this.videoEnabled,
      audioLocked: this.audioLocked, videoLocked: this.videoLocked,
    };
  }

  stopLocal() {
    for (const track of this.local?.getTracks() || []) track.stop();
  }

  /**
   * Per inbound-rtp counters, labelled with the user they come from, and the selected ICE pair.
   * @returns {Promise<CallStats>}
   */
  async stats() {
    const pc = this.pc;
    if (!pc) return { inbound: [], outbound: [], pair: null, connectionState: null };
    const report = await pc.getStats();
    /** @type {Map<string | null, RTCRtpTransceiver & {stopped?: boolean}>} */
    const byMid = new Map(pc.getTransceivers().filter((t) => t.mid !== null).map((t) => [t.mid, t]));
    /** @type {InboundStat[]} */
    const inbound = [];
    /** @type {OutboundStat[]} */
    const outbound = [];
    let pair = null;
    for (const stat of report.values()) {
      if (stat.type === "inbound-rtp") {
        const transceiver = byMid.get(stat.mid);
        const track = transceiver?.receiver.track;
        const live = Boolean(transceiver && !transceiver.stopped && transceiver.currentDirection !== "stopped"
          && transceiver.currentDirection !== "inactive" && track?.readyState === "live");
        inbound.push({
          kind: stat.kind, userId: this.userOfTrack(stat.trackIdentifier), source: track ? this.sourceOfTrack(track) : null,
          trackIdentifier: stat.trackIdentifier,
          mid: stat.mid ?? null, ssrc: stat.ssrc, live,
          framesDecoded: stat.framesDecoded ?? null, keyFramesDecoded: stat.keyFramesDecoded ?? null,
          totalSamplesReceived: stat.totalSamplesReceived ?? null, concealedSamples: stat.concealedSamples ?? null,
          packetsReceived: stat.packetsReceived ?? 0, bytesReceived: stat.bytesReceived ?? 0,
          packetsLost: stat.packetsLost ?? 0, frameWidth: stat.frameWidth ?? null, frameHeight: stat.frameHeight ?? null,
          freezeCount: stat.freezeCount ?? null, totalFreezesDuration: stat.totalFreezesDuration ?? null,
        });
      } else if (stat.type === "outbound-rtp") {
        outbound.push({
          kind: stat.kind, rid: stat.rid ?? null, frameWidth: stat.frameWidth ?? null,
          packetsSent: stat.packetsSent ?? 0, active: stat.active ?? null,
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
        protocol: local?.protocol ?? null,
      };
    }
    return { inbound, outbound, pair: selected, connectionState: pc.connectionState };
  }
}
