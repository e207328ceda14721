// The I/O shell around one SocketIOSession: a mutex over the state machine, the held poll, the
// WebSocket writers, the timer, and one serial task that calls the RealtimeHandler, so that a
// client's connected → events → disconnected reach it in order whatever transport carried them.

import SocketIO
import Synchronization

/// What a WebSocket writer task is told to do.
enum SocketIOWebSocketCommand: Sendable {
    /// Write the packets; with `reportWritten`, report each to `SocketIOLiveSession.written`
    /// (the session's own writes, which count against its send queue; not a probe's).
    case write([EngineIOPacket], reportWritten: Bool)
    case close
}

/// A registered WebSocket: its writer task's commands, and how to drop its connection.
private struct SocketIOWebSocket {
    let id: Int
    let writer: AsyncStream<SocketIOWebSocketCommand>.Continuation
    let abort: @Sendable () -> Void
}

final class SocketIOLiveSession: Sendable {
    /// Work for the serial handler task.
    private enum Job: Sendable {
        case effect(SocketIOSessionOutput)
        /// Resumed once every job before it is done: lets a POST or a WebSocket reader wait
        /// until what it received was handled (backpressure, and order across requests).
        case barrier(CheckedContinuation<Void, Never>)
    }

    /// What changes, behind one mutex; nothing awaits while holding it.
    private struct State {
        var machine: SocketIOSession
        var heldPoll: CheckedContinuation<String, Never>?
        /// An answer produced between a `.hold` decision and the continuation's registration.
        var earlyAnswer: String?
        var mainSocket: SocketIOWebSocket?
        var probeSocket: SocketIOWebSocket?
        var nextSocketID = 0
        var timer: (deadline: EngineIOInstant, task: Task<Void, Never>)?
    }

    let sid: String
    private let clock = ContinuousClock()
    private let state: Mutex<State>
    private let jobs: AsyncStream<Job>.Continuation
    private let onConnected: @Sendable (String) -> Void
    private let onClosed: @Sendable (String, EngineIOCloseReason) -> Void
    /// The client's ClientAddress key (per-address limits).
    let address: String

    /// `onConnected` learns that the client joined the namespace (it no longer counts as a
    /// pending handshake); `onClosed`, once, that the session is over. Both are called with the
    /// session's lock held.
    init(
        machine: SocketIOSession, handler: any RealtimeHandler, authenticate: @escaping SocketIOAuthenticator, address: String,
        onConnected: @escaping @Sendable (String) -> Void,
        onClosed: @escaping @Sendable (String, EngineIOCloseReason) -> Void
    ) {
        self.sid = machine.sid
        self.address = address
        self.state = Mutex(State(machine: machine))
        self.onConnected = onConnected
        self.onClosed = onClosed
        let (stream, continuation) = AsyncStream<Job>.makeStream()
        self.jobs = continuation
        let socketID = machine.socketID
        Task { await Self.runJobs(stream, handler: handler, authenticate: authenticate, socketID: socketID, session: self) }
        // The connect timeout (and the first ping) run from the handshake on, whether or not the
        // client ever comes back: a polling handshake alone must expire.
        locked { armTimer(&$0) }
    }

    var handshake: EngineIOPacket { locked { $0.machine.handshake } }
    var isClosed: Bool { locked { $0.machine.isClosed } }
    var isPollHeld: Bool { locked { $0.heldPoll != nil } }
    var canAttachProbe: Bool { locked { $0.machine.engine.phase == .polling } }

    // MARK: Polling

    func poll() async throws(EngineIOError) -> String {
        let start: Result<EngineIOPollStart, EngineIOError> = update { session in
            do throws(EngineIOError) { return .success(try session.machine.poll(now: clock.now)) } catch { return .failure(error) }
        }
        switch start {
        case .failure(let error):
            throw error
        case .success(.answer(let body)):
            return body
        case .success(.hold):
            return await withCheckedContinuation { continuation in
                locked { session in
                    if let answer = session.earlyAnswer {
                        session.earlyAnswer = nil
                        continuation.resume(returning: answer)
                    } else {
                        session.heldPoll = continuation
                    }
                }
            }
        }
    }

    func post(_ body: [UInt8]) async throws(EngineIOError) {
        let result: Result<Void, EngineIOError> = update { session in
            do throws(EngineIOError) { return .success(try session.machine.receivePost(body, now: clock.now)) } catch { return .failure(error) }
        }
        if case .success = result {
            await barrier()
            update { $0.machine.finishPost() }
        }
        try result.get()
    }

    // MARK: WebSocket

    enum SocketRole { case main, probe }

    /// Registers a WebSocket writer, and `abort`, which drops that WebSocket's connection. A
    /// probe must first be accepted by the state machine.
    func attach(
        role: SocketRole, writer: AsyncStream<SocketIOWebSocketCommand>.Continuation, abort: @escaping @Sendable () -> Void
    ) throws(EngineIOError) -> Int {
        let result: Result<Int, EngineIOError> = update { session in
            session.nextSocketID += 1
            let socket = SocketIOWebSocket(id: session.nextSocketID, writer: writer, abort: abort)
            switch role {
            case .main:
                session.mainSocket = socket
            case .probe:
                do throws(EngineIOError) { try session.machine.attachProbe(now: clock.now) } catch { return .failure(error) }
                session.probeSocket = socket
            }
            return .success(socket.id)
        }
        return try result.get()
    }

    /// The WebSocket took `packet` of a `.write(_, reportWritten: true)`.
    func written(_ packet: EngineIOPacket) {
        update { $0.machine.webSocketWritten(packet) }
    }

    /// A message on WebSocket `socket`, whichever role it has now (a probe becomes the main
    /// socket when the upgrade completes).
    func receive(_ frame: EngineIOFrame, on socket: Int) async {
        update { session in
            let now = clock.now
            if session.mainSocket?.id == socket {
                session.machine.receiveWebSocket(frame, now: now)
            } else if session.probeSocket?.id == socket {
                session.machine.receiveProbe(frame, now: now)
            }
        }
        await barrier()
    }

    func socketClosed(_ socket: Int) async {
        update { session in
            let now = clock.now
            if session.mainSocket?.id == socket {
                session.mainSocket = nil
                session.machine.webSocketClosed(now: now)
            } else if session.probeSocket?.id == socket {
                session.probeSocket = nil
                session.machine.probeClosed(now: now)
            }
        }
    }

    // MARK: Server side

    func emit(_ event: RealtimeEvent) {
        update { $0.machine.emit(event) }
    }

    func acknowledge(_ ackID: UInt64, with arguments: [JSONValue]) {
        update { $0.machine.acknowledge(ackID, with: arguments) }
    }

    func close(_ reason: EngineIOCloseReason) {
        update { $0.machine.close(reason) }
    }

    func authenticated(_ result: Result<RealtimeIdentity, SocketIOAuthFailure>) {
        update { $0.machine.authenticated(result) }
    }

    // MARK: Internals

    private func locked<T: Sendable>(_ body: (inout State) -> T) -> T {
        state.withLock { body(&$0) }
    }

    /// Runs `body` on the state machine under the mutex, then performs what it output and
    /// re-arms the timer.
    @discardableResult
    private func update<T: Sendable>(_ body: (inout State) -> T) -> T {
        state.withLock { state in
            let result = body(&state)
            performOutputs(&state)
            armTimer(&state)
            return result
        }
    }

    /// Called under the mutex. Writes are only yields and resumes, which never block.
    private func performOutputs(_ state: inout State) {
        while let output = state.machine.pollOutput() {
            switch output {
            case .answerPoll(let body):
                if let poll = state.heldPoll {
                    state.heldPoll = nil
                    poll.resume(returning: body)
                } else {
                    state.earlyAnswer = body
                }
            case .writeWebSocket(let packets):
                state.mainSocket?.writer.yield(.write(packets, reportWritten: true))
            case .writeProbe(let packets):
                state.probeSocket?.writer.yield(.write(packets, reportWritten: false))
            case .promoteProbe:
                state.mainSocket = state.probeSocket
                state.probeSocket = nil
            case .closeProbe:
                state.probeSocket?.writer.yield(.close)
                state.probeSocket?.writer.finish()
                state.probeSocket = nil
            case .closeWebSocket:
                state.mainSocket?.writer.yield(.close)
                state.mainSocket?.writer.finish()
                state.mainSocket = nil
            case .abortWebSocket:
                // The writer is stuck behind a client that does not read: what it still holds is
                // dropped with the stream, and the connection is closed under it.
                state.mainSocket?.writer.finish()
                state.mainSocket?.abort()
                state.mainSocket = nil
            case .connected:
                onConnected(sid)
                jobs.yield(.effect(output))
            case .authenticate, .event, .disconnected:
                jobs.yield(.effect(output))
            case .closed(let reason):
                jobs.yield(.effect(output))
                jobs.finish()
                state.timer?.task.cancel()
                state.timer = nil
                onClosed(sid, reason)
            }
        }
    }

    /// Called under the mutex: makes sure a timer fires at the machine's next deadline. A
    /// timer set for an earlier instant is kept (it fires, finds nothing due, and re-arms).
    private func armTimer(_ state: inout State) {
        guard let deadline = state.machine.nextDeadline else { return }
        if let timer = state.timer, timer.deadline <= deadline { return }
        state.timer?.task.cancel()
        let clock = self.clock
        state.timer = (deadline, Task { [weak self] in
            do { try await Task.sleep(until: deadline, clock: clock) } catch { return }
            self?.fire()
        })
    }

    private func fire() {
        update { session in
            session.timer = nil
            session.machine.handleTimeout(now: clock.now)
        }
    }

    private func barrier() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if case .terminated = jobs.yield(.barrier(continuation)) {
                continuation.resume()
            }
        }
    }

    /// The serial handler task: one per session, ends after the session's `.closed`.
    private static func runJobs(
        _ jobs: AsyncStream<Job>, handler: any RealtimeHandler, authenticate: SocketIOAuthenticator, socketID: String,
        session: SocketIOLiveSession
    ) async {
        var client: SocketIOClient?
        for await job in jobs {
            switch job {
            case .barrier(let continuation):
                continuation.resume()
            case .effect(.authenticate(let token)):
                // In line with the other jobs: events the client sends after its CONNECT wait
                // for the answer (a Matrix token's check is bounded by the homeserver client).
                session.authenticated(await authenticate(token))
            case .effect(.connected(let user)):
                let connected = SocketIOClient(
                    connectionID: socketID, user: user.user, isAdmin: user.isAdmin, address: session.address, session: session)
                do {
                    try await handler.connected(connected)
                    client = connected
                } catch {
                    // Over a connection limit: say why, then end the session.
                    session.emit(RealtimeEvent("error", .object([
                        "code": .string(error.code), "message": .string(error.message),
                        "retryAfter": .number(Double(error.retryAfter)),
                    ])))
                    session.close(.server(error.message))
                }
            case .effect(.event(let event, let ackID)):
                guard let client else { continue }
                let reply = await handler.received(event, from: client)
                if let ackID {
                    session.acknowledge(ackID, with: [SocketIOSession.acknowledgement(for: reply)])
                } else if let reply {
                    session.emit(reply)
                }
            case .effect(.disconnected):
                if let gone = client {
                    client = nil
                    await handler.disconnected(gone)
                }
            case .effect:
                break
            }
        }
    }
}
