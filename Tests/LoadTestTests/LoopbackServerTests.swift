// The generator only ever targets 127.0.0.1: other hosts, tricks in the URL and a server that
// announces another media address are all refused.

import ICE
import Testing
@testable import LoadTest

@Suite struct LoopbackServerTests {
    @Test(arguments: [
        ("http://127.0.0.1:8080", UInt16(8080)), ("http://127.0.0.1:18080/", 18080), ("http://localhost:9000", 9000),
        ("http://127.0.0.1", 80), ("  http://LOCALHOST:1  ", 1),
    ])
    func loopbackURLsAreAccepted(url: String, port: UInt16) throws {
        #expect(try LoopbackServer(url: url).port == port)
    }

    @Test(arguments: [
        "http://10.0.0.1:8080", "http://example.org:8080", "http://192.168.1.2", "http://127.0.0.2:8080",
        "http://[::1]:8080", "http://0.0.0.0:8080", "http://127.0.0.1.evil.example:80", "http://1.2.3.4:8080/",
    ])
    func otherHostsAreRefused(url: String) {
        let error = #expect(throws: LoadTestError.self) { try LoopbackServer(url: url) }
        guard case .notLoopback = error else {
            Issue.record("\(url): \(String(describing: error)), expected notLoopback")
            return
        }
        #expect(error?.description.contains("only sends to 127.0.0.1") == true)
    }

    @Test(arguments: [
        "127.0.0.1:8080", "https://127.0.0.1:8443", "http://127.0.0.1:0", "http://127.0.0.1:99999", "http://127.0.0.1:80/whip",
        "http://user@127.0.0.1:80", "http://127.0.0.1@example.org", "ftp://127.0.0.1", "", "http://",
    ])
    func malformedURLsAreRefused(url: String) {
        #expect(throws: LoadTestError.self) { try LoopbackServer(url: url) }
    }

    @Test func mediaMustStayOnLoopbackToo() throws {
        try LoopbackServer.requireLoopback(candidate: TransportAddress(ip: .v4(127, 0, 0, 1), port: 40000))
        #expect(throws: LoadTestError.self) {
            try LoopbackServer.requireLoopback(candidate: TransportAddress(ip: .v4(203, 0, 113, 7), port: 40000))
        }
    }
}
