// A RID-simulcast publisher (as Chromium sends: no SSRCs in the SDP, the MID and RID extensions
// on the first packets, RTX named by the repaired RID) and a subscriber over the in-memory
// network: each layer's SSRC and RTX SSRC learnt from the extensions, one layer forwarded, the
// switch on the target's keyframe with continuous numbers.

import Testing
import ICE
import RTP
@testable import SFU
import SFUTesting

@Suite struct SimulcastTests {
    static let rids = ["q", "h", "f"]
    static let layerSSRCs: [UInt32] = [0x3000_0001, 0x3000_0002, 0x3000_0003]
    static let rtxSSRCs: [UInt32] = [0x3000_1001, 0x3000_1002, 0x3000_1003]
    static let ridExtensionID: UInt8 = 10
    static let repairedRIDExtensionID: UInt8 = 11
    static let rtxPT: UInt8 = 97

    final class Simulcast {
        let call: CallFixture
        var layers: [VP8Stream]
        /// What each packet sent carried, to tell which layer the subscriber got.
        var sentPayloads: [[UInt8]: Int] = [:]

        init() throws {
            call = try CallFixture(connect: false)
            var video = CallFixture.publishedTracks[1]
            video.ssrc = nil
            video.layers = SimulcastTests.rids.map { LayerParameters(rid: $0) }
            video.ridExtensionID = SimulcastTests.ridExtensionID
            video.repairedRIDExtensionID = SimulcastTests.repairedRIDExtensionID
            video.rtxPayloadType = SimulcastTests.rtxPT
            video.feedback = [.nack, .pli]
            try call.connect(publishing: [CallFixture.publishedTracks[0], video])
            layers = SimulcastTests.layerSSRCs.enumerated().map { index, ssrc in
                var stream = VP8Stream(ssrc: ssrc)
                stream.frameIndex = UInt8(index * 80)  // payloads differ per layer
                stream.sequenceNumber = SequenceNumber(UInt16(1000 * (index + 1)))
                stream.timestamp = RTPTimestamp(rawValue: UInt32(10_000_000 * (index + 1)))
                return stream
            }
        }

        /// One frame on each layer (the RID extension on every packet while `announce`, as
        /// libwebrtc does until the SSRC is acknowledged), then 33 ms pass.
        func frame(
            keyframes: Set<Int> = [], announce: Bool = true, layers sending: [Int] = [0, 1, 2], packets: [Int] = [2, 2, 2]
        ) throws {
            for layer in sending {
                for packet in layers[layer].frame(keyframe: keyframes.contains(layer), packets: packets[layer]) {
                    var extensions: [(id: UInt8, data: [UInt8])] = [(id: 9, data: Array("1".utf8))]
                    if announce { extensions.append((id: SimulcastTests.ridExtensionID, data: Array(SimulcastTests.rids[layer].utf8))) }
                    try call.publisher.transport.sendRTP(
                        payloadType: 96, sequenceNumber: packet.sequenceNumber, timestamp: packet.timestamp,
                        ssrc: layers[layer].ssrc, marker: packet.marker, payload: packet.payload, extensions: extensions)
                    sentPayloads[packet.payload] = layer
                }
            }
            call.net.settle()
            call.net.advance(by: .milliseconds(33))
        }

        var received: [ClientRTPPacket] { call.subscriber.rtp(ssrc: call.videoTrack.ssrc) }
        /// The layer of each video packet the subscriber got.
        var receivedLayers: [Int] { received.map { sentPayloads[$0.payload] ?? -1 } }
        var trackLayers: [LayerState] { call.videoTrackState?.layers ?? [] }
        var consumer: ConsumerState? {
            call.roomState?.participants.first?.subscriptions.first?.tracks.first { $0.kind == .video }
        }
    }

    @Test func eachLayersSSRCIsLearntFromItsRID() throws {
        let simulcast = try Simulcast()
        try simulcast.frame()
        #expect(simulcast.trackLayers.map(\.ssrc) == Self.layerSSRCs)
        #expect(simulcast.trackLayers.map(\.rid) == Self.rids)
        // Later packets carry no RID: their SSRC is known now.
        try simulcast.frame(announce: false)
        #expect(simulcast.trackLayers.map(\.packetsIn) == [4, 4, 4])
        // A new layer SSRC asks that layer for a keyframe at once.
        let asked = Set(simulcast.call.publisher.pictureLossIndications.map(\.mediaSSRC))
        #expect(asked == Set(Self.layerSSRCs))
    }

    @Test func aPacketWithAnUnknownRIDIsDropped() throws {
        let simulcast = try Simulcast()
        try simulcast.call.publisher.transport.sendRTP(
            payloadType: 96, sequenceNumber: 1, timestamp: RTPTimestamp(rawValue: 1), ssrc: 0x4444, payload: [0x10, 0x10, 1],
            extensions: [(id: 9, data: Array("1".utf8)), (id: Self.ridExtensionID, data: Array("x".utf8))])
        simulcast.call.net.settle()
        #expect(simulcast.call.core.statsSnapshot.dropped(.unknownSSRC) == 1)
        #expect(simulcast.trackLayers.allSatisfy { $0.ssrc == nil })
    }

    @Test func rtxIsTiedToItsLayerByTheRepairedRID() throws {
        let simulcast = try Simulcast()
        try simulcast.frame(keyframes: [0, 1, 2])
        let original = simulcast.layers[1].sequenceNumber &- 1
        // RFC 4588: the original sequence number, then the original payload.
        let payload = [UInt8(original.rawValue >> 8), UInt8(original.rawValue & 0xFF), 0x00, 0xAB, 0xCD]
        try simulcast.call.publisher.transport.sendRTP(
            payloadType: Self.rtxPT, sequenceNumber: 7, timestamp: RTPTimestamp(rawValue: 1), ssrc: Self.rtxSSRCs[1],
            payload: payload,
            extensions: [(id: 9, data: Array("1".utf8)), (id: Self.repairedRIDExtensionID, data: Array("h".utf8))])
        simulcast.call.net.settle()
        #expect(simulcast.trackLayers.map(\.rtxSSRC) == [nil, Self.rtxSSRCs[1], nil])
        #expect(simulcast.call.core.statsSnapshot.feedback(.rtxReceived) == 1)
    }

    @Test func theHighestLayerIsForwardedThenASwitchWaitsForTheTargetsKeyframe() throws {
        let simulcast = try Simulcast()
        try simulcast.frame(keyframes: [0, 1, 2])
        try simulcast.frame()
        // Layer 0's keyframe came first and started the stream; layer 2's, the target (the highest
        // by default), took over in the same frame. One layer at a time.
        let start = [0, 0, 2, 2, 2, 2]
        #expect(simulcast.receivedLayers == start)
        #expect(simulcast.consumer?.spatialLayer == 2 && simulcast.consumer?.targetSpatialLayer == 2)

        // Past the keyframe-request throttle of the layers' first packets.
        simulcast.call.net.advance(by: .milliseconds(300))
        let plisBefore = simulcast.call.publisher.pictureLossIndications.count
        let state = try simulcast.call.core.setLayers(
            room: CallFixture.room, subscriptionID: CallFixture.subscriptionID, spatial: 0, temporal: nil,
            now: simulcast.call.net.now)
        simulcast.call.net.settle()
        #expect(state.tracks.first { $0.kind == .video }?.targetSpatialLayer == 0)
        let asked = simulcast.call.publisher.pictureLossIndications.dropFirst(plisBefore).map(\.mediaSSRC)
        #expect(asked.contains(Self.layerSSRCs[0]), "layer 0's keyframe is asked for")

        try simulcast.frame()
        try simulcast.frame(keyframes: [1])
        #expect(simulcast.receivedLayers == start + [2, 2, 2, 2], "layer 2 flows until layer 0's keyframe")
        try simulcast.frame(keyframes: [0])
        try simulcast.frame()
        #expect(simulcast.receivedLayers == start + [2, 2, 2, 2, 0, 0, 0, 0])
        #expect(simulcast.consumer?.spatialLayer == 0)
        #expect(isVP8KeyframeStart(simulcast.received[10].payload))

        // Back up to 1: the same, and the numbers never jump.
        _ = try simulcast.call.core.setLayers(
            room: CallFixture.room, subscriptionID: CallFixture.subscriptionID, spatial: 1, temporal: 2,
            now: simulcast.call.net.now)
        try simulcast.frame(keyframes: [1])
        #expect(simulcast.receivedLayers.suffix(2) == [1, 1])
        #expect(simulcast.consumer?.temporalLayer == 2)
        let received = simulcast.received
        for (previous, next) in zip(received, received.dropFirst()) {
            #expect(next.sequenceNumber == previous.sequenceNumber &+ 1)
            #expect(previous.timestamp.distance(to: next.timestamp) >= 0)
        }
        // A frame is 3000 ticks on every layer. Without sender reports a switch advances by the
        // wall clock since the last packet sent: 33 ms (2970) when the old layer's last frame was
        // the previous one, 1 tick when it was the same instant (a layer sent earlier in the frame).
        let frameStarts = received.enumerated().filter { $0.offset % 2 == 0 }.map(\.element.timestamp)
        let steps = zip(frameStarts, frameStarts.dropFirst()).map { $0.distance(to: $1) }
        #expect(steps.filter { $0 != 3000 } == [1, 2970, 1])
    }

    @Test func aLayerThatStopsIsLeftForTheNextOneDownAndComesBack() throws {
        let simulcast = try Simulcast()
        try simulcast.frame(keyframes: [2])
        #expect(simulcast.consumer?.spatialLayer == 2)
        // The publisher's uplink shrinks: it stops sending layer 2. Within two timer rounds the
        // consumer targets layer 1, asks for its keyframe and switches on it.
        for _ in 0..<70 { try simulcast.frame(layers: [0, 1]) }
        #expect(simulcast.consumer?.targetSpatialLayer == 1)
        #expect(simulcast.call.publisher.pictureLossIndications.contains { $0.mediaSSRC == Self.layerSSRCs[1] })
        try simulcast.frame(keyframes: [1], layers: [0, 1])
        #expect(simulcast.consumer?.spatialLayer == 1)
        #expect(simulcast.receivedLayers.suffix(2) == [1, 1])
        // Layer 2 comes back: the consumer returns to it on its keyframe.
        for _ in 0..<70 { try simulcast.frame() }
        #expect(simulcast.consumer?.targetSpatialLayer == 2)
        try simulcast.frame(keyframes: [2])
        #expect(simulcast.consumer?.spatialLayer == 2)
        let received = simulcast.received
        #expect(zip(received, received.dropFirst()).allSatisfy { $1.sequenceNumber == $0.sequenceNumber &+ 1 })
    }

    @Test func aLayerAboveTheHighestMeansTheHighest() throws {
        let simulcast = try Simulcast()
        try simulcast.frame(keyframes: [0, 1, 2])
        let state = try simulcast.call.core.setLayers(
            room: CallFixture.room, subscriptionID: CallFixture.subscriptionID, spatial: 7, temporal: nil,
            now: simulcast.call.net.now)
        #expect(state.tracks.first { $0.kind == .video }?.targetSpatialLayer == 2)
        #expect(throws: MediaServerError.subscriptionNotFound) {
            try simulcast.call.core.setLayers(
                room: CallFixture.room, subscriptionID: "nobody", spatial: 0, temporal: nil, now: simulcast.call.net.now)
        }
    }
}
