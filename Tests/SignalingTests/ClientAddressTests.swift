// The key per-address limits count by: an IPv4 address, an IPv6 /64, or `local`.

import NIOCore
import SignalingTestSupport
import Testing
@testable import Signaling

@Suite struct ClientAddressTests {
    @Test func clientAddressKeys() throws {
        #expect(ClientAddress.key(try SocketAddress(ipAddress: "192.0.2.7", port: 5000)) == "192.0.2.7")
        // One /64 is one client.
        #expect(ClientAddress.key(try SocketAddress(ipAddress: "2001:db8:1:2:aaaa::1", port: 5000)) == "2001:db8:1:2::/64")
        #expect(ClientAddress.key(try SocketAddress(ipAddress: "2001:db8:1:2:bbbb::9", port: 6000)) == "2001:db8:1:2::/64")
        #expect(ClientAddress.key(try SocketAddress(ipAddress: "::ffff:192.0.2.7", port: 5000)) == "192.0.2.7")
        #expect(ClientAddress.key(nil) == "local")
    }
}
