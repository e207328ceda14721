// A room event of the `m.call.*` family as Chorus reads it from a transaction (Matrix spec,
// Client-Server API § "Voice over IP"). Content comes from any Matrix client: each field is
// checked, and an event that lacks what its type needs is refused with the reason (logged and
// skipped by the caller, never a crash).

import SocketIO

struct MatrixCallEvent: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        /// `m.call.invite`: an SDP offer, how long it rings (ms), and whom (VoIP v1; v0 has no invitee).
        case invite(sdp: String, lifetime: Double, invitee: String?)
        case answer(sdp: String)
        case candidates([[String: JSONValue]])
        case hangup(reason: String?)
        case reject
        /// `m.call.negotiate`: a new offer or answer in a call under way.
        case negotiate(type: String, sdp: String)
        case selectAnswer
    }

    var kind: Kind
    var callId: String
    var partyID: String?
    var room: String
    var sender: String
    var eventID: String
    /// How old the event was when the homeserver sent it (ms): `unsigned.age`, else from
    /// `origin_server_ts` and the time it arrived.
    var age: Double

    struct Refusal: Error, CustomStringConvertible, Equatable {
        var description: String
    }

    static let types: Set<String> = [
        "m.call.invite", "m.call.answer", "m.call.candidates", "m.call.hangup", "m.call.reject", "m.call.negotiate",
        "m.call.select_answer",
    ]

    /// nil for an event that is not a call event at all (messages, state, ...).
    init?(_ event: JSONValue, nowMilliseconds: Double) throws(Refusal) {
        guard let type = event["type"]?.stringValue, Self.types.contains(type) else { return nil }
        guard let room = event["room_id"]?.stringValue, let sender = event["sender"]?.stringValue,
            case .object(let content)? = event["content"]
        else { throw Refusal(description: "\(type) without room_id, sender or content") }
        guard let callId = content["call_id"]?.stringValue, !callId.isEmpty,
            callId.utf8.count <= CallLimits.maximumIdentifierBytes, !CallLimits.hasNUL(callId)
        else { throw Refusal(description: "\(type) without a usable call_id") }
        self.room = room
        self.sender = sender
        self.callId = callId
        self.eventID = event["event_id"]?.stringValue ?? ""
        self.partyID = content["party_id"]?.stringValue
        if let age = event["unsigned"]?["age"]?.doubleValue {
            self.age = age
        } else if let sent = event["origin_server_ts"]?.doubleValue {
            self.age = max(0, nowMilliseconds - sent)
        } else {
            self.age = 0
        }
        func description(_ key: String, type wanted: String?) throws(Refusal) -> String {
            guard case .object(let description)? = content[key], let sdp = description["sdp"]?.stringValue, !sdp.isEmpty,
                !CallLimits.hasNUL(sdp)
            else { throw Refusal(description: "\(type) without \(key).sdp") }
            if let wanted, let actual = description["type"]?.stringValue, actual != wanted {
                throw Refusal(description: "\(type) with \(key).type \(actual.prefix(20)), not \(wanted)")
            }
            return sdp
        }
        switch type {
        case "m.call.invite":
            let sdp = try description("offer", type: "offer")
            guard let lifetime = content["lifetime"]?.doubleValue, lifetime > 0 else {
                throw Refusal(description: "m.call.invite without a positive lifetime")
            }
            kind = .invite(sdp: sdp, lifetime: lifetime, invitee: content["invitee"]?.stringValue)
        case "m.call.answer":
            kind = .answer(sdp: try description("answer", type: "answer"))
        case "m.call.candidates":
            guard case .array(let list)? = content["candidates"] else { throw Refusal(description: "m.call.candidates without candidates") }
            var candidates: [[String: JSONValue]] = []
            for item in list.prefix(100) {
                guard case .object(let candidate) = item, case .string? = candidate["candidate"] else {
                    throw Refusal(description: "m.call.candidates with a candidate that is not {candidate, sdpMid, sdpMLineIndex}")
                }
                candidates.append(candidate.filter { ["candidate", "sdpMid", "sdpMLineIndex"].contains($0.key) })
            }
            kind = .candidates(candidates)
        case "m.call.hangup":
            kind = .hangup(reason: content["reason"]?.stringValue.map { String($0.prefix(CallLimits.maximumReasonBytes)) })
        case "m.call.reject":
            kind = .reject
        case "m.call.negotiate":
            guard case .object(let negotiated)? = content["description"], let kind = negotiated["type"]?.stringValue,
                kind == "offer" || kind == "answer"
            else { throw Refusal(description: "m.call.negotiate without description.type offer or answer") }
            self.kind = .negotiate(type: kind, sdp: try description("description", type: nil))
        default:
            kind = .selectAnswer
        }
    }
}
