// Outgoing datagrams of one worker, written straight into preallocated slots (the packet path
// encrypts in place there) and flushed with one sendmmsg per batch.

import CSockets
import Glibc
import ICE

public final class SendQueue {
    public static let slotSize = 1500
    public let capacity: Int
    let buffers: UnsafeMutableRawPointer
    private(set) var lengths: [Int]
    private(set) var destinations: [TransportAddress?]
    /// `destinations` as integers, so the sender's search for same-peer runs compares words.
    private let keys: UnsafeMutablePointer<UInt64>
    public private(set) var count = 0
    /// How many of the queued datagrams go to TCP destinations (ICE-TCP): zero on a UDP-only
    /// worker, so its flush never looks for them.
    public private(set) var streamCount = 0
    /// Called when the queue is full or the worker ends a batch; must empty the queue.
    var flushHandler: (SendQueue) -> Void

    public init(capacity: Int = 64, flushHandler: @escaping (SendQueue) -> Void) {
        self.capacity = capacity
        buffers = .allocate(byteCount: capacity * Self.slotSize, alignment: 16)
        lengths = Array(repeating: 0, count: capacity)
        destinations = Array(repeating: nil, count: capacity)
        keys = .allocate(capacity: capacity)
        keys.initialize(repeating: 0, count: capacity)
        self.flushHandler = flushHandler
    }

    deinit {
        buffers.deallocate()
        keys.deallocate()
    }

    /// The next free slot; flushes first when the queue is full.
    public func reserve() -> UnsafeMutableRawBufferPointer {
        if count == capacity { flush() }
        return UnsafeMutableRawBufferPointer(start: buffers + count * Self.slotSize, count: Self.slotSize)
    }

    /// Queues the slot returned by the last `reserve()` with `length` bytes for `destination`.
    public func commit(length: Int, to destination: TransportAddress) {
        lengths[count] = length
        destinations[count] = destination
        let key = destination.sendKey
        keys[count] = key
        // Branch-free: this runs for every forwarded packet.
        streamCount &+= Int(truncatingIfNeeded: key >> 62 & 1)
        count += 1
    }

    /// Copies `bytes` into a slot and queues it (control traffic: STUN, DTLS, RTCP).
    public func enqueue(_ bytes: UnsafeRawBufferPointer, to destination: TransportAddress) {
        guard bytes.count <= Self.slotSize else { return }
        let slot = reserve()
        slot.copyMemory(from: bytes)
        commit(length: bytes.count, to: destination)
    }

    public func enqueue(_ bytes: [UInt8], to destination: TransportAddress) {
        bytes.withUnsafeBytes { enqueue($0, to: destination) }
    }

    public func datagram(_ i: Int) -> (bytes: UnsafeRawBufferPointer, destination: TransportAddress) {
        (UnsafeRawBufferPointer(start: buffers + i * Self.slotSize, count: lengths[i]), destinations[i]!)
    }

    func destination(_ i: Int) -> TransportAddress { destinations[i]! }
    func key(_ i: Int) -> UInt64 { keys[i] }
    func length(_ i: Int) -> Int { lengths[i] }

    public func flush() {
        guard count > 0 else { return }
        flushHandler(self)
        count = 0
        streamCount = 0
    }

    /// Drops everything queued (the flush handler calls this after sending).
    func removeAll() {
        count = 0
        streamCount = 0
    }
}

/// sendmmsg for a SendQueue over a socket, with its own preallocated message vectors.
///
/// With UDP GSO (Linux 4.18+, `UDP_SEGMENT`), consecutive datagrams of the queue that go to the
/// same peer with the same size (the packets of one video frame: libwebrtc packetizes a frame
/// into equal sizes) become one message the kernel splits into datagrams. The kernel then walks
/// its send path once per run instead of once per datagram, which is most of the cost of a
/// forwarded packet. A fan-out interleaves peers in the queue (A1 B1 C1 A2 B2 C2 ...), so runs
/// are gathered per peer across the queue, keeping each peer's own order.
final class BatchSender {
    private let capacity: Int
    private let addresses: UnsafeMutablePointer<sockaddr_storage>
    private let iovecs: UnsafeMutablePointer<iovec>
    private let messages: UnsafeMutablePointer<chorus_mmsghdr>
    /// One `cmsghdr` + UInt16 segment size per message (CMSG_SPACE(2) = 24 bytes on 64-bit Linux).
    private let controls: UnsafeMutableRawPointer
    private let taken: UnsafeMutablePointer<Bool>
    private(set) var sendErrors = 0
    /// Messages sent as GSO runs and the datagrams they carried (for stats and tests).
    private(set) var gsoMessages = 0
    private(set) var gsoDatagrams = 0
    /// Off after the kernel refused a GSO message (no UDP_SEGMENT support on this path).
    private(set) var gso: Bool

    static let controlSpace = 24
    /// <netinet/udp.h>, which Swift's Glibc module does not export.
    static let solUDP: Int32 = 17
    static let udpSegment: Int32 = 103
    /// The kernel's UDP_MAX_SEGMENTS, and the most an IPv4 UDP payload can carry.
    static let maximumSegments = 64
    static let maximumGSOBytes = 65_000

    init(capacity: Int, gso: Bool = true) {
        self.capacity = capacity
        self.gso = gso
        addresses = .allocate(capacity: capacity)
        iovecs = .allocate(capacity: capacity)
        messages = .allocate(capacity: capacity)
        controls = .allocate(byteCount: capacity * Self.controlSpace, alignment: 8)
        taken = .allocate(capacity: capacity)
    }

    deinit {
        addresses.deallocate()
        iovecs.deallocate()
        messages.deallocate()
        controls.deallocate()
        taken.deallocate()
    }

    /// Sends every queued datagram; datagrams the kernel refuses are counted and dropped
    /// (UDP: a full socket buffer is loss, not a reason to block the worker).
    func send(_ queue: SendQueue, on socket: UDPSocket) -> (packets: Int, bytes: Int) {
        let n = min(queue.count, capacity)
        var bytes = 0
        // TCP destinations (ICE-TCP) are the worker's to frame onto their connections.
        for i in 0..<n { taken[i] = TransportAddress.isStreamKey(queue.key(i)) }
        var messageCount = 0
        var iovecCount = 0
        var segmentsPerMessage = (messages: 0, datagrams: 0)
        for i in 0..<n where !taken[i] {
            let (first, destination) = queue.datagram(i)
            let key = queue.key(i)
            let size = first.count
            taken[i] = true
            let firstIovec = iovecCount
            iovecs[iovecCount] = iovec(iov_base: UnsafeMutableRawPointer(mutating: first.baseAddress), iov_len: size)
            iovecCount += 1
            var segments = 1
            var total = size
            if gso {
                // Same peer, same size; a smaller one may end the run (RFC-free kernel rule:
                // only the last segment may be shorter). Stop at the first packet of this peer
                // that cannot join, so the peer's datagrams keep their order.
                var j = i + 1
                while j < n, segments < Self.maximumSegments {
                    if !taken[j] && queue.key(j) == key && (TransportAddress.isExactKey(key) || queue.destination(j) == destination) {
                        let length = queue.length(j)
                        guard length <= size, total + length <= Self.maximumGSOBytes else { break }
                        let (data, _) = queue.datagram(j)
                        iovecs[iovecCount] = iovec(iov_base: UnsafeMutableRawPointer(mutating: data.baseAddress), iov_len: length)
                        iovecCount += 1
                        taken[j] = true
                        segments += 1
                        total += length
                        if length < size { break }
                    }
                    j += 1
                }
            }
            bytes += total
            let nameLength = destination.write(to: addresses + messageCount)
            messages[messageCount] = chorus_mmsghdr()
            messages[messageCount].msg_hdr.msg_name = UnsafeMutableRawPointer(addresses + messageCount)
            messages[messageCount].msg_hdr.msg_namelen = nameLength
            messages[messageCount].msg_hdr.msg_iov = iovecs + firstIovec
            messages[messageCount].msg_hdr.msg_iovlen = segments
            if segments > 1 {
                let control = controls + messageCount * Self.controlSpace
                let header = control.assumingMemoryBound(to: cmsghdr.self)
                header.pointee.cmsg_len = 18  // CMSG_LEN(sizeof(uint16_t))
                header.pointee.cmsg_level = Self.solUDP
                header.pointee.cmsg_type = Self.udpSegment
                (control + 16).storeBytes(of: UInt16(size), as: UInt16.self)
                messages[messageCount].msg_hdr.msg_control = control
                messages[messageCount].msg_hdr.msg_controllen = Self.controlSpace
                segmentsPerMessage.messages += 1
                segmentsPerMessage.datagrams += segments
            }
            messageCount += 1
        }
        var sent = 0
        while sent < messageCount {
            let result = chorus_sendmmsg(socket.fd, messages + sent, UInt32(messageCount - sent), Int32(MSG_DONTWAIT))
            if result > 0 {
                sent += Int(result)
            } else if result < 0 && errno == EINTR {
                continue
            } else {
                let refusedGSO = messages[sent].msg_hdr.msg_controllen > 0 && (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT)
                if refusedGSO {
                    // No GSO on this path (an old kernel or a device without it): send this run
                    // datagram by datagram, and no more runs from now on.
                    gso = false
                    sendIndividually(messages[sent], on: socket)
                } else {
                    // Skip the message the kernel refused (EAGAIN, unreachable, ...), keep the rest.
                    sendErrors += Int(messages[sent].msg_hdr.msg_iovlen)
                }
                sent += 1
            }
        }
        gsoMessages &+= segmentsPerMessage.messages
        gsoDatagrams &+= segmentsPerMessage.datagrams
        return (n, bytes)
    }

    private func sendIndividually(_ message: chorus_mmsghdr, on socket: UDPSocket) {
        for k in 0..<Int(message.msg_hdr.msg_iovlen) {
            var single = message
            single.msg_hdr.msg_iov = message.msg_hdr.msg_iov + k
            single.msg_hdr.msg_iovlen = 1
            single.msg_hdr.msg_control = nil
            single.msg_hdr.msg_controllen = 0
            if chorus_sendmmsg(socket.fd, &single, 1, Int32(MSG_DONTWAIT)) != 1 { sendErrors += 1 }
        }
    }
}

extension TransportAddress {
    /// One word per address: IPv4 exactly (top bit set, then the address and port), IPv6 as a
    /// hash (top bit clear) that a full comparison must confirm. Bit 62 marks a TCP address
    /// (ICE-TCP), which no UDP message may carry: the sender skips those, the worker frames
    /// them onto their connections.
    var sendKey: UInt64 {
        let stream: UInt64 = transport == .tcp ? 1 << 62 : 0
        switch ip {
        case .v4(let a, let b, let c, let d):
            return 1 << 63 | stream | UInt64(a) << 40 | UInt64(b) << 32 | UInt64(c) << 24 | UInt64(d) << 16 | UInt64(port)
        case .v6(let bytes):
            var hash: UInt64 = 1_469_598_103_934_665_603
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
            return (hash ^ UInt64(port)) & ~(3 << 62) | stream
        }
    }

    static func isExactKey(_ key: UInt64) -> Bool { key >> 63 == 1 }
    /// True for a TCP destination (see `sendKey`).
    static func isStreamKey(_ key: UInt64) -> Bool { key & (1 << 62) != 0 }
}
