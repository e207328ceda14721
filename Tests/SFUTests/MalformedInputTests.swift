// Garbage at the SFU's port over the in-memory network: seeded random datagrams of every
// RFC 7983 class, from strangers and from a connected peer's own address, truncated and
// replayed SRTP. Nothing crashes, every drop is counted under its reason, and the call goes on.

import ChorusTestSupport
import Testing
import ICE
import RTP
@testable import SFU
import SFUTesting

@Suite struct MalformedInputTests {
    /// Random bytes whose first byte lies in `firstBytes` (the demultiplexer's classes).
    private static func randomDatagram(firstBytes: ClosedRange<UInt8>, maxLength: Int = 300, using generator: inout SeededGenerator) -> [UInt8] {
        let length = Int.random(in: 1...maxLength, using: &generator)
        var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[0] = UInt8.random(in: firstBytes, using: &generator)
        return bytes
    }

    /// A STUN header with the magic cookie and a consistent length, then random attributes:
    /// what gets past `looksLikeSTUN` into the parser.
    private static func randomSTUN(username: String?, using generator: inout SeededGenerator) -> [UInt8] {
        var body: [UInt8] = []
        if let username {
            let value = Array(username.utf8)
            body += [0x00, 0x06, 0x00, UInt8(value.count)] + value
            body += [UInt8](repeating: 0, count: (4 - value.count % 4) % 4)
        }
        let extra = Int.random(in: 0...16, using: &generator) * 4
        body += (0..<extra).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var header: [UInt8] = [0x00, 0x01, UInt8(body.count >> 8), UInt8(body.count & 0xFF), 0x21, 0x12, 0xA4, 0x42]
        header += (0..<12).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return header + body
    }

    private static func droppedTotal(_ snapshot: WorkerStatsSnapshot) -> Int { snapshot.dropped.reduce(0, +) }

    /// Audio and a keyframe still reach the subscriber.
    private func expectStillForwarding(_ call: CallFixture, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let audioBefore = call.subscriber.rtp(ssrc: call.audioTrack.ssrc).count
        let videoBefore = call.subscriber.rtp(ssrc: call.videoTrack.ssrc).count
        call.net.advance(by: .milliseconds(400))  // past the keyframe request throttle
        try call.sendVideoFrame(keyframe: true)
        try call.sendAudio()
        #expect(call.subscriber.rtp(ssrc: call.audioTrack.ssrc).count == audioBefore + 1, sourceLocation: sourceLocation)
        #expect(call.subscriber.rtp(ssrc: call.videoTrack.ssrc).count == videoBefore + 2, sourceLocation: sourceLocation)
        #expect(call.publisher.transport.isConnected, sourceLocation: sourceLocation)
        #expect(call.subscriber.transport.isConnected, sourceLocation: sourceLocation)
    }

    @Test func randomBytesFromAStrangerAreDroppedByReason() throws {
        let call = try CallFixture()
        let stranger = TransportAddress(ip: .v4(203, 0, 113, 9), port: 6666)
        var generator = SeededGenerator(seed: 0xC0FFEE)
        let before = call.core.statsSnapshot
        var expectedUnknownSource = 0
        var expectedMalformed = 0
        let count = 4000
        for i in 0..<count {
            let ranges: [ClosedRange<UInt8>] = [0...3, 4...19, 20...63, 64...127, 128...191, 192...255]
            let range = ranges[i % ranges.count]
            let bytes = Self.randomDatagram(firstBytes: range, using: &generator)
            switch range.lowerBound {
            case 20, 128: expectedUnknownSource += 1
            default: expectedMalformed += 1  // random "STUN" lacks the magic cookie
            }
            call.net.inject(bytes, from: stranger)
        }
        call.net.inject([], from: stranger)
        expectedMalformed += 1
        let after = call.core.statsSnapshot
        #expect(after.packetsIn - before.packetsIn == count + 1)
        #expect(after.dropped(.unknownSource) - before.dropped(.unknownSource) == expectedUnknownSource)
        #expect(after.dropped(.malformed) - before.dropped(.malformed) == expectedMalformed)
        #expect(Self.droppedTotal(after) - Self.droppedTotal(before) == count + 1)
        #expect(call.net.undeliverableCount == 0, "nothing was answered to the stranger")
        try expectStillForwarding(call)
    }

    @Test func randomSTUNIsRejectedOrAnsweredNeverTrusted() throws {
        let call = try CallFixture()
        let stranger = TransportAddress(ip: .v4(203, 0, 113, 9), port: 6666)
        // The publisher's transport's ufrag at the SFU, as an attacker who read the SDP knows it.
        let sfuUfrag = call.publisher.transport.remoteICE.ufrag
        var generator = SeededGenerator(seed: 77)
        var answered = 0
        call.net.tap = { datagram in if datagram.destination == stranger { answered += 1 } }
        let before = call.core.statsSnapshot
        let count = 1500
        for i in 0..<count {
            let username: String? = switch i % 3 {
            case 0: nil
            case 1: "nobody:" + call.publisher.ice.ufrag
            default: sfuUfrag + ":" + call.publisher.ice.ufrag
            }
            call.net.inject(Self.randomSTUN(username: username, using: &generator), from: stranger)
        }
        let after = call.core.statsSnapshot
        // Each one is dropped or answered (a 400/401 error, or a plain Binding response), never both.
        #expect(Self.droppedTotal(after) - Self.droppedTotal(before) + answered == count)
        #expect(after.dropped(.unknownTransport) - before.dropped(.unknownTransport) == count / 3)
        #expect(call.net.undeliverableCount == answered)
        // Forged checks with the right ufrag but no valid integrity did not move the publisher.
        try expectStillForwarding(call)
    }

    @Test func randomBytesFromAConnectedPeerDoNotBreakItsCall() throws {
        let call = try CallFixture()
        let publisher = call.publisher.address
        var generator = SeededGenerator(seed: 4242)
        let before = call.core.statsSnapshot
        var expectedSRTPFailures = 0
        var expectedMalformed = 0
        let count = 3000
        for i in 0..<count {
            let ranges: [ClosedRange<UInt8>] = [0...3, 20...63, 128...191]
            let range = ranges[i % ranges.count]
            let bytes = Self.randomDatagram(firstBytes: range, using: &generator)
            switch range.lowerBound {
            case 0: expectedMalformed += 1
            case 128: if bytes.count < 12 { expectedMalformed += 1 } else { expectedSRTPFailures += 1 }
            default: break  // DTLS: OpenSSL discards records that fail (RFC 6347 §4.1.2.7), uncounted
            }
            call.net.inject(bytes, from: publisher)
        }
        let after = call.core.statsSnapshot
        #expect(after.dropped(.srtpAuthentication) - before.dropped(.srtpAuthentication) == expectedSRTPFailures)
        #expect(after.dropped(.malformed) - before.dropped(.malformed) == expectedMalformed)
        #expect(call.roomState?.participants.first?.transportState == .connected)
        try expectStillForwarding(call)
    }

    @Test func truncatedAndReplayedSRTPAreCountedAndDropped() throws {
        let call = try CallFixture()
        let publisher = call.publisher.address
        // Capture the publisher's next SRTP and SRTCP without letting them arrive, so that the
        // SFU sees truncated copies of packets whose index is still new.
        var captured: [[UInt8]] = []
        let isMedia = { (datagram: InMemoryNetwork.Datagram) in
            datagram.source == publisher && InMemoryNetwork.Kind(firstByte: datagram.bytes.first) == .media
        }
        call.net.tap = { if isMedia($0) { captured.append($0.bytes) } }
        call.net.blocks = isMedia
        try call.sendVideoFrame(keyframe: true)
        try call.publisher.transport.sendRTCP([
            .senderReport(SenderReport(ssrc: CallFixture.videoSSRC, ntpTimestamp: 1, rtpTimestamp: 2, packetCount: 2, octetCount: 100))
        ])
        call.net.settle()
        call.net.tap = nil
        call.net.blocks = nil
        try #require(captured.count == 3)  // two RTP, one RTCP
        let rtp = captured[0..<2]
        let rtcp = captured[2]

        var before = call.core.statsSnapshot
        let producerBefore = call.videoTrackState?.packetsIn ?? 0
        for datagram in rtp {
            for length in 1..<datagram.count { call.net.inject(Array(datagram.prefix(length)), from: publisher) }
        }
        var after = call.core.statsSnapshot
        // Shorter than an RTP header: malformed; longer: the tag does not match.
        #expect(after.dropped(.malformed) - before.dropped(.malformed) == 2 * 11)
        #expect(after.dropped(.srtpAuthentication) - before.dropped(.srtpAuthentication) == rtp.map { $0.count - 12 }.reduce(0, +))
        #expect(after.dropped(.srtpReplay) == before.dropped(.srtpReplay))

        before = after
        for length in 1..<rtcp.count { call.net.inject(Array(rtcp.prefix(length)), from: publisher) }
        after = call.core.statsSnapshot
        // SRTCP carries its index in the (now cut) trailer, so what is read there is ciphertext:
        // mostly an authentication failure, by chance an index that looks replayed.
        #expect(after.dropped(.malformed) - before.dropped(.malformed) == 11)
        #expect(
            after.dropped(.srtpAuthentication) + after.dropped(.srtpReplay)
                - before.dropped(.srtpAuthentication) - before.dropped(.srtpReplay) == rtcp.count - 12)
        #expect(call.videoTrackState?.packetsIn == producerBefore, "no truncated packet reached the producer")

        // The failed copies did not enter the replay window: the real packets still count.
        for datagram in captured { call.net.inject(datagram, from: publisher) }
        #expect(call.videoTrackState?.packetsIn == producerBefore + 2)
        // Once received, the same packets again are replays (RFC 3711 §3.3.2)...
        before = call.core.statsSnapshot
        for datagram in captured { call.net.inject(datagram, from: publisher) }
        after = call.core.statsSnapshot
        #expect(after.dropped(.srtpReplay) - before.dropped(.srtpReplay) == 3)
        // ...and so are their truncated copies, which libsrtp checks against the window first.
        before = after
        for datagram in rtp { call.net.inject(Array(datagram.prefix(datagram.count - 1)), from: publisher) }
        after = call.core.statsSnapshot
        #expect(after.dropped(.srtpReplay) - before.dropped(.srtpReplay) == 2)
        #expect(call.videoTrackState?.packetsIn == producerBefore + 2)
        try expectStillForwarding(call)
    }

    @Test func clientTransportSurvivesGarbageToo() throws {
        let call = try CallFixture()
        var generator = SeededGenerator(seed: 5150)
        let statsBefore = call.subscriber.transport.stats
        let eventsBefore = call.subscriber.events.count
        for i in 0..<3000 {
            let ranges: [ClosedRange<UInt8>] = [0...3, 20...63, 128...191, 192...255]
            let bytes = Self.randomDatagram(firstBytes: ranges[i % ranges.count], using: &generator)
            // From the SFU's own address, and from a stranger the client must ignore.
            let source = i % 2 == 0 ? call.net.serverAddress : TransportAddress(ip: .v4(198, 51, 100, 1), port: 1)
            call.net.inject(bytes, from: source, to: call.subscriber.address)
        }
        let stats = call.subscriber.transport.stats
        #expect(stats.datagramsIn - statsBefore.datagramsIn == 3000)
        #expect(stats.rtpReceived == statsBefore.rtpReceived)
        #expect(call.subscriber.events.count == eventsBefore, "no event from garbage")
        try expectStillForwarding(call)
    }
}
