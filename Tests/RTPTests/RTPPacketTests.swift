// Parsing RTP packets (RFC 3550 §5.1): fixed header, CSRCs, RFC 8285 extensions, padding, and
// every way the lengths inside a packet can lie.
import RTP
import Testing

/// V=2, P, X, CC | M, PT | seq | ts | ssrc
private func fixedHeader(
    padding: Bool = false, extension: Bool = false, csrcCount: UInt8 = 0, marker: Bool = false,
    payloadType: UInt8 = 96, sequence: UInt16 = 0x1234, timestamp: UInt32 = 0xDEAD_BEEF,
    ssrc: UInt32 = 0x0102_0304
) -> [UInt8] {
    var first: UInt8 = 0x80 | csrcCount
    if padding { first |= 0x20 }
    if `extension` { first |= 0x10 }
    return [first, (marker ? 0x80 : 0) | payloadType] + be16(sequence) + be32(timestamp) + be32(ssrc)
}

@Suite struct RTPPacketTests {
    @Test func parsesTheFixedHeader() throws {
        let bytes = fixedHeader(marker: true, payloadType: 111) + [1, 2, 3]
        try bytes.withUnsafeBytes { raw in
            let p = try RTPPacket(parsing: raw)
            #expect(p.marker)
            #expect(p.payloadType == 111)
            #expect(p.sequenceNumber == SequenceNumber(0x1234))
            #expect(p.timestamp == RTPTimestamp(0xDEAD_BEEF))
            #expect(p.ssrc == 0x0102_0304)
            #expect(p.csrcCount == 0)
            #expect(!p.hasPadding && p.paddingLength == 0)
            #expect(p.headerLength == 12)
            #expect(p.extensionProfile == nil && p.extensionData == nil)
            #expect(p.headerExtension(id: 1) == nil)
            #expect(Array(p.payload) == [1, 2, 3])
            // A view, not a copy.
            #expect(p.payload.baseAddress == raw.baseAddress! + 12)
        }
    }

    @Test func headerOnlyPacketHasEmptyPayload() throws {
        try fixedHeader().withUnsafeBytes { raw in
            let p = try RTPPacket(parsing: raw)
            #expect(p.payload.isEmpty)
        }
    }

    @Test func parsesCSRCs() throws {
        let bytes = fixedHeader(csrcCount: 2) + be32(0xAAAA_0001) + be32(0xBBBB_0002) + [9]
        try bytes.withUnsafeBytes { raw in
            let p = try RTPPacket(parsing: raw)
            #expect(p.csrcCount == 2)
            #expect(p.csrc(at: 0) == 0xAAAA_0001)
            #expect(p.csrc(at: 1) == 0xBBBB_0002)
            #expect(p.headerLength == 20)
            #expect(Array(p.payload) == [9])
        }
    }

    @Test func parsesOneByteExtensionsWithPaddingBetween() throws {
        let elements: [UInt8] = [
            0x10, 0xAA,  // id 1, 1 byte
            0x00,  // padding
            0x22, 1, 2, 3,  // id 2, 3 bytes
            0x00,  // padding to 32 bits
        ]
        let bytes = fixedHeader(extension: true, csrcCount: 1) + be32(77)
            + [0xBE, 0xDE, 0x00, 0x02] + elements + [0x42, 0x43]
        try bytes.withUnsafeBytes { raw in
            let p = try RTPPacket(parsing: raw)
            #expect(p.headerLength == 12 + 4 + 4 + 8)
            #expect(p.extensionProfile == 0xBEDE)
            #expect(p.extensionData.map(Array.init) == elements)
            #expect(p.headerExtension(id: 1).map(Array.init) == [0xAA])
            #expect(p.headerExtension(id: 2).map(Array.init) == [1, 2, 3])
            #expect(p.headerExtension(id: 3) == nil)
            #expect(p.headerExtension(id: 0) == nil)
            #expect(p.headerExtension(id: 15) == nil)
            #expect(Array(p.payload) == [0x42, 0x43])
            var seen: [UInt8] = []
            p.forEachHeaderExtension { id, _ in seen.append(id) }
            #expect(seen == [1, 2])
        }
    }

    @Test func oneByteId15StopsProcessing() throws {
        // RFC 8285 §4.2: after id 15 nothing more is read, even a well-formed element.
        let bytes = fixedHeader(extension: true) + [0xBE, 0xDE, 0x00, 0x02]
            + [0x10, 0xAA, 0xF0, 0x20, 0xBB, 0x00, 0x00, 0x00]
        try bytes.withUnsafeBytes { raw in
            let p = try RTPPacket(parsing: raw)
            #expect(p.headerExtension(id: 1).map(Array.init) == [0xAA])
            #expect(p.headerExtension(id: 2) == nil)
        }
    }

    @Test func parsesTwoByteExtensions() throws {
        let elements: [UInt8] = [
            1, 0,  // id 1, empty
            0, 0,  // padding
            200, 2, 9, 8,  // id 200, 2 bytes
            3, 17,  // id 3, 17 bytes (more than the one-byte form allows)
        ] + Array(repeating: 0x5A, count: 17) + [0]
        #expect(elements.count % 4 == 0)
        let bytes = fixedHeader(extension: true) + [0x10, 0x03] + be16(UInt16(elements.count / 4))
            + elements + [7]
        try bytes.withUnsafeBytes { raw in
            let p = try RTPPacket(parsing: raw)
            #expect(p.extensionProfile == 0x1003)
            #expect(p.headerExtension(id: 1).map(Array.init) == [])
            #expect(p.headerExtension(id: 200).map(Array.init) == [9, 8])
            #expect(p.headerExtension(id: 3).map(Array.init) == Array(repeating: 0x5A, count: 17))
            #expect(p.headerExtension(id: 2) == nil)
            #expect(p.headerExtension(id: 0) == nil)
            #expect(Array(p.payload) == [7])
        }
    }

    @Test func opaqueExtensionProfileIsSkipped() throws {
        let bytes = fixedHeader(extension: true) + [0x12, 0x34, 0x00, 0x01] + [0x10, 0xAA, 0, 0] + [5]
        try bytes.withUnsafeBytes { raw in
            let p = try RTPPacket(parsing: raw)
            #expect(p.extensionProfile == 0x1234)
            #expect(p.extensionData.map(Array.init) == [0x10, 0xAA, 0, 0])
            #expect(p.headerExtension(id: 1) == nil)
            #expect(Array(p.payload) == [5])
        }
    }

    @Test func emptyExtensionBlockIsAllowed() throws {
        let bytes = fixedHeader(extension: true) + [0xBE, 0xDE, 0, 0] + [1]
        try bytes.withUnsafeBytes { raw in
            let p = try RTPPacket(parsing: raw)
            #expect(p.headerLength == 16)
            #expect(p.extensionData?.count == 0)
            #expect(p.headerExtension(id: 1) == nil)
        }
    }

    @Test func stripsPadding() throws {
        let bytes = fixedHeader(padding: true) + [1, 2, 3, 4, 5] + [0, 0, 3]
        try bytes.withUnsafeBytes { raw in
            let p = try RTPPacket(parsing: raw)
            #expect(p.hasPadding)
            #expect(p.paddingLength == 3)
            #expect(Array(p.payload) == [1, 2, 3, 4, 5])
        }
        // A padding-only packet (as used for bandwidth probing).
        let probe = fixedHeader(padding: true) + Array(repeating: 0, count: 255) + [0]
        #expect(rtpParseError(Array(probe.dropLast()) + [0]) == .invalidPadding)
        let padOnly = fixedHeader(padding: true) + Array(repeating: 0, count: 3) + [4]
        try padOnly.withUnsafeBytes { raw in
            let p = try RTPPacket(parsing: raw)
            #expect(p.payload.isEmpty && p.paddingLength == 4)
        }
    }

    @Test func rejectsBadHeaders() {
        #expect(rtpParseError([]) == .tooShort)
        #expect(rtpParseError(Array(fixedHeader().prefix(11))) == .tooShort)
        var v1 = fixedHeader()
        v1[0] = 0x40
        #expect(rtpParseError(v1) == .badVersion)
        v1[0] = 0x00
        #expect(rtpParseError(v1) == .badVersion)
        #expect(rtpParseError(fixedHeader(csrcCount: 15) + Array(repeating: 0, count: 56)) == .csrcOverrun)
        #expect(rtpParseError(fixedHeader(csrcCount: 1) + [0, 0, 0]) == .csrcOverrun)
    }

    @Test func rejectsLyingExtensionLengths() {
        // X set but no room for the extension header.
        #expect(rtpParseError(fixedHeader(extension: true) + [0xBE, 0xDE, 0]) == .extensionOverrun)
        // Length says 2 words, 1 follows.
        #expect(rtpParseError(fixedHeader(extension: true) + [0xBE, 0xDE, 0, 2, 0x10, 1, 0, 0]) == .extensionOverrun)
        // Length 0xFFFF.
        #expect(rtpParseError(fixedHeader(extension: true) + [0xBE, 0xDE, 0xFF, 0xFF] + Array(repeating: 0, count: 64)) == .extensionOverrun)
        // One-byte element claims 4 bytes, 3 remain in the block (payload follows: must not be read).
        #expect(rtpParseError(fixedHeader(extension: true) + [0xBE, 0xDE, 0, 1, 0x13, 1, 2, 3, 4, 5]) == .badExtensionElement)
        // Two-byte element claims 9 bytes.
        #expect(rtpParseError(fixedHeader(extension: true) + [0x10, 0x00, 0, 1, 5, 9, 1, 2, 3, 4]) == .badExtensionElement)
        // Two-byte element header cut after its id.
        #expect(rtpParseError(fixedHeader(extension: true) + [0x10, 0x00, 0, 1, 0, 0, 0, 5]) == .badExtensionElement)
    }

    @Test func rejectsLyingPadding() {
        #expect(rtpParseError(fixedHeader(padding: true) + [1, 2, 0]) == .invalidPadding)
        #expect(rtpParseError(fixedHeader(padding: true) + [1, 2, 4]) == .paddingOverrun)
        // The P bit on a header-only packet: the count byte would be the SSRC's last byte.
        #expect(rtpParseError(fixedHeader(padding: true, ssrc: 1)) == .paddingOverrun)
        // Padding may not eat into the CSRCs or the extension.
        #expect(rtpParseError(fixedHeader(padding: true, csrcCount: 1) + be32(7) + [0, 3]) == .paddingOverrun)
        #expect(rtpParseError(fixedHeader(padding: true, extension: true) + [0xBE, 0xDE, 0, 1, 0x10, 1, 0, 0, 0, 5]) == .paddingOverrun)
    }

    /// A packet using every header feature; its payload bytes (0xEE) and its padding end (pad
    /// count 4 preceded by zeros) make every truncation invalid.
    static let rich: [UInt8] =
        fixedHeader(padding: true, extension: true, csrcCount: 2) + be32(1) + be32(2)
        + [0xBE, 0xDE, 0, 2, 0x10, 0xAA, 0x00, 0x22, 1, 2, 3, 0]
        + Array(repeating: 0xEE, count: 20) + [0, 0, 0, 4]

    @Test func everyTruncationOfARichPacketThrows() throws {
        try Self.rich.withUnsafeBytes { raw in
            let p = try RTPPacket(parsing: raw)
            #expect(p.payload.count == 20 && p.headerLength == 32)
        }
        for n in 0..<Self.rich.count {
            #expect(rtpParseError(Array(Self.rich.prefix(n))) != nil, "prefix \(n)")
        }
    }

    @Test func truncationsOfAnUnpaddedPacketThrowInsideTheHeaderOnly() throws {
        let bytes = fixedHeader(extension: true, csrcCount: 1) + be32(9)
            + [0xBE, 0xDE, 0, 1, 0x10, 0xAA, 0, 0] + [1, 2, 3, 4]
        for n in 0...bytes.count {
            let prefix = Array(bytes.prefix(n))
            if n < 24 {
                #expect(rtpParseError(prefix) != nil, "prefix \(n)")
            } else {
                try prefix.withUnsafeBytes { raw in
                    let p = try RTPPacket(parsing: raw)
                    #expect(p.payload.count == n - 24)
                }
            }
        }
    }

    @Test func parsesWithinALargerBufferSlice() throws {
        // Packets often sit at an odd offset of a receive buffer: loads must be unaligned.
        let bytes = [0xFF] + fixedHeader(csrcCount: 1) + be32(0x0A0B_0C0D) + [1]
        try bytes.withUnsafeBytes { whole in
            let p = try RTPPacket(parsing: UnsafeRawBufferPointer(rebasing: whole[1...]))
            #expect(p.ssrc == 0x0102_0304 && p.csrc(at: 0) == 0x0A0B_0C0D)
            #expect(p.timestamp == RTPTimestamp(0xDEAD_BEEF))
        }
    }
}
