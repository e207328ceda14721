// A subscriber's side of one WHEP session: the two streams the answer announced, checked for
// loss and duplicates by their rewritten sequence numbers, and timed by the publisher's
// send-time trailer or, for packets without one, its SendLog.

import RTP
import SFU

final class SubscriberMedia {
    struct Stream {
        let ssrc: UInt32
        let isVideo: Bool
        /// The publisher stream (its `SendTimeTrailer.streamID`) this SSRC carries.
        let streamID: UInt32
        let log: SendLog
        var tracker = SequenceTracker()
        /// Publisher sequence number minus ours: Chorus shifts by a constant per consumer
        /// (until a pause), learned from the first trailer.
        var offset: UInt16?
    }

    private var streams: [Stream]

    init(streams: [Stream]) {
        self.streams = streams
    }

    func handle(_ packet: ClientRTPPacket, now: UInt64, counters: inout TrafficCounters) {
        guard let i = streams.firstIndex(where: { $0.ssrc == packet.ssrc }) else {
            counters.unknownSSRC += 1
            return
        }
        switch streams[i].tracker.record(packet.sequenceNumber) {
        case .duplicate:
            counters.duplicates += 1
            return
        case .late:
            counters.late += 1
            counters.unique += 1
        case .new(let increase):
            counters.expected += increase
            counters.unique += 1
        }
        if streams[i].isVideo { counters.videoPacketsReceived += 1 } else { counters.audioPacketsReceived += 1 }

        var sendTime: UInt64?
        let streamID = streams[i].streamID
        let trailer = packet.payload.withUnsafeBytes { SendTimeTrailer(endOf: $0) }
        if let trailer, trailer.streamID == streamID {
            streams[i].offset = trailer.sequenceNumber &- packet.sequenceNumber.rawValue
            sendTime = trailer.sendTime
        } else if let offset = streams[i].offset {
            sendTime = streams[i].log.sendTime(of: packet.sequenceNumber.rawValue &+ offset)
        }
        if let sendTime {
            counters.latency.record(now > sendTime ? now - sendTime : 0)
        }
    }
}
