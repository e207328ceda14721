// One Socket.IO v5 packet and its text encoding (socket.io-protocol v5, "Packet encoding"):
// `<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`, carried in an Engine.IO message.

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public struct SocketIOPacket: Equatable, Sendable {
    public enum Kind: UInt8, Sendable, CustomStringConvertible {
        case connect = 0
        case disconnect = 1
        case event = 2
        case ack = 3
        case connectError = 4
        case binaryEvent = 5
        case binaryAck = 6

        public var description: String {
            switch self {
            case .connect: "CONNECT"
            case .disconnect: "DISCONNECT"
            case .event: "EVENT"
            case .ack: "ACK"
            case .connectError: "CONNECT_ERROR"
            case .binaryEvent: "BINARY_EVENT"
            case .binaryAck: "BINARY_ACK"
            }
        }

        package var isBinary: Bool { self == .binaryEvent || self == .binaryAck }
    }

    /// Event names the reference parser refuses in an EVENT, because the libraries use them
    /// for their own lifecycle.
    public static let reservedEventNames: Set<String> = [
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
    ]
    package static let maxNamespaceLength = 256
    /// Ack ids stay below 2^53 so that JavaScript clients read them exactly.
    package static let maxAckIDDigits = 15
    package static let maxAttachments = 1000

    public var kind: Kind
    public var namespace: String
    public var ackID: UInt64?
    /// Binary attachments that follow as separate Engine.IO messages (binary kinds only).
    public var attachments: Int
    public var data: JSONValue?

    public init(_ kind: Kind, namespace: String = "/", ackID: UInt64? = nil, attachments: Int = 0, data: JSONValue? = nil) {
        self.kind = kind
        self.namespace = namespace
        self.ackID = ackID
        self.attachments = attachments
        self.data = data
    }

    /// An EVENT `["name", data]`, as the server sends events.
    public static func event(_ name: String, _ data: JSONValue, namespace: String = "/", ackID: UInt64? = nil) -> SocketIOPacket {
        SocketIOPacket(.event, namespace: namespace, ackID: ackID, data: .array([.string(name), data]))
    }

    public var encoded: String {
        var text = String(kind.rawValue)
        if kind.isBinary { text += "\(attachments)-" }
        if namespace != "/" { text += namespace + "," }
        if let ackID { text += String(ackID) }
        if let data { text += SocketIOJSON.encode(data) }
        return text
    }

    /// Decodes the text of an Engine.IO message, and checks that the payload fits the type as the
    /// reference parser does (an EVENT is a non-empty array starting with an unreserved name;
    /// an ACK an array with an id; a CONNECT an object or nothing).
    public init(decoding text: String) throws(SocketIOPacketError) {
        let bytes = Array(text.utf8)
        guard let first = bytes.first else { throw .empty }
        guard first >= UInt8(ascii: "0"), first <= UInt8(ascii: "6"), let kind = Kind(rawValue: first - UInt8(ascii: "0")) else {
            throw .unknownType(first)
        }
        var index = 1
        var attachments = 0
        if kind.isBinary {
            let start = index
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
            guard index > start, index - start <= 4, index < bytes.count, bytes[index] == UInt8(ascii: "-"),
                let count = Int(String(decoding: bytes[start..<index], as: UTF8.self)), count <= Self.maxAttachments
            else { throw .badAttachmentCount }
            attachments = count
            index += 1
        }
        var namespace = "/"
        if index < bytes.count, bytes[index] == UInt8(ascii: "/") {
            // The namespace runs to the first comma, or to the end (`40/chat` is valid).
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: ",") { index += 1 }
            guard index - start <= Self.maxNamespaceLength else { throw .namespaceTooLong }
            namespace = String(decoding: bytes[start..<index], as: UTF8.self)
            if index < bytes.count { index += 1 }
        }
        var ackID: UInt64?
        if index < bytes.count, Self.isDigit(bytes[index]) {
            let start = index
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
            guard index - start <= Self.maxAckIDDigits, let id = UInt64(String(decoding: bytes[start..<index], as: UTF8.self))
            else { throw .badAckID }
            ackID = id
        }
        var data: JSONValue?
        if index < bytes.count {
            guard let value = SocketIOJSON.decode(bytes[index...]) else { throw .badJSON }
            data = value
        }
        try Self.validate(kind: kind, ackID: ackID, data: data)
        self.init(kind, namespace: namespace, ackID: ackID, attachments: attachments, data: data)
    }

    /// For an EVENT: its name and first argument (the one RealtimeEvent carries; further
    /// arguments are not part of Chorus's events).
    public var event: (name: String, argument: JSONValue?)? {
        guard kind == .event || kind == .binaryEvent, case .array(let items) = data, case .string(let name)? = items.first
        else { return nil }
        return (name, items.count > 1 ? items[1] : nil)
    }

    private static func validate(kind: Kind, ackID: UInt64?, data: JSONValue?) throws(SocketIOPacketError) {
        switch kind {
        case .connect:
            guard ackID == nil else { throw .unexpectedAckID(kind) }
            switch data {
            case nil, .object?: return
            default: throw .invalidPayload(kind)
            }
        case .disconnect:
            guard ackID == nil else { throw .unexpectedAckID(kind) }
            guard data == nil else { throw .invalidPayload(kind) }
        case .connectError:
            guard ackID == nil else { throw .unexpectedAckID(kind) }
            switch data {
            case .object?, .string?: return
            default: throw .invalidPayload(kind)
            }
        case .event, .binaryEvent:
            guard case .array(let items)? = data, case .string(let name)? = items.first else {
                throw .invalidPayload(kind)
            }
            guard !reservedEventNames.contains(name) else { throw .reservedEventName(name) }
        case .ack, .binaryAck:
            guard ackID != nil else { throw .missingAckID }
            guard case .array? = data else { throw .invalidPayload(kind) }
        }
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}

public enum SocketIOPacketError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case unknownType(UInt8)
    case badAttachmentCount
    case namespaceTooLong
    case badAckID
    case badJSON
    case unexpectedAckID(SocketIOPacket.Kind)
    case missingAckID
    case invalidPayload(SocketIOPacket.Kind)
    case reservedEventName(String)

    public var description: String {
        switch self {
        case .empty: "empty packet"
        case .unknownType(let byte): "unknown packet type \(byte)"
        case .badAttachmentCount: "bad binary attachment count"
        case .namespaceTooLong: "namespace too long"
        case .badAckID: "bad ack id"
        case .badJSON: "payload is not JSON"
        case .unexpectedAckID(let kind): "a \(kind) packet has no ack id"
        case .missingAckID: "an ACK packet needs an ack id"
        case .invalidPayload(let kind): "invalid payload for a \(kind) packet"
        case .reservedEventName(let name): "'\(name)' is a reserved event name"
        }
    }
}

/// JSON for Socket.IO payloads: JSONValue through Foundation's coder.
package enum SocketIOJSON {
    package static func encode(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        // `/` needs no escape in JSON; namespaces and SDP read better without it. Sorted keys
        // make the output deterministic (logs, tests).
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        guard let data = try? encoder.encode(value) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }

    package static func decode(_ bytes: ArraySlice<UInt8>) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }
}
