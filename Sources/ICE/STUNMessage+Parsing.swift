// Reading STUN messages from a datagram (RFC 8489 §6.3): header checks, attribute walk,
// FINGERPRINT check, and MESSAGE-INTEGRITY verification over the raw bytes.

extension STUNMessage {
    /// Parses and checks header, 4-byte alignment, lengths, magic cookie; checks FINGERPRINT
    /// if present (it must be last). MESSAGE-INTEGRITY is only decoded here: checking it needs
    /// the key, see `verifyMessageIntegrity`.
    public init(parsing bytes: UnsafeRawBufferPointer) throws(STUNError) {
        try Self.checkHeader(bytes)
        let (messageClass, method) = STUNMessageType.decode(bytes.readUInt16(at: 0))
        let transactionID = STUNTransactionID(reading: bytes, at: 8)
        var attributes: [STUNAttribute] = []
        var sawIntegrity = false
        var offset = Self.headerLength
        while offset < bytes.count {
            let (type, value, next) = try Self.attribute(at: offset, in: bytes)
            switch type {
            case STUNAttributeType.fingerprint:
                // §14.7: last, and over everything before it (the length field already counts it).
                guard next == bytes.count else { throw .fingerprintNotLast }
                let attribute = try STUNAttribute.decode(type: type, value: value, transactionID: transactionID)
                let computed = CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[..<offset])) ^ Self.fingerprintXOR
                guard attribute == .fingerprint(computed) else { throw .badFingerprint }
                attributes.append(attribute)
            case STUNAttributeType.messageIntegrity where sawIntegrity:
                throw .duplicateIntegrity
            case _ where sawIntegrity && type != STUNAttributeType.messageIntegritySHA256:
                // §14.5: everything after MESSAGE-INTEGRITY except FINGERPRINT and -SHA256 is
                // unprotected, so it is ignored rather than trusted.
                break
            default:
                attributes.append(try STUNAttribute.decode(type: type, value: value, transactionID: transactionID))
                if type == STUNAttributeType.messageIntegrity { sawIntegrity = true }
            }
            offset = next
        }
        self.init(messageClass: messageClass, method: method, transactionID: transactionID, attributes: attributes)
    }

    /// RFC 7983 / RFC 8489 §5 quick test, cheap enough for every datagram: first two bits zero,
    /// magic cookie at 4..<8, length a multiple of 4.
    public static func looksLikeSTUN(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= headerLength
            && bytes[0] & 0xC0 == 0
            && bytes.readUInt32(at: 4) == stunMagicCookie
            && bytes.readUInt16(at: 2) % 4 == 0
    }

    /// USERNAME without full parsing: enough to route a request to the agent that owns the
    /// local ufrag. Nil for anything malformed; a USERNAME after MESSAGE-INTEGRITY is ignored.
    public static func peekUsername(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard (try? checkHeader(bytes)) != nil,
              let (offset, length) = locate(STUNAttributeType.username, in: bytes)
        else { return nil }
        return strictUTF8(UnsafeRawBufferPointer(rebasing: bytes[(offset + 4)..<(offset + 4 + length)]))
    }

    /// Checks MESSAGE-INTEGRITY (HMAC-SHA1, §14.5): the HMAC covers the message up to the
    /// attribute, with the header's length field set as if MESSAGE-INTEGRITY were the last
    /// attribute (FINGERPRINT may follow it on the wire). For ICE the key is the password.
    public static func verifyMessageIntegrity(_ bytes: UnsafeRawBufferPointer, key: [UInt8]) -> Bool {
        guard (try? checkHeader(bytes)) != nil,
              let (offset, length) = locate(STUNAttributeType.messageIntegrity, in: bytes),
              length == HMACSHA1.length
        else { return false }
        let received = UnsafeRawBufferPointer(rebasing: bytes[(offset + 4)..<(offset + 4 + length)])
        return withUnsafeTemporaryAllocation(byteCount: offset + HMACSHA1.length, alignment: 1) { scratch in
            let covered = UnsafeMutableRawBufferPointer(rebasing: scratch[..<offset])
            covered.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[..<offset]))
            let adjusted = UInt16(offset - headerLength + 4 + HMACSHA1.length)
            covered[2] = UInt8(adjusted >> 8)
            covered[3] = UInt8(adjusted & 0xFF)
            let mac = UnsafeMutableRawBufferPointer(rebasing: scratch[offset...])
            key.withUnsafeBytes { key in
                HMACSHA1.authenticate(key: key, data: UnsafeRawBufferPointer(covered), into: mac)
            }
            return constantTimeEqual(UnsafeRawBufferPointer(mac), received)
        }
    }

    // MARK: - Internals

    /// §6.3: at least a header, top bits zero, magic cookie, and a length that is a multiple
    /// of 4 and matches the datagram exactly (one STUN message per UDP datagram).
    static func checkHeader(_ bytes: UnsafeRawBufferPointer) throws(STUNError) {
        guard bytes.count >= headerLength else { throw .tooShort }
        guard bytes[0] & 0xC0 == 0 else { throw .notSTUN }
        guard bytes.readUInt32(at: 4) == stunMagicCookie else { throw .badMagicCookie }
        let length = Int(bytes.readUInt16(at: 2))
        guard length % 4 == 0, headerLength + length == bytes.count else { throw .badLength }
    }

    /// The attribute at `offset` (4-aligned, inside a checked message): its type, its value
    /// without padding, and where the next attribute starts.
    static func attribute(
        at offset: Int, in bytes: UnsafeRawBufferPointer
    ) throws(STUNError) -> (type: UInt16, value: UnsafeRawBufferPointer, next: Int) {
        guard bytes.count - offset >= 4 else { throw .attributeOverrun }
        let type = bytes.readUInt16(at: offset)
        let length = Int(bytes.readUInt16(at: offset + 2))
        let valueStart = offset + 4
        guard length <= bytes.count - valueStart else { throw .attributeOverrun }
        let value = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<(valueStart + length)])
        // Padding may hold any bytes (§14); a checked message is a multiple of 4 long, so the
        // padded end never passes its end.
        return (type, value, valueStart + (length + 3) & ~3)
    }

    /// Offset and value length of the first attribute of `type`, looking no further than
    /// MESSAGE-INTEGRITY (what follows it is not protected, §14.5). Nil when absent or when
    /// the walk runs off the message.
    static func locate(_ wanted: UInt16, in bytes: UnsafeRawBufferPointer) -> (offset: Int, length: Int)? {
        var offset = headerLength
        while offset < bytes.count {
            guard let (type, value, next) = try? attribute(at: offset, in: bytes) else { return nil }
            if type == wanted { return (offset, value.count) }
            if type == STUNAttributeType.messageIntegrity { return nil }
            offset = next
        }
        return nil
    }
}
