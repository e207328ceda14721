// An IP address (v4 or v6), a port and the transport that reaches it (UDP, or a TCP connection
// carrying RFC 4571 frames): what ICE and STUN talk about, independent of any socket library
// so that the sans-IO agent and its tests need no sockets.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct TransportAddress: Hashable, Sendable, CustomStringConvertible {
    public enum IP: Hashable, Sendable {
        case v4(UInt8, UInt8, UInt8, UInt8)
        /// Exactly 16 bytes in network order.
        case v6([UInt8])
    }

    /// How datagrams travel to and from the address. A peer's UDP port and its TCP port are
    /// different endpoints even when the numbers match, so the transport is part of equality:
    /// ICE validates, and the SFU routes, each one apart (RFC 6544 §7.1: a TCP candidate pair
    /// is its own connection).
    public enum Transport: UInt8, Hashable, Sendable {
        case udp
        /// One TCP connection (ICE-TCP, RFC 6544) whose datagrams are framed by RFC 4571.
        case tcp
    }

    public var ip: IP
    public var port: UInt16
    public var transport: Transport

    public init(ip: IP, port: UInt16, transport: Transport = .udp) {
        if case .v6(let bytes) = ip {
            precondition(bytes.count == 16, "an IPv6 address has 16 bytes, not \(bytes.count)")
        }
        self.ip = ip
        self.port = port
        self.transport = transport
    }

    /// The same IP and port over `transport`.
    public func over(_ transport: Transport) -> TransportAddress {
        var address = self
        address.transport = transport
        return address
    }

    /// Parses a dotted quad ("192.0.2.1") or IPv6 text ("2001:db8::1", brackets allowed);
    /// nil for anything else (host names are not resolved here).
    public init?(string: String, port: UInt16, transport: Transport = .udp) {
        var text = Substring(string)
        if text.hasPrefix("["), text.hasSuffix("]") {
            text = text.dropFirst().dropLast()
        }
        let plain = String(text)
        var v4 = in_addr()
        if inet_pton(AF_INET, plain, &v4) == 1 {
            let bytes = withUnsafeBytes(of: &v4) { Array($0) }
            self.init(ip: .v4(bytes[0], bytes[1], bytes[2], bytes[3]), port: port, transport: transport)
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, plain, &v6) == 1 {
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            self.init(ip: .v6(bytes), port: port, transport: transport)
            return
        }
        return nil
    }

    /// True for IPv4 (and nothing else): STUN's address family 0x01.
    public var isIPv4: Bool {
        if case .v4 = ip { return true }
        return false
    }

    /// "192.0.2.1:3478" or "[2001:db8::1]:3478" (RFC 5952 text for the IPv6 part); a TCP
    /// address ends in "/tcp".
    public var description: String {
        let suffix = transport == .tcp ? "/tcp" : ""
        switch ip {
        case .v4(let a, let b, let c, let d):
            return "\(a).\(b).\(c).\(d):\(port)\(suffix)"
        case .v6(let bytes):
            return "[\(Self.ipv6Text(bytes))]:\(port)\(suffix)"
        }
    }

    /// The IP alone, as text ("192.0.2.1", "2001:db8::1"): what an SDP candidate line carries.
    public var ipString: String {
        switch ip {
        case .v4(let a, let b, let c, let d): return "\(a).\(b).\(c).\(d)"
        case .v6(let bytes): return Self.ipv6Text(bytes)
        }
    }

    private static func ipv6Text(_ bytes: [UInt8]) -> String {
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { raw in
            for (index, byte) in bytes.prefix(16).enumerated() { raw[index] = byte }
        }
        // INET6_ADDRSTRLEN is 46, including the terminating NUL.
        var buffer = [CChar](repeating: 0, count: 46)
        let written = buffer.withUnsafeMutableBufferPointer { out in
            inet_ntop(AF_INET6, &address, out.baseAddress, socklen_t(out.count))
        }
        guard written != nil else { return bytes.map { String($0, radix: 16) }.joined(separator: ":") }
        let end = buffer.firstIndex(of: 0) ?? buffer.count
        return String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
