// The STUN message type: a 12-bit method and a 2-bit class interleaved in 14 bits (RFC 8489 §5).

public enum STUNClass: UInt16, Sendable {
    case request = 0
    case indication = 1
    case successResponse = 2
    case errorResponse = 3
}

public struct STUNMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The 12-bit method number; higher bits are masked off because the header has no room.
    public let rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue & 0x0FFF
    }

    /// RFC 8489 §18.2: the only method ICE uses.
    public static let binding = STUNMethod(rawValue: 0x001)

    public var description: String {
        self == .binding ? "Binding" : "method 0x\(String(rawValue, radix: 16))"
    }
}

/// Packing and unpacking of the type field. Bit layout, most significant first (§5):
/// `0 0 M11 M10 M9 M8 M7 C1 M6 M5 M4 C0 M3 M2 M1 M0`.
enum STUNMessageType {
    static func encode(_ messageClass: STUNClass, _ method: STUNMethod) -> UInt16 {
        let m = method.rawValue
        let c = messageClass.rawValue
        return (m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2)
            | ((c & 0x1) << 4) | ((c & 0x2) << 7)
    }

    static func decode(_ type: UInt16) -> (STUNClass, STUNMethod) {
        let m = (type & 0x000F) | ((type >> 1) & 0x0070) | ((type >> 2) & 0x0F80)
        let c = ((type >> 4) & 0x1) | ((type >> 7) & 0x2)
        // Two bits always make one of the four classes.
        return (STUNClass(rawValue: c)!, STUNMethod(rawValue: m))
    }
}
