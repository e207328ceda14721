// The batched send over real loopback sockets: with UDP GSO, interleaved datagrams to several
// peers still arrive at each peer whole, in order and with their own sizes, whether they went
// as GSO runs or one by one.

import Glibc
import ICE
import Testing
@testable import SFU

struct BatchSenderTests {
    /// Queues `plan` (peer index, size, tag byte) and returns what each peer received, in order.
    private func roundTrip(_ plan: [(peer: Int, size: Int)], peers: Int, gso: Bool) throws -> (received: [[[UInt8]]], sender: BatchSender) {
        let socket = try UDPSocket(host: "127.0.0.1", port: 0)
        let sinks = try (0..<peers).map { _ in try UDPSocket(host: "127.0.0.1", port: 0) }
        let sender = BatchSender(capacity: 128, gso: gso)
        let queue = SendQueue(capacity: 128) { _ in }
        queue.flushHandler = { queue in
            _ = sender.send(queue, on: socket)
            queue.removeAll()
        }
        for (n, item) in plan.enumerated() {
            let slot = queue.reserve()
            for k in 0..<item.size { slot[k] = UInt8(truncatingIfNeeded: n &+ k) }
            slot[0] = UInt8(n)
            queue.commit(length: item.size, to: TransportAddress(string: "127.0.0.1", port: sinks[item.peer].localPort)!)
        }
        queue.flush()
        usleep(50_000)
        let batch = ReceiveBatch(capacity: 64)
        var received: [[[UInt8]]] = Array(repeating: [], count: peers)
        for (p, sink) in sinks.enumerated() {
            while batch.receive(from: sink) > 0 {
                for i in 0..<batch.count { received[p].append(Array(batch.datagram(i))) }
            }
        }
        return (received, sender)
    }

    @Test(arguments: [true, false])
    func interleavedPeersReceiveTheirOwnDatagramsInOrder(gso: Bool) throws {
        // Four peers, a fan-out pattern of equal-size packets, then a shorter end of frame, a
        // larger packet that must not join a run, and more equal ones after it.
        var plan: [(peer: Int, size: Int)] = []
        for _ in 0..<6 { for p in 0..<4 { plan.append((p, 1100)) } }
        for p in 0..<4 { plan.append((p, 700)) }
        for p in 0..<4 { plan.append((p, 1200)) }
        for _ in 0..<3 { for p in 0..<4 { plan.append((p, 1200)) } }
        let (received, sender) = try roundTrip(plan, peers: 4, gso: gso)
        for p in 0..<4 {
            let expected = plan.enumerated().filter { $0.element.peer == p }
            #expect(received[p].count == expected.count, "peer \(p) got \(received[p].count) of \(expected.count)")
            for (datagram, (n, item)) in zip(received[p], expected) {
                #expect(datagram.count == item.size)
                #expect(datagram.first == UInt8(n), "peer \(p): datagram \(n) out of order")
                #expect(datagram.dropFirst().elementsEqual((1..<item.size).map { UInt8(truncatingIfNeeded: n &+ $0) }))
            }
        }
        #expect(sender.sendErrors == 0)
        if gso {
            #expect(sender.gsoMessages > 0 && sender.gsoDatagrams > sender.gsoMessages)
        } else {
            #expect(sender.gsoMessages == 0)
        }
    }
}

struct WorkerPollTimeoutTests {
    @Test func waitsAreRoundedUpToWholeMilliseconds() {
        #expect(Worker.pollMilliseconds(.microseconds(1)) == 1)  // not 0: that would spin
        #expect(Worker.pollMilliseconds(.microseconds(999)) == 1)
        #expect(Worker.pollMilliseconds(.milliseconds(20)) == 20)
        #expect(Worker.pollMilliseconds(.microseconds(20_001)) == 21)
        #expect(Worker.pollMilliseconds(.zero) == 0)
        #expect(Worker.pollMilliseconds(.milliseconds(-3)) == 0)
        #expect(Worker.pollMilliseconds(.seconds(1) + .nanoseconds(1)) == 1001)
    }
}

struct SendKeyTests {
    @Test func ipv4KeysAreExactAndIPv6KeysOnlyHint() {
        let a = TransportAddress(string: "127.0.0.1", port: 5000)!
        let b = TransportAddress(string: "127.0.0.1", port: 5001)!
        let c = TransportAddress(string: "127.0.0.2", port: 5000)!
        #expect(Set([a.sendKey, b.sendKey, c.sendKey]).count == 3)
        #expect(TransportAddress.isExactKey(a.sendKey))
        let v6 = TransportAddress(string: "::1", port: 5000)!
        let v6b = TransportAddress(string: "::2", port: 5000)!
        #expect(!TransportAddress.isExactKey(v6.sendKey))  // a hash: the sender compares addresses too
        #expect(v6.sendKey != v6b.sendKey)
        #expect(v6.sendKey == TransportAddress(string: "::1", port: 5000)!.sendKey)
    }
}
