// The 20 bytes a publisher puts at the end of some RTP payloads so that a subscriber can tell
// which publisher stream and which original packet it got, and when it was sent.
//
// Why in the payload: Chorus rewrites SSRC, sequence number and timestamp, keeps only the MID
// header extension and strips RTP padding, but forwards the payload byte for byte. The trailer
// sits where decoders ignore it, so the media stays decodable:
// - Opus: every packet is re-framed as code 3 with one frame and 20 bytes of padding (RFC 6716
//   §3.2.5); the trailer is that padding. (The RFC asks encoders to zero padding; decoders must
//   accept any value, and this is a test tool.)
// - VP8: the last packet of each frame carries the trailer after the frame's data: the last
//   partition simply runs longer and the decoder never reads that far (checked in tests by
//   decoding with libvpx).
// Packets without a trailer (the rest of a video frame) are matched through `SendLog`: the
// trailer tells the subscriber the offset between its sequence numbers and the publisher's.
//
// Layout: "CLT1" | stream id (32 bits) | original sequence number (16) | 0 (16) | send time in
// ns of `MonotonicTime` (64), all big-endian.

public struct SendTimeTrailer: Equatable, Sendable {
    public static let length = 20
    static let magic: UInt32 = 0x434C_5431  // "CLT1"

    /// Publisher index × 2, + 1 for video, + a simulcast layer's index × 2^28 (`streamID(...)`).
    public var streamID: UInt32
    public var sequenceNumber: UInt16
    public var sendTime: UInt64

    public init(streamID: UInt32, sequenceNumber: UInt16, sendTime: UInt64) {
        self.streamID = streamID
        self.sequenceNumber = sequenceNumber
        self.sendTime = sendTime
    }

    /// Writes the trailer into the last `length` bytes of `payload`.
    public func write(atEndOf payload: UnsafeMutableRawBufferPointer) {
        precondition(payload.count >= Self.length, "payload shorter than the trailer")
        let at = payload.count - Self.length
        payload.storeBytes(of: Self.magic.bigEndian, toByteOffset: at, as: UInt32.self)
        payload.storeBytes(of: streamID.bigEndian, toByteOffset: at + 4, as: UInt32.self)
        payload.storeBytes(of: sequenceNumber.bigEndian, toByteOffset: at + 8, as: UInt16.self)
        payload.storeBytes(of: UInt16(0), toByteOffset: at + 10, as: UInt16.self)
        payload.storeBytes(of: sendTime.bigEndian, toByteOffset: at + 12, as: UInt64.self)
    }

    /// The trailer at the end of `payload`, nil when the magic is not there.
    public init?(endOf payload: UnsafeRawBufferPointer) {
        guard payload.count >= Self.length else { return nil }
        let at = payload.count - Self.length
        guard UInt32(bigEndian: payload.loadUnaligned(fromByteOffset: at, as: UInt32.self)) == Self.magic,
              payload.loadUnaligned(fromByteOffset: at + 10, as: UInt16.self) == 0
        else { return nil }
        streamID = UInt32(bigEndian: payload.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self))
        sequenceNumber = UInt16(bigEndian: payload.loadUnaligned(fromByteOffset: at + 8, as: UInt16.self))
        sendTime = UInt64(bigEndian: payload.loadUnaligned(fromByteOffset: at + 12, as: UInt64.self))
    }

    /// Each simulcast layer is a stream of its own numbering; layer 0 (and a stream without
    /// layers) keeps the plain number, so single-layer runs are unchanged.
    public static func streamID(publisher: Int, video: Bool, layer: Int = 0) -> UInt32 {
        UInt32(truncatingIfNeeded: layer) << 28 | UInt32(truncatingIfNeeded: publisher) << 1 | (video ? 1 : 0)
    }
}

public enum OpusPadding {
    /// Re-frames a one-frame Opus packet (TOC code 0, RFC 6716 §3.2.2) as code 3 with one CBR
    /// frame and `padding` bytes of padding at the end (§3.2.5), zero-filled. The frame itself
    /// is unchanged, so a decoder outputs the same samples.
    public static func pad(_ packet: [UInt8], padding: Int) throws(LoadTestError) -> [UInt8] {
        guard let toc = packet.first else { throw .codec("empty Opus packet") }
        guard toc & 0x03 == 0 else { throw .codec("Opus packet with code \(toc & 0x03), expected one frame (code 0)") }
        guard (1...254 * 4).contains(padding) else { throw .codec("Opus padding \(padding) out of range") }
        // Frame count byte: v=0 (CBR), p=1, M=1.
        var out: [UInt8] = [toc | 0x03, 0x41]
        // Padding length: 255 means "254 and more follows"; the last byte is 0...254.
        var remaining = padding
        while remaining > 254 {
            out.append(255)
            remaining -= 254
        }
        out.append(UInt8(remaining))
        out += packet.dropFirst()
        out += [UInt8](repeating: 0, count: padding)
        return out
    }
}
