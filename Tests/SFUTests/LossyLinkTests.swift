// A call over links that lose 20 % of datagrams each way (seeded): ICE checks are repeated and
// DTLS flights retransmitted until both transports connect, and media then arrives minus the
// loss, still rewritten onto one gapless numbering so the gaps are exactly the lost packets.

import Testing
import ICE
import RTP
@testable import SFU
import SFUTesting

@Suite struct LossyLinkTests {
    /// Connects both peers with the fake clock paced by the real one (OpenSSL checks DTLS
    /// timers against the wall clock), then stops pacing for the media.
    private func lossyCall(seed: UInt64) throws -> CallFixture {
        let net = try InMemoryNetwork(seed: seed)
        net.lossToServer = 0.2
        net.lossToClients = 0.2
        let call = try CallFixture(net: net, connect: false)
        net.pacedByWallClock = true
        let answer = try call.core.publish(
            room: CallFixture.room, participantID: CallFixture.publisherID, identity: "Alice",
            remote: call.publisher.offer, tracks: CallFixture.publishedTracks, now: net.now)
        try net.attach(call.publisher, answer: answer)
        let (subscriberAnswer, tracks) = try call.core.subscribe(
            room: CallFixture.room, participantID: CallFixture.publisherID, subscriptionID: CallFixture.subscriptionID,
            identity: "Bob", remote: call.subscriber.offer, slots: CallFixture.subscriberSlots, now: net.now)
        call.setOutgoing(tracks)
        try net.attach(call.subscriber, answer: subscriberAnswer)
        let connected = net.run(until: {
            call.publisher.transport.isConnected && call.subscriber.transport.isConnected
                && call.roomState?.participants.first?.subscriptions.first?.transportState == .connected
                && call.roomState?.participants.first?.transportState == .connected
        }, limit: .seconds(20))
        net.pacedByWallClock = false
        try #require(connected, "publisher \(call.publisher.transport.state), subscriber \(call.subscriber.transport.state)")
        return call
    }

    @Test(.timeLimit(.minutes(1)), arguments: [UInt64(7), 2024])
    func handshakeCompletesAndMediaArrivesMinusLoss(seed: UInt64) throws {
        // About 1 s of real time for these seeds (DTLS timers run on the wall clock); the
        // 20 s bound in lossyCall only guards against a hang.
        let call = try lossyCall(seed: seed)
        #expect(call.net.lostCount > 0, "the links did lose datagrams")

        let count = 300
        for _ in 0..<count {
            try call.sendAudio()
            call.net.advance(by: .milliseconds(20))
        }
        let received = call.subscriber.rtp(ssrc: call.audioTrack.ssrc)
        // Two links of 20 % loss deliver 64 %: 192 of 300 on average, sd about 8.
        #expect(received.count > 150 && received.count < 235, "received \(received.count) of \(count)")
        // Each packet's index is in its payload; the rewritten numbering keeps the gaps exact.
        let first = try #require(received.first)
        let firstIndex = Int(first.payload[1]) << 8 | Int(first.payload[2])
        for packet in received {
            let index = Int(packet.payload[1]) << 8 | Int(packet.payload[2])
            #expect(first.sequenceNumber.distance(to: packet.sequenceNumber) == index - firstIndex)
            #expect(packet.payloadType == CallFixture.subscriberAudioPT)
        }
        let indices = received.map { Int($0.payload[1]) << 8 | Int($0.payload[2]) }
        #expect(indices == indices.sorted())
        #expect(Set(indices).count == indices.count, "no duplicates")
    }

    @Test(.timeLimit(.minutes(1)))
    func videoStartsOnAKeyframeDespiteLoss() throws {
        let call = try lossyCall(seed: 99)
        // A keyframe every fifth frame; lost keyframes make the SFU wait for the next one.
        for frame in 0..<40 {
            try call.sendVideoFrame(keyframe: frame % 5 == 0, packets: 1)
            call.net.advance(by: .milliseconds(33))
        }
        let received = call.subscriber.rtp(ssrc: call.videoTrack.ssrc)
        let first = try #require(received.first)
        #expect(isVP8KeyframeStart(first.payload))
        #expect(received.count > 10)
        #expect(received.allSatisfy { $0.payloadType == CallFixture.subscriberVideoPT })
    }
}
