// Real loopback sockets: batched send and receive, and the kernel's receive timestamp read
// back from the control message and converted to the generator's clock.

import ICE
import Testing
@testable import LoadTest

@Suite struct UDPEndpointTests {
    @Test func batchesTravelAndCarryKernelTimestamps() throws {
        let a = try UDPEndpoint()
        let b = try UDPEndpoint()
        #expect(a.localAddress.ip == .v4(127, 0, 0, 1) && a.localAddress.port != 0)
        try a.connect(to: b.localAddress)
        try b.connect(to: a.localAddress)
        let send = DatagramBatch(capacity: 4)
        let receive = DatagramBatch(capacity: 8)
        let before = MonotonicTime.now()
        for i in 0..<6 {
            if send.isFull { #expect(send.flush(to: a) == 0) }
            #expect(send.append([UInt8](repeating: UInt8(i), count: 100 + i)))
        }
        #expect(send.flush(to: a) == 0)
        var received: [[UInt8]] = []
        var stamps: [UInt64] = []
        for _ in 0..<100 where received.count < 6 {
            let n = receive.receive(from: b)
            let offset = MonotonicTime.realtimeOffset()
            for i in 0..<n {
                received.append(Array(receive.datagram(i)))
                if let stamp = receive.kernelTimestamp(i) { stamps.append(UInt64(stamp - offset)) }
            }
            if n == 0 { MonotonicTime.sleep(until: MonotonicTime.now() + 1_000_000) }
        }
        let after = MonotonicTime.now()
        #expect(received == (0..<6).map { [UInt8](repeating: UInt8($0), count: 100 + $0) })
        #expect(stamps.count == 6)
        // Realtime and monotonic are read a few ns apart: allow a millisecond of slack.
        for stamp in stamps { #expect(stamp + 1_000_000 >= before && stamp <= after + 1_000_000) }
    }

    @Test func nothingToReadIsZero() throws {
        let socket = try UDPEndpoint()
        #expect(DatagramBatch().receive(from: socket) == 0)
    }

    @Test func oversizedDatagramsAreNotQueued() {
        let batch = DatagramBatch(capacity: 2)
        #expect(!batch.append([UInt8](repeating: 0, count: DatagramBatch.slotSize + 1)))
        #expect(batch.count == 0)
    }

    @Test func onlyIPv4LoopbackIsConnected() throws {
        let socket = try UDPEndpoint()
        #expect(throws: LoadTestError.self) {
            try socket.connect(to: TransportAddress(ip: .v6([UInt8](repeating: 0, count: 15) + [1]), port: 9))
        }
    }
}
