// RTP timestamps (RFC 3550 §5.1): 32 bits in the media clock's rate that wrap, compared by the
// shortest distance and unwrapped to a monotonic Int64.

/// A 32-bit RTP timestamp. Not `Comparable` for the same reason as `SequenceNumber`.
public struct RTPTimestamp: RawRepresentable, Hashable, Sendable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
{
    public var rawValue: UInt32

    @inline(__always)
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    @inline(__always)
    public init(_ value: UInt32) { self.rawValue = value }

    public init(integerLiteral value: UInt32) { self.rawValue = value }

    public var description: String { String(rawValue) }

    @inline(__always)
    public static func &+ (lhs: RTPTimestamp, rhs: UInt32) -> RTPTimestamp {
        RTPTimestamp(lhs.rawValue &+ rhs)
    }

    @inline(__always)
    public static func &- (lhs: RTPTimestamp, rhs: UInt32) -> RTPTimestamp {
        RTPTimestamp(lhs.rawValue &- rhs)
    }

    /// Signed shortest distance from self to other, in -2^31...2^31-1 (other - self).
    @inline(__always)
    public func distance(to other: RTPTimestamp) -> Int64 {
        Int64(Int32(bitPattern: other.rawValue &- rawValue))
    }

    /// True when self comes after `other` within half the timestamp space.
    @inline(__always)
    public func isNewer(than other: RTPTimestamp) -> Bool {
        other.distance(to: self) > 0
    }
}

/// Turns wrapping RTP timestamps into a monotonic Int64, moving by the shortest distance from
/// the previous input (see `SequenceNumberUnwrapper`). The first input maps to its own value.
public struct RTPTimestampUnwrapper: Sendable {
    private var last: Int64?

    public init() {}

    public mutating func unwrap(_ t: RTPTimestamp) -> Int64 {
        let value: Int64
        if let last {
            let previous = RTPTimestamp(UInt32(truncatingIfNeeded: last))
            value = last + previous.distance(to: t)
        } else {
            value = Int64(t.rawValue)
        }
        last = value
        return value
    }
}
