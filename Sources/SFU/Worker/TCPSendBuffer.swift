// What waits to be written to one ICE-TCP connection: RFC 4571 frames (two length bytes, then
// the datagram) in a fixed ring. When the peer reads slower than Chorus forwards, the kernel's
// socket buffer fills, then this one; a frame that does not fit whole is refused and the
// caller counts it as dropped. So a slow TCP subscriber loses its own packets, as it would on
// UDP, and never costs the worker a blocked write. Whole frames only: a cut frame would
// desynchronise the stream for good.

final class TCPSendBuffer {
    let capacity: Int
    /// Allocated on the first frame: a connection that never validates costs no buffer.
    private var storage: UnsafeMutableRawPointer?
    /// First byte not yet written to the socket.
    private var head = 0
    /// Bytes queued.
    private(set) var count = 0

    init(capacity: Int) {
        precondition(capacity >= 2 + TCPFrameReader.maximumFrame, "a send buffer must hold one whole frame")
        self.capacity = capacity
    }

    deinit { storage?.deallocate() }

    var isEmpty: Bool { count == 0 }

    /// Queues `datagram` as one frame; false (nothing queued) when it does not fit whole or is
    /// longer than a frame can say.
    func append(_ datagram: UnsafeRawBufferPointer) -> Bool {
        let length = datagram.count
        guard length <= Int(UInt16.max), count + 2 + length <= capacity else { return false }
        let storage = self.storage ?? {
            let allocated = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
            self.storage = allocated
            return allocated
        }()
        var header = (UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length))
        withUnsafeBytes(of: &header) { write($0, into: storage) }
        write(datagram, into: storage)
        return true
    }

    /// The queued bytes in order: one region, or two when they wrap around the ring's end.
    func pending() -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer) {
        guard let storage, count > 0 else { return (UnsafeRawBufferPointer(start: nil, count: 0), UnsafeRawBufferPointer(start: nil, count: 0)) }
        let first = min(count, capacity - head)
        return (
            UnsafeRawBufferPointer(start: storage + head, count: first),
            UnsafeRawBufferPointer(start: storage, count: count - first))
    }

    /// `written` bytes from the front went to the socket.
    func consume(_ written: Int) {
        precondition(written >= 0 && written <= count, "consumed more than was queued")
        count -= written
        head = count == 0 ? 0 : (head + written) % capacity
    }

    private func write(_ bytes: UnsafeRawBufferPointer, into storage: UnsafeMutableRawPointer) {
        guard bytes.count > 0 else { return }
        let tail = (head + count) % capacity
        let first = min(bytes.count, capacity - tail)
        (storage + tail).copyMemory(from: bytes.baseAddress!, byteCount: first)
        if first < bytes.count {
            storage.copyMemory(from: bytes.baseAddress! + first, byteCount: bytes.count - first)
        }
        count += bytes.count
    }
}
