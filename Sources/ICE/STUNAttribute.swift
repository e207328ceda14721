// STUN attributes that ICE uses (RFC 8489 §14, RFC 8445 §16.1), decoded into values; every
// other attribute is kept as raw bytes.

public enum STUNAttribute: Equatable, Sendable {
    /// §14.3: "ufragOfReceiver:ufragOfSender" in ICE checks (RFC 8445 §7.2.2).
    case username(String)
    /// §14.5: the 20-byte HMAC-SHA1 as received. Never encoded from a message's attributes:
    /// `STUNMessage.encode(integrityKey:)` computes it.
    case messageIntegrity([UInt8])
    /// §14.7: as received. Never encoded from a message's attributes: `encode` computes it.
    case fingerprint(UInt32)
    /// §14.2: the reflexive address, XORed with the magic cookie (and transaction ID for v6).
    case xorMappedAddress(TransportAddress)
    /// RFC 8445 §7.1.1: the priority a peer-reflexive candidate would get.
    case priority(UInt32)
    /// RFC 8445 §7.1.2: the controlling agent nominates this pair.
    case useCandidate
    /// RFC 8445 §7.1.3: the sender is controlling; the value is its tie-breaker.
    case iceControlling(UInt64)
    /// RFC 8445 §7.1.3: the sender is controlled; the value is its tie-breaker.
    case iceControlled(UInt64)
    /// §14.8: code 300...699 and a UTF-8 reason phrase.
    case errorCode(code: Int, reason: String)
    /// §14.14: the sender's software, informational.
    case software(String)
    /// Any other attribute, value without padding.
    case unknown(type: UInt16, value: [UInt8])

    /// The attribute's type number (§18.3).
    public var type: UInt16 {
        switch self {
        case .username: return STUNAttributeType.username
        case .messageIntegrity: return STUNAttributeType.messageIntegrity
        case .fingerprint: return STUNAttributeType.fingerprint
        case .xorMappedAddress: return STUNAttributeType.xorMappedAddress
        case .priority: return STUNAttributeType.priority
        case .useCandidate: return STUNAttributeType.useCandidate
        case .iceControlling: return STUNAttributeType.iceControlling
        case .iceControlled: return STUNAttributeType.iceControlled
        case .errorCode: return STUNAttributeType.errorCode
        case .software: return STUNAttributeType.software
        case .unknown(let type, _): return type
        }
    }
}

/// Attribute type numbers (RFC 8489 §18.3, RFC 8445 §16.1).
enum STUNAttributeType {
    static let username: UInt16 = 0x0006
    static let messageIntegrity: UInt16 = 0x0008
    static let errorCode: UInt16 = 0x0009
    static let unknownAttributes: UInt16 = 0x000A
    static let messageIntegritySHA256: UInt16 = 0x001C
    static let xorMappedAddress: UInt16 = 0x0020
    static let priority: UInt16 = 0x0024
    static let useCandidate: UInt16 = 0x0025
    static let software: UInt16 = 0x8022
    static let fingerprint: UInt16 = 0x8028
    static let iceControlled: UInt16 = 0x8029
    static let iceControlling: UInt16 = 0x802A

    /// §14: types below 0x8000 must be understood; an agent that does not know one must
    /// reject a request carrying it (420 Unknown Attribute, §6.3.1).
    static func isComprehensionRequired(_ type: UInt16) -> Bool { type < 0x8000 }
}

/// STUN addresses are XORed with the magic cookie (§14.2) so that NATs that rewrite every
/// copy of their public address in payloads leave them alone.
let stunMagicCookie: UInt32 = 0x2112_A442

// MARK: - Decoding

extension STUNAttribute {
    /// Decodes one attribute value (without its header or padding).
    static func decode(
        type: UInt16, value: UnsafeRawBufferPointer, transactionID: STUNTransactionID
    ) throws(STUNError) -> STUNAttribute {
        func require(_ condition: Bool) throws(STUNError) {
            if !condition { throw .badAttribute(type: type) }
        }
        switch type {
        case STUNAttributeType.username:
            // §14.3: fewer than 509 bytes of UTF-8 (513 in RFC 5389; accept the larger).
            try require(value.count <= 513)
            guard let name = strictUTF8(value) else { throw .badAttribute(type: type) }
            return .username(name)
        case STUNAttributeType.messageIntegrity:
            try require(value.count == HMACSHA1.length)
            return .messageIntegrity(Array(value))
        case STUNAttributeType.fingerprint:
            try require(value.count == 4)
            return .fingerprint(value.readUInt32(at: 0))
        case STUNAttributeType.xorMappedAddress:
            return .xorMappedAddress(try decodeXORAddress(type: type, value, transactionID: transactionID))
        case STUNAttributeType.priority:
            try require(value.count == 4)
            return .priority(value.readUInt32(at: 0))
        case STUNAttributeType.useCandidate:
            try require(value.count == 0)
            return .useCandidate
        case STUNAttributeType.iceControlling:
            try require(value.count == 8)
            return .iceControlling(value.readUInt64(at: 0))
        case STUNAttributeType.iceControlled:
            try require(value.count == 8)
            return .iceControlled(value.readUInt64(at: 0))
        case STUNAttributeType.errorCode:
            // §14.8: 21 reserved bits, class (3 bits, 3...6), number (8 bits, 0...99), reason.
            try require(value.count >= 4 && value.count <= 4 + 763)
            let errorClass = Int(value[2] & 0x07)
            let number = Int(value[3])
            try require((3...6).contains(errorClass) && number < 100)
            // The reason is informational; a bad byte in it is no reason to drop the message.
            let reason = String(decoding: UnsafeRawBufferPointer(rebasing: value[4...]), as: UTF8.self)
            return .errorCode(code: errorClass * 100 + number, reason: reason)
        case STUNAttributeType.software:
            try require(value.count <= 763)
            return .software(String(decoding: value, as: UTF8.self))
        default:
            return .unknown(type: type, value: Array(value))
        }
    }

    private static func decodeXORAddress(
        type: UInt16, _ value: UnsafeRawBufferPointer, transactionID: STUNTransactionID
    ) throws(STUNError) -> TransportAddress {
        guard value.count >= 4 else { throw .badAttribute(type: type) }
        let port = value.readUInt16(at: 2) ^ UInt16(stunMagicCookie >> 16)
        switch value[1] {
        case 0x01 where value.count == 8:
            let address = value.readUInt32(at: 4) ^ stunMagicCookie
            return TransportAddress(
                ip: .v4(UInt8(address >> 24), UInt8(address >> 16 & 0xFF),
                        UInt8(address >> 8 & 0xFF), UInt8(address & 0xFF)),
                port: port)
        case 0x02 where value.count == 20:
            // §14.2: IPv6 is XORed with the cookie followed by the transaction ID.
            let mask = xorMask(transactionID)
            let bytes = (0..<16).map { value[4 + $0] ^ mask[$0] }
            return TransportAddress(ip: .v6(bytes), port: port)
        default:
            throw .badAttribute(type: type)
        }
    }

    /// Magic cookie then transaction ID: the 16-byte XOR mask of an IPv6 address.
    static func xorMask(_ transactionID: STUNTransactionID) -> [UInt8] {
        var mask: [UInt8] = []
        mask.reserveCapacity(16)
        mask.appendBigEndian(stunMagicCookie)
        mask.appendBigEndian(transactionID.word0)
        mask.appendBigEndian(transactionID.word1)
        mask.appendBigEndian(transactionID.word2)
        return mask
    }
}

/// UTF-8 text or nil; written without `String(validating:)` so that it builds on every
/// platform the package names.
func strictUTF8(_ bytes: UnsafeRawBufferPointer) -> String? {
    let text = String(decoding: bytes, as: UTF8.self)
    return text.utf8.elementsEqual(bytes) ? text : nil
}

// MARK: - Encoding

extension STUNAttribute {
    /// Appends header, value and zero padding to a 4-byte boundary (§14).
    func encode(into out: inout [UInt8], transactionID: STUNTransactionID) {
        let headerAt = out.count
        out.appendBigEndian(type)
        out.appendBigEndian(UInt16(0))
        switch self {
        case .username(let text), .software(let text):
            out.append(contentsOf: text.utf8)
        case .messageIntegrity(let mac):
            out.append(contentsOf: mac)
        case .fingerprint(let value), .priority(let value):
            out.appendBigEndian(value)
        case .xorMappedAddress(let address):
            out.append(0)
            let port = address.port ^ UInt16(stunMagicCookie >> 16)
            switch address.ip {
            case .v4(let a, let b, let c, let d):
                out.append(0x01)
                out.appendBigEndian(port)
                let raw = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
                out.appendBigEndian(raw ^ stunMagicCookie)
            case .v6(let bytes):
                out.append(0x02)
                out.appendBigEndian(port)
                let mask = Self.xorMask(transactionID)
                for index in 0..<16 { out.append(bytes[index] ^ mask[index]) }
            }
        case .useCandidate:
            break
        case .iceControlling(let tieBreaker), .iceControlled(let tieBreaker):
            out.appendBigEndian(tieBreaker)
        case .errorCode(let code, let reason):
            out.appendBigEndian(UInt16(0))
            out.append(UInt8(truncatingIfNeeded: (code / 100) & 0x07))
            out.append(UInt8(truncatingIfNeeded: code % 100))
            out.append(contentsOf: reason.utf8)
        case .unknown(_, let value):
            out.append(contentsOf: value)
        }
        let valueLength = out.count - headerAt - 4
        precondition(valueLength <= Int(UInt16.max), "STUN attribute 0x\(String(type, radix: 16)) is too long")
        out.writeBigEndian(UInt16(valueLength), at: headerAt + 2)
        while out.count % 4 != 0 { out.append(0) }
    }
}
