// VP8 payload descriptors (RFC 7741 §4.2) as Chrome and Firefox send them, and keyframe
// detection (§4.3): keyframe, delta frame, and continuation packets.
import RTP
import Testing

/// The first bytes of a VP8 key frame (RFC 6386 §9.1): frame tag with P=0, then the start code.
private let keyframeHeader: [UInt8] = [0x50, 0x2A, 0x01, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01]
/// A delta frame's frame tag: P=1.
private let deltaHeader: [UInt8] = [0x31, 0x44, 0x00, 0x11, 0x22]

private func descriptor(_ bytes: [UInt8]) throws -> VP8PayloadDescriptor {
    try bytes.withUnsafeBytes { try VP8PayloadDescriptor(parsing: $0) }
}

private func isKeyframe(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { VP8.isKeyframe($0) }
}

@Suite struct VP8Tests {
    /// Chrome with simulcast/temporal layers: X, S; I, L, T; 15-bit picture ID; TL0PICIDX; TID/Y.
    static let chromeStart: [UInt8] = [0x90, 0xE0, 0x92, 0x34, 0x05, 0x60]

    @Test func parsesAFullDescriptor() throws {
        let d = try descriptor(Self.chromeStart + keyframeHeader)
        #expect(d.extended && d.startOfPartition && !d.nonReferenceFrame)
        #expect(d.partitionIndex == 0)
        #expect(d.pictureID == 0x1234)
        #expect(d.tl0PicIndex == 5)
        #expect(d.temporalLayer == 1)
        #expect(d.layerSync)
        #expect(d.keyIndex == nil)
        #expect(d.length == 6)
    }

    @Test func parsesA7BitPictureID() throws {
        let d = try descriptor([0x90, 0x80, 0x7F] + keyframeHeader)
        #expect(d.pictureID == 127)
        #expect(d.tl0PicIndex == nil && d.temporalLayer == nil && d.keyIndex == nil)
        #expect(d.length == 3)
    }

    @Test func parsesTheMinimalDescriptor() throws {
        let d = try descriptor([0x10] + keyframeHeader)
        #expect(!d.extended && d.startOfPartition && d.pictureID == nil)
        #expect(d.length == 1)
    }

    @Test func parsesKeyIndexWithoutTemporalLayer() throws {
        let d = try descriptor([0xA3, 0x10, 0xDF, 0x00])
        #expect(d.nonReferenceFrame && !d.startOfPartition)
        #expect(d.partitionIndex == 3)
        #expect(d.keyIndex == 31)
        #expect(d.temporalLayer == nil && !d.layerSync)
        #expect(d.length == 3)
    }

    @Test func keyframeDeltaAndContinuation() {
        #expect(isKeyframe(Self.chromeStart + keyframeHeader))
        #expect(isKeyframe([0x90, 0x80, 0x7F] + keyframeHeader))
        #expect(isKeyframe([0x10] + keyframeHeader))
        #expect(!isKeyframe(Self.chromeStart + deltaHeader))
        #expect(!isKeyframe([0x10] + deltaHeader))
        // Continuation of a key frame: S=0. Its first payload byte is arbitrary data.
        var continuation = Self.chromeStart + [0x00, 0x12, 0x34]
        continuation[0] = 0x80
        #expect(!isKeyframe(continuation))
        // Start of partition 1 of a key frame is not the frame's start.
        #expect(!isKeyframe([0x11] + keyframeHeader))
        // A descriptor with no VP8 payload after it.
        #expect(!isKeyframe(Self.chromeStart))
        #expect(!isKeyframe([]))
    }

    @Test func everyTruncatedDescriptorThrows() {
        for bytes in [Self.chromeStart, [0x90, 0x80, 0x7F], [0x80, 0x10, 0x1F], [0x80, 0x40, 0x09]] {
            for n in 0..<bytes.count {
                #expect(throws: RTPParseError.tooShort, "\(bytes) prefix \(n)") {
                    try descriptor(Array(bytes.prefix(n)))
                }
            }
            #expect(throws: Never.self) { try descriptor(bytes) }
        }
    }
}

@Suite struct VP8RewriteTests {
    @Test func aFifteenBitPictureIDAndTL0PicIndexAreRewrittenInPlace() throws {
        // X; I L T; M + 15-bit ID 0x1234; TL0PICIDX 7; TID 2, Y.
        var bytes: [UInt8] = [0x90, 0xE0, 0x92, 0x34, 7, 0xA0, 0x11]
        bytes.withUnsafeMutableBytes { VP8PayloadDescriptor.rewrite($0, pictureID: 0x7FFF, tl0PicIndex: 200) }
        let rewritten = try bytes.withUnsafeBytes { try VP8PayloadDescriptor(parsing: $0) }
        #expect(rewritten.pictureID == 0x7FFF && rewritten.pictureIDBits == 15)
        #expect(rewritten.tl0PicIndex == 200)
        #expect(rewritten.temporalLayer == 2 && rewritten.layerSync)
        #expect(bytes.last == 0x11, "the VP8 payload is untouched")
    }

    @Test func aSevenBitPictureIDKeepsItsWidth() throws {
        var bytes: [UInt8] = [0x90, 0x80, 0x05, 0x11]
        bytes.withUnsafeMutableBytes { VP8PayloadDescriptor.rewrite($0, pictureID: 0x0181, tl0PicIndex: 9) }
        let rewritten = try bytes.withUnsafeBytes { try VP8PayloadDescriptor(parsing: $0) }
        #expect(rewritten.pictureID == 0x01 && rewritten.pictureIDBits == 7)
        #expect(rewritten.tl0PicIndex == nil, "no L: nothing written")
        #expect(bytes == [0x90, 0x80, 0x01, 0x11])
    }

    @Test func aDescriptorWithoutExtensionIsLeftAlone() {
        var bytes: [UInt8] = [0x10, 0x11, 0x22]
        bytes.withUnsafeMutableBytes { VP8PayloadDescriptor.rewrite($0, pictureID: 3, tl0PicIndex: 4) }
        #expect(bytes == [0x10, 0x11, 0x22])
    }
}
