// The limits' own logic with a clock in hand: the sliding window of call starts, realtime
// connections per user and per address, call starts refused over the open-call and rate
// limits (429 with a Retry-After), and active calls in pages.

import Foundation
import Logging
import SignalingTestSupport
import Testing
@testable import Signaling
@testable import SocketIO

@Suite struct StartRateLimiterTests {
    @Test func aSlidingWindowNotFixedMinutes() {
        var limiter = StartRateLimiter(limit: 3, window: 60)
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        for second in [0.0, 10, 50] {
            #expect((try? limiter.admit("u", now: t0 + second).get()) != nil)
        }
        // The fourth in the same minute waits until the first leaves the window (at 60 s).
        guard case .failure(let refused) = limiter.admit("u", now: t0 + 55) else {
            Issue.record("a fourth start within 60 s was admitted")
            return
        }
        #expect(refused.code == "rate_limited")
        #expect(refused.retryAfter == 5)
        #expect((try? limiter.admit("other", now: t0 + 55).get()) != nil)
        #expect((try? limiter.admit("u", now: t0 + 60).get()) != nil)
        // A burst across a minute boundary is still one burst: 10 s and 50 s are in the window.
        #expect((try? limiter.admit("u", now: t0 + 61).get()) == nil)
    }

    @Test func forgetsUsersWhoseStartsAllLeftTheWindow() {
        var limiter = StartRateLimiter(limit: 2, window: 60)
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        for user in 0..<100 { _ = limiter.admit("user\(user)", now: t0) }
        #expect(limiter.trackedKeys == 100)
        _ = limiter.admit("late", now: t0 + 120)
        #expect(limiter.trackedKeys == 1)
    }
}

/// A realtime client with an address, recording nothing.
private final class AddressedClient: RealtimeClient {
    let connectionID = UUID().uuidString
    let user: String
    let isAdmin = false
    let address: String?

    init(_ user: String, from address: String?) {
        self.user = user
        self.address = address
    }

    func deliver(_ event: RealtimeEvent) async {}
}

@Suite struct RealtimeAdmissionTests {
    @Test func connectionsPerUserAndPerAddressComeBackWhenClosed() throws {
        var limits = ServiceLimits()
        limits.connectionsPerUser = 2
        limits.connectionsPerAddress = 3
        let hub = RealtimeHub(limits: limits)
        let first = AddressedClient("alice", from: "10.0.0.1")
        try hub.add(first)
        try hub.add(AddressedClient("alice", from: "10.0.0.2"))
        #expect(hub.admissionProblem(user: "alice", address: "10.0.0.3")?.code == "too_many_connections")
        #expect(throws: LimitExceeded.self) { try hub.add(AddressedClient("alice", from: "10.0.0.3")) }

        try hub.add(AddressedClient("bob", from: "10.0.0.1"))
        try hub.add(AddressedClient("carol", from: "10.0.0.1"))
        #expect(hub.admissionProblem(user: "dave", address: "10.0.0.1") != nil)
        #expect(hub.admissionProblem(user: "dave", address: "10.0.0.9") == nil)
        // Unknown addresses (in-process tests) only count per user.
        #expect(hub.admissionProblem(user: "dave", address: nil) == nil)

        #expect(hub.remove(first) == 1)
        #expect(hub.admissionProblem(user: "alice", address: "10.0.0.1") == nil)
        // Removing a connection twice changes nothing.
        #expect(hub.remove(first) == 1)
        #expect(hub.admissionProblem(user: "dave", address: "10.0.0.1") == nil)
    }
}

@Suite(.serialized) struct CallStartLimitTests {
    /// Runs `body` with a service on a fresh SQLite store, closed afterwards.
    private func withService(_ limits: ServiceLimits, clock: TestClock, _ body: (CallService) async throws -> Void) async throws {
        let database = try TemporaryDatabase()
        let store = try await database.open()
        let service = CallService(
            store: store, configuration: CallServiceConfiguration(limits: limits), logger: quietLogger("test.limits"),
            now: { clock.now })
        do {
            try await body(service)
        } catch {
            try await store.close()
            throw error
        }
        try await store.close()
    }

    private func start(_ service: CallService, _ user: String, to invitee: String = "@bob:x") async throws(CallError) -> CallRecord {
        try await service.initiate(InitiateCall(roomId: "!r:x", callType: .voice, invitees: [invitee]), by: user)
    }

    @Test func openCallsThenTheRate() async throws {
        var limits = ServiceLimits()
        limits.openCallsPerUser = 2
        limits.callsPerUserPerMinute = 3
        let clock = TestClock()
        try await withService(limits, clock: clock) { service in
        let first = try await start(service, "@alice:x")
        _ = try await start(service, "@alice:x")
        do throws(CallError) {
            _ = try await start(service, "@alice:x")
            Issue.record("a third open call was started")
        } catch {
            #expect(error.kind == .limited && error.code == "too_many_open_calls" && error.retryAfter != nil)
            #expect(CallRoutes.apiError(error).status == .tooManyRequests)
        }
        // Being rung does not count: bob, invited twice, may still call.
        _ = try await start(service, "@bob:x", to: "@carol:x")

        _ = try await service.end(first.callId, by: "@alice:x", reason: nil)
        _ = try await start(service, "@alice:x", to: "@dave:x")  // the third start in the minute
        let open = try await service.activeCalls(of: "@alice:x")
        for call in open { _ = try await service.end(call.callId, by: "@alice:x", reason: nil) }
        clock.advance(30)
        do throws(CallError) {
            _ = try await start(service, "@alice:x")
            Issue.record("a fourth start within a minute was admitted")
        } catch {
            #expect(error.code == "rate_limited")
            #expect(error.retryAfter == 30)
        }
        clock.advance(31)
        _ = try await start(service, "@alice:x")
        }
    }

    @Test func activeCallsInPagesThatNeverSplitAMillisecond() async throws {
        var limits = ServiceLimits()
        limits.callsPerUserPerMinute = 100
        let clock = TestClock()
        try await withService(limits, clock: clock) { service in
        // Seven callers ring bob: two pairs in the same millisecond.
        for (index, step) in [0.0, 1, 0, 1, 0, 1, 1].enumerated() {
            clock.advance(step)
            _ = try await start(service, "@caller\(index):x")
        }
        var seen: [String] = []
        var before: Date?
        var pages = 0
        repeat {
            let page = try await service.activeCalls(of: "@bob:x", limit: 2, before: before)
            #expect(!page.calls.isEmpty)
            seen += page.calls.map(\.callId)
            before = page.nextBefore
            pages += 1
        } while before != nil && pages < 10
        let all = try await service.activeCalls(of: "@bob:x")
        #expect(seen.count == 7 && Set(seen) == Set(all.map(\.callId)))
        #expect(pages >= 3)
        }
    }
}
