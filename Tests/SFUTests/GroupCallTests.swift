// Group-call operations over the in-memory network, the way Signaling drives them: a
// participant is published without tracks, adds producers as its offer brings them, and
// consumes the others' on m-lines of its own transport. Each scenario ends with the worker's
// timers running (sender reports walk every consumer), so a consumer left holding a producer
// that went would crash here rather than in a browser test.

import Testing
import ICE
import RTP
@testable import SFU
import SFUTesting

private let room = "call-1"

/// Two group participants: alice publishes audio and video, bob receives them on f1 and f2.
private final class GroupFixture {
    let net: InMemoryNetwork
    let alice: Peer
    let bob: Peer
    var video = VP8Stream(ssrc: CallFixture.videoSSRC)
    var audio = OpusStream(ssrc: CallFixture.audioSSRC)
    static let bobAudio = OutgoingTrack(mid: "f1", kind: .audio, ssrc: 0xB0B0_0001, cname: "c", streamID: "alice", trackID: "a")
    static let bobVideo = OutgoingTrack(mid: "f2", kind: .video, ssrc: 0xB0B0_0002, cname: "c", streamID: "alice", trackID: "v")

    init() throws {
        net = try InMemoryNetwork()
        alice = try net.makePeer("alice")
        bob = try net.makePeer("bob")
        for peer in [alice, bob] {
            let answer = try core.publish(
                room: room, participantID: peer.name, identity: peer.name, remote: peer.offer, tracks: [], now: net.now)
            try net.connect(peer, answer: answer)
        }
        let added = try core.addProducers(room: room, participantID: "alice", tracks: CallFixture.publishedTracks, now: net.now)
        #expect(added == ["alice-0", "alice-1"])
    }

    var core: MediaCore { net.core }

    static func request(_ track: OutgoingTrack, of producerMid: String, payloadType: UInt8) -> ConsumerRequest {
        ConsumerRequest(
            track: track, producerID: MediaCore.producerID(participant: "alice", mid: producerMid),
            payloadType: payloadType, midExtensionID: CallFixture.subscriberMidExtensionID)
    }

    /// bob consumes alice's audio (f1) and video (f2).
    @discardableResult
    func bobConsumes() throws -> [String] {
        try core.consume(room: room, participantID: "bob", requests: [
            Self.request(Self.bobAudio, of: "0", payloadType: CallFixture.subscriberAudioPT),
            Self.request(Self.bobVideo, of: "1", payloadType: CallFixture.subscriberVideoPT),
        ], now: net.now)
    }

    func sendVideoFrame(keyframe: Bool) throws {
        for packet in video.frame(keyframe: keyframe) {
            try alice.transport.sendRTP(
                payloadType: video.payloadType, sequenceNumber: packet.sequenceNumber, timestamp: packet.timestamp,
                ssrc: video.ssrc, marker: packet.marker, payload: packet.payload, extensions: [(id: 9, data: Array("1".utf8))])
        }
        net.settle()
    }

    func sendAudio() throws {
        let packet = audio.next()
        try alice.transport.sendRTP(
            payloadType: audio.payloadType, sequenceNumber: packet.sequenceNumber, timestamp: packet.timestamp,
            ssrc: audio.ssrc, payload: packet.payload, extensions: [(id: 9, data: Array("0".utf8))])
        net.settle()
    }

    /// A second of media and timers (sender reports for every consumer, receiver reports).
    func runASecond() throws {
        for i in 0..<30 {
            net.advance(by: .milliseconds(33))
            try sendVideoFrame(keyframe: i == 0)
            try sendAudio()
        }
    }

    /// carol subscribes to alice's tracks over WHEP as well.
    func carolWatchesAliceOverWHEP() throws {
        let carol = try net.makePeer("carol")
        let (answer, _) = try core.subscribe(
            room: room, participantID: "alice", subscriptionID: "carol-watches", identity: "carol", remote: carol.offer,
            slots: CallFixture.subscriberSlots, now: net.now)
        try net.connect(carol, answer: answer)
    }

    func participant(_ id: String) -> ParticipantState? { core.participantState(room: room, participantID: id) }
    var videoProducer: TrackState? { participant("alice")?.tracks.first { $0.kind == .video } }
}

@Suite struct GroupCallTests {
    @Test func addedProducersReachWhoConsumesThem() throws {
        let call = try GroupFixture()
        #expect(try call.bobConsumes() == ["f1", "f2"])
        // Asking again for m-lines already forwarding starts nothing twice.
        #expect(try call.bobConsumes() == [])
        try call.runASecond()
        #expect(call.bob.rtp(ssrc: GroupFixture.bobVideo.ssrc).count == 60)
        #expect(call.bob.rtp(ssrc: GroupFixture.bobAudio.ssrc).count == 30)
        #expect(call.participant("bob")?.receiving.map(\.mid) == ["f1", "f2"])
        #expect(call.videoProducer?.consumers == 1)
        // A producer added again under the same mid is not a second producer.
        #expect(try call.core.addProducers(room: room, participantID: "alice", tracks: CallFixture.publishedTracks, now: call.net.now) == [])
    }

    @Test func aScreenShareIsNamedInTheStateOfItsTrackAndOfWhoReceivesIt() throws {
        let call = try GroupFixture()
        let screen = TrackParameters(
            mid: "2", kind: .video, codecName: "VP8", payloadType: 96, clockRate: 90000, ssrc: 0xA11C_0003,
            midExtensionID: 9, source: .screen)
        #expect(try call.core.addProducers(room: room, participantID: "alice", tracks: [screen], now: call.net.now) == ["alice-2"])
        let bobScreen = OutgoingTrack(mid: "f3", kind: .video, ssrc: 0xB0B0_0003, cname: "c", streamID: "alice", trackID: "s")
        try call.bobConsumes()
        #expect(try call.core.consume(room: room, participantID: "bob", requests: [
            GroupFixture.request(bobScreen, of: "2", payloadType: CallFixture.subscriberVideoPT),
        ], now: call.net.now) == ["f3"])
        let tracks = call.participant("alice")?.tracks.map { [$0.mid, $0.source.rawValue] }
        #expect(tracks == [["0", "microphone"], ["1", "camera"], ["2", "screen"]])
        let receiving = call.participant("bob")?.receiving.map { [$0.mid, $0.producerId, $0.source.rawValue] }
        #expect(receiving == [["f1", "alice-0", "microphone"], ["f2", "alice-1", "camera"], ["f3", "alice-2", "screen"]])
    }

    @Test func stopConsumingEndsOneMlineOnly() throws {
        let call = try GroupFixture()
        try call.bobConsumes()
        try call.runASecond()
        let videoBefore = call.bob.rtp(ssrc: GroupFixture.bobVideo.ssrc).count
        let audioBefore = call.bob.rtp(ssrc: GroupFixture.bobAudio.ssrc).count

        try call.core.stopConsuming(room: room, participantID: "bob", mids: ["f2", "f9"])
        try call.core.stopConsuming(room: room, participantID: "bob", mids: ["f2"])  // twice: nothing left to stop
        try call.runASecond()
        #expect(call.bob.rtp(ssrc: GroupFixture.bobVideo.ssrc).count == videoBefore)
        #expect(call.bob.rtp(ssrc: GroupFixture.bobAudio.ssrc).count == audioBefore + 30)
        #expect(call.participant("bob")?.receiving.map(\.mid) == ["f1"])
        #expect(call.videoProducer?.consumers == 0)
        // The m-line can carry the track again later (a new consumer on the same mid).
        #expect(try call.core.consume(room: room, participantID: "bob", requests: [
            GroupFixture.request(GroupFixture.bobVideo, of: "1", payloadType: CallFixture.subscriberVideoPT),
        ], now: call.net.now) == ["f2"])
    }

    @Test func aPublisherLeavingMidNegotiation() throws {
        let call = try GroupFixture()
        try call.runASecond()
        // Signaling offered bob alice's tracks; before bob's answer comes back alice leaves.
        try call.core.unpublish(room: room, participantID: "alice")
        call.net.settle()
        // The answer arrives: nothing of alice's is left to forward, and nothing starts.
        #expect(try call.bobConsumes() == [])
        #expect(call.participant("bob")?.receiving.isEmpty == true)
        call.net.advance(by: .seconds(2))
        #expect(call.core.roomState(room)?.participants.map(\.id) == ["bob"])
    }

    @Test func aPublisherLeavingClosesEveryConsumerOfIt() throws {
        let call = try GroupFixture()
        try call.bobConsumes()
        try call.carolWatchesAliceOverWHEP()
        try call.runASecond()
        #expect(call.videoProducer?.consumers == 2)

        try call.core.unpublish(room: room, participantID: "alice")
        call.net.settle()
        #expect(call.participant("bob")?.receiving.isEmpty == true)
        #expect(call.core.statsSnapshot.consumers == 0)
        #expect(call.core.statsSnapshot.transports == 1)  // bob's; carol's subscription went with alice
        call.net.advance(by: .seconds(3))  // bob's reports run over what is left
    }

    @Test func removedProducersTakeTheirConsumersWithThem() throws {
        let call = try GroupFixture()
        try call.bobConsumes()
        try call.carolWatchesAliceOverWHEP()
        try call.runASecond()

        // alice's re-offer drops her camera: bob's f2 and carol's video consumer end with it.
        try call.core.removeProducers(room: room, participantID: "alice", mids: ["1"])
        #expect(call.participant("alice")?.tracks.map(\.kind) == [.audio])
        #expect(call.participant("bob")?.receiving.map(\.mid) == ["f1"])
        #expect(call.participant("alice")?.subscriptions.first?.tracks.map(\.kind) == [.audio])
        for _ in 0..<10 {
            call.net.advance(by: .milliseconds(33))
            try call.sendAudio()
        }
        call.net.advance(by: .seconds(2))
        #expect(call.core.statsSnapshot.consumers == 2)
    }

    @Test func aSubscriberLeavingWhileItsProducerResumes() throws {
        let call = try GroupFixture()
        try call.bobConsumes()
        try call.runASecond()
        _ = try call.core.setMute(room: room, participantID: "alice", kind: .video, muted: true, byAdmin: false, now: call.net.now)
        try call.runASecond()

        // bob's transport goes (consent lost, a reload) while alice is still muted ...
        try call.core.unpublish(room: room, participantID: "bob")
        call.net.settle()
        #expect(call.videoProducer?.consumers == 0)
        // ... and alice unmutes: resuming walks the producer's consumers, of which bob's is gone.
        let state = try call.core.setMute(room: room, participantID: "alice", kind: .video, muted: false, byAdmin: false, now: call.net.now)
        #expect(state.videoMuted == false)
        try call.runASecond()
        #expect(call.videoProducer?.packetsIn == 180)
        #expect(call.core.statsSnapshot.consumers == 0)
    }
}
