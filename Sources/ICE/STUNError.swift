// Why a datagram is not an acceptable STUN message (RFC 8489 §6 framing, §14 attributes).
// Parsers throw these so that a drop can be logged with its reason.

public enum STUNError: Error, Equatable, Sendable {
    /// Fewer than the 20 bytes of a STUN header.
    case tooShort
    /// The two most significant bits are not zero (RFC 8489 §5): RTP, DTLS or noise.
    case notSTUN
    /// The magic cookie 0x2112A442 is missing (an RFC 3489 message, or not STUN at all).
    case badMagicCookie
    /// The length field is not a multiple of 4 or disagrees with the datagram's size.
    case badLength
    /// An attribute header or value runs past the end of the message.
    case attributeOverrun
    /// A known attribute whose value has the wrong size or content.
    case badAttribute(type: UInt16)
    /// The FINGERPRINT value is not the CRC-32 of the message (§14.7).
    case badFingerprint
    /// FINGERPRINT is followed by another attribute; it must be the last one (§14.7).
    case fingerprintNotLast
    /// A second MESSAGE-INTEGRITY (§14.5 allows only FINGERPRINT and -SHA256 after it).
    case duplicateIntegrity
}
