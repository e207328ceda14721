// In-place rewriting of an RTP packet's fixed header (RFC 3550 §5.1), for an SFU that forwards
// one publisher's packets as each subscriber's own stream (new SSRC, gapless sequence, offset
// timestamps). Each call touches only its field's bytes.

public enum RTPHeaderRewrite {
    @inline(__always)
    public static func setSequenceNumber(_ s: SequenceNumber, in p: UnsafeMutableRawBufferPointer) {
        precondition(p.count >= 12, "not an RTP fixed header")
        p.storeBE16(s.rawValue, at: 2)
    }

    @inline(__always)
    public static func setTimestamp(_ t: RTPTimestamp, in p: UnsafeMutableRawBufferPointer) {
        precondition(p.count >= 12, "not an RTP fixed header")
        p.storeBE32(t.rawValue, at: 4)
    }

    @inline(__always)
    public static func setSSRC(_ ssrc: UInt32, in p: UnsafeMutableRawBufferPointer) {
        precondition(p.count >= 12, "not an RTP fixed header")
        p.storeBE32(ssrc, at: 8)
    }

    /// Sets the 7-bit payload type; the marker bit sharing its byte is kept.
    @inline(__always)
    public static func setPayloadType(_ pt: UInt8, in p: UnsafeMutableRawBufferPointer) {
        precondition(p.count >= 12, "not an RTP fixed header")
        p[1] = (p[1] & 0x80) | (pt & 0x7F)
    }

    @inline(__always)
    public static func setMarker(_ m: Bool, in p: UnsafeMutableRawBufferPointer) {
        precondition(p.count >= 12, "not an RTP fixed header")
        p[1] = m ? p[1] | 0x80 : p[1] & 0x7F
    }
}
