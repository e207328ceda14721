// A publisher's opus and VP8 reach a subscriber through the SFU over the in-memory network:
// SSRC and payload type rewritten to the subscriber's, sequence numbers continuous, payload
// bytes untouched, MID extension in the subscriber's numbering, video starting on a keyframe.

import Testing
import ICE
import RTP
@testable import SFU
import SFUTesting

@Suite struct ForwardingTests {
    @Test func bothTransportsConnect() throws {
        let call = try CallFixture()
        #expect(call.publisher.transport.isConnected)
        #expect(call.subscriber.transport.isConnected)
        #expect(call.publisher.events.first == .connected)
        #expect(call.publisher.transport.mappedAddress == call.publisher.address)
        // GCM is offered first by both sides (the cheaper profile per packet).
        #expect(call.publisher.transport.srtpProfile == .aeadAes128Gcm)
        let state = try #require(call.roomState)
        #expect(state.participants.map(\.transportState) == [.connected])
        #expect(state.participants[0].subscriptions.map(\.transportState) == [.connected])
        #expect(call.core.statsSnapshot.transports == 2)
        #expect(call.core.statsSnapshot.consumers == 2)
        #expect(call.outgoing.count == 2)
    }

    @Test func audioIsForwardedWithTheSubscribersSSRCAndPayloadType() throws {
        let call = try CallFixture()
        var sent: [VP8Stream.Packet] = []
        for _ in 0..<10 {
            sent.append(try call.sendAudio())
            call.net.advance(by: .milliseconds(20))
        }
        let received = call.subscriber.rtp(ssrc: call.audioTrack.ssrc)
        try #require(received.count == 10)
        #expect(received.allSatisfy { $0.payloadType == CallFixture.subscriberAudioPT })
        #expect(received.map(\.payload) == sent.map(\.payload))
        #expect(received.allSatisfy { $0.extensions[CallFixture.subscriberMidExtensionID] == Array("0".utf8) })
        // The publisher's own extension id 9 is not copied: it means nothing to the subscriber.
        #expect(received.allSatisfy { $0.extensions[9] == nil })
        for (previous, next) in zip(received, received.dropFirst()) {
            #expect(next.sequenceNumber == previous.sequenceNumber &+ 1)
            #expect(previous.timestamp.distance(to: next.timestamp) == 960)
        }
        #expect(call.subscriber.rtp.allSatisfy { $0.ssrc != CallFixture.audioSSRC && $0.ssrc != CallFixture.videoSSRC })
        #expect(call.audioTrackState?.packetsIn == 10)
        #expect(call.audioTrackState?.packetsOut == 10)
    }

    @Test func videoStartsOnAKeyframeRequestedFromThePublisher() throws {
        let call = try CallFixture()
        // The subscriber connected: the SFU asked the publisher for a keyframe right away.
        let plis = call.publisher.pictureLossIndications
        #expect(!plis.isEmpty)
        #expect(plis.allSatisfy { $0.mediaSSRC == CallFixture.videoSSRC })

        // Deltas before the keyframe are held back (a decoder cannot start on them).
        for _ in 0..<3 {
            try call.sendVideoFrame(keyframe: false)
            call.net.advance(by: .milliseconds(33))
        }
        #expect(call.subscriber.rtp(ssrc: call.videoTrack.ssrc).isEmpty)
        let waiting = call.roomState?.participants[0].subscriptions[0].tracks.first { $0.kind == .video }
        #expect(waiting?.packetsDroppedWaitingForKeyframe == 6)
        #expect(call.core.statsSnapshot.dropped(.waitingForKeyframe) == 6)

        var sent: [VP8Stream.Packet] = []
        sent += try call.sendVideoFrame(keyframe: true, packets: 3)
        for _ in 0..<5 {
            call.net.advance(by: .milliseconds(33))
            sent += try call.sendVideoFrame(keyframe: false)
        }
        let received = call.subscriber.rtp(ssrc: call.videoTrack.ssrc)
        try #require(received.count == sent.count)
        #expect(isVP8KeyframeStart(received[0].payload))
        #expect(received.map(\.payload) == sent.map(\.payload))
        #expect(received.map(\.marker) == sent.map(\.marker))
        #expect(received.allSatisfy { $0.payloadType == CallFixture.subscriberVideoPT })
        #expect(received.allSatisfy { $0.extensions[CallFixture.subscriberMidExtensionID] == Array("1".utf8) })
        for (previous, next) in zip(received, received.dropFirst()) {
            #expect(next.sequenceNumber == previous.sequenceNumber &+ 1)
        }
        // Timestamps keep the publisher's spacing (the publisher's wrapped past 2^32 meanwhile).
        for ((previous, next), (sentPrevious, sentNext)) in zip(zip(received, received.dropFirst()), zip(sent, sent.dropFirst())) {
            #expect(previous.timestamp.distance(to: next.timestamp) == sentPrevious.timestamp.distance(to: sentNext.timestamp))
        }
    }

    /// An encoder restart: the publisher's video continues under a new SSRC, recognised by its
    /// MID extension. The subscriber keeps one stream: same SSRC, next sequence number.
    @Test func publisherSSRCChangeKeepsTheSubscriberStreamContinuous() throws {
        let call = try CallFixture()
        try call.sendVideoFrame(keyframe: true)
        call.net.advance(by: .milliseconds(33))
        try call.sendVideoFrame(keyframe: false)
        let last = try #require(call.subscriber.rtp(ssrc: call.videoTrack.ssrc).last)
        let plisBefore = call.publisher.pictureLossIndications.count

        var restarted = VP8Stream(ssrc: 0x3333_3333)
        restarted.sequenceNumber = 17
        restarted.timestamp = 123_456
        call.video = restarted
        call.net.advance(by: .milliseconds(33))
        try call.sendVideoFrame(keyframe: false)
        #expect(call.subscriber.rtp(ssrc: call.videoTrack.ssrc).last == last, "a delta cannot start the new stream")
        let plis = call.publisher.pictureLossIndications.dropFirst(plisBefore)
        #expect(plis.map(\.mediaSSRC).contains(0x3333_3333), "the keyframe is asked for on the new SSRC")
        #expect(call.videoTrackState?.ssrc == 0x3333_3333)

        call.net.advance(by: .milliseconds(33))
        try call.sendVideoFrame(keyframe: true)
        let resumed = try #require(call.subscriber.rtp(ssrc: call.videoTrack.ssrc).last { $0.sequenceNumber == last.sequenceNumber &+ 1 })
        #expect(isVP8KeyframeStart(resumed.payload))
        #expect(last.timestamp.distance(to: resumed.timestamp) == 2 * 33 * 90)
        #expect(call.subscriber.rtp.allSatisfy { $0.ssrc == call.videoTrack.ssrc || $0.ssrc == call.audioTrack.ssrc })
    }

    @Test func unsubscribeStopsForwardingAndKeepsThePublisher() throws {
        let call = try CallFixture()
        try call.sendAudio()
        try call.core.unsubscribe(room: CallFixture.room, participantID: CallFixture.publisherID, subscriptionID: CallFixture.subscriptionID)
        call.net.settle()
        #expect(call.subscriber.wasClosed)
        #expect(call.core.statsSnapshot.transports == 1)
        #expect(call.core.statsSnapshot.consumers == 0)
        try call.sendAudio()
        #expect(call.subscriber.rtp.count == 1)
        #expect(call.audioTrackState?.packetsIn == 2)
        #expect(call.audioTrackState?.consumers == 0)

        try call.core.unpublish(room: CallFixture.room, participantID: CallFixture.publisherID)
        call.net.settle()
        #expect(call.publisher.wasClosed)
        #expect(call.roomState == nil)
        #expect(call.core.statsSnapshot.transports == 0)
    }

    @Test func twoSubscribersGetIndependentStreams() throws {
        let call = try CallFixture()
        let second = try call.net.makePeer("carol")
        let (answer, tracks) = try call.core.subscribe(
            room: CallFixture.room, participantID: CallFixture.publisherID, subscriptionID: "carol-watches-alice",
            identity: "Carol", remote: second.offer, slots: CallFixture.subscriberSlots, now: call.net.now)
        try call.net.connect(second, answer: answer)
        try call.sendVideoFrame(keyframe: true)
        for _ in 0..<3 { try call.sendAudio() }
        let carolAudio = try #require(tracks.first { $0.kind == .audio })
        #expect(carolAudio.ssrc != call.audioTrack.ssrc)
        #expect(second.rtp(ssrc: carolAudio.ssrc).count == 3)
        #expect(call.subscriber.rtp(ssrc: call.audioTrack.ssrc).count == 3)
        #expect(second.rtp.count == 5)
        #expect(call.subscriber.rtp.count == 5)
    }

    /// The fan-out walks ahead of itself with cache hints (Consumer.prefetch, five stages): with
    /// fewer and more subscribers than that, each still gets every packet exactly once, in order.
    /// Both SRTP backends (OpenSSL takes an unretained fast path, libsrtp the protocol's).
    @Test(arguments: [3, 7], [SRTPBackend.openssl, .libsrtp])
    func everySubscriberOfAFanOutGetsEachPacketOnceInOrder(extraSubscribers: Int, backend: SRTPBackend) throws {
        let call = try CallFixture(net: InMemoryNetwork(srtpBackend: backend))
        var audioSSRCs = [(peer: call.subscriber, ssrc: call.audioTrack.ssrc)]
        for index in 0..<extraSubscribers {
            let peer = try call.net.makePeer("listener\(index)")
            let (answer, tracks) = try call.core.subscribe(
                room: CallFixture.room, participantID: CallFixture.publisherID, subscriptionID: "listener\(index)",
                identity: "Listener \(index)", remote: peer.offer, slots: CallFixture.subscriberSlots, now: call.net.now)
            try call.net.connect(peer, answer: answer)
            audioSSRCs.append((peer, try #require(tracks.first { $0.kind == .audio }).ssrc))
        }
        var sent: [[UInt8]] = []
        for _ in 0..<4 { sent.append(try call.sendAudio().payload) }
        #expect(Set(audioSSRCs.map(\.ssrc)).count == extraSubscribers + 1)
        for (peer, ssrc) in audioSSRCs {
            let received = peer.rtp(ssrc: ssrc)
            #expect(received.map(\.payload) == sent)
            #expect(zip(received, received.dropFirst()).allSatisfy { $1.sequenceNumber == $0.sequenceNumber &+ 1 })
        }
    }

    @Test func clientRejectsSendingBeforeConnectingAndOversizedPackets() throws {
        let call = try CallFixture(connect: false)
        let answer = try call.core.publish(
            room: CallFixture.room, participantID: CallFixture.publisherID, identity: "Alice",
            remote: call.publisher.offer, tracks: CallFixture.publishedTracks, now: call.net.now)
        try call.net.attach(call.publisher, answer: answer)
        let transport = call.publisher.transport!
        #expect(transport.state == .checking)
        #expect(throws: ClientTransportError.notConnected) {
            try transport.sendRTP(payloadType: 96, sequenceNumber: 1, timestamp: 1, ssrc: 1, payload: [1])
        }
        call.net.run(until: { transport.isConnected })
        #expect(throws: ClientTransportError.packetTooLarge) {
            try transport.sendRTP(payloadType: 96, sequenceNumber: 1, timestamp: 1, ssrc: 1, payload: [UInt8](repeating: 0, count: 1490))
        }
        #expect(throws: ClientTransportError.badExtension(id: 15)) {
            try transport.sendRTP(payloadType: 96, sequenceNumber: 1, timestamp: 1, ssrc: 1, payload: [1], extensions: [(id: 15, data: [1])])
        }
    }
}
