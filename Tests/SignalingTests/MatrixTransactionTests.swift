// Matrix → Chorus: the homeserver's transactions at PUT /_matrix/app/v1/transactions/{txnId},
// driven in process against a fake homeserver: the hs_token, calls made from m.call.* events,
// a replayed transaction, Chorus's own events coming back, malformed content.

import Foundation
import Hummingbird
import HummingbirdTesting
import SignalingTestSupport
import Testing
@testable import Signaling
@testable import SocketIO

@Suite(.timeLimit(.minutes(1))) struct MatrixTransactionTests {
    static let room = "!room:example.org"
    static let alice = "@alice:example.org"
    static let bob = "@bob:example.org"
    static let offer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"

    let homeserver = FakeHomeserver()

    func harness() async throws -> ServerHarness {
        homeserver.setRoom(Self.room, [(Self.alice, "join"), (Self.bob, "join")])
        homeserver.addToken("syt_alice", user: Self.alice)
        let matrix = MatrixAppService(
            registration: MatrixRegistration(url: "http://chorus", asToken: "as", hsToken: "the-hs-token", serverName: "example.org"),
            homeserver: homeserver, ringTimeout: .seconds(60), logger: quietLogger("test.matrix"))
        return try await ServerHarness(matrix: matrix)
    }

    static func event(_ type: String, _ content: [String: JSONValue], sender: String = bob, age: Double = 100) -> JSONValue {
        .object([
            "type": .string(type), "room_id": .string(room), "sender": .string(sender), "event_id": .string("$\(UUID().uuidString)"),
            "origin_server_ts": .number(Date().timeIntervalSince1970 * 1000 - age), "unsigned": .object(["age": .number(age)]),
            "content": .object(content),
        ])
    }

    static func invite(_ callId: String) -> JSONValue {
        event("m.call.invite", [
            "call_id": .string(callId), "party_id": .string("BOBPHONE"), "version": .string("1"), "lifetime": .number(60_000),
            "invitee": .string(alice), "offer": .object(["type": .string("offer"), "sdp": .string(offer)]),
        ])
    }

    static func put(_ client: some TestClientProtocol, _ txn: String, _ events: [JSONValue], token: String? = "the-hs-token") async throws -> (Int, JSONValue?) {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await client.execute(
            uri: "/_matrix/app/v1/transactions/\(txn)", method: .put, headers: headers,
            body: ByteBuffer(string: JSONValue.object(["events": .array(events)]).jsonText)
        ) { response in (Int(response.status.code), JSONValue.parse(Array(response.body.readableBytesView))) }
    }

    @Test func theHomeserverMustShowItsToken() async throws {
        let harness = try await harness()
        try await harness.run { client in
            let (forbidden, body) = try await Self.put(client, "1", [], token: "wrong")
            #expect(forbidden == 403 && body?["errcode"] == .string("M_FORBIDDEN"))
            let (missing, _) = try await Self.put(client, "1", [], token: nil)
            #expect(missing == 401)
            let (ok, _) = try await Self.put(client, "1", [])
            #expect(ok == 200)
        }
    }

    @Test func anInviteRingsTheChorusUserAndTheCallFollowsTheMatrixSide() async throws {
        let harness = try await harness()
        let alice = RecordingClient(Self.alice)
        try await harness.service.connected(alice)
        try await harness.run { client in
            #expect(try await Self.put(client, "t1", [Self.invite("mx-1")]).0 == 200)
            let ring = try await alice.next("incoming-call")
            #expect(ring.data["callId"] == .string("mx-1") && ring.data["callType"] == .string("voice"))
            #expect(ring.data["sdp"] == .string(Self.offer) && ring.data["from"] == .string(Self.bob))
            // A replayed transaction is acknowledged and not applied again: one candidate.
            let candidates = Self.event("m.call.candidates", [
                "call_id": .string("mx-1"), "party_id": .string("BOBPHONE"), "version": .string("1"),
                "candidates": .array([.object(["candidate": .string("candidate:1 1 udp 1 127.0.0.1 5000 typ host"), "sdpMid": .string("0")])]),
            ])
            #expect(try await Self.put(client, "t2", [candidates]).0 == 200)
            #expect(try await Self.put(client, "t2", [candidates]).0 == 200)
            _ = try await alice.next("ice-candidate")
            // Chorus's own event (its party id for Alice) comes back: not applied as Alice's.
            let echo = Self.event("m.call.answer", [
                "call_id": .string("mx-1"), "party_id": .string(MatrixParty.id(call: "mx-1", user: Self.alice)), "version": .string("1"),
                "answer": .object(["type": .string("answer"), "sdp": .string(Self.offer)]),
            ], sender: Self.alice)
            #expect(try await Self.put(client, "t3", [echo]).0 == 200)
            #expect(try await harness.service.status("mx-1", for: Self.alice).status == .ringing)
            #expect(alice.events("ice-candidate").count == 1)
            // The caller hangs up while it rings.
            let hangup = Self.event("m.call.hangup", ["call_id": .string("mx-1"), "party_id": .string("BOBPHONE"), "version": .string("1")])
            #expect(try await Self.put(client, "t4", [hangup]).0 == 200)
            _ = try await alice.next("call-ended")
            #expect(try await harness.service.status("mx-1", for: Self.alice).status == .ended)
        }
        #expect(homeserver.sent.isEmpty, "nothing that came from Matrix goes back")
    }

    @Test func malformedAndStaleEventsAreSkipped() async throws {
        let harness = try await harness()
        try await harness.run { client in
            let events: [JSONValue] = [
                Self.event("m.call.invite", ["call_id": .string("bad-1")]),
                Self.event("m.call.answer", ["call_id": .string("x"), "answer": .string("no")]),
                Self.event("m.call.candidates", ["call_id": .string("x"), "candidates": .array([.number(1)])]),
                Self.event("m.call.hangup", ["call_id": .array([])]),
                .string("not an event"), .null,
                Self.event("m.room.message", ["body": .string("hello")]),
                // The invitee is the sending client's to fill: a stranger to the room is not rung.
                Self.event("m.call.invite", [
                    "call_id": .string("stranger"), "lifetime": .number(60_000), "invitee": .string("@mallory:example.org"),
                    "offer": .object(["type": .string("offer"), "sdp": .string(Self.offer)]),
                ]),
                Self.event("m.call.invite", [
                    "call_id": .string("stale"), "lifetime": .number(1000), "invitee": .string(Self.alice),
                    "offer": .object(["type": .string("offer"), "sdp": .string(Self.offer)]),
                ], age: 5000),
            ]
            #expect(try await Self.put(client, "m1", events).0 == 200)
            for id in ["bad-1", "stale", "stranger"] {
                await #expect(throws: CallError.self) { try await harness.service.status(id, for: Self.alice) }
            }
            // Not a JSON object with events: 400 in Matrix's format.
            try await client.execute(
                uri: "/_matrix/app/v1/transactions/m2", method: .put, headers: [.authorization: "Bearer the-hs-token"],
                body: ByteBuffer(string: "[1,2]")
            ) { response in
                #expect(response.status == .badRequest)
                #expect(JSONValue.parse(Array(response.body.readableBytesView))?["errcode"] == .string("M_NOT_JSON"))
            }
        }
    }

    @Test func matrixAccessTokensWorkOnTheCallAPI() async throws {
        let harness = try await harness()
        try await harness.run { client in
            try await client.execute(uri: "/api/calls/active", method: .get, headers: [.authorization: "Bearer syt_alice"]) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/api/calls/active", method: .get, headers: [.authorization: "Bearer syt_nobody"]) { response in
                #expect(response.status == .unauthorized)
            }
            homeserver.setDown(true)
            try await client.execute(uri: "/api/calls/active", method: .get, headers: [.authorization: "Bearer syt_fresh"]) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(JSONValue.parse(Array(response.body.readableBytesView))?["error"]?["code"] == .string("unavailable"))
            }
            try await client.execute(uri: "/api/config", method: .get) { response in
                #expect(JSONValue.parse(Array(response.body.readableBytesView))?["matrix"] == nil)
            }
        }
    }
}
