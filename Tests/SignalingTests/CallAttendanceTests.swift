// Calls nobody attends any more (CallService+Attendance), on the real SQLite store and a fake
// clock: after a restart, calls the previous process left active end `server_restart` unless a
// participant came back within the grace period; while serving, a call whose last attending
// participant's grace period runs out ends `disconnected`, even when the database was away at
// that moment; a call driven only over REST is never ended for lack of a realtime connection.

import Foundation
import SignalingTestSupport
import Testing
@testable import Signaling
import SocketIO
import Auth

@Suite struct CallAttendanceTests {
    /// A call from `caller` answered (joined) by every invitee, on `service`.
    private func answered(
        _ service: CallService, from caller: String, to invitees: [String], group: Bool = false
    ) async throws -> String {
        let call = try await service.initiate(
            InitiateCall(roomId: "!room:x", callType: .voice, invitees: invitees, isGroupCall: group), by: caller)
        for invitee in invitees { _ = try await service.answer(call.callId, by: invitee) }
        return call.callId
    }

    private func status(_ store: any CallStore, _ id: String) async throws -> CallRecord {
        try #require(try await store.call(id))
    }

    @Test func callsNobodyComesBackToEndAsServerRestart() async throws {
        let grace = 30.0
        let fixture = try await Fixture.make(CallServiceConfiguration(gracePeriod: .seconds(grace)))
        let before = fixture.service  // the process that is killed
        let lonely = try await answered(before, from: "@alice:x", to: ["@bob:x"])
        let rejoined = try await answered(before, from: "@carol:x", to: ["@dave:x"])
        let group = try await answered(before, from: "@erin:x", to: ["@frank:x", "@gina:x"], group: true)
        let graced = try await answered(before, from: "@henry:x", to: ["@ivan:x"], group: true)
        let ringing = try await before.initiate(InitiateCall(roomId: "!r:x", callType: .voice, invitees: ["@zoe:x"]), by: "@alice:x").callId

        // A new process on the same database: its hub knows of no connection.
        fixture.clock.advance(60)
        let after = CallService(
            store: fixture.store, configuration: fixture.service.configuration, logger: quietLogger("test.calls"),
            now: { fixture.clock.now })
        let startedAt = fixture.clock.now
        fixture.clock.advance(1)
        let newer = try await answered(after, from: "@jack:x", to: ["@kim:x"])  // REST only, after the start
        let carol = RecordingClient("@carol:x")
        try await after.connected(carol)
        let frank = RecordingClient("@frank:x")
        try await after.connected(frank)
        // Henry came back and dropped again: still within his own grace period.
        let henry = RecordingClient("@henry:x")
        try await after.connected(henry)
        await after.disconnected(henry)
        fixture.clock.advance(grace)

        let ended = try await after.endCallsLeftByRestart(startedAt: startedAt)
        #expect(ended.map(\.callId) == [lonely])
        let over = try await status(fixture.store, lonely)
        #expect(over.status == .ended)
        #expect(over.endReason == "server_restart")
        #expect(over.endedAt == Timestamp.truncated(fixture.clock.now))
        #expect(over.participants.map(\.status) == [.left, .left])
        let last = try #require(try await fixture.store.events(lonely).last)
        #expect(last.type == "ended")
        #expect(last.actor == nil)
        #expect(last.payload == #"{"reason":"server_restart"}"#)

        // Carol reconnected: her 1-to-1 call goes on as it was, Dave included.
        #expect(try await status(fixture.store, rejoined).status == .active)
        #expect(try await status(fixture.store, rejoined).participants.map(\.status) == [.joined, .joined])
        // The group call goes on with Frank; those who did not come back have left it.
        let stillGoing = try await status(fixture.store, group)
        #expect(stillGoing.status == .active)
        #expect(stillGoing.participants.map(\.status) == [.left, .joined, .left])
        let departures = frank.events("user-left")
        #expect(Set(departures.compactMap { $0.data["userId"]?.stringValue }) == ["@erin:x", "@gina:x"])
        #expect(departures.allSatisfy { $0.data["reason"]?.stringValue == "server_restart" })
        // Henry's own grace period decides for him; Ivan did not come back.
        #expect(try await status(fixture.store, graced).participants.map(\.status) == [.joined, .left])
        // Neither a call answered after the start nor a ringing one is this sweep's business.
        #expect(try await status(fixture.store, newer).status == .active)
        #expect(try await status(fixture.store, ringing).status == .ringing)
        #expect(carol.events("call-ended").isEmpty)

        // Settled once, a second run finds nothing more to do.
        #expect(try await after.endCallsLeftByRestart(startedAt: startedAt).isEmpty)
        try await fixture.close()
    }

    /// `run()` as the server runs it: sweeps wait for the store to open, and the calls left
    /// active end once the clock passes the grace period counted from then.
    @Test func theSweepEndsLeftCallsAGracePeriodAfterTheStoreOpens() async throws {
        let grace = 30.0
        let fixture = try await Fixture.make(CallServiceConfiguration(ringTimeout: .seconds(10), gracePeriod: .seconds(grace)))
        let left = try await answered(fixture.service, from: "@alice:x", to: ["@bob:x"])
        let ringing = try await fixture.service.initiate(InitiateCall(roomId: "!r:x", callType: .voice, invitees: ["@zoe:x"]), by: "@alice:x").callId
        fixture.clock.advance(60)

        let deferred = DeferredCallStore()
        let after = CallService(
            store: deferred,
            configuration: CallServiceConfiguration(ringTimeout: .seconds(10), gracePeriod: .seconds(grace), sweepInterval: .milliseconds(10)),
            logger: quietLogger("test.calls"), now: { fixture.clock.now })
        let running = Task { try await after.run() }
        defer { running.cancel() }
        // While the store is not open nothing is swept (a moment of real time to show it).
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await status(fixture.store, ringing).status == .ringing)

        deferred.open(fixture.store)
        // The ring-timeout sweep at start shows that `run` has seen the store open. (Waits
        // that fail are expectations, not throws: the store must still be closed.)
        let missed = try? await waitFor(timeout: .seconds(10), "the ringing call to be missed") { () async throws -> Bool? in
            try await status(fixture.store, ringing).status == .missed ? true : nil
        }
        #expect(missed == true)
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await status(fixture.store, left).status == .active, "the grace period has not passed")

        fixture.clock.advance(grace)
        let ended = try? await waitFor(timeout: .seconds(10), "the call left active to end") { () async throws -> CallRecord? in
            let call = try await status(fixture.store, left)
            return call.status == .ended ? call : nil
        }
        #expect(ended?.endReason == "server_restart")
        running.cancel()
        _ = await running.result
        try await fixture.close()
    }

    @Test func aGroupCallEndsWhenNobodyWithAConnectionIsLeft() async throws {
        let fixture = try await Fixture.make(CallServiceConfiguration(gracePeriod: .milliseconds(300)))
        let clients = try await fixture.connect("@alice:x", "@bob:x")
        let (alice, bob) = (clients[0], clients[1])
        let watcher = RecordingClient("@dan:x")  // invited, never answers: hears the end
        try await fixture.service.connected(watcher)
        // Bob and Carol answer; Carol has no realtime connection at all (REST only).
        let call = try await fixture.service.initiate(
            InitiateCall(roomId: "!room:x", callType: .voice, invitees: ["@bob:x", "@carol:x", "@dan:x"], isGroupCall: true),
            by: "@alice:x").callId
        _ = try await fixture.service.answer(call, by: "@bob:x")
        _ = try await fixture.service.answer(call, by: "@carol:x")

        // Alice drops; Bob is still there: she leaves, the call goes on.
        await fixture.service.disconnected(alice)
        // (Waits that fail are expectations, not throws: the store must still be closed.)
        let gone = try? await bob.next("user-left", timeout: .seconds(10))
        #expect(gone?.data["userId"]?.stringValue == "@alice:x")
        #expect(gone?.data["reason"]?.stringValue == "disconnected")
        #expect(try await status(fixture.store, call).status == .active)

        // Bob drops too: only Carol, who never had a connection, is left joined.
        await fixture.service.disconnected(bob)
        let ended = try? await watcher.next("call-ended", timeout: .seconds(10))
        #expect(ended?.data["reason"]?.stringValue == "disconnected")
        #expect(ended != nil && ended?.data["from"] == nil)
        let record = try await status(fixture.store, call)
        #expect(record.status == .ended)
        #expect(record.endReason == "disconnected")
        #expect(record.participants.map(\.status) == [.left, .left, .left, .invited])
        try await fixture.close()
    }

    @Test func aGracePeriodThatRunsOutWhileTheDatabaseIsGoneTakesEffectWhenItIsBack() async throws {
        let fixture = try await Fixture.make()
        let call = try await answered(fixture.service, from: "@alice:x", to: ["@bob:x"])
        // A server whose database is not there (yet): every store operation fails.
        let database = DeferredCallStore()
        let service = CallService(
            store: database,
            configuration: CallServiceConfiguration(gracePeriod: .milliseconds(50), sweepInterval: .milliseconds(50)),
            logger: quietLogger("test.calls"), now: { fixture.clock.now })
        let bob = RecordingClient("@bob:x")
        try await service.connected(bob)
        await service.disconnected(bob)
        try await Task.sleep(for: .milliseconds(300))  // several attempts, each failing
        #expect(try await status(fixture.store, call).status == .active)

        database.open(fixture.store)
        let ended = try? await waitFor(timeout: .seconds(10), "the call to end") { () async throws -> CallRecord? in
            let record = try await status(fixture.store, call)
            return record.status == .ended ? record : nil
        }
        #expect(ended?.endReason == "disconnected")
        #expect(service.pendingGracePeriods == 0)
        try await fixture.close()
    }

    @Test func aCallDrivenOnlyOverRESTIsNotEndedForLackOfAConnection() async throws {
        let fixture = try await Fixture.make(CallServiceConfiguration(gracePeriod: .milliseconds(200)))
        let oneToOne = try await answered(fixture.service, from: "@alice:x", to: ["@bob:x"])
        let group = try await answered(fixture.service, from: "@alice:x", to: ["@bob:x", "@carol:x"], group: true)
        // Someone else's connection comes and goes: its grace period concerns only that user.
        let stranger = RecordingClient("@mallory:x")
        try await fixture.service.connected(stranger)
        await fixture.service.disconnected(stranger)
        try await waitFor(timeout: .seconds(10), "the stranger's grace period to run out") {
            fixture.service.pendingGracePeriods == 0 ? true : nil
        }
        try await Task.sleep(for: .milliseconds(400))
        #expect(try await status(fixture.store, oneToOne).status == .active)
        #expect(try await status(fixture.store, group).status == .active)
        #expect(try await status(fixture.store, group).participants.allSatisfy { $0.status == .joined })
        try await fixture.close()
    }
}
