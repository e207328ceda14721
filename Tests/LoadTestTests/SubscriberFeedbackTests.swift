// `--transport-cc`: the subscriber's offer asks for transport-cc, and the subscriber reports
// what arrived by transport-wide number every 100 ms, as a browser's receiver does, so that
// Chorus's estimator gets its input.

import ICE
import RTP
import Testing
@testable import LoadTest
@testable import SFU

@Suite struct SubscriberFeedbackTests {
    @Test func theOfferAsksForTransportCCOnlyWhenTold() {
        let offer = SimulcastPublisherTests.offer
        let with = offer.subscribe(transportCC: true)
        let extmap = "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
        #expect(with.components(separatedBy: extmap).count == 3)
        #expect(with.contains("a=rtcp-fb:111 transport-cc\r\n") && with.contains("a=rtcp-fb:96 transport-cc\r\n"))
        let without = offer.subscribe()
        #expect(!without.contains("transport-wide-cc") && !without.contains("transport-cc"))
    }

    static func packet(_ sequence: UInt16, transportSequence: UInt16?) -> ClientRTPPacket {
        ClientRTPPacket(
            marker: false, payloadType: 111, sequenceNumber: SequenceNumber(sequence), timestamp: RTPTimestamp(rawValue: 0), ssrc: 5,
            extensions: transportSequence.map { [OfferFormat.transportSequenceExtensionID: [UInt8($0 >> 8), UInt8($0 & 0xFF)]] } ?? [:],
            payload: [0, 0, 0])
    }

    @Test func arrivalsAreReportedByTransportNumberEvery100ms() throws {
        let media = SubscriberMedia(
            streams: [.init(ssrc: 5, isVideo: false, streamID: 0, log: SendLog())], transportCC: true)
        var counters = TrafficCounters()
        let start = MonotonicTime.now()
        // 0x0100, 0x0101 and 0x0103 arrive 1 ms apart; 0x0102 is missing.
        for (i, number) in [UInt16(0x0100), 0x0101, 0x0103].enumerated() {
            media.handle(Self.packet(UInt16(i), transportSequence: number), now: start + UInt64(i) * 1_000_000, counters: &counters)
        }
        let reports = media.dueFeedback(now: start + 2_000_000)
        #expect(reports.count == 1)
        guard case .transportFeedback(let feedback) = try #require(reports.first) else {
            Issue.record("not transport-cc feedback: \(reports)")
            return
        }
        #expect(feedback.mediaSSRC == 5)
        #expect(feedback.baseSequence == 0x0100)
        let arrivals = feedback.arrivals
        #expect(arrivals.count == 4 && arrivals[2] == nil)
        // 250 µs ticks: 1 ms between each arrival and the next.
        let ticks = arrivals.compactMap { $0 }
        #expect(ticks.count == 3 && ticks[1] - ticks[0] == 4 && ticks[2] - ticks[1] == 4)

        // Not again within 100 ms, and then only what came since.
        media.handle(Self.packet(3, transportSequence: 0x0104), now: start + 50_000_000, counters: &counters)
        #expect(media.dueFeedback(now: start + 60_000_000).isEmpty)
        let next = media.dueFeedback(now: start + 103_000_000)
        guard case .transportFeedback(let second) = try #require(next.first) else { return }
        #expect(second.baseSequence == 0x0104 && second.arrivals.count == 1)
    }

    @Test func withoutTransportCCNothingIsReported() {
        let media = SubscriberMedia(streams: [.init(ssrc: 5, isVideo: false, streamID: 0, log: SendLog())])
        var counters = TrafficCounters()
        media.handle(Self.packet(0, transportSequence: 7), now: MonotonicTime.now(), counters: &counters)
        #expect(media.dueFeedback(now: MonotonicTime.now() + 1_000_000_000).isEmpty)
    }
}
