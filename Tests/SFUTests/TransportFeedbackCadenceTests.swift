// Transport-cc feedback reaches a publisher every ~100 ms while its packets flow, over the
// in-memory network: GoogCC's delay trend and its in-flight accounting both depend on it.

import Testing
import RTP
@testable import SFU
import SFUTesting

@Suite struct TransportFeedbackCadenceTests {
    static let transportSequenceID: UInt8 = 5

    @Test func feedbackFollowsThePacketsEveryHundredMilliseconds() throws {
        let call = try CallFixture(connect: false)
        var video = CallFixture.publishedTracks[1]
        video.feedback = [.nack, .pli, .transportCC]
        video.transportSequenceExtensionID = Self.transportSequenceID
        let answer = try call.core.publish(
            room: CallFixture.room, participantID: CallFixture.publisherID, identity: "Alice", remote: call.publisher.offer,
            tracks: [CallFixture.publishedTracks[0], video], now: call.net.now)
        try call.net.connect(call.publisher, answer: answer)
        var sequence: UInt16 = 0
        // Two seconds of 30 fps video, two packets a frame, each with its transport-wide number.
        for frame in 0..<60 {
            for packet in call.video.frame(keyframe: frame == 0, packets: 2) {
                try call.publisher.transport.sendRTP(
                    payloadType: call.video.payloadType, sequenceNumber: packet.sequenceNumber, timestamp: packet.timestamp,
                    ssrc: call.video.ssrc, marker: packet.marker, payload: packet.payload,
                    extensions: [(id: 9, data: Array("1".utf8)), (id: Self.transportSequenceID, data: [UInt8(sequence >> 8), UInt8(sequence & 0xFF)])])
                sequence &+= 1
            }
            call.net.advance(by: .milliseconds(33))
        }
        let feedback = call.publisher.rtcp.compactMap { if case .transportFeedback(let f) = $0 { f } else { nil } }
        // 2 s at one per 100 ms is 20; a timer tick (20 ms) late each time still gives 16.
        #expect(feedback.count >= 16, "\(feedback.count) transport-cc feedback packets in 2 s")
        #expect(feedback.allSatisfy { $0.arrivals.count <= 12 }, "each covers ~100 ms (6 packets), not seconds: \(feedback.map(\.arrivals.count))")
        #expect(call.core.statsSnapshot.feedback(.transportFeedbackSent) == feedback.count)
    }
}
