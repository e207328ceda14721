// VP8 temporal-layer dropping over the in-memory network: a subscriber capped to a temporal layer
// gets only the frames up to it, with sequence numbers and picture IDs that have no gaps (7- and
// 15-bit, across their wrap), the cap going down at the next frame start and up only at a safe
// frame, retransmissions carrying the numbers that went out, and the drops counted.

import Testing
import ICE
import RTP
@testable import SFU
import SFUTesting

@Suite struct TemporalLayerTests {
    /// libwebrtc's L1T3 pattern: its first TL2 and TL1 frames reference the base layer only
    /// (layer sync, Y); the later ones the TL1 frame before them.
    static let pattern: [UInt8] = [0, 2, 1, 2, 0, 2, 1, 2]
    static let syncPositions: Set<Int> = [1, 2]

    final class Temporal {
        let call: CallFixture
        var temporal: VP8Stream.Temporal
        /// The TID of each frame sent, by its payload's frame byte.
        var layerOfFrame: [UInt8: UInt8] = [:]
        var frames = 0

        init(pictureID: UInt16, shortPictureID: Bool = false) throws {
            call = try CallFixture()
            temporal = VP8Stream.Temporal(pictureID: pictureID, shortPictureID: shortPictureID)
        }

        /// Frames in the L1T3 pattern (the first one a keyframe if asked), 33 ms apart.
        func send(_ count: Int, keyframeFirst: Bool = false) throws {
            for i in 0..<count {
                let position = frames % TemporalLayerTests.pattern.count
                try send(
                    tid: TemporalLayerTests.pattern[position], keyframe: keyframeFirst && i == 0,
                    sync: TemporalLayerTests.syncPositions.contains(position))
            }
        }

        @discardableResult
        func send(tid: UInt8, keyframe: Bool = false, sync: Bool = false, only packets: Range<Int>? = nil) throws
            -> [VP8Stream.Packet]
        {
            layerOfFrame[call.video.frameIndex] = tid
            let frame = call.video.frame(keyframe: keyframe, tid: tid, sync: sync, temporal: &temporal)
            frames += 1
            try call.sendVideo(Array(frame[packets ?? frame.indices]))
            call.net.advance(by: .milliseconds(33))
            return frame
        }

        func cap(_ temporal: Int?) throws {
            _ = try call.core.setLayers(
                room: CallFixture.room, subscriptionID: CallFixture.subscriptionID, spatial: 0, temporal: temporal,
                now: call.net.now)
            call.net.settle()
        }

        var received: [ClientRTPPacket] { call.subscriber.rtp(ssrc: call.videoTrack.ssrc) }
        var descriptors: [VP8PayloadDescriptor] {
            get throws { try received.map { packet in try packet.payload.withUnsafeBytes { try VP8PayloadDescriptor(parsing: $0) } } }
        }
        /// The TID of each packet received, from what was sent.
        var receivedLayers: [UInt8] { received.map { packet in layerOfFrame[frameByte(packet.payload)] ?? 9 } }
        var dropped: Int { call.core.statsSnapshot.dropped(.temporalLayer) }
        var consumer: ConsumerState? { call.roomState?.participants.first?.subscriptions.first?.tracks.first { $0.kind == .video } }

        /// The test payload's frame index: after the descriptor, the VP8 header byte on a frame's
        /// first packet, then 0xAB and the index.
        func frameByte(_ payload: [UInt8]) -> UInt8 {
            let at = payload.firstIndex(of: 0xAB)!
            return payload[at + 1]
        }
    }

    /// Each packet's number follows the previous one; each frame's picture ID follows the
    /// previous frame's (mod `modulus`), and every packet of a frame has the same.
    static func expectContinuous(_ received: [ClientRTPPacket], _ descriptors: [VP8PayloadDescriptor], modulus: Int) {
        for (previous, next) in zip(received, received.dropFirst()) {
            #expect(next.sequenceNumber == previous.sequenceNumber &+ 1)
        }
        for (i, (previous, next)) in zip(descriptors, descriptors.dropFirst()).enumerated() {
            let step = (Int(next.pictureID!) - Int(previous.pictureID!) + modulus) % modulus
            let startsFrame = next.startOfPartition
            #expect(step == (startsFrame ? 1 : 0), "picture ID \(previous.pictureID!) then \(next.pictureID!) at \(i + 1)")
            // TL0PICIDX moves by one at most, and only where a frame starts.
            let tl0Step = (Int(next.tl0PicIndex!) - Int(previous.tl0PicIndex!) + 256) % 256
            #expect(tl0Step == 0 || (tl0Step == 1 && startsFrame))
        }
    }

    @Test func aCapForwardsTheLayersUpToItWithoutGapsAcrossTheWrap() throws {
        let run = try Temporal(pictureID: 32_760)
        try run.send(4, keyframeFirst: true)
        #expect(run.receivedLayers == [0, 0, 2, 2, 1, 1, 2, 2])
        try run.cap(0)
        #expect(run.consumer?.temporalLayer == 0)
        try run.send(16)  // the picture IDs wrap past 32767 here
        #expect(run.receivedLayers == [0, 0, 2, 2, 1, 1, 2, 2] + Array(repeating: 0, count: 8))
        #expect(run.dropped == 24, "12 frames of 2 packets above TID 0")
        #expect(run.consumer?.packetsDroppedTemporalLayer == 24)
        #expect(run.consumer?.forwardedTemporalLayer == 0)
        let descriptors = try run.descriptors
        Self.expectContinuous(run.received, descriptors, modulus: 32_768)
        #expect(descriptors.allSatisfy { $0.pictureIDBits == 15 })
        // TL0PICIDX is untouched by dropping frames above TID 0: each TID 0 frame the next.
        let tl0s = descriptors.suffix(8).map(\.tl0PicIndex!)
        #expect(tl0s == [252, 252, 253, 253, 254, 254, 255, 255])

        // Cap 1: TID 1 comes back with the next TID 1 frame that has Y (the pattern's first),
        // not with the one in the second half (it references the TID 1 frame never sent).
        try run.cap(1)
        try run.send(8)
        #expect(run.receivedLayers.suffix(6) == [0, 0, 0, 0, 1, 1])
        #expect(run.consumer?.forwardedTemporalLayer == 1)
        // No cap: TID 2 comes back with its next Y frame, and then nothing is dropped.
        try run.cap(nil)
        try run.send(8)
        #expect(run.receivedLayers.suffix(12) == [0, 0, 1, 1] + [0, 0, 2, 2, 1, 1, 2, 2])
        let droppedBefore = run.dropped
        try run.send(8)
        #expect(run.receivedLayers.suffix(16) == [0, 0, 2, 2, 1, 1, 2, 2] + [0, 0, 2, 2, 1, 1, 2, 2])
        #expect(run.dropped == droppedBefore)
        #expect(run.consumer?.forwardedTemporalLayer == nil)
        Self.expectContinuous(run.received, try run.descriptors, modulus: 32_768)
    }

    @Test func sevenBitPictureIDsStaySevenBitsAndWrapWithoutGaps() throws {
        let run = try Temporal(pictureID: 120, shortPictureID: true)
        try run.send(4, keyframeFirst: true)
        try run.cap(0)
        try run.send(20)
        let descriptors = try run.descriptors
        #expect(descriptors.allSatisfy { $0.pictureIDBits == 7 })
        #expect(descriptors.count == 8 + 10)
        Self.expectContinuous(run.received, descriptors, modulus: 128)
        #expect(descriptors.map(\.pictureID!).contains(0), "the IDs wrapped")
    }

    @Test func upOnlyAtALayerSyncFrameDownAtTheNextFrameStart() throws {
        let run = try Temporal(pictureID: 5)
        try run.send(tid: 0, keyframe: true)
        try run.cap(0)
        try run.send(tid: 2)
        try run.send(tid: 1)
        #expect(run.receivedLayers == [0, 0])
        // Up to 2: a TID 2 frame without Y may depend on the TID 1 frame the subscriber never
        // got: dropped. One with Y depends on the base layer only: the cap rises with it.
        try run.cap(2)
        try run.send(tid: 2)
        try run.send(tid: 1)
        // Nor does a TID 0 frame lift it: what follows it may reference a dropped frame.
        try run.send(tid: 0)
        try run.send(tid: 2)
        #expect(run.receivedLayers == [0, 0, 0, 0])
        try run.send(tid: 1, sync: true)
        #expect(run.consumer?.forwardedTemporalLayer == 1)
        try run.send(tid: 2)
        try run.send(tid: 2, sync: true)
        #expect(run.receivedLayers == [0, 0, 0, 0, 1, 1, 2, 2])
        #expect(run.consumer?.forwardedTemporalLayer == 2)

        // Down to 0 in the middle of a TID 2 frame: its second packet still goes (no frame is
        // cut), the next frame start applies the cap.
        let frame = try run.send(tid: 2, only: 0..<1)
        try run.cap(0)
        try run.call.sendVideo([frame[1]])
        try run.send(tid: 1)
        try run.send(tid: 0)
        #expect(run.receivedLayers.suffix(4) == [2, 2, 0, 0])
        Self.expectContinuous(run.received, try run.descriptors, modulus: 32_768)
    }

    @Test func aKeyframeLiftsTheCapAtOnce() throws {
        let run = try Temporal(pictureID: 77)
        try run.send(tid: 0, keyframe: true)
        try run.cap(0)
        try run.send(tid: 2)
        try run.cap(nil)
        try run.send(tid: 1)
        try run.send(tid: 0, keyframe: true)
        try run.send(tid: 2)
        try run.send(tid: 1)
        #expect(run.receivedLayers == [0, 0, 0, 0, 2, 2, 1, 1])
        #expect(run.consumer?.forwardedTemporalLayer == nil)
        Self.expectContinuous(run.received, try run.descriptors, modulus: 32_768)
    }

    @Test func aSpatialSwitchContinuesThePictureIDsAndTL0PicIndex() throws {
        // Three simulcast layers, each L1T3 with its own picture IDs (one 7-bit), TL0PICIDX and
        // numbering; the subscriber capped to TID 0 and moved from layer 2 to layer 0.
        let simulcast = try SimulcastTests.Simulcast()
        var temporals = [
            VP8Stream.Temporal(pictureID: 100, shortPictureID: true, tl0PicIndex: 9),
            VP8Stream.Temporal(pictureID: 20_000, tl0PicIndex: 120),
            VP8Stream.Temporal(pictureID: 32_700, tl0PicIndex: 254),
        ]
        var sent = 0
        func frame(keyframes: Set<Int> = []) throws {
            let position = sent % Self.pattern.count
            sent += 1
            for layer in 0..<3 {
                let packets = simulcast.layers[layer].frame(
                    keyframe: keyframes.contains(layer), tid: Self.pattern[position], sync: Self.syncPositions.contains(position),
                    temporal: &temporals[layer])
                for packet in packets {
                    try simulcast.call.publisher.transport.sendRTP(
                        payloadType: 96, sequenceNumber: packet.sequenceNumber, timestamp: packet.timestamp,
                        ssrc: simulcast.layers[layer].ssrc, marker: packet.marker, payload: packet.payload,
                        extensions: [(id: 9, data: Array("1".utf8)), (id: SimulcastTests.ridExtensionID, data: Array(SimulcastTests.rids[layer].utf8))])
                }
            }
            simulcast.call.net.settle()
            simulcast.call.net.advance(by: .milliseconds(33))
        }
        func setLayers(spatial: Int, temporal: Int?) throws {
            _ = try simulcast.call.core.setLayers(
                room: CallFixture.room, subscriptionID: CallFixture.subscriptionID, spatial: spatial, temporal: temporal,
                now: simulcast.call.net.now)
            simulcast.call.net.settle()
        }
        try frame(keyframes: [0, 1, 2])
        try setLayers(spatial: 2, temporal: 0)
        for _ in 0..<7 { try frame() }
        simulcast.call.net.advance(by: .milliseconds(300))  // past the keyframe-request throttle
        try setLayers(spatial: 0, temporal: 0)
        for _ in 0..<4 { try frame() }  // layer 2 until layer 0's keyframe
        try frame(keyframes: [0])
        for _ in 0..<11 { try frame() }
        #expect(simulcast.consumer?.spatialLayer == 0)

        let received = simulcast.received
        let descriptors = try received.map { packet in try packet.payload.withUnsafeBytes { try VP8PayloadDescriptor(parsing: $0) } }
        // Each layer's frame bytes start at 80 x its index (the fixture's).
        let layers = received.map { packet in Int(packet.payload[packet.payload.firstIndex(of: 0xAB)! + 1]) / 80 }
        #expect(Array(layers.prefix(4)) == [0, 0, 2, 2], "layer 0's keyframe started, layer 2's took over")
        let switchAt = try #require(layers.firstIndex(of: 0, after: 2))
        #expect(descriptors[switchAt - 1].pictureIDBits == 15 && descriptors[switchAt].pictureIDBits == 7)
        // From the cap on (the first frame went out as it came): 15-bit IDs before the switch,
        // 7-bit after, continuous in the 7 bits both carry.
        for (i, (previous, next)) in zip(descriptors, descriptors.dropFirst()).enumerated().dropFirst(2) {
            let step = (Int(next.pictureID!) - Int(previous.pictureID!)) & 0x7F
            #expect(step == (next.startOfPartition ? 1 : 0), "picture IDs at \(i + 1)")
            let tl0Step = (Int(next.tl0PicIndex!) - Int(previous.tl0PicIndex!) + 256) % 256
            #expect(tl0Step == (next.startOfPartition ? 1 : 0), "TL0PICIDX at \(i + 1): only TID 0 frames pass")
        }
        for (previous, next) in zip(received, received.dropFirst()) {
            #expect(next.sequenceNumber == previous.sequenceNumber &+ 1)
        }

        // The cap lifted as the subscriber moves to layer 1: its keyframe starts every temporal
        // layer at once (the TID 2 frame after it, without Y, is not held back for a sync frame).
        for _ in 0..<4 { try frame() }
        simulcast.call.net.advance(by: .milliseconds(300))
        try setLayers(spatial: 1, temporal: nil)
        try frame(keyframes: [1])
        try frame()
        let last = try simulcast.received.suffix(4).map { packet in
            try packet.payload.withUnsafeBytes { try VP8PayloadDescriptor(parsing: $0) }
        }
        #expect(last.map(\.temporalLayer) == [0, 0, 2, 2])
        #expect(simulcast.consumer?.spatialLayer == 1 && simulcast.consumer?.forwardedTemporalLayer == nil)
    }

    @Test func withoutTemporalLayersACapDropsNothing() throws {
        let call = try CallFixture()
        try call.flowVideo()
        _ = try call.core.setLayers(
            room: CallFixture.room, subscriptionID: CallFixture.subscriptionID, spatial: 0, temporal: 0, now: call.net.now)
        for _ in 0..<5 {
            call.net.advance(by: .milliseconds(33))
            try call.sendVideoFrame(keyframe: false)
        }
        #expect(call.subscriber.rtp(ssrc: call.videoTrack.ssrc).count == 32)
        #expect(call.core.statsSnapshot.dropped(.temporalLayer) == 0)
    }

    @Test func aRetransmissionAfterDropsCarriesThePacketAsItWentOut() throws {
        let run = try Temporal(pictureID: 1000)
        try run.send(4, keyframeFirst: true)
        try run.cap(0)
        try run.send(8)
        // The subscriber's link loses the next TID 0 frame's first packet, sent after 6 dropped
        // frames moved the numbers.
        let subscriber = run.call.subscriber.address
        let countBefore = run.received.count
        run.call.net.blocks = { datagram in
            datagram.destination == subscriber && datagram.bytes.count > 12 && datagram.bytes[1] & 0x7F == CallFixture.subscriberVideoPT
        }
        let frame = try run.send(tid: 0, only: 0..<1)
        run.call.net.blocks = nil
        try run.call.sendVideo([frame[1]])
        try run.send(3)
        let received = run.received
        let before = received[countBefore - 1]
        let after = received[countBefore]
        #expect(after.sequenceNumber == before.sequenceNumber &+ 2, "one packet lost on the way")
        let rr = RTCPPacket.receiverReport(ReceiverReport(ssrc: 0xBB, reports: []))
        try run.call.subscriber.transport.sendRTCP([
            rr, .nack(GenericNACK(senderSSRC: 0xBB, mediaSSRC: run.call.videoTrack.ssrc, lost: [before.sequenceNumber &+ 1]))
        ])
        run.call.net.settle()
        let again = try #require(run.received.dropFirst(received.count).first)
        #expect(again.sequenceNumber == before.sequenceNumber &+ 1)
        let resent = try again.payload.withUnsafeBytes { try VP8PayloadDescriptor(parsing: $0) }
        let sameFrame = try after.payload.withUnsafeBytes { try VP8PayloadDescriptor(parsing: $0) }
        #expect(resent.pictureID == sameFrame.pictureID, "the rewritten picture ID, not the publisher's")
        #expect(resent.tl0PicIndex == sameFrame.tl0PicIndex)
        #expect(resent.pictureID != frame[0].payload.withUnsafeBytes { try? VP8PayloadDescriptor(parsing: $0) }?.pictureID)
        #expect(Array(again.payload.dropFirst(resent.length)) == Array(frame[0].payload.dropFirst(resent.length)))
        #expect(run.call.publisher.nacks.isEmpty)
    }

    @Test func aNumberLeftByALateDroppedPacketIsNotRepairedWithAKeyframe() throws {
        let run = try Temporal(pictureID: 500)
        try run.send(4, keyframeFirst: true)
        try run.cap(0)
        try run.send(tid: 0)
        // A TID 2 frame whose first packet is late (lost on the publisher's link, repaired
        // after the next frame): its number was left free, and stays free when it is dropped.
        let frame = try run.send(tid: 2, only: 1..<2)
        try run.send(tid: 0)
        try run.call.sendVideo([frame[0]])
        let received = run.received
        let numbers = received.suffix(4).map(\.sequenceNumber.rawValue)
        #expect(numbers == [numbers[0], numbers[0] &+ 1, numbers[0] &+ 3, numbers[0] &+ 4], "a gap where the late packet was")
        run.call.net.advance(by: .milliseconds(400))  // past the keyframe-request throttle
        let plis = run.call.publisher.pictureLossIndications.count
        let rr = RTCPPacket.receiverReport(ReceiverReport(ssrc: 0xBB, reports: []))
        try run.call.subscriber.transport.sendRTCP([
            rr, .nack(GenericNACK(senderSSRC: 0xBB, mediaSSRC: run.call.videoTrack.ssrc, lost: [SequenceNumber(numbers[0] &+ 2)]))
        ])
        run.call.net.settle()
        #expect(run.received.count == received.count, "nothing went out under that number, nothing is resent")
        #expect(run.call.core.statsSnapshot.feedback(.retransmissionMisses) == 0)
        #expect(run.call.publisher.pictureLossIndications.count == plis, "no keyframe for a frame the subscriber never wanted")
    }

    @Test func aLatePacketBeforeADropTakesItsOwnNumber() throws {
        let run = try Temporal(pictureID: 300)
        try run.send(4, keyframeFirst: true)
        try run.cap(0)
        // A TID 0 frame whose second packet comes only after the next (dropped) TID 2 frame and
        // the TID 0 frame after (as a repair from the publisher would).
        let late = try run.send(tid: 0, only: 0..<1)
        try run.send(tid: 2)
        try run.send(tid: 0)
        try run.call.sendVideo([late[1]])
        let received = run.received
        let numbers = received.suffix(4).map(\.sequenceNumber.rawValue)
        let first = numbers[0]
        #expect(numbers == [first, first &+ 2, first &+ 3, first &+ 1], "the late one fills its own place")
        let ids = try run.descriptors.suffix(4).map(\.pictureID!)
        #expect(ids == [ids[0], ids[0] + 1, ids[0] + 1, ids[0]])
    }
}

extension Array where Element: Equatable {
    /// The first index of `element` after the first run of `other` (where a switch to it happened).
    fileprivate func firstIndex(of element: Element, after other: Element) -> Int? {
        guard let start = firstIndex(of: other) else { return nil }
        return self[start...].firstIndex(of: element)
    }
}
