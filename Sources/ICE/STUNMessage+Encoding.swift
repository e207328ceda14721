// Writing STUN messages (RFC 8489 §6-7): attributes in order, then MESSAGE-INTEGRITY and
// FINGERPRINT computed last, as §14.5 and §14.7 require.

extension STUNMessage {
    /// Encodes the message. MESSAGE-INTEGRITY (with `integrityKey`) and FINGERPRINT (if asked)
    /// are appended last, in that order; such attributes in `attributes` are never copied.
    public func encode(integrityKey: [UInt8]? = nil, fingerprint: Bool = true) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.headerLength + 128)
        out.appendBigEndian(STUNMessageType.encode(messageClass, method))
        out.appendBigEndian(UInt16(0))
        out.appendBigEndian(stunMagicCookie)
        out.appendBigEndian(transactionID.word0)
        out.appendBigEndian(transactionID.word1)
        out.appendBigEndian(transactionID.word2)
        for attribute in attributes {
            switch attribute.type {
            case STUNAttributeType.messageIntegrity, STUNAttributeType.fingerprint:
                continue
            default:
                attribute.encode(into: &out, transactionID: transactionID)
            }
        }
        if let key = integrityKey {
            // §14.5: the HMAC covers the header with a length that already counts MESSAGE-INTEGRITY.
            let start = out.count
            Self.setLength(&out, start - Self.headerLength + 4 + HMACSHA1.length)
            out.appendBigEndian(STUNAttributeType.messageIntegrity)
            out.appendBigEndian(UInt16(HMACSHA1.length))
            out.append(contentsOf: repeatElement(0, count: HMACSHA1.length))
            out.withUnsafeMutableBytes { raw in
                key.withUnsafeBytes { key in
                    HMACSHA1.authenticate(
                        key: key, data: UnsafeRawBufferPointer(rebasing: raw[..<start]),
                        into: UnsafeMutableRawBufferPointer(rebasing: raw[(start + 4)...]))
                }
            }
        }
        if fingerprint {
            // §14.7: the CRC covers the header with a length that already counts FINGERPRINT.
            let start = out.count
            Self.setLength(&out, start - Self.headerLength + 8)
            let crc = CRC32.checksum(out) ^ Self.fingerprintXOR
            out.appendBigEndian(STUNAttributeType.fingerprint)
            out.appendBigEndian(UInt16(4))
            out.appendBigEndian(crc)
        }
        Self.setLength(&out, out.count - Self.headerLength)
        return out
    }

    private static func setLength(_ out: inout [UInt8], _ length: Int) {
        precondition(length <= Int(UInt16.max), "STUN message too long: \(length) bytes of attributes")
        out.writeBigEndian(UInt16(length), at: 2)
    }

    /// Client side (tests, load generator): a Binding request from a controlling ICE agent
    /// (RFC 8445 §7.2.2), with USERNAME "remoteUfrag:localUfrag" as given, PRIORITY,
    /// ICE-CONTROLLING, optional USE-CANDIDATE, MESSAGE-INTEGRITY keyed with the remote
    /// password, and FINGERPRINT.
    public static func bindingRequest(
        username: String, password: String, priority: UInt32, tieBreaker: UInt64,
        useCandidate: Bool, transactionID: STUNTransactionID = .random()
    ) -> (STUNTransactionID, [UInt8]) {
        var attributes: [STUNAttribute] = [.username(username), .priority(priority), .iceControlling(tieBreaker)]
        if useCandidate { attributes.append(.useCandidate) }
        let request = STUNMessage(
            messageClass: .request, method: .binding, transactionID: transactionID, attributes: attributes)
        return (transactionID, request.encode(integrityKey: Array(password.utf8), fingerprint: true))
    }
}
