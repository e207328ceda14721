// A STUN message as values (RFC 8489 §5-6): class, method, transaction ID and attributes in
// order. Parsing is in STUNMessage+Parsing.swift, encoding in STUNMessage+Encoding.swift.

public struct STUNMessage: Equatable, Sendable {
    public var messageClass: STUNClass
    public var method: STUNMethod
    public var transactionID: STUNTransactionID
    /// In wire order. A parsed message includes MESSAGE-INTEGRITY and FINGERPRINT as received;
    /// `encode` ignores both and computes them instead.
    public var attributes: [STUNAttribute]

    public init(
        messageClass: STUNClass, method: STUNMethod, transactionID: STUNTransactionID,
        attributes: [STUNAttribute] = []
    ) {
        self.messageClass = messageClass
        self.method = method
        self.transactionID = transactionID
        self.attributes = attributes
    }

    static let headerLength = 20
}

// MARK: - Accessors (the first attribute of each kind wins)

extension STUNMessage {
    public var username: String? {
        for case .username(let value) in attributes { return value }
        return nil
    }

    public var priority: UInt32? {
        for case .priority(let value) in attributes { return value }
        return nil
    }

    public var useCandidate: Bool {
        attributes.contains(.useCandidate)
    }

    public var iceControlling: UInt64? {
        for case .iceControlling(let value) in attributes { return value }
        return nil
    }

    public var iceControlled: UInt64? {
        for case .iceControlled(let value) in attributes { return value }
        return nil
    }

    public var xorMappedAddress: TransportAddress? {
        for case .xorMappedAddress(let value) in attributes { return value }
        return nil
    }

    public var errorCode: (code: Int, reason: String)? {
        for case .errorCode(let code, let reason) in attributes { return (code, reason) }
        return nil
    }

    public var software: String? {
        for case .software(let value) in attributes { return value }
        return nil
    }

    /// The MESSAGE-INTEGRITY value as received (checking it needs the raw bytes:
    /// `verifyMessageIntegrity`).
    public var messageIntegrity: [UInt8]? {
        for case .messageIntegrity(let value) in attributes { return value }
        return nil
    }

    public var fingerprint: UInt32? {
        for case .fingerprint(let value) in attributes { return value }
        return nil
    }

    /// Comprehension-required attributes (type < 0x8000) this codec does not understand; a
    /// request carrying any must be answered with 420 and UNKNOWN-ATTRIBUTES (§6.3.1).
    public var unknownComprehensionRequiredAttributes: [UInt16] {
        attributes.compactMap { attribute in
            guard case .unknown(let type, _) = attribute,
                  STUNAttributeType.isComprehensionRequired(type),
                  // Understood but not checked: MESSAGE-INTEGRITY (SHA-1) is enough (§9.1.4).
                  type != STUNAttributeType.messageIntegritySHA256
            else { return nil }
            return type
        }
    }
}
