// @ts-check
// A 1-to-1 call, peer to peer: the caller offers once the callee answers (or with the ring, as a
// Matrix client expects), SDP and ICE candidates go through the server's relay
// (webrtc-offer/-answer, ice-candidate), TURN from /api/ice-servers.

import { APIError, api, session } from "./api.js";
import { CallBase, getLocalMedia, liveTracks, localSdp, peerConfiguration } from "./call.js";
import { displayName, grid, renderControls, reportError, showCallHeading, showView, toast } from "./ui.js";

/** @typedef {import("./call.js").CallHost} CallHost */
/** @typedef {import("./call.js").EventData} EventData */
/** @typedef {import("./call.js").TileDesc} TileDesc */

export class DirectCall extends CallBase {
  /**
   * @param {CallHost} host
   * @param {string} callId
   * @param {"caller" | "callee"} role
   * @param {string} peer the other user
   * @param {{offerWithRing?: boolean}} [options] the caller offers at once, while it rings (the
   *   offer travels in the callee's m.call.invite)
   */
  constructor(host, callId, role, peer, options = {}) {
    super(host, callId);
    /** @type {"direct"} */
    this.kind = "direct";
    this.role = role;
    this.peer = peer;
    this.remoteStream = new MediaStream();
    /** @type {RTCIceCandidateInit[]} candidates that came before the remote description */
    this.pendingCandidates = [];
    this.peerAudioMuted = false;
    this.peerVideoMuted = false;
    /** @type {"ringing" | "connecting" | "active"} */
    this.status = role === "caller" ? "ringing" : "connecting";
    this.ready = this.prepare();
    this.ready.catch((error) => reportError(error, "Could not start the call"));
    this.offered = false;
    if (role === "caller" && options.offerWithRing) {
      // First in the chain of this call's events: the answer it will get is to this offer.
      this.chain = this.chain.then(() => this.offer()).catch((error) => reportError(error, "Could not offer the call"));
    }
  }

  /** Local media and the peer connection with the server's ICE servers; `ready` once done. */
  async prepare() {
    this.local = await getLocalMedia();
    const configuration = await peerConfiguration();
    if (this.closed) { this.stopLocal(); return; }
    const pc = new RTCPeerConnection(configuration);
    this.pc = pc;
    pc.onicecandidate = (event) => {
      if (event.candidate && event.candidate.candidate) {
        this.host.send("ice-candidate", {
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

  /** The peer connection once `ready`: prepare() made it unless the call closed meanwhile. */
  get peerConnection() {
    return /** @type {RTCPeerConnection} */ (this.pc);
  }

  /**
   * @param {string} event
   * @param {EventData} data
   */
  async process(event, data) {
    switch (event) {
      case "call-answered": {
        if (this.role !== "caller") return;
        this.status = "connecting";
        showView("call");
        this.render();
        if (!this.offered) await this.offer();
        return;
      }

      case "webrtc-offer": {
        await this.ready;
        if (this.closed) return;
        const pc = this.peerConnection;
        await pc.setRemoteDescription({ type: "offer", sdp: data.sdp });
        await this.flushCandidates();
        await pc.setLocalDescription(await pc.createAnswer());
        this.host.send("webrtc-answer", { callId: this.callId, sdp: localSdp(pc), type: "answer" });
        return;
      }
      case "webrtc-answer": {
        await this.ready;
        const pc = this.peerConnection;
        if (this.closed || pc.signalingState !== "have-local-offer") return;
        await pc.setRemoteDescription({ type: "answer", sdp: data.sdp });
        await this.flushCandidates();
        return;
      }
      case "ice-candidate": {
        const candidate = { candidate: data.candidate, sdpMid: data.sdpMid ?? null, sdpMLineIndex: data.sdpMLineIndex ?? null };
        if (!data.candidate) return;
        if (!this.pc || !this.pc.remoteDescription) this.pendingCandidates.push(candidate);
        else await this.pc.addIceCandidate(candidate).catch((error) => console.warn("addIceCandidate", error));
        return;
      }
      case "audio-toggled":
      case "video-toggled":
        if (data.userId === session.user) this.applySelfToggle(event === "audio-toggled" ? "audio" : "video", data.enabled !== false, data.byAdmin === true);
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

  async offer() {
    await this.ready;
    if (this.closed) return;
    const pc = this.peerConnection;
    await pc.setLocalDescription(await pc.createOffer());
    this.offered = true;
    this.host.send("webrtc-offer", { callId: this.callId, sdp: localSdp(pc), type: "offer" });
  }

  async flushCandidates() {
    for (const candidate of this.pendingCandidates.splice(0)) {
      await this.peerConnection.addIceCandidate(candidate).catch((error) => console.warn("addIceCandidate", error));
    }
  }

  /** @param {string} trackId */
  userOfTrack(trackId) {
    return this.remoteStream.getTrackById(trackId) ? this.peer : null;
  }

  /** @returns {TileDesc[]} */
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
    if (this.closed || !this.host.isCurrent(this) || this.status === "ringing") return;
    grid.update(this.tiles(), { onFirstFrame: (userId) => this.firstFrame(userId) });
    renderControls(this);
    showCallHeading({
      title: displayName(this.peer),
      sub: this.pc?.connectionState === "connected" ? "connected" : "connecting…",
    });
  }

  async hangUp() {
    if (this.closed) return;
    const callId = this.callId;
    this.close();
    try {
      await api("POST", `/api/calls/${encodeURIComponent(callId)}/end`, { reason: "hangup" });
    } catch (error) {
      if (!(error instanceof APIError && error.status === 409)) reportError(error, "Hang up");
    }
  }

  leave() { return this.hangUp(); }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.pc?.close();
    this.stopLocal();
    this.host.closed(this);
  }
}
