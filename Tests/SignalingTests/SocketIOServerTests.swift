// The Socket.IO endpoint's I/O shell with real timers and tasks, without HTTP: polling and
// WebSocket sessions, the upgrade, handler order, acks, ping timeout and shutdown.

import Foundation
import Synchronization
import SignalingTestSupport
import Testing

@testable import Signaling
@testable import SocketIO

/// Records what the transport tells the call service; `echo` events are answered.
private actor RecordingHandler: RealtimeHandler {
    private(set) var log: [String] = []
    private(set) var clients: [any RealtimeClient] = []
    private var waiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []

    func connected(_ client: any RealtimeClient) async {
        clients.append(client)
        record("connected \(client.user)")
    }

    func received(_ event: RealtimeEvent, from client: any RealtimeClient) async -> RealtimeEvent? {
        record("received \(event.event) from \(client.user)")
        return event.event == "echo" ? RealtimeEvent("echoed", event.data) : nil
    }

    func disconnected(_ client: any RealtimeClient) async {
        record("disconnected \(client.user)")
    }

    private func record(_ line: String) {
        log.append(line)
        for (index, waiter) in waiters.enumerated().reversed() where log.count >= waiter.count {
            waiters.remove(at: index)
            waiter.continuation.resume()
        }
    }

    /// Waits until `count` lines are logged (the test's time limit bounds the wait).
    func waitForLog(count: Int) async -> [String] {
        if log.count < count {
            await withCheckedContinuation { waiters.append((count, $0)) }
        }
        return log
    }
}

/// A WebSocket whose frames the test sends and reads.
private final class FakeWebSocket: SocketIOWebSocketSink, @unchecked Sendable {
    let inbound: AsyncStream<EngineIOFrame>
    let toServer: AsyncStream<EngineIOFrame>.Continuation
    let fromServer: AsyncStream<EngineIOFrame?>.Continuation
    var written: AsyncStream<EngineIOFrame?>.Iterator

    init() {
        (inbound, toServer) = AsyncStream.makeStream()
        let (stream, continuation) = AsyncStream<EngineIOFrame?>.makeStream()
        fromServer = continuation
        written = stream.makeAsyncIterator()
    }

    func write(_ frame: EngineIOFrame) async throws { fromServer.yield(frame) }

    /// The server closed: reads see nil, and the client side ends like a real close handshake.
    func close() async {
        fromServer.yield(nil)
        toServer.finish()
    }

    func abort() {
        fromServer.yield(nil)
        toServer.finish()
    }

    private(set) var refusal: SocketIOPendingSessions.Refusal?

    func refuse(_ refusal: SocketIOPendingSessions.Refusal) async {
        self.refusal = refusal
        await close()
    }

    func send(_ text: String) { toServer.yield(.text(text)) }

    func next() async -> EngineIOFrame?? { await written.next() }

    func nextText() async -> String? {
        guard case .text(let text)?? = await next() else { return nil }
        return text
    }
}

/// A WebSocket whose client reads `readable` frames and then stops reading: later writes wait
/// (as a connection's do once the peer's window is full) until the connection is aborted.
private final class StalledWebSocket: SocketIOWebSocketSink, Sendable {
    private struct State {
        var readable: Int
        var stalled: [CheckedContinuation<Void, any Error>] = []
        var aborted = false
        var read: [EngineIOFrame] = []
    }

    private let state: Mutex<State>
    let inbound: AsyncStream<EngineIOFrame>
    let toServer: AsyncStream<EngineIOFrame>.Continuation

    init(readable: Int) {
        state = Mutex(State(readable: readable))
        (inbound, toServer) = AsyncStream.makeStream()
    }

    struct Aborted: Error {}

    var frames: [EngineIOFrame] { state.withLock { $0.read } }
    var waitingWrites: Int { state.withLock { $0.stalled.count } }
    var wasAborted: Bool { state.withLock { $0.aborted } }

    func write(_ frame: EngineIOFrame) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            state.withLock { state in
                if state.aborted {
                    continuation.resume(throwing: Aborted())
                } else if state.readable > 0 {
                    state.readable -= 1
                    state.read.append(frame)
                    continuation.resume()
                } else {
                    state.stalled.append(continuation)
                }
            }
        }
    }

    func close() async {
        abort()
    }

    func refuse(_ refusal: SocketIOPendingSessions.Refusal) async {
        abort()
    }

    func abort() {
        let waiting = state.withLock { state in
            state.aborted = true
            defer { state.stalled = [] }
            return state.stalled
        }
        for continuation in waiting { continuation.resume(throwing: Aborted()) }
        toServer.finish()
    }
}

@Suite(.timeLimit(.minutes(1))) struct SocketIOServerTests {
    static let address = "192.0.2.1"

    static let authenticate: SocketIOAuthenticator = { token in
        token.hasPrefix("good-") ? .success(RealtimeIdentity(user: String(token.dropFirst(5)))) : .failure(SocketIOAuthFailure("invalid token"))
    }

    private func server(
        _ handler: RecordingHandler, pingInterval: Duration = .seconds(25), pingTimeout: Duration = .seconds(20),
        configure: (inout SocketIOConfiguration) -> Void = { _ in }
    ) -> SocketIOServer {
        var configuration = SocketIOConfiguration(pingInterval: pingInterval, pingTimeout: pingTimeout)
        configure(&configuration)
        return SocketIOServer(handler: handler, configuration: configuration, authenticate: Self.authenticate)
    }

    /// Waits (the suite's time limit bounds it) until `condition` holds.
    private func eventually(_ condition: () -> Bool) async throws {
        while !condition() { try await Task.sleep(for: .milliseconds(10)) }
    }

    private func sid(of handshake: String) throws -> String {
        let json = try #require(SocketIOJSON.decode(Array(handshake.utf8.dropFirst())[...]))
        return try #require(json["sid"]?.stringValue)
    }

    @Test func aPollingConversation() async throws {
        let handler = RecordingHandler()
        let server = server(handler)
        let handshake = try server.openPollingSession(fallbackToken: nil, from: Self.address)
        #expect(handshake.hasPrefix(#"0{"sid":""#) && handshake.contains(#""upgrades":["websocket"]"#))
        let sid = try sid(of: handshake)
        #expect(server.sessionCount == 1)

        try await server.post(sid: sid, body: Array(#"40{"token":"good-alice"}"#.utf8))
        // The POST returns once the handler saw the CONNECT.
        #expect(await handler.log == ["connected alice"])
        let connect = try await server.poll(sid: sid)
        #expect(connect.hasPrefix(#"40{"sid":""#))

        try await server.post(sid: sid, body: Array("42[\"echo\",{\"n\":1}]\u{1e}421[\"join-call\",{}]".utf8))
        #expect(await handler.log == ["connected alice", "received echo from alice", "received join-call from alice"])
        #expect(try await server.poll(sid: sid) == "42[\"echoed\",{\"n\":1}]\u{1e}431[{\"ok\":true}]")

        // A held poll is answered by a server → client event.
        async let held = server.poll(sid: sid)
        try await eventually { server.isPollHeld(sid: sid) }
        let client = try #require(await handler.clients.first)
        #expect(client.user == "alice")
        await client.deliver(RealtimeEvent("incoming-call", .object(["callId": .string("c1")])))
        #expect(try await held == #"42["incoming-call",{"callId":"c1"}]"#)

        try await server.post(sid: sid, body: Array("41".utf8))
        #expect(await handler.waitForLog(count: 4).last == "disconnected alice")
        await #expect(throws: EngineIOError.unknownSession) { try await server.poll(sid: sid) }
        #expect(server.sessionCount == 0)
    }

    @Test func unknownSessionsAndBadPayloads() async throws {
        let handler = RecordingHandler()
        let server = server(handler)
        await #expect(throws: EngineIOError.unknownSession) { try await server.poll(sid: "nope") }
        await #expect(throws: EngineIOError.unknownSession) { try await server.post(sid: "nope", body: Array("4x".utf8)) }
        #expect(throws: EngineIOError.unknownSession) { try server.checkWebSocket(sid: "nope") }
        let sid = try sid(of: server.openPollingSession(fallbackToken: "good-bob", from: Self.address))
        await #expect(throws: EngineIOError.badRequest) { try await server.post(sid: sid, body: Array("abc".utf8)) }
        await #expect(throws: EngineIOError.unknownSession) { try await server.poll(sid: sid) }
    }

    @Test func aDirectWebSocketSession() async throws {
        let handler = RecordingHandler()
        let server = server(handler)
        let socket = FakeWebSocket()
        let serving = Task { await server.serveWebSocket(sid: nil, fallbackToken: "good-carol", address: Self.address, inbound: socket.inbound, sink: socket) }
        let handshake = try #require(await socket.nextText())
        #expect(handshake.contains(#""upgrades":[]"#))
        socket.send("40")
        #expect(await socket.nextText()?.hasPrefix(#"40{"sid":""#) == true)
        socket.send(#"423["echo","hi"]"#)
        #expect(await socket.nextText() == #"433["hi"]"#)
        socket.toServer.finish()  // the client goes away
        await serving.value
        #expect(await handler.waitForLog(count: 3) == ["connected carol", "received echo from carol", "disconnected carol"])
        #expect(server.sessionCount == 0)
    }

    @Test func upgradeFromPollingToWebSocket() async throws {
        let handler = RecordingHandler()
        let server = server(handler)
        let sid = try sid(of: server.openPollingSession(fallbackToken: nil, from: Self.address))
        try await server.post(sid: sid, body: Array(#"40{"token":"good-dan"}"#.utf8))
        _ = try await server.poll(sid: sid)
        async let held = server.poll(sid: sid)
        try await eventually { server.isPollHeld(sid: sid) }

        try server.checkWebSocket(sid: sid)
        let probe = FakeWebSocket()
        let serving = Task { await server.serveWebSocket(sid: sid, fallbackToken: nil, address: Self.address, inbound: probe.inbound, sink: probe) }
        probe.send("2probe")
        #expect(await probe.nextText() == "3probe")
        #expect(try await held == "6")
        #expect(throws: EngineIOError.badRequest) { try server.checkWebSocket(sid: sid) }
        probe.send("5")
        probe.send(#"42["echo",1]"#)
        #expect(await probe.nextText() == #"42["echoed",1]"#)
        await #expect(throws: EngineIOError.badRequest) { try await server.poll(sid: sid) }

        let client = try #require(await handler.clients.first)
        await client.deliver(RealtimeEvent("call-ended"))
        #expect(await probe.nextText() == #"42["call-ended",{}]"#)

        server.closeAll(reason: .server("test over"))
        #expect(await probe.nextText() == "1")
        #expect(await probe.next() == .some(nil))
        await serving.value
        #expect(await handler.waitForLog(count: 3).last == "disconnected dan")
    }

    @Test func aFailedProbeLeavesPollingWorking() async throws {
        let handler = RecordingHandler()
        let server = server(handler)
        let sid = try sid(of: server.openPollingSession(fallbackToken: nil, from: Self.address))
        let probe = FakeWebSocket()
        let serving = Task { await server.serveWebSocket(sid: sid, fallbackToken: nil, address: Self.address, inbound: probe.inbound, sink: probe) }
        probe.send("4not a probe")
        #expect(await probe.next() == .some(nil))
        await serving.value
        try await server.post(sid: sid, body: Array(#"40{"token":"good-eve"}"#.utf8))
        #expect(try await server.poll(sid: sid).hasPrefix(#"40{"sid""#))
    }

    @Test func aMissingPongEndsTheSessionAndDisconnects() async throws {
        let handler = RecordingHandler()
        let server = server(handler, pingInterval: .milliseconds(100), pingTimeout: .milliseconds(100))
        let sid = try sid(of: server.openPollingSession(fallbackToken: "good-fay", from: Self.address))
        try await server.post(sid: sid, body: Array("40".utf8))
        #expect(try await server.poll(sid: sid).hasPrefix("40"))
        // The held poll ends with the ping…
        #expect(try await server.poll(sid: sid) == "2")
        // …a pong keeps the session…
        try await server.post(sid: sid, body: Array("3".utf8))
        #expect(try await server.poll(sid: sid) == "2")
        // …and none ends it.
        #expect(await handler.waitForLog(count: 2) == ["connected fay", "disconnected fay"])
        await #expect(throws: EngineIOError.unknownSession) { try await server.poll(sid: sid) }
    }

    @Test func shutdownAnswersHeldPollsWithClose() async throws {
        let handler = RecordingHandler()
        let server = server(handler)
        let sid = try sid(of: server.openPollingSession(fallbackToken: nil, from: Self.address))
        async let held = server.poll(sid: sid)
        try await eventually { server.isPollHeld(sid: sid) }
        server.closeAll(reason: .server("server shutting down"))
        #expect(try await held == "1")
        #expect(server.sessionCount == 0)
    }

    @Test func aDuplicatePollClosesTheSession() async throws {
        let handler = RecordingHandler()
        let server = server(handler)
        let sid = try sid(of: server.openPollingSession(fallbackToken: nil, from: Self.address))
        async let first = server.poll(sid: sid)
        try await eventually { server.isPollHeld(sid: sid) }
        await #expect(throws: EngineIOError.badRequest) { try await server.poll(sid: sid) }
        #expect(try await first == "1")
        await #expect(throws: EngineIOError.unknownSession) { try await server.poll(sid: sid) }
    }

    // MARK: Limits

    @Test func aWebSocketClientThatStopsReadingIsDroppedAndFreed() async throws {
        let handler = RecordingHandler()
        let server = server(handler) { $0.maxQueuedPackets = 8 }
        // Reads the handshake and the CONNECT answer, then nothing.
        let socket = StalledWebSocket(readable: 2)
        let serving = Task {
            await server.serveWebSocket(sid: nil, fallbackToken: "good-gus", address: Self.address, inbound: socket.inbound, sink: socket)
        }
        socket.toServer.yield(.text("40"))
        #expect(await handler.waitForLog(count: 1) == ["connected gus"])
        let client = try #require(await handler.clients.first)
        for index in 0..<100 {
            await client.deliver(RealtimeEvent("webrtc-offer", .object(["n": .number(Double(index))])))
        }
        // The session closed through the normal path: the call service saw the client leave…
        #expect(await handler.waitForLog(count: 2) == ["connected gus", "disconnected gus"])
        // …the connection was dropped under the stuck write, which ends the WebSocket's tasks…
        try await eventually { socket.wasAborted }
        await serving.value
        #expect(socket.waitingWrites == 0)
        #expect(socket.frames.count == 2)
        // …and nothing of the session is left.
        #expect(server.sessionCount == 0 && server.pendingSessionCount == 0)
    }

    @Test func aPollingClientThatStopsPollingIsDropped() async throws {
        let handler = RecordingHandler()
        let server = server(handler) { $0.maxQueuedBytes = 10_000 }
        let sid = try sid(of: server.openPollingSession(fallbackToken: "good-hal", from: Self.address))
        try await server.post(sid: sid, body: Array("40".utf8))
        #expect(try await server.poll(sid: sid).hasPrefix("40"))
        let client = try #require(await handler.clients.first)
        let sdp = String(repeating: "a", count: 1_000)
        for _ in 0..<20 {
            await client.deliver(RealtimeEvent("webrtc-offer", .object(["sdp": .string(sdp)])))
        }
        #expect(await handler.waitForLog(count: 2) == ["connected hal", "disconnected hal"])
        await #expect(throws: EngineIOError.unknownSession) { try await server.poll(sid: sid) }
        #expect(server.sessionCount == 0)
    }

    @Test func aHandshakeWithoutConnectExpires() async throws {
        let handler = RecordingHandler()
        let server = server(handler) { $0.connectTimeout = .milliseconds(100) }
        let sid = try sid(of: server.openPollingSession(fallbackToken: nil, from: Self.address))
        #expect(server.sessionCount == 1 && server.pendingSessionCount == 1)
        // The client never comes back; its session goes by itself.
        try await eventually { server.sessionCount == 0 }
        #expect(server.pendingSessionCount == 0)
        await #expect(throws: EngineIOError.unknownSession) { try await server.poll(sid: sid) }
        #expect(await handler.log.isEmpty)
    }

    @Test func pendingHandshakesAreCappedPerAddressAndInTotal() async throws {
        let handler = RecordingHandler()
        let server = server(handler) {
            $0.maxPendingSessionsPerAddress = 2
            $0.maxPendingSessions = 3
        }
        let first = try sid(of: server.openPollingSession(fallbackToken: nil, from: "192.0.2.1"))
        _ = try server.openPollingSession(fallbackToken: nil, from: "192.0.2.1")
        let refusal = #expect(throws: SocketIOPendingSessions.Refusal.self) {
            try server.openPollingSession(fallbackToken: nil, from: "192.0.2.1")
        }
        #expect(refusal?.scope == .address && refusal?.retryAfterSeconds == 45)
        // A new WebSocket from there is refused the same way, and told so.
        let socket = FakeWebSocket()
        await server.serveWebSocket(sid: nil, fallbackToken: nil, address: "192.0.2.1", inbound: socket.inbound, sink: socket)
        #expect(socket.refusal?.scope == .address)
        #expect(await socket.next() == .some(nil))

        _ = try server.openPollingSession(fallbackToken: nil, from: "192.0.2.2")
        let total = #expect(throws: SocketIOPendingSessions.Refusal.self) {
            try server.openPollingSession(fallbackToken: nil, from: "192.0.2.3")
        }
        #expect(total?.scope == .total)
        #expect(server.sessionCount == 3 && server.pendingSessionCount == 3)

        // A CONNECT gives the slot back (the session stays, no longer pending)…
        try await server.post(sid: first, body: Array(#"40{"token":"good-ida"}"#.utf8))
        #expect(server.sessionCount == 3 && server.pendingSessionCount == 2)
        let refused = try sid(of: server.openPollingSession(fallbackToken: nil, from: "192.0.2.3"))
        // …a refused one does not: the client may try another token until connectTimeout.
        try await server.post(sid: refused, body: Array(#"40{"token":"forged"}"#.utf8))
        #expect(server.pendingSessionCount == 3)
        #expect(throws: SocketIOPendingSessions.Refusal.self) { try server.openPollingSession(fallbackToken: nil, from: "192.0.2.5") }
    }
}
