// The HTTP long-polling payload of Engine.IO v4: packets in text form joined by the ASCII
// record separator U+001E (engine.io-protocol v4, "Packet encoding · HTTP long-polling").

public enum EngineIOPayload {
    /// v4 replaced v3's `<length>:<packet>` framing with this separator, which never occurs in
    /// a packet's text (JSON escapes control characters, base64 has none).
    public static let separator: UInt8 = 0x1E

    public static func encode(_ packets: [EngineIOPacket]) -> String {
        packets.map(\.encoded).joined(separator: "\u{1e}")
    }

    /// Splits and decodes a POST body. The body must be UTF-8, at most `maxPayload` bytes and
    /// hold at most `maxPackets` packets; an empty element (a leading, trailing or doubled
    /// separator) is refused like any other malformed packet.
    public static func decode(
        _ body: [UInt8], maxPayload: Int, maxPackets: Int = 1024
    ) throws(EngineIOPayloadError) -> [EngineIOPacket] {
        guard body.count <= maxPayload else { throw .tooLarge(body.count) }
        guard !body.isEmpty else { throw .empty }
        // Split on bytes, not Characters: a separator followed by a combining mark would form
        // one grapheme and hide the boundary. 0x1E never occurs inside a multi-byte UTF-8 sequence.
        // At most maxPackets splits: split is eager, and a body of separators alone would
        // otherwise be cut into a slice per byte (32 bytes each) before the count is checked.
        var packets: [EngineIOPacket] = []
        let elements = body.split(separator: separator, maxSplits: maxPackets, omittingEmptySubsequences: false)
        for (index, element) in elements.enumerated() {
            guard index < maxPackets else { throw .tooManyPackets }
            guard let text = String(validating: element, as: UTF8.self) else { throw .notUTF8 }
            do {
                packets.append(try EngineIOPacket(text: text[...], base64Binary: true))
            } catch {
                throw .badPacket(index: index, error)
            }
        }
        return packets
    }
}

public enum EngineIOPayloadError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case tooLarge(Int)
    case notUTF8
    case tooManyPackets
    case badPacket(index: Int, EngineIOPacketError)

    public var description: String {
        switch self {
        case .empty: "empty payload"
        case .tooLarge(let size): "payload of \(size) bytes is over maxPayload"
        case .notUTF8: "payload is not UTF-8"
        case .tooManyPackets: "too many packets in one payload"
        case .badPacket(let index, let error): "packet \(index): \(error)"
        }
    }
}
