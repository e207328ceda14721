// Lost packets repaired by the SFU, over the in-memory network: a subscriber's NACK answered
// from the producer's history (on the original SSRC, or as RTX when negotiated), never twice
// within a round trip, and a keyframe request when the history no longer has the packet; losses
// on the publisher's link NACKed to the publisher, its retransmissions (original SSRC or RTX)
// filling the gap for everyone; the round-trip time measured from the subscriber's reports.

import Testing
import ICE
import RTP
@testable import SFU
import SFUTesting

@Suite struct RetransmissionTests {
    static let rtxPT: UInt8 = 121
    static let publisherRTXPT: UInt8 = 97
    static let publisherRTXSSRC: UInt32 = 0x2222_AAAA

    /// A call whose subscriber negotiated RTX (or not) and whose publisher negotiated NACK, RTX
    /// (with its RTX SSRC in the SDP) and PLI; video flowing.
    private func call(subscriberRTX: Bool, retransmission: Bool = true) throws -> CallFixture {
        let call = try CallFixture(connect: false)
        call.core.retransmission = retransmission
        var video = CallFixture.publishedTracks[1]
        video.rtxPayloadType = Self.publisherRTXPT
        video.rtxSSRC = Self.publisherRTXSSRC
        video.feedback = [.nack, .pli]
        var slots = CallFixture.subscriberSlots
        if subscriberRTX { slots[1].rtxPayloadType = Self.rtxPT }
        try call.connect(publishing: [CallFixture.publishedTracks[0], video], slots: slots)
        try call.flowVideo()
        return call
    }

    private func nack(_ call: CallFixture, _ lost: [SequenceNumber]) throws {
        let rr = RTCPPacket.receiverReport(ReceiverReport(ssrc: 0xBB, reports: []))
        try call.subscriber.transport.sendRTCP([rr, .nack(GenericNACK(senderSSRC: 0xBB, mediaSSRC: call.videoTrack.ssrc, lost: lost))])
        call.net.settle()
    }

    @Test func aNackIsAnsweredFromTheHistoryOnTheOriginalSSRC() throws {
        let call = try call(subscriberRTX: false)
        // The subscriber's link loses the next frame's second packet and the one after.
        let subscriber = call.subscriber.address
        var toSubscriber = 0
        call.net.blocks = { datagram in
            guard datagram.destination == subscriber, datagram.bytes.count > 12,
                datagram.bytes[1] & 0x7F == CallFixture.subscriberVideoPT
            else { return false }
            toSubscriber += 1
            return toSubscriber == 2 || toSubscriber == 3
        }
        let before = call.subscriber.rtp(ssrc: call.videoTrack.ssrc)
        call.net.advance(by: .milliseconds(33))
        let frame1 = try call.sendVideoFrame(keyframe: false)
        call.net.advance(by: .milliseconds(33))
        let frame2 = try call.sendVideoFrame(keyframe: false)
        call.net.blocks = nil
        let after = call.subscriber.rtp(ssrc: call.videoTrack.ssrc)
        #expect(after.count == before.count + 2)
        let last = try #require(before.last).sequenceNumber
        let lost = [last &+ 2, last &+ 3]
        try nack(call, lost)

        let again = Array(call.subscriber.rtp(ssrc: call.videoTrack.ssrc).dropFirst(after.count))
        #expect(again.map(\.sequenceNumber) == lost)
        #expect(again.map(\.payload) == [frame1[1].payload, frame2[0].payload])
        #expect(again.map(\.timestamp) == [after[after.count - 2].timestamp, after[after.count - 1].timestamp])
        #expect(call.publisher.nacks.isEmpty, "the publisher is not asked: the SFU had the packets")
        #expect(call.core.statsSnapshot.feedback(.retransmittedFromCache) == 2)
    }

    @Test func withRTXTheRetransmissionCarriesTheOriginalSequenceNumber() throws {
        let call = try call(subscriberRTX: true)
        let rtxSSRC = try #require(call.videoTrack.rtxSSRC)
        let received = call.subscriber.rtp(ssrc: call.videoTrack.ssrc)
        try nack(call, [received[3].sequenceNumber, received[9].sequenceNumber])

        let rtx = call.subscriber.rtp(ssrc: rtxSSRC)
        #expect(rtx.count == 2)
        #expect(rtx.allSatisfy { $0.payloadType == Self.rtxPT })
        // RFC 4588 §4: OSN first, then the original payload; RTX numbers are consecutive.
        for (packet, original) in zip(rtx, [received[3], received[9]]) {
            #expect(Array(packet.payload.prefix(2)) == [UInt8(original.sequenceNumber.rawValue >> 8), UInt8(original.sequenceNumber.rawValue & 0xFF)])
            #expect(Array(packet.payload.dropFirst(2)) == original.payload)
            #expect(packet.timestamp == original.timestamp)
        }
        #expect(rtx[1].sequenceNumber == rtx[0].sequenceNumber &+ 1)
        #expect(call.subscriber.rtp(ssrc: call.videoTrack.ssrc).count == received.count, "nothing resent on the media SSRC")
    }

    @Test func aPacketIsNotResentTwiceWithinARoundTrip() throws {
        let call = try call(subscriberRTX: true)
        let rtxSSRC = try #require(call.videoTrack.rtxSSRC)
        let received = call.subscriber.rtp(ssrc: call.videoTrack.ssrc)
        let lost = [received[5].sequenceNumber]
        try nack(call, lost)
        try nack(call, lost)
        #expect(call.subscriber.rtp(ssrc: rtxSSRC).count == 1)
        // Once a round trip has passed (no measurement yet: the initial 100 ms), it goes again.
        call.net.advance(by: RoundTripTime.initial)
        try nack(call, lost)
        #expect(call.subscriber.rtp(ssrc: rtxSSRC).count == 2)
    }

    @Test func whatTheHistoryNoLongerHasBecomesAKeyframeRequest() throws {
        let call = try call(subscriberRTX: false)
        let first = try #require(call.subscriber.rtp(ssrc: call.videoTrack.ssrc).first)
        // Past the history's age limit.
        for _ in 0..<70 {
            call.net.advance(by: .milliseconds(33))
            try call.sendVideoFrame(keyframe: false)
        }
        let plis = call.publisher.pictureLossIndications.count
        let count = call.subscriber.rtp(ssrc: call.videoTrack.ssrc).count
        try nack(call, [first.sequenceNumber])
        #expect(call.subscriber.rtp(ssrc: call.videoTrack.ssrc).count == count)
        #expect(call.publisher.pictureLossIndications.count == plis + 1)
        #expect(call.core.statsSnapshot.feedback(.retransmissionMisses) == 1)
    }

    @Test func packetsSentBeforeAReanchorAreNotRebuilt() throws {
        let call = try call(subscriberRTX: false)
        let before = call.subscriber.rtp(ssrc: call.videoTrack.ssrc)
        // Mute and unmute: the consumer re-anchors its offsets on the next keyframe.
        _ = try call.core.setMute(room: CallFixture.room, participantID: CallFixture.publisherID, kind: .video, muted: true, byAdmin: false, now: call.net.now)
        call.net.advance(by: .milliseconds(33))
        try call.sendVideoFrame(keyframe: false)
        _ = try call.core.setMute(room: CallFixture.room, participantID: CallFixture.publisherID, kind: .video, muted: false, byAdmin: false, now: call.net.now)
        call.net.advance(by: .milliseconds(33))
        try call.sendVideoFrame(keyframe: true)
        let count = call.subscriber.rtp(ssrc: call.videoTrack.ssrc).count
        try nack(call, [before[8].sequenceNumber])
        #expect(call.subscriber.rtp(ssrc: call.videoTrack.ssrc).count == count)
    }

    // MARK: - The publisher's link

    /// Drops the publisher's video packets with these sequence numbers on their way to the SFU.
    private func dropFromPublisher(_ call: CallFixture, _ sequences: Set<UInt16>) {
        let publisher = call.publisher.address
        call.net.blocks = { datagram in
            guard datagram.source == publisher, datagram.bytes.count > 12, (128...191).contains(datagram.bytes[0]) else { return false }
            let payloadType = datagram.bytes[1] & 0x7F
            guard payloadType == 96 else { return false }
            return sequences.contains(UInt16(datagram.bytes[2]) << 8 | UInt16(datagram.bytes[3]))
        }
    }

    @Test func aGapFromThePublisherIsNackedAtOnceThenRetriedAndFilledByRTX() throws {
        let call = try call(subscriberRTX: false)
        let next = call.video.sequenceNumber
        dropFromPublisher(call, [(next &+ 1).rawValue])
        call.net.advance(by: .milliseconds(33))
        let frame = try call.sendVideoFrame(keyframe: false)  // two packets: next, next+1 (lost)
        call.net.advance(by: .milliseconds(33))
        try call.sendVideoFrame(keyframe: false)  // next+2, next+3: the gap shows
        call.net.blocks = nil

        let asked = call.publisher.nacks.flatMap(\.lost)
        #expect(asked == [next &+ 1], "NACKed as soon as the gap showed")
        // No answer: asked again about a round trip later.
        call.net.advance(by: RoundTripTime.initial + .milliseconds(20))
        #expect(call.publisher.nacks.flatMap(\.lost).count == 2)

        // The publisher answers with RTX (RFC 4588) on its RTX SSRC: OSN, then the payload.
        let lost = frame[1]
        let osn = [UInt8(lost.sequenceNumber.rawValue >> 8), UInt8(lost.sequenceNumber.rawValue & 0xFF)]
        try call.publisher.transport.sendRTP(
            payloadType: Self.publisherRTXPT, sequenceNumber: 500, timestamp: lost.timestamp, ssrc: Self.publisherRTXSSRC,
            marker: lost.marker, payload: osn + lost.payload, extensions: [(id: 9, data: Array("1".utf8))])
        call.net.settle()
        let forwarded = call.subscriber.rtp(ssrc: call.videoTrack.ssrc)
        #expect(forwarded.contains { $0.payload == lost.payload }, "the repaired packet reached the subscriber")
        #expect(call.core.statsSnapshot.feedback(.rtxReceived) == 1)
        // Repaired: no more NACKs for it.
        let nacks = call.publisher.nacks.count
        call.net.advance(by: .milliseconds(500))
        #expect(call.publisher.nacks.count == nacks)
        // A second copy (the publisher resending on its own) is dropped, not forwarded twice.
        try call.publisher.transport.sendRTP(
            payloadType: 96, sequenceNumber: lost.sequenceNumber, timestamp: lost.timestamp, ssrc: CallFixture.videoSSRC,
            marker: lost.marker, payload: lost.payload, extensions: [(id: 9, data: Array("1".utf8))])
        call.net.settle()
        #expect(call.subscriber.rtp(ssrc: call.videoTrack.ssrc).count == forwarded.count)
        #expect(call.core.statsSnapshot.feedback(.duplicatesDropped) == 1)
    }

    @Test func aSubscribersNackForWhatChorusItselfIsRepairingAsksForNoKeyframe() throws {
        let call = try call(subscriberRTX: false)
        let next = call.video.sequenceNumber
        dropFromPublisher(call, [(next &+ 1).rawValue])
        call.net.advance(by: .milliseconds(33))
        let frame = try call.sendVideoFrame(keyframe: false)  // next arrives, next+1 is lost
        call.net.advance(by: .milliseconds(33))
        try call.sendVideoFrame(keyframe: false)  // the gap shows: Chorus NACKs the publisher
        call.net.blocks = nil
        #expect(call.publisher.nacks.flatMap(\.lost) == [next &+ 1])

        // The subscriber saw the same gap in what Chorus forwarded and NACKs it too.
        let received = call.subscriber.rtp(ssrc: call.videoTrack.ssrc)
        let offset = try #require(received.first { $0.payload == frame[0].payload }).sequenceNumber.rawValue &- next.rawValue
        let plis = call.publisher.pictureLossIndications.count
        try nack(call, [SequenceNumber((next &+ 1).rawValue &+ offset)])
        #expect(call.publisher.pictureLossIndications.count == plis, "no keyframe for a packet already being repaired")
        #expect(call.core.statsSnapshot.feedback(.retransmissionMisses) == 0)

        // The publisher's repair reaches the subscriber.
        let lost = frame[1]
        try call.publisher.transport.sendRTP(
            payloadType: 96, sequenceNumber: lost.sequenceNumber, timestamp: lost.timestamp, ssrc: CallFixture.videoSSRC,
            marker: lost.marker, payload: lost.payload, extensions: [(id: 9, data: Array("1".utf8))])
        call.net.settle()
        #expect(call.subscriber.rtp(ssrc: call.videoTrack.ssrc).contains { $0.payload == lost.payload })
    }

    @Test func aGapTooLargeToRepairIsAKeyframeRequest() throws {
        let call = try call(subscriberRTX: false)
        let plis = call.publisher.pictureLossIndications.count
        call.video.sequenceNumber = call.video.sequenceNumber &+ UInt16(NackGenerator.maximumGap + 5)
        call.net.advance(by: .milliseconds(400))
        try call.sendVideoFrame(keyframe: false)
        #expect(call.publisher.nacks.isEmpty)
        #expect(call.publisher.pictureLossIndications.count == plis + 1)
    }

    /// `--retransmission off`, the A/B baseline: Chorus neither asks the publisher for its own
    /// gaps nor answers from a history; a subscriber's NACK goes on to the publisher.
    @Test func switchedOffChorusNeitherNacksNorAnswersButPassesNacksOn() throws {
        let call = try call(subscriberRTX: false, retransmission: false)
        let next = call.video.sequenceNumber
        dropFromPublisher(call, [(next &+ 1).rawValue])
        call.net.advance(by: .milliseconds(33))
        try call.sendVideoFrame(keyframe: false)
        call.net.advance(by: .milliseconds(33))
        try call.sendVideoFrame(keyframe: false)
        call.net.blocks = nil
        call.net.advance(by: RoundTripTime.initial + .milliseconds(20))
        #expect(call.publisher.nacks.isEmpty, "no NACK of Chorus's own")
        #expect(call.core.statsSnapshot.feedback(.nacksSent) == 0)

        let sent = call.subscriber.rtp(ssrc: call.videoTrack.ssrc)
        try nack(call, [sent[sent.count - 2].sequenceNumber])
        #expect(call.publisher.nacks.count == 1, "the subscriber's NACK went on to the publisher")
        #expect(call.core.statsSnapshot.feedback(.nacksForwarded) == 1)
        #expect(call.core.statsSnapshot.feedback(.retransmittedFromCache) == 0)
        #expect(call.subscriber.rtp(ssrc: call.videoTrack.ssrc).count == sent.count, "nothing resent by Chorus")
    }

    // MARK: - Round trip

    @Test func theRoundTripComesFromTheSubscribersReportOnOurs() throws {
        let call = try call(subscriberRTX: false)
        call.net.latency = .milliseconds(40)
        // Wait for the next sender report to arrive (to within 2 ms).
        let reports = call.subscriber.senderReports.count
        while call.subscriber.senderReports.count == reports { call.net.advance(by: .milliseconds(2)) }
        let report = try #require(call.subscriber.senderReports.last { $0.ssrc == call.videoTrack.ssrc })
        // The subscriber holds it 15 ms, then answers (DLSR in 1/65536 s).
        call.net.advance(by: .milliseconds(15))
        let block = ReportBlock(
            ssrc: call.videoTrack.ssrc, fractionLost: 0, cumulativeLost: 0, extendedHighestSequence: 0, jitter: 0,
            lastSenderReport: NTPTime.middle32(report.ntpTimestamp), delaySinceLastSenderReport: 15 * 65536 / 1000)
        try call.subscriber.transport.sendRTCP([.receiverReport(ReceiverReport(ssrc: 0xBB, reports: [block]))])
        call.net.advance(by: .milliseconds(50))
        let transport = try #require(call.core.subscriberTransport(room: CallFixture.room, participant: CallFixture.publisherID, subscription: CallFixture.subscriptionID))
        let rtt = try #require(transport.roundTrip.smoothed)
        // 40 ms each way, plus up to the 2 ms steps in which the report's arrival was seen.
        #expect(rtt >= .milliseconds(79) && rtt <= .milliseconds(83), "\(rtt)")
        #expect(call.core.statsSnapshot.roundTripCount == 1)
    }
}
