// A non-blocking UDP socket with batched receive and send (recvmmsg/sendmmsg): the worker's
// only I/O. Buffers are allocated once here; the packet path reuses them.

import CSockets
import Glibc
import ICE

public enum UDPSocketError: Error, CustomStringConvertible {
    case system(String, Int32)

    public var description: String {
        switch self {
        case .system(let call, let code): "\(call) failed: \(String(cString: strerror(code)))"
        }
    }
}

final class UDPSocket {
    let fd: Int32
    let localPort: UInt16

    /// With `reusePort`, other sockets of this process may bind the same address and port
    /// (SO_REUSEPORT): the workers' shared port.
    init(host: String, port: UInt16, reusePort: Bool = false) throws {
        guard let address = TransportAddress(string: host, port: port) else {
            throw UDPSocketError.system("parse address \(host)", EINVAL)
        }
        let family = address.isIPv4 ? AF_INET : AF_INET6
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw UDPSocketError.system("socket", errno) }
        // No SO_REUSEADDR: UDP has no TIME_WAIT to wait out, and with it Linux lets any other
        // SO_REUSEADDR socket bind the same address and port (a second server on the media
        // port shared it instead of failing) and even hands that port out to a bind to port 0
        // (two test peers got one port, so one's datagrams were steered as the other's).
        var one: Int32 = 1
        if reusePort, setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            let code = errno
            close(fd)
            throw UDPSocketError.system("SO_REUSEPORT", code)
        }
        // Bursts of video (a keyframe is tens of packets) must not overflow the default buffers.
        var size: Int32 = 4 << 20
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        guard address.bind(fd) else {
            let code = errno
            close(fd)
            throw UDPSocketError.system("bind \(address)", code)
        }
        self.fd = fd
        self.localPort = TransportAddress.local(of: fd)?.port ?? port
    }

    deinit { close(fd) }
}

/// Preallocated message vectors for one recvmmsg call.
final class ReceiveBatch {
    static let slotSize = 2048
    let capacity: Int
    let buffers: UnsafeMutableRawPointer
    let addresses: UnsafeMutablePointer<sockaddr_storage>
    let iovecs: UnsafeMutablePointer<iovec>
    let messages: UnsafeMutablePointer<chorus_mmsghdr>
    private(set) var count = 0

    init(capacity: Int = 32) {
        self.capacity = capacity
        buffers = .allocate(byteCount: capacity * Self.slotSize, alignment: 16)
        addresses = .allocate(capacity: capacity)
        iovecs = .allocate(capacity: capacity)
        messages = .allocate(capacity: capacity)
        for i in 0..<capacity {
            iovecs[i] = iovec(iov_base: buffers + i * Self.slotSize, iov_len: Self.slotSize)
        }
    }

    deinit {
        buffers.deallocate()
        addresses.deallocate()
        iovecs.deallocate()
        messages.deallocate()
    }

    /// Receives up to `capacity` datagrams without blocking; returns how many (0 when none).
    func receive(from socket: UDPSocket) -> Int {
        for i in 0..<capacity {
            messages[i] = chorus_mmsghdr()
            messages[i].msg_hdr.msg_name = UnsafeMutableRawPointer(addresses + i)
            messages[i].msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
            messages[i].msg_hdr.msg_iov = iovecs + i
            messages[i].msg_hdr.msg_iovlen = 1
        }
        let n = chorus_recvmmsg(socket.fd, messages, UInt32(capacity), Int32(MSG_DONTWAIT))
        count = n > 0 ? Int(n) : 0
        return count
    }

    /// The bytes of datagram `i` (mutable: SRTP is removed in place).
    func datagram(_ i: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: buffers + i * Self.slotSize, count: Int(messages[i].msg_len))
    }

    /// True when the datagram was larger than a slot and got cut.
    func isTruncated(_ i: Int) -> Bool {
        messages[i].msg_hdr.msg_flags & Int32(MSG_TRUNC) != 0
    }

    func source(_ i: Int) -> TransportAddress? {
        TransportAddress(socketAddress: addresses + i)
    }
}
