// A worker: one thread that owns one UDP socket, its ICE-TCP listener and connections, and one
// MediaCore. Packets are handled on this thread only, so the packet path takes no lock;
// Signaling's commands are queued and run between batches (one lock per command, never per
// packet).

import CSockets
import Glibc
import ICE
import Logging
import RTP
import Synchronization

/// Sendable by confinement: everything but `inbox` (the core, the batches, the socket's
/// buffers, the TCP connections, `running`) is touched only by the worker's own thread, inside
/// `loop()` and the commands it runs; `start`/`shutdown` touch `thread` from the one owner that
/// calls them. Other threads reach the core only through `run`, which queues a command in
/// `inbox`.
public final class Worker: @unchecked Sendable {
    public let index: Int
    let socket: UDPSocket
    private let core: MediaCore
    private let receiveBatch = ReceiveBatch(capacity: 32)
    private let sender: BatchSender
    private let wakeFD: Int32
    private let events: EventPoll
    /// ICE-TCP: the listener (when configured) and the connections this worker owns.
    private let tcp: ICETCPConnections
    /// Commands for the worker thread. `accepting` turns false once the loop has ended: a
    /// command queued then would never run, and its caller would wait forever.
    private let inbox = Mutex<(commands: [@Sendable () -> Void], accepting: Bool)>(([], true))
    private var thread: pthread_t?
    private var running = true
    private let logger: Logger

    /// Datagrams per sendmmsg. Larger batches give UDP GSO longer runs per peer (a fan-out of
    /// 10 puts ~12 packets of each peer into 128 slots).
    static let sendBatch = 128

    /// Event-poll tokens of the UDP socket and the wake eventfd (ICETCPConnections uses the rest).
    private static let socketToken: UInt64 = 0
    private static let wakeToken: UInt64 = 1

    init(
        index: Int, socket: UDPSocket, tcpListener: TCPListener? = nil, announcedIP: String, dtlsContext: DTLSContext,
        consentTimeout: Duration = .seconds(30), srtpBackend: SRTPBackend = .default, logger: Logger,
        maximumTransports: Int = .max, retransmission: Bool = true, events: AsyncStream<MediaEvent>.Continuation? = nil
    ) throws {
        self.index = index
        self.logger = logger
        self.socket = socket
        guard let announced = TransportAddress(string: announcedIP, port: socket.localPort) else {
            throw UDPSocketError.system("announced IP \(announcedIP)", EINVAL)
        }
        let sender = BatchSender(capacity: Self.sendBatch)
        self.sender = sender
        let socket = self.socket
        let queue = SendQueue(capacity: Self.sendBatch, flushHandler: { _ in })
        core = MediaCore(dtlsContext: dtlsContext, announcedAddress: announced, consentTimeout: consentTimeout, srtpBackend: srtpBackend, queue: queue)
        core.maximumTransports = maximumTransports
        core.retransmission = retransmission
        core.announcedTCPPort = tcpListener?.localPort
        wakeFD = chorus_wake_fd()
        self.events = try EventPoll()
        guard self.events.add(socket.fd, token: Self.socketToken), self.events.add(wakeFD, token: Self.wakeToken) else {
            close(wakeFD)
            throw UDPSocketError.system("epoll_ctl", errno)
        }
        let tcp = ICETCPConnections(
            listener: tcpListener, core: core, poll: self.events,
            limits: ICETCPConnections.Limits(idleTimeout: consentTimeout))
        self.tcp = tcp
        let core = self.core
        // A transport's TCP address comes and goes with the connection that carries it.
        core.steerAddress = { address, valid in
            if address.transport == .tcp { tcp.addressValidated(address, valid) }
        }
        // Unowned: the core owns the queue that calls this, so a strong capture was a cycle that
        // kept every discarded worker's core, buffers and UDP socket (LeakSanitizer found it).
        queue.flushHandler = { [unowned core] queue in
            // TCP destinations first: their frames are copied out of the slots that the UDP
            // send below skips. A UDP-only flush pays one comparison.
            if queue.streamCount > 0 { tcp.send(queue) }
            let before = sender.sendErrors
            _ = sender.send(queue, on: socket)
            if sender.sendErrors != before { core.recordSendFailures(sender.sendErrors - before) }
            queue.removeAll()
        }
        core.log = { [logger] message in logger.info("\(message)", metadata: ["worker": "\(index)"]) }
        core.onEvent = { event in events?.yield(event) }
    }

    deinit { close(wakeFD) }

    /// Joins a shared port (before `start`): this worker's ufrags carry its index, the peers
    /// ICE validates here are steered to its socket, and a STUN check that the kernel hashed
    /// here for another worker's ufrag is passed to that worker (a copy, through its command
    /// queue: only until the peer is steered, a check or two per peer).
    func share(_ steering: ReuseportSteering, with workers: [Worker]) {
        let index = self.index
        let others = workers.map { WeakWorker(worker: $0) }
        let tcp = self.tcp
        core.ufragPrefix = SharedPortUfrag.prefix(worker: index)
        core.steerAddress = { address, steer in
            // eBPF steers UDP; a TCP connection is this worker's by hand-off, not by steering.
            if address.transport == .tcp { return tcp.addressValidated(address, steer) }
            if steer { steering.steer(address, to: index) } else { steering.unsteer(address) }
        }
        core.handOffSTUN = { ufrag, datagram, source in
            guard let owner = SharedPortUfrag.worker(of: ufrag), owner != index, owner < others.count,
                let worker = others[owner].worker
            else { return false }
            let copy = Array(datagram)
            if source.transport == .tcp {
                // The whole connection moves: its socket, the check that named the owner, and
                // the bytes that followed it.
                return tcp.handOff(source) { connection in
                    let moved = Transferred(connection: connection)
                    return worker.enqueue { [unowned worker] in
                        var first = copy
                        worker.tcp.adopt(moved.connection, first: &first, now: .now)
                    }
                }
            }
            return worker.enqueue { [unowned worker] in
                var copy = copy
                copy.withUnsafeMutableBytes { worker.core.handleDatagram($0, from: source, now: .now) }
            }
        }
    }

    private struct WeakWorker {
        weak var worker: Worker?
    }

    /// A connection on its way from one worker's thread to another's: the sender detached it
    /// before queuing it and never touches it again, so only one thread owns it at a time.
    private struct Transferred: @unchecked Sendable {
        let connection: ICETCPConnection
    }

    /// The ICE-TCP port this worker listens on, if any.
    public var tcpPort: UInt16? { tcp.listener?.localPort }

    public var localPort: UInt16 { socket.localPort }
    public var announcedAddress: TransportAddress { core.announcedAddress }

    public func start() {
        thread = startThread { [self] in loop() }
    }

    /// Runs `body` on the worker thread and returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable (MediaCore, ContinuousClock.Instant) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = enqueue {
                do {
                    continuation.resume(returning: try body(self.core, .now))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            if !accepted { continuation.resume(throwing: MediaServerError.failed("media worker \(index) has stopped")) }
        }
    }

    /// Counters of this worker: the core's and its ICE-TCP connections'.
    public func statsSnapshot() async throws -> WorkerStatsSnapshot {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = enqueue { [self] in
                var snapshot = core.statsSnapshot
                snapshot.iceTCP = tcp.snapshot
                continuation.resume(returning: snapshot)
            }
            if !accepted { continuation.resume(throwing: MediaServerError.failed("media worker \(index) has stopped")) }
        }
    }

    /// Closes every transport, stops the loop and waits for the thread to end.
    public func shutdown() {
        _ = enqueue { [self] in
            core.closeAll()
            tcp.closeAll()
            running = false
        }
        if let thread { pthread_join(thread, nil) }
        thread = nil
    }

    /// Queues `command` for the worker thread; false once the worker has stopped.
    private func enqueue(_ command: @escaping @Sendable () -> Void) -> Bool {
        let accepted = inbox.withLock { inbox -> Bool in
            guard inbox.accepting else { return false }
            inbox.commands.append(command)
            return true
        }
        guard accepted else { return false }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
        return true
    }

    private func loop() {
        var nextTick = ContinuousClock.now + MediaCore.tickInterval
        while running {
            // Rounded up: rounding down turned the last millisecond before every tick into a
            // busy loop of zero-timeout waits (up to 5 % of a core with nothing to do).
            let wait = nextTick - ContinuousClock.now
            let ready = events.wait(milliseconds: Self.pollMilliseconds(wait))
            for i in 0..<ready {
                switch events.token(i) {
                case Self.socketToken:
                    drainSocket()
                case Self.wakeToken:
                    runCommands()
                case ICETCPConnections.listenerToken:
                    tcp.acceptPending(now: .now)
                case let token:
                    tcp.handle(token: token, events: events.events(i), now: .now)
                    core.queue.flush()
                }
            }
            let now = ContinuousClock.now
            if now >= nextTick {
                nextTick = now + MediaCore.tickInterval
                var spec = timespec()
                clock_gettime(CLOCK_REALTIME, &spec)
                let wall = UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
                core.tick(now: now, wallClockNanoseconds: wall)
                tcp.sweep(now: now)
            }
        }
        core.queue.flush()
        // Commands queued while the loop ended still run here, on this thread, against the
        // closed core (they fail as their rooms are gone); later ones are refused.
        let leftover = inbox.withLock { inbox -> [@Sendable () -> Void] in
            inbox.accepting = false
            defer { inbox.commands.removeAll() }
            return inbox.commands
        }
        for command in leftover { command() }
        logger.info("worker stopped", metadata: ["worker": "\(index)"])
    }

    /// poll()'s timeout for `wait`: whole milliseconds, rounded up, never negative.
    static func pollMilliseconds(_ wait: Duration) -> Int32 {
        let (seconds, attoseconds) = wait.components
        guard seconds >= 0, attoseconds >= 0, seconds > 0 || attoseconds > 0 else { return 0 }
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: milliseconds)
    }

    /// Reads batches until the socket is empty (bounded, so commands and timers are not starved).
    private func drainSocket() {
        for _ in 0..<64 {
            let count = receiveBatch.receive(from: socket)
            if count == 0 { break }
            let now = ContinuousClock.now
            for i in 0..<count {
                guard !receiveBatch.isTruncated(i), let source = receiveBatch.source(i) else {
                    core.stats.drop(.malformed)
                    continue
                }
                core.handleDatagram(receiveBatch.datagram(i), from: source, now: now)
            }
            core.queue.flush()
            if count < receiveBatch.capacity { break }
        }
    }

    private func runCommands() {
        var value: UInt64 = 0
        _ = read(wakeFD, &value, 8)
        let pending = inbox.withLock { inbox -> [@Sendable () -> Void] in
            defer { inbox.commands.removeAll() }
            return inbox.commands
        }
        for command in pending { command() }
        core.queue.flush()
    }
}

/// Runs `body` on a new pthread, the thread a worker (or the floor's drain) owns for its whole
/// life, and returns it for pthread_join.
func startThread(_ body: @escaping () -> Void) -> pthread_t {
    final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }
    var thread = pthread_t()
    pthread_create(&thread, nil, { argument in
        Unmanaged<Body>.fromOpaque(argument!).takeRetainedValue().run()
        return nil
    }, Unmanaged.passRetained(Body(body)).toOpaque())
    return thread
}
