// Matrix → Chorus: the `m.call.*` events of a homeserver transaction become the call API's own
// effects, run with CallOrigin.matrix so that the mirror does not send them back. The call
// service keeps its rules: an answer to a call that is over is a conflict, a stranger's event
// is refused; such refusals are logged and the event skipped. Only a database that is
// unavailable fails the transaction, so that the homeserver sends it again.

import Logging
import SocketIO

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct MatrixCallInbox: Sendable {
    let calls: CallService
    let homeserver: any MatrixHomeserver
    /// Where the caller's side of an answered call is completed (select_answer).
    let mirror: MatrixCallMirror
    let logger: Logger
    /// Unix time in milliseconds (an input: tests pass their own).
    let nowMilliseconds: @Sendable () -> Double

    struct Unavailable: Error {}

    /// Applies a transaction's events in order. Throws `Unavailable` when the database could
    /// not take one (the rest are not tried: the homeserver will send them all again).
    func apply(_ events: [JSONValue]) async throws(Unavailable) {
        for raw in events {
            let event: MatrixCallEvent
            do throws(MatrixCallEvent.Refusal) {
                guard let parsed = try MatrixCallEvent(raw, nowMilliseconds: nowMilliseconds()) else { continue }
                event = parsed
            } catch {
                logger.notice("ignoring a malformed call event \(raw["event_id"]?.stringValue ?? "?"): \(error)")
                continue
            }
            if MatrixParty.isChorus(event.partyID, call: event.callId, sender: event.sender) { continue }  // our own, back
            do {
                try await CallOrigin.$current.withValue(.matrix) { try await apply(event) }
            } catch {
                let error = error as? CallError ?? CallError(.unavailable, "unavailable", "\(error)")
                if error.kind == .unavailable {
                    logger.error("could not apply \(event.eventID) (call \(event.callId)): \(error)")
                    throw Unavailable()
                }
                logger.info("skipping \(event.eventID) from \(event.sender) (call \(event.callId)): \(error)")
            }
        }
    }

    private func apply(_ event: MatrixCallEvent) async throws(CallError) {
        let id = event.callId
        let sender = event.sender
        switch event.kind {
        case .invite(let sdp, let lifetime, let invitee):
            guard event.age <= lifetime else {
                logger.info("ignoring m.call.invite \(id) from \(sender): \(Int(event.age)) ms old, its lifetime is \(Int(lifetime)) ms")
                return
            }
            guard let callee = try await callee(of: event.room, sender: sender, invitee: invitee) else { return }
            let callType: CallType = sdp.contains("\nm=video") || sdp.hasPrefix("m=video") ? .video : .voice
            let request = InitiateCall(roomId: event.room, callType: callType, invitees: [callee], offer: sdp)
            guard callee != sender else { return }
            do throws(CallError) {
                _ = try await calls.initiate(request, by: sender, callId: id)
            } catch where error.kind == .conflict {
                return  // sent again: the call exists
            }
        case .answer(let sdp):
            var call = try await calls.status(id, for: sender)
            if call.status == .ringing {
                call = try await calls.answer(id, by: sender)
            }
            try await relay(.answer, ["sdp": .string(sdp), "type": .string("answer")], call: id, from: sender)
            if let party = event.partyID { mirror.selectAnswer(call, answeringParty: party) }
        case .candidates(let candidates):
            for candidate in candidates {
                try await relay(.candidate, candidate, call: id, from: sender)
            }
        case .hangup(let reason):
            let call = try await calls.status(id, for: sender)
            // VoIP v0 declines with a hangup; a ringing callee that hangs up rejects.
            if call.status == .ringing, call.participant(sender)?.role == .invitee, !call.isGroupCall {
                _ = try await calls.reject(id, by: sender, reason: reason)
            } else {
                _ = try await calls.end(id, by: sender, reason: reason ?? "user_hangup")
            }
        case .reject:
            _ = try await calls.reject(id, by: sender, reason: nil)
        case .negotiate(let type, let sdp):
            try await relay(type == "offer" ? .offer : .answer, ["sdp": .string(sdp), "type": .string(type)], call: id, from: sender)
        case .selectAnswer:
            return  // Chorus's calls have one answering party; nothing to choose
        }
    }

    private func relay(_ kind: RelayKind, _ fields: [String: JSONValue], call id: String, from sender: String) async throws(CallError) {
        _ = try await calls.relay(try RelayMessage(kind: kind, json: .object(fields)), callId: id, from: sender)
    }

    /// Whom an invite rings: its `invitee`, who must be a joined member of the room (the field is
    /// the sending client's to fill, and must not ring a Chorus user outside the room); VoIP v0
    /// invites name nobody, and in a room of two the other one is meant. Asked as the
    /// application service itself, which sees every room its namespace has members in.
    private func callee(of room: String, sender: String, invitee: String?) async throws(CallError) -> String? {
        let members: [String]
        do {
            members = try await homeserver.joinedMembers(of: room)
        } catch {
            if case .unavailable = error { throw CallError(.unavailable, "unavailable", "the homeserver is unavailable") }
            logger.info("ignoring an m.call.invite in \(room): its members cannot be read: \(error)")
            return nil
        }
        if let invitee {
            guard members.contains(invitee) else {
                logger.info("ignoring an m.call.invite in \(room) for \(invitee), who has not joined it")
                return nil
            }
            return invitee
        }
        let others = members.filter { $0 != sender }
        guard others.count == 1 else {
            logger.info("ignoring an m.call.invite without invitee in \(room), which has \(others.count) other members")
            return nil
        }
        return others[0]
    }
}
