// Consent freshness (RFC 7675) over the in-memory network with a fake clock: a peer whose
// checks stop is dropped after 30 s with everything that hangs on it, a peer that keeps
// checking stays, and a transport that never connects is closed after the same timeout.

import Testing
import ICE
import RTP
@testable import SFU
import SFUTesting

@Suite struct ConsentTests {
    @Test func checkingPeersKeepTheirTransportsPastTheTimeout() throws {
        let call = try CallFixture()
        call.net.advance(by: .seconds(65))
        #expect(call.publisher.transport.isConnected)
        #expect(call.subscriber.transport.isConnected)
        #expect(call.roomState?.participants.first?.transportState == .connected)
        #expect(call.core.statsSnapshot.transports == 2)
        try call.sendVideoFrame(keyframe: true)
        #expect(call.subscriber.rtp(ssrc: call.videoTrack.ssrc).count == 2)
    }

    @Test func silentPublisherIsDroppedWithItsSubscriptions() throws {
        let call = try CallFixture()
        let publisherAddress = call.publisher.address
        // The publisher's checks stop reaching the SFU (the path broke); its media would too.
        call.net.blocks = { datagram in
            datagram.source == publisherAddress && InMemoryNetwork.Kind(firstByte: datagram.bytes.first) == .stun
        }
        call.net.advance(by: .seconds(29))
        #expect(call.roomState != nil, "consent lasts 30 s from the last check")
        #expect(call.core.statsSnapshot.transports == 2)

        call.net.advance(by: .seconds(2))
        #expect(call.roomState == nil)
        #expect(call.core.roomNames.isEmpty)
        let stats = call.core.statsSnapshot
        #expect(stats.transports == 0)
        #expect(stats.rooms == 0)
        #expect(stats.producers == 0)
        #expect(stats.consumers == 0)
        // The subscriber is told with close_notify. The publisher's own consent ran out at the
        // same moment (its checks got no answers), so it stopped on its own.
        #expect(call.subscriber.wasClosed)
        #expect(call.subscriber.transport.state == .closed)
        #expect(call.publisher.transport.state == .failed("ICE: consent expired"))

        // What the subscriber's client still sends no longer reaches anything.
        let unknownBefore = call.core.statsSnapshot.dropped(.unknownTransport)
        call.net.advance(by: .seconds(5))
        #expect(call.core.statsSnapshot.dropped(.unknownTransport) == unknownBefore)
        #expect(throws: MediaServerError.roomNotFound) {
            try call.core.setMute(
                room: CallFixture.room, participantID: CallFixture.publisherID, kind: .audio, muted: true,
                byAdmin: true, now: call.net.now)
        }
    }

    @Test func silentSubscriberIsDroppedAndThePublisherStays() throws {
        let call = try CallFixture()
        let subscriberAddress = call.subscriber.address
        call.net.blocks = { $0.source == subscriberAddress && InMemoryNetwork.Kind(firstByte: $0.bytes.first) == .stun }
        call.net.advance(by: .seconds(31))
        let state = try #require(call.roomState)
        #expect(state.participants.count == 1)
        #expect(state.participants[0].subscriptions.isEmpty)
        #expect(call.core.statsSnapshot.transports == 1)
        #expect(call.core.statsSnapshot.consumers == 0)
        #expect(call.videoTrackState?.consumers == 0)
        // Media keeps arriving at the producer with nobody to forward to.
        try call.sendVideoFrame(keyframe: true)
        #expect(call.videoTrackState?.packetsIn == 2)
        #expect(call.videoTrackState?.packetsOut == 0)
    }

    @Test func transportThatNeverConnectsIsClosed() throws {
        let call = try CallFixture(connect: false)
        _ = try call.core.publish(
            room: CallFixture.room, participantID: CallFixture.publisherID, identity: "Alice",
            remote: call.publisher.offer, tracks: CallFixture.publishedTracks, now: call.net.now)
        #expect(call.roomState?.participants.first?.transportState == .new)
        call.net.advance(by: .seconds(29))
        #expect(call.roomState != nil)
        call.net.advance(by: .seconds(2))
        #expect(call.roomState == nil)
        #expect(call.core.statsSnapshot.transports == 0)
    }

    @Test func clientGivesUpWhenTheSFUStopsAnswering() throws {
        let call = try CallFixture()
        let server = call.net.serverAddress
        call.net.blocks = { $0.source == server }
        call.net.advance(by: .seconds(31))
        guard case .failed(let reason) = call.publisher.transport.state else {
            Issue.record("publisher still \(call.publisher.transport.state)")
            return
        }
        #expect(reason.contains("consent expired"))
        #expect(call.publisher.events.last == .failed(reason))
        #expect(call.publisher.transport.nextTimeout == nil)
    }
}
