// A subscriber's side of one WHEP session: the two streams the answer announced, checked for
// loss and duplicates by their rewritten sequence numbers, and timed by the publisher's
// send-time trailer or, for packets without one, its SendLog. Of a simulcast publisher the SFU
// forwards one layer at a time, renumbered into one continuous stream; the trailers say which.
// With transport-cc it also records each packet's transport-wide number and arrival and has
// feedback ready every 100 ms, as a browser's receiver does, so that Chorus's estimator runs.

import RTP
import SFU

final class SubscriberMedia {
    /// A publisher stream (its `SendTimeTrailer.streamID`) and when its packets were sent.
    struct Source {
        let streamID: UInt32
        let log: SendLog
    }

    struct Stream {
        let ssrc: UInt32
        let isVideo: Bool
        /// What this SSRC may carry: the publisher's one stream, or each of its simulcast layers.
        let sources: [Source]
        var tracker = SequenceTracker()
        /// The source the last trailer came from, and its sequence number minus ours: Chorus
        /// shifts by a constant per consumer until a pause or a layer switch, and the next
        /// trailer (the end of the first frame after it) tells the new one.
        var current: (source: Int, offset: UInt16)?

        init(ssrc: UInt32, isVideo: Bool, sources: [Source]) {
            self.ssrc = ssrc
            self.isVideo = isVideo
            self.sources = sources
        }

        init(ssrc: UInt32, isVideo: Bool, streamID: UInt32, log: SendLog) {
            self.init(ssrc: ssrc, isVideo: isVideo, sources: [Source(streamID: streamID, log: log)])
        }
    }

    private var streams: [Stream]
    /// Arrivals by transport-wide number (nil: the offer did not negotiate transport-cc).
    private var feedbackRecorder: TransportFeedbackRecorder?
    /// Arrival times come as `MonotonicTime` ns; the recorder takes instants from this pair.
    private let epoch = ContinuousClock.now
    private let epochNanoseconds = MonotonicTime.now()
    private var nextFeedback: UInt64 = 0
    private static let feedbackInterval: UInt64 = {
        let interval = TransportFeedbackRecorder.interval.components
        return UInt64(interval.seconds) * 1_000_000_000 + UInt64(interval.attoseconds / 1_000_000_000)
    }()

    init(streams: [Stream], transportCC: Bool = false) {
        self.streams = streams
        if transportCC { feedbackRecorder = TransportFeedbackRecorder(epoch: epoch) }
    }

    /// Transport-cc feedback for what arrived since the last, once `TransportFeedbackRecorder
    /// .interval` has passed (checked as packets arrive: audio alone comes every 20 ms).
    func dueFeedback(now: UInt64) -> [RTCPPacket] {
        guard feedbackRecorder != nil, now >= nextFeedback, let first = streams.first else { return [] }
        nextFeedback = now + Self.feedbackInterval
        // The sender SSRC is ours (we send no media; any fixed number serves, as a receive-only
        // browser uses 1); the media SSRC one of the streams, as libwebrtc does.
        return feedbackRecorder!.feedback(senderSSRC: 1, mediaSSRC: first.ssrc).map { .transportFeedback($0) }
    }

    func handle(_ packet: ClientRTPPacket, now: UInt64, counters: inout TrafficCounters) {
        guard let i = streams.firstIndex(where: { $0.ssrc == packet.ssrc }) else {
            counters.unknownSSRC += 1
            return
        }
        if feedbackRecorder != nil, let number = packet.extensions[OfferFormat.transportSequenceExtensionID], number.count == 2 {
            let arrival = epoch + .nanoseconds(Int64(bitPattern: now &- epochNanoseconds))
            feedbackRecorder!.record(UInt16(number[0]) << 8 | UInt16(number[1]), at: arrival)
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
        let trailer = packet.payload.withUnsafeBytes { SendTimeTrailer(endOf: $0) }
        if let trailer, let source = streams[i].sources.firstIndex(where: { $0.streamID == trailer.streamID }) {
            streams[i].current = (source, trailer.sequenceNumber &- packet.sequenceNumber.rawValue)
            sendTime = trailer.sendTime
        } else if let (source, offset) = streams[i].current {
            sendTime = streams[i].sources[source].log.sendTime(of: packet.sequenceNumber.rawValue &+ offset)
        }
        if let sendTime {
            counters.latency.record(now > sendTime ? now - sendTime : 0)
        }
    }
}
