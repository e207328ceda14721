// NTP timestamps as RTCP carries them (RFC 3550 §4): 32.32 fixed-point seconds since 1900,
// for sender reports and the LSR/DLSR round-trip computation.

public enum NTPTime {
    /// Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (Unix epoch).
    static let unixEpochOffset: UInt64 = 2_208_988_800

    /// 64-bit NTP timestamp (RFC 3550 §4) for a Unix time in nanoseconds. The seconds wrap at
    /// the 2036 era boundary as the wire format does.
    public static func fromUnixNanoseconds(_ ns: UInt64) -> UInt64 {
        let seconds = ns / 1_000_000_000 &+ unixEpochOffset
        // The remainder is below 2^30, so shifting by 32 cannot overflow.
        let fraction = (ns % 1_000_000_000) << 32 / 1_000_000_000
        return seconds << 32 | fraction
    }

    /// The middle 32 bits (16.16 seconds), as used in LSR/DLSR (RFC 3550 §6.4.1).
    public static func middle32(_ ntp: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: ntp >> 16)
    }
}
