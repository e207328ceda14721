// An IP address (v4 or v6) and a UDP port: what ICE and STUN talk about, independent of any
// socket library so that the sans-IO agent and its tests need no sockets.
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

    public var ip: IP
    public var port: UInt16

    public init(ip: IP, port: UInt16) {
        if case .v6(let bytes) = ip {
            precondition(bytes.count == 16, "an IPv6 address has 16 bytes, not \(bytes.count)")
        }
        self.ip = ip
        self.port = port
    }

    /// Parses a dotted quad ("192.0.2.1") or IPv6 text ("2001:db8::1", brackets allowed);
    /// nil for anything else (host names are not resolved here).
    public init?(string: String, port: UInt16) {
        var text = Substring(string)
        if text.hasPrefix("["), text.hasSuffix("]") {
            text = text.dropFirst().dropLast()
        }
        let plain = String(text)
        var v4 = in_addr()
        if inet_pton(AF_INET, plain, &v4) == 1 {
            let bytes = withUnsafeBytes(of: &v4) { Array($0) }
            self.init(ip: .v4(bytes[0], bytes[1], bytes[2], bytes[3]), port: port)
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, plain, &v6) == 1 {
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            self.init(ip: .v6(bytes), port: port)
            return
        }
        return nil
    }

    /// True for IPv4 (and nothing else): STUN's address family 0x01.
    public var isIPv4: Bool {
        if case .v4 = ip { return true }
        return false
    }

    /// "192.0.2.1:3478" or "[2001:db8::1]:3478" (RFC 5952 text for the IPv6 part).
    public var description: String {
        switch ip {
        case .v4(let a, let b, let c, let d):
            return "\(a).\(b).\(c).\(d):\(port)"
        case .v6(let bytes):
            return "[\(Self.ipv6Text(bytes))]:\(port)"
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
