// A publisher's media: replays the shared clip on its schedule with this publisher's SSRCs and
// numbering, stamps the send-time trailer and the SendLog, and answers the SFU's keyframe
// requests (PLI, FIR) by starting the clip over at its keyframe. A simulcast publisher sends
// each layer as its own stream (SSRC, numbering, schedule, log), its RID in every packet.

import RTP
import SFU

final class PublisherMedia {
    /// One outgoing video stream: the only one, or one simulcast layer.
    struct VideoStream {
        let ssrc: UInt32
        let streamID: UInt32
        let log: SendLog
        /// Index into `clip.layers`; nil for the clip's only video.
        let layer: Int?
        /// MID, and for a layer its RID: RFC 8852 §3.1 lets the SFU tell which layer an SSRC it
        /// has not seen carries. libwebrtc stops sending it once RTCP shows the SSRC is known;
        /// sending it always costs 4 bytes the header's padding has room for anyway.
        let extensions: [(id: UInt8, data: [UInt8])]
    }

    let clip: MediaClip
    let audioSSRC: UInt32
    let audioStreamID: UInt32
    let audioLog: SendLog
    let videoStreams: [VideoStream]
    /// Set once the transport connects, one per video stream (the first also sends the
    /// audio); until then nothing is due.
    private(set) var schedules: [PublisherSchedule] = []
    var sending = true

    /// RFC 8843 §15: the MID of each section in every packet, as browsers send it.
    private let audioExtensions: [(id: UInt8, data: [UInt8])] = [(OfferFormat.midExtensionID, Array(OfferFormat.audioMID.utf8))]
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
    private var reportedLagResets = 0
    private var reportedKeyframesForced = 0

    /// `videoSSRCs` and `videoLogs`: one (the clip's only video) or one per `clip.layers`.
    init(clip: MediaClip, publisherIndex: Int, audioSSRC: UInt32, videoSSRCs: [UInt32], audioLog: SendLog, videoLogs: [SendLog]) {
        precondition(videoSSRCs.count == videoLogs.count && videoSSRCs.count == max(1, clip.layers.count), "one SSRC and log per video stream")
        self.clip = clip
        self.audioSSRC = audioSSRC
        self.audioStreamID = SendTimeTrailer.streamID(publisher: publisherIndex, video: false)
        self.audioLog = audioLog
        let mid = (OfferFormat.midExtensionID, Array(OfferFormat.videoMID.utf8))
        videoStreams = videoSSRCs.indices.map { i in
            let layer = clip.layers.isEmpty ? nil : i
            return VideoStream(
                ssrc: videoSSRCs[i], streamID: SendTimeTrailer.streamID(publisher: publisherIndex, video: true, layer: i),
                log: videoLogs[i], layer: layer,
                extensions: layer.map { [mid, (OfferFormat.ridExtensionID, Array(clip.layers[$0].rid.utf8))] } ?? [mid])
        }
    }

    deinit { scratch.deallocate() }

    func start(now: UInt64) {
        let seed = UInt64.random(in: 0...UInt64.max)
        schedules = videoStreams.enumerated().map { i, stream in
            PublisherSchedule(clip: clip, videoLayer: stream.layer, sendsAudio: i == 0, start: now, seed: seed)
        }
    }

    var nextDue: UInt64? { sending ? schedules.lazy.map(\.nextDue).min() : nil }

    /// Sends every packet due by `horizon` through `transport` (which queues the SRTP
    /// datagrams), stamped with the time it really leaves, `now`.
    func sendDue(now: UInt64, horizon: UInt64, transport: ClientTransport, counters: inout TrafficCounters) {
        guard sending else { return }
        for s in schedules.indices {
            let stream = videoStreams[s]
            let frames = stream.layer.map { clip.layers[$0].frames } ?? clip.video
            while let due = schedules[s].next(now: horizon) {
                let packet = due.isVideo ? frames[due.clipIndex].packets[due.packetIndex] : clip.audio[due.clipIndex]
                let length = packet.payload.count
                let payload = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<length])
                packet.payload.withUnsafeBytes { payload.copyMemory(from: $0) }
                if due.isVideo { VP8Packetizer.setPictureID(due.pictureID, in: payload) }
                if packet.hasTrailer {
                    SendTimeTrailer(
                        streamID: due.isVideo ? stream.streamID : audioStreamID, sequenceNumber: due.sequenceNumber.rawValue,
                        sendTime: now
                    ).write(atEndOf: payload)
                }
                do {
                    try transport.sendRTP(
                        payloadType: due.isVideo ? OfferFormat.videoPayloadType : OfferFormat.audioPayloadType,
                        sequenceNumber: due.sequenceNumber, timestamp: due.timestamp,
                        ssrc: due.isVideo ? stream.ssrc : audioSSRC, marker: due.marker, payload: UnsafeRawBufferPointer(payload),
                        extensions: due.isVideo ? stream.extensions : audioExtensions)
                } catch {
                    // Only when the transport is no longer connected; the session notices the event.
                    return
                }
                counters.sendLag.record(now > due.due ? now - due.due : 0)
                if due.isVideo {
                    stream.log.record(sequenceNumber: due.sequenceNumber.rawValue, sendTime: now)
                    counters.videoPacketsSent += 1
                } else {
                    audioLog.record(sequenceNumber: due.sequenceNumber.rawValue, sendTime: now)
                    counters.audioPacketsSent += 1
                }
            }
        }
        let lagResets = schedules.reduce(0) { $0 + $1.lagResets }
        let keyframesForced = schedules.reduce(0) { $0 + $1.keyframesForced }
        counters.lagResets += lagResets - reportedLagResets
        reportedLagResets = lagResets
        counters.keyframesForced += keyframesForced - reportedKeyframesForced
        reportedKeyframesForced = keyframesForced
    }

    /// RTCP from the SFU: PLI (RFC 4585 §6.3.1) or FIR (RFC 5104 §4.3.1) on one of our video
    /// SSRCs; the SFU asks per layer, and only that layer starts over.
    func handle(rtcp packets: [RTCPPacket], counters: inout TrafficCounters) {
        for packet in packets {
            let ssrcs: [UInt32]
            switch packet {
            case .pictureLossIndication(let pli): ssrcs = [pli.mediaSSRC]
            case .fullIntraRequest(let fir): ssrcs = fir.entries.map(\.ssrc)
            default: continue
            }
            for (s, stream) in videoStreams.enumerated() where ssrcs.contains(stream.ssrc) {
                counters.keyframeRequests += 1
                if s < schedules.count { schedules[s].requestKeyframe() }
            }
        }
    }
}
