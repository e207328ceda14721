// Which names an SFU room may have, and which Host headers the development token endpoint
// takes for loopback (DNS rebinding arrives with a hostile name in Host).

import SignalingTestSupport
import Testing
@testable import Signaling

@Suite struct RoomNameTests {
    @Test func acceptsMatrixIdsCallIdsAndPlainNames() {
        for name in ["r1", "!opaque:example.org", "@alice:example.org", "2f1b9f4e-5d1c-4f0e-9a57-0c5b7a1e9d10",
                     "a.b", "...x", String(repeating: "r", count: 128)] {
            #expect(RoomName.problem(with: name) == nil, "\(name)")
        }
    }

    @Test func refusesWhatCouldMeanSomethingElse() {
        for name in ["", ".", "..", "...", "*", "a*", "a/b", "a%2eb", "a b", "été", "a\u{0}b", "a?b", "a#b",
                     String(repeating: "r", count: 129)] {
            #expect(RoomName.problem(with: name) != nil, "\(name)")
        }
    }

    @Test func loopbackHosts() {
        for host in ["127.0.0.1", "127.0.0.1:8080", "127.1.2.3:1", "localhost", "LOCALHOST:80", "[::1]", "[::1]:8080"] {
            #expect(WebClientRoutes.isLoopback(host: host), "\(host)")
        }
        for host in ["rebind.evil.example", "evil.example:8080", "127.0.0.1.evil.example", "10.0.0.1:8080", "[::2]:80",
                     "localhost.evil", "127.0.0.1:80x", "[::1]x", "", "127.0.0.256"] {
            #expect(!WebClientRoutes.isLoopback(host: host), "\(host)")
        }
    }

    @Test func devTokenOrigins() throws {
        #expect(try WebClientRoutes.checkDevTokenRequest(host: "127.0.0.1:8080", origin: "http://127.0.0.1:8080"))
        #expect(try !WebClientRoutes.checkDevTokenRequest(host: "127.0.0.1:8080", origin: nil))
        #expect(throws: APIError.self) { try WebClientRoutes.checkDevTokenRequest(host: "127.0.0.1:8080", origin: "http://evil.example") }
        #expect(throws: APIError.self) { try WebClientRoutes.checkDevTokenRequest(host: "127.0.0.1:8080", origin: "http://127.0.0.1:9999") }
        #expect(throws: APIError.self) { try WebClientRoutes.checkDevTokenRequest(host: "rebind.evil.example", origin: "http://rebind.evil.example") }
        #expect(throws: APIError.self) { try WebClientRoutes.checkDevTokenRequest(host: nil, origin: nil) }
    }
}
