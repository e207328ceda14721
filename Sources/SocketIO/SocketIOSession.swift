// One Socket.IO v5 connection on top of its Engine.IO session, as a state machine (sans-IO):
// the main namespace's CONNECT with `auth: {token}`, events and acks in, events out, and the
// outputs a transport shell executes (writes) or hands to the RealtimeHandler (effects).

/// Why a CONNECT was refused; the message goes to the client in CONNECT_ERROR.
public struct SocketIOAuthFailure: Error, Equatable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// Verifies a bearer token and returns who it names. The shell runs it for an `.authenticate`
/// output (it may ask another server: a Matrix homeserver) and hands the result back with
/// `SocketIOSession.authenticated`.
public typealias SocketIOAuthenticator = @Sendable (String) async -> Result<RealtimeIdentity, SocketIOAuthFailure>

public enum SocketIOSessionOutput: Equatable, Sendable {
    // Writes: the shell performs them at once, in order.
    case answerPoll(String)
    case writeWebSocket([EngineIOPacket])
    case writeProbe([EngineIOPacket])
    case promoteProbe
    case closeProbe
    case closeWebSocket
    case abortWebSocket
    // Effects: the shell awaits the RealtimeHandler for them, in order.
    /// Check this CONNECT's token and answer with `authenticated`.
    case authenticate(token: String)
    /// The client joined the main namespace as `user`.
    case connected(user: RealtimeIdentity)
    /// A client event; answer `ackID` with `acknowledge` when there is one.
    case event(RealtimeEvent, ackID: UInt64?)
    /// The connected client is gone (left the namespace or the session closed); once.
    case disconnected
    /// The session is over; last output.
    case closed(EngineIOCloseReason)
}

public struct SocketIOSession: Sendable {
    public enum SocketState: Equatable, Sendable {
        case awaitingConnect
        /// A CONNECT's token is being checked (`.authenticate` was output).
        case authenticating
        case connected(user: RealtimeIdentity)
        case disconnected
    }

    public private(set) var engine: EngineIOSession
    /// The Socket.IO socket id sent in the CONNECT answer (distinct from the Engine.IO sid,
    /// which is a credential of the polling transport and never shared with other clients).
    public let socketID: String
    public private(set) var socketState: SocketState = .awaitingConnect
    /// The token of the Engine.IO handshake request (`Authorization: Bearer` or `?token=`),
    /// used when the CONNECT packet carries none.
    private let fallbackToken: String?
    private var connectDeadline: EngineIOInstant?
    private var outputs: [SocketIOSessionOutput] = []
    private var outputsRead = 0

    public init(
        sid: String, socketID: String, transport: EngineIOTransport, configuration: SocketIOConfiguration,
        now: EngineIOInstant, fallbackToken: String?
    ) {
        self.engine = EngineIOSession(sid: sid, transport: transport, configuration: configuration, now: now)
        self.socketID = socketID
        self.fallbackToken = fallbackToken
        self.connectDeadline = now + configuration.connectTimeout
        drain()
    }

    public var sid: String { engine.sid }
    public var handshake: EngineIOPacket { engine.handshake }
    public var isClosed: Bool { engine.isClosed }

    public var user: String? {
        if case .connected(let user) = socketState { return user.user }
        return nil
    }

    public var nextDeadline: EngineIOInstant? {
        guard !isClosed else { return nil }
        return [engine.nextDeadline, connectDeadline].compactMap { $0 }.min()
    }

    public mutating func pollOutput() -> SocketIOSessionOutput? {
        guard outputsRead < outputs.count else {
            outputs.removeAll(keepingCapacity: true)
            outputsRead = 0
            return nil
        }
        defer { outputsRead += 1 }
        return outputs[outputsRead]
    }

    // MARK: Transport inputs (see EngineIOSession)

    public mutating func poll(now: EngineIOInstant) throws(EngineIOError) -> EngineIOPollStart {
        defer { drain() }
        return try engine.poll(now: now)
    }

    public mutating func receivePost(_ body: [UInt8], now: EngineIOInstant) throws(EngineIOError) {
        defer { drain() }
        try engine.receivePost(body, now: now)
    }

    public mutating func finishPost() {
        engine.finishPost()
    }

    public mutating func receiveWebSocket(_ frame: EngineIOFrame, now: EngineIOInstant) {
        engine.receiveWebSocket(frame, now: now)
        drain()
    }

    public mutating func webSocketWritten(_ packet: EngineIOPacket) {
        engine.webSocketWritten(packet)
    }

    public mutating func webSocketClosed(now: EngineIOInstant) {
        engine.webSocketClosed(now: now)
        drain()
    }

    public mutating func attachProbe(now: EngineIOInstant) throws(EngineIOError) {
        try engine.attachProbe(now: now)
    }

    public mutating func receiveProbe(_ frame: EngineIOFrame, now: EngineIOInstant) {
        engine.receiveProbe(frame, now: now)
        drain()
    }

    public mutating func probeClosed(now: EngineIOInstant) {
        engine.probeClosed(now: now)
        drain()
    }

    public mutating func handleTimeout(now: EngineIOInstant) {
        if socketState == .awaitingConnect || socketState == .authenticating, let deadline = connectDeadline, now >= deadline {
            connectDeadline = nil
            engine.close(.server("no CONNECT within connectTimeout"))
        } else {
            engine.handleTimeout(now: now)
        }
        drain()
    }

    public mutating func close(_ reason: EngineIOCloseReason) {
        engine.close(reason)
        drain()
    }

    // MARK: Server → client

    /// Sends an event to the connected client (`42["event", data]`); dropped otherwise.
    public mutating func emit(_ event: RealtimeEvent) {
        guard case .connected = socketState else { return }
        queue(.event(event.event, event.data))
        drain()
    }

    /// Answers a client's event that carried an ack id (`43<id>[args...]`).
    public mutating func acknowledge(_ ackID: UInt64, with arguments: [JSONValue]) {
        guard case .connected = socketState else { return }
        queue(SocketIOPacket(.ack, ackID: ackID, data: .array(arguments)))
        drain()
    }

    /// The argument of the ack that answers an event with an ack id: `{"ok": true}` when the
    /// handler had nothing to say, else its reply's data with `ok` added (false for an `error`
    /// reply), so that a client can test `ok` whatever happened.
    public static func acknowledgement(for reply: RealtimeEvent?) -> JSONValue {
        guard let reply else { return .object(["ok": .bool(true)]) }
        guard case .object(var fields) = reply.data else { return reply.data }
        if fields["ok"] == nil { fields["ok"] = .bool(reply.event != "error") }
        return .object(fields)
    }

    // MARK: Internals

    /// Queues on the engine; the caller drains (within `drain` the loop itself does).
    private mutating func queue(_ packet: SocketIOPacket) {
        engine.send(.message(packet.encoded))
    }

    /// Moves the engine's outputs to ours, handling received messages on the way (which may
    /// queue more engine outputs; the loop picks them up).
    private mutating func drain() {
        while let output = engine.pollOutput() {
            switch output {
            case .answerPoll(let body): outputs.append(.answerPoll(body))
            case .writeWebSocket(let packets): outputs.append(.writeWebSocket(packets))
            case .writeProbe(let packets): outputs.append(.writeProbe(packets))
            case .promoteProbe: outputs.append(.promoteProbe)
            case .closeProbe: outputs.append(.closeProbe)
            case .closeWebSocket: outputs.append(.closeWebSocket)
            case .abortWebSocket: outputs.append(.abortWebSocket)
            case .received(let packet): receive(packet)
            case .closed(let reason):
                if case .connected = socketState {
                    socketState = .disconnected
                    outputs.append(.disconnected)
                }
                connectDeadline = nil
                outputs.append(.closed(reason))
            }
        }
    }

    private mutating func receive(_ message: EngineIOPacket) {
        guard case .message(let text) = message else {
            // Binary Engine.IO messages are attachments of BINARY_EVENT/BINARY_ACK packets,
            // which are refused as a whole; their attachments are dropped here.
            return
        }
        let packet: SocketIOPacket
        do {
            packet = try SocketIOPacket(decoding: text)
        } catch {
            // The reference server closes the connection on a packet it cannot decode.
            engine.close(.protocolError("socket.io: \(error)"))
            return
        }
        if packet.kind == .connect {
            receiveConnect(packet)
            return
        }
        // Anything but CONNECT for a namespace this client has not joined is out of order; the
        // reference server closes the connection.
        guard packet.namespace == "/", case .connected = socketState else {
            engine.close(.protocolError("socket.io: \(packet.kind) for namespace \(packet.namespace), which is not connected"))
            return
        }
        switch packet.kind {
        case .event:
            guard let (name, argument) = packet.event else { return }
            outputs.append(.event(RealtimeEvent(name, argument ?? .object([:])), ackID: packet.ackID))
        case .binaryEvent, .binaryAck:
            // Chorus's events are JSON; binary placeholders (`{"_placeholder":true,"num":n}`)
            // would need the attachments reassembled, for nothing any client sends.
            queue(.event("error", .object([
                "code": .string("unsupported"),
                "message": .string("binary attachments are not supported"),
            ])))
        case .disconnect:
            socketState = .disconnected
            outputs.append(.disconnected)
            // Only the main namespace exists, so leaving it ends the session.
            engine.close(.clientClose)
        case .ack, .connectError, .connect:
            // The server asks for no acks; CONNECT_ERROR is server → client only.
            break
        }
    }

    private mutating func receiveConnect(_ packet: SocketIOPacket) {
        guard packet.namespace == "/" else {
            queue(SocketIOPacket(.connectError, namespace: packet.namespace, data: .object(["message": .string("Invalid namespace")])))
            return
        }
        guard socketState == .awaitingConnect else {
            engine.close(.protocolError(socketState == .authenticating
                ? "socket.io: CONNECT while the previous one is being checked" : "socket.io: CONNECT for a namespace already connected"))
            return
        }
        let token: String
        switch packet.data?["token"] {
        case .string(let value)?:
            token = value
        case nil, .null?:
            guard let fallbackToken else {
                return refuse("missing token: send auth {\"token\": \"...\"} or an Authorization: Bearer header")
            }
            token = fallbackToken
        default:
            return refuse("auth.token must be a string")
        }
        socketState = .authenticating
        outputs.append(.authenticate(token: token))
    }

    /// The answer to an `.authenticate` output: CONNECT's acknowledgement and `.connected`, or
    /// CONNECT_ERROR (the client may try again). Ignored once the session is closed or when
    /// no token is being checked. The connect timeout keeps running meanwhile.
    public mutating func authenticated(_ result: Result<RealtimeIdentity, SocketIOAuthFailure>) {
        guard !isClosed, socketState == .authenticating else { return }
        switch result {
        case .success(let user):
            socketState = .connected(user: user)
            connectDeadline = nil
            queue(SocketIOPacket(.connect, data: .object(["sid": .string(socketID)])))
            outputs.append(.connected(user: user))
        case .failure(let failure):
            socketState = .awaitingConnect
            refuse(failure.message)
        }
        drain()
    }

    /// CONNECT_ERROR. The session stays open so that the client may CONNECT again with another
    /// token; connectTimeout closes it otherwise.
    private mutating func refuse(_ message: String) {
        queue(SocketIOPacket(.connectError, data: .object(["message": .string(message)])))
    }
}
