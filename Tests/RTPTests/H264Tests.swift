// H.264 keyframe detection over RFC 6184 packetizations: single NAL unit, STAP-A and FU-A.
import RTP
import Testing

private func isKeyframe(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { H264.isKeyframe($0) }
}

@Suite struct H264Tests {
    @Test func singleNALUnits() {
        #expect(isKeyframe([0x65, 0x88, 0x84, 0x00]))  // IDR slice
        #expect(isKeyframe([0x67, 0x42, 0xC0, 0x1F]))  // SPS
        #expect(!isKeyframe([0x68, 0xCE, 0x3C, 0x80]))  // PPS
        #expect(!isKeyframe([0x41, 0x9A, 0x00]))  // non-IDR slice
        #expect(!isKeyframe([0x06, 0x05]))  // SEI
        #expect(!isKeyframe([]))
    }

    @Test func stapA() {
        // SPS + PPS + IDR, as Chrome aggregates them at the start of a key frame.
        let keyframe: [UInt8] = [0x78, 0, 4, 0x67, 0x42, 0xC0, 0x1F, 0, 2, 0x68, 0xCE, 0, 3, 0x65, 0x88, 0x80]
        #expect(isKeyframe(keyframe))
        // IDR as the last unit.
        #expect(isKeyframe([0x78, 0, 2, 0x06, 0x05, 0, 2, 0x65, 0x88]))
        // Only SEI and PPS.
        #expect(!isKeyframe([0x78, 0, 2, 0x06, 0x05, 0, 2, 0x68, 0xCE]))
        // A size pointing past the end, before the IDR unit is reached.
        #expect(!isKeyframe([0x78, 0, 9, 0x06, 0x05, 0, 2, 0x65, 0x88]))
        // A zero size.
        #expect(!isKeyframe([0x78, 0, 0, 0, 2, 0x65, 0x88]))
        #expect(!isKeyframe([0x78]))
        for n in 0...keyframe.count {
            _ = isKeyframe(Array(keyframe.prefix(n)))  // never crashes
        }
    }

    @Test func fuA() {
        #expect(isKeyframe([0x7C, 0x85, 0x88, 0x84]))  // start of an IDR
        #expect(isKeyframe([0x7C, 0x87, 0x42]))  // start of a fragmented SPS
        #expect(!isKeyframe([0x7C, 0x05, 0x11]))  // middle of an IDR
        #expect(!isKeyframe([0x7C, 0x45, 0x11]))  // end of an IDR
        #expect(!isKeyframe([0x7C, 0x81, 0x9A]))  // start of a non-IDR slice
        #expect(!isKeyframe([0x7C]))
    }

    @Test func otherAggregationsAreNotDecoded() {
        #expect(!isKeyframe([0x79, 0x00, 0x01, 0, 2, 0x65, 0x88]))  // STAP-B
        #expect(!isKeyframe([0x7D, 0x85, 0x00, 0x01]))  // FU-B
    }
}
