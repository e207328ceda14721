// RFC 4571 §2 deframing of one ICE-TCP connection's byte stream: every datagram (STUN, DTLS,
// SRTP) comes after its length in two bytes, network order. Reads land in one preallocated
// buffer; complete frames are handed out where they lie (mutable: SRTP decrypts in place), and
// a partial frame waits there for the rest, however the stream was split or merged into reads.
// Sans-IO: the connection reads into `writableSpace()`, tests append bytes.

final class TCPFrameReader {
    /// The largest datagram passed on: a worker's UDP receive slot (ReceiveBatch.slotSize).
    /// RFC 4571 allows 65,535 bytes, but nothing Chorus speaks is longer than a packet that
    /// would fit one UDP datagram on the path: a longer frame is skipped and counted.
    static let maximumFrame = 2048

    enum Frame {
        /// Valid until the next `writableSpace()`.
        case datagram(UnsafeMutableRawBufferPointer)
        /// A frame longer than `maximumFrame`: its bytes are being discarded.
        case oversized(length: Int)
    }

    let capacity: Int
    private let storage: UnsafeMutableRawPointer
    /// Unconsumed bytes are storage[start..<end].
    private var start = 0
    private var end = 0
    /// Bytes of an oversized frame still to discard as they arrive.
    private var skipping = 0

    /// `capacity` must hold at least one whole frame; larger lets one read take several.
    init(capacity: Int = 16_384) {
        precondition(capacity >= Self.maximumFrame + 2, "a reader must hold one whole frame")
        self.capacity = capacity
        storage = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// Bytes received and not yet handed out (a partial frame, or frames not yet asked for).
    var buffered: Int { end - start }

    /// Where the next read may write. The partial frame left over moves to the front first,
    /// which invalidates frames handed out before.
    func writableSpace() -> UnsafeMutableRawBufferPointer {
        if start == end {
            start = 0
            end = 0
        } else if start > 0 {
            (storage).copyMemory(from: storage + start, byteCount: end - start)
            end -= start
            start = 0
        }
        return UnsafeMutableRawBufferPointer(start: storage + end, count: capacity - end)
    }

    /// `count` bytes were written into the last `writableSpace()`.
    func didWrite(_ count: Int) {
        precondition(count >= 0 && end + count <= capacity, "wrote past the reader's space")
        end += count
    }

    /// Copies as much of `bytes` as fits (tests, and the bytes a hand-off carries); returns how
    /// many were taken.
    @discardableResult
    func append(_ bytes: UnsafeRawBufferPointer) -> Int {
        let space = writableSpace()
        let taken = min(space.count, bytes.count)
        if taken > 0 { space.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: taken) }
        didWrite(taken)
        return taken
    }

    /// The next complete frame, or nil when what is left is partial (or empty).
    func next() -> Frame? {
        if skipping > 0 {
            let discarded = min(skipping, end - start)
            start += discarded
            skipping -= discarded
            if skipping > 0 { return nil }
        }
        guard end - start >= 2 else { return nil }
        let length = Int(storage.load(fromByteOffset: start, as: UInt8.self)) << 8
            | Int(storage.load(fromByteOffset: start + 1, as: UInt8.self))
        if length > Self.maximumFrame {
            start += 2
            skipping = length
            let discarded = min(skipping, end - start)
            start += discarded
            skipping -= discarded
            return .oversized(length: length)
        }
        guard end - start >= 2 + length else { return nil }
        let frame = UnsafeMutableRawBufferPointer(start: storage + start + 2, count: length)
        start += 2 + length
        return .datagram(frame)
    }
}
