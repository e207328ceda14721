// One peer's UDP socket: non-blocking, bound to 127.0.0.1 on a port of the kernel's choosing
// and connected to the SFU's candidate, so the kernel drops anything from elsewhere and sends
// need no address. Batched with recvmmsg/sendmmsg through `DatagramBatch`.

import CSockets
import Glibc
import ICE

final class UDPEndpoint {
    let fd: Int32
    let localAddress: TransportAddress
    /// Set by `connect(to:)`, once the answer names the SFU's candidate.
    private(set) var remoteAddress: TransportAddress?

    /// Bound first, so that the offer can carry the port as our host candidate.
    init() throws(LoadTestError) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .socket("socket: \(String(cString: strerror(errno))) (raise ulimit -n for many peers)") }
        // A keyframe burst to one subscriber is tens of packets; the kernel caps this at rmem_max.
        var size: Int32 = 1 << 20
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        // The kernel stamps each datagram as it lands in the socket (SO_TIMESTAMPNS, socket(7)),
        // so added latency does not include how long the generator took to read it.
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, socklen_t(MemoryLayout<Int32>.size))
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw .socket("bind 127.0.0.1: \(message)")
        }
        _ = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.localAddress = TransportAddress(ip: .v4(127, 0, 0, 1), port: UInt16(bigEndian: local.sin_port))
    }

    func connect(to remote: TransportAddress) throws(LoadTestError) {
        guard case .v4(let a, let b, let c, let d) = remote.ip else { throw .notLoopback("IPv6 candidate \(remote)") }
        var server = sockaddr_in()
        server.sin_family = sa_family_t(AF_INET)
        server.sin_port = remote.port.bigEndian
        withUnsafeMutableBytes(of: &server.sin_addr) { $0[0] = a; $0[1] = b; $0[2] = c; $0[3] = d }
        let connected = withUnsafePointer(to: &server) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw .socket("connect \(remote): \(String(cString: strerror(errno)))") }
        remoteAddress = remote
    }

    deinit { close(fd) }
}

/// Preallocated buffers and message headers for one recvmmsg or sendmmsg call; one of each
/// per generator thread, reused for every socket.
final class DatagramBatch {
    static let slotSize = 2048
    /// Room for one SCM_TIMESTAMPNS control message (16-byte cmsghdr + timespec) and slack.
    static let controlSize = 64
    let capacity: Int
    private let buffers: UnsafeMutableRawPointer
    private let controls: UnsafeMutableRawPointer
    private let iovecs: UnsafeMutablePointer<iovec>
    private let messages: UnsafeMutablePointer<chorus_mmsghdr>
    /// Datagrams filled for sending.
    private(set) var count = 0

    init(capacity: Int = 32) {
        self.capacity = capacity
        buffers = .allocate(byteCount: capacity * Self.slotSize, alignment: 16)
        controls = .allocate(byteCount: capacity * Self.controlSize, alignment: 16)
        iovecs = .allocate(capacity: capacity)
        messages = .allocate(capacity: capacity)
        for i in 0..<capacity {
            iovecs[i] = iovec(iov_base: buffers + i * Self.slotSize, iov_len: Self.slotSize)
        }
    }

    deinit {
        buffers.deallocate()
        controls.deallocate()
        iovecs.deallocate()
        messages.deallocate()
    }

    private func prepare(_ i: Int, length: Int) {
        iovecs[i].iov_len = length
        messages[i] = chorus_mmsghdr()  // no name (connected), no control unless receiving
        messages[i].msg_hdr.msg_iov = iovecs + i
        messages[i].msg_hdr.msg_iovlen = 1
    }

    // MARK: Receive

    /// Receives up to `capacity` datagrams without blocking; returns how many.
    func receive(from socket: UDPEndpoint) -> Int {
        for i in 0..<capacity {
            prepare(i, length: Self.slotSize)
            messages[i].msg_hdr.msg_control = controls + i * Self.controlSize
            messages[i].msg_hdr.msg_controllen = Self.controlSize
        }
        let n = chorus_recvmmsg(socket.fd, messages, UInt32(capacity), Int32(MSG_DONTWAIT))
        return n > 0 ? Int(n) : 0
    }

    func datagram(_ i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: buffers + i * Self.slotSize, count: Int(messages[i].msg_len))
    }

    /// When the kernel queued datagram `i` (SCM_TIMESTAMPNS, CLOCK_REALTIME ns); nil without.
    func kernelTimestamp(_ i: Int) -> Int64? {
        // struct cmsghdr on LP64 Linux: size_t cmsg_len, int cmsg_level, int cmsg_type, then
        // the data aligned to 8. CMSG_FIRSTHDR and friends are macros Swift cannot call.
        let length = Int(messages[i].msg_hdr.msg_controllen)
        let control = UnsafeRawPointer(controls + i * Self.controlSize)
        var offset = 0
        while offset + 16 <= length {
            let cmsgLength = control.loadUnaligned(fromByteOffset: offset, as: Int.self)
            let level = control.loadUnaligned(fromByteOffset: offset + 8, as: Int32.self)
            let type = control.loadUnaligned(fromByteOffset: offset + 12, as: Int32.self)
            guard cmsgLength >= 16, offset + cmsgLength <= length else { return nil }
            if level == SOL_SOCKET, type == SCM_TIMESTAMPNS, cmsgLength >= 16 + MemoryLayout<timespec>.size {
                let stamp = control.loadUnaligned(fromByteOffset: offset + 16, as: timespec.self)
                return Int64(stamp.tv_sec) * 1_000_000_000 + Int64(stamp.tv_nsec)
            }
            offset += (cmsgLength + 7) & ~7
        }
        return nil
    }

    // MARK: Send

    var isFull: Bool { count == capacity }

    /// Copies one datagram into the next slot; false when it does not fit a slot.
    func append(_ bytes: [UInt8]) -> Bool {
        precondition(count < capacity, "flush a full batch first")
        guard bytes.count <= Self.slotSize else { return false }
        bytes.withUnsafeBytes { (buffers + count * Self.slotSize).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        prepare(count, length: bytes.count)
        count += 1
        return true
    }

    /// Sends what was appended and empties the batch; returns how many datagrams the kernel
    /// refused (a full socket buffer), which are dropped as a congested link would drop them.
    func flush(to socket: UDPEndpoint) -> Int {
        var sent = 0
        var attempts = 0
        while sent < count && attempts < 2 {
            let n = chorus_sendmmsg(socket.fd, messages + sent, UInt32(count - sent), Int32(MSG_DONTWAIT))
            if n > 0 { sent += Int(n) } else { attempts += 1 }
        }
        let refused = count - sent
        count = 0
        return refused
    }
}
