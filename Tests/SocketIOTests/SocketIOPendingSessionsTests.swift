// Handshakes that wait for their Socket.IO CONNECT are capped per client address and in all, on a
// fake clock: the refusal says when to come back, expiry and CONNECT give the slot back. Also
// the client address key (IPv4, IPv6 /64) the caps count by.

import Testing

@testable import SocketIO

@Suite struct SocketIOPendingSessionsTests {
    let t0 = ContinuousClock.now

    private func at(_ seconds: Double) -> EngineIOInstant { t0 + .milliseconds(Int64(seconds * 1000)) }

    private func pending() -> SocketIOPendingSessions {
        SocketIOPendingSessions(maxPerAddress: 2, maxTotal: 3, lifetime: .seconds(45))
    }

    @Test func theDefaultsAreSane() {
        let configuration = SocketIOConfiguration()
        #expect(configuration.maxPendingSessionsPerAddress == 100)
        #expect(configuration.maxPendingSessions == 10_000)
        #expect(configuration.maxQueuedPackets == 1024)
        #expect(configuration.maxQueuedBytes == 4 * 1024 * 1024)
        #expect(configuration.connectTimeout == .seconds(45))
    }

    @Test func oneAddressGetsItsShareAndIsToldWhenToComeBack() throws {
        var sessions = pending()
        try sessions.admit("a1", from: "192.0.2.1", now: at(0))
        try sessions.admit("a2", from: "192.0.2.1", now: at(10))
        let refusal = #expect(throws: SocketIOPendingSessions.Refusal.self) {
            try sessions.admit("a3", from: "192.0.2.1", now: at(20.5))
        }
        // The oldest of this address's sessions expires at 45 s.
        #expect(refusal == .init(scope: .address, retryAfter: .milliseconds(24_500)))
        #expect(refusal?.retryAfterSeconds == 25)
        #expect(sessions.count(from: "192.0.2.1") == 2)
        // Another address is still welcome.
        try sessions.admit("b1", from: "192.0.2.2", now: at(21))
    }

    @Test func theTotalCapsEveryAddressTogether() throws {
        var sessions = pending()
        try sessions.admit("a1", from: "192.0.2.1", now: at(0))
        try sessions.admit("b1", from: "192.0.2.2", now: at(1))
        try sessions.admit("c1", from: "192.0.2.3", now: at(2))
        #expect(throws: SocketIOPendingSessions.Refusal(scope: .total, retryAfter: .seconds(42))) {
            try sessions.check(from: "192.0.2.4", now: at(3))
        }
        #expect(throws: SocketIOPendingSessions.Refusal(scope: .total, retryAfter: .seconds(42))) {
            try sessions.admit("d1", from: "192.0.2.4", now: at(3))
        }
        #expect(sessions.count == 3 && !sessions.contains("d1"))
    }

    @Test func aConnectGivesTheSlotBack() throws {
        var sessions = pending()
        try sessions.admit("a1", from: "192.0.2.1", now: at(0))
        try sessions.admit("a2", from: "192.0.2.1", now: at(0))
        sessions.remove("a1")
        try sessions.admit("a3", from: "192.0.2.1", now: at(1))
        // The refusal now names the oldest still pending.
        #expect(throws: SocketIOPendingSessions.Refusal(scope: .address, retryAfter: .seconds(44))) {
            try sessions.admit("a4", from: "192.0.2.1", now: at(1))
        }
        sessions.remove("a2")
        sessions.remove("a3")
        sessions.remove("a3")  // twice is harmless
        #expect(sessions.count == 0 && sessions.count(from: "192.0.2.1") == 0)
    }

    @Test func expiredSessionsNoLongerCount() throws {
        var sessions = pending()
        try sessions.admit("a1", from: "192.0.2.1", now: at(0))
        try sessions.admit("a2", from: "192.0.2.1", now: at(30))
        #expect(throws: SocketIOPendingSessions.Refusal.self) { try sessions.admit("a3", from: "192.0.2.1", now: at(44.9)) }
        try sessions.admit("a3", from: "192.0.2.1", now: at(45))
        #expect(!sessions.contains("a1") && sessions.contains("a2") && sessions.contains("a3"))
        sessions.expire(now: at(200))
        #expect(sessions.count == 0 && sessions.count(from: "192.0.2.1") == 0)
    }

    @Test func manySessionsComeAndGoWithoutPilingUp() throws {
        var sessions = SocketIOPendingSessions(maxPerAddress: 10, maxTotal: 100, lifetime: .seconds(45))
        // One session stays pending at the front while thousands connect behind it.
        try sessions.admit("stuck", from: "192.0.2.9", now: at(0))
        for index in 0..<5000 {
            let sid = "s\(index)"
            try sessions.admit(sid, from: "192.0.2.\(index % 8)", now: at(Double(index) / 1000))
            sessions.remove(sid)
        }
        #expect(sessions.count == 1)
        sessions.remove("stuck")
        #expect(sessions.count == 0)
        try sessions.admit("next", from: "192.0.2.1", now: at(6))
        #expect(sessions.count == 1)
    }

    @Test func retryAfterIsWholeSecondsRoundedUpAndAtLeastOne() {
        #expect(SocketIOPendingSessions.Refusal(scope: .total, retryAfter: .milliseconds(1)).retryAfterSeconds == 1)
        #expect(SocketIOPendingSessions.Refusal(scope: .total, retryAfter: .zero).retryAfterSeconds == 1)
        #expect(SocketIOPendingSessions.Refusal(scope: .total, retryAfter: .seconds(3)).retryAfterSeconds == 3)
        #expect(SocketIOPendingSessions.Refusal(scope: .total, retryAfter: .milliseconds(3001)).retryAfterSeconds == 4)
    }
}
