// The Socket.IO endpoint without its HTTP framework: the session table (sid → session), the
// count of sessions still waiting for their CONNECT, and the entry points an HTTP/WebSocket shell
// calls for handshakes, polls, POSTs and WebSockets.

import Synchronization
import SocketIO

/// The sending half of a WebSocket, as the HTTP framework provides it.
public protocol SocketIOWebSocketSink: Sendable {
    /// Returns once the connection took the frame; waits while it holds too much unsent.
    func write(_ frame: EngineIOFrame) async throws
    /// Closes the WebSocket normally.
    func close() async
    /// Closes a new WebSocket that may not open a session (too many pending handshakes), saying
    /// when to come back. The upgrade was already accepted: a refused upgrade could only be a
    /// bare `400`, which tells a client nothing.
    func refuse(_ refusal: SocketIOPendingSessions.Refusal) async
    /// Drops the connection at once, even with writes waiting (a client that does not read
    /// would never let a close handshake through). Pending and later writes fail.
    func abort()
}

public final class SocketIOServer: Sendable {
    public let configuration: SocketIOConfiguration
    private let handler: any RealtimeHandler
    private let authenticate: SocketIOAuthenticator
    private let onClosed: @Sendable (String, EngineIOCloseReason) -> Void
    private let clock = ContinuousClock()

    private struct State {
        var sessions: [String: SocketIOLiveSession] = [:]
        /// The sessions of `sessions` that have not connected to the namespace yet.
        var pending: SocketIOPendingSessions
    }

    private let state: Mutex<State>

    /// `onClosed` learns of every session's end and why (for logs).
    public init(
        handler: any RealtimeHandler, configuration: SocketIOConfiguration = .init(),
        authenticate: @escaping SocketIOAuthenticator,
        onClosed: @escaping @Sendable (_ sid: String, _ reason: EngineIOCloseReason) -> Void = { _, _ in }
    ) {
        self.handler = handler
        self.configuration = configuration
        self.authenticate = authenticate
        self.onClosed = onClosed
        self.state = Mutex(State(pending: SocketIOPendingSessions(configuration: configuration)))
    }

    public var sessionCount: Int {
        state.withLock { $0.sessions.count }
    }

    /// Sessions that have not connected to the namespace yet (see `SocketIOPendingSessions`).
    public var pendingSessionCount: Int {
        state.withLock { $0.pending.count }
    }

    // MARK: Polling

    /// A polling handshake from `address` (a `ClientAddress` key): a new session,
    /// answered with its open packet, unless too many handshakes wait for their CONNECT.
    public func openPollingSession(fallbackToken: String?, from address: String) throws(SocketIOPendingSessions.Refusal) -> String {
        try makeSession(transport: .polling, fallbackToken: fallbackToken, address: address).handshake.encoded
    }

    /// A GET poll: answered at once when packets are queued, else held until some are (a ping
    /// comes every pingInterval, so a poll is held that long at most).
    public func poll(sid: String) async throws(EngineIOError) -> String {
        try await session(sid).poll()
    }

    /// Whether a GET poll of `sid` is being held (tests wait on it rather than sleeping).
    func isPollHeld(sid: String) -> Bool {
        state.withLock { $0.sessions[sid] }?.isPollHeld ?? false
    }

    /// A POST payload, returned from once its messages were handled.
    public func post(sid: String, body: [UInt8]) async throws(EngineIOError) {
        try await session(sid).post(body)
    }

    // MARK: WebSocket

    /// Checks, before accepting a WebSocket upgrade, that it can be served: the upgrade of a
    /// polling session. (A new session is always upgraded, then refused by `refuse` if there are
    /// too many pending handshakes.)
    public func checkWebSocket(sid: String) throws(EngineIOError) {
        guard try session(sid).canAttachProbe else { throw .badRequest }
    }

    /// Serves one WebSocket until it closes: a new session from `address` when `sid` is nil
    /// (refused while too many handshakes from there wait for their CONNECT), else the probe of
    /// an upgrade (`2probe`, `3probe`, `5`), which then carries the session.
    public func serveWebSocket<Inbound: AsyncSequence & Sendable>(
        sid: String?, fallbackToken: String?, address: String, inbound: Inbound, sink: some SocketIOWebSocketSink
    ) async where Inbound.Element == EngineIOFrame {
        let (commands, writer) = AsyncStream<SocketIOWebSocketCommand>.makeStream()
        let session: SocketIOLiveSession
        if let sid {
            guard let found = try? self.session(sid) else {
                await sink.close()
                return
            }
            session = found
        } else {
            do {
                session = try makeSession(transport: .websocket, fallbackToken: fallbackToken, address: address)
            } catch {
                await sink.refuse(error)
                return
            }
        }
        guard let socket = try? session.attach(role: sid == nil ? .main : .probe, writer: writer, abort: { sink.abort() }) else {
            // Refused after the upgrade: the session changed since `checkWebSocket`.
            await sink.close()
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await command in commands {
                    switch command {
                    case .write(let packets, let reportWritten):
                        for packet in packets {
                            do { try await sink.write(Self.frame(packet)) } catch { return }
                            if reportWritten { session.written(packet) }
                        }
                    case .close:
                        await sink.close()
                        return
                    }
                }
            }
            group.addTask {
                do {
                    for try await frame in inbound {
                        await session.receive(frame, on: socket)
                    }
                } catch {}
                await session.socketClosed(socket)
                writer.finish()
            }
            // Whichever ends first ends the other: a server-side close stops the reader, a
            // client-side close stops the writer.
            await group.next()
            group.cancelAll()
        }
        writer.finish()
    }

    // MARK: Closing

    public func close(sid: String, reason: EngineIOCloseReason) {
        let session = state.withLock { $0.sessions[sid] }
        session?.close(reason)
    }

    /// Closes every session (graceful shutdown): held polls are answered with a close packet,
    /// WebSockets get one and are closed.
    public func closeAll(reason: EngineIOCloseReason) {
        // Copied out first: a session calls back into the table when it closes.
        let all = state.withLock { Array($0.sessions.values) }
        for session in all { session.close(reason) }
    }

    // MARK: Internals

    private func session(_ sid: String) throws(EngineIOError) -> SocketIOLiveSession {
        guard let session = state.withLock({ $0.sessions[sid] }), !session.isClosed else { throw .unknownSession }
        return session
    }

    /// A new session, counted as pending until its CONNECT succeeds. It arms its own connect
    /// timeout, so that one whose client never comes back is closed and freed.
    private func makeSession(
        transport: EngineIOTransport, fallbackToken: String?, address: String
    ) throws(SocketIOPendingSessions.Refusal) -> SocketIOLiveSession {
        let now = clock.now
        return try state.withLock { state throws(SocketIOPendingSessions.Refusal) in
            var sid = SocketIOIdentifier.random()
            while state.sessions[sid] != nil { sid = SocketIOIdentifier.random() }
            try state.pending.admit(sid, from: address, now: now)
            let machine = SocketIOSession(
                sid: sid, socketID: SocketIOIdentifier.random(), transport: transport, configuration: configuration,
                now: now, fallbackToken: fallbackToken)
            // The callbacks run under the session's lock and take the table's: never the other
            // way round (the session is not reachable by anyone else before it is in the table).
            let session = SocketIOLiveSession(machine: machine, handler: handler, authenticate: authenticate, address: address) { [weak self] sid in
                self?.state.withLock { $0.pending.remove(sid) }
            } onClosed: { [weak self] sid, reason in
                self?.remove(sid)
                self?.onClosed(sid, reason)
            }
            state.sessions[sid] = session
            return session
        }
    }

    private func remove(_ sid: String) {
        state.withLock { state in
            _ = state.sessions.removeValue(forKey: sid)
            state.pending.remove(sid)
        }
    }

    static func frame(_ packet: EngineIOPacket) -> EngineIOFrame {
        if case .binaryMessage(let bytes) = packet { return .binary(bytes) }
        return .text(packet.encoded)
    }
}
