// The floor of one forwarded packet on this machine: what any SFU must spend at least, done with
// the very calls Chorus's packet path uses (OpenSSL SRTP contexts, a SendQueue, sendmmsg) and
// nothing else: unprotect the incoming packet once, then per subscriber copy it, rewrite the
// header, protect it and queue it for the batched send. No parsing, routing, statistics or
// RTCP. Chorus's own cost per forwarded packet, measured by the load generator as server CPU
// time, is reported as a ratio to this.

import CSockets
import Glibc
import Synchronization
import ICE
import RTP

public struct ForwardingFloorResult: Sendable, Codable, Equatable {
    public var fanout: Int
    public var profile: String
    public var payloadBytes: Int
    public var incomingPackets: Int
    public var outgoingPackets: Int
    /// CPU time of the forwarding thread only (setup and input preparation excluded).
    public var cpuSeconds: Double
    public var sendErrors: Int
    /// Datagrams that went out inside UDP GSO runs (0 when the kernel has no GSO).
    public var gsoDatagrams: Int

    public var nanosecondsPerOutgoingPacket: Double { cpuSeconds * 1e9 / Double(max(1, outgoingPackets)) }
    public var outgoingPacketsPerCPUSecond: Double { Double(outgoingPackets) / max(cpuSeconds, 1e-9) }
}

public enum ForwardingFloor {
    /// Forwards `incomingPackets` SRTP packets of `payloadBytes` to `fanout` UDP sockets on
    /// 127.0.0.1, which a second thread drains (as subscribers would, on another core).
    public static func measure(
        fanout: Int = 10, profile: SRTPProfile = .aeadAes128Gcm, payloadBytes: Int = 1160,
        incomingPackets: Int = 100_000, gso: Bool = true
    ) throws -> ForwardingFloorResult {
        precondition(fanout > 0 && payloadBytes > 0 && payloadBytes <= 1300)
        let key = SRTPMasterKey(
            key: (0..<profile.keyLength).map { UInt8(truncatingIfNeeded: $0 &* 7) },
            salt: (0..<profile.saltLength).map { UInt8(truncatingIfNeeded: $0 &* 13) })
        let publisher = try OpenSSLSRTPContext(profile: profile, masterKey: key, direction: .outbound)
        let inbound = try OpenSSLSRTPContext(profile: profile, masterKey: key, direction: .inbound)
        let outbound = try (0..<fanout).map { _ in try OpenSSLSRTPContext(profile: profile, masterKey: key, direction: .outbound) }

        let sinks = try (0..<fanout).map { _ in try UDPSocket(host: "127.0.0.1", port: 0) }
        let destinations = sinks.map { TransportAddress(string: "127.0.0.1", port: $0.localPort)! }
        let drain = Drain(sockets: sinks)
        drain.start()
        defer { drain.stop() }

        let socket = try UDPSocket(host: "127.0.0.1", port: 0)
        let sender = BatchSender(capacity: Worker.sendBatch, gso: gso)
        let queue = SendQueue(capacity: Worker.sendBatch, flushHandler: { _ in })
        queue.flushHandler = { queue in
            _ = sender.send(queue, on: socket)
            queue.removeAll()
        }

        // Inputs are protected in chunks outside the timed sections: the publisher's work is not
        // the SFU's, and fresh sequence numbers keep the replay window satisfied.
        let chunk = 2048
        let slot = 1500
        let inputs = UnsafeMutableRawPointer.allocate(byteCount: chunk * slot, alignment: 16)
        defer { inputs.deallocate() }
        var lengths = [Int](repeating: 0, count: chunk)
        let payload = [UInt8](repeating: 0x5A, count: payloadBytes)
        var cpu = 0.0
        var done = 0
        var sequence: UInt16 = 1
        var outSequence = [UInt16](repeating: 100, count: fanout)
        while done < incomingPackets {
            let n = min(chunk, incomingPackets - done)
            for i in 0..<n {
                let packet = UnsafeMutableRawBufferPointer(start: inputs + i * slot, count: slot)
                let header = RTPHeaderWriter.writeFixedHeader(
                    marker: false, payloadType: 96, sequenceNumber: SequenceNumber(sequence),
                    timestamp: RTPTimestamp(rawValue: UInt32(done + i) &* 3000), ssrc: 0x1234_5678, into: packet)
                payload.withUnsafeBytes { (packet.baseAddress! + header).copyMemory(from: $0.baseAddress!, byteCount: payloadBytes) }
                lengths[i] = try publisher.protectRTP(packet.baseAddress!, length: header + payloadBytes, capacity: slot)
                sequence &+= 1
            }
            let start = threadCPUSeconds()
            for i in 0..<n {
                let packet = inputs + i * slot
                let plain = try inbound.unprotectRTP(packet, length: lengths[i])
                let payloadLength = plain - 12
                for s in 0..<fanout {
                    let out = queue.reserve()
                    outSequence[s] &+= 1
                    let header = RTPHeaderWriter.writeFixedHeader(
                        marker: false, payloadType: 96, sequenceNumber: SequenceNumber(outSequence[s]),
                        timestamp: RTPTimestamp(rawValue: UInt32(truncatingIfNeeded: done + i)), ssrc: UInt32(s + 1), into: out)
                    (out.baseAddress! + header).copyMemory(from: packet + 12, byteCount: payloadLength)
                    let protected = try outbound[s].protectRTP(out.baseAddress!, length: header + payloadLength, capacity: out.count)
                    queue.commit(length: protected, to: destinations[s])
                }
            }
            queue.flush()
            cpu += threadCPUSeconds() - start
            done += n
        }
        return ForwardingFloorResult(
            fanout: fanout, profile: "\(profile)", payloadBytes: payloadBytes, incomingPackets: done,
            outgoingPackets: done * fanout, cpuSeconds: cpu, sendErrors: sender.sendErrors, gsoDatagrams: sender.gsoDatagrams)
    }

    static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }
}

/// Reads and discards everything the sinks receive, on its own thread, so that the sender's
/// datagrams are delivered as they would be to real subscribers. Sendable by confinement: the
/// batch is used by the drain's thread only, `thread` by the one caller of start and stop, and
/// `running` is the one thing both share, behind its mutex.
private final class Drain: @unchecked Sendable {
    private let sockets: [UDPSocket]
    private let batch = ReceiveBatch(capacity: 64)
    private let running = Mutex(true)
    private var thread: pthread_t?

    init(sockets: [UDPSocket]) {
        self.sockets = sockets
    }

    func start() {
        thread = startThread { [self] in loop() }
    }

    func stop() {
        running.withLock { $0 = false }
        if let thread { pthread_join(thread, nil) }
    }

    private func loop() {
        var fds = sockets.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        while running.withLock({ $0 }) {
            guard poll(&fds, nfds_t(fds.count), 20) > 0 else { continue }
            for (i, socket) in sockets.enumerated() where fds[i].revents != 0 {
                while batch.receive(from: socket) > 0 {}
            }
        }
    }
}
