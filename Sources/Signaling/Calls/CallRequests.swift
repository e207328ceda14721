// What clients send, checked field by field so that a bad request says which field is wrong
// (400 over REST, an `error` event in realtime) instead of failing somewhere deeper.

import SocketIO

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Limits on identifiers: Matrix caps user and room ids at 255 bytes (spec, Appendices §
/// "Identifier Grammar"); nothing longer is a real id.
enum CallLimits {
    static let maximumIdentifierBytes = 255
    static let maximumInvitees = 100
    static let maximumReasonBytes = 500
    /// A participant shares a screen or two, not dozens (`sfu-offer`'s `screenShare`).
    static let maximumScreenShareMids = 16

    /// PostgreSQL's text cannot hold U+0000 ("invalid byte sequence for encoding UTF8: 0x00"),
    /// so a stored string with one would fail as a database error (503) instead of bad input;
    /// no Matrix id or reason has one.
    static func hasNUL(_ text: String) -> Bool { text.utf8.contains(0) }
}

/// `POST /api/calls/initiate`.
public struct InitiateCall: Sendable, Equatable {
    public var roomId: String
    public var callType: CallType
    public var invitees: [String]
    public var isGroupCall: Bool
    /// The caller's SDP offer, sent with the call (a Matrix `m.call.invite` carries one).
    public var offer: String?

    public init(roomId: String, callType: CallType, invitees: [String], isGroupCall: Bool = false, offer: String? = nil) {
        self.roomId = roomId
        self.callType = callType
        self.invitees = invitees
        self.isGroupCall = isGroupCall
        self.offer = offer
    }

    /// A Matrix room id: `!opaque:server` (spec Appendices § "Room IDs"), or `!opaque` alone
    /// from room version 12 on (which Synapse creates by default).
    public var isMatrixRoom: Bool { Self.isMatrixRoomID(roomId) }

    public static func isMatrixRoomID(_ id: String) -> Bool {
        id.hasPrefix("!") && id.count > 1
    }

    /// Reads and checks a request body; `initiator` is needed to refuse self-invitation.
    public init(json: JSONValue, initiator: String) throws(CallError) {
        let body = try CallFields(json)
        roomId = try body.identifier("roomId")
        let type = try body.string("callType")
        guard let callType = CallType(rawValue: type) else {
            throw .invalid("callType", "\"voice\" or \"video\", not \"\(type.prefix(40))\"")
        }
        self.callType = callType
        isGroupCall = try body.optionalBool("isGroupCall") ?? false
        switch body["offer"] {
        case nil, .null?: offer = nil
        default: offer = try CallFields(.object(["sdp": body["offer"]!])).sdp()
        }
        var invitees: [String] = []
        switch body["invitees"] {
        case nil, .null?:
            break
        case .array(let values)?:
            for value in values {
                guard let user = value.stringValue, !user.isEmpty, user.utf8.count <= CallLimits.maximumIdentifierBytes,
                    !CallLimits.hasNUL(user)
                else {
                    throw .invalid("invitees", "an array of user ids (non-empty strings of at most \(CallLimits.maximumIdentifierBytes) bytes, without U+0000)")
                }
                // The same person listed twice is one invitee.
                if !invitees.contains(user) { invitees.append(user) }
            }
        default:
            throw .invalid("invitees", "an array of user ids")
        }
        guard !invitees.contains(initiator) else {
            throw .invalid("invitees", "other users than the caller (you cannot call yourself)")
        }
        guard invitees.count <= CallLimits.maximumInvitees else {
            throw .invalid("invitees", "at most \(CallLimits.maximumInvitees) users")
        }
        // In a Matrix room a 1-to-1 call may name nobody: it goes to the room's one other member
        // (CallRoomPolicy); the service checks the count again once that is known.
        if !isGroupCall, !(invitees.isEmpty && Self.isMatrixRoomID(roomId)) {
            guard invitees.count == 1 else {
                throw .invalid("invitees", invitees.isEmpty
                    ? "one user id for a 1-to-1 call" : "exactly one user id for a 1-to-1 call (set isGroupCall for more)")
            }
        }
        self.invitees = invitees
    }
}

/// The three things relayed between peers (RFC 8829 offer/answer, RFC 8838 trickle candidates).
public enum RelayKind: String, Sendable, CaseIterable {
    case offer
    case answer
    case candidate

    /// The event name in both directions.
    public var eventName: String {
        switch self {
        case .offer: "webrtc-offer"
        case .answer: "webrtc-answer"
        case .candidate: "ice-candidate"
        }
    }

    /// The `call_events` type (the REST path's last component).
    public var eventType: String {
        switch self {
        case .offer: "offer"
        case .answer: "answer-sdp"
        case .candidate: "ice-candidate"
        }
    }
}

/// A relayed offer, answer or candidate: the client's fields are passed on as they are (old
/// clients add their own, such as `type`), once the ones Chorus needs are checked.
public struct RelayMessage: Sendable, Equatable {
    public var kind: RelayKind
    /// The client's object, without `to` and `callId`.
    public var fields: [String: JSONValue]
    /// Only this participant, instead of every other one.
    public var to: String?

    public init(kind: RelayKind, json: JSONValue) throws(CallError) {
        let body = try CallFields(json)
        self.kind = kind
        switch kind {
        case .offer, .answer:
            _ = try body.sdp()
        case .candidate:
            // RFC 8838 §4.4: an empty candidate string signals the end of candidates.
            switch body["candidate"] {
            case .string?, .object?:
                break
            case nil, .null?:
                throw .missing("candidate")
            default:
                throw .invalid("candidate", "a candidate string (empty for end-of-candidates)")
            }
            switch body["sdpMid"] {
            case nil, .null?, .string?: break
            default: throw .invalid("sdpMid", "a string or null")
            }
            switch body["sdpMLineIndex"] {
            case nil, .null?: break
            case .number(let index)? where index >= 0 && index <= 65535 && index == index.rounded(): break
            default: throw .invalid("sdpMLineIndex", "an integer from 0 to 65535, or null")
            }
        }
        to = try body.optionalIdentifier("to")
        var fields = body.object
        fields.removeValue(forKey: "to")
        fields.removeValue(forKey: "callId")
        self.fields = fields
    }
}

/// Typed access to a JSON object's fields, throwing `CallError`s that name the field.
struct CallFields {
    let object: [String: JSONValue]

    init(_ json: JSONValue) throws(CallError) {
        guard case .object(let object) = json else {
            throw CallError(.invalid, "bad_json", "the body must be a JSON object")
        }
        self.object = object
    }

    subscript(key: String) -> JSONValue? { object[key] }

    func string(_ key: String) throws(CallError) -> String {
        switch object[key] {
        case .string(let value)?: return value
        case nil, .null?: throw .missing(key)
        default: throw .invalid(key, "a string")
        }
    }

    /// A non-empty string of at most 255 bytes (a call, user or room id).
    func identifier(_ key: String) throws(CallError) -> String {
        let value = try string(key)
        guard !value.isEmpty, value.utf8.count <= CallLimits.maximumIdentifierBytes, !CallLimits.hasNUL(value) else {
            throw .invalid(key, "a non-empty string of at most \(CallLimits.maximumIdentifierBytes) bytes, without U+0000")
        }
        return value
    }

    func optionalIdentifier(_ key: String) throws(CallError) -> String? {
        switch object[key] {
        case nil, .null?: return nil
        default: return try identifier(key)
        }
    }

    /// `sdp`: an SDP string, or an RTCSessionDescriptionInit object carrying one.
    func sdp() throws(CallError) -> String {
        switch object["sdp"] {
        case .string(let sdp)? where !sdp.isEmpty:
            return sdp
        case .object(let description)?:
            guard case .string(let sdp)? = description["sdp"], !sdp.isEmpty else {
                throw .invalid("sdp", "a non-empty SDP string")
            }
            return sdp
        case nil, .null?:
            throw .missing("sdp")
        default:
            throw .invalid("sdp", "a non-empty SDP string")
        }
    }

    func bool(_ key: String) throws(CallError) -> Bool {
        switch object[key] {
        case .bool(let value)?: return value
        case nil, .null?: throw .missing(key)
        default: throw .invalid(key, "true or false")
        }
    }

    /// `spatial`: a simulcast layer index, 0 (lowest) to 2 (`sfu-layers`).
    func spatialLayer() throws(CallError) -> Int {
        switch object["spatial"] {
        case .number(let value)? where LayerPreference.spatial.contains(Int(exactly: value) ?? -1):
            return Int(value)
        case nil, .null?: throw .missing("spatial")
        default: throw .invalid("spatial", "an integer \(LayerPreference.spatial.lowerBound)-\(LayerPreference.spatial.upperBound)")
        }
    }

    /// `screenShare` of `sfu-offer`: the mids of the offer's m-lines that carry a shared screen
    /// (absent: none). At most `maximumScreenShareMids`, each a mid as RFC 8843 allows it.
    func screenShareMids() throws(CallError) -> Set<String> {
        let expected = "an array of at most \(CallLimits.maximumScreenShareMids) mids (strings of 1-32 bytes)"
        switch object["screenShare"] {
        case nil, .null?: return []
        case .array(let values)? where values.count <= CallLimits.maximumScreenShareMids:
            var mids: Set<String> = []
            for value in values {
                guard case .string(let mid) = value, (1...32).contains(mid.utf8.count), !CallLimits.hasNUL(mid) else {
                    throw .invalid("screenShare", expected)
                }
                mids.insert(mid)
            }
            return mids
        default: throw .invalid("screenShare", expected)
        }
    }

    /// `temporal`, optional: the highest VP8 temporal layer, 0-3 (`sfu-layers`); nil: all.
    func temporalLayer() throws(CallError) -> Int? {
        switch object["temporal"] {
        case nil, .null?: return nil
        case .number(let value)? where LayerPreference.temporal.contains(Int(exactly: value) ?? -1): return Int(value)
        default:
            throw .invalid("temporal", "an integer \(LayerPreference.temporal.lowerBound)-\(LayerPreference.temporal.upperBound)")
        }
    }

    func optionalBool(_ key: String) throws(CallError) -> Bool? {
        switch object[key] {
        case nil, .null?: return nil
        default: return try bool(key)
        }
    }

    /// An optional free-text reason (end, reject).
    func reason() throws(CallError) -> String? {
        switch object["reason"] {
        case nil, .null?: return nil
        case .string(let value)? where value.utf8.count <= CallLimits.maximumReasonBytes && !CallLimits.hasNUL(value):
            return value.isEmpty ? nil : value
        default: throw .invalid("reason", "a string of at most \(CallLimits.maximumReasonBytes) bytes, without U+0000")
        }
    }
}
