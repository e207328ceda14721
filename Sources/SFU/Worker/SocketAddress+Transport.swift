// Conversions between the kernel's socket addresses and ICE's TransportAddress, done on the
// packet path without allocation for IPv4.

import Glibc
import ICE

extension TransportAddress {
    /// Reads a `sockaddr_in`/`sockaddr_in6`; nil for other families. The kernel's address says
    /// nothing of the protocol: `transport` is the socket's.
    init?(socketAddress storage: UnsafePointer<sockaddr_storage>, transport: Transport = .udp) {
        switch Int32(storage.pointee.ss_family) {
        case AF_INET:
            let address = UnsafeRawPointer(storage).assumingMemoryBound(to: sockaddr_in.self).pointee
            let ip = address.sin_addr.s_addr  // network order in memory
            let b = withUnsafeBytes(of: ip) { ($0[0], $0[1], $0[2], $0[3]) }
            self.init(ip: .v4(b.0, b.1, b.2, b.3), port: UInt16(bigEndian: address.sin_port), transport: transport)
        case AF_INET6:
            let address = UnsafeRawPointer(storage).assumingMemoryBound(to: sockaddr_in6.self).pointee
            let bytes = withUnsafeBytes(of: address.sin6_addr) { Array($0) }
            self.init(ip: .v6(bytes), port: UInt16(bigEndian: address.sin6_port), transport: transport)
        default:
            return nil
        }
    }

    /// Binds socket `fd` to this address; false (errno set) when the kernel refused.
    func bind(_ fd: Int32) -> Bool {
        var storage = sockaddr_storage()
        let length = write(to: &storage)
        return withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) }
        } == 0
    }

    /// The local address socket `fd` is bound to (the port the kernel chose for port 0).
    static func local(of fd: Int32) -> TransportAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return nil }
        return withUnsafePointer(to: &storage) { TransportAddress(socketAddress: $0) }
    }

    /// Writes this address into `storage`; returns the length to pass to the kernel.
    func write(to storage: UnsafeMutablePointer<sockaddr_storage>) -> socklen_t {
        switch ip {
        case .v4(let a, let b, let c, let d):
            let raw = UnsafeMutableRawPointer(storage)
            let address = raw.assumingMemoryBound(to: sockaddr_in.self)
            address.pointee = sockaddr_in()
            address.pointee.sin_family = sa_family_t(AF_INET)
            address.pointee.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &address.pointee.sin_addr) { bytes in
                bytes[0] = a
                bytes[1] = b
                bytes[2] = c
                bytes[3] = d
            }
            return socklen_t(MemoryLayout<sockaddr_in>.size)
        case .v6(let bytes):
            let raw = UnsafeMutableRawPointer(storage)
            let address = raw.assumingMemoryBound(to: sockaddr_in6.self)
            address.pointee = sockaddr_in6()
            address.pointee.sin6_family = sa_family_t(AF_INET6)
            address.pointee.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &address.pointee.sin6_addr) { raw in
                for index in 0..<16 { raw[index] = bytes[index] }
            }
            return socklen_t(MemoryLayout<sockaddr_in6>.size)
        }
    }
}
