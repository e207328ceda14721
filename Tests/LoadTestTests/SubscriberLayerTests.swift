// A subscriber of a simulcast publisher: one SSRC carries whichever layer the SFU forwards,
// renumbered; each layer's trailer id tells which layer's send log times the packets between
// trailers, so latency is measured on every layer and across a switch.

import RTP
import Testing
@testable import LoadTest
@testable import SFU

@Suite struct SubscriberLayerTests {
    static func packet(_ sequence: UInt16, trailer: SendTimeTrailer?) -> ClientRTPPacket {
        var payload = [UInt8](repeating: 0, count: 40)
        if let trailer { payload.withUnsafeMutableBytes { trailer.write(atEndOf: $0) } }
        return ClientRTPPacket(
            marker: trailer != nil, payloadType: 96, sequenceNumber: SequenceNumber(sequence), timestamp: RTPTimestamp(rawValue: 0),
            ssrc: 77, extensions: [:], payload: payload)
    }

    @Test func packetsAreTimedByTheLogOfTheLayerTheLastTrailerNamed() {
        let logs = [SendLog(), SendLog(), SendLog()]
        let ids = (0..<3).map { SendTimeTrailer.streamID(publisher: 5, video: true, layer: $0) }
        let media = SubscriberMedia(streams: [
            .init(ssrc: 77, isVideo: true, sources: zip(ids, logs).map { .init(streamID: $0, log: $1) })
        ])
        // Layer 1 sent its packets 500-502 at 1000, 1001, 1002 µs; layer 2 the same numbers at
        // other times: only layer 1's log may time what the subscriber gets as 10-12.
        for (i, sequence) in (500...502).enumerated() {
            logs[1].record(sequenceNumber: UInt16(sequence), sendTime: 1_000_000 + UInt64(i) * 1000)
            logs[2].record(sequenceNumber: UInt16(sequence), sendTime: 1)
        }
        var counters = TrafficCounters()
        media.handle(Self.packet(10, trailer: SendTimeTrailer(streamID: ids[1], sequenceNumber: 500, sendTime: 1_000_000)), now: 1_100_000, counters: &counters)
        media.handle(Self.packet(11, trailer: nil), now: 1_101_000, counters: &counters)
        media.handle(Self.packet(12, trailer: nil), now: 1_102_000, counters: &counters)
        #expect(counters.latency.count == 3)
        #expect(counters.latency.max < 110_000)  // 100 µs each (the histogram's ~1 %), not 1.1 s
        #expect(counters.videoPacketsReceived == 3 && counters.unknownSSRC == 0)

        // A trailer from another publisher's stream is not ours: timed by nothing, still counted.
        let other = SendTimeTrailer(streamID: SendTimeTrailer.streamID(publisher: 6, video: true, layer: 1), sequenceNumber: 1, sendTime: 1)
        media.handle(Self.packet(13, trailer: other), now: 2_000_000, counters: &counters)
        #expect(counters.videoPacketsReceived == 4 && counters.expected == 4 && counters.lost == 0)
    }

    @Test func layerIDsAreDistinctAndLayerZeroIsThePlainID() {
        #expect(SendTimeTrailer.streamID(publisher: 7, video: true, layer: 0) == SendTimeTrailer.streamID(publisher: 7, video: true))
        let ids = (0..<3).map { SendTimeTrailer.streamID(publisher: 7, video: true, layer: $0) }
        #expect(Set(ids).count == 3)
        #expect(!ids.contains(SendTimeTrailer.streamID(publisher: 7, video: false)))
    }
}
