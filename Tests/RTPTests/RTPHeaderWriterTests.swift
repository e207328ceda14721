// Writing RTP headers: the fixed-header writer, in-place rewriting for forwarding, and the
// RFC 8285 one-byte extension writer, each read back through the parser.
import RTP
import Testing

@Suite struct RTPHeaderWriterTests {
    @Test func fixedHeaderRoundTrips() throws {
        var buffer = [UInt8](repeating: 0xFF, count: 20)
        let n = buffer.withUnsafeMutableBytes { p in
            RTPHeaderWriter.writeFixedHeader(
                marker: true, payloadType: 0xE0, sequenceNumber: 65535,
                timestamp: RTPTimestamp(UInt32.max), ssrc: 0xCAFE_BABE, into: p)
        }
        #expect(n == 12)
        #expect(Array(buffer.prefix(12)) == [0x80, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xCA, 0xFE, 0xBA, 0xBE])
        try buffer.withUnsafeBytes { raw in
            let p = try RTPPacket(parsing: raw)
            #expect(p.marker && p.payloadType == 0x60)  // 7 bits only
            #expect(p.sequenceNumber == 65535 && p.timestamp == RTPTimestamp(UInt32.max))
            #expect(p.ssrc == 0xCAFE_BABE && p.payload.count == 8)
        }
    }

    @Test func rewriteTouchesOnlyItsField() throws {
        let original: [UInt8] = [0x81, 0xE0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0xAB]
        var bytes = original
        bytes.withUnsafeMutableBytes { p in
            RTPHeaderRewrite.setSequenceNumber(SequenceNumber(0xBEEF), in: p)
        }
        #expect(Array(bytes[2...3]) == [0xBE, 0xEF])
        bytes.withUnsafeMutableBytes { p in RTPHeaderRewrite.setTimestamp(RTPTimestamp(0x0102_0304), in: p) }
        #expect(Array(bytes[4...7]) == [1, 2, 3, 4])
        bytes.withUnsafeMutableBytes { p in RTPHeaderRewrite.setSSRC(0xA1B2_C3D4, in: p) }
        #expect(Array(bytes[8...11]) == [0xA1, 0xB2, 0xC3, 0xD4])
        bytes.withUnsafeMutableBytes { p in RTPHeaderRewrite.setPayloadType(0x7F, in: p) }
        #expect(bytes[1] == 0xFF)  // marker kept
        bytes.withUnsafeMutableBytes { p in RTPHeaderRewrite.setPayloadType(96, in: p) }
        #expect(bytes[1] == 0x80 | 96)
        bytes.withUnsafeMutableBytes { p in RTPHeaderRewrite.setMarker(false, in: p) }
        #expect(bytes[1] == 96)
        bytes.withUnsafeMutableBytes { p in RTPHeaderRewrite.setMarker(true, in: p) }
        #expect(bytes[1] == 0x80 | 96)
        #expect(bytes[0] == original[0] && Array(bytes[12...]) == Array(original[12...]))
        try bytes.withUnsafeBytes { raw in
            let p = try RTPPacket(parsing: raw)
            #expect(p.sequenceNumber == 0xBEEF && p.ssrc == 0xA1B2_C3D4 && p.csrc(at: 0) == 4)
        }
    }

    @Test func extensionWriterRoundTrips() throws {
        var buffer = [UInt8](repeating: 0xFF, count: 64)
        let headerLength = buffer.withUnsafeMutableBytes { p -> Int in
            _ = RTPHeaderWriter.writeFixedHeader(
                marker: false, payloadType: 111, sequenceNumber: 1, timestamp: 2, ssrc: 3, into: p)
            var writer = OneByteExtensionWriter(packet: p, headerLength: 12)
            do { let ok = writer.append(id: 1, byte: 0x85); #expect(ok) }  // audio level: voice, -5 dBov
            let mid: [UInt8] = Array("m0".utf8)
            do { let ok = mid.withUnsafeBytes { writer.append(id: 4, data: $0) }; #expect(ok) }
            let sixteen = [UInt8](1...16)
            do { let ok = sixteen.withUnsafeBytes { writer.append(id: 14, data: $0) }; #expect(ok) }
            return writer.finish()
        }
        // 2 + 3 + 17 = 22 element bytes, padded to 24.
        #expect(headerLength == 12 + 4 + 24)
        #expect(Array(buffer[12..<16]) == [0xBE, 0xDE, 0, 6])
        #expect(Array(buffer[38..<40]) == [0, 0])  // zero padding, not the old 0xFF
        let packet = Array(buffer.prefix(headerLength)) + [9, 9]
        try packet.withUnsafeBytes { raw in
            let p = try RTPPacket(parsing: raw)
            #expect(p.headerLength == headerLength)
            #expect(p.extensionProfile == 0xBEDE)
            #expect(p.headerExtension(id: 1).map(Array.init) == [0x85])
            #expect(p.headerExtension(id: 4).map(Array.init) == Array("m0".utf8))
            #expect(p.headerExtension(id: 14).map(Array.init) == [UInt8](1...16))
            #expect(Array(p.payload) == [9, 9])
        }
    }

    @Test func extensionWriterAfterCSRCs() throws {
        var buffer = [UInt8](repeating: 0, count: 32)
        buffer[0] = 0x81
        buffer[1] = 96
        buffer.replaceSubrange(12..<16, with: be32(0x0505_0505))
        let length = buffer.withUnsafeMutableBytes { p -> Int in
            var writer = OneByteExtensionWriter(packet: p, headerLength: 16)
            do { let ok = writer.append(id: 3, byte: 7); #expect(ok) }
            return writer.finish()
        }
        #expect(length == 24)
        try Array(buffer.prefix(length)).withUnsafeBytes { raw in
            let p = try RTPPacket(parsing: raw)
            #expect(p.csrc(at: 0) == 0x0505_0505)
            #expect(p.headerExtension(id: 3).map(Array.init) == [7])
        }
    }

    @Test func extensionWriterRejectsBadElements() {
        var buffer = [UInt8](repeating: 0, count: 64)
        buffer.withUnsafeMutableBytes { p in
            _ = RTPHeaderWriter.writeFixedHeader(
                marker: false, payloadType: 96, sequenceNumber: 0, timestamp: 0, ssrc: 0, into: p)
            var writer = OneByteExtensionWriter(packet: p, headerLength: 12)
            do { let ok = writer.append(id: 0, byte: 1); #expect(!ok) }
            do { let ok = writer.append(id: 15, byte: 1); #expect(!ok) }
            do { let ok = [UInt8]().withUnsafeBytes { writer.append(id: 1, data: $0) }; #expect(!ok) }
            do { let ok = [UInt8](repeating: 1, count: 17).withUnsafeBytes { writer.append(id: 1, data: $0) }; #expect(!ok) }
            // Nothing appended: no extension, header unchanged, X bit clear.
            #expect(writer.finish() == 12)
            #expect(p[0] == 0x80)
        }
    }

    @Test func extensionWriterStopsWhenFull() {
        // 12 header + 4 extension header + 8 bytes of elements.
        var buffer = [UInt8](repeating: 0, count: 24)
        let length = buffer.withUnsafeMutableBytes { p -> Int in
            _ = RTPHeaderWriter.writeFixedHeader(
                marker: false, payloadType: 96, sequenceNumber: 0, timestamp: 0, ssrc: 0, into: p)
            var writer = OneByteExtensionWriter(packet: p, headerLength: 12)
            do { let ok = [UInt8](repeating: 1, count: 5).withUnsafeBytes { writer.append(id: 1, data: $0) }; #expect(ok) }
            // 6 used; 2 more would fit unpadded, but 3 would need padding past the end.
            do { let ok = [UInt8](repeating: 2, count: 2).withUnsafeBytes { writer.append(id: 2, data: $0) }; #expect(!ok) }
            do { let ok = writer.append(id: 3, byte: 3); #expect(ok) }
            do { let ok = writer.append(id: 4, byte: 4); #expect(!ok) }
            return writer.finish()
        }
        #expect(length == 24)
        #expect(rtpParseError(buffer) == nil)
        // No room for even the extension header.
        var tiny = [UInt8](repeating: 0x80, count: 14)
        tiny.withUnsafeMutableBytes { p in
            var writer = OneByteExtensionWriter(packet: p, headerLength: 12)
            do { let ok = writer.append(id: 1, byte: 1); #expect(!ok) }
            #expect(writer.finish() == 12)
        }
    }
}
