// All workers on one UDP port: their sockets form a SO_REUSEPORT group, and an eBPF program
// delivers each peer's datagrams to the worker that owns the peer's room. Without it the kernel
// picks a socket by a hash of the 4-tuple, which scatters a room's peers over workers.

import CSockets
import Glibc
import ICE

/// The steering of one SO_REUSEPORT group (see chorus_reuseport_steering_create). Thread-safe:
/// every call is one bpf(2) syscall on a kernel map, and workers call it only when ICE
/// validates or forgets an address, never per packet.
final class ReuseportSteering: Sendable {
    /// Source addresses steered at once: a peer has one or two (IPv4, IPv6, a relay).
    static let maximumPeers = 65_536

    private let handle: chorus_reuseport_steering

    /// Steers among `sockets` (bound to one port with SO_REUSEPORT; a worker's index is its
    /// socket's position). Fails without the privileges to load eBPF (CAP_BPF and
    /// CAP_NET_ADMIN, or root), with the verifier's log when it refused the program.
    init(sockets: [Int32]) throws(UDPSocketError) {
        var log = [CChar](repeating: 0, count: 4096)
        var handle = chorus_reuseport_steering(program: -1, sockets: -1, peers: -1)
        let result = sockets.withUnsafeBufferPointer { fds in
            chorus_reuseport_steering_create(&handle, fds.baseAddress, Int32(fds.count), Int32(Self.maximumPeers), &log, UInt32(log.count))
        }
        guard result == 0 else {
            let detail = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw .system(detail.isEmpty ? "eBPF reuseport steering" : "eBPF reuseport steering (\(detail))", -result)
        }
        self.handle = handle
    }

    deinit {
        var handle = self.handle
        chorus_reuseport_steering_close(&handle)
    }

    /// Datagrams from `peer` go to socket `index` from now on; false when the kernel refused
    /// (the map is full): the peer's datagrams then go by hash, and reach its worker only if
    /// they are STUN (handed over by ufrag).
    @discardableResult
    func steer(_ peer: TransportAddress, to index: Int) -> Bool {
        var storage = sockaddr_storage()
        _ = peer.write(to: &storage)
        return withUnsafePointer(to: handle) { handle in
            withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { chorus_reuseport_steer(handle, $0, UInt32(index)) }
            }
        } == 0
    }

    /// Forgets `peer` (its transport closed).
    func unsteer(_ peer: TransportAddress) {
        var storage = sockaddr_storage()
        _ = peer.write(to: &storage)
        _ = withUnsafePointer(to: handle) { handle in
            withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { chorus_reuseport_unsteer(handle, $0) }
            }
        }
    }
}

/// How a STUN check finds its worker on a shared port before the peer is steered: every local
/// ufrag starts with two ice-chars naming the worker (RFC 8839 §5.4's alphabet, 64 x 64 workers).
enum SharedPortUfrag {
    private static let alphabet = ICECredentials.iceChars
    static let maximumWorkers = 64 * 64

    static func prefix(worker index: Int) -> String {
        precondition((0..<maximumWorkers).contains(index), "worker index \(index) out of range")
        return String(decoding: [alphabet[index / 64], alphabet[index % 64]], as: UTF8.self)
    }

    /// The worker named by `ufrag`'s first two characters; nil when they name none.
    static func worker(of ufrag: Substring) -> Int? {
        let bytes = ufrag.utf8.prefix(2)
        guard bytes.count == 2, let high = alphabet.firstIndex(of: bytes.first!),
            let low = alphabet.firstIndex(of: bytes.last!)
        else { return nil }
        return high * 64 + low
    }
}
