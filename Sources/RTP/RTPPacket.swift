// A parsed RTP packet (RFC 3550 §5.1): a view over the receive buffer that copies nothing and
// allocates nothing, because it is built once for every packet the SFU forwards.

/// Why bytes are not an RTP packet.
public enum RTPParseError: Error, Equatable, Sendable {
    /// Fewer bytes than the 12-byte fixed header, or than a payload format's descriptor.
    case tooShort
    /// The version field is not 2.
    case badVersion
    /// The CSRC count claims more CSRCs than there are bytes.
    case csrcOverrun
    /// The X bit is set but the extension header or its claimed length does not fit.
    case extensionOverrun
    /// An RFC 8285 element runs past the end of the extension block.
    case badExtensionElement
    /// The padding count is larger than what follows the header.
    case paddingOverrun
    /// The P bit is set but the padding count is 0 (RFC 3550 §5.1: the count includes itself).
    case invalidPadding
}

/// An RTP packet viewed in place. Valid only while `bytes` is.
public struct RTPPacket {
    /// The whole packet, header to padding.
    public let bytes: UnsafeRawBufferPointer
    /// 12 + 4*CC, plus the extension (4 + 4*length) when the X bit is set.
    public let headerLength: Int
    /// Padding bytes at the end, including the count byte; 0 without the P bit.
    public let paddingLength: Int

    public init(parsing bytes: UnsafeRawBufferPointer) throws(RTPParseError) {
        guard bytes.count >= 12 else { throw .tooShort }
        let first = bytes[0]
        guard first >> 6 == 2 else { throw .badVersion }
        var end = 12 + 4 * Int(first & 0x0F)
        guard end <= bytes.count else { throw .csrcOverrun }
        if first & 0x10 != 0 {
            guard end + 4 <= bytes.count else { throw .extensionOverrun }
            let profile = bytes.be16(at: end)
            let bodyStart = end + 4
            end = bodyStart + 4 * Int(bytes.be16(at: end + 2))
            guard end <= bytes.count else { throw .extensionOverrun }
            // Elements are checked once here so that `headerExtension(id:)` cannot fail later.
            let valid = HeaderExtensionForm(profile: profile).forEachElement(
                in: bytes.slice(bodyStart..<end)
            ) { _, _ in false }
            guard valid else { throw .badExtensionElement }
        }
        var padding = 0
        if first & 0x20 != 0 {
            padding = Int(bytes[bytes.count - 1])
            guard padding > 0 else { throw .invalidPadding }
            guard end + padding <= bytes.count else { throw .paddingOverrun }
        }
        self.bytes = bytes
        self.headerLength = end
        self.paddingLength = padding
    }

    @inline(__always)
    public var marker: Bool { bytes[1] & 0x80 != 0 }

    @inline(__always)
    public var payloadType: UInt8 { bytes[1] & 0x7F }

    @inline(__always)
    public var sequenceNumber: SequenceNumber { SequenceNumber(bytes.be16(at: 2)) }

    @inline(__always)
    public var timestamp: RTPTimestamp { RTPTimestamp(bytes.be32(at: 4)) }

    @inline(__always)
    public var ssrc: UInt32 { bytes.be32(at: 8) }

    @inline(__always)
    public var csrcCount: Int { Int(bytes[0] & 0x0F) }

    public func csrc(at index: Int) -> UInt32 {
        precondition(index >= 0 && index < csrcCount, "CSRC index out of range")
        return bytes.be32(at: 12 + 4 * index)
    }

    public var hasPadding: Bool { bytes[0] & 0x20 != 0 }

    public var hasExtension: Bool { bytes[0] & 0x10 != 0 }

    /// The "defined by profile" field: 0xBEDE for RFC 8285 one-byte elements, 0x1000...0x100F for
    /// two-byte elements, anything else is opaque. Nil without the X bit.
    public var extensionProfile: UInt16? {
        guard hasExtension else { return nil }
        return bytes.be16(at: 12 + 4 * csrcCount)
    }

    /// The extension body after its 4-byte header. Nil without the X bit.
    public var extensionData: UnsafeRawBufferPointer? {
        guard hasExtension else { return nil }
        return bytes.slice(12 + 4 * csrcCount + 4..<headerLength)
    }

    /// The payload: after the header, before the padding.
    @inline(__always)
    public var payload: UnsafeRawBufferPointer {
        bytes.slice(headerLength..<bytes.count - paddingLength)
    }
}
