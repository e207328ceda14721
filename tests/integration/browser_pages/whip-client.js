// A minimal WHIP publisher and WHEP subscriber (RFC 9725, draft-ietf-wish-whep) that the
// browser tests install into Chorus's own page (same origin, a secure context) with
// executeScript, in Chromium and in Firefox alike: window.whip.publish(), .subscribe(),
// .stats(), .close(); for the network-quality tests also .mediaStats() (the getStats() counters
// that loss and congestion show in) and .startSampling()/.samples() (those counters once a
// second, recorded in the page so that the test's own pace does not matter). Fake devices give
// the camera and microphone.
window.whip = (() => {
  const sessions = [];
  let samples = [];
  let timer = null;

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

  // The answer's UDP candidates moved to `udpPort` on the same address (a relay the test put in
  // front of Chorus, say), and its TCP candidates dropped so that nothing bypasses it.
  function throughPort(sdp, udpPort) {
    return sdp.split("\r\n").filter((line) => !/^a=candidate:\S+ \d+ tcp /i.test(line)).map((line) => {
      const match = /^(a=candidate:\S+ \d+ udp \d+ \S+ )(\d+)( .*)$/i.exec(line);
      return match ? `${match[1]}${udpPort}${match[3]}` : line;
    }).join("\r\n");
  }

  function newPeer(iceServers) {
    const pc = new RTCPeerConnection({ iceServers: iceServers || [], bundlePolicy: "max-bundle" });
    const session = { pc, location: null, kind: null };
    sessions.push(session);
    return session;
  }

  return {
    /** Publishes camera and microphone to `room`; returns the participant id from Location.
        `options.video`: the camera's constraints (default 320x240; 1280x720 with simulcast).
        `options.simulcast`: video in three encodings, lowest first as Chromium apps order
        them (rid q = 1/4, h = 1/2, f = full). `options.scalabilityMode`: one encoding in
        that mode (e.g. "L1T3": VP8 with three temporal layers). */
    async publish(room, token, iceServers, options) {
      const simulcast = Boolean(options && options.simulcast);
      const video = (options && options.video) || (simulcast ? { width: 1280, height: 720 } : { width: 320, height: 240 });
      const media = await navigator.mediaDevices.getUserMedia({ audio: true, video });
      const session = newPeer(iceServers);
      session.kind = "publish";
      for (const track of media.getTracks()) {
        const init = { direction: "sendonly", streams: [media] };
        if (simulcast && track.kind === "video") {
          init.sendEncodings = [
            { rid: "q", scaleResolutionDownBy: 4 }, { rid: "h", scaleResolutionDownBy: 2 }, { rid: "f" },
          ];
        }
        if (options && options.scalabilityMode && track.kind === "video") {
          init.sendEncodings = [{ scalabilityMode: options.scalabilityMode }];
        }
        session.pc.addTransceiver(track, init);
      }
      await session.pc.setLocalDescription();
      const { answer, location } = await post(`/whip/${encodeURIComponent(room)}`, token, session.pc.localDescription.sdp);
      await session.pc.setRemoteDescription({ type: "answer", sdp: answer });
      session.location = location;
      return location.split("/").pop();
    },

    /** Receives `participant`'s audio and video in `room`. `options.udpPort`: reach Chorus
        through that UDP port on its candidate's address instead (see throughPort). */
    async subscribe(room, participant, token, iceServers, options) {
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
      const udpPort = options && options.udpPort;
      await session.pc.setRemoteDescription({ type: "answer", sdp: udpPort ? throughPort(answer, udpPort) : answer });
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
              frameWidth: stat.frameWidth ?? null, keyFramesDecoded: stat.keyFramesDecoded ?? null,
              freezeCount: stat.freezeCount ?? null, totalFreezesDuration: stat.totalFreezesDuration ?? null,
              pliCount: stat.pliCount ?? null,
            };
          }
          if (stat.type === "outbound-rtp") {
            const sum = entry.outbound[stat.kind] || { packetsSent: 0, framesEncoded: 0, layers: {} };
            sum.packetsSent += stat.packetsSent ?? 0;
            sum.framesEncoded += stat.framesEncoded ?? 0;
            if (stat.scalabilityMode) sum.scalabilityMode = stat.scalabilityMode;
            // One outbound-rtp per simulcast encoding, told apart by its rid.
            if (stat.rid) sum.layers[stat.rid] = { frameWidth: stat.frameWidth ?? null, packetsSent: stat.packetsSent ?? 0 };
            entry.outbound[stat.kind] = sum;
          }
        }
        if (pair) {
          const local = report.get(pair.localCandidateId);
          const remote = report.get(pair.remoteCandidateId);
          entry.pair = {
            protocol: local?.protocol ?? null, localType: local?.candidateType ?? null,
            local: local ? `${local.address}:${local.port}` : null,
            remote: remote ? `${remote.address}:${remote.port}` : null, remoteProtocol: remote?.protocol ?? null,
          };
        }
        result.push(entry);
      }
      return result;
    },

    /** Per session, the counters that show loss and congestion: video and audio inbound-rtp
        (freezes, decoded frames, NACKs sent, losses, retransmissions received) and outbound-rtp
        (NACKs received, retransmissions sent, bytes, the encoder's target), and the selected
        pair's available outgoing bitrate and round trip. Absent counters are null. */
    async mediaStats() {
      const pick = (stat, names) => Object.fromEntries(names.map((n) => [n, stat[n] ?? null]));
      const inboundNames = ["packetsReceived", "packetsLost", "nackCount", "pliCount", "firCount",
        "retransmittedPacketsReceived", "retransmittedBytesReceived", "framesDecoded", "keyFramesDecoded",
        "framesDropped", "framesPerSecond", "freezeCount", "totalFreezesDuration", "pauseCount",
        "totalPausesDuration", "bytesReceived", "jitter", "frameWidth", "frameHeight"];
      const outboundNames = ["packetsSent", "bytesSent", "headerBytesSent", "retransmittedPacketsSent",
        "retransmittedBytesSent", "nackCount", "pliCount", "firCount", "framesEncoded", "framesSent",
        "targetBitrate", "frameWidth", "frameHeight", "framesPerSecond", "qualityLimitationReason"];
      const result = [];
      for (const { pc, kind } of sessions) {
        const report = await pc.getStats();
        const entry = { kind, at: performance.now(), inbound: {}, outbound: {}, pair: null };
        for (const stat of report.values()) {
          if (stat.type === "inbound-rtp") entry.inbound[stat.kind] = pick(stat, inboundNames);
          if (stat.type === "outbound-rtp") {
            // Simulcast would give several per kind; these tests publish one encoding.
            entry.outbound[stat.kind] = pick(stat, outboundNames);
          }
          // The publisher's view of its receiver (Chorus): the round trip from Chorus's reports.
          if (stat.type === "remote-inbound-rtp") entry.outbound[`${stat.kind}Remote`] = pick(stat, ["roundTripTime", "fractionLost", "packetsLost"]);
          if (stat.type === "transport" && stat.selectedCandidatePairId) {
            const pair = report.get(stat.selectedCandidatePairId);
            if (pair) entry.pair = pick(pair, ["availableOutgoingBitrate", "currentRoundTripTime", "bytesSent", "bytesReceived"]);
          }
        }
        result.push(entry);
      }
      return result;
    },

    /** Per session, the negotiated SDP (to check what the answer agreed to). */
    descriptions() {
      return sessions.map(({ pc, kind }) => ({
        kind, local: pc.localDescription?.sdp ?? null, remote: pc.remoteDescription?.sdp ?? null,
      }));
    },

    /** Records mediaStats() every `intervalMs` (default 1000) until stopSampling(). */
    startSampling(intervalMs) {
      window.whip.stopSampling();
      samples = [];
      const take = async () => {
        try { samples.push(await window.whip.mediaStats()); } catch (e) { samples.push({ error: String(e) }); }
      };
      take();
      timer = setInterval(take, intervalMs || 1000);
    },

    stopSampling() {
      if (timer !== null) clearInterval(timer);
      timer = null;
    },

    /** The samples so far (each a mediaStats() result), and forgets them. */
    takeSamples() {
      return samples.splice(0);
    },

    async close() {
      window.whip.stopSampling();
      for (const { pc } of sessions.splice(0)) pc.close();
    },
  };
})();
