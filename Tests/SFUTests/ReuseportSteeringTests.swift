// Workers sharing one UDP port: the eBPF program delivers each steered peer's datagrams to the
// socket named for it (real loopback sockets, real kernel), ufrags name their worker, a STUN
// check for another worker's ufrag is handed over rather than dropped, and MediaServer shares
// the port or gives each worker its own. Loading eBPF needs root: those tests run only as root
// (the README's test command runs as root or under sudo, as CI does).

import Glibc
import ICE
import Logging
import Testing
@testable import SFU
import SFUTesting

struct ReuseportSteeringTests {
    static let isRoot = getuid() == 0

    /// Sends one datagram tagged `tag` from each client and returns, per client, the indices of
    /// the sockets that received its datagram.
    private func deliver(from clients: [UDPSocket], to port: UInt16, over sockets: [UDPSocket], tag: UInt8, host: String = "127.0.0.1") -> [[Int]] {
        let queue = SendQueue(capacity: 4, flushHandler: { _ in })
        let destination = TransportAddress(string: host, port: port)!
        for (index, client) in clients.enumerated() {
            queue.enqueue([tag, UInt8(index)], to: destination)
            _ = BatchSender(capacity: 4).send(queue, on: client)
            queue.removeAll()
        }
        usleep(20_000)
        var seen: [[Int]] = Array(repeating: [], count: clients.count)
        let batch = ReceiveBatch(capacity: 64)
        for (socketIndex, socket) in sockets.enumerated() {
            while batch.receive(from: socket) > 0 {
                for i in 0..<batch.count {
                    let datagram = Array(batch.datagram(i))
                    if datagram.count == 2, datagram[0] == tag { seen[Int(datagram[1])].append(socketIndex) }
                }
            }
        }
        return seen
    }

    /// IPv4 and IPv6: the program reads the source address at a different offset for each.
    @Test(.enabled(if: isRoot, "loading eBPF needs root"), arguments: ["127.0.0.1", "::1"])
    func steeredPeersReachTheSocketNamedForThem(host: String) throws {
        let first = try UDPSocket(host: host, port: 0, reusePort: true)
        let sockets = try [first] + (1..<3).map { _ in try UDPSocket(host: host, port: first.localPort, reusePort: true) }
        let steering = try ReuseportSteering(sockets: sockets.map(\.fd))
        let clients = try (0..<9).map { _ in try UDPSocket(host: host, port: 0) }
        func address(_ client: UDPSocket) -> TransportAddress { TransportAddress(string: host, port: client.localPort)! }
        func deliver(tag: UInt8) -> [[Int]] { self.deliver(from: clients, to: first.localPort, over: sockets, tag: tag, host: host) }
        for (index, client) in clients.enumerated() { #expect(steering.steer(address(client), to: index % 3)) }
        let steered = deliver(tag: 1)
        #expect(steered == (0..<9).map { [$0 % 3] })

        // Moved and forgotten: a peer re-steered goes to its new socket; one unsteered still
        // arrives (by the kernel's hash), exactly once.
        #expect(steering.steer(address(clients[0]), to: 2))
        steering.unsteer(address(clients[1]))
        let after = deliver(tag: 2)
        #expect(after[0] == [2])
        #expect(after[1].count == 1)
        #expect(after[2...] == steered[2...])
    }

    /// A dual-stack group (bound to `::`) sees IPv4 peers as ::ffff:a.b.c.d; on the wire they
    /// are IPv4, and steering one by its mapped address must still work.
    @Test(.enabled(if: isRoot, "loading eBPF needs root"))
    func mappedIPv4PeersOfADualStackGroupAreSteered() throws {
        let first = try UDPSocket(host: "::", port: 0, reusePort: true)
        let sockets = try [first] + (1..<3).map { _ in try UDPSocket(host: "::", port: first.localPort, reusePort: true) }
        let steering = try ReuseportSteering(sockets: sockets.map(\.fd))
        let clients = try (0..<6).map { _ in try UDPSocket(host: "127.0.0.1", port: 0) }
        for (index, client) in clients.enumerated() {
            let mapped = try #require(TransportAddress(string: "::ffff:127.0.0.1", port: client.localPort))
            #expect(steering.steer(mapped, to: (index + 1) % 3))
        }
        let seen = deliver(from: clients, to: first.localPort, over: sockets, tag: 3)
        #expect(seen == (0..<6).map { [($0 + 1) % 3] })
    }

    @Test func ufragsNameTheirWorker() {
        for index in [0, 1, 63, 64, 65, 4095] {
            let credentials = ICECredentials.random(ufragPrefix: SharedPortUfrag.prefix(worker: index))
            #expect(credentials.ufrag.count == 10)
            #expect(SharedPortUfrag.worker(of: Substring(credentials.ufrag)) == index)
        }
        #expect(SharedPortUfrag.worker(of: "A") == nil)
        #expect(SharedPortUfrag.worker(of: "") == nil)
        #expect(SharedPortUfrag.worker(of: "A-bcdefgh") == nil)  // '-' is not an ice-char
        #expect(SharedPortUfrag.worker(of: "éa") == nil)
    }

    /// A check for a ufrag this core does not know goes to the hand-off hook (counted) instead
    /// of being dropped; without the hook, or when the hook declines, it is dropped as before.
    @Test func checksForAnotherWorkersUfragAreHandedOver() throws {
        let net = try InMemoryNetwork()
        let core = net.core
        var handedOver: [(ufrag: String, source: TransportAddress, bytes: Int)] = []
        let (_, request) = STUNMessage.bindingRequest(
            username: "ABsomeone:peer", password: "0123456789012345678901", priority: 1, tieBreaker: 7, useCandidate: true)
        let source = TransportAddress(string: "10.0.0.9", port: 5000)!
        func send() {
            var datagram = request
            datagram.withUnsafeMutableBytes { core.handleDatagram($0, from: source, now: net.now) }
        }
        send()
        #expect(core.statsSnapshot.dropped(.unknownTransport) == 1)

        core.handOffSTUN = { ufrag, datagram, source in
            handedOver.append((String(ufrag), source, datagram.count))
            return true
        }
        send()
        #expect(handedOver.count == 1)
        #expect(handedOver.first?.ufrag == "ABsomeone")
        #expect(handedOver.first?.source == source)
        #expect(handedOver.first?.bytes == request.count)
        #expect(core.statsSnapshot.stunHandedOff == 1)
        #expect(core.statsSnapshot.dropped(.unknownTransport) == 1)

        core.handOffSTUN = { _, _, _ in false }
        send()
        #expect(core.statsSnapshot.dropped(.unknownTransport) == 2)
    }

    @Test(.enabled(if: isRoot, "loading eBPF needs root"))
    func mediaServerSharesOnePort() throws {
        let media = try MediaServer(
            configuration: MediaServerConfiguration(host: "127.0.0.1", udpPort: 0, workers: 3, portSharing: .shared),
            logger: Logger(label: "test"))
        #expect(media.sharesPort)
        #expect(Set(media.udpPorts).count == 1)
    }

    @Test func mediaServerGivesEachWorkerAPortWhenAsked() throws {
        let media = try MediaServer(
            configuration: MediaServerConfiguration(host: "127.0.0.1", udpPort: 0, workers: 3, portSharing: .perWorker),
            logger: Logger(label: "test"))
        #expect(!media.sharesPort)
        #expect(Set(media.udpPorts).count == 3)
    }
}
