// H.264 RTP payloads (RFC 6184 §5): enough to tell whether a packet starts a keyframe, so that
// an SFU can start or resume a subscriber cleanly.

public enum H264 {
    /// NAL unit types (ITU-T H.264 Table 7-1, RFC 6184 §5.2).
    static let idrSlice: UInt8 = 5
    static let sequenceParameterSet: UInt8 = 7
    static let stapA: UInt8 = 24
    static let fuA: UInt8 = 28

    @inline(__always)
    static func isKeyframeNAL(_ type: UInt8) -> Bool {
        type == idrSlice || type == sequenceParameterSet
    }

    /// True when an IDR slice (type 5) or an SPS (7) appears as a single NAL unit, inside a
    /// STAP-A (24), or as the start (S bit) of an FU-A (28). Malformed payloads give false.
    public static func isKeyframe(_ payload: UnsafeRawBufferPointer) -> Bool {
        guard let first = payload.first else { return false }
        let type = first & 0x1F
        switch type {
        case 1...23:
            return isKeyframeNAL(type)
        case stapA:
            // §5.7.1: after the STAP-A header, each unit is a 16-bit size then the NAL unit.
            var i = 1
            while i + 2 <= payload.count {
                let size = Int(payload.be16(at: i))
                i += 2
                guard size > 0, i + size <= payload.count else { return false }
                if isKeyframeNAL(payload[i] & 0x1F) { return true }
                i += size
            }
            return false
        case fuA:
            // §5.8: FU header |S|E|R| Type |.
            guard payload.count >= 2 else { return false }
            let header = payload[1]
            return header & 0x80 != 0 && isKeyframeNAL(header & 0x1F)
        default:
            return false
        }
    }
}
