// One Engine.IO v4 packet and its encoding (engine.io-protocol v4, "Packet encoding"): a type
// digit followed by the data, or a raw binary message.

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public enum EngineIOPacket: Equatable, Sendable {
    /// `0` + the handshake JSON; server → client only.
    case open(String)
    /// `1`: the sender is closing the session.
    case close
    /// `2`: the server's heartbeat, or a client's `2probe` on an upgrading WebSocket.
    case ping(String)
    /// `3`: the answer to a ping, with the ping's data (`3probe`).
    case pong(String)
    /// `4` + UTF-8 text: what Socket.IO rides on.
    case message(String)
    /// A binary message: a binary WebSocket frame, or `b` + base64 inside a polling payload.
    case binaryMessage([UInt8])
    /// `5`: the client switches to the probed WebSocket.
    case upgrade
    /// `6`: ends a pending poll without data (during an upgrade, or after a client close).
    case noop

    /// Text form: a WebSocket text frame, or one element of a polling payload. Binary messages
    /// become `b` + base64, which only a polling payload carries (WebSocket uses binary frames).
    public var encoded: String {
        switch self {
        case .open(let json): "0" + json
        case .close: "1"
        case .ping(let data): "2" + data
        case .pong(let data): "3" + data
        case .message(let text): "4" + text
        case .binaryMessage(let bytes): "b" + Data(bytes).base64EncodedString()
        case .upgrade: "5"
        case .noop: "6"
        }
    }

    /// Decodes a text packet: one polling-payload element (`base64Binary`), or a WebSocket text
    /// frame, where binary travels in binary frames and `b` is no packet type.
    ///
    /// Strict on purpose: an empty packet, an unknown type, or data on a packet type that has
    /// none is refused, and the session that sent it is closed (as the reference server does).
    public init(text: Substring, base64Binary: Bool) throws(EngineIOPacketError) {
        guard let first = text.utf8.first else { throw .empty }
        // Drop the type by scalar, not Character: `4` + a combining mark is one grapheme.
        let data = Substring(text.unicodeScalars.dropFirst())
        switch first {
        case UInt8(ascii: "0"): self = .open(String(data))
        case UInt8(ascii: "1"):
            guard data.isEmpty else { throw .unexpectedData(type: "close") }
            self = .close
        case UInt8(ascii: "2"): self = .ping(String(data))
        case UInt8(ascii: "3"): self = .pong(String(data))
        case UInt8(ascii: "4"): self = .message(String(data))
        case UInt8(ascii: "5"):
            guard data.isEmpty else { throw .unexpectedData(type: "upgrade") }
            self = .upgrade
        case UInt8(ascii: "6"):
            guard data.isEmpty else { throw .unexpectedData(type: "noop") }
            self = .noop
        case UInt8(ascii: "b") where base64Binary:
            // v4 polling payloads carry binary as base64 after a `b` (engine.io-parser 4.0).
            guard let bytes = Data(base64Encoded: String(data)) else { throw .badBase64 }
            self = .binaryMessage(Array(bytes))
        default:
            throw .unknownType(first)
        }
    }

    /// Bytes the packet takes on a WebSocket (text: type digit + UTF-8 data; binary: the raw
    /// bytes), what the limits on queued packets count. O(1) for Swift's native strings.
    public var byteCount: Int {
        switch self {
        case .open(let text), .ping(let text), .pong(let text), .message(let text): 1 + text.utf8.count
        case .binaryMessage(let bytes): bytes.count
        case .close, .upgrade, .noop: 1
        }
    }

    public var isMessage: Bool {
        switch self {
        case .message, .binaryMessage: true
        default: false
        }
    }
}

public enum EngineIOPacketError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case unknownType(UInt8)
    case unexpectedData(type: String)
    case badBase64

    public var description: String {
        switch self {
        case .empty: "empty packet"
        case .unknownType(let byte): "unknown packet type \(byte)"
        case .unexpectedData(let type): "a \(type) packet carries no data"
        case .badBase64: "binary packet is not valid base64"
        }
    }
}
