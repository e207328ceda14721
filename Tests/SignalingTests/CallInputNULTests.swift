// U+0000 in a call's strings is bad input (400 / invalid_field), refused before it reaches the
// store: PostgreSQL's text cannot hold it and would turn it into a 503. Found by probing the
// OpenAPI contract's "never a 5xx for bad input" against a PostgreSQL-backed server.

import Foundation
import SignalingTestSupport
import Testing
@testable import Signaling
@testable import SocketIO

@Suite struct CallInputNULTests {
    private func json(_ text: String) throws -> JSONValue {
        try #require(JSONValue.parse(Array(text.utf8)))
    }

    /// The CallError `body` throws, nil when it succeeds.
    private func refusal(_ body: () throws -> Void) -> CallError? {
        do {
            try body()
            return nil
        } catch {
            return error as? CallError ?? CallError(.invalid, "not_a_call_error", "\(error)")
        }
    }

    @Test func initiateRefusesNULInRoomAndInvitees() throws {
        let room = try json(#"{"roomId": "!r\u0000x", "callType": "voice", "invitees": ["@bob:x"]}"#)
        #expect(refusal { _ = try InitiateCall(json: room, initiator: "@alice:x") }?.code == "invalid_field")
        let invitee = try json(#"{"roomId": "!r:x", "callType": "voice", "invitees": ["@b\u0000ob:x"]}"#)
        #expect(refusal { _ = try InitiateCall(json: invitee, initiator: "@alice:x") }?.code == "invalid_field")
        let fine = try json(#"{"roomId": "!r:x", "callType": "voice", "invitees": ["@bob:x"]}"#)
        #expect(refusal { _ = try InitiateCall(json: fine, initiator: "@alice:x") } == nil)
    }

    @Test func reasonAndRelayTargetRefuseNUL() throws {
        #expect(refusal { _ = try CallFields(try json(#"{"reason": "busy\u0000"}"#)).reason() }?.code == "invalid_field")
        #expect(refusal { _ = try CallFields(try json(#"{"reason": "busy"}"#)).reason() } == nil)
        let relay = try json(#"{"sdp": "v=0", "to": "@b\u0000"}"#)
        #expect(refusal { _ = try RelayMessage(kind: .offer, json: relay) }?.code == "invalid_field")
        // Elsewhere in a relayed message NUL is fine: the payload is stored as escaped JSON text.
        let sdp = try json(#"{"sdp": "v=0\u0000"}"#)
        #expect(refusal { _ = try RelayMessage(kind: .offer, json: sdp) } == nil)
    }

    @Test func aCallIdWithNULIsNotFound() async throws {
        let database = try TemporaryDatabase()
        let store = try await database.open()
        let service = CallService(store: store, logger: quietLogger("test.calls"))
        do {
            _ = try await service.status("a\u{0}b", for: "@alice:x")
            Issue.record("a call id with U+0000 was found")
        } catch {
            #expect(error == .notFound)
        }
        try await store.close()
    }
}
