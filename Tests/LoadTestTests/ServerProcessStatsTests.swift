// Reading CPU time, RSS and the listening socket's owner from /proc text, and from this very
// process.

import Glibc
import Testing
@testable import LoadTest

@Suite struct ServerProcessStatsTests {
    @Test func statFieldsCountFromTheLastParenthesis() {
        // comm with a space and a parenthesis, as proc(5) warns.
        let stat = "4242 (chorus (x) y) S 1 4242 4242 0 -1 4194560 3000 0 0 0 150 75 0 0 20 0 9 0 12345 1000000 2000 18446744073709551615"
        #expect(ServerProcessStats.cpuTicks(stat: stat) == 225)
        #expect(ServerProcessStats.cpuTicks(stat: "garbage") == nil)
        #expect(ServerProcessStats.cpuTicks(stat: "1 (x) S 1 2") == nil)
    }

    @Test func residentSetSize() {
        let status = "Name:\tchorus\nVmPeak:\t  900000 kB\nVmRSS:\t   61234 kB\nThreads:\t9\n"
        #expect(ServerProcessStats.residentKilobytes(status: status) == 61_234)
        #expect(ServerProcessStats.residentKilobytes(status: "Name: x\n") == nil)
    }

    @Test func listeningSocketsByPort() {
        let text = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 0100007F:4690 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123456 1 0000000000000000 100 0 0 10 0
               1: 0100007F:4690 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 20 4 30 10 -1
               2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 999 1 0000000000000000 100 0 0 10 0
            """
        #expect(ServerProcessStats.listeningInodes(procNetTCP: text, port: 18_064) == [123_456])
        #expect(ServerProcessStats.listeningInodes(procNetTCP: text, port: 8080) == [999])
        #expect(ServerProcessStats.listeningInodes(procNetTCP: text, port: 1).isEmpty)
    }

    @Test func thisProcessCanBeSampledAndFoundByItsListeningSocket() throws {
        let sample = try #require(ServerProcessStats.sampleSelf())
        #expect(sample.residentBytes > 0)
        // Listen on a kernel-chosen port and find ourselves... except that the finder skips its
        // own process on purpose (the generator is never the server); so only check it returns.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = listen(fd, 1)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let port = UInt16(bigEndian: address.sin_port)
        let inodes = ServerProcessStats.readText("/proc/net/tcp").map { ServerProcessStats.listeningInodes(procNetTCP: $0, port: port) }
        #expect(inodes?.count == 1)
        #expect(ServerProcessStats.findListeningProcess(port: port) == nil)
    }

    @Test func cpuPercentOverAnInterval() {
        let a = ProcessSample(cpuSeconds: 1.0, residentBytes: 0, time: 1_000_000_000)
        let b = ProcessSample(cpuSeconds: 1.5, residentBytes: 0, time: 2_000_000_000)
        #expect(ProcessSample.cpuPercent(from: a, to: b) == 50)
        #expect(ProcessSample.cpuPercent(from: b, to: a) == 0)
    }
}
