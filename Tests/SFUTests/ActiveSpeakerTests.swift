// Who speaks: the audio level meter's window, the detector's hysteresis against scripted
// windows, and two publishers in one in-memory room whose RFC 6464 levels make the SFU name
// the loud one, move when they swap, ignore a muted one and report the levels.

import Testing
import ICE
import RTP
@testable import SFU
import SFUTesting

@Suite struct SpeakerDetectorTests {
    /// Runs `intervals` updates with these windows; returns every change.
    private func run(_ detector: inout SpeakerDetector, _ windows: [String: Double?], intervals: Int) -> [String?] {
        var changes: [String?] = []
        for _ in 0..<intervals {
            if let change = detector.update(windows) { changes.append(change) }
        }
        return changes
    }

    @Test func theFirstSpeakerIsNamedAtOnceAndSilenceKeepsThem() {
        var detector = SpeakerDetector()
        #expect(run(&detector, ["a": 0, "b": 0], intervals: 3).isEmpty, "nobody speaks: nobody is named")
        #expect(run(&detector, ["a": 0.9, "b": 0], intervals: 1) == ["a"])
        // a stops; nobody else speaks: a stays the dominant speaker.
        #expect(run(&detector, ["a": 0, "b": 0], intervals: 8).isEmpty)
        #expect(detector.dominant == "a")
    }

    @Test func aChallengerTakesOverOnlyWhenClearlyLouderForTwoIntervals() {
        var detector = SpeakerDetector()
        _ = run(&detector, ["a": 0.8, "b": 0], intervals: 4)
        // Talking over each other at the same activity: no flicker.
        #expect(run(&detector, ["a": 0.8, "b": 0.8], intervals: 10).isEmpty)
        // One short burst of b while a pauses: not enough.
        #expect(run(&detector, ["a": 0.2, "b": 1], intervals: 1).isEmpty)
        #expect(run(&detector, ["a": 0.8, "b": 0.3], intervals: 6).isEmpty)
        // a falls silent and b keeps talking: b takes over within a few intervals.
        let changes = run(&detector, ["a": 0, "b": 0.9], intervals: 4)
        #expect(changes == ["b"])
    }

    @Test func whenTheSpeakerLeavesTheLoudestOtherOrNobodyFollows() {
        var detector = SpeakerDetector()
        _ = run(&detector, ["a": 0.9, "b": 0.5], intervals: 4)
        #expect(detector.dominant == "a")
        #expect(run(&detector, ["b": 0.5], intervals: 1) == ["b"])
        #expect(run(&detector, [:], intervals: 1) == [nil])
    }

    @Test func levelsListTheAudibleLoudestFirst() {
        var detector = SpeakerDetector()
        _ = run(&detector, ["a": 0.2, "b": 0.9, "c": 0, "d": 0.5, "e": 0.4], intervals: 6)
        #expect(detector.levels(limit: 3).map(\.id) == ["b", "d", "e"])
        #expect(!detector.levels(limit: 10).map(\.id).contains("c"))
    }
}

@Suite struct ActiveSpeakerRoomTests {
    static let levelExtensionID: UInt8 = 10
    static let room = "speakers"

    /// A peer publishing one Opus track with the audio level extension.
    private final class Speaker {
        let peer: Peer
        let id: String
        var audio: OpusStream
        var level: UInt8 = 127

        init(_ net: InMemoryNetwork, id: String, ssrc: UInt32) throws {
            self.id = id
            peer = try net.makePeer(id)
            audio = OpusStream(ssrc: ssrc)
            let track = TrackParameters(
                mid: "0", kind: .audio, codecName: "opus", payloadType: 111, clockRate: 48000, ssrc: ssrc,
                midExtensionID: 9, audioLevelExtensionID: ActiveSpeakerRoomTests.levelExtensionID)
            try net.connect(peer, answer: net.core.publish(
                room: ActiveSpeakerRoomTests.room, participantID: id, identity: id, remote: peer.offer, tracks: [track], now: net.now))
        }

        func send() throws {
            let packet = audio.next()
            try peer.transport.sendRTP(
                payloadType: audio.payloadType, sequenceNumber: packet.sequenceNumber, timestamp: packet.timestamp,
                ssrc: audio.ssrc, payload: packet.payload,
                extensions: [(id: 9, data: Array("0".utf8)), (id: ActiveSpeakerRoomTests.levelExtensionID, data: [0x80 | level])])
        }
    }

    /// 20 ms audio packets from everyone for `duration`; the SFU's events meanwhile.
    private func talk(_ net: InMemoryNetwork, _ speakers: [Speaker], for duration: Duration, events: inout [MediaEvent]) throws {
        var collected: [MediaEvent] = []
        net.core.onEvent = { collected.append($0) }
        var elapsed = Duration.zero
        while elapsed < duration {
            for speaker in speakers { try speaker.send() }
            net.advance(by: .milliseconds(20))
            elapsed += .milliseconds(20)
        }
        events += collected
    }

    @Test func theLoudPublisherIsNamedAndTheNameMovesWhenTheySwap() throws {
        let net = try InMemoryNetwork()
        let alice = try Speaker(net, id: "alice", ssrc: 0xA1), bob = try Speaker(net, id: "bob", ssrc: 0xB0)
        var events: [MediaEvent] = []
        alice.level = 25  // -25 dBov: talking
        try talk(net, [alice, bob], for: .seconds(1), events: &events)
        #expect(events.contains(.activeSpeaker(room: Self.room, participantID: "alice")))
        #expect(net.core.roomState(Self.room)?.activeSpeaker == "alice")
        let levels = events.compactMap { if case .audioLevels(_, let levels) = $0 { levels } else { nil } }
        #expect(levels.last?.map(\.participantID) == ["alice"], "only the audible are listed")

        // They swap: bob is named within a second, once.
        alice.level = 127
        bob.level = 30
        events = []
        try talk(net, [alice, bob], for: .seconds(1), events: &events)
        #expect(events.filter { if case .activeSpeaker = $0 { true } else { false } } == [.activeSpeaker(room: Self.room, participantID: "bob")])
    }

    @Test func aMutedPublisherIsNoSpeaker() throws {
        let net = try InMemoryNetwork()
        let alice = try Speaker(net, id: "alice", ssrc: 0xA1), bob = try Speaker(net, id: "bob", ssrc: 0xB0)
        _ = try net.core.setMute(room: Self.room, participantID: "alice", kind: .audio, muted: true, byAdmin: true, now: net.now)
        alice.level = 10
        var events: [MediaEvent] = []
        try talk(net, [alice, bob], for: .seconds(1), events: &events)
        #expect(!events.contains { if case .activeSpeaker = $0 { true } else { false } })
        #expect(net.core.roomState(Self.room)?.activeSpeaker == nil)
    }
}
