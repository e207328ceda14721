// Writes a fresh RTP fixed header (RFC 3550 §5.1) into a caller's buffer, for packets the SFU
// originates (probes, padding, retransmissions built from scratch). No allocation.

public struct RTPHeaderWriter {
    /// Writes the 12-byte fixed header (V=2, no padding, X=0, CC=0); returns 12.
    @discardableResult
    public static func writeFixedHeader(
        marker: Bool, payloadType: UInt8, sequenceNumber: SequenceNumber,
        timestamp: RTPTimestamp, ssrc: UInt32, into p: UnsafeMutableRawBufferPointer
    ) -> Int {
        precondition(p.count >= 12, "buffer too small for an RTP fixed header")
        p[0] = 0x80
        p[1] = (marker ? 0x80 : 0) | (payloadType & 0x7F)
        p.storeBE16(sequenceNumber.rawValue, at: 2)
        p.storeBE32(timestamp.rawValue, at: 4)
        p.storeBE32(ssrc, at: 8)
        return 12
    }
}
