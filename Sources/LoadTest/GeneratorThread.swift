// One generator thread: owns a set of peer sessions and their sockets and runs them on a fixed
// 1 ms cadence: read every socket poll() says is ready, tick the transports' timers, and every
// 100 ms hand its counters to the runner; in between, it sleeps until the next packet any
// publisher has due and sends it then.
//
// Why a cadence rather than waking on every datagram: poll() costs O(sockets) per call, and
// waking per packet made it the generator's largest cost. Receive times come from the kernel
// (SO_TIMESTAMPNS), so reading late changes no measurement. Sends are not batched per round:
// publishers are independent, and sending a millisecond's worth of every publisher's packets at
// once handed the SFU a burst each round that real peers never make (its queueing showed in
// the measured p99). For the same reason the round's long walks (reading the ready sockets,
// the timers of every session) stop between sessions to send what has come due: under load
// they take most of a millisecond, and packets held back that long left as one burst
// (measured: p99 send lag 1.4 ms at 115k forwarded pkt/s).

import Foundation
import Glibc
import Synchronization

/// Sendable by confinement: the runner reaches the thread only through `inbox` and `shared`
/// (mutexes); everything else is touched by the generator's own thread alone.
final class GeneratorThread: @unchecked Sendable {
    enum Command: Sendable {
        case add(SessionHandoff)
        /// Hand over the counters now (a step boundary), then bump `Shared.flushes`.
        case flush
        case stopPublishing
        /// Closes the sessions with these labels and forgets them (`--churn`: a peer left).
        case close(Set<String>)
        case closeAll
        case exit
    }

    /// What the runner reads; the thread adds into it under the lock.
    struct Shared: Sendable {
        var counters = TrafficCounters()
        var sessions = 0
        var connected = 0
        var failed = 0
        var failures: [String] = []
        /// `.flush` commands done: the runner waits for it to move.
        var flushes = 0
        var finished = false
    }

    static let cadence: UInt64 = 1_000_000
    /// ICE and DTLS timers are coarse (50 ms checks, 100 ms+ DTLS retransmissions); the SFU's
    /// worker runs its timers every 20 ms too.
    static let timerInterval: UInt64 = 20_000_000
    static let flushInterval: UInt64 = 100_000_000

    let index: Int
    private let shared = Mutex(Shared())
    private let inbox = Mutex<[Command]>([])

    // Only the thread touches what follows.
    private var sessions: [PeerSession] = []
    /// The publishing subset of `sessions`, walked every round.
    private var publishers: [PeerSession] = []
    private var pollDescriptors: [pollfd] = []
    private var counters = TrafficCounters()
    private var connected = 0
    private var failed = 0
    private var failures: [String] = []
    private let receiveBatch = DatagramBatch()
    private let sendBatch = DatagramBatch()
    /// The earliest due time of any publisher, as of the last send (`.max`: none).
    private var sendDue: UInt64 = .max

    init(index: Int) {
        self.index = index
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "loadtest-\(index)"
        thread.start()
    }

    func send(_ command: Command) {
        inbox.withLock { $0.append(command) }
    }

    /// Takes the counters gathered since the last call, and the session tallies.
    func drain() -> Shared {
        shared.withLock { state in
            let copy = state
            state.counters.reset()
            state.failures.removeAll()
            return copy
        }
    }

    var status: (sessions: Int, connected: Int, failed: Int, flushes: Int, finished: Bool) {
        shared.withLock { ($0.sessions, $0.connected, $0.failed, $0.flushes, $0.finished) }
    }

    // MARK: - The loop

    private func run() {
        var pending: [Command] = []
        var lastTimers: UInt64 = 0
        var lastFlush = MonotonicTime.now()
        var nextRound = MonotonicTime.now()
        var exiting = false
        while !exiting {
            inbox.withLock { swap(&$0, &pending) }
            for command in pending { exiting = handle(command) || exiting }
            pending.removeAll(keepingCapacity: true)

            let now = MonotonicTime.now()
            if now - lastTimers >= Self.timerInterval {
                lastTimers = now
                runTimers(now: now)
            }
            sendMedia(now: now, horizon: now)
            sendDue = earliestDue()
            if poll(&pollDescriptors, nfds_t(pollDescriptors.count), 0) > 0 { receive() }
            if now - lastFlush >= Self.flushInterval || exiting {
                lastFlush = now
                publish()
            }
            // The next round on the grid; when a round overran, start the next one at once.
            nextRound += Self.cadence
            let after = MonotonicTime.now()
            if nextRound > after {
                sendOnTime(until: nextRound)
                MonotonicTime.sleep(until: nextRound)
            } else {
                nextRound = after
            }
        }
        shared.withLock { $0.finished = true }
    }

    /// Returns true for `.exit`.
    private func handle(_ command: Command) -> Bool {
        switch command {
        case .add(let handoff):
            let session = handoff.session
            sessions.append(session)
            if session.publisher != nil { publishers.append(session) }
            pollDescriptors.append(pollfd(fd: session.socket.fd, events: Int16(POLLIN), revents: 0))
            flushTransmits(of: session)
        case .flush:
            publish()
            shared.withLock { $0.flushes += 1 }
        case .stopPublishing:
            for session in publishers { session.publisher?.sending = false }
        case .close(let labels):
            // Forgotten, not only closed: a churning run would otherwise keep every peer it
            // ever had, and the generator's own memory and poll set would grow with the soak.
            for session in sessions where labels.contains(session.label) && session.isAlive {
                session.close()
                flushTransmits(of: session)
            }
            let kept = sessions.indices.filter { !labels.contains(sessions[$0].label) }
            pollDescriptors = kept.map { pollDescriptors[$0] }
            sessions = kept.map { sessions[$0] }
            publishers.removeAll { labels.contains($0.label) }
        case .closeAll:
            for (i, session) in sessions.enumerated() where session.isAlive {
                session.close()
                flushTransmits(of: session)
                pollDescriptors[i].fd = -1
            }
        case .exit:
            return true
        }
        return false
    }

    private func runTimers(now: UInt64) {
        let instant = ContinuousClock.now
        for (i, session) in sessions.enumerated() where session.isAlive {
            session.transport.handleTimeout(now: instant)
            session.pumpEvents(now: now, counters: &counters)
            settle(session, at: i)
            sendIfDue()
        }
    }

    private func earliestDue() -> UInt64 {
        var earliest = UInt64.max
        for session in publishers where session.isConnected && session.isAlive {
            if let due = session.publisher?.nextDue, due < earliest { earliest = due }
        }
        return earliest
    }

    /// Sends what has come due, between the sessions of a long walk.
    private func sendIfDue() {
        let now = MonotonicTime.now()
        guard now >= sendDue else { return }
        sendMedia(now: now, horizon: now)
        sendDue = earliestDue()
    }

    /// Sends every publisher's packets at their due times until `end`, sleeping in between.
    /// Stops early when a publisher's due time does not move (its transport refused the send:
    /// the session notices at its next event pump).
    private func sendOnTime(until end: UInt64) {
        var previous = UInt64.max
        while true {
            let earliest = earliestDue()
            sendDue = earliest
            guard earliest < end, earliest != previous else { return }
            previous = earliest
            if earliest > MonotonicTime.now() { MonotonicTime.sleep(until: earliest) }
            let now = MonotonicTime.now()
            sendMedia(now: now, horizon: now)
        }
    }

    private func sendMedia(now: UInt64, horizon: UInt64) {
        for session in publishers where session.isConnected && session.isAlive {
            guard let publisher = session.publisher, let due = publisher.nextDue, due <= horizon else { continue }
            publisher.sendDue(now: now, horizon: horizon, transport: session.transport, counters: &counters)
            flushTransmits(of: session)
        }
    }

    private func receive() {
        let instant = ContinuousClock.now
        let now = MonotonicTime.now()
        let offset = MonotonicTime.realtimeOffset()
        for i in 0..<pollDescriptors.count where pollDescriptors[i].revents != 0 {
            pollDescriptors[i].revents = 0
            let session = sessions[i]
            guard session.isAlive, let remote = session.socket.remoteAddress else { continue }
            let isSubscriber = session.publisher == nil
            // A few batches per socket and round, so one busy socket cannot starve the rest.
            for _ in 0..<4 {
                let n = receiveBatch.receive(from: session.socket)
                guard n > 0 else { break }
                for d in 0..<n {
                    let datagram = receiveBatch.datagram(d)
                    if isSubscriber { counters.bytesReceived += datagram.count }
                    session.receive(datagram, from: remote, now: instant)
                    // The kernel's arrival time; "now" only if the stamp is missing or odd.
                    var arrival = now
                    if let stamp = receiveBatch.kernelTimestamp(d) {
                        let converted = stamp - offset
                        if converted > 0, UInt64(converted) <= now { arrival = UInt64(converted) }
                    }
                    session.pumpEvents(now: arrival, counters: &counters)
                }
                guard n == receiveBatch.capacity else { break }
            }
            settle(session, at: i)
            sendIfDue()
        }
    }

    /// After input or a timer: tallies, and whatever the transport wants sent.
    private func settle(_ session: PeerSession, at i: Int) {
        if session.isConnected, !session.tallied.connected {
            session.tallied.connected = true
            connected += 1
        }
        if let failure = session.failure, !session.tallied.failed {
            session.tallied.failed = true
            failed += 1
            if failures.count < 20 { failures.append("\(session.label): \(failure)") }
            pollDescriptors[i].fd = -1
        }
        flushTransmits(of: session)
    }

    private func flushTransmits(of session: PeerSession) {
        let isPublisher = session.publisher != nil
        while let datagram = session.transport.pollTransmit() {
            if sendBatch.isFull { counters.sendFailures += sendBatch.flush(to: session.socket) }
            if sendBatch.append(datagram.bytes), isPublisher { counters.bytesSent += datagram.bytes.count }
        }
        if sendBatch.count > 0 { counters.sendFailures += sendBatch.flush(to: session.socket) }
    }

    private func publish() {
        let sessionCount = sessions.count
        shared.withLock { state in
            state.counters.add(counters)
            state.sessions = sessionCount
            state.connected = connected
            state.failed = failed
            state.failures += failures
        }
        counters.reset()
        failures.removeAll()
    }
}
