// What a worker counts for the limits: transports per identity (publishers apart), the
// worker's cap on transports, and the counts coming back when transports close.

import Testing
import ICE
@testable import SFU
import SFUTesting

@Suite struct TransportLimitTests {
    @Test func usageFollowsTransportsAndTheCapRefusesMore() throws {
        let net = try InMemoryNetwork()
        let core = net.core
        core.maximumTransports = 2
        let alice = try net.makePeer("alice")
        let bob = try net.makePeer("bob")
        _ = try core.publish(
            room: "r", participantID: "p1", identity: "alice", remote: alice.offer,
            tracks: CallFixture.publishedTracks, now: net.now)
        _ = try core.subscribe(
            room: "r", participantID: "p1", subscriptionID: "s1", identity: "bob", remote: bob.offer,
            slots: CallFixture.subscriberSlots, now: net.now)
        #expect(core.usage(of: "alice") == MediaUsage(transports: 1, publishers: 1))
        #expect(core.usage(of: "bob") == MediaUsage(transports: 1, publishers: 0))

        let carol = try net.makePeer("carol")
        #expect(throws: MediaServerError.tooManyTransports) {
            _ = try core.publish(
                room: "r2", participantID: "p2", identity: "carol", remote: carol.offer,
                tracks: CallFixture.publishedTracks, now: net.now)
        }
        #expect(core.usage(of: "carol") == MediaUsage())

        // The publisher leaves: its transport and the subscription to it go, and so do the counts.
        try core.unpublish(room: "r", participantID: "p1")
        net.settle()
        #expect(core.usage(of: "alice") == MediaUsage())
        #expect(core.usage(of: "bob") == MediaUsage())
        _ = try core.publish(
            room: "r2", participantID: "p2", identity: "carol", remote: carol.offer,
            tracks: CallFixture.publishedTracks, now: net.now)
        #expect(core.usage(of: "carol") == MediaUsage(transports: 1, publishers: 1))
    }
}
