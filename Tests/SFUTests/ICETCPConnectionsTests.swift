// ICE-TCP in a worker's shell, on real loopback sockets with the time given by the test: a
// connection's frames reach the core from its `.tcp` address and the core's answers go back
// framed on the same connection (UDP output of the same flush still leaves by UDP); a
// connection moves whole to the worker its first check names; limits close what overstays; a
// peer that does not read loses frames (counted) and never blocks the worker.

import Glibc
import ICE
import Testing
@testable import SFU

/// One worker's pieces without its thread: core, queue, event poll, listener, connections.
private final class TCPWorkerHarness {
    let poll: EventPoll
    let core: MediaCore
    let tcp: ICETCPConnections
    let udp: UDPSocket
    let start = ContinuousClock.now

    init(limits: ICETCPConnections.Limits = .init(), ufragPrefix: String = "") throws {
        let context = try DTLSContext(certificate: DTLSCertificate())
        udp = try UDPSocket(host: "127.0.0.1", port: 0)
        let queue = SendQueue(capacity: 64, flushHandler: { _ in })
        core = MediaCore(
            dtlsContext: context, announcedAddress: TransportAddress(string: "127.0.0.1", port: udp.localPort)!, queue: queue)
        core.ufragPrefix = ufragPrefix
        poll = try EventPoll()
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        let tcp = ICETCPConnections(listener: listener, core: core, poll: poll, limits: limits)
        self.tcp = tcp
        let sender = BatchSender(capacity: 64)
        let socket = udp
        queue.flushHandler = { queue in
            if queue.streamCount > 0 { tcp.send(queue) }
            _ = sender.send(queue, on: socket)
            queue.removeAll()
        }
        core.steerAddress = { address, valid in
            if address.transport == .tcp { tcp.addressValidated(address, valid) }
        }
    }

    var port: UInt16 { tcp.listener!.localPort }

    /// Runs what the worker's loop would for `rounds` waits of up to `milliseconds` each.
    func pump(rounds: Int = 5, milliseconds: Int32 = 20, now: ContinuousClock.Instant? = nil) {
        for _ in 0..<rounds {
            let ready = poll.wait(milliseconds: milliseconds)
            for i in 0..<ready {
                let token = poll.token(i)
                if token == ICETCPConnections.listenerToken {
                    tcp.acceptPending(now: now ?? .now)
                } else {
                    tcp.handle(token: token, events: poll.events(i), now: now ?? .now)
                }
                core.queue.flush()
            }
        }
    }
}

/// The peer's end: a plain blocking TCP socket with a receive timeout, framing by hand.
private final class TCPPeer {
    let fd: Int32
    let reader = TCPFrameReader()
    private(set) var pending: [[UInt8]] = []

    init(port: UInt16, receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        var timeout = timeval(tv_sec: 0, tv_usec: 50_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var storage = sockaddr_storage()
        let length = TransportAddress(string: "127.0.0.1", port: port)!.write(to: &storage)
        let result = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) }
        }
        try #require(result == 0, "connect: \(String(cString: strerror(errno)))")
    }

    deinit { close(fd) }

    /// Our address as Chorus sees it.
    var address: TransportAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return withUnsafePointer(to: &storage) { TransportAddress(socketAddress: $0, transport: .tcp)! }
    }

    static func frame(_ datagrams: [[UInt8]]) -> [UInt8] {
        datagrams.flatMap { [UInt8($0.count >> 8), UInt8($0.count & 0xFF)] + $0 }
    }

    func send(_ datagrams: [[UInt8]]) {
        let bytes = Self.frame(datagrams)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { return }
            offset += n
        }
    }

    /// Reads what has arrived (waiting up to the receive timeout once); returns whole datagrams.
    /// Nil once the server closed the connection.
    func receive() -> [[UInt8]]? {
        let space = reader.writableSpace()
        let n = read(fd, space.baseAddress, space.count)
        if n == 0 { return nil }
        if n > 0 { reader.didWrite(n) }
        var datagrams: [[UInt8]] = []
        while let frame = reader.next() {
            if case .datagram(let bytes) = frame { datagrams.append(Array(bytes)) }
        }
        return datagrams
    }
}

private func plainBinding() -> (STUNTransactionID, [UInt8]) {
    let id = STUNTransactionID.random()
    return (id, STUNMessage(messageClass: .request, method: .binding, transactionID: id, attributes: []).encode(integrityKey: nil, fingerprint: true))
}

private func response(_ datagram: [UInt8]) -> STUNMessage? {
    datagram.withUnsafeBytes { try? STUNMessage(parsing: $0) }
}

struct ICETCPConnectionsTests {
    /// A check over TCP is answered on its connection with the connection's address, while UDP
    /// output queued in the same flush leaves by UDP.
    @Test func framesReachTheCoreAndAnswersGoBackOnTheirConnection() throws {
        let worker = try TCPWorkerHarness()
        let peer = try TCPPeer(port: worker.port)
        let udpPeer = try UDPSocket(host: "127.0.0.1", port: 0)
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(udpPeer.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        worker.pump()
        #expect(worker.tcp.snapshot.accepted == 1)
        #expect(worker.tcp.snapshot.open == 1)

        let (first, request) = plainBinding()
        let (second, another) = plainBinding()
        peer.send([request, another])  // two frames in one write
        worker.core.queue.enqueue([0xFF, 0x01], to: TransportAddress(string: "127.0.0.1", port: udpPeer.localPort)!)
        worker.pump()
        var answers: [[UInt8]] = []
        for _ in 0..<20 where answers.count < 2 { answers += peer.receive() ?? [] }
        let messages = answers.compactMap(response)
        #expect(messages.map(\.transactionID) == [first, second])
        #expect(messages.allSatisfy { $0.messageClass == .successResponse })
        // XOR-MAPPED-ADDRESS carries the IP and port; STUN has no word for the protocol.
        #expect(messages.first?.xorMappedAddress == peer.address.over(.udp))
        var buffer = [UInt8](repeating: 0, count: 16)
        #expect(recv(udpPeer.fd, &buffer, 16, 0) == 2)
        #expect(worker.core.statsSnapshot.packetsIn == 2)
        #expect(worker.tcp.snapshot.framesIn == 2)
        #expect(worker.tcp.snapshot.framesOut == 2)
    }

    /// A connection that never passes an ICE check, or goes silent, or whose transport went, is
    /// closed; the peer sees the end of the stream.
    @Test func limitsCloseConnections() throws {
        let worker = try TCPWorkerHarness()
        let t0 = worker.start
        let unchecked = try TCPPeer(port: worker.port)
        let silent = try TCPPeer(port: worker.port)
        let released = try TCPPeer(port: worker.port)
        worker.pump(now: t0)
        #expect(worker.tcp.count == 3)
        worker.tcp.addressValidated(silent.address, true)
        worker.tcp.addressValidated(released.address, true)

        worker.tcp.sweep(now: t0 + .seconds(9))
        #expect(worker.tcp.count == 3)
        worker.tcp.addressValidated(released.address, false)
        worker.tcp.sweep(now: t0 + .seconds(10))
        #expect(worker.tcp.count == 1)
        #expect(unchecked.receive() == nil)
        #expect(released.receive() == nil)
        #expect(worker.tcp.snapshot.closed(.notValidated) == 1)
        #expect(worker.tcp.snapshot.closed(.transportClosed) == 1)

        worker.tcp.sweep(now: t0 + .seconds(30))
        #expect(worker.tcp.count == 0)
        #expect(silent.receive() == nil)
        #expect(worker.tcp.snapshot.closed(.idle) == 1)
    }

    /// A peer that stops reading: its output fills the kernel's buffer and then the
    /// connection's own, frames that do not fit are dropped and counted, the worker goes on
    /// (a UDP check meanwhile is answered), and what the peer does read is whole frames.
    @Test func aPeerThatDoesNotReadLosesFramesNotTheWorker() throws {
        let worker = try TCPWorkerHarness()
        let peer = try TCPPeer(port: worker.port, receiveBuffer: 4096)
        worker.pump()
        let count = 20_000
        var ids: [STUNTransactionID] = []
        for _ in 0..<(count / 500) {
            let batch = (0..<500).map { _ in plainBinding() }
            ids += batch.map(\.0)
            peer.send(batch.map(\.1))
            worker.pump(rounds: 3, milliseconds: 1)
        }
        worker.pump(rounds: 20, milliseconds: 5)
        let dropped = worker.tcp.snapshot.dropped(.sendBufferFull)
        #expect(dropped > 0)
        #expect(worker.tcp.snapshot.framesIn == count)

        // The worker still answers others at once.
        let other = try UDPSocket(host: "127.0.0.1", port: 0)
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(other.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let (_, check) = plainBinding()
        var destination = sockaddr_storage()
        let length = TransportAddress(string: "127.0.0.1", port: worker.udp.localPort)!.write(to: &destination)
        _ = withUnsafePointer(to: &destination) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(other.fd, check, check.count, 0, $0, length) }
        }
        let batch = ReceiveBatch(capacity: 4)
        var tries = 0
        while batch.receive(from: worker.udp) == 0, tries < 50 {
            tries += 1
            usleep(2000)
        }
        for i in 0..<batch.count {
            worker.core.handleDatagram(batch.datagram(i), from: batch.source(i)!, now: .now)
        }
        worker.core.queue.flush()
        var answer = [UInt8](repeating: 0, count: 128)
        #expect(recv(other.fd, &answer, 128, 0) > 20)

        // Reading now, the peer gets every frame that was not dropped, whole and in order.
        var received: [STUNTransactionID] = []
        var quiet = 0
        while quiet < 10 {
            worker.pump(rounds: 1, milliseconds: 1)
            let datagrams = peer.receive() ?? []
            quiet = datagrams.isEmpty ? quiet + 1 : 0
            received += datagrams.compactMap { response($0)?.transactionID }
        }
        #expect(received.count + dropped == count)
        var expected = ids[...]
        for id in received {
            while let next = expected.first, next != id { expected.removeFirst() }
            #expect(expected.popFirst() == id, "responses out of order")
        }
    }

    /// Shared port: the check names another worker's transport, so the connection moves there
    /// whole, with the check and the frame that followed it in the same read, and that worker
    /// answers both and every later check.
    @Test func aConnectionMovesToTheWorkerItsFirstCheckNames() throws {
        let acceptor = try TCPWorkerHarness(ufragPrefix: SharedPortUfrag.prefix(worker: 0))
        let owner = try TCPWorkerHarness(ufragPrefix: SharedPortUfrag.prefix(worker: 1))
        let clientICE = ICECredentials.random()
        let context = try DTLSContext(certificate: DTLSCertificate())
        let answer = try owner.core.publish(
            room: "r", participantID: "p", identity: "i", remote: ClientTransport.offer(localICE: clientICE, dtlsContext: context),
            tracks: [], now: .now)
        var moved: [(ICETCPConnection, [UInt8])] = []
        // The connections, not the harness: the harness owns the core that keeps this closure.
        acceptor.core.handOffSTUN = { [tcp = acceptor.tcp] _, datagram, source in
            let copy = Array(datagram)
            return tcp.handOff(source) { connection in
                moved.append((connection, copy))
                return true
            }
        }
        func check() -> (STUNTransactionID, [UInt8]) {
            STUNMessage.bindingRequest(
                username: "\(answer.ice.ufrag):\(clientICE.ufrag)", password: answer.ice.pwd, priority: 1, tieBreaker: 9,
                useCandidate: true)
        }
        let peer = try TCPPeer(port: acceptor.port)
        acceptor.pump()
        let (first, firstCheck) = check(), (second, secondCheck) = check()
        peer.send([firstCheck, secondCheck])
        acceptor.pump()
        try #require(moved.count == 1)
        #expect(acceptor.tcp.count == 0)
        #expect(acceptor.tcp.snapshot.handedOff == 1)
        #expect(acceptor.core.statsSnapshot.stunHandedOff == 1)

        var (connection, firstDatagram) = moved[0]
        owner.tcp.adopt(connection, first: &firstDatagram, now: .now)
        owner.core.queue.flush()
        #expect(owner.tcp.count == 1)
        var answers: [STUNMessage] = []
        for _ in 0..<20 where answers.count < 2 { answers += (peer.receive() ?? []).compactMap(response) }
        #expect(answers.map(\.transactionID) == [first, second])
        #expect(answers.allSatisfy { $0.messageClass == .successResponse && $0.messageIntegrity != nil })

        let (third, thirdCheck) = check()
        peer.send([thirdCheck])
        owner.pump()
        var later: [STUNMessage] = []
        for _ in 0..<20 where later.isEmpty { later += (peer.receive() ?? []).compactMap(response) }
        #expect(later.map(\.transactionID) == [third])
        #expect(owner.core.participantState(room: "r", participantID: "p")?.transportState == .connecting)
    }

    /// Frames longer than any datagram are skipped and counted; the connection stays usable.
    @Test func oversizedFramesAreDroppedAndCounted() throws {
        let worker = try TCPWorkerHarness()
        let peer = try TCPPeer(port: worker.port)
        worker.pump()
        let (id, request) = plainBinding()
        peer.send([[UInt8](repeating: 0x80, count: 40_000), request])
        var answers: [STUNMessage] = []
        for _ in 0..<20 where answers.isEmpty {
            worker.pump(rounds: 1)
            answers += (peer.receive() ?? []).compactMap(response)
        }
        #expect(answers.map(\.transactionID) == [id])
        #expect(worker.tcp.snapshot.dropped(.oversized) == 1)
    }
}
