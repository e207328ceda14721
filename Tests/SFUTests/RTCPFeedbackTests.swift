// RTCP through the SFU over the in-memory network: a subscriber's PLI and FIR reach the
// publisher translated to its SSRC (aggregated), a NACK too when the history is off, and the SFU
// sends its own reports (SR to subscribers, RR with report blocks to publishers) every second.

import Testing
import ICE
import RTP
@testable import SFU
import SFUTesting

@Suite struct RTCPFeedbackTests {
    /// A call with video flowing and the connect-time keyframe request well past its throttle.
    private func flowingCall() throws -> CallFixture {
        let call = try CallFixture()
        try call.flowVideo()
        return call
    }

    private func sendFromSubscriber(_ call: CallFixture, _ packet: RTCPPacket) throws {
        let rr = RTCPPacket.receiverReport(ReceiverReport(ssrc: 0xBB, reports: []))
        try call.subscriber.transport.sendRTCP([rr, packet])
        call.net.settle()
    }

    @Test func pliForTheConsumerReachesThePublisherThrottled() throws {
        let call = try flowingCall()
        let before = call.publisher.pictureLossIndications.count
        try sendFromSubscriber(call, .pictureLossIndication(PictureLossIndication(senderSSRC: 0xBB, mediaSSRC: call.videoTrack.ssrc)))
        call.net.advance(by: .milliseconds(10))
        try sendFromSubscriber(call, .pictureLossIndication(PictureLossIndication(senderSSRC: 0xBB, mediaSSRC: call.videoTrack.ssrc)))
        let plis = Array(call.publisher.pictureLossIndications.dropFirst(before))
        #expect(plis.count == 1)
        #expect(plis.first?.mediaSSRC == CallFixture.videoSSRC)

        // Past the throttle interval a new request goes through.
        call.net.advance(by: Producer.keyframeRequestInterval)
        try sendFromSubscriber(call, .pictureLossIndication(PictureLossIndication(senderSSRC: 0xBB, mediaSSRC: call.videoTrack.ssrc)))
        #expect(call.publisher.pictureLossIndications.count == before + 2)
    }

    @Test func pliForAnUnknownSSRCIsIgnored() throws {
        let call = try flowingCall()
        let before = call.publisher.pictureLossIndications.count
        try sendFromSubscriber(call, .pictureLossIndication(PictureLossIndication(senderSSRC: 0xBB, mediaSSRC: CallFixture.videoSSRC)))
        try sendFromSubscriber(call, .pictureLossIndication(PictureLossIndication(senderSSRC: 0xBB, mediaSSRC: 12345)))
        #expect(call.publisher.pictureLossIndications.count == before)
    }

    @Test func firBecomesAPLIForThePublisher() throws {
        let call = try flowingCall()
        let before = call.publisher.pictureLossIndications.count
        let fir = FullIntraRequest(senderSSRC: 0xBB, entries: [.init(ssrc: call.videoTrack.ssrc, sequenceNumber: 1)])
        try sendFromSubscriber(call, .fullIntraRequest(fir))
        let plis = Array(call.publisher.pictureLossIndications.dropFirst(before))
        #expect(plis.map(\.mediaSSRC) == [CallFixture.videoSSRC])
    }

    /// With the history switched off (`retransmission = false`, the A/B setting) a NACK goes to
    /// the publisher in its own numbering; RetransmissionTests covers the history.
    @Test func nackIsTranslatedToThePublishersSequenceNumbersWithoutAHistory() throws {
        let call = try CallFixture(connect: false)
        call.core.retransmission = false
        try call.connectPublisher()
        try call.connectSubscriber()
        try call.sendVideoFrame(keyframe: true)
        for _ in 0..<10 {
            call.net.advance(by: .milliseconds(33))
            try call.sendVideoFrame(keyframe: false)
        }
        let received = call.subscriber.rtp(ssrc: call.videoTrack.ssrc)
        // The subscriber misses its 5th and 7th packets (its own numbering).
        let lost = [received[4].sequenceNumber, received[6].sequenceNumber]
        try sendFromSubscriber(call, .nack(GenericNACK(senderSSRC: 0xBB, mediaSSRC: call.videoTrack.ssrc, lost: lost)))
        let nacks = call.publisher.nacks
        try #require(nacks.count == 1)
        #expect(nacks[0].mediaSSRC == CallFixture.videoSSRC)
        // The publisher's packets 5 and 7 of the stream: its numbering started at 65530 and wrapped.
        let original = VP8Stream(ssrc: 0).sequenceNumber
        #expect(nacks[0].lost == [original &+ 4, original &+ 6])
    }

    @Test func reportsAreSentEverySecond() throws {
        let call = try flowingCall()
        let srBefore = call.subscriber.senderReports.count
        let lastPacket = try #require(call.subscriber.rtp(ssrc: call.videoTrack.ssrc).last)
        let lastPacketWallClock = call.net.wallClockNanoseconds
        call.net.advance(by: .milliseconds(1100))

        let reports = call.subscriber.senderReports.dropFirst(srBefore)
        let video = try #require(reports.last { $0.ssrc == call.videoTrack.ssrc })
        #expect(video.packetCount == 22)
        // Payload octets only (RFC 3550 §6.4.1): no header, extension or SRTP tag.
        let videoPackets = call.subscriber.rtp(ssrc: call.videoTrack.ssrc)
        #expect(video.octetCount == UInt32(videoPackets.map(\.payload.count).reduce(0, +)))
        #expect(!reports.contains { $0.ssrc == call.audioTrack.ssrc }, "no SR for a stream that sent nothing")
        // RFC 3550 §6.4.1: the RTP timestamp is the NTP time in the stream's clock, so the
        // subscriber can place the last packet on the wall clock (lip sync).
        let srUnixNanoseconds = (video.ntpTimestamp >> 32 - 2_208_988_800) * 1_000_000_000
            + (video.ntpTimestamp & 0xFFFF_FFFF) * 1_000_000_000 >> 32
        let elapsedTicks = Int64(srUnixNanoseconds - lastPacketWallClock) * 90 / 1_000_000
        #expect(abs(lastPacket.timestamp.distance(to: RTPTimestamp(video.rtpTimestamp)) - elapsedTicks) <= 1)
        // Each SR travels with an SDES CNAME for its SSRC (RFC 3550 §6.1).
        let cnames = call.subscriber.rtcp.compactMap { packet -> SourceDescription? in
            if case .sourceDescription(let sdes) = packet { sdes } else { nil }
        }
        #expect(cnames.contains { $0.chunks.first?.ssrc == call.videoTrack.ssrc })

        let blocks = call.publisher.receiverReports.flatMap(\.reports)
        let block = try #require(blocks.last { $0.ssrc == CallFixture.videoSSRC })
        #expect(block.cumulativeLost == 0)
        #expect(block.fractionLost == 0)
        // 22 packets from 65530: the extended highest sequence number counts the wrap.
        #expect(block.extendedHighestSequence == 65530 + 21)
        #expect(!blocks.contains { $0.ssrc == CallFixture.audioSSRC }, "no block for a stream that sent nothing")
    }

    /// RFC 3550 A.8 jitter across an RTP timestamp wrap. Frames leave every 20 ms but are
    /// stamped 33.3 ms apart (3000 at 90 kHz), so every frame's first packet is 1200 units
    /// "late" and its second on time: the estimate settles near 600. Audio is paced exactly: 0.
    @Test func jitterIsMeasuredAcrossATimestampWrap() throws {
        let call = try CallFixture()
        for _ in 0..<60 {
            try call.sendVideoFrame(keyframe: true)
            try call.sendAudio()
            call.net.advance(by: .milliseconds(20))
        }
        call.net.advance(by: .milliseconds(1000))
        let blocks = call.publisher.receiverReports.flatMap(\.reports)
        let video = try #require(blocks.last { $0.ssrc == CallFixture.videoSSRC })
        let audio = try #require(blocks.last { $0.ssrc == CallFixture.audioSSRC })
        #expect(video.jitter > 500 && video.jitter < 700, "video jitter \(video.jitter)")
        #expect(audio.jitter == 0)
    }

    @Test func receiverReportCountsLossAndAnswersTheSendersReport() throws {
        let call = try flowingCall()
        // The publisher skips two packets, then sends an SR.
        call.video.sequenceNumber = call.video.sequenceNumber &+ 2
        try call.sendVideoFrame(keyframe: false)
        let ntp = NTPTime.fromUnixNanoseconds(call.net.wallClockNanoseconds)
        try call.publisher.transport.sendRTCP([
            .senderReport(SenderReport(ssrc: CallFixture.videoSSRC, ntpTimestamp: ntp, rtpTimestamp: 0, packetCount: 24, octetCount: 1000))
        ])
        call.net.settle()
        call.net.advance(by: .milliseconds(1100))
        let block = try #require(call.publisher.receiverReports.flatMap(\.reports).last { $0.ssrc == CallFixture.videoSSRC })
        #expect(block.cumulativeLost == 2)
        #expect(block.lastSenderReport == NTPTime.middle32(ntp))
        #expect(block.delaySinceLastSenderReport > 0)
    }
}
