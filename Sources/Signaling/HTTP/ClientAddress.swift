// Who a request comes from, for per-client limits: the TCP peer's IPv4 address, or the /64
// prefix of an IPv6 one (RFC 6177: one site, often one host, gets a whole /64, so counting single
// IPv6 addresses would let one client appear as billions).

import NIOCore

enum ClientAddress {
    /// A key naming the client: `192.0.2.7`, `2001:db8:1:2::/64`; an IPv4-mapped IPv6 address
    /// counts as its IPv4 address. A connection without an IP peer is `local`.
    static func key(_ address: SocketAddress?) -> String {
        switch address {
        case .v4?:
            return address?.ipAddress ?? "local"
        case .v6(let v6)?:
            var storage = v6.address.sin6_addr
            let bytes = withUnsafeBytes(of: &storage) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
                return bytes[12..<16].map(String.init).joined(separator: ".")
            }
            let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            return groups.joined(separator: ":") + "::/64"
        case .unixDomainSocket?, nil:
            return "local"
        }
    }
}
