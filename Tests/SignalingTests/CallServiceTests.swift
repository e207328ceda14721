// The call state machine against the real SQLite store: 1-to-1 and group lifecycles, every
// refused transition, the ring timeout (by the clock and by the background sweep), concurrent
// answers, realtime events reaching only participants, and the grace period after a drop.

import Foundation
import Logging
import SignalingTestSupport
import Testing
@testable import Signaling
@testable import SocketIO

struct Fixture {
    let database: TemporaryDatabase
    let store: SQLiteCallStore
    let clock: TestClock
    let service: CallService

    static func make(_ configuration: CallServiceConfiguration = CallServiceConfiguration(), clock: TestClock? = nil) async throws -> Fixture {
        let database = try TemporaryDatabase()
        let store = try await database.open()
        let clock = clock ?? TestClock()
        let service = CallService(
            store: store, configuration: configuration, logger: quietLogger("test.calls"), now: { clock.now })
        return Fixture(database: database, store: store, clock: clock, service: service)
    }

    /// Connects a recording client for each user.
    func connect(_ users: String...) async throws -> [RecordingClient] {
        var clients: [RecordingClient] = []
        for user in users {
            let client = RecordingClient(user)
            try await service.connected(client)
            clients.append(client)
        }
        return clients
    }

    func oneToOne(from: String = "@alice:x", to: String = "@bob:x", type: CallType = .video) async throws -> CallRecord {
        try await service.initiate(InitiateCall(roomId: "!room:x", callType: type, invitees: [to]), by: from)
    }

    func close() async throws { try await store.close() }
}

private func expectError(_ kind: CallError.Kind, code: String? = nil, _ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async {
    do {
        try await body()
        Issue.record("expected a \(kind) error", sourceLocation: sourceLocation)
    } catch let error as CallError {
        #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
        if let code { #expect(error.code == code, sourceLocation: sourceLocation) }
    } catch {
        Issue.record("expected a CallError, got \(error)", sourceLocation: sourceLocation)
    }
}

private func attempt<T>(_ body: () async throws(CallError) -> T) async -> Result<T, CallError> {
    do { return .success(try await body()) } catch { return .failure(error) }
}

@Suite struct CallServiceTests {
    @Test func oneToOneCallFromRingToEnd() async throws {
        let fixture = try await Fixture.make(CallServiceConfiguration(iceServers: ICEServerConfiguration(stunURLs: ["stun:127.0.0.1:40000"])))
        let clients = try await fixture.connect("@alice:x", "@bob:x", "@carol:x")
        let (alice, bob, carol) = (clients[0], clients[1], clients[2])

        let call = try await fixture.oneToOne()
        #expect(call.status == .ringing)
        #expect(call.participants.map(\.user) == ["@alice:x", "@bob:x"])
        #expect(call.participants.map(\.role) == [.initiator, .invitee])
        #expect(call.participants.map(\.status) == [.joined, .invited])
        #expect(call.participants.allSatisfy { $0.videoEnabled && $0.audioEnabled })

        let incoming = try #require(bob.events("incoming-call").first)
        #expect(incoming.data["callId"]?.stringValue == call.callId)
        #expect(incoming.data["from"]?.stringValue == "@alice:x")
        #expect(incoming.data["callType"]?.stringValue == "video")
        #expect(incoming.data["iceServers"]?.jsonText == #"[{"urls":["stun:127.0.0.1:40000"]}]"#)
        #expect(alice.events.isEmpty)

        fixture.clock.advance(2)
        let answered = try await fixture.service.answer(call.callId, by: "@bob:x")
        #expect(answered.status == .active)
        #expect(answered.answeredAt == call.createdAt + 2)
        #expect(answered.participant("@bob:x")?.status == .joined)
        // Every device of both participants learns that the call was answered (the callee's
        // other devices stop ringing).
        #expect(alice.events("call-answered").count == 1)
        #expect(bob.events("call-answered").count == 1)

        let offer = try RelayMessage(kind: .offer, json: .object(["sdp": .string("v=0\r\n"), "type": .string("offer")]))
        #expect(try await fixture.service.relay(offer, callId: call.callId, from: "@alice:x") == ["@bob:x"])
        let relayed = try #require(bob.events("webrtc-offer").first)
        #expect(relayed.data["sdp"]?.stringValue == "v=0\r\n")
        #expect(relayed.data["type"]?.stringValue == "offer")
        #expect(relayed.data["from"]?.stringValue == "@alice:x")
        #expect(relayed.data["callId"]?.stringValue == call.callId)
        #expect(alice.events("webrtc-offer").isEmpty)

        let candidate = try RelayMessage(kind: .candidate, json: .object([
            "candidate": .string("candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host"), "sdpMid": .string("0"),
            "sdpMLineIndex": .number(0),
        ]))
        try await fixture.service.relay(candidate, callId: call.callId, from: "@bob:x")
        #expect(alice.events("ice-candidate").first?.data["sdpMLineIndex"] == .number(0))

        fixture.clock.advance(60)
        let ended = try await fixture.service.end(call.callId, by: "@bob:x", reason: "hangup")
        #expect(ended.status == .ended)
        #expect(ended.endReason == "hangup")
        #expect(ended.endedAt == call.createdAt + 62)
        #expect(ended.participants.allSatisfy { $0.status == .left })
        let over = try #require(alice.events("call-ended").first)
        #expect(over.data["status"]?.stringValue == "ended")
        #expect(over.data["reason"]?.stringValue == "hangup")
        #expect(over.data["from"]?.stringValue == "@bob:x")

        // Only participants hear about a call.
        #expect(carol.events.isEmpty)
        let log = try await fixture.store.events(call.callId).map(\.type)
        #expect(log == ["initiated", "answered", "offer", "ice-candidate", "ended"])
        try await fixture.close()
    }

    @Test func refusedTransitions() async throws {
        let fixture = try await Fixture.make()
        let call = try await fixture.oneToOne()
        await expectError(.notFound, code: "not_found") { _ = try await fixture.service.answer("no-such-call", by: "@bob:x") }
        await expectError(.notFound) { _ = try await fixture.service.status(String(repeating: "x", count: 300), for: "@bob:x") }
        await expectError(.forbidden) { _ = try await fixture.service.status(call.callId, for: "@mallory:x") }
        await expectError(.forbidden) { _ = try await fixture.service.answer(call.callId, by: "@mallory:x") }
        await expectError(.forbidden) { _ = try await fixture.service.answer(call.callId, by: "@alice:x") }
        await expectError(.forbidden) { _ = try await fixture.service.reject(call.callId, by: "@alice:x", reason: nil) }

        _ = try await fixture.service.answer(call.callId, by: "@bob:x")
        await expectError(.conflict, code: "conflict") { _ = try await fixture.service.answer(call.callId, by: "@bob:x") }
        await expectError(.conflict) { _ = try await fixture.service.reject(call.callId, by: "@bob:x", reason: nil) }
        _ = try await fixture.service.end(call.callId, by: "@alice:x", reason: nil)
        await expectError(.conflict) { _ = try await fixture.service.end(call.callId, by: "@alice:x", reason: nil) }
        await expectError(.conflict) { _ = try await fixture.service.answer(call.callId, by: "@bob:x") }
        let offer = try RelayMessage(kind: .offer, json: .object(["sdp": .string("v=0")]))
        await expectError(.conflict) { try await fixture.service.relay(offer, callId: call.callId, from: "@alice:x") }
        await expectError(.conflict) {
            _ = try await fixture.service.toggle(.audio, callId: call.callId, by: "@alice:x", enabled: false)
        }
        // Relaying to someone outside the call is bad input, not a delivery to nobody.
        let second = try await fixture.oneToOne()
        let stray = try RelayMessage(kind: .offer, json: .object(["sdp": .string("v=0"), "to": .string("@carol:x")]))
        await expectError(.invalid, code: "invalid_field") { try await fixture.service.relay(stray, callId: second.callId, from: "@alice:x") }
        let toSelf = try RelayMessage(kind: .offer, json: .object(["sdp": .string("v=0"), "to": .string("@alice:x")]))
        await expectError(.invalid) { try await fixture.service.relay(toSelf, callId: second.callId, from: "@alice:x") }
        try await fixture.close()
    }

    @Test func rejectingAOneToOneCallEndsIt() async throws {
        let fixture = try await Fixture.make()
        let clients = try await fixture.connect("@alice:x", "@bob:x")
        let call = try await fixture.oneToOne(type: .voice)
        #expect(call.participants.allSatisfy { !$0.videoEnabled })
        let rejected = try await fixture.service.reject(call.callId, by: "@bob:x", reason: "busy")
        #expect(rejected.status == .rejected)
        #expect(rejected.endReason == "busy")
        #expect(rejected.participant("@bob:x")?.status == .rejected)
        let event = try #require(clients[0].events("call-rejected").first)
        #expect(event.data["from"]?.stringValue == "@bob:x")
        #expect(event.data["reason"]?.stringValue == "busy")
        await expectError(.conflict) { _ = try await fixture.service.answer(call.callId, by: "@bob:x") }
        #expect(try await fixture.service.activeCalls(of: "@alice:x").isEmpty)
        try await fixture.close()
    }

    @Test func unansweredCallsBecomeMissedAfterTheRingTimeout() async throws {
        let fixture = try await Fixture.make(CallServiceConfiguration(ringTimeout: .seconds(60)))
        let clients = try await fixture.connect("@alice:x", "@bob:x")
        let call = try await fixture.oneToOne()
        fixture.clock.advance(30)
        let answeredLater = try await fixture.oneToOne(from: "@carol:x", to: "@dave:x")

        #expect(await fixture.service.expireRingingCalls().isEmpty)
        fixture.clock.advance(31)
        let missed = await fixture.service.expireRingingCalls()
        #expect(missed.map(\.callId) == [call.callId])
        #expect(missed.first?.status == .missed)
        #expect(missed.first?.endReason == "timeout")
        for client in clients {
            let event = try #require(client.events("call-ended").first)
            #expect(event.data["status"]?.stringValue == "missed")
            #expect(event.data["reason"]?.stringValue == "timeout")
        }
        #expect(try await fixture.service.status(call.callId, for: "@bob:x").status == .missed)
        await expectError(.conflict) { _ = try await fixture.service.answer(call.callId, by: "@bob:x") }
        // Answered calls are not touched by later sweeps.
        _ = try await fixture.service.answer(answeredLater.callId, by: "@dave:x")
        fixture.clock.advance(3600)
        #expect(await fixture.service.expireRingingCalls().isEmpty)
        #expect(try await fixture.service.status(answeredLater.callId, for: "@dave:x").status == .active)
        try await fixture.close()
    }

    @Test func theBackgroundSweepEnforcesTheRingTimeoutWithNoRequest() async throws {
        // Real time here: the sweep runs on its own.
        let database = try TemporaryDatabase()
        let store = try await database.open()
        let service = CallService(
            store: store,
            configuration: CallServiceConfiguration(ringTimeout: .seconds(1), sweepInterval: .milliseconds(50)),
            logger: quietLogger("test.calls"))
        let alice = RecordingClient("@alice:x")
        try await service.connected(alice)
        let sweeper = Task { try await service.run() }
        let call = try await service.initiate(InitiateCall(roomId: "!r:x", callType: .voice, invitees: ["@bob:x"]), by: "@alice:x")
        #expect(try await service.status(call.callId, for: "@alice:x").status == .ringing)
        let ended = try await alice.next("call-ended", timeout: .seconds(10))
        #expect(ended.data["status"]?.stringValue == "missed")
        #expect(try await service.status(call.callId, for: "@alice:x").status == .missed)
        sweeper.cancel()
        _ = await sweeper.result
        try await store.close()
    }

    @Test func callsLeftRingingByAStoppedServerAreMissedAtStart() async throws {
        let database = try TemporaryDatabase()
        let clock = TestClock()
        var store = try await database.open()
        var service = CallService(store: store, logger: quietLogger("test"), now: { clock.now })
        let stale = try await service.initiate(InitiateCall(roomId: "!r:x", callType: .voice, invitees: ["@bob:x"]), by: "@alice:x")
        try await store.close()

        clock.advance(120)
        store = try await database.open()
        service = CallService(store: store, logger: quietLogger("test"), now: { clock.now })
        let fresh = try await service.initiate(InitiateCall(roomId: "!r:x", callType: .voice, invitees: ["@bob:x"]), by: "@alice:x")
        let run = Task { [service] in try await service.run() }
        try await waitFor("the stale call to be missed") {
            try await service.status(stale.callId, for: "@bob:x").status == .missed ? true : nil
        }
        #expect(try await service.status(fresh.callId, for: "@bob:x").status == .ringing)
        run.cancel()
        _ = await run.result
        try await store.close()
    }

    @Test func twoConcurrentAnswersOneWins() async throws {
        let fixture = try await Fixture.make()
        for _ in 0..<10 {
            let call = try await fixture.oneToOne()
            // The same callee answering from two devices at once.
            async let first = attempt { () async throws(CallError) in try await fixture.service.answer(call.callId, by: "@bob:x") }
            async let second = attempt { () async throws(CallError) in try await fixture.service.answer(call.callId, by: "@bob:x") }
            let results = await [first, second]
            let wins = results.filter { if case .success = $0 { true } else { false } }
            let conflicts = results.filter { if case .failure(let error) = $0 { error.kind == .conflict } else { false } }
            #expect(wins.count == 1)
            #expect(conflicts.count == 1)
            #expect(try await fixture.store.events(call.callId).filter { $0.type == "answered" }.count == 1)
        }
        try await fixture.close()
    }

    @Test func groupCallsEndWhenTheLastParticipantLeaves() async throws {
        let fixture = try await Fixture.make()
        let clients = try await fixture.connect("@alice:x", "@bob:x", "@carol:x", "@dave:x", "@erin:x")
        let (alice, bob, carol, dave, erin) = (clients[0], clients[1], clients[2], clients[3], clients[4])
        let call = try await fixture.service.initiate(
            InitiateCall(roomId: "!g:x", callType: .video, invitees: ["@bob:x", "@carol:x", "@dave:x"], isGroupCall: true), by: "@alice:x")
        #expect(call.isGroupCall)
        #expect(bob.events("incoming-call").count == 1 && carol.events("incoming-call").count == 1)

        // A decline in a group call concerns only the one declining.
        let afterReject = try await fixture.service.reject(call.callId, by: "@carol:x", reason: nil)
        #expect(afterReject.status == .ringing)
        #expect(afterReject.participant("@carol:x")?.status == .rejected)
        #expect(alice.events("call-rejected").count == 1)

        let afterAnswer = try await fixture.service.answer(call.callId, by: "@bob:x")
        #expect(afterAnswer.status == .active)
        // Later invitees join the active call (through join-call, as realtime clients do).
        _ = try await fixture.service.join(call.callId, by: "@dave:x")
        #expect(try #require(alice.events("user-joined").first).data["userId"]?.stringValue == "@dave:x")
        await expectError(.forbidden) { _ = try await fixture.service.join(call.callId, by: "@erin:x") }

        // A non-initiator's `end` is leaving; the call goes on.
        let afterBob = try await fixture.service.end(call.callId, by: "@bob:x", reason: nil)
        #expect(afterBob.status == .active)
        #expect(afterBob.participant("@bob:x")?.status == .left)
        #expect(try await alice.next("user-left").data["userId"]?.stringValue == "@bob:x")
        await expectError(.conflict) { _ = try await fixture.service.leave(call.callId, by: "@bob:x") }
        // Bob comes back, then everyone leaves: the last one out ends it.
        _ = try await fixture.service.join(call.callId, by: "@bob:x")
        _ = try await fixture.service.leave(call.callId, by: "@alice:x")
        _ = try await fixture.service.leave(call.callId, by: "@bob:x")
        #expect(try await fixture.service.status(call.callId, for: "@alice:x").status == .active)
        let last = try await fixture.service.leave(call.callId, by: "@dave:x")
        #expect(last.status == .ended)
        #expect(last.endReason == "everyone left")
        for client in [alice, bob, carol, dave] {
            #expect(client.events("call-ended").count == 1, "\(client.user)")
        }
        #expect(erin.events.isEmpty)
        try await fixture.close()
    }

    @Test func theInitiatorEndsAGroupCallForEveryone() async throws {
        let fixture = try await Fixture.make()
        let clients = try await fixture.connect("@alice:x", "@bob:x", "@carol:x")
        let call = try await fixture.service.initiate(
            InitiateCall(roomId: "!g:x", callType: .voice, invitees: ["@bob:x", "@carol:x"], isGroupCall: true), by: "@alice:x")
        _ = try await fixture.service.answer(call.callId, by: "@bob:x")
        _ = try await fixture.service.answer(call.callId, by: "@carol:x")
        await expectError(.conflict) { _ = try await fixture.service.answer(call.callId, by: "@carol:x") }
        let ended = try await fixture.service.end(call.callId, by: "@alice:x", reason: nil)
        #expect(ended.status == .ended)
        #expect(clients.allSatisfy { $0.events("call-ended").count == 1 })
        try await fixture.close()
    }

    @Test func aGroupCallEveryoneDeclinesIsRejected() async throws {
        let fixture = try await Fixture.make()
        let clients = try await fixture.connect("@alice:x")
        let call = try await fixture.service.initiate(
            InitiateCall(roomId: "!g:x", callType: .voice, invitees: ["@bob:x", "@carol:x"], isGroupCall: true), by: "@alice:x")
        _ = try await fixture.service.reject(call.callId, by: "@bob:x", reason: nil)
        // Declining through `end` is the same as rejecting.
        let last = try await fixture.service.end(call.callId, by: "@carol:x", reason: nil)
        #expect(last.status == .rejected)
        #expect(clients[0].events("call-rejected").count == 2)
        #expect(clients[0].events("call-ended").first?.data["status"]?.stringValue == "rejected")
        try await fixture.close()
    }

    @Test func groupCallsCanStartWithNoInvitee() async throws {
        let fixture = try await Fixture.make()
        let call = try await fixture.service.initiate(
            InitiateCall(roomId: "!g:x", callType: .voice, invitees: [], isGroupCall: true), by: "@alice:x")
        #expect(call.participants.count == 1)
        let over = try await fixture.service.leave(call.callId, by: "@alice:x")
        #expect(over.status == .ended)
        try await fixture.close()
    }

    @Test func historyPagesNewestFirst() async throws {
        let fixture = try await Fixture.make()
        var ids: [String] = []
        for _ in 0..<5 {
            ids.append(try await fixture.oneToOne().callId)
            fixture.clock.advance(1)
        }
        _ = try await fixture.oneToOne(from: "@carol:x", to: "@dave:x")
        let first = try await fixture.service.history(of: "@bob:x", limit: 2, before: nil)
        #expect(first.calls.map(\.callId) == [ids[4], ids[3]])
        let cursor = try Timestamp.parse(Timestamp.format(try #require(first.nextBefore)))
        #expect(cursor == first.calls[1].createdAt)
        let second = try await fixture.service.history(of: "@bob:x", limit: 2, before: cursor)
        #expect(second.calls.map(\.callId) == [ids[2], ids[1]])
        let last = try await fixture.service.history(of: "@bob:x", limit: 2, before: second.nextBefore)
        #expect(last.calls.map(\.callId) == [ids[0]])
        #expect(last.nextBefore == nil)
        // A page that is exactly the rest has no next page either.
        #expect(try await fixture.service.history(of: "@bob:x", limit: 5, before: nil).nextBefore == nil)
        // Calls created in the same millisecond are never split across pages, nor lost.
        for _ in 0..<3 { _ = try await fixture.oneToOne(from: "@erin:x", to: "@frank:x") }
        var seen: [String] = []
        var before: Date?
        repeat {
            let page = try await fixture.service.history(of: "@erin:x", limit: 2, before: before)
            seen += page.calls.map(\.callId)
            before = page.nextBefore
        } while before != nil
        #expect(Set(seen).count == 3 && seen.count == 3)
        #expect(try await fixture.service.activeCalls(of: "@alice:x").count == 5)
        #expect(try await fixture.service.activeCalls(of: "@carol:x").count == 1)
        try await fixture.close()
    }
}

@Suite struct CallRealtimeTests {
    @Test func clientEventsReachOnlyTheOtherParticipants() async throws {
        let fixture = try await Fixture.make()
        let clients = try await fixture.connect("@alice:x", "@bob:x", "@bob:x", "@carol:x")
        let (alice, bob, bobPhone, carol) = (clients[0], clients[1], clients[2], clients[3])
        let call = try await fixture.oneToOne()
        #expect(bob.events("incoming-call").count == 1 && bobPhone.events("incoming-call").count == 1)
        let id = JSONValue.string(call.callId)

        // join-call by the invitee answers; the joining connection is not told about itself.
        #expect(await fixture.service.received(RealtimeEvent("join-call", .object(["callId": id])), from: bob) == nil)
        #expect(try await fixture.service.status(call.callId, for: "@bob:x").status == .active)
        #expect(alice.events("user-joined").count == 1)
        #expect(bob.events("user-joined").isEmpty)
        #expect(bobPhone.events("user-joined").count == 1)

        let offer = RealtimeEvent("webrtc-offer", .object(["callId": id, "sdp": .string("v=0")]))
        #expect(await fixture.service.received(offer, from: alice) == nil)
        #expect(bob.events("webrtc-offer").count == 1 && bobPhone.events("webrtc-offer").count == 1)
        let answer = RealtimeEvent("webrtc-answer", .object(["callId": id, "sdp": .string("v=0 answer"), "to": .string("@alice:x")]))
        #expect(await fixture.service.received(answer, from: bob) == nil)
        #expect(alice.events("webrtc-answer").first?.data["to"]?.stringValue == "@alice:x")
        #expect(bobPhone.events("webrtc-answer").isEmpty)

        let toggle = RealtimeEvent("toggle-video", .object(["callId": id, "enabled": .bool(false)]))
        #expect(await fixture.service.received(toggle, from: alice) == nil)
        #expect(bob.events("video-toggled").first?.data["enabled"] == .bool(false))
        #expect(bob.events("video-toggled").first?.data["userId"]?.stringValue == "@alice:x")
        #expect(try await fixture.service.status(call.callId, for: "@bob:x").participant("@alice:x")?.videoEnabled == false)

        // A stranger gets an error, and the participants get nothing from it.
        let intrusion = await fixture.service.received(offer, from: carol)
        #expect(intrusion?.event == "error")
        #expect(intrusion?.data["code"]?.stringValue == "forbidden")
        #expect(intrusion?.data["callId"] == id)
        #expect(bob.events("webrtc-offer").count == 1)
        #expect(carol.events.isEmpty)

        #expect(await fixture.service.received(RealtimeEvent("leave-call", .object(["callId": id])), from: alice) == nil)
        #expect(bob.events("call-ended").count == 1)
        #expect(alice.events("call-ended").isEmpty)  // the connection that left knows
        try await fixture.close()
    }

    @Test func badClientEventsGetErrors() async throws {
        let fixture = try await Fixture.make()
        let alice = RecordingClient("@alice:x")
        try await fixture.service.connected(alice)
        let call = try await fixture.oneToOne()
        let id = JSONValue.string(call.callId)
        let cases: [(RealtimeEvent, String)] = [
            (RealtimeEvent("dance", .object([:])), "unknown_event"),
            (RealtimeEvent("join-call", .object([:])), "missing_field"),
            (RealtimeEvent("join-call", .object(["callId": .number(5)])), "invalid_field"),
            (RealtimeEvent("join-call", .string("x")), "bad_json"),
            (RealtimeEvent("join-call", .object(["callId": .string("nope")])), "not_found"),
            (RealtimeEvent("webrtc-offer", .object(["callId": id])), "missing_field"),
            (RealtimeEvent("webrtc-offer", .object(["callId": id, "sdp": .string("")])), "invalid_field"),
            (RealtimeEvent("ice-candidate", .object(["callId": id, "candidate": .string("c"), "sdpMLineIndex": .number(-1)])), "invalid_field"),
            (RealtimeEvent("ice-candidate", .object(["callId": id, "candidate": .string("c"), "sdpMLineIndex": .number(0.5)])), "invalid_field"),
            (RealtimeEvent("ice-candidate", .object(["callId": id, "candidate": .bool(true)])), "invalid_field"),
            (RealtimeEvent("ice-candidate", .object(["callId": id, "candidate": .string(""), "sdpMid": .number(1)])), "invalid_field"),
            (RealtimeEvent("toggle-audio", .object(["callId": id])), "missing_field"),
            (RealtimeEvent("toggle-audio", .object(["callId": id, "enabled": .string("yes")])), "invalid_field"),
            (RealtimeEvent("leave-call", .object(["callId": .string("nope")])), "not_found"),
        ]
        for (event, code) in cases {
            let reply = await fixture.service.received(event, from: alice)
            #expect(reply?.event == "error", "\(event)")
            #expect(reply?.data["code"]?.stringValue == code, "\(event)")
            #expect(reply?.data["message"]?.stringValue?.isEmpty == false)
        }
        // End-of-candidates (an empty candidate) is relayed, not refused.
        let end = RealtimeEvent("ice-candidate", .object(["callId": id, "candidate": .string(""), "sdpMid": .null, "sdpMLineIndex": .null]))
        #expect(await fixture.service.received(end, from: alice) == nil)
        try await fixture.close()
    }

    @Test func aDroppedConnectionLeavesItsCallsAfterTheGracePeriod() async throws {
        let fixture = try await Fixture.make(CallServiceConfiguration(gracePeriod: .milliseconds(500)))
        let alice = RecordingClient("@alice:x")
        let bob = RecordingClient("@bob:x")
        try await fixture.service.connected(alice)
        try await fixture.service.connected(bob)
        let call = try await fixture.oneToOne()
        _ = try await fixture.service.answer(call.callId, by: "@bob:x")

        await fixture.service.disconnected(bob)
        #expect(fixture.service.pendingGracePeriods == 1)
        let ended = try await alice.next("call-ended")
        #expect(ended.data["reason"]?.stringValue == "disconnected")
        #expect(try await fixture.service.status(call.callId, for: "@alice:x").status == .ended)
        #expect(fixture.service.pendingGracePeriods == 0)
        try await fixture.close()
    }

    @Test func reconnectingWithinTheGracePeriodKeepsTheCall() async throws {
        let fixture = try await Fixture.make(CallServiceConfiguration(gracePeriod: .seconds(1)))
        let alice = RecordingClient("@alice:x")
        try await fixture.service.connected(alice)
        let bob = RecordingClient("@bob:x")
        try await fixture.service.connected(bob)
        let call = try await fixture.oneToOne()
        _ = try await fixture.service.answer(call.callId, by: "@bob:x")

        await fixture.service.disconnected(bob)
        try await fixture.service.connected(RecordingClient("@bob:x"))
        #expect(fixture.service.pendingGracePeriods == 0)
        try await Task.sleep(for: .milliseconds(1500))
        #expect(try await fixture.service.status(call.callId, for: "@alice:x").status == .active)
        #expect(alice.events("call-ended").isEmpty)
        // One device of several dropping is no reason to leave either.
        let second = RecordingClient("@alice:x")
        try await fixture.service.connected(second)
        await fixture.service.disconnected(alice)
        #expect(fixture.service.pendingGracePeriods == 0)
        try await fixture.close()
    }
}
