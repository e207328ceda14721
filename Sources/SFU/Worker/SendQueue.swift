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
    public private(set) var count = 0
    /// Called when the queue is full or the worker ends a batch; must empty the queue.
    var flushHandler: (SendQueue) -> Void

    public init(capacity: Int = 64, flushHandler: @escaping (SendQueue) -> Void) {
        self.capacity = capacity
        buffers = .allocate(byteCount: capacity * Self.slotSize, alignment: 16)
        lengths = Array(repeating: 0, count: capacity)
        destinations = Array(repeating: nil, count: capacity)
        self.flushHandler = flushHandler
    }

    deinit { buffers.deallocate() }

    /// The next free slot; flushes first when the queue is full.
    public func reserve() -> UnsafeMutableRawBufferPointer {
        if count == capacity { flush() }
        return UnsafeMutableRawBufferPointer(start: buffers + count * Self.slotSize, count: Self.slotSize)
    }

    /// Queues the slot returned by the last `reserve()` with `length` bytes for `destination`.
    public func commit(length: Int, to destination: TransportAddress) {
        lengths[count] = length
        destinations[count] = destination
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

    public func flush() {
        guard count > 0 else { return }
        flushHandler(self)
        count = 0
    }

    /// Drops everything queued (the flush handler calls this after sending).
    func removeAll() { count = 0 }
}

/// sendmmsg for a SendQueue over a socket, with its own preallocated message vectors.
final class BatchSender {
    private let capacity: Int
    private let addresses: UnsafeMutablePointer<sockaddr_storage>
    private let iovecs: UnsafeMutablePointer<iovec>
    private let messages: UnsafeMutablePointer<chorus_mmsghdr>
    private(set) var sendErrors = 0

    init(capacity: Int) {
        self.capacity = capacity
        addresses = .allocate(capacity: capacity)
        iovecs = .allocate(capacity: capacity)
        messages = .allocate(capacity: capacity)
    }

    deinit {
        addresses.deallocate()
        iovecs.deallocate()
        messages.deallocate()
    }

    /// Sends every queued datagram; datagrams the kernel refuses are counted and dropped
    /// (UDP: a full socket buffer is loss, not a reason to block the worker).
    func send(_ queue: SendQueue, on socket: UDPSocket) -> (packets: Int, bytes: Int) {
        let n = min(queue.count, capacity)
        var bytes = 0
        for i in 0..<n {
            let (data, destination) = queue.datagram(i)
            bytes += data.count
            let nameLength = destination.write(to: addresses + i)
            iovecs[i] = iovec(iov_base: UnsafeMutableRawPointer(mutating: data.baseAddress), iov_len: data.count)
            messages[i] = chorus_mmsghdr()
            messages[i].msg_hdr.msg_name = UnsafeMutableRawPointer(addresses + i)
            messages[i].msg_hdr.msg_namelen = nameLength
            messages[i].msg_hdr.msg_iov = iovecs + i
            messages[i].msg_hdr.msg_iovlen = 1
        }
        var sent = 0
        while sent < n {
            let result = chorus_sendmmsg(socket.fd, messages + sent, UInt32(n - sent), Int32(MSG_DONTWAIT))
            if result > 0 {
                sent += Int(result)
            } else if result < 0 && errno == EINTR {
                continue
            } else {
                // Skip the datagram the kernel refused (EAGAIN, unreachable, ...), keep the rest.
                sendErrors += 1
                sent += 1
            }
        }
        return (n, bytes)
    }
}
