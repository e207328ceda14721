// The listening socket of a worker's ICE-TCP passive candidate (RFC 6544 §5.2: the peer
// connects, Chorus accepts). Non-blocking: the worker accepts when its event poll says so.

import CSockets
import Glibc
import ICE

final class TCPListener {
    let fd: Int32
    let localPort: UInt16
    /// Connections the kernel completes before the worker accepts them.
    static let backlog: Int32 = 128

    /// With `reusePort`, the listeners of all workers share one port (SO_REUSEPORT): the kernel
    /// gives each new connection to one of them, and the first STUN check's ufrag says whose
    /// room it is for (see ICETCPConnections' hand-off).
    init(host: String, port: UInt16, reusePort: Bool = false) throws(UDPSocketError) {
        guard let address = TransportAddress(string: host, port: port) else {
            throw .system("parse address \(host)", EINVAL)
        }
        let family = address.isIPv4 ? AF_INET : AF_INET6
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system("socket", errno) }
        var one: Int32 = 1
        // A restarted server must not wait for its old connections' TIME_WAIT.
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if reusePort, setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            let code = errno
            close(fd)
            throw .system("SO_REUSEPORT (tcp)", code)
        }
        guard address.bind(fd), listen(fd, Self.backlog) == 0 else {
            let code = errno
            close(fd)
            throw .system("bind/listen tcp \(address)", code)
        }
        self.fd = fd
        self.localPort = TransportAddress.local(of: fd)?.port ?? port
    }

    deinit { close(fd) }

    enum Accepted {
        case connection(fd: Int32, peer: TransportAddress)
        /// Nothing (more) to accept now.
        case none
        /// This one failed (the peer reset it before we got to it, or no fds are left); others
        /// may follow.
        case failed(Int32)
    }

    /// Accepts one pending connection, non-blocking and close-on-exec. Its peer address is
    /// marked `.tcp`.
    func accept() -> Accepted {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let connection = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { chorus_accept_nonblocking(fd, $0, &length) }
        }
        guard connection >= 0 else {
            let code = errno
            return code == EAGAIN || code == EWOULDBLOCK ? .none : .failed(code)
        }
        guard let peer = withUnsafePointer(to: &storage, { TransportAddress(socketAddress: $0, transport: .tcp) }) else {
            close(connection)
            return .failed(EAFNOSUPPORT)
        }
        return .connection(fd: connection, peer: peer)
    }
}
