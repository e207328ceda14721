// TransportAddress text parsing and printing.
import Testing
import ICE

@Suite struct TransportAddressTests {
    @Test func parsesIPv4() {
        let address = TransportAddress(string: "192.0.2.1", port: 3478)
        #expect(address == TransportAddress(ip: .v4(192, 0, 2, 1), port: 3478))
        #expect(address?.description == "192.0.2.1:3478")
        #expect(address?.ipString == "192.0.2.1")
        #expect(address?.isIPv4 == true)
    }

    @Test func parsesIPv6() throws {
        let address = try #require(TransportAddress(string: "2001:DB8::1", port: 443))
        #expect(address.ip == .v6([0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1]))
        #expect(address.description == "[2001:db8::1]:443")
        #expect(address.ipString == "2001:db8::1")
        #expect(!address.isIPv4)
        #expect(TransportAddress(string: "[::1]", port: 1)?.ip == .v6(Array(repeating: 0, count: 15) + [1]))
    }

    @Test func rejectsOtherText() {
        for text in ["", "localhost", "1.2.3", "1.2.3.256", "1.2.3.4.5", "2001:db8:::1", "[1.2.3.4", "::g"] {
            #expect(TransportAddress(string: text, port: 1) == nil, "\(text)")
        }
    }

    @Test func hashableByIPAndPort() {
        let set: Set = [
            TransportAddress(ip: .v4(1, 2, 3, 4), port: 1),
            TransportAddress(ip: .v4(1, 2, 3, 4), port: 1),
            TransportAddress(ip: .v4(1, 2, 3, 4), port: 2),
        ]
        #expect(set.count == 2)
    }
}
