// A worker's ICE-TCP side (RFC 6544 passive candidate, RFC 4571 framing): its listener and its
// connections. A connection's frames enter MediaCore.handleDatagram like UDP datagrams, from
// the peer's address marked `.tcp`; what the core queues for such an address is framed onto
// that connection when the queue is flushed. TCP is another way into and out of the one
// packet path, not a second forwarding implementation: the core does not know sockets.
//
// Everything a peer can make Chorus hold is bounded: connections per worker, the time to a
// first valid ICE check and between inputs, frame length, and each connection's output (a
// full buffer drops frames and counts them, so a slow TCP subscriber never blocks the worker).
//
// Shared port: all workers listen on one TCP port (SO_REUSEPORT) and the kernel picks which
// accepts. The first STUN check names its transport's worker by its ufrag (SharedPortUfrag);
// when that is another worker, MediaCore's hand-off hook marks the connection, and it moves
// there whole (socket and unread bytes) through that worker's command queue.

import Glibc
import ICE

final class ICETCPConnections {
    struct Limits: Sendable {
        /// Connections one worker holds; more are accepted and closed at once (counted).
        var maximumConnections = 1024
        /// From accept to the first valid ICE check over the connection.
        var validationTimeout: Duration = .seconds(10)
        /// Longest silence: a peer sends a consent check every few seconds (RFC 7675 §5.1).
        var idleTimeout: Duration = .seconds(30)
        /// Frames waiting for the peer to read, beyond the kernel's socket buffer: about a
        /// second of a video call; past it frames are dropped.
        var sendBufferBytes = 128 * 1024
        /// The kernel's send buffer per connection (SO_SNDBUF; the kernel doubles it). Fixed, so
        /// that autotuning does not hide megabytes (seconds of media) in front of a slow peer.
        var socketSendBufferBytes: Int32 = 128 * 1024
    }

    static let listenerToken: UInt64 = 2
    static let firstConnectionToken: UInt64 = 3
    /// Reads per readiness event of one connection, so that one busy peer cannot starve the
    /// others, the UDP socket or the commands (the poll is level-triggered: the rest comes next).
    static let readsPerEvent = 8
    /// How often timeouts are checked.
    static let sweepInterval: Duration = .seconds(1)

    let listener: TCPListener?
    let limits: Limits
    private unowned let core: MediaCore
    private let poll: EventPoll
    private var byToken: [UInt64: ICETCPConnection] = [:]
    private var byPeer: [TransportAddress: ICETCPConnection] = [:]
    private var nextToken = firstConnectionToken
    /// Connections that got output during the current flush (reused storage).
    private var dirty: [ICETCPConnection] = []
    private var nextSweep: ContinuousClock.Instant?
    private(set) var stats = ICETCPStats()

    init(listener: TCPListener?, core: MediaCore, poll: EventPoll, limits: Limits = Limits()) {
        self.listener = listener
        self.core = core
        self.poll = poll
        self.limits = limits
        if let listener { poll.add(listener.fd, token: Self.listenerToken) }
    }

    var count: Int { byToken.count }

    var snapshot: ICETCPStats {
        var s = stats
        s.open = byToken.count
        return s
    }

    // MARK: - Input

    /// Accepts what the listener has (bounded per call, like the UDP drain).
    func acceptPending(now: ContinuousClock.Instant) {
        guard let listener else { return }
        for _ in 0..<64 {
            switch listener.accept() {
            case .none:
                return
            case .failed:
                continue
            case .connection(let fd, let peer):
                guard byToken.count < limits.maximumConnections else {
                    Glibc.close(fd)
                    stats.refused &+= 1
                    continue
                }
                configure(fd)
                stats.accepted &+= 1
                register(ICETCPConnection(fd: fd, peer: peer, now: now, sendBufferBytes: limits.sendBufferBytes))
            }
        }
    }

    /// One readiness event of connection `token`.
    func handle(token: UInt64, events: UInt32, now: ContinuousClock.Instant) {
        guard let connection = byToken[token] else { return }  // closed earlier in this round
        if events & EventPoll.writable != 0 {
            flushOutput(of: connection)
            guard byToken[token] != nil else { return }
        }
        if events & (EventPoll.readable | EventPoll.hangUp | EventPoll.error) != 0 {
            readInput(of: connection, now: now)
        }
    }

    private func readInput(of connection: ICETCPConnection, now: ContinuousClock.Instant) {
        for _ in 0..<Self.readsPerEvent {
            switch connection.read() {
            case .bytes:
                connection.lastInput = now
                guard deliverFrames(of: connection, now: now) else { return }
            case .wouldBlock:
                return
            case .closed(let reason):
                // Frames that arrived before the end still count.
                _ = deliverFrames(of: connection, now: now)
                if byToken[connection.token] === connection { close(connection, reason: reason) }
                return
            }
        }
    }

    /// Passes every complete frame to the core; false when the connection left this worker
    /// (handed off) meanwhile.
    private func deliverFrames(of connection: ICETCPConnection, now: ContinuousClock.Instant) -> Bool {
        while let frame = connection.reader.next() {
            switch frame {
            case .oversized:
                stats.dropped[ICETCPStats.DropReason.oversized.rawValue] &+= 1
            case .datagram(let datagram):
                stats.framesIn &+= 1
                core.handleDatagram(datagram, from: connection.peer, now: now)
                if let handOff = connection.handOff {
                    connection.handOff = nil
                    detach(connection)
                    stats.handedOff &+= 1
                    // The owner closes it if it cannot take it (stopped).
                    if !handOff(connection) { Glibc.close(connection.fd) }
                    return false
                }
            }
        }
        return true
    }

    // MARK: - Output

    /// Frames the queue's TCP datagrams onto their connections and writes them (one sendmsg
    /// per connection and flush). Called from the worker's flush handler before the UDP send.
    func send(_ queue: SendQueue) {
        for i in 0..<queue.count where TransportAddress.isStreamKey(queue.key(i)) {
            let (datagram, destination) = queue.datagram(i)
            guard let connection = byPeer[destination] else {
                stats.dropped[ICETCPStats.DropReason.noConnection.rawValue] &+= 1
                continue
            }
            guard connection.output.append(datagram) else {
                stats.dropped[ICETCPStats.DropReason.sendBufferFull.rawValue] &+= 1
                continue
            }
            stats.framesOut &+= 1
            if !connection.isDirty {
                connection.isDirty = true
                dirty.append(connection)
            }
        }
        for connection in dirty {
            connection.isDirty = false
            guard byToken[connection.token] === connection else { continue }
            flushOutput(of: connection)
        }
        dirty.removeAll(keepingCapacity: true)
    }

    private func flushOutput(of connection: ICETCPConnection) {
        switch connection.writePending() {
        case .failed:
            close(connection, reason: .error)
        case .done:
            if connection.watchesWritable {
                connection.watchesWritable = false
                poll.modify(connection.fd, token: connection.token, writable: false)
            }
            if connection.closing { close(connection, reason: .transportClosed) }
        case .partial:
            if !connection.watchesWritable {
                connection.watchesWritable = true
                poll.modify(connection.fd, token: connection.token, writable: true)
            }
        }
    }

    // MARK: - What the core says about addresses

    /// ICE validated `peer` for a transport here (true), or the transport holding it went
    /// (false: the connection closes once its output is written).
    func addressValidated(_ peer: TransportAddress, _ valid: Bool) {
        guard let connection = byPeer[peer] else { return }
        if valid {
            connection.validated = true
            connection.closing = false
        } else {
            connection.closing = true
        }
    }

    /// The core's STUN hand-off hook for a TCP source: marks the connection to move to the
    /// worker that `moveTo` queues it on, after the frame being handled. A connection already
    /// carrying a transport here stays (its checks for a foreign ufrag are dropped).
    func handOff(_ peer: TransportAddress, moveTo: @escaping (ICETCPConnection) -> Bool) -> Bool {
        guard let connection = byPeer[peer], !connection.validated, connection.handOff == nil else { return false }
        connection.handOff = moveTo
        return true
    }

    /// Takes a connection another worker handed off; `first` is the check that named this
    /// worker, handled before whatever followed it in the connection's buffer.
    func adopt(_ connection: ICETCPConnection, first: inout [UInt8], now: ContinuousClock.Instant) {
        guard byToken.count < limits.maximumConnections else {
            Glibc.close(connection.fd)
            stats.refused &+= 1
            return
        }
        register(connection)
        connection.lastInput = now
        first.withUnsafeMutableBytes { core.handleDatagram($0, from: connection.peer, now: now) }
        _ = deliverFrames(of: connection, now: now)
    }

    // MARK: - Time

    /// Closes connections past their limits (checked once per sweep interval).
    func sweep(now: ContinuousClock.Instant) {
        if let nextSweep, now < nextSweep { return }
        nextSweep = now + Self.sweepInterval
        var expired: [(ICETCPConnection, ICETCPStats.CloseReason)] = []
        for connection in byToken.values {
            if connection.closing, connection.output.isEmpty {
                expired.append((connection, .transportClosed))
            } else if !connection.validated, now - connection.acceptedAt >= limits.validationTimeout {
                expired.append((connection, .notValidated))
            } else if now - connection.lastInput >= limits.idleTimeout {
                expired.append((connection, .idle))
            }
        }
        for (connection, reason) in expired { close(connection, reason: reason) }
    }

    /// Closes every connection (the worker stops).
    func closeAll() {
        for connection in Array(byToken.values) {
            _ = connection.writePending()
            close(connection, reason: .shutdown)
        }
    }

    // MARK: - Internals

    private func configure(_ fd: Int32) {
        var one: Int32 = 1
        // Media is latency-bound: a frame goes out when queued, not when Nagle allows.
        _ = setsockopt(fd, Int32(IPPROTO_TCP), Self.tcpNoDelay, &one, socklen_t(MemoryLayout<Int32>.size))
        var size = limits.socketSendBufferBytes
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    /// <netinet/tcp.h>'s TCP_NODELAY.
    private static let tcpNoDelay: Int32 = 1

    private func register(_ connection: ICETCPConnection) {
        connection.token = nextToken
        nextToken &+= 1
        // A peer address names one connection; a new one from the same address and port (the
        // old one closed without our noticing yet) replaces it.
        if let previous = byPeer[connection.peer] { close(previous, reason: .peer) }
        connection.watchesWritable = !connection.output.isEmpty
        guard poll.add(connection.fd, token: connection.token, writable: connection.watchesWritable) else {
            Glibc.close(connection.fd)
            stats.closed[ICETCPStats.CloseReason.error.rawValue] &+= 1
            return
        }
        byToken[connection.token] = connection
        byPeer[connection.peer] = connection
    }

    /// Takes the connection out of this worker without closing its socket.
    private func detach(_ connection: ICETCPConnection) {
        poll.remove(connection.fd)
        byToken[connection.token] = nil
        if byPeer[connection.peer] === connection { byPeer[connection.peer] = nil }
    }

    private func close(_ connection: ICETCPConnection, reason: ICETCPStats.CloseReason) {
        detach(connection)
        Glibc.close(connection.fd)
        stats.closed[reason.rawValue] &+= 1
    }
}
