// A minimal WHIP publisher and WHEP subscriber (RFC 9725, draft-ietf-wish-whep) that the
// browser tests install into Chorus's own page (same origin, a secure context) with
// executeScript, in Chromium and in Firefox alike: window.whip.publish(), .subscribe(),
// .stats(), .close(). Fake devices give the camera and microphone.
window.whip = (() => {
  const sessions = [];

  async function post(path, token, sdp) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/sdp", Authorization: `Bearer ${token}` },
      body: sdp,
    });
    const text = await response.text();
    if (response.status !== 201) throw new Error(`${path}: ${response.status} ${text}`);
    return { answer: text, location: response.headers.get("Location") };
  }

  function newPeer(iceServers) {
    const pc = new RTCPeerConnection({ iceServers: iceServers || [], bundlePolicy: "max-bundle" });
    const session = { pc, location: null, kind: null };
    sessions.push(session);
    return session;
  }

  return {
    /** Publishes camera and microphone to `room`; returns the participant id from Location. */
    async publish(room, token, iceServers) {
      const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
      const session = newPeer(iceServers);
      session.kind = "publish";
      for (const track of media.getTracks()) session.pc.addTransceiver(track, { direction: "sendonly", streams: [media] });
      await session.pc.setLocalDescription();
      const { answer, location } = await post(`/whip/${encodeURIComponent(room)}`, token, session.pc.localDescription.sdp);
      await session.pc.setRemoteDescription({ type: "answer", sdp: answer });
      session.location = location;
      return location.split("/").pop();
    },

    /** Receives `participant`'s audio and video in `room`. */
    async subscribe(room, participant, token, iceServers) {
      const session = newPeer(iceServers);
      session.kind = "subscribe";
      session.pc.addTransceiver("audio", { direction: "recvonly" });
      session.pc.addTransceiver("video", { direction: "recvonly" });
      session.pc.ontrack = (event) => {
        // A playing element makes every browser decode what arrives.
        const element = document.createElement(event.track.kind === "video" ? "video" : "audio");
        element.autoplay = true;
        element.muted = true;
        element.srcObject = new MediaStream([event.track]);
        document.body.appendChild(element);
      };
      await session.pc.setLocalDescription();
      const { answer, location } = await post(
        `/whep/${encodeURIComponent(room)}/${encodeURIComponent(participant)}`, token, session.pc.localDescription.sdp);
      await session.pc.setRemoteDescription({ type: "answer", sdp: answer });
      session.location = location;
      return location;
    },

    /** Per session: connection state, the selected pair's local protocol and remote address,
        and the inbound/outbound RTP counters by kind. */
    async stats() {
      const result = [];
      for (const { pc, kind } of sessions) {
        const report = await pc.getStats();
        const entry = { kind, connectionState: pc.connectionState, pair: null, inbound: {}, outbound: {} };
        let pair = null;
        for (const stat of report.values()) {
          if (stat.type === "transport" && stat.selectedCandidatePairId) pair = report.get(stat.selectedCandidatePairId);
        }
        for (const stat of report.values()) {
          if (!pair && stat.type === "candidate-pair" && (stat.selected || stat.nominated) && stat.state === "succeeded") pair = stat;
          if (stat.type === "inbound-rtp") {
            entry.inbound[stat.kind] = {
              packetsReceived: stat.packetsReceived ?? 0, framesDecoded: stat.framesDecoded ?? null,
            };
          }
          if (stat.type === "outbound-rtp") {
            const sum = entry.outbound[stat.kind] || { packetsSent: 0, framesEncoded: 0 };
            sum.packetsSent += stat.packetsSent ?? 0;
            sum.framesEncoded += stat.framesEncoded ?? 0;
            entry.outbound[stat.kind] = sum;
          }
        }
        if (pair) {
          const local = report.get(pair.localCandidateId);
          const remote = report.get(pair.remoteCandidateId);
          entry.pair = {
            protocol: local?.protocol ?? null, localType: local?.candidateType ?? null,
            remote: remote ? `${remote.address}:${remote.port}` : null, remoteProtocol: remote?.protocol ?? null,
          };
        }
        result.push(entry);
      }
      return result;
    },

    async close() {
      for (const { pc } of sessions.splice(0)) pc.close();
    },
  };
})();
