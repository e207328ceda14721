// Fixtures shared by the benchmark targets: preallocated packet slots and RTP packets built the
// way a browser sends them, so that what the measured loop touches is allocated before it starts.

import RTP

/// `count` slots of 1500 bytes (an Ethernet MTU) in one allocation, refilled outside the
/// measured region of each iteration: SRTP works in place and replay protection forbids
/// decrypting the same packet twice, so every iteration needs fresh ciphertext.
public final class PacketBatch {
    public static let slotSize = 1500
    public let count: Int
    public let base: UnsafeMutableRawPointer
    public var lengths: [Int]

    public init(count: Int) {
        self.count = count
        base = .allocate(byteCount: count * Self.slotSize, alignment: 64)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: count * Self.slotSize)
        lengths = Array(repeating: 0, count: count)
    }

    deinit { base.deallocate() }

    @inline(__always)
    public func slot(_ i: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base + i * Self.slotSize, count: Self.slotSize)
    }

    /// The first `lengths[i]` bytes of slot `i`.
    @inline(__always)
    public func packet(_ i: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base + i * Self.slotSize, count: lengths[i])
    }
}

public enum Fixtures {
    /// RFC 8285 ids as Chrome numbers them in its offers.
    public static let midExtensionID: UInt8 = 4
    public static let absSendTimeExtensionID: UInt8 = 2
    public static let transportCCExtensionID: UInt8 = 3

    /// A `size`-byte RTP packet (header included) with a one-byte-form extension block carrying
    /// abs-send-time, transport-wide CC and MID, as Chrome sends video; the payload starts with a
    /// VP8 payload descriptor (RFC 7741 §4.2) of a keyframe start when `keyframe`.
    public static func rtpPacket(
        size: Int, sequenceNumber: UInt16, timestamp: UInt32 = 90_000, ssrc: UInt32, payloadType: UInt8 = 96,
        mid: String = "0", keyframe: Bool = true
    ) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        bytes.withUnsafeMutableBytes { p in
            let fixed = RTPHeaderWriter.writeFixedHeader(
                marker: false, payloadType: payloadType, sequenceNumber: SequenceNumber(sequenceNumber),
                timestamp: RTPTimestamp(rawValue: timestamp), ssrc: ssrc, into: p)
            var writer = OneByteExtensionWriter(packet: p, headerLength: fixed)
            _ = [UInt8](arrayLiteral: 0x12, 0x34, 0x56).withUnsafeBytes { writer.append(id: absSendTimeExtensionID, data: $0) }
            _ = [UInt8](arrayLiteral: 0x00, 0x2A).withUnsafeBytes { writer.append(id: transportCCExtensionID, data: $0) }
            _ = Array(mid.utf8).withUnsafeBytes { writer.append(id: midExtensionID, data: $0) }
            let header = writer.finish()
            // VP8 payload descriptor: S=1, PID=0; then a VP8 frame tag whose P bit is 0 (keyframe).
            p[header] = 0x10
            p[header + 1] = keyframe ? 0x00 : 0x01
            for i in (header + 2)..<size { p[i] = UInt8(truncatingIfNeeded: i &* 31) }
        }
        return bytes
    }

    /// A fixed master key and salt for `profile` (benchmarks need no secrecy, only repeatability).
    public static func masterKey(_ profile: SRTPProfile) -> SRTPMasterKey {
        SRTPMasterKey(
            key: (0..<profile.keyLength).map { UInt8($0 &* 7 &+ 1) },
            salt: (0..<profile.saltLength).map { UInt8($0 &* 13 &+ 5) })
    }

    @inline(__always)
    public static func storeSequenceNumber(_ sequence: UInt16, in packet: UnsafeMutableRawBufferPointer) {
        packet[2] = UInt8(sequence >> 8)
        packet[3] = UInt8(sequence & 0xFF)
    }
}
