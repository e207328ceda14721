// The allocator in a room: a simulcast publisher, a WHEP subscriber whose downlink is known from
// its REMB (the in-memory subscriber sends no transport-cc), and the layer, pause and resume
// that follow, with the events Signaling gets and continuous numbers throughout.

import Testing
import RTP
@testable import SFU

@Suite struct BandwidthAllocationTests {
    /// Layers of 1, 3 and 9 packets a frame: distinct bitrates, lowest first.
    static let packets = [1, 3, 9]

    final class Room {
        let simulcast: SimulcastTests.Simulcast
        var events: [MediaEvent] = []

        init() throws {
            simulcast = try SimulcastTests.Simulcast()
            simulcast.call.core.onEvent = { [unowned self] in self.events.append($0) }
        }

        var call: CallFixture { simulcast.call }

        /// `seconds` of frames on every layer, with an audio packet per frame.
        func run(seconds: Double, keyframes: Set<Int> = []) throws {
            for index in 0..<Int(seconds * 30) {
                try call.sendAudio()
                try simulcast.frame(keyframes: index == 0 ? keyframes : [], packets: BandwidthAllocationTests.packets)
            }
        }

        func remb(_ bitrate: Double) throws {
            try call.subscriber.transport.sendRTCP([.remb(ReceiverEstimatedMaxBitrate(
                senderSSRC: 0x5555, bitrate: UInt64(bitrate), ssrcs: [call.videoTrack.ssrc]))])
            call.net.settle()
        }

        /// The layers' measured bitrates and the audio's (bit/s).
        var bitrates: (layers: [Double], audio: Double) {
            let producers = call.core.routers[CallFixture.room]!.participants[CallFixture.publisherID]!.producers
            let video = producers.first { $0.kind == .video }!, audio = producers.first { $0.kind == .audio }!
            return (video.layers.map { $0.bitrate ?? 0 }, audio.layers[0].bitrate ?? 0)
        }

        var pauses: [Bool] {
            events.compactMap { if case .videoPaused(_, _, _, _, _, let paused) = $0 { paused } else { nil } }
        }
    }

    @Test func theDownlinkPicksTheLayerAndPausesVideoBeforeAudio() throws {
        let room = try Room()
        try room.run(seconds: 2, keyframes: [0, 1, 2])
        #expect(room.simulcast.consumer?.spatialLayer == 2, "no estimate yet: the highest layer")
        let (layers, audio) = room.bitrates
        #expect(layers[0] > 0 && layers[0] < layers[1] && layers[1] < layers[2], "\(layers)")

        // Room for audio and layer 1, not for layer 2: down to 1 on its keyframe.
        // A lower estimate counts once it has held for the allocator's memory (2 s).
        try room.remb(audio + layers[1] * 1.3)
        try room.run(seconds: 2.5)
        try room.run(seconds: 0.5, keyframes: [1])
        #expect(room.simulcast.consumer?.targetSpatialLayer == 1)
        #expect(room.simulcast.consumer?.spatialLayer == 1)

        // Not even layer 0 fits beside the audio: video pauses, audio still flows.
        try room.remb(audio + layers[0] * 0.5)
        try room.run(seconds: 2.5)
        #expect(room.pauses == [true])
        #expect(room.events.contains(.videoPaused(
            room: CallFixture.room, subscriberID: CallFixture.subscriptionID, publisherID: CallFixture.publisherID,
            trackID: room.call.core.routers[CallFixture.room]!.participants[CallFixture.publisherID]!.producers.first { $0.kind == .video }!.id,
            source: .camera, paused: true)))
        #expect(room.simulcast.consumer?.pausedForBandwidth == true)
        let videoBefore = room.simulcast.received.count
        let audioBefore = room.call.subscriber.rtp(ssrc: room.call.audioTrack.ssrc).count
        try room.run(seconds: 1, keyframes: [0, 1, 2])
        #expect(room.simulcast.received.count == videoBefore, "no video while paused")
        #expect(room.call.subscriber.rtp(ssrc: room.call.audioTrack.ssrc).count == audioBefore + 30)
        #expect(room.call.core.statsSnapshot.dropped(.pausedForBandwidth) > 0)

        // The downlink grows: video resumes on a keyframe and climbs back.
        try room.remb(10_000_000)
        try room.run(seconds: 1)
        #expect(room.simulcast.received.count == videoBefore, "a resume waits for a keyframe")
        try room.run(seconds: 0.5, keyframes: [0, 1, 2])
        #expect(room.pauses == [true, false])
        #expect(room.simulcast.consumer?.pausedForBandwidth == false)
        #expect(room.simulcast.consumer?.spatialLayer == 2)
        let received = room.simulcast.received
        #expect(received.count > videoBefore)
        #expect(isVP8KeyframeStart(received[videoBefore].payload), "the resumed stream starts on a keyframe")
        #expect(zip(received, received.dropFirst()).allSatisfy { $1.sequenceNumber == $0.sequenceNumber &+ 1 })
    }

    @Test func withoutAnEstimateOnlyThePreferenceCounts() throws {
        let room = try Room()
        try room.run(seconds: 2, keyframes: [0, 1, 2])
        #expect(room.simulcast.consumer?.spatialLayer == 2)
        #expect(room.pauses.isEmpty)
    }
}
