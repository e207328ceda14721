// RFC 7741 packetization: descriptors, sizes, reassembly, the trailer slot and PictureIDs, and
// that Chorus's own keyframe detection recognises the first packet of a keyframe.

import RTP
import Testing
@testable import LoadTest

@Suite struct VP8PacketizerTests {
    let packetizer = VP8Packetizer(maxPayloadSize: 1160)

    func frame(_ size: Int, keyframe: Bool) -> [UInt8] {
        var generator = SplitMix64(seed: UInt64(size))
        var bytes = (0..<size).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        // RFC 6386 §9.1: bit 0 of the frame tag is 0 for a keyframe.
        bytes[0] = keyframe ? bytes[0] & 0xFE : bytes[0] | 0x01
        return bytes
    }

    @Test(arguments: [1, 100, 1136, 1137, 1156, 5000, 38_000])
    func packetsReassembleToTheFrameWithinTheBudget(size: Int) throws {
        let data = frame(size, keyframe: true)
        let payloads = packetizer.packetize(frame: data, reserve: SendTimeTrailer.length)
        var reassembled: [UInt8] = []
        for (i, payload) in payloads.enumerated() {
            #expect(payload.count <= 1160)
            let descriptor = try payload.withUnsafeBytes { try VP8PayloadDescriptor(parsing: $0) }
            #expect(descriptor.startOfPartition == (i == 0))
            #expect(descriptor.partitionIndex == 0)
            #expect(descriptor.pictureID == 0)
            #expect(descriptor.length == VP8Packetizer.descriptorLength)
            let end = i == payloads.count - 1 ? payload.count - SendTimeTrailer.length : payload.count
            reassembled += payload[descriptor.length..<end]
        }
        #expect(reassembled == data)
        #expect(payloads.last!.suffix(SendTimeTrailer.length).allSatisfy { $0 == 0 })
        // Balanced: no packet more than one byte larger than another, except the trailer slot.
        let sizes = payloads.map(\.count)
        #expect(sizes.max()! - sizes.min()! <= 1)
    }

    @Test func onlyTheFirstPacketOfAKeyframeIsAKeyframeStart() {
        let key = packetizer.packetize(frame: frame(3000, keyframe: true), reserve: SendTimeTrailer.length)
        let delta = packetizer.packetize(frame: frame(3000, keyframe: false), reserve: SendTimeTrailer.length)
        #expect(key[0].withUnsafeBytes { VP8.isKeyframe($0) })
        #expect(!key[1].withUnsafeBytes { VP8.isKeyframe($0) })
        #expect(!delta[0].withUnsafeBytes { VP8.isKeyframe($0) })
    }

    @Test func pictureIDIsFifteenBits() throws {
        var payload = packetizer.packetize(frame: frame(50, keyframe: false), reserve: 0)[0]
        for id: UInt16 in [0, 1, 127, 128, 0x7FFF] {
            payload.withUnsafeMutableBytes { VP8Packetizer.setPictureID(id, in: $0) }
            let descriptor = try payload.withUnsafeBytes { try VP8PayloadDescriptor(parsing: $0) }
            #expect(descriptor.pictureID == id)
        }
    }
}
