// When each recent packet of one publisher stream was sent, by original sequence number: the
// publisher's thread writes, subscribers' threads read, through relaxed atomics (a stale or
// overwritten slot is detected by its sequence number and simply not sampled).

import Synchronization

public final class SendLog: @unchecked Sendable {
    /// 4096 slots: 20 s of a 200 packet/s video stream, far more than any packet's flight time.
    static let capacity = 4096
    /// (send time in ns << 16) | sequence number; 0 is empty (`MonotonicTime` never reads 0).
    private let slots: UnsafeMutablePointer<Atomic<UInt64>>

    public init() {
        slots = .allocate(capacity: Self.capacity)
        for i in 0..<Self.capacity { (slots + i).initialize(to: Atomic(0)) }
    }

    deinit {
        slots.deinitialize(count: Self.capacity)
        slots.deallocate()
    }

    @inline(__always)
    public func record(sequenceNumber: UInt16, sendTime: UInt64) {
        slots[Int(sequenceNumber) & (Self.capacity - 1)].store(sendTime << 16 | UInt64(sequenceNumber), ordering: .relaxed)
    }

    /// The send time of `sequenceNumber`, nil when its slot holds another packet by now.
    @inline(__always)
    public func sendTime(of sequenceNumber: UInt16) -> UInt64? {
        let entry = slots[Int(sequenceNumber) & (Self.capacity - 1)].load(ordering: .relaxed)
        guard entry != 0, UInt16(truncatingIfNeeded: entry) == sequenceNumber else { return nil }
        return entry >> 16
    }
}
