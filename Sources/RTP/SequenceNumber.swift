// RTP sequence numbers (RFC 3550 §5.1): 16 bits that wrap, compared by the shortest distance,
// and unwrapped to a monotonic 64-bit index for loss and reorder bookkeeping.

/// A 16-bit RTP sequence number. Not `Comparable`: wrap-around order is not transitive, so
/// compare with `distance(to:)` or `isNewer(than:)`.
public struct SequenceNumber: RawRepresentable, Hashable, Sendable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
{
    public var rawValue: UInt16

    @inline(__always)
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    @inline(__always)
    public init(_ value: UInt16) { self.rawValue = value }

    public init(integerLiteral value: UInt16) { self.rawValue = value }

    public var description: String { String(rawValue) }

    @inline(__always)
    public static func &+ (lhs: SequenceNumber, rhs: UInt16) -> SequenceNumber {
        SequenceNumber(lhs.rawValue &+ rhs)
    }

    @inline(__always)
    public static func &- (lhs: SequenceNumber, rhs: UInt16) -> SequenceNumber {
        SequenceNumber(lhs.rawValue &- rhs)
    }

    /// Signed shortest distance from self to other, in -32768...32767 (other - self).
    /// Two numbers exactly 32768 apart give -32768 both ways: neither is newer.
    @inline(__always)
    public func distance(to other: SequenceNumber) -> Int {
        Int(Int16(bitPattern: other.rawValue &- rawValue))
    }

    /// True when self comes after `other` within half the sequence space (RFC 3550 A.1).
    @inline(__always)
    public func isNewer(than other: SequenceNumber) -> Bool {
        other.distance(to: self) > 0
    }
}

/// Turns wrapping sequence numbers into a monotonic Int64 index (RFC 3550 A.1 keeps a cycle
/// count; here the index moves by the shortest distance from the previous input, so reordered
/// and late packets land on their own index instead of bumping the cycle).
/// The first input maps to its own value; a packet older than the first can map below zero.
public struct SequenceNumberUnwrapper: Sendable {
    private var last: Int64?

    public init() {}

    public mutating func unwrap(_ s: SequenceNumber) -> Int64 {
        let value: Int64
        if let last {
            let previous = SequenceNumber(UInt16(truncatingIfNeeded: last))
            value = last + Int64(previous.distance(to: s))
        } else {
            value = Int64(s.rawValue)
        }
        last = value
        return value
    }
}
