// A transport's round-trip time, from its peer's reports on our reports: a receiver report
// block (RFC 3550 §6.4.1) echoes the middle of our sender report's NTP time (LSR) and how long
// it held it (DLSR); an RFC 3611 DLRR block does the same for our RRTR, which is how a peer that
// only sends to us (a WHIP publisher) can tell us. RTT = now - when we sent it - the delay.
//
// We remember when we sent each of our last reports rather than reading a wall clock when the
// answer comes: time stays an input, and the NTP field is only an identifier.

struct RoundTripTime {
    /// Used until a first measurement: a typical intercontinental path, so retries are neither
    /// too eager nor too slow (libwebrtc starts from 100 ms too).
    static let initial: Duration = .milliseconds(100)
    /// Reports remembered; a transport sends one or two a second per stream.
    private static let remembered = 16

    private var sent: [(middle: UInt32, at: ContinuousClock.Instant)] = []
    private var next = 0
    /// Smoothed over samples (RFC 6298's 1/8 gain), nil before the first.
    private(set) var smoothed: Duration?

    var value: Duration { smoothed ?? Self.initial }

    /// We sent a report whose NTP time's middle 32 bits are `middle`.
    mutating func sentReport(middle: UInt32, at instant: ContinuousClock.Instant) {
        if sent.count < Self.remembered {
            sent.append((middle, instant))
        } else {
            sent[next] = (middle, instant)
            next = (next + 1) % Self.remembered
        }
    }

    /// A peer's answer: LSR (or LRR) and DLSR (or DLRR, 1/65536 s). Returns the sample when the
    /// answer names a report we sent; an LSR of 0 means the peer has had none of ours yet.
    mutating func answered(lastReport: UInt32, delay: UInt32, now: ContinuousClock.Instant) -> Duration? {
        guard lastReport != 0, let report = sent.last(where: { $0.middle == lastReport }) else { return nil }
        let held = Duration.nanoseconds(Int64(delay) * 1_000_000_000 / 65536)
        let sample = now - report.at - held
        // A peer's clock tick can make a loopback sample slightly negative.
        guard sample >= .zero, sample < .seconds(10) else { return nil }
        if let smoothed {
            self.smoothed = smoothed + (sample - smoothed) / 8
        } else {
            smoothed = sample
        }
        return sample
    }
}
