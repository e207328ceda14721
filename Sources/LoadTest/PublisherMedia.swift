// A publisher's media: replays the shared clip on its schedule with this publisher's SSRCs and
// numbering, stamps the send-time trailer and the SendLog, and answers the SFU's keyframe
// requests (PLI, FIR) by starting the clip over at its keyframe.

import RTP
import SFU

final class PublisherMedia {
    let clip: MediaClip
    let audioSSRC: UInt32
    let videoSSRC: UInt32
    let audioStreamID: UInt32
    let videoStreamID: UInt32
    let audioLog: SendLog
    let videoLog: SendLog
    /// Set once the transport connects; until then nothing is due.
    private(set) var schedule: PublisherSchedule?
    var sending = true

    /// RFC 8843 §15: the MID of each section in every packet, as browsers send it.
    private let audioExtensions: [(id: UInt8, data: [UInt8])] = [(OfferFormat.midExtensionID, Array(OfferFormat.audioMID.utf8))]
    private let videoExtensions: [(id: UInt8, data: [UInt8])] = [(OfferFormat.midExtensionID, Array(OfferFormat.videoMID.utf8))]
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
    private var reportedLagResets = 0
    private var reportedKeyframesForced = 0

    init(clip: MediaClip, publisherIndex: Int, audioSSRC: UInt32, videoSSRC: UInt32, audioLog: SendLog, videoLog: SendLog) {
        self.clip = clip
        self.audioSSRC = audioSSRC
        self.videoSSRC = videoSSRC
        self.audioStreamID = SendTimeTrailer.streamID(publisher: publisherIndex, video: false)
        self.videoStreamID = SendTimeTrailer.streamID(publisher: publisherIndex, video: true)
        self.audioLog = audioLog
        self.videoLog = videoLog
    }

    deinit { scratch.deallocate() }

    func start(now: UInt64) {
        schedule = PublisherSchedule(clip: clip, start: now)
    }

    var nextDue: UInt64? { sending ? schedule?.nextDue : nil }

    /// Sends every packet due by `horizon` through `transport` (which queues the SRTP
    /// datagrams), stamped with the time it really leaves, `now`.
    func sendDue(now: UInt64, horizon: UInt64, transport: ClientTransport, counters: inout TrafficCounters) {
        guard sending, schedule != nil else { return }
        while let due = schedule!.next(now: horizon) {
            let packet = due.isVideo ? clip.video[due.clipIndex].packets[due.packetIndex] : clip.audio[due.clipIndex]
            let length = packet.payload.count
            let payload = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<length])
            packet.payload.withUnsafeBytes { payload.copyMemory(from: $0) }
            if due.isVideo { VP8Packetizer.setPictureID(due.pictureID, in: payload) }
            if packet.hasTrailer {
                SendTimeTrailer(
                    streamID: due.isVideo ? videoStreamID : audioStreamID, sequenceNumber: due.sequenceNumber.rawValue,
                    sendTime: now
                ).write(atEndOf: payload)
            }
            do {
                try transport.sendRTP(
                    payloadType: due.isVideo ? OfferFormat.videoPayloadType : OfferFormat.audioPayloadType,
                    sequenceNumber: due.sequenceNumber, timestamp: due.timestamp,
                    ssrc: due.isVideo ? videoSSRC : audioSSRC, marker: due.marker, payload: UnsafeRawBufferPointer(payload),
                    extensions: due.isVideo ? videoExtensions : audioExtensions)
            } catch {
                // Only when the transport is no longer connected; the session notices the event.
                return
            }
            counters.sendLag.record(now > due.due ? now - due.due : 0)
            if due.isVideo {
                videoLog.record(sequenceNumber: due.sequenceNumber.rawValue, sendTime: now)
                counters.videoPacketsSent += 1
            } else {
                audioLog.record(sequenceNumber: due.sequenceNumber.rawValue, sendTime: now)
                counters.audioPacketsSent += 1
            }
        }
        counters.lagResets += schedule!.lagResets - reportedLagResets
        reportedLagResets = schedule!.lagResets
        counters.keyframesForced += schedule!.keyframesForced - reportedKeyframesForced
        reportedKeyframesForced = schedule!.keyframesForced
    }

    /// RTCP from the SFU: PLI (RFC 4585 §6.3.1) or FIR (RFC 5104 §4.3.1) on our video SSRC.
    func handle(rtcp packets: [RTCPPacket], counters: inout TrafficCounters) {
        for packet in packets {
            switch packet {
            case .pictureLossIndication(let pli) where pli.mediaSSRC == videoSSRC:
                counters.keyframeRequests += 1
                schedule?.requestKeyframe()
            case .fullIntraRequest(let fir) where fir.entries.contains(where: { $0.ssrc == videoSSRC }):
                counters.keyframeRequests += 1
                schedule?.requestKeyframe()
            default:
                continue
            }
        }
    }
}
