// The Socket.IO endpoint without its HTTP framework: the session table (sid → session) and
// the entry points an HTTP/WebSocket shell calls for handshakes, polls, POSTs and WebSockets.

import Foundation  // NSLock

/// The sending half of a WebSocket, as the HTTP framework provides it.
public protocol SocketIOWebSocketSink: Sendable {
    /// Returns once the connection took the frame; waits while it holds too much unsent.
    func write(_ frame: EngineIOFrame) async throws
    /// Closes the WebSocket normally.
    func close() async
    /// Drops the connection at once, even with writes waiting (a client that does not read
    /// would never let a close handshake through). Pending and later writes fail.
    func abort()
}

public final class SocketIOServer: @unchecked Sendable {
    public let configuration: SocketIOConfiguration
    private let handler: any RealtimeHandler
    private let authenticate: SocketIOAuthenticator
    private let onClosed: @Sendable (String, EngineIOCloseReason) -> Void
    private let lock = NSLock()
    private var sessions: [String: SocketIOLiveSession] = [:]

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
    }

    public var sessionCount: Int {
        lock.withLock { sessions.count }
    }

    // MARK: Polling

    /// A polling handshake: a new session, answered with its open packet.
    public func openPollingSession(fallbackToken: String?) -> String {
        makeSession(transport: .polling, fallbackToken: fallbackToken).handshake.encoded
    }

    /// A GET poll: answered at once when packets are queued, else held until some are (a ping
    /// comes every pingInterval, so a poll is held that long at most).
    public func poll(sid: String) async throws(EngineIOError) -> String {
        try await session(sid).poll()
    }

    /// A POST payload, returned from once its messages were handled.
    public func post(sid: String, body: [UInt8]) async throws(EngineIOError) {
        try await session(sid).post(body)
    }

    // MARK: WebSocket

    /// Checks, before accepting a WebSocket upgrade, that it can be served: a new session
    /// (no sid), or the upgrade of a polling session.
    public func checkWebSocket(sid: String?) throws(EngineIOError) {
        guard let sid else { return }
        guard try session(sid).canAttachProbe else { throw .badRequest }
    }

    /// Serves one WebSocket until it closes: a new session when `sid` is nil, else the probe
    /// of an upgrade (`2probe`, `3probe`, `5`), which then carries the session.
    public func serveWebSocket<Inbound: AsyncSequence & Sendable>(
        sid: String?, fallbackToken: String?, inbound: Inbound, sink: some SocketIOWebSocketSink
    ) async where Inbound.Element == EngineIOFrame {
        let (commands, writer) = AsyncStream<SocketIOWebSocketCommand>.makeStream()
        let session: SocketIOLiveSession
        let socket: Int
        do {
            if let sid {
                session = try self.session(sid)
                socket = try session.attach(role: .probe, writer: writer, abort: { sink.abort() })
            } else {
                session = makeSession(transport: .websocket, fallbackToken: fallbackToken)
                socket = try session.attach(role: .main, writer: writer, abort: { sink.abort() })
            }
        } catch {
            // Refused after the upgrade (the session changed since `checkWebSocket`).
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
        let session = lock.withLock { sessions[sid] }
        session?.close(reason)
    }

    /// Closes every session (graceful shutdown): held polls are answered with a close packet,
    /// WebSockets get one and are closed.
    public func closeAll(reason: EngineIOCloseReason) {
        // Copied out first: a session calls back into the table when it closes.
        let all = lock.withLock { Array(sessions.values) }
        for session in all { session.close(reason) }
    }

    // MARK: Internals

    private func session(_ sid: String) throws(EngineIOError) -> SocketIOLiveSession {
        guard let session = lock.withLock({ sessions[sid] }), !session.isClosed else { throw .unknownSession }
        return session
    }

    private func makeSession(transport: EngineIOTransport, fallbackToken: String?) -> SocketIOLiveSession {
        lock.withLock {
            var sid = SocketIOIdentifier.random()
            while sessions[sid] != nil { sid = SocketIOIdentifier.random() }
            let machine = SocketIOSession(
                sid: sid, socketID: SocketIOIdentifier.random(), transport: transport, configuration: configuration,
                now: .now, fallbackToken: fallbackToken, authenticate: authenticate)
            let session = SocketIOLiveSession(machine: machine, handler: handler) { [weak self] sid, reason in
                self?.remove(sid)
                self?.onClosed(sid, reason)
            }
            sessions[sid] = session
            return session
        }
    }

    private func remove(_ sid: String) {
        lock.withLock { _ = sessions.removeValue(forKey: sid) }
    }

    static func frame(_ packet: EngineIOPacket) -> EngineIOFrame {
        if case .binaryMessage(let bytes) = packet { return .binary(bytes) }
        return .text(packet.encoded)
    }
}
