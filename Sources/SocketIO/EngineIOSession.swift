// The server side of one Engine.IO v4 session as a state machine (sans-IO): requests, frames and
// the time go in; packets to write, polls to answer and closes come out of `pollOutput()`.
// It never reads a clock, so tests drive heartbeats and upgrades with a fake one.

public typealias EngineIOInstant = ContinuousClock.Instant

/// A WebSocket message as the transport delivers it.
public enum EngineIOFrame: Equatable, Sendable {
    case text(String)
    case binary([UInt8])
}

public enum EngineIOCloseReason: Equatable, Sendable, CustomStringConvertible {
    /// The client sent a close packet.
    case clientClose
    /// The session's WebSocket went away.
    case transportClose
    /// No pong within pingTimeout of a ping.
    case pingTimeout
    /// A malformed packet, payload or request sequence.
    case protocolError(String)
    /// A second GET while one was held.
    case duplicatePoll
    case payloadTooLarge
    /// More than `maxQueuedPackets` or `maxQueuedBytes` waited for the client: it does not read
    /// (or poll) as fast as events come.
    case sendQueueFull
    /// The server ended the session (Socket.IO disconnect, shutdown, connect timeout).
    case server(String)

    public var description: String {
        switch self {
        case .clientClose: "client close"
        case .transportClose: "transport close"
        case .pingTimeout: "ping timeout"
        case .protocolError(let why): "protocol error: \(why)"
        case .duplicatePoll: "duplicate poll"
        case .payloadTooLarge: "payload too large"
        case .sendQueueFull: "send queue full (the client does not read)"
        case .server(let why): why
        }
    }
}

public enum EngineIOOutput: Equatable, Sendable {
    /// Answer the held GET with this body.
    case answerPoll(String)
    /// Write these packets on the session's WebSocket, one frame each, in order, and report
    /// each with `webSocketWritten` once the connection took it: until then it counts against
    /// the send queue's limits.
    case writeWebSocket([EngineIOPacket])
    /// Write these packets on the probe WebSocket of an upgrade in progress.
    case writeProbe([EngineIOPacket])
    /// The upgrade completed: the probe WebSocket is now the session's WebSocket.
    case promoteProbe
    /// Close the probe WebSocket (a failed or abandoned upgrade).
    case closeProbe
    /// Close the session's WebSocket after what was written before.
    case closeWebSocket
    /// Drop the session's WebSocket now, without writing what is still queued or a close frame:
    /// its client does not read, so nothing more would reach it (`sendQueueFull`).
    case abortWebSocket
    /// A `.message` or `.binaryMessage` for the layer above.
    case received(EngineIOPacket)
    /// The session is over; emitted once, last.
    case closed(EngineIOCloseReason)
}

/// What to do with a GET poll.
public enum EngineIOPollStart: Equatable, Sendable {
    /// Answer now with this body.
    case answer(String)
    /// Hold the request; an `.answerPoll` output will answer it.
    case hold
}

public struct EngineIOSession: Sendable {
    public enum Phase: Equatable, Sendable {
        case polling
        /// A probe WebSocket is attached; `probed` once it has answered `2probe`.
        case upgrading(probed: Bool)
        case websocket
        case closed(EngineIOCloseReason)
    }

    public let sid: String
    public let configuration: SocketIOConfiguration
    /// The open packet that answers a polling handshake (a WebSocket gets it as first frame).
    public let handshake: EngineIOPacket
    public private(set) var phase: Phase
    /// Packets waiting for a poll (polling) or, briefly, for the upgrade to complete.
    private var outbox: [EngineIOPacket] = []
    private var outboxBytes = 0
    /// Packets handed to the WebSocket (`.writeWebSocket`) and not yet reported written: they
    /// wait in the shell's writer while the client does not read.
    private var unwrittenPackets = 0
    private var unwrittenBytes = 0
    /// A GET is held. Invariant: when true, `outbox` is empty (a held poll is answered as soon
    /// as anything is queued).
    public private(set) var isPollHeld = false
    private var isPostInProgress = false
    private var nextPing: EngineIOInstant?
    private var pongDeadline: EngineIOInstant?
    private var upgradeDeadline: EngineIOInstant?
    private var outputs: [EngineIOOutput] = []
    private var outputsRead = 0

    /// A new session on `transport`. A polling handshake is answered with `handshake`; on a
    /// WebSocket the handshake is the first output.
    public init(sid: String, transport: EngineIOTransport, configuration: SocketIOConfiguration, now: EngineIOInstant) {
        self.sid = sid
        self.configuration = configuration
        self.phase = transport == .polling ? .polling : .websocket
        self.handshake = Self.handshake(sid: sid, transport: transport, configuration: configuration)
        // v4 heartbeat: the server pings first, pingInterval after the handshake.
        self.nextPing = now + configuration.pingInterval
        if transport == .websocket {
            writeWebSocket([handshake])
        }
    }

    /// The open packet: `0{"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}`.
    /// Only a polling session can upgrade.
    public static func handshake(
        sid: String, transport: EngineIOTransport, configuration: SocketIOConfiguration
    ) -> EngineIOPacket {
        let upgrades = transport == .polling ? #"["websocket"]"# : "[]"
        return .open(
            #"{"sid":"\#(sid)","upgrades":\#(upgrades),"pingInterval":\#(configuration.pingInterval.engineIOMilliseconds),"#
                + #""pingTimeout":\#(configuration.pingTimeout.engineIOMilliseconds),"maxPayload":\#(configuration.maxPayload)}"#)
    }

    public var isClosed: Bool {
        if case .closed = phase { return true }
        return false
    }

    /// Packets waiting for the client: in the poll buffer, or on their way out of the WebSocket.
    public var queuedPackets: Int { outbox.count + unwrittenPackets }
    /// Their bytes (`EngineIOPacket.byteCount`).
    public var queuedBytes: Int { outboxBytes + unwrittenBytes }

    /// The next instant `handleTimeout` has work to do, if any.
    public var nextDeadline: EngineIOInstant? {
        guard !isClosed else { return nil }
        return [nextPing, pongDeadline, upgradeDeadline].compactMap { $0 }.min()
    }

    public mutating func pollOutput() -> EngineIOOutput? {
        guard outputsRead < outputs.count else {
            outputs.removeAll(keepingCapacity: true)
            outputsRead = 0
            return nil
        }
        defer { outputsRead += 1 }
        return outputs[outputsRead]
    }

    // MARK: Polling

    /// A GET on the polling transport.
    public mutating func poll(now: EngineIOInstant) throws(EngineIOError) -> EngineIOPollStart {
        switch phase {
        case .closed: throw .unknownSession
        // After an upgrade the session's transport is the WebSocket (reference: 400, session kept).
        case .websocket: throw .badRequest
        case .polling, .upgrading: break
        }
        if isPollHeld {
            // Two GETs at once: the client is confused or hostile; the reference server closes.
            close(.duplicatePoll)
            throw .badRequest
        }
        if !outbox.isEmpty {
            return .answer(EngineIOPayload.encode(takeOutbox()))
        }
        if case .upgrading(probed: true) = phase {
            // Ends the polling cycle so that the client can send `5` on the probe.
            return .answer(EngineIOPacket.noop.encoded)
        }
        isPollHeld = true
        return .hold
    }

    /// A POST body on the polling transport. Call `finishPost()` once the messages it produced
    /// have been handled: POSTs of one session are served one at a time, in order.
    public mutating func receivePost(_ body: [UInt8], now: EngineIOInstant) throws(EngineIOError) {
        switch phase {
        case .closed: throw .unknownSession
        case .websocket: throw .badRequest
        case .polling, .upgrading: break
        }
        if isPostInProgress {
            close(.protocolError("overlapping POST requests"))
            throw .badRequest
        }
        let packets: [EngineIOPacket]
        do {
            packets = try EngineIOPayload.decode(body, maxPayload: configuration.maxPayload)
        } catch .tooLarge {
            close(.payloadTooLarge)
            throw .payloadTooLarge
        } catch {
            close(.protocolError(error.description))
            throw .badRequest
        }
        isPostInProgress = true
        for packet in packets {
            guard !isClosed else { break }
            receive(packet, now: now)
        }
    }

    public mutating func finishPost() {
        isPostInProgress = false
    }

    // MARK: WebSocket

    /// A message on the session's WebSocket.
    public mutating func receiveWebSocket(_ frame: EngineIOFrame, now: EngineIOInstant) {
        guard phase == .websocket else { return }
        switch decode(frame) {
        case .packet(let packet): receive(packet, now: now)
        case .refused(let reason): close(reason)
        }
    }

    /// The WebSocket took `packet`, one of a `.writeWebSocket` output's, in order: it no longer
    /// counts against the send queue's limits.
    public mutating func webSocketWritten(_ packet: EngineIOPacket) {
        guard !isClosed, unwrittenPackets > 0 else { return }
        unwrittenPackets -= 1
        unwrittenBytes = max(0, unwrittenBytes - packet.byteCount)
    }

    /// The session's WebSocket closed.
    public mutating func webSocketClosed(now: EngineIOInstant) {
        guard phase == .websocket else { return }
        close(.transportClose)
    }

    // MARK: Upgrade (engine.io-protocol v4, "Upgrade")

    /// A WebSocket opened with this session's sid: it becomes the probe. Only a polling session
    /// can upgrade, once.
    public mutating func attachProbe(now: EngineIOInstant) throws(EngineIOError) {
        switch phase {
        case .closed: throw .unknownSession
        case .upgrading, .websocket: throw .badRequest
        case .polling: break
        }
        phase = .upgrading(probed: false)
        upgradeDeadline = now + configuration.upgradeTimeout
    }

    /// A message on the probe WebSocket: `2probe`, then `5`; anything else ends the upgrade.
    public mutating func receiveProbe(_ frame: EngineIOFrame, now: EngineIOInstant) {
        guard case .upgrading(let probed) = phase else { return }
        switch (probed, decode(frame)) {
        case (false, .packet(.ping("probe"))):
            phase = .upgrading(probed: true)
            outputs.append(.writeProbe([.pong("probe")]))
            answerHeldPoll(with: .noop)
        case (true, .packet(.upgrade)):
            phase = .websocket
            upgradeDeadline = nil
            answerHeldPoll(with: .noop)
            outputs.append(.promoteProbe)
            flush()
        default:
            abandonProbe()
        }
    }

    /// The probe WebSocket closed before the upgrade completed; polling goes on.
    public mutating func probeClosed(now: EngineIOInstant) {
        guard case .upgrading = phase else { return }
        phase = .polling
        upgradeDeadline = nil
    }

    // MARK: Sending, timers, closing

    /// Queues a packet for the client (a message, in practice). A client that lets more than
    /// `maxQueuedPackets` or `maxQueuedBytes` wait is disconnected (`sendQueueFull`) instead:
    /// nothing else would ever stop the queue from growing while it does not read. A packet
    /// over the byte limit on its own still goes to a client with nothing queued.
    public mutating func send(_ packet: EngineIOPacket) {
        guard !isClosed else { return }
        let size = packet.byteCount
        if queuedPackets >= configuration.maxQueuedPackets
            || (queuedPackets > 0 && queuedBytes + size > configuration.maxQueuedBytes)
        {
            close(.sendQueueFull)
            return
        }
        outbox.append(packet)
        outboxBytes += size
        flush()
    }

    public mutating func handleTimeout(now: EngineIOInstant) {
        guard !isClosed else { return }
        if let deadline = pongDeadline, now >= deadline {
            close(.pingTimeout)
            return
        }
        if let deadline = upgradeDeadline, now >= deadline {
            abandonProbe()
        }
        if let due = nextPing, now >= due {
            nextPing = nil
            pongDeadline = now + configuration.pingTimeout
            send(.ping(""))
        }
    }

    /// Ends the session. A held poll is answered with a close packet, or with a noop when the
    /// client itself closed (the reference server's behaviour, which clients expect).
    public mutating func close(_ reason: EngineIOCloseReason) {
        guard !isClosed else { return }
        switch phase {
        case .polling, .upgrading:
            answerHeldPoll(with: reason == .clientClose ? .noop : .close)
            if case .upgrading = phase { outputs.append(.closeProbe) }
        case .websocket:
            if reason == .sendQueueFull {
                outputs.append(.abortWebSocket)
            } else if reason != .transportClose {
                if reason != .clientClose { writeWebSocket([.close]) }
                outputs.append(.closeWebSocket)
            }
        case .closed:
            break
        }
        phase = .closed(reason)
        _ = takeOutbox()
        unwrittenPackets = 0
        unwrittenBytes = 0
        nextPing = nil
        pongDeadline = nil
        upgradeDeadline = nil
        outputs.append(.closed(reason))
    }

    // MARK: Internals

    private mutating func receive(_ packet: EngineIOPacket, now: EngineIOInstant) {
        switch packet {
        case .message, .binaryMessage:
            outputs.append(.received(packet))
        case .pong:
            // A pong answers the outstanding ping; the next ping is pingInterval from now.
            guard pongDeadline != nil else { return }
            pongDeadline = nil
            nextPing = now + configuration.pingInterval
        case .ping(let data):
            // v4 clients do not ping, but answering costs nothing and keeps such a client alive.
            send(.pong(data))
        case .close:
            close(.clientClose)
        case .noop:
            break
        case .open, .upgrade:
            close(.protocolError("unexpected packet \(packet.encoded.prefix(1)) from the client"))
        }
    }

    private enum Decoded {
        case packet(EngineIOPacket)
        case refused(EngineIOCloseReason)
    }

    private func decode(_ frame: EngineIOFrame) -> Decoded {
        switch frame {
        case .text(let text):
            guard text.utf8.count <= configuration.maxPayload else { return .refused(.payloadTooLarge) }
            do {
                return .packet(try EngineIOPacket(text: text[...], base64Binary: false))
            } catch {
                return .refused(.protocolError(error.description))
            }
        case .binary(let bytes):
            guard bytes.count <= configuration.maxPayload else { return .refused(.payloadTooLarge) }
            return .packet(.binaryMessage(bytes))
        }
    }

    private mutating func flush() {
        guard !outbox.isEmpty else { return }
        switch phase {
        case .websocket:
            writeWebSocket(takeOutbox())
        case .polling, .upgrading:
            guard isPollHeld else { return }
            isPollHeld = false
            outputs.append(.answerPoll(EngineIOPayload.encode(takeOutbox())))
        case .closed:
            _ = takeOutbox()
        }
    }

    private mutating func takeOutbox() -> [EngineIOPacket] {
        defer {
            outbox = []
            outboxBytes = 0
        }
        return outbox
    }

    /// Every write on the session's WebSocket goes through here, so that each packet the shell
    /// reports written was counted.
    private mutating func writeWebSocket(_ packets: [EngineIOPacket]) {
        unwrittenPackets += packets.count
        unwrittenBytes += packets.reduce(0) { $0 + $1.byteCount }
        outputs.append(.writeWebSocket(packets))
    }

    private mutating func answerHeldPoll(with packet: EngineIOPacket) {
        guard isPollHeld else { return }
        isPollHeld = false
        outputs.append(.answerPoll(packet.encoded))
    }

    private mutating func abandonProbe() {
        guard case .upgrading = phase else { return }
        phase = .polling
        upgradeDeadline = nil
        outputs.append(.closeProbe)
    }
}
