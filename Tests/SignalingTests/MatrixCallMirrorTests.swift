// Chorus → Matrix against a fake homeserver: what a Chorus user does in a call in a Matrix room
// goes out as the m.call.* events (VoIP v1) a Matrix client expects, as that user; what came
// from Matrix is not sent back; sends retry with their transaction id; new calls are checked
// against the room's members.

import Foundation
import SignalingTestSupport
import Testing
@testable import Signaling
@testable import SocketIO

@Suite(.timeLimit(.minutes(1))) struct MatrixCallMirrorTests {
    static let room = "!room:example.org"
    static let alice = "@alice:example.org"
    static let bob = "@bob:example.org"
    static let offer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
    static let answer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"

    let homeserver = FakeHomeserver()

    func harness(clock: TestClock? = nil) async throws -> ServerHarness {
        homeserver.setRoom(Self.room, [(Self.alice, "join"), (Self.bob, "join"), ("@carol:example.org", "leave")])
        let matrix = MatrixAppService(
            registration: MatrixRegistration(url: "http://chorus.example.org", asToken: "as", hsToken: "hs", serverName: "example.org"),
            homeserver: homeserver, ringTimeout: .seconds(60), logger: quietLogger("test.matrix"),
            candidateBatchDelay: .seconds(30))
        if let clock {
            return try await ServerHarness(matrix: matrix, now: { clock.now })
        }
        return try await ServerHarness(matrix: matrix)
    }

    @Test func aChorusCallInAMatrixRoomRingsAndEndsThroughTheHomeserver() async throws {
        let harness = try await harness()
        try await harness.run { _ in
            let calls = harness.service
            // No invitee: the room's one other member (Carol left) is called.
            let call = try await calls.initiate(
                InitiateCall(roomId: Self.room, callType: .video, invitees: [], offer: Self.offer), by: Self.alice)
            #expect(call.participants.map(\.user) == [Self.alice, Self.bob])
            let invite = try #require(try await homeserver.waitForSent("m.call.invite").first)
            #expect(invite.user == Self.alice && invite.room == Self.room)
            #expect(invite.content["call_id"] == .string(call.callId))
            #expect(invite.content["version"] == .string("1"))
            #expect(invite.content["invitee"] == .string(Self.bob))
            #expect(invite.content["lifetime"] == .number(60_000))
            #expect(invite.content["offer"] == .object(["type": .string("offer"), "sdp": .string(Self.offer)]))
            let aliceParty = try #require(invite.content["party_id"]?.stringValue)

            // Bob answers through Chorus: m.call.answer as Bob, then Alice picks it.
            _ = try await calls.answer(call.callId, by: Self.bob)
            try await calls.relay(RelayMessage(kind: .answer, json: .object(["sdp": .string(Self.answer)])), callId: call.callId, from: Self.bob)
            let answer = try #require(try await homeserver.waitForSent("m.call.answer").first)
            #expect(answer.user == Self.bob && answer.content["answer"]?["sdp"] == .string(Self.answer))
            let bobParty = try #require(answer.content["party_id"]?.stringValue)
            #expect(bobParty != aliceParty)
            let select = try #require(try await homeserver.waitForSent("m.call.select_answer").first)
            #expect(select.user == Self.alice && select.content["selected_party_id"] == .string(bobParty))

            // Candidates go together; the end-of-candidates sends the batch at once.
            for candidate in ["candidate:1 1 udp 1 127.0.0.1 5000 typ host", "candidate:2 1 udp 1 127.0.0.1 5001 typ host", ""] {
                try await calls.relay(
                    RelayMessage(kind: .candidate, json: .object(["candidate": .string(candidate), "sdpMid": .string("0"), "sdpMLineIndex": .number(0)])),
                    callId: call.callId, from: Self.alice)
            }
            let batches = try await homeserver.waitForSent("m.call.candidates")
            #expect(batches.count == 1)
            guard case .array(let candidates)? = batches[0].content["candidates"] else { Issue.record("no candidates"); return }
            #expect(candidates.count == 3 && candidates[2]["candidate"] == .string(""))

            // A later offer is a renegotiation.
            try await calls.relay(RelayMessage(kind: .offer, json: .object(["sdp": .string(Self.offer)])), callId: call.callId, from: Self.alice)
            let negotiate = try #require(try await homeserver.waitForSent("m.call.negotiate").first)
            #expect(negotiate.content["description"]?["type"] == .string("offer"))

            _ = try await calls.end(call.callId, by: Self.alice, reason: "bye")
            let hangup = try #require(try await homeserver.waitForSent("m.call.hangup").first)
            #expect(hangup.user == Self.alice && hangup.content["reason"] == .string("user_hangup"))
            // In order, one queue per call.
            #expect(homeserver.sent.map(\.type) == [
                "m.call.invite", "m.call.answer", "m.call.select_answer", "m.call.candidates", "m.call.negotiate", "m.call.hangup",
            ])
        }
    }

    @Test func whatCameFromMatrixIsNotSentBack() async throws {
        let harness = try await harness()
        try await harness.run { _ in
            let call = try await CallOrigin.$current.withValue(.matrix) {
                try await harness.service.initiate(
                    InitiateCall(roomId: Self.room, callType: .voice, invitees: [Self.alice], offer: Self.offer), by: Self.bob, callId: "mx-1")
            }
            #expect(call.callId == "mx-1")
            _ = try await harness.service.reject("mx-1", by: Self.alice, reason: nil)
            let reject = try await homeserver.waitForSent("m.call.reject")
            #expect(homeserver.sent.map(\.type) == ["m.call.reject"] && reject[0].user == Self.alice)
        }
    }

    @Test func aRingTimeoutTellsTheMatrixSideInviteTimeout() async throws {
        let clock = TestClock()
        let harness = try await harness(clock: clock)
        try await harness.run { _ in
            let call = try await harness.service.initiate(
                InitiateCall(roomId: Self.room, callType: .voice, invitees: [Self.bob], offer: Self.offer), by: Self.alice)
            _ = try await homeserver.waitForSent("m.call.invite")
            clock.advance(61)
            #expect(await harness.service.expireRingingCalls().map(\.callId) == [call.callId])
            let hangup = try await homeserver.waitForSent("m.call.hangup")
            #expect(hangup[0].user == Self.alice && hangup[0].content["reason"] == .string("invite_timeout"))
        }
    }

    @Test func anUnavailableHomeserverGetsTheSameTransactionAgain() async throws {
        let harness = try await harness()
        try await harness.run { _ in
            homeserver.failSends(2)
            _ = try await harness.service.initiate(
                InitiateCall(roomId: Self.room, callType: .voice, invitees: [Self.bob], offer: Self.offer), by: Self.alice)
            _ = try await homeserver.waitForSent("m.call.invite")
            let attempts = homeserver.attempts
            #expect(attempts.count == 3)
            #expect(Set(attempts.map(\.transactionID)).count == 1, "a retry must be the same transaction")
        }
    }

    @Test func newCallsAreCheckedAgainstTheRoomsMembers() async throws {
        let harness = try await harness()
        try await harness.run { _ in
            let calls = harness.service
            func refusal(_ request: InitiateCall, by user: String) async -> CallError? {
                do { _ = try await calls.initiate(request, by: user) } catch { return error }
                return nil
            }
            // Carol left the room: she may not call in it, nor be called there.
            #expect(await refusal(InitiateCall(roomId: Self.room, callType: .voice, invitees: [Self.bob]), by: "@carol:example.org")?.kind == .forbidden)
            #expect(await refusal(InitiateCall(roomId: "!other:example.org", callType: .voice, invitees: [Self.bob]), by: Self.alice)?.kind == .forbidden)
            #expect(await refusal(InitiateCall(roomId: Self.room, callType: .voice, invitees: ["@carol:example.org"]), by: Self.alice)?.code == "invalid_field")
            homeserver.setRoom("!crowd:example.org", [(Self.alice, "join"), (Self.bob, "join"), ("@dan:example.org", "invite")])
            #expect(await refusal(InitiateCall(roomId: "!crowd:example.org", callType: .voice, invitees: []), by: Self.alice)?.code == "invalid_field")
            homeserver.setDown(true)
            #expect(await refusal(InitiateCall(roomId: Self.room, callType: .voice, invitees: [Self.bob]), by: Self.alice)?.kind == .unavailable)
            // A room that is not a Matrix room is not asked about.
            #expect(await refusal(InitiateCall(roomId: "plain-room", callType: .voice, invitees: [Self.bob]), by: Self.alice) == nil)
        }
    }

    @Test func aGroupCallInAMatrixRoomPostsOneNotice() async throws {
        let harness = try await harness()
        try await harness.run { _ in
            let call = try await harness.service.initiate(
                InitiateCall(roomId: Self.room, callType: .video, invitees: [Self.bob], isGroupCall: true), by: Self.alice)
            let notice = try await homeserver.waitForSent("m.room.message")
            #expect(notice[0].content["msgtype"] == .string("m.notice"))
            #expect(notice[0].content["body"]?.stringValue?.contains("http://chorus.example.org/?call=\(call.callId)") == true)
            _ = try await harness.service.end(call.callId, by: Self.alice, reason: nil)
            await harness.matrix?.flush()
            #expect(homeserver.sent.map(\.type) == ["m.room.message"])
        }
    }
}
