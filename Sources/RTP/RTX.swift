// RTP retransmission payload format (RFC 4588): a retransmitted packet travels on its own SSRC
// and payload type with the original sequence number (OSN) in the first two payload bytes, so
// that it never collides with the original stream's sequence space or replay window.

public enum RTX {
    /// The original sequence number an RTX packet carries; nil when the payload cannot hold one
    /// (a padding-only packet, which senders use as bandwidth probes).
    public static func originalSequence(of packet: RTPPacket) -> SequenceNumber? {
        let payload = packet.payload
        guard payload.count >= 2 else { return nil }
        return SequenceNumber(payload.be16(at: 0))
    }

    /// Turns the RTX packet in `buffer` (parsed as `packet`) back into the original, in place:
    /// the OSN becomes the sequence number, `payloadType` and `ssrc` the original stream's, the
    /// OSN bytes and any padding go. Returns the original's length, or nil when the RTX packet
    /// carries no original payload (RFC 4588 §4: a payload of the OSN alone is a probe).
    public static func unwrap(
        _ buffer: UnsafeMutableRawBufferPointer, packet: RTPPacket, payloadType: UInt8, ssrc: UInt32
    ) -> Int? {
        let payload = packet.payload
        guard payload.count > 2 else { return nil }
        let original = payload.be16(at: 0)
        let start = packet.headerLength
        let length = payload.count - 2
        if length > 0 {
            (buffer.baseAddress! + start).copyMemory(from: buffer.baseAddress! + start + 2, byteCount: length)
        }
        buffer[0] &= ~0x20
        buffer[1] = (buffer[1] & 0x80) | (payloadType & 0x7F)
        buffer.storeBE16(original, at: 2)
        buffer.storeBE32(ssrc, at: 8)
        return start + length
    }
}
