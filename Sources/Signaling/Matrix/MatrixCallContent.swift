// The contents of the `m.call.*` events Chorus sends (Matrix spec, Client-Server API § "Voice
// over IP", version "1"): every event names the call (`call_id` = Chorus's callId), the party
// Chorus speaks for (MatrixParty) and the version.

import SocketIO

enum MatrixCallContent {
    static let version = "1"

    /// The hangup reasons the spec defines; anything else a Chorus client gives is `user_hangup`.
    static let hangupReasons: Set<String> = [
        "ice_failed", "ice_timeout", "invite_timeout", "user_hangup", "user_media_failed", "user_busy", "unknown_error",
    ]

    static func base(_ callId: String, user: String) -> [String: JSONValue] {
        ["call_id": .string(callId), "party_id": .string(MatrixParty.id(call: callId, user: user)), "version": .string(version)]
    }

    static func invite(_ callId: String, user: String, sdp: String, lifetime: Duration, invitee: String) -> JSONValue {
        .object(base(callId, user: user).merging([
            "offer": .object(["type": .string("offer"), "sdp": .string(sdp)]),
            "lifetime": .number(Double(lifetime.components.seconds * 1000)),
            "invitee": .string(invitee),
        ]) { $1 })
    }

    static func answer(_ callId: String, user: String, sdp: String) -> JSONValue {
        .object(base(callId, user: user).merging(["answer": .object(["type": .string("answer"), "sdp": .string(sdp)])]) { $1 })
    }

    static func selectAnswer(_ callId: String, user: String, answeredBy: String) -> JSONValue {
        .object(base(callId, user: user).merging(["selected_party_id": .string(MatrixParty.id(call: callId, user: answeredBy))]) { $1 })
    }

    static func negotiate(_ callId: String, user: String, type: String, sdp: String, lifetime: Duration) -> JSONValue {
        .object(base(callId, user: user).merging([
            "description": .object(["type": .string(type), "sdp": .string(sdp)]),
            "lifetime": .number(Double(lifetime.components.seconds * 1000)),
        ]) { $1 })
    }

    static func candidates(_ callId: String, user: String, _ candidates: [JSONValue]) -> JSONValue {
        .object(base(callId, user: user).merging(["candidates": .array(candidates)]) { $1 })
    }

    static func reject(_ callId: String, user: String) -> JSONValue {
        .object(base(callId, user: user))
    }

    static func hangup(_ callId: String, user: String, reason: String?) -> JSONValue {
        let reason = reason.flatMap { hangupReasons.contains($0) ? $0 : nil } ?? "user_hangup"
        return .object(base(callId, user: user).merging(["reason": .string(reason)]) { $1 })
    }

    /// A relayed candidate's fields as an m.call.candidates entry: `candidate` may be the string
    /// or an RTCIceCandidateInit object carrying it; an empty string is end-of-candidates.
    static func candidate(from fields: [String: JSONValue]) -> JSONValue {
        var source = fields
        if case .object(let object)? = fields["candidate"] { source = object }
        var entry: [String: JSONValue] = ["candidate": source["candidate"].flatMap { $0.stringValue.map(JSONValue.string) } ?? .string("")]
        if case .string(let mid)? = source["sdpMid"] { entry["sdpMid"] = .string(mid) }
        if case .number(let index)? = source["sdpMLineIndex"] { entry["sdpMLineIndex"] = .number(index) }
        return .object(entry)
    }

    /// The SDP of a relayed offer or answer (a string, or an RTCSessionDescriptionInit).
    static func sdp(from fields: [String: JSONValue]) -> String? {
        switch fields["sdp"] {
        case .string(let sdp)?: sdp
        case .object(let description)?: description["sdp"]?.stringValue
        default: nil
        }
    }
}
