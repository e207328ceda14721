// The recent packets of one incoming stream, kept so that subscribers' NACKs are answered by
// the SFU itself (a retransmission from the publisher would come too late and cost its uplink,
// and one the SFU already had would fail its SRTP replay check). One history per producer,
// shared by its consumers: each rewrites what it takes from here as it rewrote the original.
//
// Preallocated: a ring of fixed-size slots indexed by the extended sequence number, so storing
// a packet is one copy and never an allocation. A slot holds the decrypted packet as received.

import RTP

final class PacketHistory {
    /// A power of two: slot = extended sequence & (capacity - 1).
    let capacity: Int
    /// Older packets are not resent: a retransmission arriving after the receiver's jitter
    /// buffer gave up on it only costs bandwidth.
    let maximumAge: Duration
    /// Bytes per slot: a packet larger than this is not kept.
    let slotSize: Int

    private let storage: UnsafeMutableRawPointer
    /// Per slot: the extended sequence number held there (-1: empty), its length, its arrival.
    private let sequences: UnsafeMutablePointer<Int64>
    private let lengths: UnsafeMutablePointer<Int>
    private let arrivals: UnsafeMutablePointer<ContinuousClock.Instant>
    // @exclusivity(unchecked): touched on every packet, only on the worker's thread, and only
    // by methods of the value itself that never reach back into this property, so no two
    // accesses can overlap; the run-time check would cost ~80 instructions a packet.
    @exclusivity(unchecked) private(set) var highestSequence: Int64 = -1

    /// Video: 1,024 packets and 2 s (mediasoup keeps up to 2,500 and 2 s; a 2.5 Mbit/s stream
    /// of 1,200-byte packets sends ~260 a second), 1.5 MB. Audio: 128 packets and 1 s in
    /// 512-byte slots (Opus sends 50 packets of 100-300 bytes a second), 64 KB.
    static func forKind(_ kind: TrackKind) -> PacketHistory {
        kind == .video
            ? PacketHistory(capacity: 1024, maximumAge: .seconds(2), slotSize: SendQueue.slotSize)
            : PacketHistory(capacity: 128, maximumAge: .seconds(1), slotSize: 512)
    }

    init(capacity: Int, maximumAge: Duration, slotSize: Int = SendQueue.slotSize) {
        precondition(capacity > 0 && capacity & (capacity - 1) == 0, "capacity must be a power of two")
        self.capacity = capacity
        self.maximumAge = maximumAge
        self.slotSize = slotSize
        storage = .allocate(byteCount: capacity * slotSize, alignment: 16)
        sequences = .allocate(capacity: capacity)
        sequences.initialize(repeating: -1, count: capacity)
        lengths = .allocate(capacity: capacity)
        lengths.initialize(repeating: 0, count: capacity)
        arrivals = .allocate(capacity: capacity)
        arrivals.initialize(repeating: .now, count: capacity)
    }

    deinit {
        storage.deallocate()
        sequences.deallocate()
        lengths.deallocate()
        arrivals.deallocate()
    }

    /// Keeps `packet` (its whole plain RTP bytes) under `sequence`. A packet older than what the
    /// ring still covers is not kept; one the ring holds already is kept again (a retransmission
    /// of a packet that did arrive changes nothing).
    @inline(__always)
    func store(_ packet: UnsafeRawBufferPointer, sequence: Int64, now: ContinuousClock.Instant) {
        guard packet.count <= slotSize, sequence > highestSequence - Int64(capacity) else { return }
        let slot = Int(sequence & Int64(capacity - 1))
        (storage + slot * slotSize).copyMemory(from: packet.baseAddress!, byteCount: packet.count)
        sequences[slot] = sequence
        lengths[slot] = packet.count
        arrivals[slot] = now
        if sequence > highestSequence { highestSequence = sequence }
    }

    /// The extended sequence number a 16-bit one stands for: the nearest to the newest held.
    func extendedSequence(of sequence: SequenceNumber) -> Int64 {
        let newest = SequenceNumber(UInt16(truncatingIfNeeded: highestSequence))
        return highestSequence + Int64(newest.distance(to: sequence))
    }

    /// Forgets everything (the stream restarted with a new SSRC and sequence space).
    func clear() {
        sequences.update(repeating: -1, count: capacity)
        highestSequence = -1
    }

    /// Whether `sequence` is held (whatever its age): a second copy of it is a duplicate.
    func holds(_ sequence: Int64) -> Bool {
        sequence >= 0 && sequences[Int(sequence & Int64(capacity - 1))] == sequence
    }

    /// The packet held under `sequence`, if it is there and not older than `maximumAge`. The
    /// bytes stay valid until the next `store`.
    func packet(_ sequence: Int64, now: ContinuousClock.Instant) -> UnsafeRawBufferPointer? {
        guard sequence >= 0 else { return nil }
        let slot = Int(sequence & Int64(capacity - 1))
        guard sequences[slot] == sequence, now - arrivals[slot] <= maximumAge else { return nil }
        return UnsafeRawBufferPointer(start: storage + slot * slotSize, count: lengths[slot])
    }
}
